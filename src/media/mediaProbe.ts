// ffprobe and ffmpeg (Debian `ffmpeg`) as child processes: what a stored media file holds, and a
// poster frame of it. Uploads are hostile: each run has a timeout, bounded output, one thread, a
// lower CPU priority, a cap on each allocation, local files only, and the demuxer the sniffer
// found (not ffmpeg's guess).
import { execFile } from 'node:child_process'
import { setPriority } from 'node:os'
import { open, rename, stat, unlink } from 'node:fs/promises'
import path from 'node:path'

export interface ProbedMedia {
  /** Seconds; null when the container does not say. */
  duration: number | null
  width: number | null
  height: number | null
  /** ffprobe's codec names of the first video and audio streams (cover art is not video). */
  videoCodec: string | null
  audioCodec: string | null
  /** ffprobe's format name, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  formatName: string
  /** A frame to make a poster of: a video stream or cover art. */
  hasPicture: boolean
}

/** ffprobe or ffmpeg is not installed: the details wait (for the next start) rather than fail. */
export class ToolMissing extends Error {}

const PROBE_TIMEOUT_MS = 20_000
const THUMBNAIL_TIMEOUT_MS = 60_000
const MAX_OUTPUT_BYTES = 256 * 1024
const THUMBNAIL_WIDTH = 480
const NICE = 10
// No single allocation above this (8K frames need far less): a file claiming an absurd frame size
// fails instead of taking the machine's memory.
const MAX_ALLOC_BYTES = String(256 * 1024 ** 2)

// The sniffer's container (src/media/sniff.ts, stored as the video's type) → ffmpeg's demuxer.
const DEMUXERS: Record<string, string> = {
  'video/mp4': 'mov',
  'audio/mp4': 'mov',
  'video/quicktime': 'mov',
  'video/3gpp': 'mov',
  'video/webm': 'matroska',
  'video/x-matroska': 'matroska',
  'video/x-msvideo': 'avi',
  'audio/wav': 'wav',
  'video/ogg': 'ogg',
  'audio/ogg': 'ogg',
  'video/mp2t': 'mpegts',
  'video/mpeg': 'mpeg',
  'video/x-flv': 'flv',
  'video/x-ms-asf': 'asf',
  'audio/flac': 'flac',
  'audio/mpeg': 'mp3',
  'audio/aac': 'aac',
}

function inputArgs(file: string, mimeType: string): string[] {
  const demuxer = DEMUXERS[mimeType]
  // `file:` so that no name is ever read as another protocol.
  return ['-protocol_whitelist', 'file', ...(demuxer ? ['-f', demuxer] : []), '-i', `file:${file}`]
}

function run(tool: string, args: string[], timeout: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error(`${tool}: stopped`))
    // Not execFile's own `signal`: that settles at once, while the killed child may still finish a
    // write into the storage directory. This settles only once the child has exited.
    const onAbort = () => child.kill('SIGKILL')
    const child = execFile(
      tool,
      ['-max_alloc', MAX_ALLOC_BYTES, ...args],
      { timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
      (err, stdout, stderr) => {
        signal.removeEventListener('abort', onAbort)
        if (!err) return resolve(stdout)
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new ToolMissing(`${tool} is not installed`))
        if (signal.aborted) return reject(new Error(`${tool}: stopped`))
        const why = err.killed ? `killed after ${timeout / 1000} s or too much output` : stderr.trim().split('\n').pop()
        reject(new Error(`${tool}: ${why || err.message}`))
      },
    )
    signal.addEventListener('abort', onAbort, { once: true })
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, NICE)
      } catch {
        // Already gone, or not allowed: it runs at normal priority.
      }
    }
  })
}

const CODEC_NAME = /^[a-z0-9_]{1,32}$/
const codecName = (v: unknown): string | null => (typeof v === 'string' && CODEC_NAME.test(v) ? v : null)
const dimension = (v: unknown): number | null =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 65_535 ? v : null
function seconds(v: unknown): number | null {
  const n = typeof v === 'string' ? Number(v) : Number.NaN
  // Up to a year: beyond that the container is lying.
  return Number.isFinite(n) && n > 0 && n < 366 * 86_400 ? Math.round(n * 1000) / 1000 : null
}

interface ProbeStream {
  codec_type?: unknown
  codec_name?: unknown
  width?: unknown
  height?: unknown
  disposition?: { attached_pic?: unknown }
}

/** What ffprobe reads of the file; throws when it cannot read it (not media, damaged, too slow). */
export async function probeMedia(file: string, mimeType: string, signal: AbortSignal): Promise<ProbedMedia> {
  const out = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-show_entries',
      'format=format_name,duration:stream=codec_type,codec_name,width,height:stream_disposition=attached_pic',
      '-of',
      'json',
      ...inputArgs(file, mimeType),
    ],
    PROBE_TIMEOUT_MS,
    signal,
  )
  const parsed = JSON.parse(out) as { streams?: ProbeStream[]; format?: { format_name?: unknown; duration?: unknown } }
  const streams = Array.isArray(parsed.streams) ? parsed.streams : []
  const isPicture = (s: ProbeStream) => s.disposition?.attached_pic === 1
  const video = streams.find((s) => s.codec_type === 'video' && !isPicture(s))
  const audio = streams.find((s) => s.codec_type === 'audio')
  if (!video && !audio) throw new Error('ffprobe: no audio or video stream')
  const formatName = parsed.format?.format_name
  return {
    duration: seconds(parsed.format?.duration),
    width: dimension(video?.width),
    height: dimension(video?.height),
    videoCodec: codecName(video?.codec_name),
    audioCodec: codecName(audio?.codec_name),
    formatName: typeof formatName === 'string' ? formatName.slice(0, 100) : '',
    hasPicture: streams.some((s) => s.codec_type === 'video'),
  }
}

async function isJpeg(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => null)
  if (!handle) return false
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(3), 0, 3, 0)
    return bytesRead === 3 && buffer[0] === 0xff && buffer[1] === 0xd8 && buffer[2] === 0xff
  } finally {
    await handle.close()
  }
}

/**
 * Writes a JPEG poster frame, THUMBNAIL_WIDTH wide at most, to `out` (through a temporary file
 * beside it, renamed when whole). `at` seconds in; a file shorter than that gets its first frame.
 */
export async function makeThumbnail(
  file: string,
  mimeType: string,
  at: number,
  out: string,
  signal: AbortSignal,
): Promise<void> {
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.tmp`)
  try {
    for (const seek of at > 0 ? [at, 0] : [0]) {
      await run(
        'ffmpeg',
        [
          '-v',
          'error',
          '-nostdin',
          '-threads',
          '1',
          // Not even `-ss 0` for the first frame: any seek loses an audio file's cover art.
          ...(seek > 0 ? ['-ss', String(seek)] : []),
          ...inputArgs(file, mimeType),
          '-map',
          '0:v:0',
          '-frames:v',
          '1',
          '-vf',
          `scale=w='min(${THUMBNAIL_WIDTH},iw)':h=-2`,
          '-c:v',
          'mjpeg',
          '-q:v',
          '5',
          '-f',
          'image2',
          '-update',
          '1',
          '-y',
          `file:${tmp}`,
        ],
        THUMBNAIL_TIMEOUT_MS,
        signal,
      )
      // Seeking past the last frame ends without error and without a picture.
      const made = await stat(tmp).then(
        (s) => s.size > 0,
        () => false,
      )
      if (made) break
    }
    if (!(await isJpeg(tmp))) throw new Error('ffmpeg made no picture')
    await rename(tmp, out)
  } finally {
    await unlink(tmp).catch(() => {})
  }
}
