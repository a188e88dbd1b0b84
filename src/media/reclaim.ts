// Keeps a long upload's memory flat. Node reads each socket chunk into a fresh 64 KiB buffer
// that dies at once, but V8 frees such off-heap buffers only when a young-generation GC runs,
// which a stream of bytes with few JS objects rarely triggers: measured here, ~60 MB of dead
// buffers piled up during a 2 GiB upload. A minor GC every few MiB of upload returns them
// (a scavenge of a nearly empty young generation costs well under a millisecond).
import v8 from 'node:v8'
import vm from 'node:vm'

type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void

export const RECLAIM_EVERY_BYTES = 8 * 1024 * 1024

let gc: GcFunction | null | undefined

function getGc(): GcFunction | null {
  if (gc !== undefined) return gc
  try {
    // Exposes `gc` in a fresh context without a command-line flag.
    v8.setFlagsFromString('--expose-gc')
    gc = vm.runInNewContext('gc') as GcFunction
  } catch {
    gc = null
  }
  return gc
}

export function reclaimUploadBuffers(): void {
  getGc()?.({ type: 'minor', execution: 'sync' })
}
