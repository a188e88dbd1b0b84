// One peer connection of the lean engine (TCP, or uTP: any net-like Duplex). We are always the
// seed: after the handshakes we say we have everything, unchoke the peer when it is interested
// (slots permitting) and answer its block requests from the piece cache, in order, each run of
// consecutive blocks as one socket write. The socket's buffer is bounded: past MAX_BUFFERED
// we stop writing and stop reading (so its requests wait in the kernel) until it drains.
import type { Duplex } from 'node:stream'
import { WireError } from '../wire/errors.ts'
import { buildExtendedHandshake, buildMetadataData, buildMetadataReject, EXTENDED_HANDSHAKE_ID, METADATA_REQUEST, OUR_UT_METADATA_ID, parseExtendedHandshake, parseMetadataMessage } from '../wire/extended.ts'
import { buildHandshake } from '../wire/handshake.ts'
import { isPlainHandshakeStart, MseResponder } from '../wire/mse.ts'
import { bitfieldIsFull, CHOKE, extendedMessage, fullBitfieldMessage, HAVE_ALL, KEEP_ALIVE, PIECE_HEADER_LENGTH, rejectMessage, UNCHOKE, writePieceHeader } from '../wire/messages.ts'
import { MessageParser, type ParsedItem } from '../wire/parser.ts'
import { badRequest, blockInWindow, messageSpan, nextWindowInPiece, slotOf, WINDOW_BLOCKS, windowOfSlot } from './geometry.ts'
import type { CachedWindow, PieceCache } from './pieceCache.ts'
import { RequestQueue } from './requestQueue.ts'
import type { LeanTorrent } from './torrents.ts'

/** Requests a peer may have queued with us (also announced as BEP 10 `reqq`). */
export const QUEUE_CAP = 250
/** Bytes we let pile up in a socket's write buffer before waiting for it to drain. */
const MAX_BUFFERED = 1024 * 1024
const VERSION = 'Seedcast 0.1.0'

export type PeerSocket = Duplex & { remoteAddress?: string; remotePort?: number; setNoDelay?: (on: boolean) => unknown }

/** What a peer needs from the engine. */
export interface PeerHost {
  readonly peerId: Buffer
  readonly listenPort: number
  readonly cache: PieceCache<LeanTorrent>
  /** The torrent for a handshake's infohash, if we seed it. */
  findTorrent(infoHash: Buffer): LeanTorrent | undefined
  /** Registers the peer with its torrent; false if it may not stay (limits, duplicate). */
  attach(peer: Peer, t: LeanTorrent): boolean
  detach(peer: Peer): void
  wantUnchoke(peer: Peer): void
  releaseSlot(peer: Peer): void
  /** MSE: the infohash of the torrent whose HASH('req2', infohash) is `req2`, if we seed it. */
  mseLookup(req2: Buffer): Buffer | undefined
  /** The peer's handshake carried our own peer id: we dialled ourselves. */
  selfConnection(peer: Peer): void
  readDirect(t: LeanTorrent, position: number, target: Buffer): Promise<number>
  infoDict(t: LeanTorrent): Promise<Buffer>
  countUpload(t: LeanTorrent, bytes: number): void
  log(line: string): void
}

export class Peer {
  readonly socket: PeerSocket
  readonly host: PeerHost
  /** Set for connections we dialled: the torrent we dialled for. */
  readonly dialledFor: LeanTorrent | null
  /** uTP sockets may hold on to written buffers (retransmission): never pool what they got. */
  readonly poolWrites: boolean
  readonly address: string
  torrent: LeanTorrent | null = null
  fast = false
  amChoking = true
  interested = false
  destroyed = false
  connectedAt = Date.now()
  lastRecv = Date.now()
  lastSend = Date.now()
  /** Since when the peer has not been interested (for the idle clean-up). */
  uninterestedSince = Date.now()
  private readonly parser = new MessageParser({ handshake: true })
  private readonly queue = new RequestQueue(QUEUE_CAP)
  private remoteMetadataId = 0
  private waitingOn: CachedWindow | null = null
  private directRead = false
  private blocked = false
  private readonly onWindow = () => { this.waitingOn = null; this.pump() }
  /** Incoming connections: plain handshake or MSE? Decided on the first bytes. */
  private detecting: Buffer | null
  private mse: MseResponder | null = null
  private mseInfoHash: Buffer | null = null

