// The seeder's check of a file changed since it was hashed (bt_server/fileCheck.ts), for each
// torrent format the site makes: the same bytes are seeded, one changed byte is refused; a
// v2-only torrent (no SHA-1 pieces) is checked by its pieces root.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { checkFile } from '../../bt_server/fileCheck.ts'
import { TorrentHasher, TORRENT_FORMATS } from '../../src/bittorrent/torrentHasher.ts'
import { writeTorrentFile } from '../../src/media/torrentWriter.ts'

for (const format of TORRENT_FORMATS) {
  test(`a changed ${format} file is seeded only while its bytes still match the torrent`, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-filecheck-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const filePath = path.join(dir, 'clip-abc.mp4')
    const data = randomBytes(5 * 16 * 1024 + 99)
    await writeFile(filePath, data)
    const hasher = new TorrentHasher(16 * 1024, format)
    hasher.update(data)
    const ctx = { trackers: [], webSeeds: [], comment: '', createdBy: 'test', private: false, format }
    const written = await writeTorrentFile(
      { fileName: 'clip-abc.mp4', filePath, size: data.length },
      hasher.digest(),
      ctx,
    )
    const expect = { filePath, torrentPath: written.torrentPath, size: data.length, fileMtimeMs: null }
    const same = await checkFile(expect)
    assert.equal(same.ok, true, JSON.stringify(same))
    assert.equal(same.ok && same.rehashed, true)
    data[data.length - 1]! ^= 1
    await writeFile(filePath, data)
    const changed = await checkFile(expect)
    assert.equal(changed.ok, false)
    assert.match(changed.ok ? '' : changed.reason, /content .*no longer matches its torrent/)
  })
}
