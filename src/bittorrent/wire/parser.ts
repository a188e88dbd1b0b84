// Incremental peer wire parser: feed it the socket's chunks, get whole messages back. Bounded:
// a message longer than `maxLength` is refused (WireError) before any of it is buffered, so a
// peer cannot make us hold more than one maximal message. Optionally starts with the handshake.
import { WireError } from '../errors.ts'
import { checkHandshakeStart, HANDSHAKE_LENGTH, parseHandshake, type Handshake } from './handshake.ts'
import { decodeMessage, type WireMessage } from './messages.ts'

/** Big enough for a bitfield of a million pieces or a 16 KiB block; nothing we serve needs more. */
export const MAX_MESSAGE_LENGTH = 128 * 1024 + 16

export type ParsedItem = WireMessage | ({ type: 'handshake' } & Handshake)

export class MessageParser {
  private readonly maxLength: number
  private wantHandshake: boolean
  /** Bytes of an incomplete handshake, length prefix or message, carried to the next chunk. */
  private partial: Buffer | null = null
  private partialFilled = 0
  /** What `partial` holds: the handshake, a 4-byte length prefix, or a message body. */
  private partialKind: 'handshake' | 'length' | 'body' = 'length'

  constructor(opts: { handshake?: boolean; maxLength?: number } = {}) {
    this.wantHandshake = opts.handshake ?? false
    this.maxLength = opts.maxLength ?? MAX_MESSAGE_LENGTH
  }

  /**
   * Parses what `chunk` completes. Buffers inside the results may be views of `chunk` (or of an
   * internal buffer): use them before the next feed, or copy them.
   */
  feed(chunk: Buffer): ParsedItem[] {
    const out: ParsedItem[] = []
    let off = 0
    while (off < chunk.length) {
      if (this.partial) {
        off = this.fill(chunk, off, out)
        continue
      }
      const left = chunk.length - off
      if (this.wantHandshake) {
        checkHandshakeStart(chunk.subarray(off, off + Math.min(left, 20)))
        if (left < HANDSHAKE_LENGTH) {
          this.keep(chunk, off, HANDSHAKE_LENGTH, 'handshake')
          break
        }
        out.push({ type: 'handshake', ...parseHandshake(chunk.subarray(off, off + HANDSHAKE_LENGTH)) })
        this.wantHandshake = false
        off += HANDSHAKE_LENGTH
        continue
      }
      if (left < 4) {
        this.keep(chunk, off, 4, 'length')
        break
      }
      const length = this.checkLength(chunk.readUInt32BE(off))
      if (length === 0) {
        out.push({ type: 'keep-alive' })
        off += 4
        continue
      }
      if (left < 4 + length) {
        off += 4
        this.keep(chunk, off, length, 'body')
        break
      }
      out.push(decodeMessage(chunk[off + 4]!, chunk.subarray(off + 5, off + 4 + length)))
      off += 4 + length
    }
    return out
  }

  private checkLength(length: number): number {
    if (length > this.maxLength)
      throw new WireError('message_too_long', `message of ${length} bytes (at most ${this.maxLength})`)
    return length
  }

  /** Starts a partial item of `size` bytes with what is left of `chunk` from `off`. */
  private keep(chunk: Buffer, off: number, size: number, kind: 'handshake' | 'length' | 'body'): void {
    this.partial = Buffer.allocUnsafe(size)
    this.partialFilled = chunk.copy(this.partial, 0, off)
    this.partialKind = kind
  }

  /** Adds bytes from `chunk` to the partial item; emits it once complete. Returns the new offset. */
  private fill(chunk: Buffer, off: number, out: ParsedItem[]): number {
    const partial = this.partial!
    const n = chunk.copy(partial, this.partialFilled, off, off + (partial.length - this.partialFilled))
    this.partialFilled += n
    off += n
    if (this.partialKind === 'handshake') checkHandshakeStart(partial.subarray(0, Math.min(this.partialFilled, 20)))
    if (this.partialFilled < partial.length) return off
    this.partial = null
    if (this.partialKind === 'handshake') {
      out.push({ type: 'handshake', ...parseHandshake(partial) })
      this.wantHandshake = false
    } else if (this.partialKind === 'length') {
      const length = this.checkLength(partial.readUInt32BE(0))
      if (length === 0) out.push({ type: 'keep-alive' })
      else {
        this.partial = Buffer.allocUnsafe(length)
        this.partialFilled = 0
        this.partialKind = 'body'
      }
    } else {
      out.push(decodeMessage(partial[0]!, partial.subarray(1)))
    }
    return off
  }
}