  /** `address`: for dialled peers, "ip:port" as dialled (the key in the torrent's `dialled` set). */
  constructor(socket: PeerSocket, host: PeerHost, opts: { dialledFor?: LeanTorrent; address?: string; poolWrites: boolean }) {
    this.socket = socket
    this.host = host
    this.dialledFor = opts.dialledFor ?? null
    this.poolWrites = opts.poolWrites
    this.detecting = opts.dialledFor ? null : Buffer.alloc(0)
    this.address = opts.address ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`
    socket.setNoDelay?.(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => this.onDrain())
    socket.on('error', () => {}) // 'close' follows
    socket.on('close', () => this.destroy())
    socket.on('end', () => this.destroy())
    if (this.dialledFor) {
      this.send(buildHandshake({ infoHash: this.dialledFor.infoHashBuf, peerId: host.peerId, extended: true, fast: true }))
    }
  }

  get handshaken(): boolean { return this.torrent !== null }
  get queued(): number { return this.queue.size }

  destroy(reason?: string): void {
    if (this.destroyed) return
    this.destroyed = true
    if (reason && process.env.SEEDER_DEBUG) this.host.log(`[seeder] peer ${this.address}: ${reason}`)
    this.queue.clear()
    this.socket.destroy()
    this.host.detach(this)
  }

  unchoke(): void {
    if (!this.amChoking || this.destroyed) return
    this.amChoking = false
    this.send(UNCHOKE)
  }

  choke(): void {
    if (this.amChoking || this.destroyed) return
    this.amChoking = true
    this.send(CHOKE)
    // BEP 6: with the fast extension a choke does not drop requests silently.
    for (const r of this.queue.clear()) if (this.fast) this.send(rejectMessage(r.index, r.begin, r.length))
  }

  keepAlive(): void {
    this.send(KEEP_ALIVE)
  }

  private send(buf: Buffer): void {
    this.lastSend = Date.now()
    this.socket.write(buf)
  }

  private onData(chunk: Buffer): void {
    if (this.destroyed) return
    this.lastRecv = Date.now()
    let items: ParsedItem[]
    try {
      if (this.detecting) {
        const head: Buffer = this.detecting.length ? Buffer.concat([this.detecting, chunk]) : chunk
        const plain = isPlainHandshakeStart(head)
        if (plain === null) { this.detecting = Buffer.from(head); return }
        this.detecting = null
        if (!plain) this.mse = new MseResponder((req2) => this.host.mseLookup(req2))
        chunk = head
      }
      if (this.mse) {
        const { reply, done } = this.mse.feed(chunk)
        for (const r of reply) this.send(r)
        if (!done) return
        this.mse = null
        this.mseInfoHash = done.infoHash
        chunk = done.payload
      }
      items = this.parser.feed(chunk)
    } catch (err) {
      this.destroy(err instanceof WireError ? `${err.code}: ${err.message}` : String(err))
      return
    }
    for (const item of items) {
      this.handle(item)
      if (this.destroyed) return
    }
    if (this.queue.size > 0) this.pump()
  }

  private onDrain(): void {
    if (!this.blocked || this.destroyed) return
    this.blocked = false
    this.socket.resume()
    this.pump()
  }

  private handle(m: ParsedItem): void {
    if (m.type === 'handshake') { this.onHandshake(m.infoHash, m.peerId, m.extended, m.fast); return }
    const t = this.torrent
    if (!t) return
    switch (m.type) {
      case 'interested':
        if (this.interested) return
        this.interested = true
        this.host.wantUnchoke(this)
        return
      case 'not-interested':
        // Requests already queued are still served (some clients say this once everything they
        // need is requested); the housekeeping chokes it and frees its slot a little later.
        if (!this.interested) return
        this.interested = false
        this.uninterestedSince = Date.now()
        return
      case 'request': {
        const { index, begin, length } = m
        if (this.amChoking) { if (this.fast) this.send(rejectMessage(index, begin, length)); return }
        const bad = badRequest(t, index, begin, length)
        if (bad) { this.destroy(`bad request: ${bad}`); return }
        if (!this.queue.push(index, begin, length) && this.fast) this.send(rejectMessage(index, begin, length))
        return
      }
      case 'cancel':
        if (this.queue.cancel(m.index, m.begin, m.length) && this.fast) this.send(rejectMessage(m.index, m.begin, m.length))
        return
      case 'have-all':
        this.destroy('a seed') // we are one too: nothing to exchange
        return
      case 'bitfield':
        if (bitfieldIsFull(m.bits, t.pieceCount)) this.destroy('a seed')
        return
      case 'extended':
        this.onExtended(t, m.id, m.payload)
        return
      default:
        return // keep-alive, have, choke/unchoke, piece, port, …: nothing for a seed to do
    }
  }

  private onHandshake(infoHash: Buffer, peerId: Buffer, extended: boolean, fast: boolean): void {
    const t = this.host.findTorrent(infoHash)
    if (!t || (this.dialledFor && t !== this.dialledFor)) { this.destroy('unknown torrent'); return }
    if (this.mseInfoHash && !this.mseInfoHash.equals(infoHash)) { this.destroy('handshake for another torrent than the MSE one'); return }
    if (peerId.equals(this.host.peerId)) { this.host.selfConnection(this); this.destroy('ourselves'); return }
    if (!this.host.attach(this, t)) { this.destroy('no room'); return }
    this.torrent = t
    this.fast = fast
    const corked = typeof this.socket.cork === 'function'
    if (corked) this.socket.cork()
    if (!this.dialledFor) this.send(buildHandshake({ infoHash: t.infoHashBuf, peerId: this.host.peerId, extended: true, fast: true }))
    // BEP 6: have_all (or, without the fast extension, a full bitfield) is the first message.
    this.send(fast ? HAVE_ALL : fullBitfieldMessage(t.pieceCount))
    if (extended) {
      this.send(extendedMessage(EXTENDED_HANDSHAKE_ID, buildExtendedHandshake({
        utMetadata: OUR_UT_METADATA_ID, metadataSize: t.infoSize, version: VERSION, reqq: QUEUE_CAP, port: this.host.listenPort,
      })))
    }
    if (corked) this.socket.uncork()
  }

  private onExtended(t: LeanTorrent, id: number, payload: Buffer): void {
    try {
      if (id === EXTENDED_HANDSHAKE_ID) {
        this.remoteMetadataId = parseExtendedHandshake(payload).m.get('ut_metadata') ?? 0
      } else if (id === OUR_UT_METADATA_ID) {
        const msg = parseMetadataMessage(payload)
        if (msg.msgType === METADATA_REQUEST) void this.sendMetadata(t, msg.piece)
      }
    } catch (err) {
      this.destroy(err instanceof WireError ? `${err.code}: ${err.message}` : String(err))
    }
  }

  private async sendMetadata(t: LeanTorrent, piece: number): Promise<void> {
    const id = this.remoteMetadataId
    if (id === 0) return // it never told us where to send ut_metadata messages
    let data: Buffer | null = null
    try {
      data = buildMetadataData(piece, await this.host.infoDict(t))
    } catch (err) {
      this.host.log(`[seeder] cannot read the info dict of ${t.infoHash}: ${(err as Error).message}`)
    }
    if (this.destroyed) return
    this.send(extendedMessage(id, data ?? buildMetadataReject(piece)))
  }

  /** Serves queued requests until the queue is empty, a read is pending or the socket is full. */
  pump(): void {
    if (this.destroyed || this.blocked || this.waitingOn || this.directRead) return
    const t = this.torrent
    if (!t) return
    const q = this.queue
    const cache = this.host.cache
    const sock = this.socket
    let corked = false
    while (q.size > 0) {
      const slot = slotOf(t, q.index(), q.begin(), q.length())
      if (slot < 0) { this.serveDirect(t, q.index(), q.begin(), q.length()); break }
      const w = windowOfSlot(slot)
      const win = cache.get(t.id, w) ?? cache.load(t, w)
      if (win.state === 'loading') {
        this.waitingOn = win
        win.waiters.push(this.onWindow)
        break
      }
      if (win.state === 'failed') {
        this.host.log(`[seeder] cannot read ${t.filePath}: ${win.error?.message}`)
        this.destroy('read failed')
        return
      }
      // The run of consecutive blocks of this window at the head of the queue: one write.
      const first = blockInWindow(slot)
      let last = first
      q.shift()
      while (q.size > 0 && last < WINDOW_BLOCKS - 1 && slotOf(t, q.index(), q.begin(), q.length()) === slot + (last - first) + 1) {
        last++
        q.shift()
      }
      if (!win.served) {
        win.served = true
        // Read ahead: the client is likely to want the rest of this piece next.
        if (nextWindowInPiece(t, w) && !cache.has(t.id, w + 1)) cache.load(t, w + 1)
      }
      const [from, to] = messageSpan(t, w, first, last)
      if (!corked) { sock.cork(); corked = true }
      if (!this.poolWrites) win.poolable = false
      cache.retain(win)
      sock.write(win.buf.subarray(from, to), () => cache.release(win))
      this.lastSend = Date.now()
      this.host.countUpload(t, to - from - (last - first + 1) * PIECE_HEADER_LENGTH)
      if (sock.writableLength >= MAX_BUFFERED) {
        this.blocked = true
        sock.pause()
        break
      }
    }
    if (corked) sock.uncork()
  }

  /** A request that is not a whole standard block: read on its own into its own message. */
  private serveDirect(t: LeanTorrent, index: number, begin: number, length: number): void {
    this.directRead = true
    const msg = Buffer.allocUnsafe(PIECE_HEADER_LENGTH + length)
    writePieceHeader(msg, 0, index, begin, length)
    this.host.readDirect(t, index * t.pieceLength + begin, msg.subarray(PIECE_HEADER_LENGTH)).then((n) => {
      this.directRead = false
      if (this.destroyed) return
      if (n !== length) { this.destroy('short read'); return }
      // Still wanted? (It may have been cancelled, or the peer choked, meanwhile.)
      const q = this.queue
      if (q.size > 0 && q.index() === index && q.begin() === begin && q.length() === length) {
        q.shift()
        this.send(msg)
        this.host.countUpload(t, length)
      }
      this.pump()
    }, (err: Error) => {
      this.directRead = false
      this.host.log(`[seeder] cannot read ${t.filePath}: ${err.message}`)
      this.destroy('read failed')
    })
  }
}
