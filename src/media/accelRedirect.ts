// Behind nginx (ACCEL_REDIRECT): Node checks who may have a media file and nginx sends its bytes
// from an internal location (X-Accel-Redirect, sendfile), so Node never copies them. Pure helpers.
import path from 'node:path'

/** The internal URI nginx serves `file` (inside `mediaDir`) from; each segment percent-encoded. */
export function accelUri(prefix: string, mediaDir: string, file: string): string {
  const rel = path.relative(mediaDir, file)
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${file} is not inside ${mediaDir}`)
  return prefix + rel.split(path.sep).map(encodeURIComponent).join('/')
}

/**
 * The body bytes nginx will send for a GET of a file of `size` bytes: the one range asked for, or
 * the whole file (several ranges, or one that cannot be satisfied, count as the whole or nothing
 * as nginx answers them). Feeds the origin byte counts, which no longer see the bytes.
 */
export function accelBytes(range: string | undefined, size: number): number {
  if (!range) return size
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim())
  if (!m || (m[1] === '' && m[2] === '')) return size
  if (m[1] === '') return Math.min(Number(m[2]), size)
  const start = Number(m[1])
  if (start >= size) return 0
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  return end >= start ? end - start + 1 : size
}
