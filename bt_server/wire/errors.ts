// Anything a peer sends that breaks the peer wire protocol. The connection is then closed; `code`
// says why (for logs and tests), never shown to the peer.
export class WireError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'WireError'
    this.code = code
  }
}
