// Seeder benchmark: `npm run bench:seeder` (or `node bench/seeder.ts`).
//
// Runs real Seedcast servers (`node src/main.ts`, SEEDER=on) as child processes and reports, in
// one Markdown table, for both seeding engines (SEEDER_ENGINE=lean, the default the targets apply
// to, and webtorrent) side by side:
//   (a) download throughput of a 1 GiB upload by aria2c (saving to a tmpfs) from each Seedcast
//       engine versus from libtorrent seeding the same file in place (/usr/bin/python3 +
//       libtorrent, seed mode). All runs use the same .torrent: the site's info dict byte for byte
//       (same infohash), no web seed, and an announce URL pointing at a tiny tracker inside this
//       script that hands aria2c exactly one peer: the seeder under test. The server runs the
//       first engine (supervised); the other one runs as a standalone seeder (`node
//       bt_server/main.ts`, as `npm run seeder` does) on the same storage and database. Order per
//       round: lean, webtorrent, libtorrent; best of two rounds each; the file is read once
//       beforehand so all serve it from the page cache. Also: each seeder's CPU time per GiB.
//   (b) peak RSS (VmHWM), RSS (VmRSS) and idle CPU (utime+stime over BENCH_IDLE_SECONDS, default
//       30 s) of the seeder process with 1, 100 and 1,000 seeded torrents, all uploaded through
//       POST /api/videos (1 MiB files: a real MP4 header plus distinct random bytes, 4 at a time),
//       and the per-torrent memory slope. SEEDER_RESCAN_SECONDS is 30 (the default), so a rescan
//       falls inside each idle window.
//   (c) time from the 201 of an upload to the first block served by the seeder, measured with a
//       bittorrent-protocol wire client on 127.0.0.1:SEEDER_PORT (handshake, interested, request
//       piece 0 block 0; reconnecting until the seeder has the torrent): on an empty site and
//       again with 1,000 torrents seeded.
// (a) runs on one server instance; (b) and (c) on one more per engine (each uploads its own
// files), so the 1 GiB transfer does not inflate the seeder's peak RSS in (b).
//
// The servers run with default settings except TRACKER_UDP_PORT=0 (no fixed port to clash on);
// the site tracker's announce and rate-limit counters from /metrics are reported after (b).
// Environment (for quick trial runs): BENCH_BIG_BYTES (default 1 GiB), BENCH_COUNTS (default
// "1,100,1000"), BENCH_IDLE_SECONDS (default 30), BENCH_RESCAN_SECONDS (default 30),
// BENCH_ENGINES (default "lean,webtorrent"; the first one is the one the targets apply to),
// BENCH_ROUNDS (default 2).
// Exits 0 even when a target is missed; 1 on errors. Processes and temporary files (one folder
// under the OS temp dir, one under /dev/shm) are removed at the end, also on errors and signals.
//
// Units: MB = 1,000,000 bytes, MiB = 1,048,576 bytes.
import { spawn, type ChildProcess } from 'node:child_process'
import { createCipheriv, randomBytes } from 'node:crypto'
import { createWriteStream, openAsBlob, readFileSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import bencode from 'bencode'
import { decodeTorrent } from '../src/bittorrent/metainfo.ts'
import { dictEntries as topLevelEntries } from '../src/bittorrent/bencode.ts'
import { SEEDER_EXEC_ARGV } from '../src/seeder/supervisor.ts'
import { NODE_FLAGS } from '../src/runtimeFlags.ts'

const MB = 1e6
const MiB = 1024 * 1024
const GiB = 1024 ** 3
const ADMIN_PASSWORD = 'bench-password-123'
const REPO_ROOT = path.resolve(import.meta.dirname, '..')
const SYSTEM_PYTHON = '/usr/bin/python3'
const SMALL_BYTES = MiB
const UPLOAD_CONCURRENCY = 4
const BLOCK = 16 * 1024

const TARGET_RATIO = 1.0
const TARGET_RSS_1000_MB = 300
const TARGET_IDLE_CPU_PCT = 5
const TARGET_FIRST_BYTE_MS = 5000

// ---------------------------------------------------------------------------------------------
// Small helpers

const now = () => performance.now()
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const log = (line: string) => console.error(`[bench] ${line}`)
const fmtMB = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`
const fmtSec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const rate = (bytes: number, ms: number) => bytes / MB / (ms / 1000)

function envInt(name: string, def: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return def
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name}=${JSON.stringify(raw)}: expected a whole number ≥ ${min}`)
  return n
}

function envCounts(): number[] {
  const raw = process.env.BENCH_COUNTS
  if (raw === undefined || raw.trim() === '') return [1, 100, 1000]
  const counts = raw.split(',').map((s) => Number(s.trim()))
  if (counts.some((n, i) => !Number.isSafeInteger(n) || n < 1 || (i > 0 && n <= counts[i - 1]!))) {
    throw new Error(`BENCH_COUNTS=${JSON.stringify(raw)}: expected increasing whole numbers ≥ 1, e.g. 1,100,1000`)
  }
  return counts
}

