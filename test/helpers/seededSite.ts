// A Seedcast site with its supervised seeder, and the probes the seeder e2e tests share: its
// health, a raw peer handshake, uploads of barely compressible clips, and aria2c downloads from
// the seeder alone (the web seed removed), checked byte for byte, and transmission downloads.
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { decodeTorrent, stripWebSeeds } from '../../src/bittorrent/metainfo.ts'
import { freePortTcpUdp, startTestServer, type TestServer } from './server.ts'
import { makeVideo } from './media.ts'
import { apiUpload, getJson, useTorrentFormat, waitFor, webSeedUrl, type VideoJson } from './http.ts'
import { runAria2c, type Aria2Result } from './aria2.ts'
import { apiSwarm } from './swarm.ts'
import { startTransmission, type TransmissionPeerInfo } from './transmission.ts'

export interface SeederHealth {
  state: string
  pid: number | null
  restarts: number
  seeding: number | null
  port: number | null
  problems: { fileName: string; reason: string }[]
}

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---- site -------------------------------------------------------------------------------------

/**
 * A site with its seeder on. Its torrents are v1 unless `torrentFormat` says otherwise: the
 * seeder tests download with aria2c and transmission-cli, which cannot use BEP 52 torrents
 * (useTorrentFormat says why).
 */
export async function startSeededServer(
  t: TestContext,
  env: Record<string, string> = {},
  storageDir?: string,
  opts: { torrentFormat?: 'v1' | 'hybrid' | 'v2' } = {},
): Promise<TestServer & { seederPort: number }> {
  const seederPort = Number(env.SEEDER_PORT ?? (await freePortTcpUdp()))
  const engine: Record<string, string> = process.env.SEEDER_ENGINE ? { SEEDER_ENGINE: process.env.SEEDER_ENGINE } : {}
  const server = await startTestServer({ SEEDER: 'on', SEEDER_PORT: String(seederPort), ...engine, ...env }, storageDir)
  let stopped = false
  t.after(async () => {
    if (!stopped) await server.stop()
    // `passed` is in Node 24's test runner, not yet in @types/node 24.9.
    if ((t as TestContext & { passed?: boolean }).passed === false)
      t.diagnostic(`server log:\n${server.logs.join('\n')}`)
  })
  await useTorrentFormat(server, opts.torrentFormat ?? 'v1')
  const stop = server.stop
  return Object.assign(server, {
    seederPort,
    async stop(opts?: { keepStorage?: boolean }) {
      stopped = true
      await stop(opts)
    },
  })
}

export async function health(server: TestServer): Promise<SeederHealth> {
  const res = await getJson<{ ok: boolean; seeder: SeederHealth }>(`${server.url}/healthz`)
  assert.equal(res.status, 200, `GET /healthz answered ${res.status}`)
  return res.body.seeder
}

