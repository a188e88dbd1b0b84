import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashFile } from '../../src/bittorrent/hashFile.ts'
import { hashFileInWorkers } from '../../src/bittorrent/hashInWorker.ts'
import { TorrentError } from '../../src/bittorrent/errors.ts'

let dir = ''
let file = ''
let data: Buffer
const pieceLength = 16 * 1024

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'seedcast-hash-'))
  file = join(dir, 'video.bin')
  data = randomBytes(2 * 1024 * 1024 + 4321) // spans several 1 MiB reads
  await writeFile(file, data)
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

function expectedPieces(): Buffer {
  const out: Buffer[] = []
  for (let off = 0; off < data.length; off += pieceLength) {
    out.push(
      createHash('sha1')
        .update(data.subarray(off, off + pieceLength))
        .digest(),
    )
  }
  return Buffer.concat(out)
}

test('hashFile matches direct hashing', async () => {
  const r = await hashFile(file, pieceLength)
  assert.equal(r.length, data.length)
  assert.equal(r.pieceLength, pieceLength)
  assert.deepEqual(r.pieces, expectedPieces())
})

test('hashFile on a missing file rejects with the fs error', async () => {
  await assert.rejects(hashFile(join(dir, 'nope.bin'), pieceLength), { code: 'ENOENT' })
})

test('hashFileInWorkers gives the same result as hashFile', async () => {
  const [inWorker, local] = await Promise.all([hashFileInWorkers(file, pieceLength), hashFile(file, pieceLength)])
  assert.ok(Buffer.isBuffer(inWorker.pieces))
  assert.deepEqual(inWorker, local)
})

test('hashFileInWorkers rejects with TorrentError for a missing file', async () => {
  await assert.rejects(hashFileInWorkers(join(dir, 'missing.bin'), pieceLength), (err: unknown) => {
    assert.ok(err instanceof TorrentError)
    assert.equal(err.code, 'hash_failed')
    assert.match(err.message, /ENOENT/)
    return true
  })
})

test('hashFileInWorkers keeps the TorrentError code from the worker', async () => {
  await assert.rejects(
    hashFileInWorkers(file, 0),
    (err: unknown) => err instanceof TorrentError && err.code === 'bad_spec',
  )
})
