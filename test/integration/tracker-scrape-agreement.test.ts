// One swarm, three transports: an HTTP seeder, a UDP leecher and a WebSocket leecher (the
// package's own client, as a browser runs it) in the swarm of one video. Scraped over HTTP, UDP
// and WebSocket, the swarm has the same seeders, leechers and completed downloads, and the video
// page and the API show the same numbers; after a leecher completes, all of them move together.
// (WebSocket scrapes once counted WebSocket peers only, with `downloaded` = seeders.)
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import Client from 'bittorrent-tracker/client'
import { freePortUdp, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { binParam, uploadOk } from '../helpers/http.ts'
import { apiSwarm, scrape, waitFor } from '../helpers/swarm.ts'
import { EVENT, UdpTrackerClient } from '../helpers/udpTracker.ts'

interface Numbers {
  seeders: number
  leechers: number
  completed: number
}

let clip: string
let s: TestServer
let udp: UdpTrackerClient
before(async () => {
  clip = await makeVideo({ seconds: 1 })
  s = await startTestServer({ TRACKER_UDP_PORT: String(await freePortUdp()), TRACKER_RATE_LIMIT_PER_MINUTE: '0' })
  udp = await UdpTrackerClient.open('127.0.0.1', s.udpPort!)
})
after(async () => {
  await udp?.close()
  await s?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

test('HTTP, UDP and WebSocket scrapes, the video page and the API agree on one mixed swarm', async () => {
  const v = await uploadOk(s, { title: 'mixed swarm' }, { path: clip })
  const hash = v.torrent!.infoHash
  const httpAnnounce = async (left: number, event: string) => {
    const q = [
      `info_hash=${binParam(Buffer.from(hash, 'hex'))}`,
      `peer_id=${binParam(Buffer.from('-TB0001-http-seeder.', 'latin1'))}`,
      'port=47001',
      'uploaded=0',
      'downloaded=0',
      `left=${left}`,
      'compact=1',
      `event=${event}`,
    ]
    const res = await fetch(`${s.url}/announce?${q.join('&')}`)
    assert.equal(res.status, 200)
    await res.arrayBuffer()
  }
  const ws = { left: 1000 }
  const browser = new Client({
    infoHash: hash,
    peerId: Buffer.from('-WW0001-browser-peer', 'latin1'),
    announce: [`ws://127.0.0.1:${s.port}/announce`],
    port: 6881,
    // numwant 0: no WebRTC offers, so no ICE sockets on other interfaces; loopback only.
    rtcConfig: { iceServers: [] },
    getAnnounceOpts: () => ({ numwant: 0, left: ws.left }),
  })
  browser.on('warning', () => {})
  const wsAnswered = () => new Promise<void>((resolve) => browser.once('update', () => resolve()))
  const wsScrape = () =>
    new Promise<Numbers>((resolve, reject) => {
      browser.once('scrape', (r: { complete: number; incomplete: number; downloaded: number }) =>
        resolve({ seeders: r.complete, leechers: r.incomplete, completed: r.downloaded }),
      )
      setTimeout(() => reject(new Error('no WebSocket scrape reply')), 10_000).unref()
      browser.scrape()
    })
  const page = async (): Promise<Numbers> => {
    const html = await (await fetch(`${s.url}/videos/${v.id}`)).text()
    const dd = (id: string) => Number(new RegExp(`<dd id="${id}">(\\d+)</dd>`).exec(html)?.[1])
    return { seeders: dd('seeders'), leechers: dd('leechers'), completed: dd('completed') }
  }
  // Every view of the swarm, once the API's one-second cache and the stored count have caught up.
  const agree = async (expected: Numbers, what: string) => {
    await waitFor(
      () => apiSwarm(s.url, v.id),
      (n) => n.completed === expected.completed && n.seeders === expected.seeders && n.leechers === expected.leechers,
      { what: `the API to show ${what}` },
    )
    const h = await scrape(s.url, hash)
    const [u] = await udp.scrape([hash])
    const views = {
      http: { seeders: h.complete, leechers: h.incomplete, completed: h.downloaded },
      udp: u,
      ws: await wsScrape(),
      page: await page(),
      api: await apiSwarm(s.url, v.id),
    }
    for (const [view, n] of Object.entries(views)) assert.deepEqual({ ...n }, expected, `${what}: ${view}`)
  }
  try {
    await httpAnnounce(0, 'started') // a seeder resuming: not a completion
    await udp.announce({ infoHash: hash, port: 47002, left: 1000n, event: EVENT.started })
    const joined = wsAnswered()
    browser.start()
    await joined
    await agree({ seeders: 1, leechers: 2, completed: 0 }, 'one seeder, two leechers')
    // An announce reply counts the WebSocket peer too, so a client shows the page's numbers.
    const reply = await udp.announce({ infoHash: hash, port: 47002, left: 1000n, event: EVENT.none })
    assert.deepEqual(
      { seeders: reply.seeders, leechers: reply.leechers },
      { seeders: 1, leechers: 2 },
      'UDP announce reply',
    )

    const completed = wsAnswered()
    ws.left = 0
    browser.complete()
    await completed
    await agree({ seeders: 2, leechers: 1, completed: 1 }, 'the WebSocket leecher completed')

    await udp.announce({ infoHash: hash, port: 47002, left: 0n, event: EVENT.completed })
    await agree({ seeders: 3, leechers: 0, completed: 2 }, 'the UDP leecher completed too')
  } finally {
    await new Promise<void>((resolve) => browser.destroy(() => resolve()))
  }
})
