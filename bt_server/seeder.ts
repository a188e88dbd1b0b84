// Seeds every published torrent from the stored files, in place, with webtorrent.
// `sync` brings the set of seeded torrents in line with the database: new ones are added
// (after a file check), removed or changed ones are dropped, problems are reported once.
import path from 'node:path'
import WebTorrent from 'webtorrent'
import { checkFile, statFile } from './fileCheck.ts'
import type { Seedable } from './seedRepository.ts'

export interface SeederOptions {
  mediaDir: string
  port: number
  log: (line: string) => void
}

export interface SeederStatus {
  seeding: number
  port: number
  problems: { fileName: string; reason: string }[]
  uploadedBytes: number
}

interface Seeded { fileName: string; size: number; mtimeMs: number }

export class Seeder {
  private readonly client: WebTorrent.Instance
  private readonly opts: SeederOptions
  private readonly seeded = new Map<string, Seeded>()
  private readonly problems = new Map<string, { fileName: string; reason: string }>()
  private syncing: Promise<void> | null = null
  private syncAgain = false
  private latest: Seedable[] = []

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

  /** Resolves once the peer port is listening. */
  listening(): Promise<number> {
    const c = this.client
    if (c.listening) return Promise.resolve(c.torrentPort)
    return new Promise((resolve) => c.once('listening', () => resolve(c.torrentPort)))
  }

  status(): SeederStatus {
    return {
      seeding: this.seeded.size,
      port: this.client.torrentPort,
      problems: [...this.problems.values()],
      uploadedBytes: this.client.torrents.reduce((sum, t) => sum + t.uploaded, 0),
    }
  }

  isSeeding(infoHash: string): boolean {
    return this.seeded.has(infoHash)
  }

  /** Runs one sync at a time; a request during a sync runs another right after with the newest list. */
  sync(wanted: Seedable[]): Promise<void> {
    this.latest = wanted
    if (this.syncing) {
      this.syncAgain = true
      return this.syncing
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false
        await this.syncOnce(this.latest)
      } while (this.syncAgain)
    })().finally(() => { this.syncing = null })
    return this.syncing
  }

  private async syncOnce(wanted: Seedable[]): Promise<void> {
    const byHash = new Map(wanted.map((w) => [w.infoHash, w]))
    for (const [infoHash, seeded] of this.seeded) {
      if (!byHash.has(infoHash)) {
        await this.stop(infoHash)
        this.opts.log(`[seeder] stopped seeding ${seeded.fileName} (unpublished)`)
        continue
      }
      // Still wanted: make sure the file is the one we verified.
      const now = await statFile(this.filePath(seeded.fileName))
      if (!now || now.size !== seeded.size || now.mtimeMs !== seeded.mtimeMs) {
        await this.stop(infoHash)
        this.report(infoHash, seeded.fileName, now ? 'the media file changed while seeded' : 'the media file has vanished')
      }
    }
    for (const [infoHash] of this.problems) if (!byHash.has(infoHash)) this.problems.delete(infoHash)

    for (const w of wanted) {
      if (this.seeded.has(w.infoHash)) continue
      const filePath = this.filePath(w.fileName)
      // One torrent that cannot be read or added (a damaged .torrent file) is reported as that
      // torrent's problem; it must not end the scan and leave every later video unseeded.
      try {
        const verdict = await checkFile({ filePath, torrentPath: `${filePath}.torrent`, size: w.size, fileMtimeMs: w.fileMtimeMs })
        if (!verdict.ok) {
          this.report(w.infoHash, w.fileName, verdict.reason)
          continue
        }
        await this.start(w.infoHash, verdict.torrent)
        this.seeded.set(w.infoHash, { fileName: w.fileName, size: verdict.size, mtimeMs: verdict.mtimeMs })
        if (this.problems.delete(w.infoHash)) this.opts.log(`[seeder] ${w.fileName} is fine again`)
        this.opts.log(`[seeder] seeding ${w.fileName} (${w.infoHash})${verdict.rehashed ? ' after rehashing it' : ''}`)
      } catch (err) {
        await this.stop(w.infoHash).catch(() => {})
        this.report(w.infoHash, w.fileName, `cannot seed it: ${(err as Error).message ?? err}`)
      }
    }
  }

  private filePath(fileName: string): string {
    return path.join(this.opts.mediaDir, fileName)
  }

  private report(infoHash: string, fileName: string, reason: string) {
    const known = this.problems.get(infoHash)
    if (known?.reason === reason) return
    this.problems.set(infoHash, { fileName, reason })
    this.opts.log(`[seeder] not seeding ${fileName}: ${reason}`)
  }

  private start(infoHash: string, torrentFile: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const torrent = this.client.add(torrentFile, {
        path: this.opts.mediaDir,
        skipVerify: true, // checked above: size and mtime as hashed, or rehashed just now
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
        resolve()
      })
    })
  }

  private async stop(infoHash: string): Promise<void> {
    this.seeded.delete(infoHash)
    if (!(await this.client.get(infoHash))) return
    await new Promise<void>((resolve) => void this.client.remove(infoHash, { destroyStore: false }, () => resolve()))
  }

  destroy(): Promise<void> {
    return new Promise((resolve) => this.client.destroy(() => resolve()))
  }
}
