// The WebSocket tracker (WebTorrent's protocol: browser peers and their WebRTC signalling), served
// by the bittorrent-tracker package. This is the only file that imports the package or touches
// it: the package exposes no hooks for what the site needs, so its internals are reached here and
// nowhere else (each use below says which and why): the upgrade, every message before the package
// sees it (hooks.admit: rate limits, one peer id per socket, scrapes, ...), its sockets' sends (a
// peer that stops reading is closed rather than buffered for), its swarms' creation and counts.
// The rules themselves live in embeddedTracker.ts; this only wires them in.
//
// Scrapes never reach the package: its scrape counts its own (WebSocket) peers only, and reports
// seeders as `downloaded`. hooks.admit answers them from the tracker's counts, which are every
// transport's; wsScrapeReply() writes the reply the package's client reads.
import Server from 'bittorrent-tracker/server'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'

/**
 * The bittorrent-tracker version whose private members this file was written against (and checked
 * by test/unit/tracker-wsTracker-version.test.ts). Bumping the package means re-reading its
 * server.js and lib/server/swarm.js for every member listed in `Internals` below.
 */
export const BITTORRENT_TRACKER_VERSION = '11.2.3'

/** What the tracker knows of one WebSocket connection. */
export interface WsConnection {
  /** The peer's address (normalized) and the key per-address bounds count it by. */
  readonly ip: string
  readonly key: string
  /**
   * The peers it announced, as infoHash + peerId (hex), kept by the caller from admit(). Several
   * clients in one page share one socket (bittorrent-tracker's client pools them per URL), so it
   * may hold a few peer ids; all of them leave their swarms when it closes.
   */
  readonly peers: Set<string>
  /** Per peer (infoHash + peerId), the last `downloaded` it announced, for the caller's tally. */
  readonly downloads: Map<string, { dlHi: number; dlLo: number }>
  lastSeenMs: number
}

export type WsEvent = 'start' | 'update' | 'complete' | 'stop' | 'pause'

/** A bound this file applies itself, by the name /metrics counts it under. */
type WsBound = 'ws_message_too_big' | 'ws_bad_frame' | 'ws_slow_reader' | 'ws_idle'

/** A scrape's counts for one torrent (infohash as hex). */
export interface WsScrapeFile {
  infoHash: string
  complete: number
  incomplete: number
  downloaded: number
}

export interface WsTrackerHooks {
  /** The failure reason to refuse an announce to this torrent with (the hook counts it), or null. */
  filter(conn: WsConnection, infoHash: string, peerId: string): string | null
  /**
   * Called with every message before the package: null lets it through, else the reply to send
   * instead. Every scrape must be answered here (see the top of this file).
   */
  admit(conn: WsConnection, data: Buffer | string, nowMs: number): string | null
  /**
   * An announce the package has handled; `downloaded` as the peer said it (a finite number), or
   * null when it said none (WebRTC answers relayed through the tracker carry no counts).
   */
  announced(conn: WsConnection, event: WsEvent, infoHash: string, peerId: string, downloaded: number | null): void
  /** The connection closed; its peers have left their swarms (conn.peers is still as it was). */
  closed(conn: WsConnection): void
  /** A bound bit (counted by the caller). */
  refused(bound: WsBound): void
}

export interface WsTrackerOptions {
  intervalMs: number
  /** Largest message accepted; a bigger one closes the connection with 1009 before it is buffered. */
  maxMessageBytes: number
  /** Unsent bytes a connection may have queued; past it the connection is closed. */
  maxBufferedBytes: number
  hooks: WsTrackerHooks
}

// The parts of a `ws` WebSocket used here.
interface Socket {
  readonly bufferedAmount: number
  readonly destroyed?: boolean
  readonly readyState: number
  send(data: string, cb?: (err?: Error) => void): void
  terminate(): void
  on(event: 'error', listener: (err: Error & { code?: string }) => void): void
  on(event: 'close', listener: () => void): void
}
// The package's members used here, as in bittorrent-tracker 11.2.3 (BITTORRENT_TRACKER_VERSION).
// Public (its README): `torrents` (swarms by hex infohash, with `complete`, `incomplete` and the
// `peers` LRU cache) and `ws` (the `ws` package's WebSocketServer). Private, each for one reason:
// `Server.Swarm` and `createSwarm` (one swarm per torrent under a burst, see the constructor),
// `_onWebSocketRequest` (the rules run before the package reads a message), and a swarm's
// `announce` (a closing connection's every peer leaves, not only its first: leave()).
interface PackageSwarm {
  complete: number
  incomplete: number
  peers: { peek(peerId: string): { socket: Socket | null } | undefined }
  announce(params: { type: 'ws'; event: 'stopped'; numwant: 0; peer_id: string }): void
}
interface Internals {
  torrents: Record<string, PackageSwarm | undefined>
  createSwarm(infoHash: string, cb: (err: Error | null, swarm: PackageSwarm) => void): void
  ws: {
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (client: Socket) => void): void
    emit(event: 'connection', client: Socket, req: IncomingMessage): boolean
  }
  _onWebSocketRequest(socket: Socket, opts: object, data: Buffer | string): void
}

