// A torrent retired by a release's change stays seeded and tracked: after a subtitle is added to a
// video, the site's seeder still answers a BitTorrent handshake for the old infohash (its .torrent
// kept as media/<file>.<12 hex>.torrent) and the tracker takes its announces, after a restart too;
// both stop once the admin removes that torrent. (Downloads of the
// new multi-file torrent from the seeder are the seeder's own tests.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { announceQuery, getJson, trackerGet, waitFor } from '../helpers/http.ts'
import { peerHandshake, seederReady, startSeededServer, uploadClip } from '../helpers/seededSite.ts'

test('the old torrent of a changed release is seeded until the admin removes it', { timeout: 120_000 }, async (t) => {
  const first = await startSeededServer(t)
  await seederReady(first)
  const { video } = await uploadClip(t, first, { seconds: 2 })
  const oldHash = video.torrent!.infoHash
  await waitFor(async () => (await peerHandshake(first.seederPort, oldHash)) === 'answered', 'the seeder to seed it')

  const form = new FormData()
  form.append('files', new Blob(['1\n00:00:00,000 --> 00:00:01,000\nHi\n']), 'subs.srt')
  const added = await getJson(`${first.url}/api/videos/${video.id}/files`, {
    method: 'POST',
    headers: { authorization: first.basicAuth },
    body: form,
  })
  assert.equal(added.status, 201, JSON.stringify(added.body))
  assert.notEqual(added.body.torrent.infoHash, oldHash)
  // The seeder rescans on the change; the old torrent is in what it seeds, from its kept .torrent.
  await new Promise((r) => setTimeout(r, 1500))
  assert.equal(await peerHandshake(first.seederPort, oldHash), 'answered', 'the old torrent is still seeded')

  // After a restart: tracked (the allow list) and seeded (the seeder's first scan) all the same.
  await first.stop({ keepStorage: true })
  const server = await startSeededServer(t, {}, first.storageDir)
  await seederReady(server)
  const tracked = async () =>
    (await trackerGet(`${server.url}/announce?${announceQuery(oldHash)}`)).body['failure reason'] === undefined
  assert.equal(await tracked(), true, 'the tracker takes the old torrent after a restart')
  // The start-up check keeps the release's files and the kept .torrent (they are a video's, not orphans).
  const folder = decodeURIComponent(new URL(video.fileUrl).pathname.split('/').pop()!).replace(/\.[^.]*$/, '')
  assert.equal((await fetch(`${server.url}/seed/${folder}/subs.srt`)).status, 200)
  await waitFor(async () => (await peerHandshake(server.seederPort, oldHash)) === 'answered', 'the old torrent seeded')

  const removed = await fetch(`${server.url}/api/videos/${video.id}/torrents/${oldHash}`, {
    method: 'DELETE',
    headers: { authorization: server.basicAuth },
  })
  assert.equal(removed.status, 204)
  await waitFor(
    async () => (await peerHandshake(server.seederPort, oldHash)) === 'refused',
    'the seeder to stop seeding the old torrent',
    15_000,
  )
  assert.equal(await tracked(), false, 'the tracker refuses it now')
})
