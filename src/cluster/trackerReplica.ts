// The tracker as a web worker (WEB_WORKERS=N) sees it: announces and scrapes go to the owner
// process, which holds the swarms; counts for pages come from what the owner pushes each second.
// A worker's announces of one event-loop tick travel as one IPC message, and their answers as
// one: the pipe's cost is paid per batch, not per announce.
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type {
  AnnounceOutcome,
  LiveSwarm,
  PeerAnnouncement,
  ScrapeOutcome,
  SwarmCounts,
} from '../tracker/embeddedTracker.ts'
import type { TrackerCore } from '../tracker/httpTransport.ts'
import { isOwnerMessage, type OwnerAnswer, type OwnerCall, type OwnerMessage, type Snapshot } from './messages.ts'

/** The owner did not answer in time: the worker answers "try again" rather than hold the client. */
const ANSWER_TIMEOUT_MS = 10_000
/** Calls waiting for the owner, at most: past it, announces are refused at once (memory bound). */
const MAX_WAITING = 20_000

interface Waiting {
  resolve(a: OwnerAnswer): void
  reject(err: Error): void
}

/** The channel to the owner: process.send in a cluster worker. */
export interface OwnerChannel {
  send(message: unknown, handle?: Socket): void
  on(event: 'message', fn: (m: unknown) => void): void
  off(event: 'message', fn: (m: unknown) => void): void
}

export class TrackerReplica implements TrackerCore {
  /** Ignored here: the owner refuses announces while BitTorrent is off. */
  enabled = true
  private readonly channel: OwnerChannel
  private queue: { call: OwnerCall; waiting: Waiting }[] = []
  private readonly batches = new Map<number, { waiting: Waiting[]; timer: NodeJS.Timeout }>()
  private waitingCount = 0
  private nextId = 1
  private flushScheduled = false
  private swarms = new Map<string, LiveSwarm>()
  private snapshot: Snapshot | null = null
  private readonly onSettings: () => void
  private readonly onPages: (ids: string[] | null) => void
  private readonly listener = (m: unknown) => {
    if (isOwnerMessage(m)) this.receive(m)
  }

  constructor(channel: OwnerChannel, onSettings: () => void, onPages: (ids: string[] | null) => void = () => {}) {
    this.channel = channel
    this.onSettings = onSettings
    this.onPages = onPages
    channel.on('message', this.listener)
    channel.send({ t: 'hello' })
  }

  announce(a: PeerAnnouncement, address: string): Promise<AnnounceOutcome> {
    return this.call({ op: 'announce', a, address }) as Promise<AnnounceOutcome>
  }

  scrape(infoHashes: string[], address: string): Promise<ScrapeOutcome> {
    return this.call({ op: 'scrape', infoHashes, address }) as Promise<ScrapeOutcome>
  }

  reject(reason: 'malformed'): void {
    this.channel.send({ t: 'reject', reason })
  }

  /** Answered once the owner tracks it: a client told "published" finds it on any worker. */
  async allow(
    infoHash: string,
    completed = 0,
    size = 0,
    infoHashV2: string | null = null,
    legacyInfoHash: string | null = null,
  ): Promise<void> {
    await this.call({ op: 'allow', row: { infoHash, completed, size, infoHashV2, legacyInfoHash } })
  }

  async disallow(infoHash: string): Promise<void> {
    await this.call({ op: 'disallow', infoHash })
  }

  /** The owner reconciles its allow list with the database; nothing is kept here to reconcile. */
  async reconcile(): Promise<void> {}

  async torrentsChanged(): Promise<void> {
    await this.call({ op: 'torrentsChanged' })
  }

  /** Videos changed here: the owner tells every worker, this one too (it has dropped them already). */
  async pagesChanged(ids: readonly string[] | null): Promise<void> {
    await this.call({ op: 'pagesChanged', ids: ids && [...ids] })
  }

