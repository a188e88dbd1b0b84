// Keeps an engine's set of seeded torrents in line with the database, whatever the engine
// (webtorrent or the lean one): `sync` adds new ones (after a file check), drops removed or
// changed ones, hands the engine new tracker lists, and reports problems once.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { Coalescer } from '../src/coalesce.ts'
import { checkFile, statFile } from './fileCheck.ts'
import type { SeederLimits } from './lean/limits.ts'
import type { Seedable } from './seedRepository.ts'

export interface SeederOptions {
  mediaDir: string
  port: number
  log: (line: string) => void
  /** The lean engine's bounds (config SEEDER_*); the webtorrent engine has its own. */
  limits?: Partial<SeederLimits>
}

export interface SeederStatus {
  seeding: number
  port: number
  problems: { fileName: string; reason: string }[]
  uploadedBytes: number
  /** Bound -> how often it refused or dropped a peer (the web app shows them in /metrics). */
  refusals: Record<string, number>
}

/** What a seeding engine does; sync decides what it seeds. */
export interface SeedEngine {
  listening(): Promise<number>
  readonly listenPort: number
  uploadedBytes(): number
  /** Piece bytes sent per seeded torrent (infohash -> bytes) since it was added. */
  uploadedByTorrent(): Map<string, number>
  /** Bound -> count of refusals, for engines that keep them. */
  refusalCounts?(): Record<string, number>
  /** Seeds `torrentFile` (already verified against `filePath`); throws if it cannot. */
  add(infoHash: string, torrentFile: Buffer, filePath: string): Promise<void>
  /** Stops seeding it and closes its peers. */
  remove(infoHash: string): Promise<void>
  /**
   * Announces a seeded torrent to the trackers `torrentFile` lists now (the same torrent, its
   * tracker list rewritten); throws if it cannot, e.g. the file is for another infohash.
   */
  retrack(infoHash: string, torrentFile: Buffer): Promise<void>
  /** The total upload rate for every peer of every torrent, bytes per second; 0 = no cap. */
  setUploadCap(bytesPerSecond: number): void
  /** Peers that just announced to the site's tracker (under `infoHash`, hex), to dial now; engines that dial. */
  addPeers?(infoHash: string, peers: { ip: string; port: number }[]): void
  destroy(): Promise<void>
}

/** `trackers`: the Seedable's key when its tracker list was last read from the .torrent. */
interface Seeded {
  fileName: string
  size: number
  mtimeMs: number
  trackers: string
}

export class SeedSync {
  private readonly engine: SeedEngine
  private readonly opts: SeederOptions
  private readonly seeded = new Map<string, Seeded>()
  private readonly problems = new Map<string, { fileName: string; reason: string }>()
  private readonly syncs = new Coalescer(() => this.syncOnce(this.latest))
  private latest: Seedable[] = []
  // Per torrent, the engine's upload count already handed to takeUploaded; what torrents stopped
  // since then had sent beyond it.
  private readonly reported = new Map<string, number>()
  private readonly unreported = new Map<string, number>()
  private uploadCap = 0

  constructor(engine: SeedEngine, opts: SeederOptions) {
    this.engine = engine
    this.opts = opts
  }

  /** Resolves once the peer port is listening. */
  listening(): Promise<number> {
    return this.engine.listening()
  }

  status(): SeederStatus {
    return {
      seeding: this.seeded.size,
      port: this.engine.listenPort,
      problems: [...this.problems.values()],
      uploadedBytes: this.engine.uploadedBytes(),
      refusals: this.engine.refusalCounts?.() ?? {},
    }
  }

  /** Bytes sent per torrent since the last call (the offload counts: src/offload/). */
  takeUploaded(): { infoHash: string; bytes: number }[] {
    const out = [...this.unreported].map(([infoHash, bytes]) => ({ infoHash, bytes }))
    this.unreported.clear()
    for (const [infoHash, total] of this.engine.uploadedByTorrent()) {
      const before = this.reported.get(infoHash) ?? 0
      // Below the last report: the engine began the torrent anew (webtorrent's retrack re-adds it).
      const bytes = total >= before ? total - before : total
      if (bytes <= 0) continue
      this.reported.set(infoHash, total)
      out.push({ infoHash, bytes })
    }
    return out
  }

  /** The site's seederUploadCap, read at every rescan: a change applies to peers already served. */
  setUploadCap(bytesPerSecond: number): void {
    if (bytesPerSecond === this.uploadCap) return
    this.uploadCap = bytesPerSecond
    this.engine.setUploadCap(bytesPerSecond)
    this.opts.log(
      `[seeder] upload cap: ${bytesPerSecond > 0 ? `${bytesPerSecond} bytes/s for all peers together` : 'none'}`,
    )
  }

