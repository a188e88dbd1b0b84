// Attack: one address opens WebSocket tracker connections by the hundred and holds them; then a
// few addresses fill the total. Each open connection holds buffers and a place in the package's
// swarms, and nothing bounded them. Now an address gets TRACKER_WS_MAX_CONNECTIONS_PER_ADDRESS
// (16) and is refused 429 past it; the tracker holds TRACKER_WS_MAX_CONNECTIONS in all, and
// when full the address holding the most gives one up (its quietest) for a newcomer from an
// address holding fewer, a newcomer from a biggest holder getting 503; all counted. A real user
// gets in and stays in throughout; a slot is given back when its socket closes; connections
// silent for a peer TTL are closed by the sweep.
// (127.0.0.0/8 is all loopback on Linux: each 127.x.y.z is another client.)
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type WebSocket from 'ws'
import type { TestServer } from '../helpers/server.ts'
import { getVideo, waitFor } from '../helpers/http.ts'
import {
  closeCode,
  connectWs,
  metrics,
  openWs,
  randomId,
  rejected,
  wsAnnounce,
  startTrackerSite,
  type TrackerSite,
} from '../helpers/wsTracker.ts'

const TOTAL = 40
let s: TestServer
let infoHash: string
let videoId: string
let site: TrackerSite
before(async () => {
  // The web port's own per-address connection cap (64) is off: this is about the tracker's.
  site = await startTrackerSite({ TRACKER_WS_MAX_CONNECTIONS: String(TOTAL), WEB_MAX_CONNECTIONS_PER_ADDRESS: '0' })
  ;({ server: s, infoHash, videoId } = site)
})
after(() => site?.stop())

/** Opens `n` connections from `from`, eight at a time; returns the open ones and the refusal statuses. */
async function flood(from: string, n: number): Promise<{ open: WebSocket[]; refused: number[] }> {
  const open: WebSocket[] = []
  const refused: number[] = []
  for (let i = 0; i < n; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, n - i) }, () => connectWs(s.port, { localAddress: from })),
    )
    for (const c of batch) c.ws ? open.push(c.ws) : refused.push(c.status)
  }
  return { open, refused }
}

const gauge = async () => (await metrics(s)).get('seedcast_tracker_ws_connections')

const isOpen = (ws: WebSocket) => ws.readyState === 1

test('a connection flood from one address stops at its cap (429); when full the biggest holders give room to a newcomer (503 for them); a real user stays in; slots come back; idle ones are closed', {
  timeout: 60_000,
}, async () => {
  const attacker = await flood('127.0.0.2', 100)
  assert.equal(attacker.open.length, 16)
  assert.deepEqual(new Set(attacker.refused), new Set([429]))
  assert.equal(attacker.refused.length, 84)
  assert.equal(await rejected(s, 'ws_connections_per_address'), 84)

  // Another address gets in and announces, while the attacker sits at its cap.
  const user = await openWs(s.port, { localAddress: '127.0.0.9' })
  const reply = await wsAnnounce(user, { infoHash, peerId: randomId(), event: 'started' })
  assert.equal(reply['failure reason'], undefined)
  assert.equal((await getVideo(s, videoId)).swarm!.leechers, 1)

  // Two more attacker addresses: 16 + 1 + 16 + 7 fill the 40. Then each newcomer of the third
  // takes room from the biggest holder until it is one of them: 13 each, 3 refused with 503.
  const third = [await flood('127.0.0.3', 16), await flood('127.0.0.4', 16)]
  assert.deepEqual(
    third.map((f) => f.open.length),
    [16, 13],
  )
  assert.deepEqual(third[1]!.refused, [503, 503, 503])
  await waitFor(
    async () => [...attacker.open, ...third[0]!.open].filter(isOpen).length === 26,
    'six attacker connections closed for room',
  )
  assert.equal(await gauge(), TOTAL)
  // A newcomer from a fresh address gets in too (an attacker connection goes), the user stays.
  const newcomer = await openWs(s.port, { localAddress: '127.0.0.10' })
  assert.ok(isOpen(user))
  assert.equal((await wsAnnounce(user, { infoHash, peerId: randomId() }))['failure reason'], undefined)
  assert.equal(await rejected(s, 'ws_connections'), 6 + 3 + 1)
  assert.equal(await gauge(), TOTAL)

  // The first attacker's sockets close: their slots come back.
  const stillOpen = attacker.open.filter(isOpen)
  await Promise.all(
    stillOpen.map((ws) => {
      const closed = closeCode(ws)
      ws.close()
      return closed
    }),
  )
  await waitFor(async () => (await gauge()) === TOTAL - stillOpen.length, 'slots given back')

  // The sweep closes connections silent for a peer TTL (2 x 300 s + 60 s): sweeping as of a
  // TTL from now closes them all; counted.
  const open = [...third.flatMap((f) => f.open), user, newcomer].filter(isOpen)
  const closing = open.map((ws) => closeCode(ws))
  s.services.tracker.sweep(Date.now() + 661_000)
  await Promise.all(closing)
  assert.equal(await rejected(s, 'ws_idle'), open.length)
  assert.equal(await gauge(), 0)
  // And the user is out of the swarm with its connection.
  await waitFor(async () => (await getVideo(s, videoId)).swarm!.leechers === 0, 'the user to leave the swarm')
})
