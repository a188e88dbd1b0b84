// A symlink put into media/ is never seeded: the file check refuses it by name (the web side
// refuses to serve one too), even when it points at a file of the right size.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { checkFile } from '../../bt_server/fileCheck.ts'

test('checkFile refuses a symlinked media file', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-symlink-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const target = path.join(dir, 'secret.bin')
  await writeFile(target, Buffer.alloc(1000, 7))
  const link = path.join(dir, 'clip-abc.mp4')
  await symlink(target, link)
  await writeFile(`${link}.torrent`, 'd4:infod6:lengthi1000eee')
  const verdict = await checkFile({ filePath: link, torrentPath: `${link}.torrent`, size: 1000, fileMtimeMs: null })
  assert.deepEqual(verdict, { ok: false, reason: 'the media file is a symbolic link (never seeded)' })
})
