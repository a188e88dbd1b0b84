// The offload figures against independent counts, on a real server: body bytes of the file
// route's answers counted by a proxy between curl and the server (whole file, ranges, HEAD, a
// refused range, a web seed client by User-Agent; and a player that leaves early), peers'
// announces over HTTP and UDP (increases, a restart at 0, a bogus huge value, a peer unknown to
// the tracker, the site's own seeder left out), and the same numbers on the API, the video page,
// the dashboard and its JSON twin.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import net from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { ADMIN_PASSWORD, freePortUdp, startTestServer, type TestServer } from '../helpers/server.ts'
import { binParam, getVideo, uploadOk, waitFor, type VideoJson } from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'
import { bdecodeDict, failureOf } from '../helpers/trackerReply.ts'
import { EVENT, UdpTrackerClient } from '../helpers/udpTracker.ts'
import { dropAllWs, openWs, wsAnnounce } from '../helpers/wsTracker.ts'
import { startCountingProxy, type CountingProxy } from '../helpers/countingProxy.ts'
import { mp4Header, writeMedia } from '../../bench/lib/media.ts'
import { MiB } from '../../bench/lib/format.ts'

const run = promisify(execFile)
const SIZE = 24 * MiB

interface Row {
  seederBytes: number
  webSeedBytes: number
  playbackBytes: number
  downloadedBytes: number
}

let server: TestServer
let proxy: CountingProxy
let udp: UdpTrackerClient
let video: VideoJson
let fileName: string
let dir: string

