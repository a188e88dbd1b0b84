// MSE (protocol encryption), both sides against each other: the key exchange, torrent lookup by
// HASH('req2', infohash), plaintext picked when offered, RC4 for the whole stream when only RC4
// is (then bytes sent after the handshake come out whole on the other side, both ways), the
// initial payload handed on in plaintext, and what is refused. RC4 against the classic vectors
// and against OpenSSL's (run in a child with the legacy provider).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { WireError } from '../../src/bittorrent/errors.ts'
import { buildHandshake } from '../../src/bittorrent/wire/handshake.ts'
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  isPlainHandshakeStart,
  MseInitiator,
  mseKeyExchange,
  mseTorrentKey,
  MseResponder,
  type MseDone,
} from '../../src/bittorrent/wire/mse.ts'
import { Rc4 } from '../../src/bittorrent/wire/rc4.ts'

const infoHash = randomBytes(20)
const known = new Map([[mseTorrentKey(infoHash).toString('hex'), infoHash]])
const lookup = (req2: Buffer) => known.get(req2.toString('hex'))
const isWireError = (code: string) => (err: unknown) => err instanceof WireError && err.code === code

test('RC4: the classic test vectors; in place, copy and chunked alike', () => {
  assert.equal(new Rc4(Buffer.from('Key')).update(Buffer.from('Plaintext')).toString('hex'), 'bbf316e8d940af0ad3')
  assert.equal(
    new Rc4(Buffer.from('Secret')).update(Buffer.from('Attack at dawn')).toString('hex'),
    '45a01f645fc35b383552544b9bf5',
  )
  const key = randomBytes(20)
  const data = randomBytes(5000)
  const whole = new Rc4(key, 1024).copy(data)
  const chunked = new Rc4(key, 1024)
  const parts = [data.subarray(0, 1), data.subarray(1, 1500), data.subarray(1500)].map((p) =>
    chunked.update(Buffer.from(p)),
  )
  assert.deepEqual(Buffer.concat(parts), whole)
  assert.notDeepEqual(whole, data, 'copy leaves its input as it was')
  // Dropping 1024 bytes of keystream is encrypting 1024 bytes first.
  assert.deepEqual(new Rc4(key).copy(Buffer.concat([Buffer.alloc(1024), data])).subarray(1024), whole)
  assert.deepEqual(new Rc4(key, 1024).copy(whole), data, 'the same keystream decrypts')
})

