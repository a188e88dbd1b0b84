// WEB_WORKERS=2: one `node src/main.ts`, two web processes on one port, the swarms held by the
// owner. Each request below goes on a new connection, which the kernel hands to either worker
// (or on one that a given worker answers); the X-Seedcast-Worker header says which answered, and
// the test checks that both did and that both say the same: announce replies, page counts, completions, settings, removals.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { WEB_LISTENERS } from '../../src/web/webListeners.ts'
import { workerPids } from '../helpers/webWorkers.ts'
import { type ChildServer, startChildServer } from '../helpers/childServer.ts'
import { freePortUdp } from '../helpers/server.ts'
import { makeVideo, uploadForm } from '../helpers/media.ts'
import { announceQuery, bdecode, btext } from '../helpers/http.ts'
import { UdpTrackerClient } from '../helpers/udpTracker.ts'
import { dropAllWs, openWs, randomId, wsAnnounce } from '../helpers/wsTracker.ts'

let server: ChildServer
let udpPort: number

interface Fresh {
  status: number
  worker: string
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/** One request on a connection of its own (no keep-alive): any worker may take it. */
function fresh(
  path: string,
  init: {
    method?: string
    body?: string | Buffer
    auth?: boolean
    headers?: Record<string, string>
    agent?: http.Agent
  } = {},
): Promise<Fresh> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    if (init.auth) headers.authorization = server.basicAuth
    if (typeof init.body === 'string') headers['content-type'] = 'application/json'
    Object.assign(headers, init.headers)
    const req = http.request(
      `${server.url}${path}`,
      { method: init.method ?? 'GET', agent: init.agent ?? false, headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            worker: String(res.headers['x-seedcast-worker'] ?? ''),
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        )
      },
    )
    req.on('error', reject)
    // A connection the cluster handed to a worker that died meanwhile is never answered.
    req.setTimeout(10_000, () => req.destroy(new Error(`${path}: no answer in 10 s`)))
    req.end(init.body)
  })
}

/** A keep-alive connection that worker `want` answers: new ones until the kernel gives it one. */
async function onWorker(want: string): Promise<http.Agent> {
  // By time, not by count: a worker started a moment ago takes a few seconds to listen.
  for (const end = Date.now() + 20_000; Date.now() < end; ) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    if ((await fresh('/healthz', { agent })).worker === want) return agent
    agent.destroy()
  }
  assert.fail(`no connection reached worker ${want}`)
}

/** The same request until both workers have answered it: their answers, by worker. */
async function fromEach(path: string, init: Parameters<typeof fresh>[1] = {}): Promise<Map<string, Fresh>> {
  const by = new Map<string, Fresh>()
  // By time, not by count (as onWorker): a replaced worker is not listening yet when its process is there.
  for (const end = Date.now() + 20_000; Date.now() < end && by.size < 2; ) {
    const r = await fresh(path, init)
    by.set(r.worker, r)
  }
  assert.equal(by.size, 2, `both workers answer (saw ${[...by.keys()]})`)
  for (const w of by.keys()) assert.match(w, /^[12]$/)
  return by
}

const json = (r: Fresh) => JSON.parse(r.body.toString())
const peerId = (n: number) => `-WW0001-${String(n).padStart(12, '0')}`

/** Polls until every worker's API shows `want` for the video's swarm. */
async function swarmOnEach(id: string, want: { seeders: number; leechers: number; completed: number }) {
  let last: unknown
  for (let i = 0; i < 60; i++) {
    const each = await fromEach(`/api/videos/${id}`)
    const swarms = [...each.values()].map((r) => json(r).swarm)
    last = swarms
    if (swarms.every((s) => JSON.stringify(s) === JSON.stringify(want))) return
    await new Promise((r) => setTimeout(r, 250))
  }
  assert.fail(`both workers should show ${JSON.stringify(want)}; they show ${JSON.stringify(last)}`)
}

/** A one-second clip uploaded as the admin (any worker takes it): its id. */
async function upload(title: string): Promise<string> {
  const clip = await makeVideo({ seconds: 1 })
  const up = await fetch(`${server.url}/api/videos`, {
    method: 'POST',
    headers: { authorization: server.basicAuth },
    body: await uploadForm({ title }, { path: clip }),
  })
  assert.equal(up.status, 201, await up.clone().text())
  return ((await up.json()) as { id: string }).id
}

