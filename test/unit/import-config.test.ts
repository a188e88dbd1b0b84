// The import folder's settings: off by default, a settle interval of 30 s, and never a folder
// inside the storage (or holding it), whose files the import would move into storage.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../src/config.ts'

test('the import folder is off by default, and settles for 30 s', () => {
  assert.deepEqual(loadConfig({}).import, { dir: null, settleMs: 30_000, owner: null })
  const on = loadConfig({ IMPORT_DIR: '/srv/drop', IMPORT_SETTLE_SECONDS: '2.5', IMPORT_OWNER: 'alice' })
  assert.deepEqual(on.import, { dir: '/srv/drop', settleMs: 2500, owner: 'alice' })
})

test('an import folder inside the storage, or holding it, is refused with one line', () => {
  for (const dir of ['/srv/seedcast', '/srv/seedcast/media', '/srv']) {
    assert.throws(
      () => loadConfig({ STORAGE_DIR: '/srv/seedcast', IMPORT_DIR: dir }),
      (err: unknown) => err instanceof ConfigError && /IMPORT_DIR.*must be outside STORAGE_DIR/.test(err.message),
      dir,
    )
  }
  assert.equal(
    loadConfig({ STORAGE_DIR: '/srv/seedcast', IMPORT_DIR: '/srv/seedcast-drop' }).import.dir,
    '/srv/seedcast-drop',
  )
  assert.throws(() => loadConfig({ IMPORT_SETTLE_SECONDS: '0' }), /IMPORT_SETTLE_SECONDS/)
})
