// Turns an uploaded video's torrent into a hybrid (BEP 52) one the way the site stores it: the
// .torrent beside the file and the Torrent row (infoHash the v1 SHA-1, infoHashV2 the full
// SHA-256, format 'hybrid'), for tests of what reads them (the tracker's allow list at start and on
// publish). Until uploads make hybrid torrents themselves this is how a test gets one. Also: a
// site with such torrents, and readers of the tracker's replies for the tests of it.
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { MerkleHasher } from '../../src/bittorrent/merkle.ts'
import { buildV2Torrent } from '../../src/bittorrent/metainfoV2.ts'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { sql } from './database.ts'
import { binParam, getVideo, mediaDir, trackerGet, uploadOk, type VideoJson } from './http.ts'
import { makeVideo } from './media.ts'
import { makeStorageDir, startTestServer, type TestServer } from './server.ts'

export interface HybridTorrent {
  /** v1 infohash (Torrent.infoHash), hex. */
  infoHash: string
  /** Full v2 infohash, 64 hex. */
  infoHashV2: string
  /** The v2 infohash truncated to 20 bytes: what v2 clients announce. */
  truncatedV2: string
  /** The stored .torrent and the stored file. */
  torrentPath: string
  filePath: string
}

const MIN_V2_PIECE = 16 * 1024

/** Rewrites `video`'s torrent as a hybrid one; the tracker reads it on the next start or publish. */
async function makeHybrid(server: TestServer, video: VideoJson): Promise<HybridTorrent> {
  const fileName = decodeURIComponent(new URL(video.fileUrl).pathname.split('/').pop()!)
  const filePath = path.join(mediaDir(server), fileName)
  const data = await readFile(filePath)
  const pieceLength = Math.max(MIN_V2_PIECE, video.torrent!.pieceLength)
  const v1 = new PieceHasher(pieceLength)
  const v2 = new MerkleHasher(pieceLength)
  v1.update(data)
  v2.update(data)
  const built = buildV2Torrent({
    name: fileName,
    format: 'hybrid',
    merkle: v2.digest(),
    pieces: v1.digest().pieces,
    trackers: video.torrent!.trackers,
    webSeeds: video.torrent!.webSeeds,
    createdBy: 'Seedcast test',
    creationDate: Math.floor(Date.now() / 1000),
  })
  const torrentPath = `${filePath}.torrent`
  await writeFile(torrentPath, built.buffer)
  await sql(
    server,
    'UPDATE "Torrent" SET "infoHash" = ?, "infoHashV2" = ?, "format" = ?, "pieceLength" = ?, "pieceCount" = ? WHERE "videoId" = ?',
    built.infoHash,
    built.infoHashV2,
    'hybrid',
    pieceLength,
    built.pieceCount,
    video.id,
  )
  return {
    infoHash: built.infoHash,
    infoHashV2: built.infoHashV2,
    truncatedV2: built.infoHashV2.slice(0, 40),
    torrentPath,
    filePath,
  }
}

export interface HybridSite {
  server: TestServer
  videos: VideoJson[]
  hybrids: HybridTorrent[]
  stop(): Promise<void>
}

/**
 * A real site with one uploaded clip per title, each torrent made hybrid, restarted on the same
 * ports (and storage) so the tracker's allow list is loaded from those records at start.
 */
export async function startHybridSite(titles: string[], env: Record<string, string> = {}): Promise<HybridSite> {
  const dir = await makeStorageDir()
  let server = await startTestServer(env, dir)
  const clip = await makeVideo({ seconds: 1 })
  const videos: VideoJson[] = []
  const hybrids: HybridTorrent[] = []
  for (const title of titles) {
    const video = await uploadOk(server, { title }, { path: clip })
    videos.push(video)
    hybrids.push(await makeHybrid(server, video))
  }
  const port = String(server.port)
  await server.stop({ keepStorage: true })
  server = await startTestServer({ ...env, PORT: port }, dir)
  return {
    server,
    videos,
    hybrids,
    async stop() {
      await server.stop()
      await rm(path.dirname(clip), { recursive: true, force: true })
    },
  }
}

// ---- reading the tracker's answers ---------------------------------------------------------

export const announceTo = (server: TestServer, query: string) => trackerGet(`${server.url}/announce?${query}`)

export const scrapeOf = (server: TestServer, hashes: string[]) =>
  trackerGet(`${server.url}/scrape?${hashes.map((h) => `info_hash=${binParam(Buffer.from(h, 'hex'))}`).join('&')}`)

/** A bencoded reply's failure reason, if it is one. */
export const failure = (body: any): string | undefined =>
  body?.['failure reason'] ? Buffer.from(body['failure reason']).toString() : undefined

/** The ports of a compact announce reply's IPv4 peers, sorted. */
export const peerPorts = (body: any): number[] => {
  const peers = Buffer.from(body.peers ?? [])
  return Array.from({ length: peers.length / 6 }, (_, i) => peers.readUInt16BE(i * 6 + 4)).sort()
}

/** A scrape reply's files by hex infohash (throws on a failure). */
export function scrapeFiles(body: any): Record<string, { complete: number; incomplete: number; downloaded: number }> {
  if (failure(body) !== undefined) throw new Error(`scrape failed: ${failure(body)}`)
  return Object.fromEntries(
    Object.entries(body.files as Record<string, any>).map(([k, v]) => [
      /^[0-9a-f]{40}$/.test(k) ? k : Buffer.from(k, 'latin1').toString('hex'),
      { complete: v.complete, incomplete: v.incomplete, downloaded: v.downloaded },
    ]),
  )
}

/** The live counts, as the video's API object has them (the swarm API caches for a second). */
export async function swarmOf(server: TestServer, video: VideoJson): Promise<{ seeders: number; leechers: number }> {
  const { seeders, leechers } = (await getVideo(server, video.id)).swarm!
  return { seeders, leechers }
}

/** The completed count stored for the video's torrent. */
export const storedCompleted = async (server: TestServer, video: VideoJson): Promise<number> =>
  Number((await sql(server, 'SELECT completed FROM "Torrent" WHERE "videoId" = ?', video.id))[0]!.completed)
