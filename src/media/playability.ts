// Whether browsers' own players can play a file, from its container (the sniffer's type) and
// ffprobe's codec names. A simple rule, on the safe side: H.264, VP8, VP9 or AV1 video with AAC,
// MP3, Opus, Vorbis or FLAC audio in MP4, WebM or Ogg, and the plain audio files every browser
// plays. Anything else is still published; its page says the browser may not play it.
const VIDEO = new Set(['h264', 'vp8', 'vp9', 'av1'])
const AUDIO = new Set(['aac', 'mp3', 'opus', 'vorbis', 'flac'])
const PLAYER_CONTAINERS = new Set(['video/mp4', 'audio/mp4', 'video/webm', 'video/ogg', 'audio/ogg'])
// Bare audio files: the one codec each may hold that browsers decode.
const AUDIO_FILES: Record<string, Set<string>> = {
  'audio/mpeg': new Set(['mp3']),
  'audio/aac': new Set(['aac']),
  'audio/flac': new Set(['flac']),
  'audio/wav': new Set(['pcm_u8', 'pcm_s16le', 'pcm_s24le', 'pcm_f32le']),
}

export interface StreamCodecs {
  videoCodec: string | null
  audioCodec: string | null
}

export function browserPlayable(mimeType: string, codecs: StreamCodecs): boolean {
  const { videoCodec, audioCodec } = codecs
  if (!videoCodec && !audioCodec) return false
  const audioFile = AUDIO_FILES[mimeType]
  if (audioFile) return !videoCodec && audioCodec !== null && audioFile.has(audioCodec)
  if (!PLAYER_CONTAINERS.has(mimeType)) return false
  return (videoCodec === null || VIDEO.has(videoCodec)) && (audioCodec === null || AUDIO.has(audioCodec))
}
