// How the lean engine dials a peer: over TCP or uTP, opening plain or with MSE. TCP and plain
// first: every client takes TCP, and a plain stream stays zero-copy. Each dial that goes wrong
// says what to try next, at once, and the address keeps the way that got furthest, so later dials
// start there:
// - TCP did not connect (refused, no answer in time): uTP on the same port number, as libtorrent
//   and transmission do (a peer with TCP off, or behind a NAT that lets only UDP through);
// - a plain handshake closed without a byte in reply: the same transport with MSE (offering
//   plaintext and RC4). Peers that require encryption do that (libtorrent with out/in_enc_policy
//   forced, what qBittorrent's "Require encryption" sets; transmission with "encryption": 2);
// - an MSE one closed unanswered over TCP: uTP, plain again (libtorrent with incoming TCP off
//   closes every TCP connection it is handed, whatever it carries);
// - uTP did not connect, or MSE over uTP closed unanswered: nothing more; the address is forgotten
//   (TCP and plain next time).

/** Addresses remembered (oldest forgotten first): a bound on what strangers' announces can make us hold. */
const REMEMBERED = 4096

export interface DialWay {
  utp: boolean
  mse: boolean
}

/** 'failed': no connection; 'unanswered': connected, then closed before the peer sent a byte. */
export type DialOutcome = 'failed' | 'unanswered'

const FIRST: DialWay = { utp: false, mse: false }

export class DialWays {
  private readonly known = new Map<string, DialWay>()

  /** How to open a dial to `address` ("ip:port"); `utp`: whether a uTP dial is possible now. */
  first(address: string, utp: boolean): DialWay {
    const way = this.known.get(address) ?? FIRST
    return way.utp && !utp ? { utp: false, mse: way.mse } : way
  }

  /** A dial to `address` the `tried` way went `outcome`: the way to dial again now (remembered), or null. */
  after(address: string, tried: DialWay, outcome: DialOutcome, utp: boolean): DialWay | null {
    let next: DialWay | null = null
    if (outcome === 'failed') next = tried.utp || !utp ? null : { utp: true, mse: tried.mse }
    else if (!tried.mse) next = { utp: tried.utp, mse: true }
    else if (!tried.utp && utp) next = { utp: true, mse: false }
    this.known.delete(address)
    if (!next) return null
    if (this.known.size >= REMEMBERED) this.known.delete(this.known.keys().next().value!)
    this.known.set(address, next)
    return next
  }
}
