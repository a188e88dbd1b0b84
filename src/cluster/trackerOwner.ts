// The owner's side of WEB_WORKERS: answers its web workers' tracker calls with the one tracker,
// takes over their WebSocket tracker connections, and pushes each second what their pages and
// /healthz read (live counts, /metrics text, the UDP socket's and the seeder's state).
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { EmbeddedTracker } from '../tracker/embeddedTracker.ts'
import { type CallBatch, isWorkerMessage, type OwnerAnswer, type OwnerCall, type Snapshot } from './messages.ts'

const PUSH_EVERY_MS = 1000

/** A worker as the owner sees it: cluster.Worker. */
export interface WorkerChannel {
  send(message: unknown): boolean
  on(event: 'message', fn: (m: unknown, handle?: Socket) => void): void
  isConnected(): boolean
}

export interface TrackerOwnerDeps {
  tracker: EmbeddedTracker
  trustProxy: boolean
  udpListening: () => boolean | null
  seeder: { health(): unknown; refusalCounts(): Record<string, number> } | null
  torrentsChanged: () => void
  /** Re-reads the settings a worker saved; the owner's own 'changed' handlers run from it. */
  reloadSettings: () => Promise<void>
  log: (line: string) => void
}

export class TrackerOwner {
  private readonly deps: TrackerOwnerDeps
  private readonly workers = new Set<WorkerChannel>()
  // Upgrades whose socket is here, waiting for their worker's `released` (src/cluster/messages.ts).
  private readonly handedOver = new Map<WorkerChannel, Map<number, { sock: Socket; start: () => void }>>()
  private readonly timer: NodeJS.Timeout

  constructor(deps: TrackerOwnerDeps) {
    this.deps = deps
    this.timer = setInterval(() => this.push(), PUSH_EVERY_MS)
    this.timer.unref()
  }

  attach(worker: WorkerChannel): void {
    this.workers.add(worker)
    worker.on('message', (m, handle) => {
      if (!isWorkerMessage(m)) return
      if (m.t === 'calls') void this.answer(worker, m)
      else if (m.t === 'reject') this.deps.tracker.reject(m.reason)
      else if (m.t === 'hello') this.pushTo(worker, this.snapshot())
      else if (m.t === 'released') {
        const waiting = this.handedOver.get(worker)
        const pending = waiting?.get(m.id)
        waiting?.delete(m.id)
        pending?.start()
      } else if (handle) {
        const sock = handle as Socket
        let waiting = this.handedOver.get(worker)
        if (!waiting) this.handedOver.set(worker, (waiting = new Map()))
        waiting.set(m.id, { sock, start: () => this.upgrade(m.url, m.headers, m.head, sock) })
        // A peer that leaves meanwhile: nothing is left waiting for it.
        sock.once('close', () => waiting.delete(m.id))
        this.pushTo(worker, { t: 'got', id: m.id })
      }
    })
  }

  detach(worker: WorkerChannel): void {
    this.workers.delete(worker)
    // Its `released` will not come: those peers connect again.
    for (const { sock } of this.handedOver.get(worker)?.values() ?? []) sock.destroy()
    this.handedOver.delete(worker)
  }

  /** Every worker re-reads the settings (one saved them, or the owner did). */
  settingsChanged(): void {
    for (const w of this.workers) this.pushTo(w, { t: 'settings' })
  }

  /** Every worker drops its copies of these videos' pages (null: all of them). */
  pagesChanged(ids: readonly string[] | null): void {
    for (const w of this.workers) this.pushTo(w, { t: 'pages', ids: ids && [...ids] })
  }

  close(): void {
    clearInterval(this.timer)
  }

  private async answer(worker: WorkerChannel, batch: CallBatch): Promise<void> {
    const answers: OwnerAnswer[] = []
    for (const call of batch.calls) {
      try {
        const out = this.run(call)
        answers.push(out instanceof Promise ? await out : out)
      } catch (err) {
        this.deps.log(`[workers] ${call.op} failed: ${(err as Error).message}`)
        answers.push(null)
      }
    }
    this.pushTo(worker, { t: 'answers', id: batch.id, answers })
  }

  // Announces and scrapes are synchronous: a batch of them is answered in one turn of the loop.
  private run(call: OwnerCall): OwnerAnswer | Promise<OwnerAnswer> {
    const { tracker } = this.deps
    switch (call.op) {
      case 'announce':
        return tracker.announce(call.a, call.address, 'http')
      case 'scrape':
        return tracker.scrape(call.infoHashes, call.address, 'http')
      case 'allow': {
        const r = call.row
        tracker.allow(r.infoHash, r.completed, r.size, r.infoHashV2, r.legacyInfoHash)
        return null
      }
      case 'disallow':
        tracker.disallow(call.infoHash)
        return null
      case 'torrentsChanged':
        this.deps.torrentsChanged()
        return null
      case 'pagesChanged':
        this.pagesChanged(call.ids)
        return null
      case 'settingsChanged':
        return this.deps.reloadSettings().then(() => {
          this.settingsChanged()
          return null
        })
    }
  }

  private upgrade(url: string, headers: IncomingMessage['headers'], head: Buffer, socket: Socket): void {
    // What the tracker, ws and bittorrent-tracker read of the request: method, url, headers and the
    // socket's address (the package reads it as the deprecated `req.connection`).
    const req = { method: 'GET', url, headers, socket, connection: socket } as unknown as IncomingMessage
    try {
      this.deps.tracker.handleUpgrade(req, socket, head, this.deps.trustProxy)
    } catch (err) {
      this.deps.log(`[workers] WebSocket hand-over failed: ${(err as Error).message}`)
      socket.destroy()
    }
  }

  private snapshot(): Snapshot {
    const { tracker, seeder } = this.deps
    return {
      t: 'snapshot',
      swarms: tracker.liveSwarms(),
      metricsText: tracker.metricsText(),
      udpListening: this.deps.udpListening(),
      seeder: seeder ? { health: seeder.health(), refusals: seeder.refusalCounts() } : null,
    }
  }

  private push(): void {
    if (this.workers.size === 0) return
    const snap = this.snapshot()
    for (const w of this.workers) this.pushTo(w, snap)
  }

  private pushTo(worker: WorkerChannel, message: unknown): void {
    if (!worker.isConnected()) return
    try {
      worker.send(message)
    } catch {
      // A worker that just died: the cluster forks another, which gets a fresh snapshot.
    }
  }
}