const OPEN = 1
// How long a peer refused for a bad frame has to read our close frame before its socket goes.
const CLOSE_GRACE_MS = 1000
const EVENTS: WsEvent[] = ['start', 'update', 'complete', 'stop', 'pause']

class Connection implements WsConnection {
  readonly peers = new Set<string>()
  readonly downloads = new Map<string, { dlHi: number; dlLo: number }>()
  lastSeenMs: number
  readonly ip: string
  readonly key: string
  /** Tells the caller its slot was given to a newcomer (so its close must not give it back). */
  readonly evicted: () => void

  constructor(ip: string, key: string, nowMs: number, evicted: () => void) {
    this.ip = ip
    this.key = key
    this.lastSeenMs = nowMs
    this.evicted = evicted
  }
}

export class WsTracker {
  private readonly server: Server
  private readonly internals: Internals
  private readonly hooks: WsTrackerHooks
  private readonly maxBufferedBytes: number
  private readonly live = new Map<Socket, Connection>()

  constructor(opts: WsTrackerOptions) {
    const { hooks } = opts
    this.hooks = hooks
    this.maxBufferedBytes = opts.maxBufferedBytes
    this.server = new Server({
      interval: opts.intervalMs,
      http: false,
      udp: false,
      // No compression: a small compressed message could inflate past any bound (a zip bomb).
      ws: { noServer: true, maxPayload: opts.maxMessageBytes, perMessageDeflate: false },
      stats: false,
      filter: (infoHash, params, cb) => {
        const conn = this.live.get((params as { socket?: Socket }).socket!)
        const reason = conn ? hooks.filter(conn, infoHash, params.peer_id) : 'connection closed'
        cb(reason === null ? null : new Error(reason))
      },
    })
    this.internals = this.server as unknown as Internals
    this.server.on('warning', () => {})
    this.server.on('error', (err: Error) => console.error('[tracker] websocket:', err.message))
    for (const event of EVENTS) {
      this.server.on(
        event,
        (_addr: string, params: { info_hash: string; peer_id: string; socket?: Socket; downloaded?: unknown }) => {
          const conn = params.socket && this.live.get(params.socket)
          // The package passes the peer's JSON value through unread: anything but a number is none.
          const downloaded =
            typeof params.downloaded === 'number' && Number.isFinite(params.downloaded) ? params.downloaded : null
          if (conn) hooks.announced(conn, event, params.info_hash, params.peer_id, downloaded)
        },
      )
    }
    // The package creates a swarm a tick after finding none, so a burst of first announces made
    // one swarm each, every one replacing the last (the peers in the others were lost, and
    // uncounted): keep the first.
    const PackageSwarm = (Server as unknown as { Swarm: new (infoHash: string, server: Server) => PackageSwarm }).Swarm
    this.internals.createSwarm = (infoHash, cb) =>
      process.nextTick(() => cb(null, (this.internals.torrents[infoHash] ??= new PackageSwarm(infoHash, this.server))))
    // Every message passes the tracker's rules first; refused ones (and scrapes) get their reply here.
    const packageRequest = this.internals._onWebSocketRequest.bind(this.server)
    this.internals._onWebSocketRequest = (socket, reqOpts, data) => {
      const conn = this.live.get(socket)
      if (!conn) return
      const now = Date.now()
      conn.lastSeenMs = now
      const reply = hooks.admit(conn, data, now)
      if (reply === null) packageRequest(socket, reqOpts, data)
      else socket.send(reply)
    }
  }