const run = promisify(execFile)

before(async () => {
  udpPort = await freePortUdp()
  server = await startChildServer({ WEB_WORKERS: '2', TRACKER_UDP_PORT: String(udpPort) })
})
after(async () => {
  dropAllWs()
  await server?.stop()
})

test('two web workers: one swarm whichever worker a peer or a page hits; removals and settings reach both at once', async () => {
  const id = await upload('Two workers')
  let infoHash = ''
  for (let i = 0; i < 200 && !infoHash; i++) {
    infoHash = json(await fresh(`/api/videos/${id}`)).torrent?.infoHash ?? ''
    if (!infoHash) await new Promise((r) => setTimeout(r, 50))
  }
  assert.ok(infoHash, 'the torrent is made')

  // Two seeders and two leechers, announced over new connections: both workers take some.
  const seen = new Set<string>()
  for (let n = 1; n <= 4; n++) {
    const agent = await onWorker(String(1 + (n % 2)))
    const r = await fresh(
      `/announce?${announceQuery(infoHash, { peerId: peerId(n), port: 40000 + n, left: n <= 2 ? 0 : 1000, event: 'started' })}`,
      { agent },
    )
    agent.destroy()
    assert.equal(bdecode(r.body)['failure reason'], undefined)
    seen.add(r.worker)
  }
  // Whichever worker answers, the reply counts every peer, and hands out peers announced on the other.
  const replies = await fromEach(`/announce?${announceQuery(infoHash, { peerId: peerId(3), port: 40003, left: 1000 })}`)
  for (const [w, r] of replies) {
    const reply = bdecode(r.body)
    assert.equal(reply.complete, 2, `worker ${w}: seeders`)
    assert.equal(reply.incomplete, 2, `worker ${w}: leechers`)
    assert.equal(Buffer.from(reply.peers).length, 3 * 6, `worker ${w}: the three other peers`)
  }
  // A UDP leecher, announced to the owner's socket.
  const udp = await UdpTrackerClient.open('127.0.0.1', udpPort)
  try {
    await udp.announce({ infoHash, left: 1000n, port: 40005, event: 2 })
  } finally {
    udp.close()
  }
  await swarmOnEach(id, { seeders: 2, leechers: 3, completed: 0 })
  // Browser peers: each WebSocket connection reaches a worker, which passes the socket to the
  // owner (the swarms are there); every one is answered and counted in the swarm.
  const sockets = await Promise.all([1, 2, 3, 4].map(() => openWs(server.port)))
  const browserIds = sockets.map(() => randomId())
  for (const [i, ws] of sockets.entries()) {
    const reply = await wsAnnounce(ws, { infoHash, peerId: browserIds[i]!, event: 'started', left: i === 0 ? 0 : 1000 })
    assert.equal(reply['failure reason'], undefined, JSON.stringify(reply))
    assert.equal(reply.action, 'announce', JSON.stringify(reply))
  }
  await swarmOnEach(id, { seeders: 3, leechers: 6, completed: 0 })
  for (const [i, ws] of sockets.entries())
    await wsAnnounce(ws, { infoHash, peerId: browserIds[i]!, event: 'stopped' }).catch(() => {})
  dropAllWs()
  // A completion through one worker is counted once, and shown by both.
  await fresh(`/announce?${announceQuery(infoHash, { peerId: peerId(4), port: 40004, left: 0, event: 'completed' })}`)
  await swarmOnEach(id, { seeders: 3, leechers: 2, completed: 1 })

  // BitTorrent off through one worker: refused through both as soon as the PUT is answered.
  const off = await fresh('/api/settings', {
    method: 'PUT',
    auth: true,
    body: JSON.stringify({ bittorrentEnabled: false }),
  })
  assert.equal(off.status, 200, off.body.toString())
  for (const [w, r] of await fromEach(`/announce?${announceQuery(infoHash, { peerId: peerId(1), port: 40001 })}`))
    assert.match(btext(bdecode(r.body)['failure reason']), /switched off/, `worker ${w}`)
  for (let i = 0; ; i++) {
    const each = await fromEach('/api/settings', { auth: true })
    if ([...each.values()].every((r) => json(r).bittorrentEnabled === false)) break
    assert.ok(i < 40, 'both workers read the new setting within seconds')
    await new Promise((r) => setTimeout(r, 250))
  }
  const on = await fresh('/api/settings', {
    method: 'PUT',
    auth: true,
    body: JSON.stringify({ bittorrentEnabled: true }),
  })
  assert.equal(on.status, 200)

  // Unpublished through one worker: its torrent is refused through both at once.
  const hidden = await fresh(`/api/videos/${id}`, {
    method: 'PATCH',
    auth: true,
    body: JSON.stringify({ published: false }),
  })
  assert.equal(hidden.status, 200, hidden.body.toString())
  for (const [w, r] of await fromEach(`/announce?${announceQuery(infoHash, { peerId: peerId(1), port: 40001 })}`))
    assert.match(btext(bdecode(r.body)['failure reason']), /unregistered/, `worker ${w}`)
  assert.equal(seen.size, 2, 'the first announces were spread over both workers')
})