  async settingsChanged(): Promise<void> {
    await this.call({ op: 'settingsChanged' })
  }

  /** The WebSocket tracker lives with the swarms: the socket goes to the owner, unread past `head`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const id = this.nextId++
    this.channel.send({ t: 'upgrade', id, url: req.url ?? '', headers: req.headers, head }, socket as Socket)
  }

  counts(infoHash: string): SwarmCounts {
    const s = this.swarms.get(infoHash.toLowerCase())
    return s ? { seeders: s.seeders, leechers: s.leechers } : { seeders: 0, leechers: 0 }
  }

  browserSeeders(infoHash: string): number {
    return this.swarms.get(infoHash.toLowerCase())?.browserSeeders ?? 0
  }

  completed(infoHash: string): number {
    return this.swarms.get(infoHash.toLowerCase())?.completed ?? 0
  }

  /** Only the owner samples swarm history, which is all that asks. */
  isAllowed(infoHash: string): boolean {
    return this.swarms.has(infoHash.toLowerCase())
  }

  metricsText(): string {
    return this.snapshot?.metricsText ?? ''
  }

  /** The owner's UDP tracker socket, as of its last push; null when there is none. */
  udpListening(): boolean | null {
    return this.snapshot?.udpListening ?? null
  }

  /** The supervised seeder, as the owner last reported it. */
  seederView(): { health(): unknown; refusalCounts(): Record<string, number> } {
    return {
      health: () => this.snapshot?.seeder?.health ?? { state: 'starting' },
      refusalCounts: () => this.snapshot?.seeder?.refusals ?? {},
    }
  }

  async close(): Promise<void> {
    this.channel.off('message', this.listener)
    for (const [, b] of this.batches) {
      clearTimeout(b.timer)
      for (const w of b.waiting) w.reject(new Error('the web worker is stopping'))
    }
    this.batches.clear()
  }

  private call(call: OwnerCall): Promise<OwnerAnswer> {
    if (this.waitingCount >= MAX_WAITING) return Promise.reject(new Error('too many requests waiting'))
    return new Promise<OwnerAnswer>((resolve, reject) => {
      this.queue.push({ call, waiting: { resolve, reject } })
      this.waitingCount++
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.flushScheduled = false
    const queue = this.queue
    this.queue = []
    if (queue.length === 0) return
    const id = this.nextId++
    const waiting = queue.map((q) => q.waiting)
    const timer = setTimeout(() => this.fail(id, new Error('no answer from the tracker process')), ANSWER_TIMEOUT_MS)
    timer.unref()
    this.batches.set(id, { waiting, timer })
    try {
      this.channel.send({ t: 'calls', id, calls: queue.map((q) => q.call) })
    } catch (err) {
      this.fail(id, err as Error)
    }
  }

  private fail(id: number, err: Error): void {
    const batch = this.batches.get(id)
    if (!batch) return
    this.batches.delete(id)
    this.waitingCount -= batch.waiting.length
    for (const w of batch.waiting) w.reject(err)
  }

  private receive(m: OwnerMessage): void {
    if (m.t === 'settings') return this.onSettings()
    if (m.t === 'pages') return this.onPages(m.ids)
    // Node closed this process's copy of the socket on the receipt that came just before.
    if (m.t === 'got') return this.channel.send({ t: 'released', id: m.id })
    if (m.t === 'snapshot') {
      this.snapshot = m
      const swarms = new Map<string, LiveSwarm>()
      for (const s of m.swarms) {
        swarms.set(s.infoHash, s)
        for (const a of s.aliases) swarms.set(a, s)
      }
      this.swarms = swarms
      return
    }
    const batch = this.batches.get(m.id)
    if (!batch) return
    this.batches.delete(m.id)
    clearTimeout(batch.timer)
    this.waitingCount -= batch.waiting.length
    batch.waiting.forEach((w, i) => {
      w.resolve(m.answers[i] ?? null)
    })
  }
}
