// Message Stream Encryption (MSE/PE), both sides: the responder (a peer that opens with a
// Diffie-Hellman key instead of the plain handshake: aria2c by default, any client that requires
// encryption) and the initiator (our dial to a peer that drops plain handshakes). Of what the
// other side offers we pick plaintext when it is offered, so the piece data stays zero-copy, and
// RC4 for the whole stream otherwise; the ciphers come out with the outcome, in their state after
// the handshake (spec: the first 1024 bytes of each keystream are dropped).
// Spec: https://wiki.vuze.com/w/Message_Stream_Encryption. Bytes in, replies out; no sockets.
import { createDiffieHellman, createHash, randomBytes, randomInt } from 'node:crypto'
import { WireError } from '../errors.ts'
import { PROTOCOL } from './handshake.ts'
import { Rc4 } from './rc4.ts'

const P = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
)
const KEY_LENGTH = 96
/** Private exponents of 160 bits: the spec asks for at least 128; more adds nothing (it says 180). */
const PRIVATE_KEY_BYTES = 20
const MAX_PAD = 512
const MAX_IA = 8192
const VC_LENGTH = 8
const DISCARD = 1024
export const CRYPTO_PLAINTEXT = 0x01
export const CRYPTO_RC4 = 0x02

const sha1 = (...parts: (string | Buffer)[]): Buffer => {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}

// One group for every connection. createDiffieHellman(prime) checks the prime (DH_check: ~17-30
// ms of primality tests) each time it is called, which made every MSE opening, even 96 random
// bytes from a stranger, cost that much CPU. The prime is fixed by the spec, so it is checked
// once here; per connection only a fresh private key is set (~0.15 ms for both exponentiations).
const GROUP = createDiffieHellman(P, 2)

/** A fresh key pair in the shared group: our public key (96 bytes) and the secret for theirs. */
export function mseKeyExchange(theirs: Buffer): { ours: Buffer; secret: Buffer } {
  GROUP.setPrivateKey(randomBytes(PRIVATE_KEY_BYTES))
  const ours = pad96(GROUP.generateKeys())
  return { ours, secret: pad96(GROUP.computeSecret(theirs)) }
}

/** HASH('req2', SKEY): how an MSE initiator names the torrent (SKEY = infohash). */
export const mseTorrentKey = (infoHash: Buffer): Buffer => sha1('req2', infoHash)

/**
 * Whether a connection's first bytes are a plain BitTorrent handshake (true), something else,
 * e.g. an MSE public key (false), or too few to tell (null).
 */
export function isPlainHandshakeStart(buf: Buffer): boolean | null {
  const n = Math.min(buf.length, PROTOCOL.length)
  for (let i = 0; i < n; i++) if (buf[i] !== PROTOCOL[i]) return false
  return n >= 4 ? true : null // 4 matching bytes: 1 in 4 billion for a random key
}

/** RC4 for the rest of the stream, each in its state right after the handshake. */
interface MseCipher {
  /** For what we send. */
  encrypt: Rc4
  /** For what we receive. */
  decrypt: Rc4
}

export interface MseDone {
  /** The torrent (SKEY): the one the initiator asked for, or the one we dialled for. */
  infoHash: Buffer
  /** What follows, in plaintext: the initiator's IA (normally its handshake) and anything after. */
  payload: Buffer
  /** Set when RC4 was selected: everything after `payload` goes through it, both ways. */
  cipher: MseCipher | null
}

type Step = 'key' | 'sync' | 'skey' | 'vc' | 'pad' | 'ia'

/** Received bytes kept until they form the next field. */
class Pending {
  buf: Buffer = Buffer.alloc(0)

  add(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk)
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  /** What is left, for the payload: decrypted (in place: it is our copy) if RC4 goes on. */
  rest(cipher: MseCipher | null): Buffer {
    const rest = this.take(this.buf.length)
    return cipher ? cipher.decrypt.update(rest) : rest
  }
}

/** One side of the handshake: received bytes wait in `pending` until `advance` can use them. */
abstract class MseSide {
  protected readonly pending = new Pending()

  /** Feeds received bytes; returns bytes to send back and, once through, the outcome. */
  feed(chunk: Buffer): { reply: Buffer[]; done: MseDone | null } {
    this.pending.add(chunk)
    const reply: Buffer[] = []
    for (;;) {
      const done = this.advance(reply)
      if (done === 'wait') return { reply, done: null }
      if (done !== 'next') return { reply, done }
    }
  }

