// Attack: 95 MB WebSocket tracker announces, one and then sixteen at once (and one sent as
// thousands of small fragments), at the web app's WebSocket tracker. The ws server used to take
// messages up to 100 MiB: one such announce added ~460 MB to the web app and sixteen peaked at
// 2.46 GB. Now a message over TRACKER_WS_MAX_MESSAGE_BYTES (64 KiB; a real WebTorrent announce
// with 5 offers is ~11 KB) closes the connection with 1009 from its frame header, before it is
// buffered. The attacker runs in a child process, so this process's RSS is the web app's.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import type { TestServer } from '../helpers/server.ts'
import { getVideo } from '../helpers/http.ts'
import { openWs, randomId, rejected, wsAnnounce, startTrackerSite, type TrackerSite } from '../helpers/wsTracker.ts'
import { collectGarbage } from '../helpers/gc.ts'

const MB = 1024 * 1024
const WS_MODULE = path.resolve('node_modules/ws/wrapper.mjs')

let s: TestServer
let infoHash: string
let videoId: string
let site: TrackerSite
before(async () => {
  site = await startTrackerSite()
  ;({ server: s, infoHash, videoId } = site)
})
after(() => site?.stop())

// The attacker: `count` sockets each sending one 95 MB announce (whole, or in 32 KiB fragments);
// prints the close code each saw (0: it was answered instead).
const ATTACKER = `
import WebSocket from ${JSON.stringify(WS_MODULE)}
const [port, count, mode, hash] = process.argv.slice(1)
const head = Buffer.from(JSON.stringify({ action: 'announce', info_hash: Buffer.from(hash, 'hex').toString('latin1'), peer_id: '-WW0001-aaaaaaaaaaaa', event: 'started', numwant: 1, offers: [{ offer_id: 'x'.repeat(20), offer: { type: 'offer', sdp: '' } }] }).slice(0, -5))
const body = Buffer.concat([head, Buffer.alloc(95_000_000, 0x61), Buffer.from('"}}]}')])
const codes = await Promise.all(Array.from({ length: Number(count) }, () => new Promise((resolve) => {
  const ws = new WebSocket('ws://127.0.0.1:' + port + '/announce', { perMessageDeflate: false })
  ws.on('open', () => {
    if (mode !== 'fragments') return ws.send(body, () => {})
    const step = 32 * 1024
    for (let i = 0; i < body.length && ws.readyState === 1; i += step) ws.send(body.subarray(i, i + step), { fin: i + step >= body.length }, () => {})
  })
  ws.on('close', (code) => resolve(code))
  // A tracker that took the message answers it: say so (as code 0) rather than wait.
  ws.on('message', () => { resolve(0); ws.terminate() })
  ws.on('error', () => {})
})))
console.log(JSON.stringify(codes))
`

function attack(count: number, mode: 'whole' | 'fragments'): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', ATTACKER, String(s.port), String(count), mode, infoHash],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
    })
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`attacker exited with ${code}`)),
    )
  })
}

function rss(): number {
  collectGarbage()
  return process.memoryUsage().rss
}

test('95 MB WebSocket announces (one, sixteen at once, one in fragments) are closed with 1009; RSS within +64 MB; counted; the site and a real announce still work', {
  timeout: 120_000,
}, async (t) => {
  const base = rss()
  let peak = base
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, 20)
  const started = Date.now()
  try {
    assert.deepEqual(await attack(1, 'whole'), [1009])
    // Sixteen at once, with a page and an API request answered meanwhile.
    const pageDuring = (async () => {
      await new Promise((r) => setTimeout(r, 200))
      return [(await fetch(`${s.url}/`)).status, (await fetch(`${s.url}/api/videos/${videoId}`)).status]
    })()
    const [codes, statuses] = await Promise.all([attack(16, 'whole'), pageDuring])
    assert.deepEqual(codes, Array(16).fill(1009))
    assert.deepEqual(statuses, [200, 200], 'pages answered during the attack')
    assert.deepEqual(await attack(1, 'fragments'), [1009], 'a message in small fragments is bounded by its total')
  } finally {
    clearInterval(sampler)
  }
  const settled = rss()
  t.diagnostic(
    `18 x 95 MB in ${Date.now() - started} ms; RSS ${(base / MB).toFixed(0)} MB before, peak +${((peak - base) / MB).toFixed(1)} MB, +${((settled - base) / MB).toFixed(1)} MB after`,
  )
  assert.ok(peak - base < 64 * MB, `RSS peaked at +${((peak - base) / MB).toFixed(0)} MB`)
  assert.ok(settled - base < 64 * MB, `RSS +${((settled - base) / MB).toFixed(0)} MB after`)
  assert.ok((await rejected(s, 'ws_message_too_big')) >= 18, 'each refusal counted')

  // The site still answers, and a real announce (five offers, as WebTorrent sends) works.
  assert.equal((await fetch(`${s.url}/`)).status, 200)
  const ws = await openWs(s.port)
  try {
    const offers = Array.from({ length: 5 }, (_, i) => ({
      offer_id: `offer-${i}`.padEnd(20, '.'),
      offer: { type: 'offer', sdp: 'v=0\r\n'.padEnd(3000, 'a') },
    }))
    const reply = await wsAnnounce(ws, { infoHash, peerId: randomId(), event: 'started', offers })
    assert.equal(reply['failure reason'], undefined)
    assert.equal(reply.action, 'announce')
    assert.equal(reply.incomplete, 1)
    assert.deepEqual((await getVideo(s, videoId)).swarm, { seeders: 0, leechers: 1, completed: 0 })
  } finally {
    ws.close()
  }
})
