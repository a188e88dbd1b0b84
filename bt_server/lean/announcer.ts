// Runs the announce schedule: one timer for all torrents, `started` first (as a seed: left=0,
// downloaded=0), then periodic announces at the tracker's interval, `stopped` when a torrent is
// removed or a tracker leaves its list, and (best effort, a few per tracker) at shutdown. Peers
// from the replies go to `onPeers`. A hybrid torrent is two targets, one per infohash (v1 and the
// truncated v2, as libtorrent announces it), so v2-only clients of other trackers find us too.
// A reply that names a peer `onPeers` had not been offered lately, or a leecher count other than
// the last reply's, brings the next announce forward to the min interval (announceSchedule.ts).
import { randomInt } from 'node:crypto'
import { AnnounceSchedule, type ScheduleOptions } from './announceSchedule.ts'
import {
  DEFAULT_NUMWANT,
  type AnnounceEvent,
  type AnnounceReply,
  type PeerAddress,
} from '../../src/bittorrent/tracker/announce.ts'
import { TrackerClient } from './trackerClient.ts'

export interface AnnounceTarget {
  infoHash: string
  infoHashBuf: Buffer
  trackers: string[]
  uploaded: number
}

/** `stopped` announces sent per tracker at shutdown; the tracker expires the rest itself. */
const STOPPED_AT_SHUTDOWN = 10

/** `sending`: an announce is in flight; `dropped`: gone from the list meanwhile (see `drop`). */
interface Job {
  target: AnnounceTarget
  url: string
  key: string
  sending: boolean
  dropped: boolean
  /** Leechers the last reply counted, if it said. */
  leechers?: number
}

/** Hands a reply's peers on; returns how many of them it had not been offered lately. */
type OnPeers = (infoHash: string, infoHashBuf: Buffer, peers: PeerAddress[]) => number

export class Announcer {
  private readonly schedule: AnnounceSchedule
  private readonly client = new TrackerClient()
  private readonly jobs = new Map<string, Job>()
  private readonly byTorrent = new Map<string, Job[]>()
  private readonly lastError = new Map<string, string>()
  private readonly skipped = new Set<string>()
  private readonly key = randomInt(2 ** 32)
  private timer: NodeJS.Timeout | null = null
  private timerAt = Infinity
  private closed = false
  private readonly peerId: Buffer
  private readonly port: number
  private readonly onPeers: OnPeers
  private readonly log: (line: string) => void

  constructor(opts: {
    peerId: Buffer
    port: number
    onPeers: OnPeers
    log: (line: string) => void
    schedule?: Partial<ScheduleOptions>
  }) {
    this.peerId = opts.peerId
    this.port = opts.port
    this.onPeers = opts.onPeers
    this.log = opts.log
    this.schedule = new AnnounceSchedule(opts.schedule)
  }

  /** Starts announcing a torrent to its trackers. */
  add(target: AnnounceTarget): void {
    this.update(target)
  }

  /**
   * Announces a torrent to `target.trackers` as they are now: a tracker new to the list gets
   * `started` at once, one no longer listed gets `stopped` (if it had our `started`), the others
   * keep their schedule.
   */
  update(target: AnnounceTarget): void {
    const old = new Map((this.byTorrent.get(target.infoHash) ?? []).map((j) => [j.url, j]))
    const jobs: Job[] = []
    for (const url of new Set(target.trackers)) {
      const known = old.get(url)
      if (known) {
        old.delete(url)
        known.target = target
        jobs.push(known)
        continue
      }
      if (!TrackerClient.supports(url)) {
        if (!this.skipped.has(url)) {
          this.skipped.add(url)
          this.log(`[seeder] not announcing to ${url}: only http(s) and udp trackers`)
        }
        continue
      }
      const job: Job = { target, url, key: `${target.infoHash} ${url}`, sending: false, dropped: false }
      this.jobs.set(job.key, job)
      jobs.push(job)
      this.schedule.add(job.key, laneOf(url), Date.now())
    }
    for (const job of old.values()) this.drop(job)
    this.byTorrent.set(target.infoHash, jobs)
    this.arm()
  }

