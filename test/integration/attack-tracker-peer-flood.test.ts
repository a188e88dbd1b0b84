// Attack: fake peers by the thousand over HTTP announces (fresh peer_id and port each), from one
// address and then from 1,500 (each 127.1.x.y is another loopback client). Nothing bounded the
// tracker's peers: 600k of them from 1,200 addresses added 200 MB. Now one address holds at most
// TRACKER_MAX_PEERS_PER_ADDRESS (16) peers in a swarm, and the store TRACKER_MAX_PEERS in all
// (20,000 here): a full store drops a peer of the address holding the most for a newcomer from
// an address holding fewer, so memory stays bounded and a real peer from a fresh address still
// gets in. Refusals are counted by reason.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { TestServer } from '../helpers/server.ts'
import { announceQuery, bdecode } from '../helpers/http.ts'
import { metrics, startTrackerSite, type TrackerSite } from '../helpers/wsTracker.ts'
import { collectGarbage } from '../helpers/gc.ts'

const MAX_PEERS = 20_000
const MB = 1024 * 1024

let s: TestServer
let infoHash: string
let site: TrackerSite
before(async () => {
  site = await startTrackerSite({ TRACKER_MAX_PEERS: String(MAX_PEERS) })
  ;({ server: s, infoHash } = site)
})
after(() => site?.stop())

/** `n` announces from `from`, one keep-alive connection, each a new peer; returns the replies. */
async function fakePeers(from: string, n: number, first: number): Promise<any[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: from })
  try {
    const out = []
    for (let i = 0; i < n; i++) {
      const query = announceQuery(infoHash, {
        peerId: `-FK0001-${first + i}`,
        port: 1024 + ((first + i) % 60000),
        left: 100,
        event: 'started',
      })
      out.push(
        await new Promise<any>((resolve, reject) => {
          http
            .get(`${s.url}/announce?${query}&numwant=0`, { agent }, (res) => {
              const chunks: Buffer[] = []
              res.on('data', (c: Buffer) => chunks.push(c))
              res.on('end', () => resolve(bdecode(Buffer.concat(chunks))))
            })
            .on('error', reject)
        }),
      )
    }
    return out
  } finally {
    agent.destroy()
  }
}

const series = async () => {
  const m = await metrics(s)
  const r = (reason: string) => m.get(`seedcast_tracker_rejected_total{reason="${reason}"}`) ?? 0
  return {
    peers: m.get('seedcast_tracker_peers{kind="leecher"}')! + m.get('seedcast_tracker_peers{kind="seeder"}')!,
    addresses: m.get('seedcast_tracker_peer_addresses')!,
    perAddress: r('peers_per_address'),
    full: r('peers_full'),
    evicted: r('peers_evicted'),
  }
}

function heap(): number {
  collectGarbage()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

test('fake peers: 500 from one address store 16; 25,500 from 1,500 addresses stop at the global cap; memory bounded; a real peer still gets in', {
  timeout: 90_000,
}, async (t) => {
  // One address, 500 fake peers in one swarm: 16 stored, every one still answered.
  const one = await fakePeers('127.0.0.2', 500, 0)
  assert.ok(one.every((r) => r['failure reason'] === undefined))
  assert.equal(one.at(-1).incomplete, 16)
  assert.deepEqual(await series(), { peers: 16, addresses: 1, perAddress: 484, full: 0, evicted: 0 })

  // 1,500 addresses, 17 each, fifty addresses at a time.
  const base = heap()
  const started = Date.now()
  const addresses = Array.from({ length: 1500 }, (_, i) => `127.1.${(i >> 8) + 1}.${i & 255}`)
  for (let i = 0; i < addresses.length; i += 50) {
    await Promise.all(addresses.slice(i, i + 50).map((a, j) => fakePeers(a, 17, 1000 + (i + j) * 17)))
  }
  const grown = heap() - base
  const after = await series()
  t.diagnostic(
    `25,500 announces from 1,500 addresses in ${Date.now() - started} ms; ${JSON.stringify(after)}; heap +${(grown / MB).toFixed(1)} MB (${(grown / MAX_PEERS).toFixed(0)} bytes/peer)`,
  )
  assert.equal(after.peers, MAX_PEERS, 'the store stops at its cap')
  // Every announce is accounted for: stored (some later dropped for room), or refused by a cap.
  assert.equal(after.peers + after.evicted + after.perAddress + after.full, 500 + 25_500)
  assert.ok(after.perAddress > 484 && after.evicted > 0 && after.full > 0)
  assert.ok(grown < 32 * MB, `heap +${(grown / MB).toFixed(0)} MB for ${MAX_PEERS} peers`)

  // A real peer from a fresh address: answered with peers, and stored (room taken, nobody refused).
  const [real] = await fakePeers('127.2.0.1', 1, 900_000)
  assert.equal(real['failure reason'], undefined)
  const last = await series()
  assert.deepEqual([last.peers, last.full, last.evicted], [MAX_PEERS, after.full, after.evicted + 1])

  // Everything expires with the peers' TTL.
  s.services.tracker.sweep(Date.now() + 661_000)
  assert.deepEqual(await series(), { ...last, peers: 0, addresses: 0 })
})