test('each worker keeps anonymous video pages; an edit, unpublishing or a settings change on one drops them on both', async () => {
  const id = await upload('Kept twice')
  for (let i = 0; i < 400; i++) {
    const v = json(await fresh(`/api/videos/${id}`))
    if (v.status === 'ready' && v.detailsStatus !== 'pending') break
    assert.ok(i < 399, 'the video is ready')
    await new Promise((r) => setTimeout(r, 50))
  }
  // Drawn once on each worker, then sent from each one's copy (a copy says its age).
  await fromEach(`/videos/${id}`)
  for (const [w, r] of await fromEach(`/videos/${id}`)) {
    assert.equal(r.status, 200)
    assert.match(String(r.headers.age ?? ''), /^\d+$/, `worker ${w} sends its copy`)
    assert.match(r.body.toString(), /Kept twice/)
  }
  // Through the owner to every worker: within moments of the answer, never the copy again.
  const bothShow = async (what: string, ok: (r: Fresh) => boolean) => {
    for (let i = 0; ; i++) {
      const each = await fromEach(`/videos/${id}`)
      if ([...each.values()].every(ok)) return
      assert.ok(i < 20, `both workers show ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const patch = (body: object) =>
    fresh(`/api/videos/${id}`, { method: 'PATCH', auth: true, body: JSON.stringify(body) })
  assert.equal((await patch({ title: 'Edited on one' })).status, 200)
  await bothShow('the new title', (r) => r.status === 200 && r.body.toString().includes('Edited on one'))
  await fromEach(`/videos/${id}`)
  assert.equal((await patch({ published: false })).status, 200)
  await bothShow('no page to others', (r) => r.status === 404)
  assert.equal((await patch({ published: true })).status, 200)
  await bothShow('the page again', (r) => r.status === 200)
  await fromEach(`/videos/${id}`)
  const off = await fresh('/api/settings', {
    method: 'PUT',
    auth: true,
    body: JSON.stringify({ webSeedEnabled: false }),
  })
  assert.equal(off.status, 200, off.body.toString())
  await bothShow('no web seed', (r) => r.status === 200 && !r.body.toString().includes('ws=http%3A'))
  const on = await fresh('/api/settings', { method: 'PUT', auth: true, body: JSON.stringify({ webSeedEnabled: true }) })
  assert.equal(on.status, 200)
  await bothShow('the web seed again', (r) => r.status === 200 && r.body.toString().includes('ws=http%3A'))
})

/** The listening sockets on the web port, counted by the process holding them (iproute2's ss). */
async function webSockets(): Promise<Map<number, number>> {
  const { stdout } = await run('ss', ['-Htlnp', `sport = :${server.port}`])
  const held = new Map<number, number>()
  for (const pid of stdout.matchAll(/pid=(\d+)/g)) held.set(Number(pid[1]), (held.get(Number(pid[1])) ?? 0) + 1)
  return held
}

test('a web worker that dies is replaced; meanwhile the other answers every request', { timeout: 60_000 }, async () => {
  const before = await workerPids(server.pid)
  assert.deepEqual([...before.keys()].sort(), ['1', '2'])
  // Each worker listens on sockets of its own (src/web/webListeners.ts), the owner on none.
  const own = (pids: Map<string, number>) => new Map([...pids.values()].map((pid) => [pid, WEB_LISTENERS]))
  assert.deepEqual(await webSockets(), own(before))
  process.kill(before.get('1')!, 'SIGKILL')
  // Until the kernel has closed the killed worker's sockets, a connection it hashes to one of them
  // is reset (with net.ipv4.tcp_migrate_req=0, as on this machine; INSTALL.txt sets it to 1).
  // Then every new connection goes to worker 2, until the new worker 1 listens.
  for (let i = 0; i < 100 && (await webSockets()).has(before.get('1')!); i++)
    await new Promise((r) => setTimeout(r, 20))
  assert.deepEqual(await webSockets(), new Map([[before.get('2')!, WEB_LISTENERS]]), 'only worker 2 listens')
  const during = new Set<string>()
  for (let i = 0; i < 10; i++) {
    const r = await fresh('/healthz')
    assert.equal(r.status, 200, `request ${i} while worker 1 is gone`)
    during.add(r.worker)
  }
  let after = before
  for (let i = 0; i < 100 && !(after.get('1') && after.get('1') !== before.get('1')); i++) {
    await new Promise((r) => setTimeout(r, 100))
    after = await workerPids(server.pid)
  }
  assert.ok(after.get('1') && after.get('1') !== before.get('1'), 'a new worker 1 is started')
  assert.equal(after.get('2'), before.get('2'), 'worker 2 was left alone')
  assert.match(server.output(), /web worker 1 exited \(SIGKILL\); starting another/)
  // Both answer again, the new one with the swarms and settings of the owner.
  const each = await fromEach('/api/settings', { auth: true })
  for (const [w, r] of each) assert.equal(json(r).bittorrentEnabled, true, `worker ${w}`)
  assert.deepEqual(await webSockets(), own(after), 'the new worker 1 joined the port with its own sockets')
  assert.deepEqual([...during], ['2'])
})

test('a resumable (tus) upload whose requests reach both workers is stored whole, with its torrent', async () => {
  const clip = await makeVideo({ seconds: 2, noise: 20 })
  const bytes = await readFile(clip)
  const tus = { 'tus-resumable': '1.0.0' }
  const meta = `filename ${Buffer.from('spread.mp4').toString('base64')},title ${Buffer.from('Spread').toString('base64')}`
  const made = await fresh('/api/uploads', {
    method: 'POST',
    auth: true,
    headers: { ...tus, 'upload-length': String(bytes.length), 'upload-metadata': meta },
  })
  assert.equal(made.status, 201, made.body.toString())
  const location = new URL(String(made.headers.location), server.url).pathname
  const took = new Set<string>()
  const CHUNK = Math.ceil(bytes.length / 6)
  let last: Fresh | undefined
  for (let offset = 0, n = 0; offset < bytes.length; offset += CHUNK, n++) {
    // Where the upload stands (from whichever worker), then its bytes on the other worker than
    // the last. Node's agent does not reuse a connection after a HEAD (it opened a new one for
    // the next request, which then reached either worker), so the HEAD goes on a connection of its own.
    const head = await fresh(location, { method: 'HEAD', auth: true, headers: tus })
    assert.equal(head.status, 200, `HEAD at ${offset} (worker ${head.worker})`)
    assert.equal(Number(head.headers['upload-offset']), offset)
    const want = n % 2 === 0 ? '1' : '2'
    const agent = await onWorker(want)
    last = await fresh(location, {
      method: 'PATCH',
      auth: true,
      headers: { ...tus, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      body: bytes.subarray(offset, offset + CHUNK),
      agent,
    })
    agent.destroy()
    assert.equal(last.status, 204, `PATCH at ${offset} (worker ${last.worker}): ${last.body.toString()}`)
    assert.equal(last.worker, want, `the PATCH at ${offset} went on the connection to worker ${want}`)
    took.add(last.worker)
  }
  assert.equal(took.size, 2, 'both workers took PATCHes of the upload')
  const id = String(last!.headers['seedcast-video'] ?? '')
  assert.ok(id, 'the last PATCH names the new video')
  for (const [w, r] of await fromEach(`/api/videos/${id}`)) {
    const video = json(r)
    assert.equal(video.status, 'ready', `worker ${w}`)
    assert.equal(video.size, bytes.length)
    const file = await fresh(new URL(video.fileUrl).pathname)
    assert.ok(file.body.equals(bytes), `worker ${w} serves the uploaded bytes`)
  }
})
