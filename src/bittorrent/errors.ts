// The protocol core's errors: one family, each with a stable machine-readable `code` so callers
// branch without parsing messages. Which class says which layer refused the input.
export class BitTorrentError extends Error {
  /**
   * false for the refusals of what strangers send (bencode, peer wire, tracker requests): a flood
   * of malformed announces makes thousands a second, the stack says nothing `code` does not, and
   * capturing it was a fifth of the tracker's CPU on them (tracker-fuzz profile, 2026-12-04).
   */
  static readonly withStack: boolean = true
  readonly code: string

  constructor(code: string, message: string) {
    const limit = Error.stackTraceLimit
    if (!(new.target as typeof BitTorrentError).withStack) Error.stackTraceLimit = 0
    super(message)
    Error.stackTraceLimit = limit
    this.name = new.target.name
    this.code = code
  }
}

/** Malformed or non-canonical bencode (code bad_bencode); callers rewrap it in their own layer's error. */
export class BencodeError extends BitTorrentError {
  static override readonly withStack = false
  constructor(message: string) {
    super('bad_bencode', message)
  }
}

/** Metainfo, magnet and hashing: bad_size, bad_spec, bad_torrent, bad_magnet, hash_failed. */
export class TorrentError extends BitTorrentError {}

/**
 * Anything a peer sends that breaks the peer wire protocol. The connection is then closed; `code`
 * says why (for logs and tests), never shown to the peer.
 */
export class WireError extends BitTorrentError {
  static override readonly withStack = false
}

/**
 * A request a tracker refuses (invalid_info_hash, invalid_port, ...); `message` is safe to send
 * back as the failure reason. `transactionId` is set only by the UDP parser, and only when the
 * packet was a well-formed tracker request header: then the server may answer with an error
 * packet; otherwise it drops it.
 */
export class TrackerProtocolError extends BitTorrentError {
  static override readonly withStack = false
  transactionId?: number

  constructor(code: string, message: string, transactionId?: number) {
    super(code, message)
    if (transactionId !== undefined) this.transactionId = transactionId
  }
}

/** A tracker's reply the seeder's client cannot read (code bad_reply). */
export class TrackerReplyError extends BitTorrentError {
  constructor(message: string) {
    super('bad_reply', message)
  }
}
