// What a peer connection receives, bytes in and messages out: the opening (for an incoming
// connection, plain handshake or MSE, decided on the first bytes; for one we dialled with MSE,
// our side of the key exchange), whose replies are handed back to send, then the incremental
// message parser, behind RC4 when the opening selected it. No sockets; errors are WireErrors.
import { isPlainHandshakeStart, type MseInitiator, MseResponder } from '../../src/bittorrent/wire/mse.ts'
import { MessageParser, type ParsedItem } from '../../src/bittorrent/wire/parser.ts'
import type { Rc4 } from '../../src/bittorrent/wire/rc4.ts'

export interface InboundResult {
  /** MSE handshake bytes to send back, in order (already encrypted where they have to be). */
  replies: Buffer[]
  /** Whole messages (the BitTorrent handshake first); views of the input, use before the next feed. */
  items: ParsedItem[]
  /** Set once, when the opening has just selected RC4: everything sent after `replies` goes through it. */
  encrypt?: Rc4
}

export class Inbound {
  private readonly parser = new MessageParser({ handshake: true })
  /** Incoming connections: plain handshake or MSE? Decided on the first bytes. */
  private detecting: Buffer | null
  private mse: MseResponder | MseInitiator | null = null
  private readonly mseLookup: (req2: Buffer) => Buffer | undefined
  /** RC4 selected: what the peer sends after the opening. */
  private decrypt: Rc4 | null = null
  /** The torrent an MSE opening named; the handshake that follows must be for it. */
  mseInfoHash: Buffer | null = null

  /**
   * `incoming`: the peer opened the connection (it may use MSE); a dialled one answers in plain,
   * or, when we dialled with MSE, through `initiator`.
   */
  constructor(incoming: boolean, mseLookup: (req2: Buffer) => Buffer | undefined, initiator?: MseInitiator) {
    this.detecting = incoming ? Buffer.alloc(0) : null
    this.mseLookup = mseLookup
    this.mse = initiator ?? null
  }

  /** Whether the opening (plain or MSE) is still under way. */
  get opening(): boolean {
    return this.detecting !== null || this.mse !== null
  }

  feed(chunk: Buffer): InboundResult {
    // A copy: the chunk may be held elsewhere (the read gate), and a seed's input is small.
    if (this.decrypt) return { replies: [], items: this.parser.feed(this.decrypt.copy(chunk)) }
    const replies: Buffer[] = []
    if (this.detecting) {
      const head: Buffer = this.detecting.length ? Buffer.concat([this.detecting, chunk]) : chunk
      const plain = isPlainHandshakeStart(head)
      if (plain === null) {
        this.detecting = Buffer.from(head)
        return { replies, items: [] }
      }
      this.detecting = null
      if (!plain) this.mse = new MseResponder(this.mseLookup)
      chunk = head
    }
    let encrypt: Rc4 | undefined
    if (this.mse) {
      const { reply, done } = this.mse.feed(chunk)
      replies.push(...reply)
      if (!done) return { replies, items: [] }
      this.mse = null
      this.mseInfoHash = done.infoHash
      this.decrypt = done.cipher?.decrypt ?? null
      encrypt = done.cipher?.encrypt
      chunk = done.payload
    }
    return { replies, items: this.parser.feed(chunk), encrypt }
  }
}
