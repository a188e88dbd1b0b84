// Keeps a long upload's memory flat. Node reads each socket chunk into a fresh 64 KiB buffer
// that dies at once, but V8 frees such off-heap buffers only when a young-generation GC runs,
// which a stream of bytes with few JS objects rarely triggers: measured here, ~60 MB of dead
// buffers piled up during a 2 GiB upload. A minor GC every few MiB of upload returns them
// (a scavenge of a nearly empty young generation costs well under a millisecond).
// `gc` exists when the process was started with --expose-gc (NODE_FLAGS in src/runtimeFlags.ts,
// as npm start, the systemd unit and the benchmarks do); without it this does nothing.

export const RECLAIM_EVERY_BYTES = 8 * 1024 * 1024

export function reclaimUploadBuffers(): void {
  globalThis.gc?.({ type: 'minor', execution: 'sync' })
}
