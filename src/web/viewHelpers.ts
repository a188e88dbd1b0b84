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

export const viewHelpers = { formatBytes, formatDate, formatShare, peerShare }

/** The site's name in pages, feeds and link previews. */
export const SITE_NAME = 'Seedcast'
