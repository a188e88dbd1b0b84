// What a peer connection receives, bytes in and messages out: for an incoming connection, first
// whether it opens with a plain handshake or with MSE (then the key exchange, whose replies are
// handed back to send), then the incremental message parser. No sockets; errors are WireErrors.
import { isPlainHandshakeStart, MseResponder } from '../../src/bittorrent/wire/mse.ts'
import { MessageParser, type ParsedItem } from '../../src/bittorrent/wire/parser.ts'

export interface InboundResult {
  /** MSE handshake bytes to send back, in order. */
  replies: Buffer[]
  /** Whole messages (the BitTorrent handshake first); views of the input, use before the next feed. */
  items: ParsedItem[]
}

export class Inbound {
  private readonly parser = new MessageParser({ handshake: true })
  /** Incoming connections: plain handshake or MSE? Decided on the first bytes. */
  private detecting: Buffer | null
  private mse: MseResponder | null = null
  private readonly mseLookup: (req2: Buffer) => Buffer | undefined
  /** The torrent an MSE opening named; the handshake that follows must be for it. */
  mseInfoHash: Buffer | null = null

  /** `incoming`: the peer opened the connection (it may use MSE); a dialled one answers in plain. */
  constructor(incoming: boolean, mseLookup: (req2: Buffer) => Buffer | undefined) {
    this.detecting = incoming ? Buffer.alloc(0) : null
    this.mseLookup = mseLookup
  }

  /** Whether the opening (plain or MSE) is still under way. */
  get opening(): boolean {
    return this.detecting !== null || this.mse !== null
  }

  feed(chunk: Buffer): InboundResult {
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
    if (this.mse) {
      const { reply, done } = this.mse.feed(chunk)
      replies.push(...reply)
      if (!done) return { replies, items: [] }
      this.mse = null
      this.mseInfoHash = done.infoHash
      chunk = done.payload
    }
    return { replies, items: this.parser.feed(chunk) }
  }
}
