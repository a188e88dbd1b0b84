// The web seed steps aside (503 swarm_serving) when the swarm can serve a downloader itself, but a
// browser (WebTorrent in the video page) reaches WebRTC peers only: for it, only WebSocket seeders
// count. A BitTorrent client with a seeder in the swarm gets the 503; a browser, the file, until a
// browser seeds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, trackerGet, uploadOk, webSeedUrl } from '../helpers/http.ts'
import { requestFrom } from '../helpers/fromAddress.ts'
import { dropAllWs, openWs, randomId, wsAnnounce } from '../helpers/wsTracker.ts'

test('the web seed yields to a seeded swarm for BitTorrent clients, and for browsers only to browser seeders', async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  t.after(dropAllWs)
  const clip = await makeVideo({ seconds: 2 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const video = await uploadOk(server, { title: 'gate' }, { path: clip })
  const infoHash = video.torrent!.infoHash
  const seedUrl = webSeedUrl(video)
  const range = { range: 'bytes=0-99' }
  const browser = { ...range, 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'empty' }

  // A BitTorrent seeder in the swarm (HTTP tracker), which browsers cannot reach.
  const seeded = await trackerGet(`${server.url}/announce?${announceQuery(infoHash, { left: 0, event: 'started' })}`)
  assert.equal(seeded.body['failure reason'], undefined)
  // The first downloader gets the file; a second one (another address) is sent to the swarm.
  assert.equal((await requestFrom('127.0.0.2', seedUrl, { headers: range })).status, 206)
  const client = await requestFrom('127.0.0.3', seedUrl, { headers: range })
  assert.equal(client.status, 503, 'a BitTorrent client is sent to the seeded swarm')
  assert.equal(client.headers['retry-after'], '30')
  // A browser there has no seeder it can reach: it gets the file.
  assert.equal((await requestFrom('127.0.0.4', seedUrl, { headers: browser })).status, 206)

  // Once a browser seeds (WebSocket tracker), browsers too are sent to the swarm.
  const ws = await openWs(server.port)
  const reply = await wsAnnounce(ws, { infoHash, peerId: randomId(), left: 0, event: 'completed' })
  assert.equal(reply['failure reason'], undefined, JSON.stringify(reply))
  const later = await requestFrom('127.0.0.5', seedUrl, { headers: browser })
  assert.equal(later.status, 503, 'a browser is sent to the browser seeder')
})
