import { test } from 'node:test'
import assert from 'node:assert/strict'
import { accelBytes, accelUri } from '../../src/media/accelRedirect.ts'

test('accelUri: the file under the internal prefix, each segment encoded; outside media/ refused', () => {
  assert.equal(accelUri('/_m/', '/s/media', '/s/media/clip-1 a#.mp4'), '/_m/clip-1%20a%23.mp4')
  assert.equal(accelUri('/_m/', '/s/media', '/s/media/clip-1/sub title.srt'), '/_m/clip-1/sub%20title.srt')
  assert.throws(() => accelUri('/_m/', '/s/media', '/s/other/x.mp4'), /not inside/)
  assert.throws(() => accelUri('/_m/', '/s/media', '/s/media'), /not inside/)
})

test('accelBytes: what nginx sends for the Range asked', () => {
  assert.equal(accelBytes(undefined, 1000), 1000)
  assert.equal(accelBytes('bytes=0-99', 1000), 100)
  assert.equal(accelBytes('bytes=900-', 1000), 100)
  assert.equal(accelBytes('bytes=900-5000', 1000), 100)
  assert.equal(accelBytes('bytes=-10', 1000), 10)
  assert.equal(accelBytes('bytes=-5000', 1000), 1000)
  assert.equal(accelBytes('bytes=1000-', 1000), 0)
  assert.equal(accelBytes('bytes=0-1,5-6', 1000), 1000)
  assert.equal(accelBytes('items=0-1', 1000), 1000)
})
