// Reads a site's swarm counts the ways a client or a visitor would: the JSON API, the tracker's
// scrape, the video page.
import bencode from 'bencode'

export interface ApiSwarm {
  seeders: number
  leechers: number
  completed: number
}

export async function apiSwarm(baseUrl: string, videoId: string): Promise<ApiSwarm> {
  const res = await fetch(`${baseUrl}/api/videos/${encodeURIComponent(videoId)}`)
  if (res.status !== 200) throw new Error(`GET /api/videos/${videoId} answered ${res.status}`)
  return ((await res.json()) as { swarm: ApiSwarm }).swarm
}

/** Percent-encodes every byte, as BitTorrent clients send info_hash. */
export function encodeInfoHash(hex: string): string {
  return Buffer.from(hex, 'hex').toString('hex').replace(/../g, '%$&')
}

export interface ScrapeFile {
  complete: number
  incomplete: number
  downloaded: number
}

export async function scrape(baseUrl: string, infoHashHex: string): Promise<ScrapeFile> {
  const res = await fetch(`${baseUrl}/scrape?info_hash=${encodeInfoHash(infoHashHex)}`)
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}`)
  const body = bencode.decode(Buffer.from(await res.arrayBuffer())) as Record<string, unknown>
  if (body['failure reason'])
    throw new Error(`scrape failed: ${Buffer.from(body['failure reason'] as Uint8Array).toString()}`)
  const files = Object.values(body.files as Record<string, ScrapeFile>)
  if (files.length !== 1) throw new Error(`scrape returned ${files.length} files, expected 1`)
  return files[0]!
}

/** Polls `read` until `done` holds, or fails with the last value after `timeoutMs`. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}; last value: ${JSON.stringify(value)}`)
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100))
  }
}
