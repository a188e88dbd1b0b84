// Formatting used by the templates. Escaping is EJS's `<%= %>`; nothing user-written goes through `<%-`.
import { share } from '../offload/offloadMath.ts'
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** The binary unit that `bytes` reads best in: 1536 -> 1.5 KiB. */
export function byteUnit(bytes: number): { divisor: number; unit: string } {
  let divisor = 1
  let unit = 0
  while (bytes / divisor >= 1024 && unit < UNITS.length - 1) {
    divisor *= 1024
    unit++
  }
  return { divisor, unit: UNITS[unit]! }
}

function formatBytes(bytes: number): string {
  const { divisor, unit } = byteUnit(bytes)
  const value = bytes / divisor
  return `${divisor === 1 ? value : value.toFixed(value < 10 ? 2 : 1)} ${unit}`
}

/** A share (0..1) as the pages show it: "42 %", one decimal below 10 %. */
function formatShare(fraction: number): string {
  const pct = Math.max(0, Math.min(1, Number(fraction) || 0)) * 100
  return `${pct > 0 && pct < 10 ? pct.toFixed(1) : Math.round(pct)} %`
}

function formatDate(iso: string): string {
  return new Date(iso).toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
}

/** The share of a video's bytes that peers served, from its API `offload` object. */
const peerShare = (o: { originBytes: number; peerBytes: number }): number => share(o.peerBytes, o.originBytes)

/** A length in seconds as players show it: 0:07, 4:05, 1:02:03. */
function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds))
  const [h, m, s] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60]
  const pad = (n: number) => String(n).padStart(2, '0')
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`
}

const CODEC_NAMES: Record<string, string> = {
  h264: 'H.264',
  hevc: 'H.265 (HEVC)',
  vp8: 'VP8',
  vp9: 'VP9',
  av1: 'AV1',
  mpeg4: 'MPEG-4 Part 2',
  theora: 'Theora',
  aac: 'AAC',
  mp3: 'MP3',
  opus: 'Opus',
  vorbis: 'Vorbis',
  flac: 'FLAC',
}

/** ffprobe's codec name as people know it (its own name when not a common one). */
const codecName = (name: string): string => CODEC_NAMES[name] ?? (name.startsWith('pcm_') ? 'PCM' : name)

export const viewHelpers = { formatBytes, formatDate, formatShare, peerShare, formatDuration, codecName }

/** The site's name in pages, feeds and link previews. */
export const SITE_NAME = 'Seedcast'
