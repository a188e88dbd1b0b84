// Message Stream Encryption (MSE/PE), the responder's side, plaintext only: a peer that opens
// with a Diffie-Hellman key instead of the plain handshake (aria2c does by default, falling back
// to plain after a second) gets through the key exchange, and we pick "plaintext" from what it
// offers, so the piece data stays zero-copy. A peer that offers RC4 only is refused.
// Spec: https://wiki.vuze.com/w/Message_Stream_Encryption. Bytes in, replies out; no sockets.
import { createDiffieHellman, createHash, randomBytes, randomInt } from 'node:crypto'
import { WireError } from '../errors.ts'
import { PROTOCOL } from './handshake.ts'

const P = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
)
const KEY_LENGTH = 96
/** Private exponents of 160 bits: the spec asks for at least 128; more adds nothing (it says 180). */
const PRIVATE_KEY_BYTES = 20
const MAX_PAD = 512
const MAX_IA = 8192
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

/** RC4 (ARCFOUR), needed only for the few handshake bytes; OpenSSL 3 keeps it behind the legacy provider. */
export class Rc4 {
  private readonly s = new Uint8Array(256)
  private i = 0
  private j = 0

  constructor(key: Buffer, discard = 0) {
    const s = this.s
    for (let i = 0; i < 256; i++) s[i] = i
    for (let i = 0, j = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 0xff
      const t = s[i]!
      s[i] = s[j]!
      s[j] = t
    }
    if (discard) this.update(Buffer.alloc(discard))
  }

  /** En- or decrypts `buf` in place; returns it. */
  update(buf: Buffer): Buffer {
    const s = this.s
    let { i, j } = this
    for (let n = 0; n < buf.length; n++) {
      i = (i + 1) & 0xff
      j = (j + s[i]!) & 0xff
      const t = s[i]!
      s[i] = s[j]!
      s[j] = t
      buf[n]! ^= s[(s[i]! + s[j]!) & 0xff]!
    }
    this.i = i
    this.j = j
    return buf
  }
}

/**
 * Whether a connection's first bytes are a plain BitTorrent handshake (true), something else,
 * e.g. an MSE public key (false), or too few to tell (null).
 */
export function isPlainHandshakeStart(buf: Buffer): boolean | null {
  const n = Math.min(buf.length, PROTOCOL.length)
  for (let i = 0; i < n; i++) if (buf[i] !== PROTOCOL[i]) return false
  return n >= 4 ? true : null // 4 matching bytes: 1 in 4 billion for a random key
}

export interface MseDone {
  /** The torrent the initiator asked for (its SKEY). */
  infoHash: Buffer
  /** What follows, in plaintext: the initiator's IA (normally its handshake) and anything after. */
  payload: Buffer
}

type Step = 'key' | 'sync' | 'skey' | 'vc' | 'pad' | 'ia'

