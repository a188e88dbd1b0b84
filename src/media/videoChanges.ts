// Writes that change what a video's page shows, told to whoever keeps pages drawn
// (src/web/pageCache.ts, and through src/cluster/ every web worker's). The repositories call it
// after each such write: they are the one place every change passes, whichever service, job or
// process made it. Counters (completed downloads, offload bytes) are not told: they change with
// every download, and a drawn page is only as old as the cache's time limit.
// Process-wide, not per database client: a transaction's client is another object, and a second
// site in the same process (tests) only drops pages it would have drawn again anyway.

/** The videos whose pages changed; null: any of them (settings, an account's videos given away). */
type Listener = (ids: readonly string[] | null) => void

const listeners = new Set<Listener>()

/** Hears every change from now on; the function returned stops it. */
export function onVideosChanged(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function videosChanged(ids: readonly string[] | null): void {
  for (const l of listeners) l(ids)
}
