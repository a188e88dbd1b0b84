// Attack: a WebSocket peer joins a swarm and stops reading. Every offer other peers send it (up
// to 64 KiB each) and every reply would then be queued in the web app's memory for as long as it
// keeps the connection open. Now a connection with more than TRACKER_WS_MAX_BUFFERED_BYTES unsent
// is closed (counted as ws_slow_reader), and the peers that do read keep being served.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { TestServer } from '../helpers/server.ts'
import {
  announceMessage,
  nextMessage,
  openWs,
  randomId,
  rejected,
  wsAnnounce,
  startTrackerSite,
  type TrackerSite,
} from '../helpers/wsTracker.ts'

let s: TestServer
let infoHash: string
let site: TrackerSite
before(async () => {
  site = await startTrackerSite({ TRACKER_RATE_LIMIT_PER_MINUTE: '0' })
  ;({ server: s, infoHash } = site)
})
after(() => site?.stop())

test('a peer that stops reading is closed once 128 KiB are queued for it; the announcer is still answered', {
  timeout: 60_000,
}, async (t) => {
  const sink = await openWs(s.port, { localAddress: '127.0.0.2' })
  assert.equal(
    (await wsAnnounce(sink, { infoHash, peerId: randomId(), event: 'started' }))['failure reason'],
    undefined,
  )
  sink.pause() // reads nothing from here on (so it will not see its own close either)

  // Another peer announces with one 60 KB offer at a time; each is relayed to the sink. The
  // kernel's socket buffers take the first few MB, then the web app's queue grows.
  const announcer = await openWs(s.port, { localAddress: '127.0.0.3' })
  const peerId = randomId()
  const offers = [{ offer_id: 'o'.repeat(20), offer: { type: 'offer', sdp: 'v=0\r\n'.padEnd(60_000, 'a') } }]
  let sent = 0
  try {
    while ((await rejected(s, 'ws_slow_reader')) === 0) {
      assert.ok(sent < 2000, 'the sink was never closed')
      for (let i = 0; i < 10; i++, sent++) {
        announcer.send(announceMessage({ infoHash, peerId, event: sent === 0 ? 'started' : undefined, offers }))
        assert.equal((await nextMessage(announcer))['failure reason'], undefined)
      }
    }
    t.diagnostic(
      `closed after ${sent} relayed offers (${((sent * 60_000) / 1e6).toFixed(0)} MB, most of it in kernel buffers)`,
    )
    // It is gone from the swarm, and the announcer is still served.
    const reply = await wsAnnounce(announcer, { infoHash, peerId })
    assert.equal(reply['failure reason'], undefined)
    assert.equal(reply.incomplete, 1)
  } finally {
    announcer.close()
    sink.terminate()
  }
})
