// Real media files for tests, made by ffmpeg (Debian package).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

const run = promisify(execFile)

/**
 * A short H.264/AAC MP4; `seconds` and `size` vary its length. `noise` (0-100, e.g. 13) adds
 * film grain that barely compresses, for a file of megabytes rather than kilobytes. `encoder`
 * another video encoder (e.g. libx265, mpeg4), the container following `name` (e.g. clip.mkv).
 */
export async function makeVideo(
  opts: { seconds?: number; size?: string; name?: string; noise?: number; encoder?: string } = {},
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-media-'))
  const file = path.join(dir, opts.name ?? 'clip.mp4')
  const seconds = String(opts.seconds ?? 2)
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=duration=${seconds}:size=${opts.size ?? '320x240'}:rate=25`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${seconds}`,
    ...(opts.noise ? ['-vf', `noise=alls=${opts.noise}:allf=t+u`] : []),
    '-c:v',
    opts.encoder ?? 'libx264',
    ...(opts.encoder === 'mpeg4' ? [] : ['-preset', 'ultrafast']),
    // x265 prints its settings to stderr unless told not to.
    ...(opts.encoder === 'libx265' ? ['-x265-params', 'log-level=error'] : []),
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    '-movflags',
    '+faststart',
    file,
  ])
  return file
}

/** Builds a multipart body for fetch from fields and one file. */
export async function uploadForm(
  fields: Record<string, string>,
  file?: { path: string; name?: string; type?: string },
): Promise<FormData> {
  const { readFile } = await import('node:fs/promises')
  const form = new FormData()
  for (const [k, v] of Object.entries(fields)) form.append(k, v)
  if (file)
    form.append(
      'file',
      new Blob([await readFile(file.path)], { type: file.type ?? 'video/mp4' }),
      file.name ?? path.basename(file.path),
    )
  return form
}

/** A short WAVE (PCM) audio file: audio is accepted as well as video. */
export async function makeAudio(opts: { seconds?: number; name?: string } = {}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-media-'))
  const file = path.join(dir, opts.name ?? 'tone.wav')
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${opts.seconds ?? 1}`,
    '-c:a',
    'pcm_s16le',
    '-f',
    'wav',
    file,
  ])
  return file
}
