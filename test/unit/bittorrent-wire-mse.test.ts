// MSE (protocol encryption), responder side, plaintext only: the key exchange, torrent lookup by
// HASH('req2', infohash), the initial payload handed on in plaintext, and what is refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { WireError } from '../../src/bittorrent/errors.ts'
import { buildHandshake } from '../../src/bittorrent/wire/handshake.ts'
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  isPlainHandshakeStart,
  mseInitiatorForTests,
  mseTorrentKey,
  MseResponder,
  Rc4,
  type MseDone,
} from '../../src/bittorrent/wire/mse.ts'

const infoHash = randomBytes(20)
const known = new Map([[mseTorrentKey(infoHash).toString('hex'), infoHash]])
const lookup = (req2: Buffer) => known.get(req2.toString('hex'))
const isWireError = (code: string) => (err: unknown) => err instanceof WireError && err.code === code

test('RC4: the classic test vectors', () => {
  assert.equal(new Rc4(Buffer.from('Key')).update(Buffer.from('Plaintext')).toString('hex'), 'bbf316e8d940af0ad3')
  assert.equal(
    new Rc4(Buffer.from('Secret')).update(Buffer.from('Attack at dawn')).toString('hex'),
    '45a01f645fc35b383552544b9bf5',
  )
})

test('plain or MSE: decided on the first bytes', () => {
  assert.equal(
    isPlainHandshakeStart(buildHandshake({ infoHash, peerId: randomBytes(20), extended: true, fast: true })),
    true,
  )
  assert.equal(isPlainHandshakeStart(Buffer.from([19, 0x42])), null)
  assert.equal(isPlainHandshakeStart(Buffer.from([19, 0x42, 0x69, 0x74])), true)
  assert.equal(isPlainHandshakeStart(Buffer.from([19, 0x43])), false)
  assert.equal(isPlainHandshakeStart(Buffer.from([0x8f])), false)
})

function handshakeThrough(
  step: number,
  provide = CRYPTO_PLAINTEXT | CRYPTO_RC4,
  ia = buildHandshake({ infoHash, peerId: randomBytes(20), extended: true, fast: false }),
) {
  const responder = new MseResponder(lookup)
  const initiator = mseInitiatorForTests(infoHash, provide, ia)
  const feed = (bytes: Buffer) => {
    const replies: Buffer[] = []
    let done: MseDone | null = null
    for (let i = 0; i < bytes.length; i += step) {
      const chunk = bytes.subarray(i, i + step)
      // Once through, the rest is the plaintext stream (the peer's parser gets it, not MSE).
      if (done) {
        done.payload = Buffer.concat([done.payload, chunk])
        continue
      }
      const r = responder.feed(chunk)
      replies.push(...r.reply)
      done = r.done
    }
    return { reply: Buffer.concat(replies), done }
  }
  const second = feed(initiator.first)
  assert.equal(second.done, null)
  assert.ok(second.reply.length >= 96 && second.reply.length <= 96 + 512, 'Yb + PadB')
  const third = initiator.third(second.reply.subarray(0, 96))
  const after = Buffer.from('then plaintext messages')
  const fourth = feed(Buffer.concat([third.bytes, after]))
  return { ia, after, fourth, select: fourth.reply.length ? third.readSelect(fourth.reply) : -1 }
}

for (const step of [1, 7, 96, 10_000]) {
  test(`MSE: through the key exchange in chunks of ${step}; plaintext selected; the IA comes out in plain`, () => {
    const { ia, after, fourth, select } = handshakeThrough(step)
    assert.equal(select, CRYPTO_PLAINTEXT)
    assert.equal(fourth.reply.length, 14, 'VC + crypto_select + len(padD) = 0')
    assert.deepEqual(fourth.done?.infoHash, infoHash)
    assert.deepEqual(fourth.done?.payload, Buffer.concat([ia, after]))
  })
}

test('MSE: refused for an unknown torrent, for RC4 only, and without the sync hash', () => {
  assert.throws(() => {
    const r = new MseResponder(() => undefined)
    const i = mseInitiatorForTests(infoHash, CRYPTO_PLAINTEXT, Buffer.alloc(0))
    const key = Buffer.concat(r.feed(i.first).reply).subarray(0, 96)
    r.feed(i.third(key).bytes)
  }, isWireError('unknown_torrent'))
  assert.throws(() => handshakeThrough(1000, CRYPTO_RC4), isWireError('mse_rc4_only'))
  const r = new MseResponder(lookup)
  r.feed(randomBytes(96))
  assert.throws(() => r.feed(randomBytes(600)), isWireError('bad_mse'))
})