  /** One step: 'wait' for more bytes, 'next' step, or done. */
  protected abstract advance(reply: Buffer[]): 'wait' | 'next' | MseDone
}

const cipherFor = (select: number, encrypt: Rc4, decrypt: Rc4): MseCipher | null =>
  select === CRYPTO_RC4 ? { encrypt, decrypt } : null

export class MseResponder extends MseSide {
  private readonly findTorrent: (req2: Buffer) => Buffer | undefined
  private step: Step = 'key'
  private secret: Buffer | null = null
  private req1: Buffer | null = null
  private infoHash: Buffer | null = null
  private decrypt: Rc4 | null = null
  private encrypt: Rc4 | null = null
  private padLength = 0
  private iaLength = 0
  private provide = 0

  /** `findTorrent`: the infohash whose HASH('req2', infohash) is `req2`, if we seed it. */
  constructor(findTorrent: (req2: Buffer) => Buffer | undefined) {
    super()
    this.findTorrent = findTorrent
  }

  protected advance(reply: Buffer[]): 'wait' | 'next' | MseDone {
    const p = this.pending
    const have = p.buf.length
    switch (this.step) {
      case 'key': {
        if (have < KEY_LENGTH) return 'wait'
        const { ours, secret } = mseKeyExchange(p.take(KEY_LENGTH))
        this.secret = secret
        this.req1 = sha1('req1', this.secret)
        reply.push(ours, randomBytes(randomInt(0, 65)))
        this.step = 'sync'
        return 'next'
      }
      case 'sync': {
        // The initiator's padding (0-512 bytes) ends where HASH('req1', S) starts.
        const at = p.buf.indexOf(this.req1!)
        if (at < 0) {
          if (have > MAX_PAD + 20) throw new WireError('bad_mse', 'no MSE sync hash within 512 bytes')
          return 'wait'
        }
        p.take(at + 20)
        this.step = 'skey'
        return 'next'
      }
      case 'skey': {
        if (have < 20) return 'wait'
        const req3 = sha1('req3', this.secret!)
        const req2 = Buffer.from(p.take(20))
        for (let i = 0; i < 20; i++) req2[i]! ^= req3[i]!
        const infoHash = this.findTorrent(req2)
        if (!infoHash) throw new WireError('unknown_torrent', 'MSE handshake for a torrent we do not seed')
        this.infoHash = infoHash
        this.decrypt = new Rc4(sha1('keyA', this.secret!, infoHash), DISCARD)
        this.encrypt = new Rc4(sha1('keyB', this.secret!, infoHash), DISCARD)
        this.step = 'vc'
        return 'next'
      }
      case 'vc': {
        if (have < 14) return 'wait'
        const head = this.decrypt!.update(Buffer.from(p.take(14)))
        if (!head.subarray(0, VC_LENGTH).equals(Buffer.alloc(VC_LENGTH)))
          throw new WireError('bad_mse', 'bad MSE verification constant')
        this.provide = head.readUInt32BE(8)
        this.padLength = head.readUInt16BE(12)
        if (this.padLength > MAX_PAD) throw new WireError('bad_mse', 'MSE padding too long')
        this.step = 'pad'
        return 'next'
      }
      case 'pad': {
        if (have < this.padLength + 2) return 'wait'
        const padAndLength = this.decrypt!.update(Buffer.from(p.take(this.padLength + 2)))
        this.iaLength = padAndLength.readUInt16BE(this.padLength)
        if (this.iaLength > MAX_IA) throw new WireError('bad_mse', 'MSE initial payload too long')
        this.step = 'ia'
        return 'next'
      }
      case 'ia': {
        if (have < this.iaLength) return 'wait'
        const ia = this.decrypt!.update(Buffer.from(p.take(this.iaLength)))
        const select = this.provide & CRYPTO_PLAINTEXT ? CRYPTO_PLAINTEXT : this.provide & CRYPTO_RC4 ? CRYPTO_RC4 : 0
        if (!select) throw new WireError('bad_mse', 'the peer offers neither plaintext nor RC4')
        const answer = Buffer.alloc(14) // VC, crypto_select, len(padD) = 0
        answer.writeUInt32BE(select, 8)
        reply.push(this.encrypt!.update(answer))
        const cipher = cipherFor(select, this.encrypt!, this.decrypt!)
        return { infoHash: this.infoHash!, payload: Buffer.concat([ia, p.rest(cipher)]), cipher }
      }
    }
  }
}

