// Issue 8: every MSE opening built a Diffie-Hellman group (createDiffieHellman(prime) checks the
// prime, ~17-30 ms), so strangers sending 96 random bytes per connection ate the seeder's CPU.
// Now one group is checked once and each opening only sets a fresh private key. The baseline is
// the old per-connection cost, measured in the same test, so a busy machine slows both alike.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createDiffieHellman, randomBytes } from 'node:crypto'
import { buildHandshake } from '../../src/bittorrent/wire/handshake.ts'
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  MseInitiator,
  mseKeyExchange,
  mseTorrentKey,
  MseResponder,
} from '../../src/bittorrent/wire/mse.ts'

const MSE_PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
)

test('an MSE opening of 96 random bytes costs a small fraction of building a DH group', () => {
  const groups = 3
  let t0 = process.hrtime.bigint()
  for (let i = 0; i < groups; i++) createDiffieHellman(MSE_PRIME, 2).generateKeys()
  const perGroup = Number(process.hrtime.bigint() - t0) / groups
  const openings = 100
  t0 = process.hrtime.bigint()
  for (let i = 0; i < openings; i++) {
    const r = new MseResponder(() => undefined)
    const { reply, done } = r.feed(randomBytes(96))
    assert.equal(done, null)
    assert.ok(reply.length >= 1)
  }
  const perOpening = Number(process.hrtime.bigint() - t0) / openings
  // Measured: ~0.15 ms against ~17 ms (over 100x); 10x is asked for.
  assert.ok(
    perOpening * 10 < perGroup,
    `one opening ${(perOpening / 1e6).toFixed(3)} ms, one group ${(perGroup / 1e6).toFixed(3)} ms`,
  )
})

test('keys from the shared group: fresh each time, and both sides compute the same secret', () => {
  const a = mseKeyExchange(createDiffieHellman(MSE_PRIME, 2).generateKeys())
  const b = mseKeyExchange(createDiffieHellman(MSE_PRIME, 2).generateKeys())
  assert.equal(a.ours.length, 96)
  assert.notDeepEqual(a.ours, b.ours)
  const peer = createDiffieHellman(MSE_PRIME, 2)
  const theirs = peer.generateKeys()
  const ex = mseKeyExchange(theirs)
  const fromPeer = peer.computeSecret(ex.ours)
  assert.deepEqual(Buffer.concat([Buffer.alloc(96 - fromPeer.length), fromPeer]), ex.secret)
})

test('a full MSE handshake still selects plaintext with the shared group', () => {
  const infoHash = randomBytes(20)
  const responder = new MseResponder((req2) => (req2.equals(mseTorrentKey(infoHash)) ? infoHash : undefined))
  const ia = buildHandshake({ infoHash, peerId: randomBytes(20), extended: true, fast: true })
  const initiator = new MseInitiator(infoHash, ia, CRYPTO_PLAINTEXT | CRYPTO_RC4)
  const second = responder.feed(initiator.first)
  const third = initiator.feed(Buffer.concat(second.reply))
  const fourth = responder.feed(Buffer.concat(third.reply))
  assert.deepEqual(fourth.done?.payload, ia)
  assert.equal(fourth.done?.cipher, null)
  const fifth = initiator.feed(Buffer.concat(fourth.reply))
  assert.equal(fifth.done?.cipher, null)
})