/** Runs a command to completion; resolves with its wall time and stdout. */
function run(cmd: string, args: string[], opts: { timeoutMs?: number; stdoutTo?: 'devnull' } = {}): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const start = now()
    const child = spawn(cmd, args, { stdio: ['ignore', opts.stdoutTo === 'devnull' ? 'ignore' : 'pipe', 'pipe'] })
    children.add(child)
    let stdout = ''
    let stderr = ''
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout = (stdout + d).slice(-100_000) })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4000) })
    child.once('error', (err) => { clearTimeout(timer); children.delete(child); reject(new Error(`${cmd}: ${err.message}`)) })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      if (code === 0) resolve({ ms: now() - start, stdout })
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${(stderr || stdout).trim().slice(-2000)}`))
    })
  })
}

async function haveCommand(cmd: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false)
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const deadline = now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (now() > deadline) throw new Error(`timed out after ${fmtSec(timeoutMs)} waiting for ${what}`)
    await sleep(everyMs)
  }
}

// ---------------------------------------------------------------------------------------------
// /proc figures

interface Memory { rssKB: number; hwmKB: number }

function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)
  if (!rss || !hwm) throw new Error(`no VmRSS/VmHWM in /proc/${pid}/status`)
  return { rssKB: Number(rss[1]), hwmKB: Number(hwm[1]) }
}

/** utime + stime of a process, in clock ticks. */
function readCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields[0] is field 3 (state)
  return Number(fields[11]) + Number(fields[12]) // fields 14 and 15
}

const kbToBytes = (kb: number) => kb * 1024

// ---------------------------------------------------------------------------------------------
// Media files: a real 1-second MP4 (so the upload's container sniff passes) followed by
// pseudo-random bytes (AES-128-CTR keystream: fast, incompressible, distinct per file).

async function makeMp4Header(dir: string): Promise<Buffer> {
  const clip = path.join(dir, 'clip.mp4')
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=160x120:rate=10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip])
  const header = await readFile(clip)
  await rm(clip)
  return header
}

function randomStream() {
  return createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16))
}

function smallMedia(header: Buffer, size: number): Buffer {
  const head = header.subarray(0, Math.min(header.length, size))
  return Buffer.concat([head, randomStream().update(Buffer.alloc(size - head.length))])
}

async function writeBigMedia(target: string, header: Buffer, size: number): Promise<void> {
  const cipher = randomStream()
  const zeros = Buffer.alloc(MiB)
  async function* chunks() {
    const head = header.subarray(0, Math.min(header.length, size))
    let written = head.length
    yield head
    while (written < size) {
      const n = Math.min(MiB, size - written)
      yield cipher.update(n === MiB ? zeros : zeros.subarray(0, n))
      written += n
    }
  }
  await pipeline(chunks, createWriteStream(target, { flags: 'wx' }))
}

// ---------------------------------------------------------------------------------------------
// Seedcast server (web app + supervised seeder) as a child process

interface Health { ok: boolean; seeder: { state: string; pid: number | null; seeding: number | null; port: number | null; problems?: unknown[] } }

interface Server { child: ChildProcess; url: string; seederPort: number; logs: string[] }

type Engine = 'lean' | 'webtorrent'

function envEngines(): Engine[] {
  const raw = process.env.BENCH_ENGINES
  if (raw === undefined || raw.trim() === '') return ['lean', 'webtorrent']
  const engines = raw.split(',').map((s) => s.trim())
  if (!engines.length || engines.some((e) => e !== 'lean' && e !== 'webtorrent') || new Set(engines).size !== engines.length) {
    throw new Error(`BENCH_ENGINES=${JSON.stringify(raw)}: expected lean and/or webtorrent, e.g. lean,webtorrent`)
  }
  return engines as Engine[]
}

async function startServer(storageDir: string, rescanSeconds: number, engine: Engine): Promise<Server> {
  const port = await freePort()
  const seederPort = await freePort()
  const url = `http://127.0.0.1:${port}`
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    STORAGE_DIR: storageDir,
    ADMIN_PASSWORD,
    DATABASE_URL: '', // empty = unset: the SQLite file goes inside STORAGE_DIR
    SEEDER: 'on',
    SEEDER_PORT: String(seederPort),
    SEEDER_RESCAN_SECONDS: String(rescanSeconds),
    SEEDER_ENGINE: engine,
    TRACKER_UDP_PORT: '0', // no fixed UDP port: it could clash with another instance on this machine
  }
  const child = spawn(process.execPath, [...NODE_FLAGS, 'src/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const logs: string[] = []
  const keep = (d: string) => { for (const line of d.split('\n')) if (line) logs.push(line); logs.splice(0, Math.max(0, logs.length - 200)) }
  child.stdout!.setEncoding('utf8').on('data', keep)
  child.stderr!.setEncoding('utf8').on('data', keep)
  const server: Server = { child, url, seederPort, logs }
  const h = await waitFor('the server and its seeder to start', 60_000, async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited during start-up (${child.signalCode ?? `exit ${child.exitCode}`}):\n${logs.join('\n')}`)
    }
    const health = await getHealth(server).catch(() => undefined)
    return health?.seeder.state === 'running' && health.seeder.pid ? health : undefined
  })
  seederPids.add(h.seeder.pid!)
  if (h.seeder.port !== seederPort) throw new Error(`seeder reports port ${h.seeder.port}, expected ${seederPort}`)
  return server
}

async function getHealth(s: Server): Promise<Health> {
  const res = await fetch(`${s.url}/healthz`)
  return (await res.json()) as Health
}

/** The site tracker's HTTP announce and rate-limit counters from /metrics (null if not exposed). */
async function trackerCounters(s: Server): Promise<{ announces: number; rateLimited: number } | null> {
  const text = await fetch(`${s.url}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '')
  const announces = /^seedcast_tracker_announces_total\{transport="http"\} (\d+)/m.exec(text)
  if (!announces) return null
  const limited = /^seedcast_tracker_rejected_total\{reason="rate_limited"\} (\d+)/m.exec(text)
  return { announces: Number(announces[1]), rateLimited: limited ? Number(limited[1]) : 0 }
}

async function seederPid(s: Server): Promise<number> {
  const h = await getHealth(s)
  if (!h.seeder.pid) throw new Error(`seeder not running: ${JSON.stringify(h.seeder)}`)
  seederPids.add(h.seeder.pid)
  return h.seeder.pid
}

async function waitSeeding(s: Server, n: number, timeoutMs: number): Promise<void> {
  await waitFor(`the seeder to seed ${n} torrents`, timeoutMs, async () => {
    const h = await getHealth(s)
    if (h.seeder.problems?.length) throw new Error(`seeder reports problems: ${JSON.stringify(h.seeder.problems).slice(0, 1000)}`)
    return (h.seeder.seeding ?? 0) >= n ? true : undefined
  }, 200)
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill(signal)
  const timedOut = await Promise.race([exited.then(() => false), sleep(8000).then(() => true)])
  if (timedOut) {
    child.kill('SIGKILL')
    await exited
  }
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** A seeder we started: its environment names our temporary folder (guards against pid reuse). */
function isOurSeeder(pid: number): boolean {
  try {
    return tempDir !== undefined && readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`STORAGE_DIR=${tempDir}`)
  } catch {
    return false
  }
}

function killOurSeeders(): void {
  for (const pid of seederPids) {
    if (isOurSeeder(pid)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
  }
  seederPids.clear()
}

async function stopServer(s: Server): Promise<void> {
  await stopChild(s.child)
  // The web app stops its seeder; make sure of it.
  for (const pid of seederPids) {
    const deadline = now() + 5000
    while (pidAlive(pid) && now() < deadline) await sleep(100)
    if (pidAlive(pid) && isOurSeeder(pid)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    seederPids.delete(pid)
  }
}

/**
 * A second seeder on the same storage and database, run alone (`npm run seeder`), with another
 * engine; resolves once it logs that it seeds `n` torrents.
 */
async function startStandaloneSeeder(server: Server, storageDir: string, engine: Engine, n: number): Promise<{ child: ChildProcess; port: number; pid: number }> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STORAGE_DIR: storageDir,
    DATABASE_URL: '',
    PUBLIC_URL: server.url,
    SEEDER_PORT: String(port),
    SEEDER_ENGINE: engine,
  }
  // Same V8 flags as the web app gives its supervised seeder.
  const child = spawn(process.execPath, [...SEEDER_EXEC_ARGV, 'bt_server/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  seederPids.add(child.pid!)
  let out = ''
  const keep = (d: string) => { out = (out + d).slice(-20_000) }
  child.stdout!.setEncoding('utf8').on('data', keep)
  child.stderr!.setEncoding('utf8').on('data', keep)
  await waitFor(`the standalone ${engine} seeder to seed ${n} torrents`, 60_000, async () => {
    if (child.exitCode !== null) throw new Error(`standalone ${engine} seeder exited (${child.exitCode}): ${out.trim().slice(-2000)}`)
    return (out.match(/\[seeder\] seeding /g)?.length ?? 0) >= n ? true : undefined
  })
  return { child, port, pid: child.pid! }
}

// ---------------------------------------------------------------------------------------------
// Uploads through the API

interface VideoJson { id: string; fileUrl: string; size: number; status: string; torrent: { infoHash: string; torrentUrl: string } | null }

const authHeader = 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')

/** Uploads one file; resolves when the 201 has arrived (headers and JSON body). */
async function upload(s: Server, title: string, file: Blob, fileName: string): Promise<{ video: VideoJson; at: number }> {
  const form = new FormData()
  form.append('title', title)
  form.append('file', file, fileName)
  const res = await fetch(`${s.url}/api/videos`, { method: 'POST', body: form, headers: { Authorization: authHeader } })
  const at = now()
  const body = await res.text()
  if (res.status !== 201) throw new Error(`upload of ${fileName} answered ${res.status}: ${body.slice(0, 1000)}`)
  const video = JSON.parse(body) as VideoJson
  if (video.status !== 'ready' || !video.torrent) throw new Error(`upload of ${fileName}: no torrent in the answer (status ${video.status})`)
  return { video, at }
}

async function uploadMany(s: Server, header: Buffer, from: number, to: number): Promise<number> {
  const start = now()
  let next = from
  const worker = async () => {
    while (next < to) {
      const i = next++
      const data = smallMedia(header, SMALL_BYTES)
      await upload(s, `Seeder bench ${i}`, new Blob([new Uint8Array(data)], { type: 'video/mp4' }), `seeder-bench-${String(i).padStart(5, '0')}.mp4`)
    }
  }
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker))
  return now() - start
}

// ---------------------------------------------------------------------------------------------
// (a) The download comparison

/** The site's .torrent reduced to announce (our fixed-peer tracker) + the verbatim info dict. */
function benchTorrent(siteTorrent: Buffer, announce: string): Buffer {
  const info = topLevelEntries(siteTorrent).find((e) => e.key === 'info')
  if (!info) throw new Error('the site .torrent has no info dict')
  const a = Buffer.from(announce)
  return Buffer.concat([Buffer.from(`d8:announce${a.length}:`), a, Buffer.from('4:info'), siteTorrent.subarray(info.valueStart, info.end), Buffer.from('e')])
}

/**
 * An HTTP tracker that answers aria2c (peer id "A2-…") with exactly one peer, the seeder under
 * test, and everyone else (libtorrent announcing) with no peers.
 */
function startFixedPeerTracker(): Promise<{ url: string; setPeer(port: number | null): void; close(): Promise<void> }> {
  let peerPort: number | null = null
  const srv = http.createServer((req, res) => {
    const query = (req.url ?? '').split('?')[1] ?? ''
    const isAria2 = /(^|&)peer_id=A2-/.test(query)
    const peers = Buffer.alloc(isAria2 && peerPort ? 6 : 0)
    if (peers.length) { peers.set([127, 0, 0, 1]); peers.writeUInt16BE(peerPort!, 4) }
    res.setHeader('Content-Type', 'text/plain')
    res.end(Buffer.from(bencode.encode({ interval: 1800, 'min interval': 1800, complete: peers.length ? 1 : 0, incomplete: 0, peers })))
  })
  return new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}/announce`,
        setPeer: (p) => { peerPort = p },
        close: () => new Promise<void>((r) => { srv.close(() => r()); srv.closeAllConnections() }),
      })
    })
  })
}

const LIBTORRENT_SEEDER = `
import sys, time
import libtorrent as lt
torrent, save_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ses = lt.session({
    'listen_interfaces': '127.0.0.1:%d' % port,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'alert_mask': lt.alert_category.error,
})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save_path
atp.flags = lt.torrent_flags.seed_mode
h = ses.add_torrent(atp)
deadline = time.time() + 30
while not (h.status().is_seeding and ses.is_listening()):
    if time.time() > deadline:
        print('not seeding after 30 s: state %s' % h.status().state, flush=True)
        sys.exit(2)
    time.sleep(0.05)
print('ready %d %s' % (ses.listen_port(), lt.__version__), flush=True)
sys.stdin.read()  # run until the benchmark closes our stdin
`

async function startLibtorrent(script: string, torrent: string, saveDir: string, port: number): Promise<{ child: ChildProcess; version: string }> {
  const child = spawn(SYSTEM_PYTHON, [script, torrent, saveDir, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d })
  const version = await waitFor('libtorrent to seed', 40_000, async () => {
    if (child.exitCode !== null) throw new Error(`libtorrent seeder exited (${child.exitCode}): ${out.trim()}`)
    const m = /^ready (\d+) (\S+)$/m.exec(out)
    if (m && Number(m[1]) !== port) throw new Error(`libtorrent listens on ${m[1]}, expected ${port}`)
    return m?.[2]
  })
  return { child, version }
}

interface Transfer {
  /** aria2c start to exit. */
  wallMs: number
  /** First byte of the file on the tmpfs to the last one (st_blocks polled every 5 ms). */
  transferMs: number
  firstByteMs: number
  /** CPU time (utime + stime) of the seeding process during the run. */
  seederCpuMs: number
}

async function aria2cDownload(torrent: string, outDir: string, expectedName: string, size: number, sourcePid: number): Promise<Transfer> {
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  const listenPort = await freePort()
  const target = path.join(outDir, expectedName)
  const cpu0 = readCpuTicks(sourcePid)
  const start = now()
  let first: number | undefined
  let full: number | undefined
  let polling = false
  // On tmpfs, allocated blocks = bytes written (aria2c writes straight through with --disk-cache=0).
  const poll = setInterval(() => {
    if (polling || full !== undefined) return
    polling = true
    stat(target).then((st) => {
      const at = now()
      if (st.blocks > 0 && first === undefined) first = at
      if (st.blocks * 512 >= size) full = at
    }, () => {}).finally(() => { polling = false })
  }, 5)
  let wallMs: number
  try {
    wallMs = (await run('aria2c', [
      `--dir=${outDir}`, `--listen-port=${listenPort}`,
      '--seed-time=0', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
      '--file-allocation=none', '--disk-cache=0', '--check-integrity=false', '--bt-hash-check-seed=false', '--bt-save-metadata=false',
      '--summary-interval=0', '--console-log-level=error', '--download-result=hide', '--auto-save-interval=0',
      '--bt-stop-timeout=30', '--allow-overwrite=true', torrent,
    ], { timeoutMs: 180_000 })).ms
  } finally {
    clearInterval(poll)
  }
  const seederCpuMs = ((readCpuTicks(sourcePid) - cpu0) / clockTicks) * 1000
  const got = await stat(target).then((st) => st.size, () => -1)
  await rm(outDir, { recursive: true, force: true })
  if (got !== size) throw new Error(`aria2c finished but saved ${got} bytes, expected ${size}`)
  if (first === undefined || full === undefined) throw new Error('could not follow the download on the tmpfs')
  return { wallMs, transferMs: full - first, firstByteMs: first - start, seederCpuMs }
}

type Source = Engine | 'libtorrent'

interface DownloadResult {
  size: number
  runs: Map<Source, Transfer[]>
  libtorrentVersion: string
  pieceLength: number
}

async function downloadComparison(header: Buffer, bigBytes: number, rescanSeconds: number, engines: Engine[], rounds: number): Promise<DownloadResult> {
  const storageDir = path.join(tempDir!, 'storage-a')
  const input = path.join(tempDir!, 'big.mp4')
  let t = now()
  await writeBigMedia(input, header, bigBytes)
  log(`(a) made a ${fmtMB(bigBytes)} file in ${fmtSec(now() - t)}`)

  const server = await startServer(storageDir, rescanSeconds, engines[0]!)
  try {
    t = now()
    const { video } = await upload(server, 'Seeder bench big file', await openAsBlob(input, { type: 'video/mp4' }), 'big.mp4')
    log(`(a) uploaded in ${fmtSec(now() - t)}; infohash ${video.torrent!.infoHash}`)
    await rm(input) // the stored copy is the one both seeders serve
    await waitSeeding(server, 1, 60_000)

    const siteTorrent = Buffer.from(await (await fetch(video.torrent!.torrentUrl)).arrayBuffer())
    const site = decodeTorrent(siteTorrent)
    const tracker = await startFixedPeerTracker()
    closers.push(() => tracker.close())
    const torrentBuf = benchTorrent(siteTorrent, tracker.url)
    const bench = decodeTorrent(torrentBuf)
    if (bench.infoHash !== video.torrent!.infoHash || site.infoHash !== bench.infoHash || bench.webSeeds.length) {
      throw new Error('the benchmark .torrent does not keep the infohash or still has a web seed')
    }
    const torrentFile = path.join(tempDir!, 'bench.torrent')
    await writeFile(torrentFile, torrentBuf)

    const mediaDir = path.join(storageDir, 'media')
    const stored = path.join(mediaDir, bench.name)
    const script = path.join(tempDir!, 'libtorrent_seed.py')
    await writeFile(script, LIBTORRENT_SEEDER)
    const ltPort = await freePort()
    const lt = await startLibtorrent(script, torrentFile, mediaDir, ltPort)
    log(`(a) libtorrent ${lt.version} seeding on port ${ltPort}`)
    const seeders = new Map<Source, { port: number; pid: number }>([[engines[0]!, { port: server.seederPort, pid: await seederPid(server) }]])
    const standalones: ChildProcess[] = []
    for (const engine of engines.slice(1)) {
      const standalone = await startStandaloneSeeder(server, storageDir, engine, 1)
      seeders.set(engine, standalone)
      standalones.push(standalone.child)
      log(`(a) standalone ${engine} seeder on port ${standalone.port}`)
    }
    seeders.set('libtorrent', { port: ltPort, pid: lt.child.pid! })

    // Both serve from the page cache.
    const cat = await run('cat', [stored], { stdoutTo: 'devnull' })
    log(`(a) read the stored file once (${fmtSec(cat.ms)}) so both seeders serve it from the page cache`)

    const outDir = path.join(shmDir!, 'download')
    const result: DownloadResult = { size: bigBytes, runs: new Map([...seeders.keys()].map((k) => [k, []])), libtorrentVersion: lt.version, pieceLength: bench.pieceLength }
    for (let round = 1; round <= rounds; round++) {
      for (const [who, seeder] of seeders) {
        tracker.setPeer(seeder.port)
        const x = await aria2cDownload(torrentFile, outDir, bench.name, bigBytes, seeder.pid)
        result.runs.get(who)!.push(x)
        log(`(a) round ${round}: aria2c from ${who.padEnd(10)} ${rate(bigBytes, x.transferMs).toFixed(0)} MB/s first→last byte ` +
          `(${fmtSec(x.transferMs)}; first byte after ${fmtSec(x.firstByteMs)}; aria2c wall ${fmtSec(x.wallMs)}, ${rate(bigBytes, x.wallMs).toFixed(0)} MB/s; ` +
          `seeder CPU ${fmtSec(x.seederCpuMs)})`)
        await sleep(1000)
      }
    }
    tracker.setPeer(null)
    for (const c of standalones) await stopChild(c)
    lt.child.stdin!.end()
    await stopChild(lt.child)
    await tracker.close()
    return result
  } finally {
    await stopServer(server)
    await rm(storageDir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// (c) First byte: a wire client on the seeder port

interface WireLike {
  on(event: string, fn: (...args: never[]) => void): void
  once(event: string, fn: (...args: never[]) => void): void
  handshake(infoHash: string, peerId: string, extensions?: Record<string, boolean>): void
  interested(): void
  request(index: number, offset: number, length: number, cb: (err: Error | null, block?: Uint8Array) => void): void
  destroy(): void
}
type WireCtor = new () => WireLike

let Wire: WireCtor | undefined
async function loadWire(): Promise<WireCtor> {
  // bittorrent-protocol (a webtorrent dependency) ships no types; a computed specifier keeps tsc out of it.
  const specifier: string = 'bittorrent-protocol'
  Wire ??= ((await import(specifier)) as { default: WireCtor }).default
  return Wire
}

/** One attempt: resolves with the first block, or null if the seeder closed/refused/timed out. */
async function requestFirstBlock(port: number, infoHash: string, length: number): Promise<Uint8Array | null> {
  const WireClass = await loadWire()
  return new Promise((resolve) => {
    let done = false
    const socket = net.connect(port, '127.0.0.1')
    const wire = new WireClass()
    const finish = (block: Uint8Array | null) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      wire.destroy()
      resolve(block)
    }
    const timer = setTimeout(() => finish(null), 3000)
    socket.on('error', () => finish(null))
    socket.on('close', () => finish(null))
    socket.on('connect', () => {
      const duplex = wire as unknown as Duplex
      socket.pipe(duplex).pipe(socket)
      wire.on('error', () => finish(null))
      wire.once('handshake', () => wire.interested())
      wire.once('unchoke', () => {
        wire.request(0, 0, length, (err, block) => finish(err || !block ? null : block))
      })
      wire.handshake(infoHash, randomBytes(20).toString('hex'), { dht: false })
    })
  })
}

interface FirstByte { ms: number; attempts: number; alreadySeeded: number }

async function timeToFirstByte(s: Server, header: Buffer, label: string, seededBefore: number): Promise<FirstByte> {
  const data = smallMedia(header, SMALL_BYTES)
  const { video, at } = await upload(s, `First byte ${label}`, new Blob([new Uint8Array(data)], { type: 'video/mp4' }), `first-byte-${label}.mp4`)
  const length = Math.min(BLOCK, data.length)
  let attempts = 0
  const deadline = at + 60_000
  for (;;) {
    attempts++
    const block = await requestFirstBlock(s.seederPort, video.torrent!.infoHash, length)
    if (block) {
      const ms = now() - at
      if (!Buffer.from(block).equals(data.subarray(0, length))) throw new Error('the seeder served a first block that differs from the upload')
      return { ms, attempts, alreadySeeded: seededBefore }
    }
    if (now() > deadline) throw new Error(`no block from the seeder within 60 s of the 201 (${attempts} attempts)`)
    await sleep(20)
  }
}

// ---------------------------------------------------------------------------------------------
// (b) Memory and idle CPU by number of torrents

interface LoadPoint { n: number; rssKB: number; hwmKB: number; cpuPct: number; idleSeconds: number; uploadMs: number; seededMs: number }

async function measureIdle(pid: number, n: number, idleSeconds: number, uploadMs: number, seededMs: number): Promise<LoadPoint> {
  await sleep(5000) // let the last rescan and announces settle
  const before = readMemory(pid)
  const ticks0 = readCpuTicks(pid)
  const t0 = now()
  let maxRss = before.rssKB
  while (now() - t0 < idleSeconds * 1000) {
    await sleep(1000)
    maxRss = Math.max(maxRss, readMemory(pid).rssKB)
  }
  const ticks1 = readCpuTicks(pid)
  const wallSec = (now() - t0) / 1000
  const after = readMemory(pid)
  const cpuPct = ((ticks1 - ticks0) / clockTicks) / wallSec * 100
  const point = { n, rssKB: Math.max(maxRss, after.rssKB), hwmKB: after.hwmKB, cpuPct, idleSeconds: wallSec, uploadMs, seededMs }
  return point
}

// ---------------------------------------------------------------------------------------------
// Clean-up that also runs on errors and signals

let tempDir: string | undefined
let shmDir: string | undefined
let clockTicks = 100
const children = new Set<ChildProcess>()
const seederPids = new Set<number>()
const closers: (() => Promise<void>)[] = []
let cleanedUp = false

async function cleanup(): Promise<void> {
  if (cleanedUp) return
  cleanedUp = true
  for (const close of closers) await close().catch(() => {})
  for (const child of [...children]) await stopChild(child).catch(() => {})
  killOurSeeders()
  for (const dir of [tempDir, shmDir]) if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {})
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping child processes and removing temporary files`)
    void cleanup().finally(() => process.exit(130))
  })
}
process.once('exit', () => {
  if (cleanedUp) return
  for (const child of children) child.kill('SIGKILL')
  killOurSeeders()
  for (const dir of [tempDir, shmDir]) if (dir) rmSync(dir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = now()
  const bigBytes = envInt('BENCH_BIG_BYTES', GiB, MiB)
  const counts = envCounts()
  const idleSeconds = envInt('BENCH_IDLE_SECONDS', 30, 1)
  const rescanSeconds = envInt('BENCH_RESCAN_SECONDS', 30, 1)
  const engines = envEngines()
  const rounds = envInt('BENCH_ROUNDS', 2, 1)
  for (const cmd of ['aria2c', 'ffmpeg', 'cat', 'getconf']) {
    if (!(await haveCommand(cmd))) throw new Error(`${cmd} not found on PATH`)
  }
  await run(SYSTEM_PYTHON, ['-c', 'import libtorrent']).catch((err: Error) => {
    throw new Error(`${SYSTEM_PYTHON} cannot import libtorrent (Debian: apt-get install python3-libtorrent): ${err.message}`)
  })
  clockTicks = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100

  const shm = '/dev/shm'
  const shmStat = await statfs(shm).catch(() => null)
  if (!shmStat) throw new Error(`${shm} is not available for the download target`)
  const shmFree = shmStat.bavail * shmStat.bsize
  if (shmFree < bigBytes + 256 * MiB) throw new Error(`${shm} has ${fmtMB(shmFree)} free; ${fmtMB(bigBytes + 256 * MiB)} needed`)
  shmDir = await mkdtemp(path.join(shm, 'seedcast-bench-'))
  tempDir = await mkdtemp(path.join(tmpdir(), 'seedcast-bench-seeder-'))
  const tmpStat = await statfs(tempDir)
  if (tmpStat.bavail * tmpStat.bsize < 2 * bigBytes + 2 * counts.at(-1)! * SMALL_BYTES) throw new Error(`not enough free space in ${tmpdir()}`)
  log(`temporary folders ${tempDir} and ${shmDir}`)
  const header = await makeMp4Header(tempDir)

  // (a)
  const dl = await downloadComparison(header, bigBytes, rescanSeconds, engines, rounds)

  // Per engine: (c) on an empty site, then (b), then (c) again with the most torrents.
  const loads = new Map<Engine, EngineLoad>()
  for (const engine of engines) loads.set(engine, await measureLoad(engine, header, counts, idleSeconds, rescanSeconds))

  console.log('')
  console.log(`## Seedcast seeder benchmark (${new Date().toISOString()}, Node ${process.version}, total ${fmtSec(now() - started)})`)
  console.log('')
  const missed = report(dl, loads, engines, rescanSeconds, shm)
  console.log('')
  console.log(missed.length ? `TARGET MISSED (${engines[0]} engine): ${missed.join('; ')}` : `All targets met (${engines[0]} engine).`)
  return 0
}

interface EngineLoad { points: LoadPoint[]; firstBytes: FirstByte[]; tracker: Awaited<ReturnType<typeof trackerCounters>> }

async function measureLoad(engine: Engine, header: Buffer, counts: number[], idleSeconds: number, rescanSeconds: number): Promise<EngineLoad> {
  const storageDir = path.join(tempDir!, `storage-bc-${engine}`)
  const server = await startServer(storageDir, rescanSeconds, engine)
  const load: EngineLoad = { points: [], firstBytes: [], tracker: null }
  try {
    const pid = await seederPid(server)
    const fb0 = await timeToFirstByte(server, header, 'empty', 0)
    load.firstBytes.push(fb0)
    log(`(c) ${engine}: first block ${fmtSec(fb0.ms)} after the 201 (${fb0.attempts} connection attempts), site had 0 torrents`)
    let have = 1
    for (const n of counts) {
      let uploadMs = 0
      let seededMs = 0
      if (n > have) {
        log(`(b) ${engine}: uploading ${n - have} files of ${SMALL_BYTES / MiB} MiB, ${UPLOAD_CONCURRENCY} at a time…`)
        const t = now()
        uploadMs = await uploadMany(server, header, have, n)
        await waitSeeding(server, n, 600_000)
        seededMs = now() - t
        log(`(b) ${engine}: ${n - have} uploads in ${fmtSec(uploadMs)}; all ${n} seeded after ${fmtSec(seededMs)}`)
        have = n
      } else {
        await waitSeeding(server, n, 60_000)
      }
      if ((await seederPid(server)) !== pid) throw new Error('the seeder restarted during the benchmark')
      const point = await measureIdle(pid, n, idleSeconds, uploadMs, seededMs)
      log(`(b) ${engine}: N=${n}: VmRSS ${fmtMB(kbToBytes(point.rssKB))}, VmHWM ${fmtMB(kbToBytes(point.hwmKB))}, idle CPU ${point.cpuPct.toFixed(2)} % over ${point.idleSeconds.toFixed(0)} s`)
      load.points.push(point)
    }
    load.tracker = await trackerCounters(server)
    const fbN = await timeToFirstByte(server, header, 'loaded', have)
    load.firstBytes.push(fbN)
    log(`(c) ${engine}: first block ${fmtSec(fbN.ms)} after the 201 (${fbN.attempts} connection attempts), site had ${have} torrents`)
    if ((await seederPid(server)) !== pid) throw new Error('the seeder restarted during the benchmark')
  } catch (err) {
    log(`server log (last lines):\n${server.logs.slice(-40).join('\n')}`)
    throw err
  } finally {
    await stopServer(server)
    await rm(storageDir, { recursive: true, force: true })
  }
  return load
}

// ---------------------------------------------------------------------------------------------
// Report: one row per metric, one column per engine, the first engine against the second, and
// the target (which applies to the first engine).

function report(dl: DownloadResult, loads: Map<Engine, EngineLoad>, engines: Engine[], rescanSeconds: number, shm: string): string[] {
  const yes = 'yes'
  const no = '**NO**'
  const [main, other] = engines as [Engine, Engine | undefined]
  const best = (xs: Transfer[], key: 'transferMs' | 'wallMs') => Math.min(...xs.map((x) => x[key]))
  const bestRate = (src: Source) => rate(dl.size, best(dl.runs.get(src)!, 'transferMs'))
  const wallRate = (src: Source) => rate(dl.size, best(dl.runs.get(src)!, 'wallMs'))
  const cpuPerGiB = (src: Source) => Math.min(...dl.runs.get(src)!.map((x) => x.seederCpuMs)) / 1000 / (dl.size / GiB)
  const lRate = bestRate('libtorrent')
  const fmtRuns = (src: Source, key: 'transferMs' | 'wallMs') => dl.runs.get(src)!.map((x) => `${rate(dl.size, x[key]).toFixed(0)}`).join(' / ') + ' MB/s'
  const cols = (f: (e: Engine) => string) => engines.map(f)
  const ratio = (a: number, b: number | undefined) => (b === undefined || b === 0 ? '' : (a / b).toFixed(2))
  const rows: string[][] = []
  const row = (metric: string, values: string[], r: string, target = '', pass = '') => rows.push([metric, ...values, ...(other ? [r] : []), target, pass])

  row('(a) File', cols(() => ''), '', `${fmtMB(dl.size)}, ${dl.pieceLength / 1024} KiB pieces; aria2c → ${shm} (tmpfs)`)
  row('(a) aria2c from the seeder, runs (first → last byte)', cols((e) => fmtRuns(e, 'transferMs')), '', `libtorrent ${dl.libtorrentVersion} (seed mode): ${fmtRuns('libtorrent', 'transferMs')}`)
  row('(a) Best throughput', cols((e) => `${bestRate(e).toFixed(0)} MB/s`), ratio(bestRate(main), other && bestRate(other)), `libtorrent: ${lRate.toFixed(0)} MB/s`)
  const mainRatio = bestRate(main) / lRate
  row('**(a) Throughput ratio ÷ libtorrent**', cols((e) => (bestRate(e) / lRate).toFixed(2)), '', `≥ ${TARGET_RATIO.toFixed(1)}`, mainRatio >= TARGET_RATIO ? yes : no)
  row('(a) Same on aria2c wall time (start-up, connect and exit included)', cols((e) => (wallRate(e) / wallRate('libtorrent')).toFixed(2)), '', `runs: ${[...dl.runs.keys()].map((k) => `${k} ${fmtRuns(k, 'wallMs')}`).join('; ')}`)
  row('(a) Seeder CPU time per GiB served (best run, utime+stime)', cols((e) => `${cpuPerGiB(e).toFixed(2)} s`), ratio(cpuPerGiB(main), other && cpuPerGiB(other)), `libtorrent: ${cpuPerGiB('libtorrent').toFixed(2)} s`)

  const points = (e: Engine) => loads.get(e)!.points
  const counts = points(main).map((p) => p.n)
  const missed: string[] = []
  counts.forEach((n, i) => {
    const isTarget = i === counts.length - 1 && n >= 1000
    const hwm = (e: Engine) => kbToBytes(points(e)[i]!.hwmKB) / MB
    const cpu = (e: Engine) => points(e)[i]!.cpuPct
    const how = (e: Engine) => (points(e)[i]!.seededMs ? ` (all seeded ${fmtSec(points(e)[i]!.seededMs)} after the uploads began)` : '')
    row(`(b) Seeder peak RSS (VmHWM), ${n} torrents`, cols((e) => `${hwm(e).toFixed(1)} MB (VmRSS ${fmtMB(kbToBytes(points(e)[i]!.rssKB))})${how(e)}`),
      ratio(hwm(main), other && hwm(other)), isTarget ? `< ${TARGET_RSS_1000_MB} MB` : '', isTarget ? (hwm(main) < TARGET_RSS_1000_MB ? yes : no) : '')
    row(`(b) Seeder idle CPU, ${n} torrents (${points(main)[i]!.idleSeconds.toFixed(0)} s, rescan every ${rescanSeconds} s)`, cols((e) => `${cpu(e).toFixed(2)} % of one core`),
      ratio(cpu(main), other && cpu(other)), isTarget ? `< ${TARGET_IDLE_CPU_PCT} %` : '', isTarget ? (cpu(main) < TARGET_IDLE_CPU_PCT ? yes : no) : '')
    if (isTarget && hwm(main) >= TARGET_RSS_1000_MB) missed.push(`peak RSS ${hwm(main).toFixed(1)} MB ≥ ${TARGET_RSS_1000_MB} MB at ${n} torrents`)
    if (isTarget && cpu(main) >= TARGET_IDLE_CPU_PCT) missed.push(`idle CPU ${cpu(main).toFixed(2)} % ≥ ${TARGET_IDLE_CPU_PCT} % at ${n} torrents`)
  })
  for (let i = 1; i < counts.length; i++) {
    const slope = (e: Engine, key: 'hwmKB' | 'rssKB') => kbToBytes(points(e)[i]![key] - points(e)[i - 1]![key]) / (counts[i]! - counts[i - 1]!) / 1000
    row(`(b) Memory per torrent, ${counts[i - 1]} → ${counts[i]}`, cols((e) => `${slope(e, 'hwmKB').toFixed(0)} kB (VmHWM); ${slope(e, 'rssKB').toFixed(0)} kB (VmRSS)`), '')
  }
  row('(b) Site tracker by the end of (b): HTTP announces answered / refused by its rate limit', cols((e) => {
    const t = loads.get(e)!.tracker
    return t ? `${t.announces} / ${t.rateLimited}` : 'n/a'
  }), '')
  loads.get(main)!.firstBytes.forEach((fb, i) => {
    const ms = (e: Engine) => loads.get(e)!.firstBytes[i]!.ms
    row(`**(c) Upload 201 → first block from the seeder, ${fb.alreadySeeded} torrents already seeded**`,
      cols((e) => `${fmtSec(ms(e))} (${loads.get(e)!.firstBytes[i]!.attempts} connection attempts)`), ratio(ms(main), other && ms(other)),
      `< ${TARGET_FIRST_BYTE_MS / 1000} s`, ms(main) < TARGET_FIRST_BYTE_MS ? yes : no)
    if (ms(main) >= TARGET_FIRST_BYTE_MS) missed.push(`first block ${fmtSec(ms(main))} ≥ 5 s with ${fb.alreadySeeded} torrents seeded`)
  })
  if (mainRatio < TARGET_RATIO) missed.unshift(`throughput ratio ${mainRatio.toFixed(2)} < ${TARGET_RATIO}`)

  console.log(`| Metric | ${engines.join(' | ')} |${other ? ` ${main} ÷ ${other} |` : ''} Target (${main}) / note | Pass |`)
  console.log(`|---|${engines.map(() => '---|').join('')}${other ? '---|' : ''}---|---|`)
  for (const r of rows) console.log(`| ${r.join(' | ')} |`)
  console.log('')
  console.log('MB = 1,000,000 bytes. (a): same .torrent (site info dict, no web seed) for all; aria2c gets the one')
  console.log('seeder under test from a fixed-peer tracker; file in page cache; throughput = size ÷ (last − first byte')
  console.log(`landed on the tmpfs), aria2c checking SHA-1 as it goes; ${main} supervised by the server, ${other ?? '-'} standalone on`)
  console.log('the same storage. (b): all torrents uploaded through POST /api/videos, one server per engine; CPU =')
  console.log('utime+stime of the seeder process. (c): bittorrent-protocol client on the seeder port, reconnecting')
  console.log('every 20 ms until served.')
  return missed
}

let code = 1
try {
  code = await main()
} catch (err) {
  console.error(`[bench] failed: ${(err as Error).stack ?? String(err)}`)
  code = 1
} finally {
  await cleanup()
}
process.exitCode = code
