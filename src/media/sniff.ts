// Recognises audio and video containers by their signature bytes, not by name or claimed type.
export interface Container {
  mimeType: string
  extension: string
  label: string
}

export const SNIFF_BYTES = 4096

const ascii = (buf: Buffer, start: number, end: number) => buf.toString('latin1', start, end)

function isoBmff(head: Buffer): Container | null {
  if (head.length < 12 || ascii(head, 4, 8) !== 'ftyp') return null
  const brand = ascii(head, 8, 12)
  if (brand === 'qt  ') return { mimeType: 'video/quicktime', extension: 'mov', label: 'QuickTime' }
  if (brand.startsWith('M4A') || brand.startsWith('M4B'))
    return { mimeType: 'audio/mp4', extension: 'm4a', label: 'MPEG-4 audio' }
  if (brand.startsWith('3gp') || brand.startsWith('3g2'))
    return { mimeType: 'video/3gpp', extension: '3gp', label: '3GPP' }
  if (/^[\x20-\x7e]{4}$/.test(brand)) return { mimeType: 'video/mp4', extension: 'mp4', label: 'MPEG-4' }
  return null
}

function ebml(head: Buffer): Container | null {
  if (head.length < 4 || head.readUInt32BE(0) !== 0x1a45dfa3) return null
  // The DocType element (0x4282) names the flavour; look for it in the EBML header.
  const docTypeAt = head.indexOf(Buffer.from([0x42, 0x82]))
  const isWebm = docTypeAt > 0 && head.indexOf('webm', docTypeAt, 'latin1') === docTypeAt + 3
  return isWebm
    ? { mimeType: 'video/webm', extension: 'webm', label: 'WebM' }
    : { mimeType: 'video/x-matroska', extension: 'mkv', label: 'Matroska' }
}

function riff(head: Buffer): Container | null {
  if (head.length < 12 || ascii(head, 0, 4) !== 'RIFF') return null
  const form = ascii(head, 8, 12)
  if (form === 'AVI ') return { mimeType: 'video/x-msvideo', extension: 'avi', label: 'AVI' }
  if (form === 'WAVE') return { mimeType: 'audio/wav', extension: 'wav', label: 'WAVE' }
  return null
}

function ogg(head: Buffer): Container | null {
  if (head.length < 4 || ascii(head, 0, 4) !== 'OggS') return null
  // The first page's payload says which codec; Theora means video.
  const isVideo = head.indexOf('theora', 0, 'latin1') > 0
  return isVideo
    ? { mimeType: 'video/ogg', extension: 'ogv', label: 'Ogg video' }
    : { mimeType: 'audio/ogg', extension: 'ogg', label: 'Ogg audio' }
}

function mpegTs(head: Buffer): Container | null {
  // Three sync bytes one 188-byte packet apart.
  if (head.length >= 377 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) {
    return { mimeType: 'video/mp2t', extension: 'ts', label: 'MPEG transport stream' }
  }
  return null
}

function mpegPs(head: Buffer): Container | null {
  if (head.length >= 4 && head.readUInt32BE(0) === 0x000001ba)
    return { mimeType: 'video/mpeg', extension: 'mpg', label: 'MPEG program stream' }
  return null
}

function flv(head: Buffer): Container | null {
  if (head.length >= 4 && ascii(head, 0, 3) === 'FLV' && head[3] === 1)
    return { mimeType: 'video/x-flv', extension: 'flv', label: 'Flash video' }
  return null
}

function asf(head: Buffer): Container | null {
  const guid = Buffer.from('3026b2758e66cf11a6d900aa0062ce6c', 'hex')
  if (head.length >= 16 && head.subarray(0, 16).equals(guid))
    return { mimeType: 'video/x-ms-asf', extension: 'wmv', label: 'ASF/WMV' }
  return null
}

function audioOnly(head: Buffer): Container | null {
  if (head.length >= 4 && ascii(head, 0, 4) === 'fLaC')
    return { mimeType: 'audio/flac', extension: 'flac', label: 'FLAC' }
  if (head.length >= 10 && ascii(head, 0, 3) === 'ID3')
    return { mimeType: 'audio/mpeg', extension: 'mp3', label: 'MP3' }
  // A bare MPEG audio frame: sync word, layer III, a valid bitrate and sample rate, and the next frame where expected.
  if (head.length >= 4 && head[0] === 0xff && (head[1]! & 0xe6) === 0xe2) {
    const bitrateIndex = head[2]! >> 4
    const rateIndex = (head[2]! >> 2) & 3
    if (bitrateIndex !== 0 && bitrateIndex !== 15 && rateIndex !== 3)
      return { mimeType: 'audio/mpeg', extension: 'mp3', label: 'MP3' }
  }
  // AAC in ADTS: sync word, layer 0.
  if (head.length >= 7 && head[0] === 0xff && (head[1]! & 0xf6) === 0xf0)
    return { mimeType: 'audio/aac', extension: 'aac', label: 'AAC' }
  return null
}

const DETECTORS = [isoBmff, ebml, riff, ogg, mpegTs, mpegPs, flv, asf, audioOnly]

/** `head` is the start of the file (up to SNIFF_BYTES). Returns null for anything not audio/video. */
export function detectContainer(head: Buffer): Container | null {
  for (const detect of DETECTORS) {
    const found = detect(head)
    if (found) return found
  }
  return null
}