  isSeeding(infoHash: string): boolean {
    return this.seeded.has(infoHash)
  }

  /** Runs one sync at a time; a request during a sync runs another right after with the newest list. */
  sync(wanted: Seedable[]): Promise<void> {
    this.latest = wanted
    return this.syncs.request()
  }

  private async syncOnce(wanted: Seedable[]): Promise<void> {
    const byHash = new Map(wanted.map((w) => [w.infoHash, w]))
    for (const [infoHash, seeded] of this.seeded) {
      if (!byHash.has(infoHash)) {
        await this.stop(infoHash)
        this.opts.log(`[seeder] stopped seeding ${seeded.fileName} (unpublished, or BitTorrent switched off)`)
        continue
      }
      // Still wanted: make sure the file is the one we verified.
      const now = await statFile(this.filePath(seeded.fileName))
      if (!now || now.size !== seeded.size || now.mtimeMs !== seeded.mtimeMs) {
        await this.stop(infoHash)
        this.report(
          infoHash,
          seeded.fileName,
          now ? 'the media file changed while seeded' : 'the media file has vanished',
        )
        continue
      }
      const trackers = byHash.get(infoHash)!.trackers
      if (trackers !== seeded.trackers) await this.retrack(infoHash, seeded, trackers)
    }
    for (const [infoHash] of this.problems) if (!byHash.has(infoHash)) this.problems.delete(infoHash)

    for (const w of wanted) {
      if (this.seeded.has(w.infoHash)) continue
      const filePath = this.filePath(w.fileName)
      // One torrent that cannot be read or added (a damaged .torrent file) is reported as that
      // torrent's problem; it must not end the scan and leave every later video unseeded.
      try {
        const verdict = await checkFile({
          filePath,
          torrentPath: path.join(this.opts.mediaDir, w.torrentFile),
          size: w.size,
          fileMtimeMs: w.fileMtimeMs,
        })
        if (!verdict.ok) {
          this.report(w.infoHash, w.fileName, verdict.reason)
          continue
        }
        await this.engine.add(w.infoHash, verdict.torrent, filePath)
        this.seeded.set(w.infoHash, {
          fileName: w.fileName,
          size: verdict.size,
          mtimeMs: verdict.mtimeMs,
          trackers: w.trackers,
        })
        if (this.problems.delete(w.infoHash)) this.opts.log(`[seeder] ${w.fileName} is fine again`)
        const format = w.format === 'v1' ? '' : `, ${w.format}`
        this.opts.log(
          `[seeder] seeding ${w.fileName} (${w.infoHash}${format})${verdict.rehashed ? ' after rehashing it' : ''}`,
        )
      } catch (err) {
        await this.stop(w.infoHash).catch(() => {})
        this.report(w.infoHash, w.fileName, `cannot seed it: ${(err as Error).message ?? err}`)
      }
    }
  }

  // The web app rewrites the .torrent (same info dict) before it updates the column, so the file
  // read here is at least as new as `trackers`. A file that cannot be read or is for another
  // torrent stops the seeding, as in `add`; the next scan checks and adds it afresh.
  private async retrack(infoHash: string, seeded: Seeded, trackers: string): Promise<void> {
    try {
      await this.engine.retrack(infoHash, await readFile(`${this.filePath(seeded.fileName)}.torrent`))
      seeded.trackers = trackers
      this.opts.log(`[seeder] ${seeded.fileName}: now announcing to the trackers its .torrent lists`)
    } catch (err) {
      await this.stop(infoHash).catch(() => {})
      this.report(infoHash, seeded.fileName, `cannot take its new trackers: ${(err as Error).message ?? err}`)
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

  private async stop(infoHash: string): Promise<void> {
    this.seeded.delete(infoHash)
    // Its count goes with it: keep what it sent since the last report.
    const unsent = (this.engine.uploadedByTorrent().get(infoHash) ?? 0) - (this.reported.get(infoHash) ?? 0)
    if (unsent > 0) this.unreported.set(infoHash, (this.unreported.get(infoHash) ?? 0) + unsent)
    this.reported.delete(infoHash)
    await this.engine.remove(infoHash)
  }

  /** A leecher the site's tracker just saw (pushed over IPC): the engine dials it if it seeds that torrent. */
  addPeers(infoHash: string, peers: { ip: string; port: number }[]): void {
    this.engine.addPeers?.(infoHash, peers)
  }

  destroy(): Promise<void> {
    return this.engine.destroy()
  }
}
