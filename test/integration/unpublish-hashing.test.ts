// A video's visibility changed while its torrent is being made in the background (BitTorrent
// switched on later, or an upload that could not be hashed on the way in): whatever the order,
// once the torrent is recorded the tracker tracks it exactly when the video is published. Each
// round moves the change to another point of the hashing (before it, during it, as it is recorded).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, uploadOk } from '../helpers/http.ts'

let server: TestServer
let clip: string

before(async () => {
  server = await startTestServer()
  clip = await makeVideo({ seconds: 1 })
  // Off: uploads get no torrent, so the test starts each one's hashing itself.
  const off = await getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ bittorrentEnabled: false }),
  })
  assert.equal(off.status, 200)
})

after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const wait = (ms: number) => new Promise((r) => (ms < 0 ? setImmediate(r) : setTimeout(r, ms)))

test('unpublished or published again at any point of the hashing: tracked exactly when published', async () => {
  const { videos, tracker, accounts } = server.services
  const admin = (await accounts.listUsers()).find((u) => u.name === 'admin')!
  const actor = { id: admin.id, role: admin.role }
  // -1: a tick (setImmediate) after the hashing starts; others: milliseconds.
  const delays = [-1, 0, 1, 2, 3, 5, 8, 13, 21, 34]
  for (const flips of [[false], [false, true]]) {
    for (const delay of delays) {
      const video = await uploadOk(server, { title: `flip ${flips} at ${delay}` }, { path: clip })
      assert.equal(video.torrent, null)
      const job = videos.hashInBackground(await videos.get(video.id))
      await wait(delay)
      for (const published of flips) await videos.update(actor, video.id, { published })
      await job
      const row = await videos.get(video.id)
      assert.ok(row.torrent, 'the torrent was made')
      const published = flips[flips.length - 1]!
      assert.equal(row.published, published)
      assert.equal(
        tracker.isAllowed(row.torrent.infoHash),
        published,
        `made ${published ? 'public again' : 'private'} ${delay} ms into the hashing`,
      )
    }
  }
})
