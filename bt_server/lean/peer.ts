// One peer connection of the lean engine (TCP, or uTP: any net-like Duplex). We are always the
// seed: after the handshakes we say we have everything, unchoke the peer when it is interested
// (slots permitting) and answer its block requests from the piece cache, in order, each run of
// consecutive blocks as one socket write.
// Output is bounded for every message kind, not only blocks: before handling each message we
// look at what is queued for the peer (socket buffer + ut_metadata replies being prepared); over
// its bound (or over a share of the total's) we stop reading, keep the messages not yet handled,
// and go on once it drains. A peer that never reads thus costs one bound, not one reply per
// request; the engine drops it if it stays stuck. Input arriving while we do not read (uTP has
// no back-pressure) is held up to a bound too.
// Under the site's upload cap (the engine's FairThrottle) each block waits for its turn and its
// tokens; without one, the only extra cost per block is a null check.
import type { Duplex } from 'node:stream'
import { normalizeAddress, peerEndpoint } from '../../src/bittorrent/address.ts'
import { WireError } from '../../src/bittorrent/errors.ts'
import {
  buildExtendedHandshake,
  buildMetadataData,
  buildMetadataReject,
  EXTENDED_HANDSHAKE_ID,
  METADATA_REQUEST,
  OUR_UT_METADATA_ID,
  parseExtendedHandshake,
  parseMetadataMessage,
} from '../../src/bittorrent/wire/extended.ts'
import { buildHandshake } from '../../src/bittorrent/wire/handshake.ts'
import { MseInitiator } from '../../src/bittorrent/wire/mse.ts'
import { OUR_UT_PEX_ID } from '../../src/bittorrent/wire/pex.ts'
import type { Rc4 } from '../../src/bittorrent/wire/rc4.ts'
import { type HashRequest, hashRejectMessage } from '../../src/bittorrent/wire/hashes.ts'
import {
  bitfieldIsFull,
  CHOKE,
  extendedMessage,
  fullBitfieldMessage,
  HAVE_ALL,
  KEEP_ALIVE,
  PIECE_HEADER_LENGTH,
  rejectMessage,
  UNCHOKE,
  writePieceHeader,
} from '../../src/bittorrent/wire/messages.ts'
import type { ParsedItem } from '../../src/bittorrent/wire/parser.ts'
import {
  badRequest,
  blockInWindow,
  messageSpan,
  nextWindowInPiece,
  slotOf,
  WINDOW_BLOCKS,
  windowOfSlot,
} from './geometry.ts'
import type { FairThrottle, ThrottleWaiter } from '../../src/fairThrottle.ts'
import { MAX_PENDING_HASH_REQUESTS } from './hashRequests.ts'
import { Inbound } from './inbound.ts'
import { PeerPieces, PieceLedger } from './pieceLedger.ts'
import { ReadGate } from './readGate.ts'
import type { Bound, SeederLimits } from './limits.ts'
import type { CachedWindow, PieceCache } from './pieceCache.ts'
import { RequestQueue } from './requestQueue.ts'
import { answerInfoHash, type LeanTorrent } from './torrents.ts'
import type { ListenAddress, PexMember, PexState } from './swarmPex.ts'

/** Requests a peer may have queued with us (also announced as BEP 10 `reqq`). */
const QUEUE_CAP = 250
/** While the total of all peers' output is over its bound, peers with this much queued wait too. */
const TOTAL_SHARE_FLOOR = 64 * 1024
/** What one ut_metadata reply being prepared counts for (a 16 KiB piece and its header). */
const METADATA_RESERVE = 16 * 1024 + 64
/** What one `hashes` reply being prepared counts for (512 hashes and a proof). */
const HASHES_RESERVE = 17 * 1024
const VERSION = 'Seedcast 0.1.0'
/**
 * Requests the piece ledger holds back are rejected after this long, in one batch: clients ask
 * again at once on a reject, which on a fast link is a loop of thousands of messages a second.
 */
