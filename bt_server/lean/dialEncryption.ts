// Which peers we dial with MSE. Plain first: every client takes a plain handshake unless told to
// require encryption, and a plain stream stays zero-copy. One that requires it (libtorrent with
// out/in_enc_policy forced, what qBittorrent's "Require encryption" sets; transmission with
// "encryption": 2) closes a plain handshake without a byte in reply: that address is dialled
// again at once with MSE (offering plaintext and RC4; such peers select RC4) and remembered, so
// later dials open with MSE. An MSE dial closed unanswered is forgotten: plain again next time.

/** Addresses remembered (oldest forgotten first): a bound on what strangers' announces can make us hold. */
const REMEMBERED = 4096

export class DialEncryption {
  private readonly mse = new Set<string>()

  /** Whether to open a dial to `address` ("ip:port") with MSE. */
  useMse(address: string): boolean {
    return this.mse.has(address)
  }

  /** A dial to `address` was closed before the peer sent anything. True: dial it again now, with MSE. */
  unanswered(address: string, wasMse: boolean): boolean {
    if (wasMse) {
      this.mse.delete(address)
      return false
    }
    if (this.mse.size >= REMEMBERED) this.mse.delete(this.mse.values().next().value!)
    this.mse.add(address)
    return true
  }
}
