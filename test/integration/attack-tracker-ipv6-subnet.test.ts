// Attack: per-address limits beaten with one IPv6 /64, which a single subscriber is routed, by
// taking a fresh address for every request. Behind a proxy (TRUST_PROXY=on) the tracker knows
// peers by X-Forwarded-For, which here carries addresses of one /64 (2001:db8::/32 is the
// documentation range: no traffic goes there). The rate limit, the peers per address per swarm
// and the WebSocket connections per address all count the /64 as one address; the next /64 is
// another.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type WebSocket from 'ws'
import type { TestServer } from '../helpers/server.ts'
import { announceQuery, bdecode } from '../helpers/http.ts'
import { connectWs, rejected, startTrackerSite, type TrackerSite } from '../helpers/wsTracker.ts'

let s: TestServer
let infoHash: string
let site: TrackerSite
before(async () => {
  site = await startTrackerSite({ TRUST_PROXY: 'on', TRACKER_RATE_LIMIT_PER_MINUTE: '30' })
  ;({ server: s, infoHash } = site)
})
after(() => site?.stop())

async function announceAs(ip: string, peer: string): Promise<{ failure?: string; incomplete?: number }> {
  const res = await fetch(
    `${s.url}/announce?${announceQuery(infoHash, { peerId: peer, port: 6881, left: 100, event: 'started' })}&numwant=0`,
    { headers: { 'X-Forwarded-For': ip } },
  )
  const r = bdecode(new Uint8Array(await res.arrayBuffer()))
  return r['failure reason'] ? { failure: Buffer.from(r['failure reason']).toString() } : { incomplete: r.incomplete }
}

test('forty addresses of one /64 share one rate-limit bucket and one peer cap; the next /64 is not limited', async () => {
  const replies = []
  for (let i = 1; i <= 40; i++)
    replies.push(
      await announceAs(`2001:db8:1:2:${i.toString(16)}:${((i * 7919) & 0xffff).toString(16)}::${i}`, `-FK0001-v6-${i}`),
    )
  const limited = replies.filter((r) => /rate limit/.test(r.failure ?? '')).length
  // One bucket of 30 for the whole /64 (a token more comes back every 2 s on a slow run).
  assert.ok(limited >= 8 && limited <= 10, `${limited} refused`)
  assert.equal(replies[29]!.incomplete, 16, 'and 16 peers stored for it in the swarm')
  assert.equal(await rejected(s, 'peers_per_address'), 40 - limited - 16)
  assert.equal(await rejected(s, 'rate_limited'), limited)
  // The neighbouring /64 (same /48) and an IPv4 client are their own addresses.
  assert.deepEqual(await announceAs('2001:db8:1:3::1', '-TR4060-next64'), { incomplete: 17 })
  assert.deepEqual(await announceAs('203.0.113.5', '-TR4060-ipv4'), { incomplete: 18 })
})

test('WebSocket connections from one /64 stop at the per-address cap (429); the next /64 gets in', async () => {
  const open: WebSocket[] = []
  const refused: number[] = []
  try {
    for (let i = 1; i <= 20; i++) {
      const c = await connectWs(s.port, { headers: { 'X-Forwarded-For': `2001:db8:aa:bb::${i.toString(16)}` } })
      c.ws ? open.push(c.ws) : refused.push(c.status)
    }
    assert.equal(open.length, 16)
    assert.deepEqual(refused, [429, 429, 429, 429])
    assert.equal(await rejected(s, 'ws_connections_per_address'), 4)
    const next = await connectWs(s.port, { headers: { 'X-Forwarded-For': '2001:db8:aa:bc::1' } })
    assert.ok(next.ws, 'another /64 is another address')
    open.push(next.ws)
  } finally {
    for (const ws of open) ws.close()
  }
})