export function waitHealth(
  server: TestServer,
  accept: (h: SeederHealth) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<SeederHealth> {
  return waitFor(
    async () => {
      const h = await health(server)
      return accept(h) ? h : undefined
    },
    `seeder ${what}`,
    timeoutMs,
  )
}

/** The seeder is up and has reported its first scan (seeding is a number, no longer null). */
export const seederReady = (server: TestServer) =>
  waitHealth(server, (h) => h.state === 'running' && h.seeding !== null, 'to report its first scan')

export interface Upload {
  video: VideoJson
  original: Buffer
  fileName: string
}

/** Noisy video that barely compresses: 6 s make some 2.8 MB, 170 pieces of 16 KiB. */
export async function uploadClip(
  t: TestContext,
  server: TestServer,
  opts: { seconds?: number; noise?: number; title?: string; auth?: string } = {},
): Promise<Upload> {
  const clip = await makeVideo({ seconds: opts.seconds ?? 6, noise: opts.noise ?? 20 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const original = await readFile(clip)
  const fields = { title: opts.title ?? 'Seeder test', description: '' }
  // As the admin, or as the user whose Authorization header `auth` is.
  const res = await apiUpload(server, fields, { path: clip }, opts.auth ?? server.basicAuth)
  assert.equal(res.status, 201, JSON.stringify(res.body))
  const video = res.body as VideoJson
  assert.equal(video.status, 'ready')
  assert.ok(video.torrent, 'the upload has a torrent')
  assert.equal(video.size, original.length)
  return { video, original, fileName: decodeURIComponent(path.basename(new URL(video.fileUrl).pathname)) }
}

/** A site whose seeder has a clip (uploadClip) and seeds it: what most seeder tests start from. */
export async function seedingSite(
  t: TestContext,
  env: Record<string, string> = {},
): Promise<{ server: Awaited<ReturnType<typeof startSeededServer>>; upload: Upload }> {
  const server = await startSeededServer(t, env)
  await seederReady(server)
  const upload = await uploadClip(t, server)
  await waitHealth(server, (h) => h.seeding === 1, 'to seed the upload')
  return { server, upload }
}

/** The served .torrent without its web seed: same infohash, same tracker, no url-list. */
export async function torrentWithoutWebSeed(upload: Upload): Promise<Buffer> {
  const res = await fetch(upload.video.torrent!.torrentUrl)
  assert.equal(res.status, 200)
  const served = Buffer.from(await res.arrayBuffer())
  const before = decodeTorrent(served)
  assert.deepEqual(before.webSeeds, [webSeedUrl(upload.video)], 'the served .torrent has the web seed URL')
  const stripped = stripWebSeeds(served)
  const after = decodeTorrent(stripped)
  assert.equal(after.infoHash, upload.video.torrent!.infoHash, 'stripping the web seed keeps the infohash')
  assert.deepEqual(after.webSeeds, [])
  assert.deepEqual(after.trackers, before.trackers)
  assert.ok(after.pieceCount >= 8, `several pieces (got ${after.pieceCount} of ${after.pieceLength} bytes)`)
  return stripped
}

/** The API's magnet link with every ws= (web seed) parameter removed; xt, dn, xl and tr are kept. */
export function magnetWithoutWebSeed(magnet: string): string {
  const [head, query] = magnet.split('?') as [string, string]
  const kept = query.split('&').filter((kv) => !kv.startsWith('ws='))
  assert.ok(kept.length < query.split('&').length, 'the API magnet had a web seed to remove')
  assert.ok(
    kept.some((kv) => kv.startsWith('tr=')),
    'the magnet names the tracker',
  )
  return `${head}?${kept.join('&')}`
}

export async function workDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

// ---- BitTorrent probes ------------------------------------------------------------------------

const handshakeFor = (infoHash: string) =>
  Buffer.concat([
    Buffer.from([19]),
    Buffer.from('BitTorrent protocol'),
    Buffer.alloc(8),
    Buffer.from(infoHash, 'hex'),
    Buffer.from('-SC0001-probe-peer-x'),
  ])

/**
 * A peer connection to the seeder for `infoHash`, held open once the seeder has answered the
 * handshake: `open()` says whether the seeder still keeps it, `closed` settles when it drops it.
 */
export function heldPeer(
  port: number,
  infoHash: string,
  timeoutMs = 5000,
): Promise<{ open(): boolean; closed: Promise<void>; close(): void }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let got = Buffer.alloc(0)
    let isOpen = true
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        isOpen = false
        done()
      }),
    )
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no handshake from the seeder on port ${port} within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('connect', () => socket.write(handshakeFor(infoHash)))
    socket.on('error', () => {})
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length < 48) return
      socket.off('data', onData)
      socket.resume() // the seeder's bitfield and the rest are read and dropped
      clearTimeout(timer)
      if (got.subarray(28, 48).toString('hex') !== infoHash) {
        socket.destroy()
        reject(new Error('handshake for another torrent'))
      } else resolve({ open: () => isOpen, closed, close: () => socket.destroy() })
    }
    socket.on('data', onData)
    closed.then(() => {
      clearTimeout(timer)
      reject(new Error('the seeder closed the connection before its handshake'))
    })
  })
}

/**
 * Opens a plain BitTorrent connection to the seeder and sends a handshake for `infoHash`:
 * 'answered' if the seeder handshakes back (it serves that torrent), 'refused' if it closes.
 */
export function peerHandshake(port: number, infoHash: string, timeoutMs = 5000): Promise<'answered' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let got = Buffer.alloc(0)
    const done = (result: 'answered' | 'refused' | Error) => {
      clearTimeout(timer)
      socket.destroy()
      if (result instanceof Error) reject(result)
      else resolve(result)
    }
    const timer = setTimeout(
      () => done(new Error(`no answer from the seeder on port ${port} within ${timeoutMs} ms`)),
      timeoutMs,
    )
    socket.on('connect', () => socket.write(handshakeFor(infoHash)))
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 48)
        done(
          got.subarray(28, 48).toString('hex') === infoHash
            ? 'answered'
            : new Error(`handshake for another torrent: ${got.subarray(28, 48).toString('hex')}`),
        )
    })
    socket.on('close', () => done('refused'))
    socket.on('error', (err) => done(err))
  })
}

function describeAria2(run: Aria2Result): string {
  return `aria2c exit ${run.code}${run.signal ? ` (${run.signal})` : ''}${run.timedOut ? ' after the time-out' : ''}\n${run.output.slice(-3000)}`
}