export class MseResponder {
  private readonly findTorrent: (req2: Buffer) => Buffer | undefined
  private pending: Buffer = Buffer.alloc(0)
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
    this.findTorrent = findTorrent
  }

  /** Feeds received bytes; returns bytes to send back and, once through, the outcome. */
  feed(chunk: Buffer): { reply: Buffer[]; done: MseDone | null } {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk)
    const reply: Buffer[] = []
    for (;;) {
      const done = this.advance(reply)
      if (done === 'wait') return { reply, done: null }
      if (done !== 'next') return { reply, done }
    }
  }

  private take(n: number): Buffer {
    const out = this.pending.subarray(0, n)
    this.pending = this.pending.subarray(n)
    return out
  }

  private advance(reply: Buffer[]): 'wait' | 'next' | MseDone {
    const have = this.pending.length
    switch (this.step) {
      case 'key': {
        if (have < KEY_LENGTH) return 'wait'
        const { ours, secret } = mseKeyExchange(this.take(KEY_LENGTH))
        this.secret = secret
        this.req1 = sha1('req1', this.secret)
        reply.push(ours, randomBytes(randomInt(0, 65)))
        this.step = 'sync'
        return 'next'
      }
      case 'sync': {
        // The initiator's padding (0-512 bytes) ends where HASH('req1', S) starts.
        const at = this.pending.indexOf(this.req1!)
        if (at < 0) {
          if (have > MAX_PAD + 20) throw new WireError('bad_mse', 'no MSE sync hash within 512 bytes')
          return 'wait'
        }
        this.take(at + 20)
        this.step = 'skey'
        return 'next'
      }
      case 'skey': {
        if (have < 20) return 'wait'
        const req3 = sha1('req3', this.secret!)
        const req2 = Buffer.from(this.take(20))
        for (let i = 0; i < 20; i++) req2[i]! ^= req3[i]!
        const infoHash = this.findTorrent(req2)
        if (!infoHash) throw new WireError('unknown_torrent', 'MSE handshake for a torrent we do not seed')
        this.infoHash = infoHash
        this.decrypt = new Rc4(sha1('keyA', this.secret!, infoHash), 1024)
        this.encrypt = new Rc4(sha1('keyB', this.secret!, infoHash), 1024)
        this.step = 'vc'
        return 'next'
      }
      case 'vc': {
        if (have < 14) return 'wait'
        const head = this.decrypt!.update(Buffer.from(this.take(14)))
        if (!head.subarray(0, 8).equals(Buffer.alloc(8)))
          throw new WireError('bad_mse', 'bad MSE verification constant')
        this.provide = head.readUInt32BE(8)
        this.padLength = head.readUInt16BE(12)
        if (this.padLength > MAX_PAD) throw new WireError('bad_mse', 'MSE padding too long')
        this.step = 'pad'
        return 'next'
      }
      case 'pad': {
        if (have < this.padLength + 2) return 'wait'
        const padAndLength = this.decrypt!.update(Buffer.from(this.take(this.padLength + 2)))
        this.iaLength = padAndLength.readUInt16BE(this.padLength)
        if (this.iaLength > MAX_IA) throw new WireError('bad_mse', 'MSE initial payload too long')
        this.step = 'ia'
        return 'next'
      }
      case 'ia': {
        if (have < this.iaLength) return 'wait'
        const ia = this.decrypt!.update(Buffer.from(this.take(this.iaLength)))
        if (!(this.provide & CRYPTO_PLAINTEXT))
          throw new WireError('mse_rc4_only', 'the peer wants RC4 for the whole stream; we only do plaintext')
        const select = Buffer.alloc(14) // VC, crypto_select, len(padD) = 0
        select.writeUInt32BE(CRYPTO_PLAINTEXT, 8)
        reply.push(this.encrypt!.update(select))
        return { infoHash: this.infoHash!, payload: Buffer.concat([ia, this.pending]) }
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

/** The initiator's side, for tests: what a client offering `provide` sends, and how to read our reply. */
export function mseInitiatorForTests(infoHash: Buffer, provide: number, ia: Buffer) {
  const x = randomBytes(PRIVATE_KEY_BYTES)
  GROUP.setPrivateKey(x)
  const ours = pad96(GROUP.generateKeys())
  return {
    first: Buffer.concat([ours, randomBytes(33)]),
    /** Step 3, once the responder's key has arrived. */
    third(theirKey: Buffer): { bytes: Buffer; readSelect(encrypted: Buffer): number } {
      GROUP.setPrivateKey(x)
      const s = pad96(GROUP.computeSecret(theirKey))
      const enc = new Rc4(sha1('keyA', s, infoHash), 1024)
      const dec = new Rc4(sha1('keyB', s, infoHash), 1024)
      const req2 = sha1('req2', infoHash)
      const req3 = sha1('req3', s)
      for (let i = 0; i < 20; i++) req2[i]! ^= req3[i]!
      const head = Buffer.alloc(8 + 4 + 2 + 3 + 2)
      head.writeUInt32BE(provide, 8)
      head.writeUInt16BE(3, 12)
      head.writeUInt16BE(ia.length, 17)
      return {
        bytes: Buffer.concat([sha1('req1', s), req2, enc.update(head), enc.update(Buffer.from(ia))]),
        readSelect: (encrypted) => dec.update(Buffer.from(encrypted.subarray(0, 14))).readUInt32BE(8),
      }
    },
  }
}
