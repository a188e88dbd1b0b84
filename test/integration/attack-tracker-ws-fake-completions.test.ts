// Attack: fake completed downloads. One WebSocket announced a fresh peer_id with event=completed
// per message and each counted: 20,000 fake completions went into the database (from a set,
// `wsCompleted`, that was never pruned). Now an address holds at most
// TRACKER_MAX_PEERS_PER_ADDRESS (16) WebSocket peers in a swarm, over all its connections, a
// connection TRACKER_WS_MAX_PEERS_PER_CONNECTION (32), and completions are counted at most
// TRACKER_COMPLETIONS_PER_ADDRESS (3) per torrent per address per peer TTL, each peer id once,
// over every transport, from a bounded ledger pruned with the peers. WebSocket messages also
// take from the address's rate-limit bucket, shared with HTTP and UDP.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import type WebSocket from 'ws'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, bdecode, binParam, getVideo, uploadOk, waitFor } from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'
import { requestFrom } from '../helpers/fromAddress.ts'
import {
  announceMessage,
  dropAllWs,
  metrics,
  nextMessage,
  openWs,
  randomId,
  rejected,
  wsAnnounce,
} from '../helpers/wsTracker.ts'

let clip: string
before(async () => {
  clip = await makeVideo({ seconds: 1 })
})
after(async () => {
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const stored = async (s: TestServer, infoHash: string) =>
  (await sql<{ completed: number }>(s, 'SELECT completed FROM "Torrent" WHERE "infoHash" = ?', infoHash))[0]!.completed

async function httpAnnounce(
  s: TestServer,
  from: string,
  infoHash: string,
  peerId: string,
  event?: string,
): Promise<any> {
  const res = await requestFrom(
    from,
    `${s.url}/announce?${announceQuery(infoHash, { peerId, port: 6881, left: event === 'completed' ? 0 : 100, event })}`,
  )
  const reply = bdecode(new Uint8Array(res.body))
  return { ...reply, 'failure reason': reply['failure reason'] && Buffer.from(reply['failure reason']).toString() }
}

async function scrapeDownloaded(s: TestServer, infoHash: string): Promise<number> {
  const res = await fetch(`${s.url}/scrape?info_hash=${binParam(Buffer.from(infoHash, 'hex'))}`)
  const files = bdecode(new Uint8Array(await res.arrayBuffer())).files as Record<string, { downloaded: number }>
  return Object.values(files)[0]!.downloaded
}

/** Sends `n` announces with fresh peer ids and event=completed; returns how many were refused. */
async function fakeCompletions(ws: WebSocket, infoHash: string, n: number): Promise<{ ok: number; refused: string[] }> {
  for (let i = 0; i < n; i++) ws.send(announceMessage({ infoHash, peerId: randomId(), event: 'completed', left: 0 }))
  const refused: string[] = []
  let ok = 0
  for (let i = 0; i < n; i++) {
    const reply = await nextMessage(ws)
    if (reply['failure reason']) refused.push(reply['failure reason'])
    else ok++
  }
  return { ok, refused }
}

describe('no rate limit (every other bound on its own)', () => {
  let s: TestServer
  let infoHash: string
  let videoId: string
  before(async () => {
    s = await startTestServer({ TRACKER_RATE_LIMIT_PER_MINUTE: '0' })
    const v = await uploadOk(s, { title: 'target' }, { path: clip })
    infoHash = v.torrent!.infoHash
    videoId = v.id
  })
  after(async () => {
    dropAllWs()
    await s?.stop()
  })

  test('3,200 fake completions from one address over 16 sockets count 3; HTTP ones after them none; real ones from other addresses count', {
    timeout: 60_000,
  }, async (t) => {
    const sockets = await Promise.all(Array.from({ length: 16 }, () => openWs(s.port, { localAddress: '127.0.0.2' })))
    try {
      const results = await Promise.all(sockets.map((ws) => fakeCompletions(ws, infoHash, 200)))
      assert.equal(
        results.reduce((n, r) => n + r.ok, 0),
        16,
        'the address holds at most 16 peers in the swarm, over all its sockets',
      )
      assert.ok(
        results.every((r) => r.refused.every((f) => /too many peers from your address in this torrent/.test(f))),
      )
      assert.equal((await getVideo(s, videoId)).swarm!.seeders, 16)
    } finally {
      for (const ws of sockets) ws.close()
    }
    // The same address over HTTP, fresh peer ids again: its share for this torrent is used up.
    for (let i = 0; i < 100; i++)
      assert.equal(
        (await httpAnnounce(s, '127.0.0.2', infoHash, `-FK0001-${i}`, 'completed'))['failure reason'],
        undefined,
      )
    const tracker = s.services.tracker
    assert.equal(tracker.completed(infoHash), 3)
    await waitFor(async () => (await stored(s, infoHash)) === 3, 'the count stored')

    // Real downloads from two other addresses count, over WebSocket and HTTP.
    const real = await openWs(s.port, { localAddress: '127.0.0.5' })
    const browser = randomId()
    assert.equal((await wsAnnounce(real, { infoHash, peerId: browser, event: 'started' }))['failure reason'], undefined)
    assert.equal(
      (await wsAnnounce(real, { infoHash, peerId: browser, event: 'completed', left: 0 }))['failure reason'],
      undefined,
    )
    await httpAnnounce(s, '127.0.0.6', infoHash, '-TR4060-real', 'started')
    await httpAnnounce(s, '127.0.0.6', infoHash, '-TR4060-real', 'completed')
    real.close()
    assert.equal(tracker.completed(infoHash), 5)
    await waitFor(async () => (await stored(s, infoHash)) === 5, 'the real completions stored')
    await waitFor(async () => (await getVideo(s, videoId)).swarm!.completed === 5, 'the API count')
    assert.equal(await scrapeDownloaded(s, infoHash), 5)

    const m = await metrics(s)
    const reasons = Object.fromEntries(
      ['ws_peers_per_address', 'completions_per_address', 'completion_repeated'].map((r) => [
        r,
        m.get(`seedcast_tracker_rejected_total{reason="${r}"}`) ?? 0,
      ]),
    )
    t.diagnostic(
      `refusals: ${JSON.stringify(reasons)}; completion records ${m.get('seedcast_tracker_completion_records')}`,
    )
    assert.equal(reasons.ws_peers_per_address, 16 * 200 - 16)
    assert.equal(reasons.completions_per_address, 16 - 3 + 100)
    // The ledger holds one entry per (torrent, address), and is pruned with the peers.
    assert.equal(m.get('seedcast_tracker_completion_records'), 3)
    tracker.sweep(Date.now() + 661_000)
    assert.equal((await metrics(s)).get('seedcast_tracker_completion_records'), 0)
  })
})

describe('no per-address peer cap', () => {
  let s: TestServer
  let infoHash: string
  before(async () => {
    s = await startTestServer({ TRACKER_RATE_LIMIT_PER_MINUTE: '0', TRACKER_MAX_PEERS_PER_ADDRESS: '100000' })
    infoHash = (await uploadOk(s, { title: 'target' }, { path: clip })).torrent!.infoHash
  })
  after(async () => {
    dropAllWs()
    await s?.stop()
  })

  test('one socket holds at most 32 peers; a peer that stops gives its place back; a new socket starts empty', async () => {
    const ws = await openWs(s.port, { localAddress: '127.0.0.3' })
    const known = randomId()
    assert.equal((await wsAnnounce(ws, { infoHash, peerId: known, event: 'started' }))['failure reason'], undefined)
    const r = await fakeCompletions(ws, infoHash, 40)
    assert.equal(r.ok, 31)
    assert.ok(r.refused.every((f) => /too many peers on one connection/.test(f)))
    assert.equal(await rejected(s, 'ws_peers_per_connection'), 9)
    assert.equal(s.services.tracker.completed(infoHash), 3)
    // Stopping an unknown peer frees nothing; stopping a known one does.
    // (Each stop's reply is read before going on: a refusal is answered at once, an admitted
    // message a tick later, so replies need not come in order.)
    assert.equal(
      (await wsAnnounce(ws, { infoHash, peerId: randomId(), event: 'stopped' }))['failure reason'],
      undefined,
    )
    assert.match((await fakeCompletions(ws, infoHash, 1)).refused[0]!, /too many peers/)
    assert.equal((await wsAnnounce(ws, { infoHash, peerId: known, event: 'stopped' }))['failure reason'], undefined)
    assert.equal((await fakeCompletions(ws, infoHash, 2)).ok, 1)
    ws.close()
    const again = await openWs(s.port, { localAddress: '127.0.0.3' })
    assert.equal((await fakeCompletions(again, infoHash, 32)).ok, 32)
    again.close()
  })
})

describe('rate limit 30 a minute', () => {
  let s: TestServer
  let infoHash: string
  before(async () => {
    s = await startTestServer({ TRACKER_RATE_LIMIT_PER_MINUTE: '30' })
    infoHash = (await uploadOk(s, { title: 'target' }, { path: clip })).torrent!.infoHash
  })
  after(async () => {
    dropAllWs()
    await s?.stop()
  })

  test("WebSocket messages take from the address's bucket, shared with HTTP; another address is not limited", async () => {
    const ws = await openWs(s.port, { localAddress: '127.0.0.7' })
    try {
      const peerId = randomId()
      for (let i = 0; i < 50; i++)
        ws.send(announceMessage({ infoHash, peerId, event: i === 0 ? 'started' : undefined }))
      const replies = await Promise.all(Array.from({ length: 50 }, () => nextMessage(ws)))
      const limited = replies.filter((r) => /rate limit/.test(r['failure reason'] ?? ''))
      // 30 tokens: one went on opening the connection (and one more may come back on a slow run).
      const answered = replies.length - limited.length
      assert.ok(answered >= 29 && answered <= 30, `${answered} answered`)
      assert.equal(await rejected(s, 'rate_limited'), limited.length)
    } finally {
      ws.close()
    }
    assert.match(String((await httpAnnounce(s, '127.0.0.7', infoHash, '-TR4060-same'))['failure reason']), /rate limit/)
    assert.equal((await httpAnnounce(s, '127.0.0.8', infoHash, '-TR4060-other'))['failure reason'], undefined)
  })
})
