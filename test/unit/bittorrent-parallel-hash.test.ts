// The whole-file hasher (one worker per core, each its own range of pieces) against mktorrent
// (Debian) on the same file and piece length: the pieces must be byte-identical for a file
// smaller than one piece, exact multiples, a short last piece, and more workers than pieces.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { hashFileInWorkers, type HashProgress } from '../../src/bittorrent/hashInWorker.ts'
import { TorrentError } from '../../src/bittorrent/errors.ts'

let dir = ''
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'seedcast-phash-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function mktorrentPieces(file: string, pieceLength: number): Promise<Buffer> {
  const out = `${file}.torrent`
  execFileSync('mktorrent', ['-l', String(Math.log2(pieceLength)), '-a', 'http://t.test/announce', '-o', out, file], {
    stdio: 'ignore',
  })
  return decodeTorrent(await readFile(out)).pieces!
}

const KiB = 1024
const cases: { name: string; size: number; pieceLength: number; threads?: number }[] = [
  // mktorrent's smallest piece is 32 KiB (2^15).
  { name: 'smaller than one piece', size: 5000, pieceLength: 32 * KiB },
  { name: 'exactly one piece', size: 32 * KiB, pieceLength: 32 * KiB },
  { name: 'exact multiple of the piece length', size: 64 * 32 * KiB, pieceLength: 32 * KiB },
  { name: 'a short last piece', size: 3 * 1024 * KiB + 12345, pieceLength: 64 * KiB },
  // Pieces bigger than one read, and several reads per worker.
  { name: 'pieces of 4 MiB, short last piece', size: 21 * 1024 * KiB + 7, pieceLength: 4096 * KiB },
  { name: 'more workers than pieces', size: 3 * 32 * KiB - 1, pieceLength: 32 * KiB, threads: 8 },
  { name: 'three workers, uneven ranges', size: 10 * 1024 * KiB + 1, pieceLength: 32 * KiB, threads: 3 },
]

for (const c of cases) {
  test(`pieces equal mktorrent's: ${c.name} (${c.size} bytes, pieces of ${c.pieceLength})`, async () => {
    const file = join(dir, `f-${c.size}-${c.pieceLength}.bin`)
    await writeFile(file, randomBytes(c.size))
    const seen: HashProgress[] = []
    const ours = await hashFileInWorkers(file, c.pieceLength, { threads: c.threads, onProgress: (p) => seen.push(p) })
    const theirs = await mktorrentPieces(file, c.pieceLength)
    assert.equal(ours.length, c.size)
    assert.equal(ours.pieces.length, Math.ceil(c.size / c.pieceLength) * 20)
    assert.ok(ours.pieces.equals(theirs), 'pieces differ from mktorrent')
    // The last report is the whole file.
    assert.deepEqual(seen.at(-1), { done: Math.ceil(c.size / c.pieceLength), total: Math.ceil(c.size / c.pieceLength) })
  })
}

test('progress is reported while the workers run', async () => {
  const file = join(dir, 'slow.bin')
  await writeFile(file, randomBytes(64 * 16 * KiB))
  const seen: HashProgress[] = []
  // 64 pieces, 2 workers, 20 ms after each: about 0.6 s, three reports or so on the way.
  await hashFileInWorkers(file, 16 * KiB, { threads: 2, pieceDelayMs: 20, onProgress: (p) => seen.push({ ...p }) })
  const partial = seen.filter((p) => p.done > 0 && p.done < p.total)
  assert.ok(partial.length >= 1, JSON.stringify(seen))
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.done >= seen[i - 1]!.done, 'progress never goes back')
})

test('a file that shrinks under the hasher is an error, not a wrong torrent', async () => {
  const file = join(dir, 'shrinks.bin')
  await writeFile(file, randomBytes(200 * 16 * KiB))
  // Cut short once the workers are under way (their first pieces reported).
  let started!: () => void
  const underWay = new Promise<void>((resolve) => {
    started = resolve
  })
  const hashing = hashFileInWorkers(file, 16 * KiB, {
    threads: 2,
    pieceDelayMs: 10,
    onProgress: (p) => {
      if (p.done > 0) started()
    },
  })
  await underWay
  await writeFile(file, randomBytes(10))
  await assert.rejects(hashing, (err: Error & { code?: string }) => err.code === 'hash_failed')
})

test('a missing file and a bad piece length are TorrentErrors with their codes', async () => {
  await assert.rejects(hashFileInWorkers(join(dir, 'missing.bin'), 32 * KiB), (err: unknown) => {
    assert.ok(err instanceof TorrentError)
    assert.equal(err.code, 'hash_failed')
    assert.match(err.message, /ENOENT/)
    return true
  })
  await assert.rejects(
    hashFileInWorkers(join(dir, 'missing.bin'), 0),
    (err: unknown) => err instanceof TorrentError && err.code === 'bad_spec',
  )
})

test('an empty file has no pieces', async () => {
  const file = join(dir, 'empty.bin')
  await writeFile(file, '')
  const r = await hashFileInWorkers(file, 32 * KiB)
  assert.deepEqual([r.length, r.pieces.length], [0, 0])
})