  /** Completes the WebSocket handshake for a connection the caller has admitted. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ip: string, key: string, evicted: () => void): void {
    this.internals.ws.handleUpgrade(req, socket, head, (client) => {
      const conn = new Connection(ip, key, Date.now(), evicted)
      this.live.set(client, conn)
      // A peer that stops reading would have every reply and relayed offer queued in memory.
      const send = client.send.bind(client)
      client.send = (data, cb) => {
        if (client.readyState !== OPEN) return
        if (client.bufferedAmount > this.maxBufferedBytes) {
          this.hooks.refused('ws_slow_reader')
          client.terminate()
          return
        }
        send(data, cb)
      }
      client.on('error', (err) => {
        this.hooks.refused(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'ws_message_too_big' : 'ws_bad_frame')
        // ws has queued the close frame (1009 for too big) and its FIN, but keeps reading, and
        // discarding, whatever the peer still sends until the peer closes or 30 s pass: a 95 MB
        // announce would still be read in full (and garbage-collected). Stop reading (after ws's
        // own resume, on the next tick) and drop the socket once the close frame has had time to
        // arrive.
        process.nextTick(() => socket.pause())
        setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref()
      })
      // Before the package's own close handler, which only stops the socket's first peer id.
      client.on('close', () => {
        this.live.delete(client)
        this.leave(client, conn)
        this.hooks.closed(conn)
      })
      this.internals.ws.emit('connection', client, req)
    })
  }

  // Takes every peer the connection announced out of its swarm, as the package does for one.
  private leave(socket: Socket, conn: Connection): void {
    for (const peer of conn.peers) {
      const infoHash = peer.slice(0, 40)
      const peerId = peer.slice(40)
      const swarm = this.internals.torrents[infoHash]
      if (swarm?.peers.peek(peerId)?.socket === socket)
        swarm.announce({ type: 'ws', event: 'stopped', numwant: 0, peer_id: peerId })
    }
  }

  /** The WebSocket peers of one torrent: the tracker adds them to its HTTP/UDP peers. */
  counts(infoHash: string): { complete: number; incomplete: number } {
    const swarm = this.internals.torrents[infoHash]
    return { complete: swarm?.complete ?? 0, incomplete: swarm?.incomplete ?? 0 }
  }

  /** Drops a torrent's swarm (its video is gone); its peers' next announces are refused by the filter. */
  forget(infoHash: string): void {
    delete this.internals.torrents[infoHash]
  }

  stats(): { swarms: number; peers: number; connections: number } {
    let swarms = 0
    let peers = 0
    for (const swarm of Object.values(this.internals.torrents)) {
      if (!swarm) continue
      swarms++
      peers += swarm.complete + swarm.incomplete
    }
    return { swarms, peers, connections: this.live.size }
  }

  /**
   * Closes the connection of address `key` heard from least recently, whose slot the caller has
   * already given to a newcomer; false if it has none open.
   */
  closeQuietest(key: string): boolean {
    let quietest: [Socket, Connection] | undefined
    for (const entry of this.live)
      if (entry[1].key === key && (!quietest || entry[1].lastSeenMs < quietest[1].lastSeenMs)) quietest = entry
    if (!quietest) return false
    // Out of the live set now: its close event comes later, and it must not be picked again.
    this.live.delete(quietest[0])
    quietest[1].evicted()
    quietest[0].terminate()
    return true
  }

  /** Closes connections silent since before `cutoffMs` (dead peers whose TCP never said so). */
  closeIdle(cutoffMs: number): number {
    let closed = 0
    for (const [socket, conn] of this.live) {
      if (conn.lastSeenMs >= cutoffMs) continue
      this.hooks.refused('ws_idle')
      this.live.delete(socket)
      socket.terminate()
      closed++
    }
    return closed
  }

  close(): Promise<void> {
    for (const socket of this.live.keys()) socket.terminate()
    this.live.clear()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

/**
 * A scrape reply as the package's client reads it (the package's own format): `files` keyed by
 * the binary infohash; `flags.min_request_interval` is the announce interval, as the package sends.
 */
export function wsScrapeReply(files: WsScrapeFile[], intervalSeconds: number): string {
  const out: Record<string, { complete: number; incomplete: number; downloaded: number }> = {}
  for (const f of files)
    out[Buffer.from(f.infoHash, 'hex').toString('latin1')] = {
      complete: f.complete,
      incomplete: f.incomplete,
      downloaded: f.downloaded,
    }
  return JSON.stringify({ action: 'scrape', files: out, flags: { min_request_interval: intervalSeconds } })
}