/** aria2c from the given source (stripped .torrent or magnet), checked byte for byte against the upload. */
export async function aria2cFromSeeder(
  t: TestContext,
  server: TestServer & { seederPort: number },
  upload: Upload,
  source: string | Buffer,
  opts: { seederListed?: () => Promise<boolean> } = {},
): Promise<number> {
  const dir = await workDir(t, 'seedcast-seeder-aria2-')
  const downloadDir = path.join(dir, 'download')
  await mkdir(downloadDir)
  let src = source as string
  if (Buffer.isBuffer(source)) {
    src = path.join(dir, 'no-webseed.torrent')
    await writeFile(src, source)
  }
  // aria2c asks the tracker once for peers: the seeder must be in the swarm by then.
  const listed = opts.seederListed ?? (async () => (await apiSwarm(server.url, upload.video.id)).seeders >= 1)
  await waitFor(listed, 'the tracker to list the seeder', 10_000)
  const abort = new AbortController()
  t.after(() => abort.abort())
  const started = Date.now()
  const run = await runAria2c({
    source: src,
    dir: downloadDir,
    logFile: path.join(dir, 'aria2c.log'),
    timeoutMs: 60_000,
    signal: abort.signal,
    // The helper already keeps aria2c on loopback with DHT, LPD and PEX off, --seed-time=0 and a
    // free --listen-port; a hang is killed after 60 s.
    extraArgs: ['--bt-save-metadata=false'],
  })
  const took = Date.now() - started
  assert.equal(run.timedOut, false, describeAria2(run))
  assert.equal(run.code, 0, describeAria2(run))
  const downloaded = await readFile(path.join(downloadDir, upload.fileName))
  assert.equal(downloaded.length, upload.original.length, 'downloaded size')
  assert.equal(sha256(downloaded), sha256(upload.original), 'byte-identical to the upload')
  // The only source was the seeder's peer port; nothing came over HTTP from the file URL.
  assert.match(run.log, new RegExp(`127\\.0\\.0\\.1:${server.seederPort}\\b`), 'aria2c talked to the seeder peer')
  assert.doesNotMatch(run.log, /\/(media|seed)\//, 'aria2c never requested the file over HTTP')
  return took
}

// ---- transmission -----------------------------------------------------------------------------

/**
 * transmission-cli, or transmission-daemon (`daemon`), from `opts.torrent` (test/helpers/transmission.ts;
 * `encryption` as there); the run is over when the finished file is byte-identical to the upload,
 * and transmission is then stopped.
 * transmission 3.00 never dials a peer in 127.0.0.0/8 or ::1 (libtransmission's isMartianAddr),
 * so on loopback the seeder has to dial it. The seeder learns of peers only when it announces,
 * at start and then every 300 s: it is stopped before transmission starts and started again once
 * transmission is in the swarm, and its `started` announce hands it transmission's address. The
 * lean engine dials over TCP; webtorrent dials IPv4 peers over uTP first and falls back to TCP
 * only after some 40 s, so transmission keeps uTP on (its default).
 */
export async function transmissionFromSeeder(
  t: TestContext,
  opts: {
    torrent: Buffer
    upload: Upload
    timeoutMs: number
    server: TestServer
    daemon?: boolean
    encryption?: 0 | 1 | 2
    /** startTransmission's: its TCP port closed (uTP only), and its peer list read over RPC. */
    tcpClosed?: boolean
    peerInfo?: boolean
  },
): Promise<{ output: string; tookMs: number; peers: TransmissionPeerInfo[] }> {
  await waitFor(
    async () => (await apiSwarm(opts.server.url, opts.upload.video.id)).seeders >= 1,
    'the tracker to list the seeder',
    10_000,
  )
  // The lean engine hears of transmission from the site's tracker at once (seeder-push.test.ts);
  // the webtorrent engine only at its own announce, so it is restarted once transmission is in the swarm.
  const supervisor = opts.server.services.seeder!
  const restart = process.env.SEEDER_ENGINE === 'webtorrent'
  if (restart) await supervisor.stop()
  const started = Date.now()
  const peer = await startTransmission({
    torrent: opts.torrent,
    workDir: await workDir(t, 'seedcast-seeder-transmission-'),
    daemon: opts.daemon,
    encryption: opts.encryption,
    tcpClosed: opts.tcpClosed,
    peerInfo: opts.peerInfo,
  })
  t.after(() => peer.stop())
  try {
    await waitFor(
      async () => peer.exited() || (await apiSwarm(opts.server.url, opts.upload.video.id)).leechers >= 1,
      "transmission to announce to the site's tracker",
      20_000,
    )
    assert.equal(peer.exited(), false, `transmission quit:\n${peer.output()}`)
    if (restart) {
      supervisor.start()
      await waitHealth(opts.server, (h) => h.state === 'running' && h.seeding === 1, 'to seed again after its restart')
    }
    await peer.waitForFile(opts.upload.fileName, opts.upload.original, opts.timeoutMs - (Date.now() - started))
    return { output: peer.output(), tookMs: Date.now() - started, peers: peer.peersSeen() }
  } finally {
    await peer.stop()
  }
}