const HOLD_BACK_MS = 250

export type PeerSocket = Duplex & { remoteAddress?: string; remotePort?: number; setNoDelay?: (on: boolean) => unknown }

/** What a peer needs from the engine. */
export interface PeerHost {
  readonly peerId: Buffer
  readonly listenPort: number
  readonly cache: PieceCache<LeanTorrent>
  readonly limits: SeederLimits
  /** The total upload cap, shared by every peer of every torrent (not limited: no cap). */
  readonly uploadThrottle: FairThrottle
  /** Counts a bound that bit (shown in /metrics). */
  refuse(bound: Bound): void
  /** Whether all peers' queued output together is over its bound. */
  sendTotalOver(): boolean
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
  /** The reply to a BEP 52 hash request: `hashes` or `hash reject`. */
  hashes(t: LeanTorrent, req: HashRequest): Promise<Buffer>
  countUpload(t: LeanTorrent, bytes: number): void
  /** A ut_pex message from the peer (BEP 11; never for a private torrent). */
  pexReceived(peer: Peer, t: LeanTorrent, payload: Buffer): void
  log(line: string): void
}

export class Peer implements ThrottleWaiter, PexMember {
  readonly socket: PeerSocket
  readonly host: PeerHost
  /** Set for connections we dialled: the torrent we dialled for. */
  readonly dialledFor: LeanTorrent | null
  /** uTP sockets may hold on to written buffers (retransmission): never pool what they got. */
  readonly poolWrites: boolean
  /**
   * TCP: pausing the socket stops the peer (the kernel window closes). utp-native has no
   * back-pressure: paused, it would buffer all the peer sends, unbounded, so uTP input keeps
   * flowing into the read gate, which holds it up to its bound.
   */
  private readonly pausable: boolean
  readonly address: string
  /** The address as the per-address bounds count it (admission.ts addressKey). */
  readonly key: string
  /** Where it listens: as dialled, or the port its extension handshake names (PEX, not dialling it twice). */
  listen: ListenAddress | null
  /** Its ut_pex id (0: none) and what PEX told it (swarmPex.ts). */
  pexId = 0
  pex: PexState | null = null
  /** Not through its handshake yet (counted by the per-address handshake bound). */
  inHandshake = true
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
  /** Block requests taken while unchoked, and when the last came (for slot and eviction choices). */
  requests = 0
  lastRequest = 0
  unchokedAt = 0
  /** Whether we read from it, and what waits while we do not. */
  readonly gate: ReadGate
  private readonly inbound: Inbound
  private readonly queue = new RequestQueue(QUEUE_CAP)
  /** What it holds, counted in its torrent's ledger (from the handshake on). */
  private pieces: PeerPieces | null = null
  /** Held-back requests waiting for their REJECT (index, begin, length, …), and its timer. */
  private heldBack: number[] = []
  private heldBackTimer: NodeJS.Timeout | null = null
  private remoteMetadataId = 0
  /** Hash requests being answered. */
  private hashRequests = 0
  private waitingOn: CachedWindow | null = null
  private directRead = false
  /** Bytes of ut_metadata replies being prepared: queued output not in the socket yet. */
  private reserved = 0
  /** Payload bytes the upload cap let us send and not sent yet (at most about one block). */
  private credit = 0
  /** RC4 for what we send, when the MSE opening selected it (then every write is an encrypted copy). */
  private encrypt: Rc4 | null = null
  /** Whether the peer has sent anything (a dial it closes unanswered is tried another way: dialWays.ts). */
  answered = false
  private readonly onWindow = () => {
    this.waitingOn = null
    this.pump()
  }

