import { test } from 'node:test'
import assert from 'node:assert/strict'
import { choosePieceLength, MAX_PIECE_LENGTH, MIN_PIECE_LENGTH } from '../../src/bittorrent/pieceLength.ts'
import { TorrentError } from '../../src/bittorrent/errors.ts'

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

test('constants', () => {
  assert.equal(MIN_PIECE_LENGTH, 16 * KiB)
  assert.equal(MAX_PIECE_LENGTH, 16 * MiB)
})

test('known sizes', () => {
  assert.equal(choosePieceLength(1), 16 * KiB)
  assert.equal(choosePieceLength(16 * MiB), 16 * KiB) // exactly 1024 pieces
  assert.equal(choosePieceLength(1 * GiB), 1 * MiB)
  assert.equal(Math.ceil(GiB / choosePieceLength(GiB)), 1024)
  assert.equal(choosePieceLength(2 * GiB), 2 * MiB)
  // 2000 pieces of 512 KiB fit exactly; one byte more needs 1 MiB pieces.
  assert.equal(choosePieceLength(2000 * 512 * KiB), 512 * KiB)
  assert.equal(choosePieceLength(2000 * 512 * KiB + 1), 1 * MiB)
  assert.equal(choosePieceLength(100 * 1024 * GiB), MAX_PIECE_LENGTH) // 100 TiB clamps
})

test('always a power of two within bounds', () => {
  for (const size of [1, 1000, 16 * KiB + 1, 123456789, 7 * GiB + 3, 2 ** 50]) {
    const pl = choosePieceLength(size)
    assert.ok(pl >= MIN_PIECE_LENGTH && pl <= MAX_PIECE_LENGTH, `size ${size} -> ${pl}`)
    assert.equal(pl & (pl - 1), 0, `size ${size} -> ${pl} is not a power of two`)
  }
})

test('1000–2000 pieces for random sizes between 16 MiB and 30 GiB', () => {
  const seed = Date.now() >>> 0
  let state = seed
  // mulberry32: seeded so a failure can be reproduced from the message
  const rand = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  for (let i = 0; i < 2000; i++) {
    const size = 16 * MiB + Math.floor(rand() * (30 * GiB - 16 * MiB))
    const count = Math.ceil(size / choosePieceLength(size))
    assert.ok(count >= 1000 && count <= 2000, `seed ${seed}: size ${size} gave ${count} pieces`)
  }
})

test('rejects non-positive and non-integer sizes', () => {
  for (const size of [0, -1, -GiB, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => choosePieceLength(size),
      (err: unknown) => err instanceof TorrentError && err.code === 'bad_size',
      `size ${size}`,
    )
  }
})
