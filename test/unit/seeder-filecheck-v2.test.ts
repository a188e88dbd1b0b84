// The seeder's file check for hybrid and v2 torrents: an unchanged release is seeded without
// rehashing; a changed file (mtime not the recorded one, or an extra newer than the .torrent) is
// rehashed against its v2 pieces root and seeded only if identical; a missing extra is refused.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { checkFile } from '../../bt_server/fileCheck.ts'
import { MerkleHasher } from '../../src/bittorrent/merkle.ts'
import { buildV2MultiTorrent, buildV2Torrent, v1Layout } from '../../src/bittorrent/metainfoV2.ts'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { releaseFilePath } from '../../src/media/storage.ts'

const PIECE = 16 * 1024
const common = { trackers: [], webSeeds: [], createdBy: 'test', creationDate: 0 }
const merkleOf = (data: Buffer) => {
  const m = new MerkleHasher(PIECE)
  m.update(data)
  return m.digest()
}

async function media(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-check-v2-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const mtime = async (p: string) => Math.floor((await stat(p)).mtimeMs)

test('a v2-only file: unchanged, seeded as is; touched, rehashed by its pieces root; changed, refused', async (t) => {
  const dir = await media(t)
  const data = randomBytes(5 * PIECE + 77)
  const file = path.join(dir, 'clip.mp4')
  await writeFile(file, data)
  const built = buildV2Torrent({ ...common, name: 'clip.mp4', format: 'v2', merkle: merkleOf(data) })
  await writeFile(`${file}.torrent`, built.buffer)
  const e = { filePath: file, torrentPath: `${file}.torrent`, size: data.length, fileMtimeMs: await mtime(file) }
  const same = await checkFile(e)
  assert.equal(same.ok && !same.rehashed, true, JSON.stringify(same))
  const touched = await checkFile({ ...e, fileMtimeMs: e.fileMtimeMs - 5000 })
  assert.equal(touched.ok && touched.rehashed, true, 'rehashed and found identical')
  data[3]! ^= 1
  await writeFile(file, data)
  const changed = await checkFile(e)
  assert.deepEqual(changed, { ok: false, reason: 'the content of clip.mp4 no longer matches its torrent' })
})

test('a multi-file hybrid release: its extras where releaseFilePath puts them, checked by size and rehashed when newer than the .torrent', async (t) => {
  const dir = await media(t)
  const video = randomBytes(3 * PIECE + 5)
  const subs = Buffer.from('WEBVTT\n\nhello\n')
  const file = path.join(dir, 'clip.mp4')
  await writeFile(file, video)
  const subsPath = releaseFilePath({ mediaDir: dir }, 'clip.mp4', ['subs', 'en.vtt'])
  assert.equal(subsPath, path.join(dir, 'clip.mp4.extras', 'subs', 'en.vtt'))
  await mkdir(path.dirname(subsPath), { recursive: true })
  await writeFile(subsPath, subs)
  const files = [
    { path: ['clip.mp4'], merkle: merkleOf(video) },
    { path: ['subs', 'en.vtt'], merkle: merkleOf(subs) },
  ]
  const v1 = new PieceHasher(PIECE)
  for (const x of v1Layout(files, PIECE))
    v1.update(x.pad ? Buffer.alloc(x.length) : x.path[0] === 'clip.mp4' ? video : subs)
  const built = buildV2MultiTorrent({
    ...common,
    name: 'clip',
    format: 'hybrid',
    pieceLength: PIECE,
    files,
    pieces: v1.digest().pieces,
  })
  await writeFile(`${file}.torrent`, built.buffer)
  const e = { filePath: file, torrentPath: `${file}.torrent`, size: video.length, fileMtimeMs: await mtime(file) }
  const fine = await checkFile(e)
  assert.equal(fine.ok && !fine.rehashed, true, JSON.stringify(fine))

  // Newer than the .torrent, same bytes: rehashed and seeded.
  const later = new Date(Date.now() + 60_000)
  await utimes(subsPath, later, later)
  const touched = await checkFile(e)
  assert.equal(touched.ok && touched.rehashed, true, JSON.stringify(touched))
  // Same size, other bytes: refused.
  await writeFile(subsPath, Buffer.from('WEBVTT\n\nhellO\n'))
  await utimes(subsPath, later, later)
  assert.deepEqual(await checkFile(e), { ok: false, reason: 'the content of en.vtt no longer matches its torrent' })
  // Gone: refused.
  await unlink(subsPath)
  assert.deepEqual(await checkFile(e), { ok: false, reason: 'en.vtt of the release has vanished' })
})

test('releaseFilePath: the video is media/<file>; nothing leaves media/<file>.extras', () => {
  const m = { mediaDir: '/srv/media' }
  assert.equal(releaseFilePath(m, 'clip.mp4', ['clip.mp4']), '/srv/media/clip.mp4')
  assert.equal(releaseFilePath(m, 'clip.mp4', ['poster.jpg']), '/srv/media/clip.mp4.extras/poster.jpg')
  for (const bad of [['..', 'x'], ['a/b'], ['.'], [], ['a\\b'], ['']])
    assert.throws(() => releaseFilePath(m, 'clip.mp4', bad), /No such file/, JSON.stringify(bad))
  assert.throws(() => releaseFilePath(m, '../clip.mp4', ['x']), /No such file/)
})