  /** `listen`: for dialled peers, where we dialled (its `address` is the key in the torrent's `dialled` set). */
  constructor(
    socket: PeerSocket,
    host: PeerHost,
    opts: { dialledFor?: LeanTorrent; hash?: Buffer; listen?: ListenAddress; key: string; tcp: boolean; mse?: boolean },
  ) {
    this.socket = socket
    this.host = host
    this.dialledFor = opts.dialledFor ?? null
    this.poolWrites = opts.tcp
    this.pausable = opts.tcp
    const dialled = this.dialledFor
    const handshake = dialled
      ? buildHandshake({
          infoHash: opts.hash ?? dialled.infoHashBuf,
          peerId: host.peerId,
          extended: true,
          fast: true,
          v2: isV2(dialled),
        })
      : null
    // Dialled with MSE: our handshake is the initial payload of the key exchange.
    const initiator = handshake && opts.mse ? new MseInitiator(opts.hash ?? dialled!.infoHashBuf, handshake) : undefined
    this.inbound = new Inbound(!dialled, (req2) => host.mseLookup(req2), initiator)
    this.listen = opts.listen ?? null
    this.address = opts.listen?.address ?? peerEndpoint(socket.remoteAddress ?? '?', socket.remotePort ?? 0)
    this.key = opts.key
    this.gate = new ReadGate(host.limits.peerRecvBufferBytes)
    socket.setNoDelay?.(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => this.onDrain())
    socket.on('error', () => {}) // 'close' follows
    socket.on('close', () => this.destroy())
    socket.on('end', () => this.destroy())
    if (handshake) this.send(initiator ? initiator.first : handshake)
  }

  get ip(): string {
    return normalizeAddress(this.socket.remoteAddress ?? '')
  }
  get reachable(): boolean {
    return this.dialledFor !== null
  }
  get utp(): boolean {
    return !this.poolWrites
  }

  get handshaken(): boolean {
    return this.torrent !== null
  }
  get queued(): number {
    return this.queue.size
  }
  /** Output queued for this peer: the socket's buffer and replies being prepared. */
  get outputBytes(): number {
    return this.socket.writableLength + this.reserved
  }

  destroy(reason?: string): void {
    if (this.destroyed) return
    this.destroyed = true
    if (reason && process.env.SEEDER_DEBUG) this.host.log(`[seeder] peer ${this.address}: ${reason}`)
    this.queue.clear()
    this.gate.clear()
    this.pieces?.leave()
    if (this.heldBackTimer) clearTimeout(this.heldBackTimer)
    this.socket.destroy()
    this.host.detach(this)
  }

  unchoke(): void {
    if (!this.amChoking || this.destroyed) return
    this.amChoking = false
    this.unchokedAt = Date.now()
    this.send(UNCHOKE)
  }

  choke(): void {
    if (this.amChoking || this.destroyed) return
    this.amChoking = true
    this.send(CHOKE)
    // BEP 6: with the fast extension a choke does not drop requests silently.
    for (const r of this.queue.clear()) if (this.fast) this.send(rejectMessage(r.index, r.begin, r.length))
  }

  /** Silent for a while: its pieces stop counting in the torrent's ledger until it speaks again. */
  hush(): void {
    this.pieces?.hush()
  }

  keepAlive(): void {
    this.send(KEEP_ALIVE)
  }

  sendExtended(id: number, payload: Buffer): void {
    if (!this.destroyed) this.send(extendedMessage(id, payload))
  }

  private send(buf: Buffer): void {
    this.lastSend = Date.now()
    this.socket.write(this.encrypt ? this.encrypt.copy(buf) : buf)
  }

  private onData(chunk: Buffer): void {
    if (this.destroyed) return
    this.lastRecv = Date.now()
    this.pieces?.wake()
    this.answered = true
    if (!this.gate.closed) {
      this.consume(chunk)
      return
    }
    if (!this.gate.keep(chunk)) {
      this.host.refuse('seeder_recv_queue_full')
      this.destroy('sent too much while we waited for it to read')
    }
  }