test("RC4: the same bytes as OpenSSL's rc4, 1024 bytes dropped", () => {
  const key = randomBytes(20)
  const data = randomBytes(1 << 16)
  const script = `const c=require('node:crypto').createCipheriv('rc4',Buffer.from(process.argv[1],'hex'),null);
c.update(Buffer.alloc(1024));process.stdout.write(c.update(Buffer.from(process.argv[2],'base64')).toString('hex'))`
  const openssl = execFileSync(
    process.execPath,
    ['--openssl-legacy-provider', '-e', script, key.toString('hex'), data.toString('base64')],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  )
  assert.equal(new Rc4(key, 1024).copy(data).toString('hex'), openssl)
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

type Side = { feed(chunk: Buffer): { reply: Buffer[]; done: MseDone | null } }

/**
 * Our initiator and responder over a pretend connection that delivers `step` bytes at a time;
 * `after`: what each side sends once through (through its cipher, if RC4 was selected).
 */
function connect(step: number, provide: number, after = { a: Buffer.from('a to b'), b: Buffer.from('b to a') }) {
  const ia = buildHandshake({ infoHash, peerId: randomBytes(20), extended: true, fast: false })
  const a = new MseInitiator(infoHash, ia, provide)
  const b = new MseResponder(lookup)
  const toB: Buffer[] = [a.first]
  const toA: Buffer[] = []
  let doneA: MseDone | null = null
  let doneB: MseDone | null = null
  const gotA: Buffer[] = []
  const gotB: Buffer[] = []
  const deliver = (queue: Buffer[], side: Side, done: () => MseDone | null, got: Buffer[], back: Buffer[]) => {
    const bytes = Buffer.concat(queue.splice(0))
    for (let i = 0; i < bytes.length; i += step) {
      const chunk = bytes.subarray(i, i + step)
      const d = done()
      if (d) {
        got.push(d.cipher ? d.cipher.decrypt.copy(chunk) : chunk)
        continue
      }
      const r = side.feed(chunk)
      back.push(...r.reply)
      if (r.done) {
        got.push(r.done.payload)
        // Once through, each side sends its own bytes (after its handshake replies).
        const mine = side === a ? after.a : after.b
        back.push(r.done.cipher ? r.done.cipher.encrypt.copy(mine) : mine)
        if (side === a) doneA = r.done
        else doneB = r.done
      }
    }
  }
  for (let round = 0; round < 10 && (toA.length || toB.length); round++) {
    deliver(toB, b, () => doneB, gotB, toA)
    deliver(toA, a, () => doneA, gotA, toB)
  }
  return { ia, after, doneA: doneA as MseDone | null, doneB: doneB as MseDone | null, gotA, gotB }
}

for (const step of [1, 7, 96, 10_000]) {
  test(`MSE in chunks of ${step}: plaintext picked when offered; the IA comes out in plain`, () => {
    const { ia, after, doneA, doneB, gotA, gotB } = connect(step, CRYPTO_PLAINTEXT | CRYPTO_RC4)
    assert.ok(doneA && doneB)
    assert.equal(doneA.cipher, null)
    assert.equal(doneB.cipher, null)
    assert.deepEqual(doneB.infoHash, infoHash)
    assert.deepEqual(Buffer.concat(gotB), Buffer.concat([ia, after.a]))
    assert.deepEqual(Buffer.concat(gotA), after.b)
  })

  test(`MSE in chunks of ${step}: RC4 only, the whole stream encrypted both ways`, () => {
    const after = { a: randomBytes(3000), b: randomBytes(70_000) }
    const { ia, doneA, doneB, gotA, gotB } = connect(step, CRYPTO_RC4, after)
    assert.ok(doneA?.cipher && doneB?.cipher)
    assert.deepEqual(doneB.infoHash, infoHash)
    assert.deepEqual(Buffer.concat(gotB), Buffer.concat([ia, after.a]))
    assert.deepEqual(Buffer.concat(gotA), after.b)
  })
}

test('MSE: what goes over the wire for RC4 is not the plaintext', () => {
  const ia = buildHandshake({ infoHash, peerId: randomBytes(20), extended: true, fast: false })
  const a = new MseInitiator(infoHash, ia, CRYPTO_RC4)
  const b = new MseResponder(lookup)
  const third = Buffer.concat(a.feed(Buffer.concat(b.feed(a.first).reply)).reply)
  assert.equal(third.indexOf(ia.subarray(1, 20)), -1, 'the IA is encrypted')
  const fourth = b.feed(third)
  assert.ok(fourth.done?.cipher)
  assert.deepEqual(fourth.done.payload, ia)
  const select = a.feed(Buffer.concat(fourth.reply))
  assert.ok(select.done?.cipher)
  const block = Buffer.alloc(16384, 0x41)
  const wire = fourth.done.cipher.encrypt.copy(block)
  assert.notDeepEqual(wire, block)
  assert.deepEqual(select.done.cipher.decrypt.copy(wire), block)
})

test('MSE: refused for an unknown torrent, an offer of neither method, a bad select, and without sync', () => {
  assert.throws(() => {
    const r = new MseResponder(() => undefined)
    const i = new MseInitiator(infoHash, Buffer.alloc(0), CRYPTO_PLAINTEXT)
    i.feed(Buffer.concat(r.feed(i.first).reply)).reply.forEach((x) => r.feed(x))
  }, isWireError('unknown_torrent'))
  assert.throws(() => connect(1000, 0x10), isWireError('bad_mse'))
  // A responder that selects RC4 when we offered plaintext only.
  assert.throws(() => {
    const i = new MseInitiator(infoHash, Buffer.alloc(0), CRYPTO_PLAINTEXT)
    const { ours, secret } = mseKeyExchange(i.first.subarray(0, 96))
    const keyB = createHash('sha1').update('keyB').update(secret).update(infoHash).digest()
    const answer = Buffer.alloc(14)
    answer.writeUInt32BE(CRYPTO_RC4, 8)
    i.feed(ours)
    i.feed(new Rc4(keyB, 1024).update(answer))
  }, isWireError('bad_mse'))
  const r = new MseResponder(lookup)
  r.feed(randomBytes(96))
  assert.throws(() => r.feed(randomBytes(600)), isWireError('bad_mse'))
  const i = new MseInitiator(infoHash, Buffer.alloc(0))
  i.feed(randomBytes(96))
  assert.throws(() => i.feed(randomBytes(600)), isWireError('bad_mse'))
})