type InitiatorStep = 'key' | 'sync' | 'select' | 'pad'

/**
 * Our side when we dial: `first` opens the connection (Ya, PadA); once the peer's key is in, we
 * send the rest of our part with `ia` (our BitTorrent handshake) inside, offering `provide`.
 */
export class MseInitiator extends MseSide {
  readonly first: Buffer
  private readonly infoHash: Buffer
  private readonly provide: number
  private readonly ia: Buffer
  private readonly privateKey = randomBytes(PRIVATE_KEY_BYTES)
  private step: InitiatorStep = 'key'
  private encrypt: Rc4 | null = null
  private decrypt: Rc4 | null = null
  /** ENCRYPT(VC) as the peer's stream will carry it, after its padding. */
  private vc: Buffer | null = null
  private select = 0
  private padLength = 0

  /** `infoHash`: the one we dial with (SKEY). */
  constructor(infoHash: Buffer, ia: Buffer, provide = CRYPTO_PLAINTEXT | CRYPTO_RC4) {
    super()
    this.infoHash = infoHash
    this.ia = ia
    this.provide = provide
    GROUP.setPrivateKey(this.privateKey)
    this.first = Buffer.concat([pad96(GROUP.generateKeys()), randomBytes(randomInt(0, 65))])
  }

  protected advance(reply: Buffer[]): 'wait' | 'next' | MseDone {
    const p = this.pending
    const have = p.buf.length
    switch (this.step) {
      case 'key': {
        if (have < KEY_LENGTH) return 'wait'
        GROUP.setPrivateKey(this.privateKey)
        const s = pad96(GROUP.computeSecret(p.take(KEY_LENGTH)))
        this.encrypt = new Rc4(sha1('keyA', s, this.infoHash), DISCARD)
        this.decrypt = new Rc4(sha1('keyB', s, this.infoHash), DISCARD)
        this.vc = this.decrypt.copy(Buffer.alloc(VC_LENGTH))
        const skey = mseTorrentKey(this.infoHash)
        const req3 = sha1('req3', s)
        for (let i = 0; i < 20; i++) skey[i]! ^= req3[i]!
        const head = Buffer.alloc(VC_LENGTH + 4 + 2 + 2) // VC, crypto_provide, len(PadC) = 0, len(IA)
        head.writeUInt32BE(this.provide, 8)
        head.writeUInt16BE(this.ia.length, 14)
        reply.push(sha1('req1', s), skey, this.encrypt.update(head), this.encrypt.copy(this.ia))
        this.step = 'sync'
        return 'next'
      }
      case 'sync': {
        // The peer's padding (0-512 bytes) ends where its encrypted VC starts.
        const at = p.buf.indexOf(this.vc!)
        if (at < 0) {
          if (have > MAX_PAD + VC_LENGTH)
            throw new WireError('bad_mse', 'no MSE verification constant within 512 bytes')
          return 'wait'
        }
        p.take(at + VC_LENGTH)
        this.step = 'select'
        return 'next'
      }
      case 'select': {
        if (have < 6) return 'wait'
        const head = this.decrypt!.update(Buffer.from(p.take(6)))
        this.select = head.readUInt32BE(0)
        if ((this.select !== CRYPTO_PLAINTEXT && this.select !== CRYPTO_RC4) || !(this.select & this.provide))
          throw new WireError('bad_mse', `the peer selected ${this.select}, not one we offered`)
        this.padLength = head.readUInt16BE(4)
        if (this.padLength > MAX_PAD) throw new WireError('bad_mse', 'MSE padding too long')
        this.step = 'pad'
        return 'next'
      }
      case 'pad': {
        if (have < this.padLength) return 'wait'
        this.decrypt!.update(Buffer.from(p.take(this.padLength)))
        const cipher = cipherFor(this.select, this.encrypt!, this.decrypt!)
        return { infoHash: this.infoHash, payload: p.rest(cipher), cipher }
      }
    }
  }
}

function pad96(b: Buffer): Buffer {
  if (b.length === KEY_LENGTH) return b
  const out = Buffer.alloc(KEY_LENGTH)
  b.copy(out, KEY_LENGTH - b.length)
  return out
}