  private consume(chunk: Buffer): void {
    let items: ParsedItem[]
    try {
      const { replies, items: parsed, encrypt } = this.inbound.feed(chunk)
      for (const r of replies) this.send(r)
      if (encrypt) this.encrypt = encrypt
      items = parsed
    } catch (err) {
      this.destroy(err instanceof WireError ? `${err.code}: ${err.message}` : String(err))
      return
    }
    this.handleAll(items)
  }

  /** Handles messages in order while its output is within bounds; the rest wait in the gate. */
  private handleAll(items: ParsedItem[]): void {
    for (let i = 0; i < items.length; i++) {
      if (this.overLimit()) {
        this.stopReading(items.slice(i))
        return
      }
      this.handle(items[i]!)
      if (this.destroyed) return
    }
    if (this.queue.size > 0) this.pump()
  }

  /** Over its own bound, or holding a fair share while the total is over its bound. */
  private overLimit(): boolean {
    const out = this.outputBytes
    return out >= this.host.limits.peerSendBufferBytes || (out >= TOTAL_SHARE_FLOOR && this.host.sendTotalOver())
  }

  /** `backlog`: messages left unhandled (counted; blocks filling the socket are not). */
  private stopReading(backlog: ParsedItem[] | null): void {
    if (!this.gate.closed && this.pausable) this.socket.pause()
    if (this.gate.close(Date.now(), this.outputBytes, backlog)) this.host.refuse('seeder_send_queue_full')
  }

  /** Goes on reading once the output is back within bounds: the backlog, held input, then blocks. */
  resumeIfDrained(): void {
    if (!this.gate.closed || this.destroyed || this.overLimit()) return
    const { backlog, held } = this.gate.open()
    if (this.pausable) this.socket.resume()
    if (backlog) this.handleAll(backlog)
    for (let i = 0; i < held.length; i++) {
      if (this.gate.closed || this.destroyed) {
        this.gate.putBack(held.slice(i))
        return
      }
      this.consume(held[i]!)
    }
    if (!this.gate.closed) this.pump()
  }

  private onDrain(): void {
    this.resumeIfDrained()
  }

