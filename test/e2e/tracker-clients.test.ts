// Two real clients from Debian share one swarm through the site's tracker, each over its own
// transport: aria2c announces over HTTP only, transmission-cli over UDP (BEP 15) only, with the
// site's seeder in the same swarm. The .torrent has no web seed, so every byte comes over the peer
// wire. Both must find the seed and each other (the tracker lists the HTTP peer and the UDP peer
// together), download byte-identical copies, and be counted as two completed downloads on the
// scrape (BEP 48, raw 20-byte keys, decoded independently) and on the video page.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { decodeTorrent, stripWebSeeds } from '../../src/bittorrent/metainfo.ts'
import { freePort, freePortUdp, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { binParam, getJson, uploadOk, useTorrentFormat, waitFor } from '../helpers/http.ts'
import { apiSwarm } from '../helpers/swarm.ts'
import { runAria2c, type Aria2Result } from '../helpers/aria2.ts'
import { startTransmission } from '../helpers/transmission.ts'
import { infoBytes, withTrackers } from '../helpers/torrentTrackers.ts'
import { bdecodeDict, compactPeers, failureOf, isDict } from '../helpers/trackerReply.ts'
import { EVENT, UdpTrackerClient } from '../helpers/udpTracker.ts'

interface SeederHealth {
  state: string
  seeding: number | null
}

async function health(server: TestServer): Promise<SeederHealth> {
  const res = await getJson<{ seeder: SeederHealth }>(`${server.url}/healthz`)
  assert.equal(res.status, 200)
  return res.body.seeder
}
const seeding = (server: TestServer, n: number) =>
  waitFor(
    async () => {
      const h = await health(server)
      return h.state === 'running' && h.seeding === n
    },
    `the seeder to seed ${n} video(s)`,
    20_000,
  )

async function workDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function metric(server: TestServer, series: string): Promise<number> {
  const line = (await (await fetch(`${server.url}/metrics`)).text()).split('\n').find((l) => l.startsWith(series + ' '))
  return line ? Number(line.slice(series.length + 1)) : 0
}

const describeAria2 = (run: Aria2Result) =>
  `aria2c exit ${run.code}${run.timedOut ? ' (timed out)' : ''}\n${run.output.slice(-2000)}`

test('aria2c over HTTP and transmission-cli over UDP find the seed and each other, download byte-identical copies and are counted twice', {
  timeout: 180_000,
}, async (t) => {
  const seederPort = await freePort()
  const server = await startTestServer({
    SEEDER: 'on',
    SEEDER_PORT: String(seederPort),
    TRACKER_UDP_PORT: String(await freePortUdp()),
  })
  t.after(() => server.stop())
  await useTorrentFormat(server, 'v1') // aria2c and transmission-cli 3.00: v1 torrents only (see useTorrentFormat)
  assert.ok(server.udpPort, 'the UDP tracker is on')
  await waitFor(async () => {
    const h = await health(server)
    return h.state === 'running' && h.seeding !== null
  }, 'the seeder to start')

  // A noisy 6 s clip: some 2.8 MB that barely compress, 170 pieces of 16 KiB.
  const clip = await makeVideo({ seconds: 6, noise: 20 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const original = await readFile(clip)
  const video = await uploadOk(server, { title: 'Two clients, two transports' }, { path: clip })
  const hash = video.torrent!.infoHash
  const fileName = decodeURIComponent(path.basename(new URL(video.fileUrl).pathname))
  await seeding(server, 1)
  await waitFor(
    async () => (await apiSwarm(server.url, video.id)).seeders >= 1,
    'the tracker to list the seeder',
    10_000,
  )

  // One .torrent per client: no web seed, and one tracker each. Only the top-level announce keys
  // change; the info dict is byte-for-byte the served one, so the infohash is the same.
  const served = Buffer.from(await (await fetch(video.torrent!.torrentUrl)).arrayBuffer())
  const stripped = stripWebSeeds(served)
  const httpUrl = `${server.services.config.publicUrl}/announce`
  const udpUrl = `udp://127.0.0.1:${server.udpPort}/announce`
  const forAria2 = withTrackers(stripped, [httpUrl])
  const forTransmission = withTrackers(stripped, [udpUrl])
  for (const [torrent, tracker] of [
    [forAria2, httpUrl],
    [forTransmission, udpUrl],
  ] as const) {
    const d = decodeTorrent(torrent)
    assert.equal(d.infoHash, hash)
    assert.deepEqual(d.trackers, [tracker])
    assert.deepEqual(d.webSeeds, [])
    assert.ok(infoBytes(torrent).equals(infoBytes(served)), 'info dict bytes unchanged')
  }

  // transmission-cli never dials loopback peers: the seeder must dial it, and the seeder learns of
  // peers only when it announces. So: seeder off, transmission joins over UDP, seeder on again
  // (its `started` announce hands it transmission's address).
  const supervisor = server.services.seeder!
  await supervisor.stop()
  const udpBefore = await metric(server, 'seedcast_tracker_announces_total{transport="udp"}')
  const transmission = await startTransmission({
    torrent: forTransmission,
    workDir: await workDir(t, 'seedcast-tracker-transmission-'),
  })
  t.after(() => transmission.stop())
  await waitFor(
    async () =>
      transmission.exited() ||
      ((await apiSwarm(server.url, video.id)).leechers >= 1 &&
        (await metric(server, 'seedcast_tracker_announces_total{transport="udp"}')) > udpBefore),
    'transmission-cli to announce over UDP',
    30_000,
  )
  assert.equal(transmission.exited(), false, transmission.output().slice(-2000))
  supervisor.start()
  await seeding(server, 1)

  // aria2c over HTTP. It seeds for 6 s after finishing (--seed-ratio=0: whatever it uploaded), so
  // the tracker lists it while transmission is still in the swarm.
  const aria2Dir = await workDir(t, 'seedcast-tracker-aria2-')
  await mkdir(path.join(aria2Dir, 'download'))
  await writeFile(path.join(aria2Dir, 'aria2.torrent'), forAria2)
  const aria2Port = await freePort()
  const abort = new AbortController()
  t.after(() => abort.abort())
  const started = Date.now()
  const aria2 = runAria2c({
    source: path.join(aria2Dir, 'aria2.torrent'),
    dir: path.join(aria2Dir, 'download'),
    logFile: path.join(aria2Dir, 'aria2c.log'),
    timeoutMs: 90_000,
    signal: abort.signal,
    extraArgs: ['--bt-save-metadata=false', `--listen-port=${aria2Port}`, '--seed-time=0.1', '--seed-ratio=0.0'],
  })

  // The swarm as the tracker hands it out, to an HTTP probe and to a UDP probe: the seeder, the
  // HTTP-only client and the UDP-only client together.
  const probeId = Buffer.from('-PR0001-swarm-probe!')
  const httpPeers = async () => {
    const q = `info_hash=${binParam(Buffer.from(hash, 'hex'))}&peer_id=${binParam(probeId)}&port=9&uploaded=0&downloaded=0&left=1&numwant=50&compact=1`
    const r = bdecodeDict(Buffer.from(await (await fetch(`${server.url}/announce?${q}&event=started`)).arrayBuffer()))
    assert.equal(failureOf(r), undefined)
    await fetch(`${server.url}/announce?${q}&event=stopped`).then((res) => res.arrayBuffer())
    return compactPeers(r.peers, 6).map((p) => p.port)
  }
  const udpProbe = await UdpTrackerClient.open('127.0.0.1', server.udpPort!)
  t.after(() => udpProbe.close())
  const udpPeers = async () => {
    const r = await udpProbe.announce({ infoHash: hash, left: 1n, numwant: 50, port: 10, event: EVENT.started })
    await udpProbe.announce({ infoHash: hash, left: 1n, port: 10, event: EVENT.stopped })
    return r.peers.map((p) => p.port)
  }
  const everyone = [seederPort, transmission.port, aria2Port]
  const seen = await waitFor(
    async () => {
      const [viaHttp, viaUdp] = [await httpPeers(), await udpPeers()]
      return everyone.every((p) => viaHttp.includes(p) && viaUdp.includes(p)) ? { viaHttp, viaUdp } : undefined
    },
    `the tracker to list seeder ${seederPort}, transmission ${transmission.port} and aria2c ${aria2Port} over both transports`,
    30_000,
  )
  t.diagnostic(
    `swarm ${Date.now() - started} ms after aria2c started: HTTP probe got ports ${seen.viaHttp}, UDP probe got ${seen.viaUdp}`,
  )

  const run = await aria2
  t.diagnostic(
    `aria2c done in ${Date.now() - started} ms (6 s of it seeding); its announces: ${run.announces.map((a) => `${a.event ?? 'update'}(left=${a.left}, downloaded=${a.downloaded})`).join(', ')}`,
  )
  assert.equal(run.timedOut, false, describeAria2(run))
  assert.equal(run.code, 0, describeAria2(run))
  const fromAria2 = await readFile(path.join(aria2Dir, 'download', fileName))
  assert.ok(fromAria2.equals(original), 'aria2c: byte-identical to the upload')
  assert.ok(
    run.announces.length > 0 && run.announces.every((a) => a.port === aria2Port),
    `aria2c announced over HTTP with its port: ${JSON.stringify(run.announces)}`,
  )
  // It was handed both other peers and dialled them: the seeder and transmission.
  for (const port of [seederPort, transmission.port])
    assert.match(run.log, new RegExp(`127\\.0\\.0\\.1:${port}\\b`), `aria2c dialled 127.0.0.1:${port}`)
  assert.doesNotMatch(run.log, /\/media\//, 'aria2c never fetched the file over HTTP')

  await transmission.waitForFile(fileName, original, 60_000)
  t.diagnostic(`transmission-cli done ${Date.now() - started} ms after aria2c started`)
  // Everything transmission-cli reported talking to is on loopback.
  const addresses = new Set(transmission.output().match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? [])
  assert.ok(
    [...addresses].every((a) => a.startsWith('127.')),
    `only loopback addresses, got ${[...addresses].join(', ')}`,
  )

  // Two completed downloads: the scrape (raw 20-byte infohash key), the API and the page agree,
  // and stay at two once transmission leaves (a stopped seeder is no new download).
  const scrape = async () => {
    const r = bdecodeDict(
      Buffer.from(
        await (await fetch(`${server.url}/scrape?info_hash=${binParam(Buffer.from(hash, 'hex'))}`)).arrayBuffer(),
      ),
    )
    assert.equal(failureOf(r), undefined)
    assert.ok(isDict(r.files))
    assert.deepEqual(
      Object.keys(r.files).map((k) => Buffer.from(k, 'latin1').toString('hex')),
      [hash],
      'one file, keyed by the raw infohash',
    )
    return r.files[Buffer.from(hash, 'hex').toString('latin1')] as {
      complete: number
      incomplete: number
      downloaded: number
    }
  }
  await waitFor(async () => (await scrape()).downloaded === 2, 'the scrape to count two completed downloads', 15_000)
  await transmission.stop()
  await new Promise((r) => setTimeout(r, 500))
  const final = await scrape()
  assert.equal(final.downloaded, 2, JSON.stringify(final))
  assert.equal((await apiSwarm(server.url, video.id)).completed, 2)
  const page = await (await fetch(`${server.url}/videos/${video.id}`)).text()
  assert.match(page, /id="completed">2</, 'the video page shows two completed downloads')
})
