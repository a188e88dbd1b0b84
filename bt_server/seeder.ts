// The webtorrent engine (SEEDER_ENGINE=webtorrent): seeds every published torrent from the
// stored files, in place, with webtorrent. What to seed is decided by SeedSync (seedSync.ts).
// webtorrent speaks v1 only: it seeds the v1 side of a hybrid torrent, and refuses v2-only
// torrents and multi-file releases (their files are not laid out as webtorrent looks for them),
// which SeedSync then reports and logs as problems.
import WebTorrent from 'webtorrent'
import path from 'node:path'
import { readTorrentMeta } from './lean/torrentMeta.ts'
import { SeedSync, type SeedEngine, type SeederOptions } from './seedSync.ts'

export type { SeederOptions, SeederStatus } from './seedSync.ts'

class WebtorrentEngine implements SeedEngine {
  private readonly client: WebTorrent.Instance
  private readonly opts: SeederOptions
  /** infohash -> media file, to add a torrent again in `retrack`. */
  private readonly files = new Map<string, string>()

  constructor(opts: SeederOptions) {
    this.opts = opts
    this.client = new WebTorrent({
      torrentPort: opts.port,
      dht: false,
      lsd: false,
      natUpnp: false,
      natPmp: false,
      utp: true,
      // Pieces come from our own files; never fetch from the torrent's web seed (ourselves).
      webSeeds: false,
    })
    this.client.on('error', (err) => opts.log(`[seeder] client error: ${(err as Error).message ?? err}`))
  }

  get listenPort(): number {
    return this.client.torrentPort
  }

  listening(): Promise<number> {
    const c = this.client
    if (c.listening) return Promise.resolve(c.torrentPort)
    return new Promise((resolve) => c.once('listening', () => resolve(c.torrentPort)))
  }

  uploadedBytes(): number {
    return this.client.torrents.reduce((sum, t) => sum + t.uploaded, 0)
  }

  uploadedByTorrent(): Map<string, number> {
    return new Map(this.client.torrents.map((t) => [t.infoHash, t.uploaded]))
  }

  add(infoHash: string, torrentFile: Buffer, filePath: string): Promise<void> {
    const meta = readTorrentMeta(torrentFile, infoHash)
    if (meta.format === 'v2') return Promise.reject(new Error('a v2-only torrent (the webtorrent engine is v1 only)'))
    if (meta.multiFile)
      return Promise.reject(new Error('a multi-file release (the webtorrent engine seeds single files)'))
    return new Promise((resolve, reject) => {
      const torrent = this.client.add(torrentFile, {
        path: path.dirname(filePath),
        skipVerify: true, // checked by SeedSync: size and mtime as hashed, or rehashed just now
        // We only add complete files, so announce as a seed from the first announce on. webtorrent
        // reports every verified byte as `downloaded`; a seed that fetched nothing must say 0, or
        // the tracker takes its `started` with left=0 for a finished download and counts it as
        // completed (once per seeder start, since each start has a new peer id).
        getAnnounceOpts: () => ({ left: 0, downloaded: 0 }),
      })
      const onError = (err: Error | string) => reject(typeof err === 'string' ? new Error(err) : err)
      torrent.once('error', onError)
      torrent.once('ready', () => {
        // Runs before webtorrent's first done-check: a torrent that starts out complete would
        // otherwise flip to done right after its `started` announce and send `completed` too,
        // which the tracker counts as one more download on every seeder start.
        torrent.done = true
        torrent.off('error', onError)
        torrent.on('error', (err) => this.opts.log(`[seeder] torrent ${infoHash}: ${(err as Error).message ?? err}`))
        this.files.set(infoHash, filePath)
        resolve()
      })
    })
  }

  async remove(infoHash: string): Promise<void> {
    this.files.delete(infoHash)
    if (!(await this.client.get(infoHash))) return
    await new Promise<void>((resolve) => void this.client.remove(infoHash, { destroyStore: false }, () => resolve()))
  }

  // webtorrent cannot change a torrent's announce list in place: it is removed (its peers and
  // all; `stopped` to the old trackers) and added again. The infohash is checked first, since
  // webtorrent would seed whatever torrent the file holds from this path.
  async retrack(infoHash: string, torrentFile: Buffer): Promise<void> {
    const filePath = this.files.get(infoHash)
    if (!filePath) throw new Error('not seeding it')
    readTorrentMeta(torrentFile, infoHash)
    await this.remove(infoHash)
    await this.add(infoHash, torrentFile, filePath)
  }

  // webtorrent's own throttle group for every torrent's uploads; -1 turns it off.
  setUploadCap(bytesPerSecond: number): void {
    this.client.throttleUpload(bytesPerSecond > 0 ? bytesPerSecond : -1)
  }

  destroy(): Promise<void> {
    return new Promise((resolve) => this.client.destroy(() => resolve()))
  }
}

export class Seeder extends SeedSync {
  constructor(opts: SeederOptions) {
    super(new WebtorrentEngine(opts), opts)
  }
}