  /** Stops announcing a torrent; a tracker that has it from us gets `stopped` (not awaited). */
  remove(infoHash: string): void {
    for (const job of this.byTorrent.get(infoHash) ?? []) this.drop(job)
    this.byTorrent.delete(infoHash)
  }

  // A `started` still in flight has not been recorded as taken yet, but the tracker will count us
  // once it arrives: `stopped` then follows its reply.
  private drop(job: Job): void {
    this.jobs.delete(job.key)
    const was = this.schedule.remove(job.key)
    if (was?.started) void this.send(job, 'stopped').catch(() => {})
    else if (was && job.sending) job.dropped = true
  }

  /** Shutdown: `stopped` to a few per tracker, waiting at most `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    const perLane = new Map<string, number>()
    const sends: Promise<unknown>[] = []
    for (const job of this.jobs.values()) {
      const lane = laneOf(job.url)
      const n = perLane.get(lane) ?? 0
      if (n >= STOPPED_AT_SHUTDOWN || !this.schedule.remove(job.key)?.started) continue
      perLane.set(lane, n + 1)
      sends.push(this.send(job, 'stopped').catch(() => {}))
    }
    await Promise.race([Promise.all(sends), new Promise((r) => setTimeout(r, timeoutMs))])
    this.client.close()
  }

  private arm(): void {
    if (this.closed) return
    const at = this.schedule.nextWake()
    if (at === null || at >= this.timerAt) return
    if (this.timer) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(
      () => {
        this.timer = null
        this.timerAt = Infinity
        this.run()
      },
      Math.max(0, at - Date.now()),
    )
    this.timer.unref()
  }

  private run(): void {
    if (this.closed) return
    for (const due of this.schedule.take(Date.now())) {
      const job = this.jobs.get(due.key)
      if (!job) continue
      job.sending = true
      this.send(job, due.event)
        .then(
          (reply) => {
            if (job.dropped) {
              if (reply.ok && !this.jobs.has(job.key)) void this.send(job, 'stopped').catch(() => {})
              return
            }
            if (reply.ok) {
              const unseen =
                reply.peers.length && this.jobs.has(job.key)
                  ? this.onPeers(job.target.infoHash, job.target.infoHashBuf, reply.peers)
                  : 0
              const changed =
                job.leechers !== undefined && reply.leechers !== undefined && reply.leechers !== job.leechers
              if (reply.leechers !== undefined) job.leechers = reply.leechers
              this.schedule.done(job.key, Date.now(), {
                ok: true,
                intervalSec: reply.intervalSec,
                ...(reply.minIntervalSec !== undefined ? { minIntervalSec: reply.minIntervalSec } : {}),
                // The `started` reply's peers are dialled now: news only in the later ones.
                soon: due.event !== 'started' && (unseen > 0 || changed),
              })
              if (this.lastError.delete(job.url)) this.log(`[seeder] announces to ${job.url} work again`)
            } else {
              this.failed(job, `tracker said: ${reply.failure}`)
            }
          },
          (err: Error) => {
            if (!job.dropped) this.failed(job, err.message)
          },
        )
        .finally(() => {
          job.sending = false
          this.arm()
        })
    }
    this.arm()
  }

  private failed(job: Job, message: string): void {
    this.schedule.done(job.key, Date.now(), { ok: false })
    // One line per tracker and kind of failure, not one per torrent.
    if (this.lastError.get(job.url) === message) return
    this.lastError.set(job.url, message)
    this.log(`[seeder] announce to ${job.url} failed (${job.target.infoHash}): ${message}`)
  }

  private send(job: Job, event: AnnounceEvent): Promise<AnnounceReply> {
    return this.client.announce(job.url, {
      infoHash: job.target.infoHashBuf,
      peerId: this.peerId,
      port: this.port,
      uploaded: job.target.uploaded,
      downloaded: 0, // we fetched nothing: a seed from the start, never a finished download
      left: 0,
      event,
      numwant: event === 'stopped' ? 0 : DEFAULT_NUMWANT,
      key: this.key,
    })
  }
}

/** Announces are paced per tracker host (the site's rate limit is per client address). */
function laneOf(url: string): string {
  try {
    return new URL(url).hostname
  } catch {
    return url
  }
}