  private handle(m: ParsedItem): void {
    if (m.type === 'handshake') {
      this.onHandshake(m.infoHash, m.peerId, m.extended, m.fast, m.v2 === true)
      return
    }
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
        if (this.amChoking) {
          if (this.fast) this.send(rejectMessage(index, begin, length))
          return
        }
        const bad = badRequest(t, index, begin, length)
        if (bad) {
          this.destroy(`bad request: ${bad}`)
          return
        }
        // In a crowd, a piece another peer holds (or is getting from us) is left to the swarm.
        if (this.fast && t.ledger?.crowded && !t.ledger.serve(index, this.pieces!, Date.now())) {
          this.holdBack(index, begin, length)
          return
        }
        this.requests++
        this.lastRequest = Date.now()
        if (!this.queue.push(index, begin, length) && this.fast) this.send(rejectMessage(index, begin, length))
        return
      }
      case 'cancel':
        if (this.queue.cancel(m.index, m.begin, m.length) && this.fast)
          this.send(rejectMessage(m.index, m.begin, m.length))
        return
      case 'have-all':
        this.destroy('a seed') // we are one too: nothing to exchange
        return
      case 'bitfield':
        if (bitfieldIsFull(m.bits, t.pieceCount)) this.destroy('a seed')
        else this.pieces?.bitfield(m.bits, Date.now())
        return
      case 'have':
        this.pieces?.have(m.index, Date.now())
        return
      case 'extended':
        this.onExtended(t, m.id, m.payload)
        return
      case 'hash-request':
        void this.answerHashes(t, m)
        return
      default:
        return // keep-alive, choke/unchoke, piece, port, …: nothing for a seed to do
    }
  }

  private holdBack(index: number, begin: number, length: number): void {
    this.host.refuse('seeder_piece_held_back')
    if (this.heldBack.length >= QUEUE_CAP * 3) {
      this.send(rejectMessage(index, begin, length))
      return
    }
    this.heldBack.push(index, begin, length)
    this.heldBackTimer ??= setTimeout(() => {
      this.heldBackTimer = null
      const h = this.heldBack
      this.heldBack = []
      if (this.destroyed) return
      for (let i = 0; i < h.length; i += 3) this.send(rejectMessage(h[i]!, h[i + 1]!, h[i + 2]!))
    }, HOLD_BACK_MS).unref()
  }

  private onHandshake(infoHash: Buffer, peerId: Buffer, extended: boolean, fast: boolean, v2: boolean): void {
    const t = this.host.findTorrent(infoHash)
    if (!t || (this.dialledFor && t !== this.dialledFor)) {
      this.destroy('unknown torrent')
      return
    }
    const mseInfoHash = this.inbound.mseInfoHash
    if (mseInfoHash && !mseInfoHash.equals(infoHash)) {
      this.destroy('handshake for another torrent than the MSE one')
      return
    }
    if (peerId.equals(this.host.peerId)) {
      this.host.selfConnection(this)
      this.destroy('ourselves')
      return
    }
    if (!this.host.attach(this, t)) {
      this.destroy('no room')
      return
    }
    this.torrent = t
    this.fast = fast
    t.ledger ??= new PieceLedger(t.pieceCount)
    this.pieces = new PeerPieces(t.ledger, Date.now())
    const corked = typeof this.socket.cork === 'function'
    if (corked) this.socket.cork()
    if (!this.dialledFor) {
      const answer = answerInfoHash(t, infoHash, v2)
      this.send(buildHandshake({ infoHash: answer, peerId: this.host.peerId, extended: true, fast: true, v2: isV2(t) }))
    }
    // BEP 6: have_all (or, without the fast extension, a full bitfield) is the first message.
    this.send(fast ? HAVE_ALL : fullBitfieldMessage(t.pieceCount))
    if (extended) {
      this.send(
        extendedMessage(
          EXTENDED_HANDSHAKE_ID,
          buildExtendedHandshake({
            utMetadata: OUR_UT_METADATA_ID,
            ...(t.private ? {} : { utPex: OUR_UT_PEX_ID }),
            metadataSize: t.infoSize,
            version: VERSION,
            reqq: QUEUE_CAP,
            port: this.host.listenPort,
          }),
        ),
      )
    }
    if (corked) this.socket.uncork()
  }

  private onExtended(t: LeanTorrent, id: number, payload: Buffer): void {
    try {
      if (id === EXTENDED_HANDSHAKE_ID) {
        const h = parseExtendedHandshake(payload)
        this.remoteMetadataId = h.m.get('ut_metadata') ?? 0
        this.pexId = t.private ? 0 : (h.m.get('ut_pex') ?? 0)
        const ip = this.ip
        if (!this.dialledFor && h.port !== undefined && ip !== '')
          this.listen = { ip, port: h.port, address: peerEndpoint(ip, h.port) }
      } else if (id === OUR_UT_PEX_ID && !t.private) {
        this.host.pexReceived(this, t, payload)
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
    // Counted as queued output from now on, so a flood of requests stops being read at once.
    this.reserved += METADATA_RESERVE
    let data: Buffer | null = null
    try {
      data = buildMetadataData(piece, await this.host.infoDict(t))
    } catch (err) {
      this.host.log(`[seeder] cannot read the info dict of ${t.infoHash}: ${(err as Error).message}`)
    } finally {
      this.reserved -= METADATA_RESERVE
    }
    if (this.destroyed) return
    this.send(extendedMessage(id, data ?? buildMetadataReject(piece)))
    // It may have been waiting for these replies alone (the socket can be empty already).
    this.resumeIfDrained()
  }

  /** BEP 52: answered in order of completion; more than a few at once are rejected at once. */
  private async answerHashes(t: LeanTorrent, m: HashRequest): Promise<void> {
    const req = { ...m, piecesRoot: Buffer.from(m.piecesRoot) } // a view of the chunk
    if (this.hashRequests >= MAX_PENDING_HASH_REQUESTS) {
      this.send(hashRejectMessage(req))
      return
    }
    this.hashRequests++
    this.reserved += HASHES_RESERVE
    let reply: Buffer
    try {
      reply = await this.host.hashes(t, req)
    } finally {
      this.hashRequests--
      this.reserved -= HASHES_RESERVE
    }
    if (this.destroyed) return
    this.send(reply)
    this.resumeIfDrained()
  }

  /** The upload cap took the bytes we waited for: go on sending. */
  tokensGranted(bytes: number): void {
    this.credit += bytes
    this.pump()
  }

  /**
   * Serves queued requests until the queue is empty, a read is pending, the socket is full or
   * (under an upload cap) the next block waits for its turn.
   */
  pump(): void {
    if (this.destroyed || this.gate.closed || this.waitingOn || this.directRead) return
    const t = this.torrent
    if (!t) return
    const q = this.queue
    const cache = this.host.cache
    const sock = this.socket
    const throttle = this.host.uploadThrottle.limited ? this.host.uploadThrottle : null
    let corked = false
    while (q.size > 0) {
      if (throttle !== null && this.credit < q.length()) {
        if (!throttle.take(this, q.length() - this.credit)) break
        this.credit = q.length()
      }
      const slot = slotOf(t, q.index(), q.begin(), q.length())
      if (slot < 0) {
        this.serveDirect(t, q.index(), q.begin(), q.length())
        break
      }
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
      // The run of consecutive blocks of this window at the head of the queue: one write (one
      // block under a cap, which grants one block at a time).
      const first = blockInWindow(slot)
      let last = first
      q.shift()
      while (
        throttle === null &&
        q.size > 0 &&
        last < WINDOW_BLOCKS - 1 &&
        slotOf(t, q.index(), q.begin(), q.length()) === slot + (last - first) + 1
      ) {
        last++
        q.shift()
      }
      if (!win.served) {
        win.served = true
        // Read ahead: the client is likely to want the rest of this piece next.
        if (nextWindowInPiece(t, w) && !cache.has(t.id, w + 1)) cache.load(t, w + 1)
      }
      const [from, to] = messageSpan(t, w, first, last)
      if (!corked) {
        sock.cork()
        corked = true
      }
      if (this.encrypt) {
        // RC4: the cached window is shared by every peer, so this one gets an encrypted copy.
        sock.write(this.encrypt.copy(win.buf.subarray(from, to)))
      } else {
        if (!this.poolWrites) win.poolable = false
        cache.retain(win)
        sock.write(win.buf.subarray(from, to), () => cache.release(win))
      }
      this.lastSend = Date.now()
      const payload = to - from - (last - first + 1) * PIECE_HEADER_LENGTH
      this.host.countUpload(t, payload)
      if (throttle !== null) this.credit -= payload
      if (this.overLimit()) {
        this.stopReading(null)
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
    this.host.readDirect(t, index * t.pieceLength + begin, msg.subarray(PIECE_HEADER_LENGTH)).then(
      (n) => {
        this.directRead = false
        if (this.destroyed) return
        if (n !== length) {
          this.destroy('short read')
          return
        }
        // Still wanted? (It may have been cancelled, or the peer choked, meanwhile.)
        const q = this.queue
        if (q.size > 0 && q.index() === index && q.begin() === begin && q.length() === length) {
          q.shift()
          this.send(msg)
          this.host.countUpload(t, length)
          this.credit = Math.max(0, this.credit - length)
        }
        this.pump()
      },
      (err: Error) => {
        this.directRead = false
        this.host.log(`[seeder] cannot read ${t.filePath}: ${err.message}`)
        this.destroy('read failed')
      },
    )
  }
}

const isV2 = (t: LeanTorrent): boolean => t.format !== 'v1'