before(async () => {
  server = await startTestServer({ TRACKER_UDP_PORT: String(await freePortUdp()) })
  proxy = await startCountingProxy(server.port)
  udp = await UdpTrackerClient.open('127.0.0.1', server.udpPort!)
  dir = await mkdtemp(path.join(tmpdir(), 'seedcast-offload-'))
  const file = path.join(dir, 'big.mp4')
  await writeMedia(file, await mp4Header(), SIZE)
  video = await uploadOk(server, { title: 'Offload <test>', description: '' }, { path: file })
  assert.equal(video.size, SIZE)
  assert.ok(video.torrent)
  fileName = decodeURIComponent(path.basename(new URL(video.fileUrl).pathname))
})
after(async () => {
  await udp?.close()
  await proxy?.close()
  await server?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** What the store holds for the video after a flush (zeros before its first count). */
async function stored(): Promise<Row> {
  await server.services.offload.flush()
  const [row] = await sql<Row>(server, 'SELECT * FROM "VideoOffload" WHERE "videoId" = ?', video.id)
  const n = (v: unknown) => Number(v ?? 0)
  return {
    seederBytes: n(row?.seederBytes),
    webSeedBytes: n(row?.webSeedBytes),
    playbackBytes: n(row?.playbackBytes),
    downloadedBytes: n(row?.downloadedBytes),
  }
}

/** curl through the proxy: the body size curl says it received, the HTTP status and curl's exit code. */
async function curl(args: string[]): Promise<{ received: number; status: number; code: number }> {
  const url = `http://127.0.0.1:${proxy.port}/media/${encodeURIComponent(fileName)}`
  const argv = ['-s', '-o', '/dev/null', '-w', '%{size_download} %{http_code}', '--noproxy', '*', ...args, url]
  const out = await run('curl', argv).then(
    (r) => ({ stdout: r.stdout, code: 0 }),
    (err: { stdout: string; code: number }) => ({ stdout: err.stdout, code: err.code }),
  )
  const [received, status] = out.stdout.trim().split(' ').map(Number)
  return { received: received ?? Number.NaN, status: status ?? 0, code: out.code }
}

describe('origin bytes: the file route counts what it sends', () => {
  test('whole file, ranges, HEAD and a refused range as playback; a web seed client by its User-Agent', async () => {
    const before = await stored()
    const proxyBefore = proxy.mediaBytes()
    const asPlayer = [
      [],
      ['-r', '0-99999'],
      ['-r', `${SIZE - 1000}-`],
      ['-r', '5000000-5999999'],
      ['-I'],
      ['-r', `${SIZE + 10}-${SIZE + 20}`],
    ]
    let received = 0
    let refusal = 0
    const statuses: number[] = []
    for (const args of asPlayer) {
      const r = await curl(args)
      statuses.push(r.status)
      if (r.status === 200 || r.status === 206) received += r.received
      else refusal += r.received
    }
    const playback = proxy.mediaBytes() - proxyBefore
    assert.deepEqual(statuses, [200, 206, 206, 206, 200, 416])
    assert.equal(received, SIZE + 100_000 + 1000 + 1_000_000, 'what curl received')
    const mid = await stored()
    // The 416 answer's error page is not the file: only 200 and 206 answers count.
    assert.ok(refusal > 0)
    assert.equal(playback, received + refusal, 'the proxy saw what curl received')
    assert.equal(mid.playbackBytes - before.playbackBytes, received, 'playback = the file bytes the client got')
    assert.equal(mid.webSeedBytes - before.webSeedBytes, 0)

    const seedBefore = proxy.mediaBytes()
    for (const r of ['0-16383', '16384-1064959', `${SIZE - 16384}-${SIZE - 1}`])
      await curl(['-A', 'aria2/1.37.0', '-r', r])
    const webseed = proxy.mediaBytes() - seedBefore
    assert.equal(webseed, 16384 + 1_048_576 + 16384)
    const end = await stored()
    assert.equal(end.webSeedBytes - mid.webSeedBytes, webseed, 'web seed = what the proxy passed')
    assert.equal(end.playbackBytes, mid.playbackBytes)
    assert.deepEqual(proxy.problems, [])
  })

  test('a download cut off by the client counts what was sent, not the file', async (t) => {
    const before = await stored()
    const got = await readSlowlyThenLeave(1 * MiB)
    // The server sees the close a moment after the client leaves.
    const counted = await waitFor(async () => {
      const n = (await stored()).playbackBytes - before.playbackBytes
      return n > 0 ? n : undefined
    }, 'the cut-off response to be counted')
    // Besides what the client read, the server counts what was still in the kernel's socket
    // buffers when it left: its send buffer (at most 4 MiB here: net.ipv4.tcp_wmem) and the
    // client's receive buffer (it read slowly, so that stayed small).
    assert.ok(counted >= got, `counted ${counted}, the client read ${got}`)
    assert.ok(counted <= got + 5 * MiB, `counted ${counted}, the client read ${got}`)
    assert.ok(counted < SIZE / 4, `far less than the file (${counted} of ${SIZE})`)
    t.diagnostic(`the client read ${got} body bytes and left; the server counted ${counted}`)
  })
})

/** A player that reads the file slowly (64 KiB each 20 ms) and leaves after `atLeast` body bytes; returns how many it read. */
function readSlowlyThenLeave(atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port })
    let head = Buffer.alloc(0)
    let body = -1 // body bytes read; -1 while the head is still coming
    socket.on('connect', () =>
      socket.write(`GET /media/${encodeURIComponent(fileName)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
    )
    socket.on('readable', function read() {
      const chunk = socket.read(64 * 1024) ?? socket.read()
      if (chunk === null) return
      if (body < 0) {
        head = Buffer.concat([head, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end >= 0) body = head.length - end - 4
      } else body += chunk.length
      if (body >= atLeast) {
        socket.destroy()
        resolve(body)
        return
      }
      setTimeout(read, 20)
    })
    socket.on('error', reject)
  })
}

describe("peers' bytes from their announces", () => {
  const pid = (name: string) => Buffer.from(name.padEnd(20, '.').slice(0, 20), 'latin1')
  async function http(peer: string, port: number, downloaded: number | string, left: number, event?: string) {
    const q = [
      `info_hash=${binParam(Buffer.from(video.torrent!.infoHash, 'hex'))}`,
      `peer_id=${binParam(pid(peer))}`,
      `port=${port}`,
      'uploaded=0',
      `downloaded=${downloaded}`,
      `left=${left}`,
      'compact=1',
      ...(event ? [`event=${event}`] : []),
    ].join('&')
    const res = await fetch(`${server.url}/announce?${q}`)
    const reply = bdecodeDict(Buffer.from(await res.arrayBuffer()))
    assert.equal(failureOf(reply), undefined)
  }
  const udpAnnounce = (peer: string, port: number, downloaded: bigint, left: bigint, event: number) =>
    udp.announce({ infoHash: video.torrent!.infoHash, peerId: pid(peer), port, downloaded, left, event })

  test('HTTP and UDP announces add the increases of `downloaded`, clamped', async () => {
    const before = await stored()
    // A: downloads the file in two steps, then completes.
    await http('-TA0001-a', 7001, 0, SIZE, 'started')
    await http('-TA0001-a', 7001, 5 * MiB, SIZE - 5 * MiB)
    await http('-TA0001-a', 7001, SIZE, 0, 'completed')
    // B: 3 MiB, then its counter starts again at 0 (a restart): 1 MiB, then 2 MiB, then gone.
    await http('-TB0001-b', 7002, 0, SIZE, 'started')
    await http('-TB0001-b', 7002, 3 * MiB, SIZE - 3 * MiB)
    await http('-TB0001-b', 7002, 1 * MiB, SIZE - 1 * MiB)
    await http('-TB0001-b', 7002, 2 * MiB, SIZE - 2 * MiB, 'stopped')
    // C over UDP: a bogus huge value counts as the whole file, once; its `stopped` adds nothing more.
    await udpAnnounce('-UC0001-c', 7003, 0n, BigInt(SIZE), EVENT.started)
    await udpAnnounce('-UC0001-c', 7003, 2n ** 62n, 0n, EVENT.none)
    await udpAnnounce('-UC0001-c', 7003, 2n ** 62n, 0n, EVENT.none)
    await udpAnnounce('-UC0001-c', 7003, BigInt(SIZE), 0n, EVENT.stopped)
    // D over UDP, unknown to the tracker (as after a restart of the site): 7 MiB is its start.
    await udpAnnounce('-UD0001-d', 7004, BigInt(7 * MiB), BigInt(SIZE - 7 * MiB), EVENT.none)
    await udpAnnounce('-UD0001-d', 7004, BigInt(8 * MiB), BigInt(SIZE - 8 * MiB), EVENT.none)
    // The site's own seeder (its peer id prefix) is the origin, not a peer, whatever it says.
    await http('-SC0100-0123456789ab', 7005, SIZE, 0, 'started')
    await http('-SC0100-0123456789ab', 7005, 2 * SIZE, 0)
    const after = await stored()
    const expected = SIZE + (3 + 1 + 1) * MiB + SIZE + 1 * MiB
    assert.equal(after.downloadedBytes - before.downloadedBytes, expected)
  })

  test('WebSocket (browser) announces add theirs to the same tally, by the same rules', async (t) => {
    t.after(dropAllWs)
    const before = await stored()
    const ws = await openWs(server.port)
    const infoHash = video.torrent!.infoHash
    const say = async (peer: string, downloaded: unknown, left: number, event?: string) => {
      const reply = await wsAnnounce(ws, { infoHash, peerId: pid(peer).toString('hex'), downloaded, left, event })
      assert.equal(reply['failure reason'], undefined, JSON.stringify(reply))
    }
    // E: 4 then 6 MiB, and leaves: 6 MiB.
    await say('-WW0001-e', 0, SIZE, 'started')
    await say('-WW0001-e', 4 * MiB, SIZE - 4 * MiB)
    await say('-WW0001-e', 6 * MiB, SIZE - 6 * MiB, 'stopped')
    // F: a count that is no number is none (its baseline stays); a huge one is the whole file, once.
    await say('-WW0001-f', 0, SIZE, 'started')
    await say('-WW0001-f', '3145728', SIZE)
    await say('-WW0001-f', null, SIZE)
    await say('-WW0001-f', 3 * MiB, SIZE - 3 * MiB)
    await say('-WW0001-f', 2 ** 60, 0, 'completed')
    await say('-WW0001-f', 2 ** 61, 0)
    const after = await stored()
    assert.equal(after.downloadedBytes - before.downloadedBytes, 6 * MiB + SIZE)
  })
})

describe('the same figures on the API, the video page and the dashboard', () => {
  test('video object, page text, dashboard page and /api/offload agree with the counts', async () => {
    const row = await stored()
    const origin = row.seederBytes + row.webSeedBytes + row.playbackBytes
    const peers = Math.max(0, row.downloadedBytes - row.seederBytes - row.webSeedBytes)
    assert.ok(peers > 0 && origin > 0, `peers ${peers}, origin ${origin}`)

    const api = await getVideo(server, video.id)
    assert.deepEqual(api.offload, { originBytes: origin, peerBytes: peers })
    const listed = (await (await fetch(`${server.url}/api/videos`)).json()) as { videos: VideoJson[] }
    assert.deepEqual(listed.videos.find((v) => v.id === video.id)?.offload, api.offload)

    const page = await (await fetch(`${server.url}/videos/${video.id}`)).text()
    const pct = Math.round((100 * peers) / (peers + origin))
    const shown = new RegExp(
      `<dt>Served by peers</dt><dd id="served-by-peers" data-bytes="${peers}">([\\d.]+) (MiB|GiB) \\(${pct} %\\)</dd>`,
    )
    const m = shown.exec(page)
    assert.ok(m, `the page shows "served by peers: X (${pct} %)"`)
    const unit = m[2] === 'GiB' ? 1024 * MiB : MiB
    assert.ok(Math.abs(Number(m[1]) * unit - peers) < 0.01 * peers, `${m[1]} ${m[2]} is ${peers} bytes`)
    assert.match(page, new RegExp(`id="sent-by-site" data-bytes="${origin}"`))

    // JSON twin: admin only.
    assert.equal((await fetch(`${server.url}/api/offload`)).status, 401)
    const res = await fetch(`${server.url}/api/offload`, { headers: { authorization: server.basicAuth } })
    assert.equal(res.status, 200)
    const site = (await res.json()) as {
      originBytes: { seeder: number; webseed: number; playback: number; total: number }
      peerBytes: number
      peerShare: number
      videos: { id: string; title: string; originBytes: { total: number }; peerBytes: number }[]
      history: {
        range: string
        bucketSeconds: number
        points: { at: string; originBytes: number; peerBytes: number }[]
      }
    }
    assert.deepEqual(site.originBytes, {
      seeder: row.seederBytes,
      webseed: row.webSeedBytes,
      playback: row.playbackBytes,
      total: origin,
    })
    assert.equal(site.peerBytes, peers)
    assert.ok(Math.abs(site.peerShare - peers / (peers + origin)) < 1e-9)
    assert.equal(site.videos[0]?.id, video.id)
    assert.equal(site.videos[0]?.title, 'Offload <test>')
    assert.equal(site.videos[0]?.peerBytes, peers)
    // The chart's buckets add up to the totals (everything was counted within this run).
    assert.equal(site.history.range, '24h')
    assert.equal(site.history.bucketSeconds, 300)
    // The buckets the last 24 hours touch: 288, and one more unless now is on a bucket's start.
    assert.ok([288, 289].includes(site.history.points.length), `${site.history.points.length} buckets`)
    const sum = (k: 'originBytes' | 'peerBytes') => site.history.points.reduce((s, p) => s + p[k], 0)
    assert.equal(sum('originBytes'), origin)
    assert.ok(sum('peerBytes') >= peers, 'floored per bucket, the history is never below the total')
    const month = await (
      await fetch(`${server.url}/api/offload?range=30d`, { headers: { authorization: server.basicAuth } })
    ).json()
    assert.equal(month.history.bucketSeconds, 3600)
    assert.equal(
      (await fetch(`${server.url}/api/offload?range=1y`, { headers: { authorization: server.basicAuth } })).status,
      400,
    )

    // The dashboard: a login as for the settings page, linked from the header.
    const anonymous = await fetch(`${server.url}/admin/offload`, { redirect: 'manual' })
    assert.equal(anonymous.status, 303)
    const login = await fetch(`${server.url}/login`, {
      redirect: 'manual',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'admin', password: ADMIN_PASSWORD, next: '/' }).toString(),
    })
    const cookie = login.headers
      .getSetCookie()
      .find((c) => c.startsWith('seedcast_session='))!
      .split(';')[0]!
    const dash = await (await fetch(`${server.url}/admin/offload`, { headers: { cookie } })).text()
    assert.match(dash, /<a href="\/admin\/offload">Offload<\/a>/)
    assert.match(dash, new RegExp(`id="peer-bytes" data-bytes="${peers}"`))
    assert.match(dash, new RegExp(`id="origin-bytes" data-bytes="${origin}"`))
    for (const [label, n] of [
      ['Seeder', row.seederBytes],
      ['Web seed', row.webSeedBytes],
      ['Playback', row.playbackBytes],
    ] as const)
      assert.match(dash, new RegExp(`<td>${label}[^<]*</td><td data-bytes="${n}">${n}</td>`))
    assert.match(dash, new RegExp(`<tr data-video-id="${video.id}"><td><a href="[^"]+">Offload &lt;test&gt;</a></td>`))
    assert.equal((dash.match(/<svg [^>]*class="offload-chart"/g) ?? []).length, 2, 'two charts')
    assert.doesNotMatch(dash, /no data yet/)
    const settings = await (await fetch(`${server.url}/admin/settings`, { headers: { cookie } })).text()
    assert.match(settings, /href="\/admin\/offload"/)
  })
})
