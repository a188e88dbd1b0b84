// Tracker throughput benchmark: `npm run bench:tracker` (node bench/tracker.ts).
//
// Announces per second of three trackers on loopback, in one run:
//   - Seedcast: the real app (node src/main.ts) in a child process, one small video uploaded
//     through POST /api/videos so its infohash is on the allow list; TRACKER_RATE_LIMIT_PER_MINUTE=0.
//   - bittorrent-tracker (the npm package, as is): its Server in a tiny child script, no filter;
//     one process with only HTTP on, one with only UDP on.
//   - opentracker (Debian package: whitelist-only, so the same infohash is whitelisted).
// HTTP: wrk, one new TCP connection per announce (`Connection: close`, as real clients do), each
// announce with a fresh random 20-byte peer_id, random port and left (a third are seeders), same
// info_hash, compact=1, numwant=50. A 2 s warm-up run precedes each measured run.
// UDP (BEP 15): bench/udp-load.ts, clients that connect once and then keep many announces in
// flight (default 64 sockets x 4 = 256), also with random peer_id/port per announce.
// Every server is pinned to core 0 (taskset; for Seedcast the web app process), wrk and the UDP
// generator to core 1. Each server's answer is checked before it is loaded (a bencoded announce
// with interval and peers, not a failure; for UDP an announce reply, not an error), and wrk counts
// failure bodies under load. Runs are repeated BENCH_ROUNDS times, interleaved; the table shows the
// best run of each (noise on a shared machine only ever lowers a result), the others alongside.
// Besides announces/s, each run records the server's CPU (utime+stime from /proc) and how busy
// the server's and the load's cores were, which gives announces per server CPU-second and what
// limited the run. On loopback with one core for wrk, opentracker is not saturated over HTTP (wrk's
// core is: the kernel work of every SYN and segment runs on the sending core), so its announces/s
// understate it; the HTTP target (Seedcast >= 50 % of opentracker) is then judged per CPU-second.
//
// Environment (all optional): BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (2),
// BENCH_CONNS ("16,64"), BENCH_UDP_INFLIGHT (256), BENCH_UDP_CLIENTS (64), BENCH_UDP_PROCS (1:
// generator processes, all on the load core), BENCH_TRACKERS ("seedcast,bittorrent-tracker,
// opentracker"), BENCH_TRANSPORTS ("http,udp"), BENCH_SERVER_CPU (0), BENCH_LOAD_CPU (1),
// BENCH_SERVER_NODE_ARGS (extra node flags for the Seedcast process, e.g. "--cpu-prof": the
// profile is then summarised, self time by function, at the end; add --cpu-prof-dir=DIR to keep
// it), BENCH_SERVER_LOG=1 (print Seedcast's output at the end).
// Needs wrk, opentracker, taskset, curl and ffmpeg on PATH. Exits 0 when it ran (targets met or
// not), 1 on an error. Temporary files live in one folder, removed at the end (also on Ctrl-C).
import { spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { chmodSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import bencode from 'bencode'
import { NODE_FLAGS } from '../src/runtimeFlags.ts'

const REPO_ROOT = path.resolve(import.meta.dirname, '..')
const ADMIN_PASSWORD = 'bench-password-123'
const TARGET_HTTP_RATIO = 0.5

const env = process.env
const num = (name: string, dflt: number): number => {
  const raw = env[name]
  if (raw === undefined || raw === '') return dflt
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${JSON.stringify(raw)}: expected a positive number`)
  return n
}
const list = (name: string, dflt: string[]): string[] => (env[name] ? env[name].split(',').map((s) => s.trim()).filter(Boolean) : dflt)

const SECONDS = num('BENCH_SECONDS', 10)
const WARMUP_SECONDS = num('BENCH_WARMUP_SECONDS', 2)
const ROUNDS = Math.round(num('BENCH_ROUNDS', 2))
const CONNS = list('BENCH_CONNS', ['16', '64']).map(Number)
const UDP_INFLIGHT = Math.round(num('BENCH_UDP_INFLIGHT', 256))
const UDP_CLIENTS = Math.round(num('BENCH_UDP_CLIENTS', 64))
const UDP_PROCS = Math.round(num('BENCH_UDP_PROCS', 1))
const SERVER_CPU = env.BENCH_SERVER_CPU ?? '0'
const LOAD_CPU = env.BENCH_LOAD_CPU ?? '1'
const ALL_TRACKERS = ['seedcast', 'bittorrent-tracker', 'opentracker'] as const
type TrackerName = (typeof ALL_TRACKERS)[number]
type Transport = 'http' | 'udp'
const TRACKERS = list('BENCH_TRACKERS', [...ALL_TRACKERS]) as TrackerName[]
const TRANSPORTS = list('BENCH_TRANSPORTS', ['http', 'udp']) as Transport[]
for (const t of TRACKERS) if (!ALL_TRACKERS.includes(t)) throw new Error(`BENCH_TRACKERS: unknown tracker ${t}`)
for (const t of TRANSPORTS) if (t !== 'http' && t !== 'udp') throw new Error(`BENCH_TRANSPORTS: unknown transport ${t}`)
const SERVER_NODE_ARGS = (env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)

// ---------------------------------------------------------------------------------------------
// Helpers

const log = (line: string) => console.error(`[bench] ${line}`)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')
const fmtMs = (us: number) => (us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : `${(us / 1000).toFixed(2)} ms`)
const fmtPct = (x: number) => `${x.toFixed(0)} %`
const fmtCpu = (x: number | null) => (x === null ? '?' : fmtPct(x))

const children = new Set<ChildProcess>()
let tempDir: string | undefined
let cleanedUp = false

/** Spawns a child that clean-up will stop; `cpu` pins it with taskset (exec'd: same pid). */
function spawnTracked(cmd: string, args: string[], opts: { cpu?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const [file, argv] = opts.cpu === undefined ? [cmd, args] : ['taskset', ['-c', opts.cpu, cmd, ...args]]
  const child = spawn(file, argv, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.once('error', () => children.delete(child))
  return child
}

/** Collects a child's output and exit. */
function collect(child: ChildProcess, onLine?: (line: string) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    let pending = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      if (!onLine) return
      pending += d
      let nl
      while ((nl = pending.indexOf('\n')) >= 0) { onLine(pending.slice(0, nl)); pending = pending.slice(nl + 1) }
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-8000) })
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await collect(spawnTracked(cmd, args))
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? `exit ${r.code}`}): ${r.stderr.trim()}`)
  return r.stdout
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4')
    s.once('error', reject)
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

const CLK_TCK = 100 // Linux USER_HZ; checked with getconf in main()

/** utime + stime of a process (all its threads), in clock ticks; null when gone. */
function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch {
    return null
  }
}

/** The kernel's count of UDP datagrams dropped because a socket's receive buffer was full. */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp: '))
  if (lines.length < 2) return NaN
  const names = lines[0]!.split(/\s+/)
  return Number(lines[1]!.split(/\s+/)[names.indexOf('RcvbufErrors')])
}

/** Busy ticks (all but idle and iowait) of each CPU, from /proc/stat. */
function coreBusy(): Map<string, number> {
  const busy = new Map<string, number>()
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (!m) continue
    const f = m[2]!.trim().split(/\s+/).map(Number)
    busy.set(m[1]!, f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) // user nice system irq softirq steal
  }
  return busy
}

/** CPU use over a window: the server process, and how busy the server's and the load's cores were. */
class CpuWindow {
  private readonly pid: number
  private t0: number | null = null
  private c0 = new Map<string, number>()
  private w0 = 0
  constructor(pid: number) { this.pid = pid }
  start(): void { this.t0 = cpuTicks(this.pid); this.c0 = coreBusy(); this.w0 = performance.now() }
  /** Percentages of one core: server process, server core busy, load core busy. */
  end(): { server: number | null; serverCore: number | null; loadCore: number | null } {
    const secs = (performance.now() - this.w0) / 1000
    const t1 = cpuTicks(this.pid)
    const c1 = coreBusy()
    const core = (id: string) => { const a = this.c0.get(id); const b = c1.get(id); return a === undefined || b === undefined ? null : ((b - a) / CLK_TCK / secs) * 100 }
    return {
      server: this.t0 === null || t1 === null || secs <= 0 ? null : ((t1 - this.t0) / CLK_TCK / secs) * 100,
      serverCore: /^\d+$/.test(SERVER_CPU) ? core(SERVER_CPU) : null,
      loadCore: /^\d+$/.test(LOAD_CPU) ? core(LOAD_CPU) : null,
    }
  }
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timedOut = await Promise.race([exited.then(() => false), sleep(8000).then(() => true)])
  if (timedOut) {
    child.kill('SIGKILL')
    await exited
  }
}

async function cleanup(): Promise<void> {
  if (cleanedUp) return
  cleanedUp = true
  await Promise.all([...children].map((c) => stopChild(c).catch(() => {})))
  if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => {})
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping every process started here and removing ${tempDir ?? 'temporary files'}`)
    void cleanup().finally(() => process.exit(130))
  })
}
process.once('exit', () => {
  if (cleanedUp) return
  for (const c of children) if (isAlive(c)) c.kill('SIGKILL')
  if (tempDir) rmSync(tempDir, { recursive: true, force: true })
})

const pct = (bytes: Uint8Array) => Array.from(bytes, (b) => '%' + b.toString(16).padStart(2, '0').toUpperCase()).join('')

// ---------------------------------------------------------------------------------------------
// The servers

interface Server {
  name: TrackerName
  child: ChildProcess
  /** The process whose CPU is the server's (Seedcast: the web app). */
  pid: number
  httpPort?: number
  udpPort?: number
  logs: string[]
}

function keepLogs(child: ChildProcess, logs: string[], max = 200): void {
  const keep = (d: string) => { for (const line of d.split('\n')) if (line) logs.push(line); logs.splice(0, Math.max(0, logs.length - max)) }
  child.stdout!.setEncoding('utf8').on('data', keep)
  child.stderr!.setEncoding('utf8').on('data', keep)
}

async function startSeedcast(storageDir: string): Promise<Server> {
  const port = await freeTcpPort()
  const udpPort = await freeUdpPort()
  const url = `http://127.0.0.1:${port}`
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    STORAGE_DIR: storageDir,
    ADMIN_PASSWORD,
    DATABASE_URL: '', // empty = unset: the SQLite file goes inside STORAGE_DIR
    SEEDER: 'off',
    TRACKER_UDP_PORT: String(udpPort),
    TRACKER_RATE_LIMIT_PER_MINUTE: '0',
    // The load comes from one address with many peer ids: lift the per-address and total peer
    // caps (issue 8's bounds), or the store would hold 16 peers and measure something else.
    TRACKER_MAX_PEERS_PER_ADDRESS: '1000000',
    TRACKER_MAX_PEERS: '100000000',
  }
  const child = spawnTracked(process.execPath, [...NODE_FLAGS, ...SERVER_NODE_ARGS, 'src/main.ts'], { cpu: SERVER_CPU, env: childEnv })
  const logs: string[] = []
  keepLogs(child, logs, env.BENCH_SERVER_LOG === '1' ? 20_000 : 200)
  const deadline = performance.now() + 30_000
  while (performance.now() < deadline) {
    if (!isAlive(child)) throw new Error(`Seedcast exited during start-up:\n${logs.join('\n')}`)
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { name: 'seedcast', child, pid: child.pid!, httpPort: port, udpPort, logs }
    await sleep(100)
  }
  throw new Error(`Seedcast did not answer /healthz within 30 s:\n${logs.join('\n')}`)
}

/** Uploads a 1-second clip; returns the infohash Seedcast now tracks. */
async function uploadClip(server: Server, dir: string): Promise<string> {
  const clip = path.join(dir, 'clip.mp4')
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=160x120:rate=10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip])
  const form = new FormData()
  form.set('title', 'Tracker benchmark')
  form.set('description', 'uploaded by bench/tracker.ts')
  form.set('file', new Blob([await readFile(clip)], { type: 'video/mp4' }), 'tracker-bench.mp4')
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/videos`, {
    method: 'POST',
    body: form,
    headers: { Authorization: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64') },
  })
  const body = await res.text()
  if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${body.slice(0, 1000)}`)
  const infoHash = (JSON.parse(body) as { torrent?: { infoHash?: string } | null }).torrent?.infoHash ?? ''
  if (!/^[0-9a-f]{40}$/.test(infoHash)) throw new Error(`upload gave no infohash: ${body.slice(0, 1000)}`)
  return infoHash
}

// The plain bittorrent-tracker server, as its README shows it: no filter, one transport on.
const BT_SCRIPT = `
import Server from 'bittorrent-tracker/server'
const mode = process.env.BT_MODE
const server = new Server({ http: mode === 'http', udp: mode === 'udp', ws: false, stats: false })
server.on('error', (err) => { console.error('bittorrent-tracker error: ' + err.message); process.exit(1) })
server.on('warning', () => {})
server.on('listening', () => {
  const port = mode === 'http' ? server.http.address().port : server.udp4.address().port
  console.log(JSON.stringify({ port }))
})
server.listen(0, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' })
process.on('SIGTERM', () => server.close(() => process.exit(0)))
`

async function startBittorrentTracker(mode: Transport): Promise<Server> {
  const child = spawnTracked(process.execPath, ['--input-type=module', '-e', BT_SCRIPT], { cpu: SERVER_CPU, env: { ...process.env, BT_MODE: mode } })
  const logs: string[] = []
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bittorrent-tracker (${mode}) did not start within 15 s: ${logs.join('\n')}`)), 15_000)
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /\{"port":(\d+)\}/.exec(out)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => logs.push(d))
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bittorrent-tracker (${mode}) exited (${code}): ${logs.join('')}`)) })
  })
  return { name: 'bittorrent-tracker', child, pid: child.pid!, ...(mode === 'http' ? { httpPort: port } : { udpPort: port }), logs }
}

async function startOpentracker(dir: string, infoHash: string): Promise<Server> {
  // Debian's build is whitelist-only. As root it chroots to -d and drops to "nobody", and reads
  // the whitelist (one 40-hex infohash a line) after the chroot: a path relative to the new root.
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'whitelist.txt'), `${infoHash}\n`)
  chmodSync(dir, 0o755)
  chmodSync(path.join(dir, 'whitelist.txt'), 0o644)
  const httpPort = await freeTcpPort()
  const udpPort = await freeUdpPort()
  const child = spawnTracked('opentracker', ['-i', '127.0.0.1', '-p', String(httpPort), '-P', String(udpPort), '-d', dir, '-w', 'whitelist.txt'], { cpu: SERVER_CPU, cwd: dir })
  const logs: string[] = []
  keepLogs(child, logs)
  return { name: 'opentracker', child, pid: child.pid!, httpPort, udpPort, logs }
}

// ---------------------------------------------------------------------------------------------
// Checks before loading

function announceQuery(infoHash: string): string {
  return `/announce?info_hash=${pct(Buffer.from(infoHash, 'hex'))}&uploaded=0&downloaded=0&compact=1&numwant=50`
}

/** One announce with curl; returns a summary of the bencoded reply, or throws. */
async function checkHttp(server: Server, infoHash: string): Promise<string> {
  const peerId = Buffer.concat([Buffer.from('-BENCH0-'), Buffer.from(Array.from({ length: 12 }, () => Math.floor(Math.random() * 256)))])
  const url = `http://127.0.0.1:${server.httpPort}${announceQuery(infoHash)}&peer_id=${pct(peerId)}&port=51413&left=1048576`
  const child = spawnTracked('curl', ['-sS', '-m', '5', '-H', 'Connection: close', url])
  const chunks: Buffer[] = []
  child.stdout!.on('data', (d: Buffer) => chunks.push(d))
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  if (code !== 0) throw new Error(`curl ${url}: exit ${code} ${stderr.trim()}`)
  const body = Buffer.concat(chunks)
  let reply: unknown
  try { reply = bencode.decode(body) } catch { throw new Error(`${server.name}: reply is not bencode: ${JSON.stringify(body.toString('latin1').slice(0, 200))}`) }
  const d = reply as Record<string, unknown>
  const text = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v))
  if (d['failure reason'] !== undefined) throw new Error(`${server.name}: announce refused: ${text(d['failure reason'])}`)
  if (typeof d.interval !== 'number' || !(d.peers instanceof Uint8Array) || d.peers.length % 6 !== 0) {
    throw new Error(`${server.name}: not a compact announce reply: ${JSON.stringify(body.toString('latin1').slice(0, 200))}`)
  }
  return `interval ${d.interval}, complete ${d.complete}, incomplete ${d.incomplete}, ${d.peers.length / 6} peers`
}

async function checkHttpWithRetry(server: Server, infoHash: string): Promise<string> {
  // opentracker loads its whitelist in the background a moment after start.
  const deadline = performance.now() + 10_000
  for (;;) {
    try {
      return await checkHttp(server, infoHash)
    } catch (err) {
      if (performance.now() > deadline || !isAlive(server.child)) throw new Error(`${(err as Error).message}\n${server.logs.join('\n')}`)
      await sleep(250)
    }
  }
}

async function checkUdp(server: Server, infoHash: string): Promise<string> {
  const deadline = performance.now() + 10_000
  for (;;) {
    const r = await collect(spawnTracked(process.execPath, ['bench/udp-load.ts', '--port', String(server.udpPort), '--info-hash', infoHash, '--check']))
    if (r.code === 0) return r.stdout.trim()
    if (performance.now() > deadline || !isAlive(server.child)) throw new Error(`${server.name} UDP check failed: ${r.stdout.trim()} ${r.stderr.trim()}`)
    await sleep(250)
  }
}

// ---------------------------------------------------------------------------------------------
// Load runs

// wrk script: a new random peer_id (20 bytes, all percent-encoded), port and left per request;
// `Connection: close` so every announce is a new TCP connection; counts announce bodies
// ("d8:complete...") and failures ("d14:failure reason...") and reports wrk's own CPU time.
const WRK_LUA = String.raw`
local enc = {}
for i = 0, 255 do enc[i] = string.format("%%%02X", i) end
local base
local threads = {}
ok, failures, other = 0, 0, 0
function setup(thread) table.insert(threads, thread) end
function init(args)
  base = args[1]
  wrk.headers["Connection"] = "close"
  math.randomseed(os.time() + (tonumber(args[2]) or 0))
end
function request()
  local t = {}
  for i = 1, 20 do t[i] = enc[math.random(0, 255)] end
  local left = (math.random(3) == 1) and "0" or "1048576"
  return wrk.format(nil, base .. "&peer_id=" .. table.concat(t) .. "&port=" .. math.random(1024, 65535) .. "&left=" .. left)
end
function response(status, headers, body)
  if string.sub(body, 1, 11) == "d8:complete" then ok = ok + 1
  elseif string.sub(body, 1, 18) == "d14:failure reason" then failures = failures + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local o, f, x = 0, 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); f = f + t:get("failures"); x = x + t:get("other") end
  local fh = io.open("/proc/self/stat"); local st = fh:read("*a"); fh:close()
  local fields = {}
  for w in st:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = w end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"ok":%d,"failures":%d,"other":%d,"cpu_ticks":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, o, f, x, tonumber(fields[12]) + tonumber(fields[13])))
end
`

interface RunResult {
  tracker: TrackerName
  transport: Transport
  load: number // connections (HTTP) or announces in flight (UDP)
  round: number
  perSecond: number
  p50us: number
  p99us: number
  errors: number // real errors: socket errors, non-2xx, failure bodies, UDP error replies and timeouts
  readErrors: number // HTTP read errors (counted in errors too, except for opentracker: see notes)
  errorText: string
  serverCpu: number | null // % of one core over the measured window
  loadCpu: number | null
  serverCore: number | null // how busy the server's core was (any process), %
  loadCore: number | null // how busy the load generator's core was, %
}

/** Announces per second of server CPU: capacity when the server had CPU to spare. */
function perCpuSecond(r: RunResult): number | undefined {
  return r.serverCpu && r.serverCpu > 1 ? r.perSecond / (r.serverCpu / 100) : undefined
}

/** What most likely set the pace of a run. */
function bottleneck(r: RunResult): string {
  const server = r.serverCpu !== null && r.serverCpu >= 85
  const load = r.loadCore !== null && r.loadCore >= 90
  if (server && load) return 'server and load generator (both saturated)'
  if (server) return 'server'
  if (load) return 'load generator'
  // Neither saturated: other processes on this shared machine took the server's or the load's core.
  if (r.serverCore !== null && r.serverCpu !== null && r.serverCore - r.serverCpu >= 15) return 'disturbed: other processes on the server core'
  if (r.loadCore !== null && r.loadCpu !== null && r.loadCore - r.loadCpu >= 15) return 'disturbed: other processes on the load core'
  return 'neither (latency-bound)'
}

interface WrkJson { requests: number; duration_us: number; connect: number; read: number; write: number; status: number; timeout: number; p50_us: number; p99_us: number; max_us: number; ok: number; failures: number; other: number; cpu_ticks: number }

async function runWrk(server: Server, lua: string, base: string, conns: number, seconds: number): Promise<WrkJson & { cpu: ReturnType<CpuWindow['end']>; wallMs: number }> {
  const window = new CpuWindow(server.pid)
  window.start()
  const w0 = performance.now()
  const child = spawnTracked('wrk', ['-t1', `-c${conns}`, `-d${seconds}s`, '--timeout', '2s', '-s', lua, `http://127.0.0.1:${server.httpPort}`, '--', base, String(Math.floor(Math.random() * 1e6))], { cpu: LOAD_CPU })
  const r = await collect(child)
  const cpu = window.end()
  const wallMs = performance.now() - w0
  const m = /BENCH_JSON (\{.*\})/.exec(r.stdout)
  if (r.code !== 0 || !m) throw new Error(`wrk failed (${r.signal ?? `exit ${r.code}`}): ${r.stdout}\n${r.stderr}`)
  return { ...(JSON.parse(m[1]!) as WrkJson), cpu, wallMs }
}

async function httpRun(server: Server, infoHash: string, lua: string, conns: number, round: number): Promise<RunResult> {
  const base = announceQuery(infoHash)
  await runWrk(server, lua, base, conns, WARMUP_SECONDS)
  const w = await runWrk(server, lua, base, conns, SECONDS)
  const secs = w.duration_us / 1e6
  const readCounts = server.name !== 'opentracker'
  const errors = w.connect + w.write + w.timeout + w.status + w.failures + w.other + (readCounts ? w.read : 0)
  const parts = [
    w.connect && `connect ${w.connect}`, w.read && `read ${w.read}${readCounts ? '' : '†'}`, w.write && `write ${w.write}`,
    w.timeout && `timeout ${w.timeout}`, w.status && `non-2xx ${w.status}`, w.failures && `failure replies ${w.failures}`, w.other && `other bodies ${w.other}`,
  ].filter(Boolean)
  return {
    tracker: server.name, transport: 'http', load: conns, round, perSecond: w.requests / secs, p50us: w.p50_us, p99us: w.p99_us,
    errors, readErrors: w.read, errorText: parts.join(', '),
    serverCpu: w.cpu.server, serverCore: w.cpu.serverCore, loadCore: w.cpu.loadCore,
    loadCpu: (w.cpu_ticks / CLK_TCK / (w.wallMs / 1000)) * 100,
  }
}

interface UdpJson { seconds: number; replies: number; perSecond: number; errors: number; firstError: string; timeouts: number; late: number; p50_us: number; p99_us: number; cpuPercent: number; error?: string }

async function udpRun(server: Server, infoHash: string, round: number): Promise<RunResult> {
  const procs = Math.min(UDP_PROCS, UDP_CLIENTS)
  let started = 0
  let ended = 0
  const window = new CpuWindow(server.pid)
  let cpu: ReturnType<CpuWindow['end']> = { server: null, serverCore: null, loadCore: null }
  let drops0 = 0
  let drops = NaN
  const runs = Array.from({ length: procs }, (_, i) => {
    const clients = Math.floor(UDP_CLIENTS / procs) + (i < UDP_CLIENTS % procs ? 1 : 0)
    const inflight = Math.floor(UDP_INFLIGHT / procs) + (i < UDP_INFLIGHT % procs ? 1 : 0)
    const child = spawnTracked(process.execPath, ['bench/udp-load.ts', '--port', String(server.udpPort), '--info-hash', infoHash,
      '--clients', String(clients), '--inflight', String(inflight), '--warmup', String(WARMUP_SECONDS), '--seconds', String(SECONDS)], { cpu: LOAD_CPU })
    return collect(child, (line) => {
      if (line === 'MEASURE_START' && ++started === 1) { window.start(); drops0 = udpRcvbufErrors() }
      if (line === 'MEASURE_END' && ++ended === procs) { cpu = window.end(); drops = udpRcvbufErrors() - drops0 }
    })
  })
  const results: UdpJson[] = []
  for (const r of await Promise.all(runs)) {
    const m = /UDP_JSON (\{.*\})/.exec(r.stdout)
    if (r.code !== 0 || !m) throw new Error(`udp-load failed against ${server.name} (${r.signal ?? `exit ${r.code}`}): ${r.stdout}\n${r.stderr}`)
    results.push(JSON.parse(m[1]!) as UdpJson)
  }
  const sum = (f: (u: UdpJson) => number) => results.reduce((a, u) => a + f(u), 0)
  const errors = sum((u) => u.errors)
  const timeouts = sum((u) => u.timeouts)
  const firstError = results.find((u) => u.firstError)?.firstError
  const parts = [errors && `error replies ${errors}${firstError ? ` ("${firstError}")` : ''}`, timeouts && `timeouts ${timeouts}`,
    drops > 0 && `kernel receive-buffer drops ${drops}`].filter(Boolean)
  return {
    tracker: server.name, transport: 'udp', load: UDP_INFLIGHT, round, perSecond: sum((u) => u.perSecond),
    p50us: Math.max(...results.map((u) => u.p50_us)), p99us: Math.max(...results.map((u) => u.p99_us)),
    errors: errors + timeouts, readErrors: 0, errorText: parts.join(', '),
    serverCpu: cpu.server, serverCore: cpu.serverCore, loadCore: cpu.loadCore,
    loadCpu: sum((u) => u.cpuPercent),
  }
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary (BENCH_SERVER_NODE_ARGS="--cpu-prof ...")

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }

function summarizeProfile(file: string, top = 25): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  let idle = 0
  prof.samples.forEach((id, i) => {
    const dt = Math.max(0, prof.timeDeltas[i] ?? 0)
    const n = byId.get(id)!
    const { functionName, url, lineNumber } = n.callFrame
    if (functionName === '(idle)') { idle += dt; return }
    total += dt
    const where = url ? `${url.replace(`file://${REPO_ROOT}/`, '').replace(/^node:/, 'node:')}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`.trim()
    self.set(key, (self.get(key) ?? 0) + dt)
  })
  const lines = [`profile ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle; self time of the busy part:`]
  for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${((t / total) * 100).toFixed(1).padStart(5)} %  ${key}`)
  // Grouped: where the time goes, by source.
  const groups = new Map<string, number>()
  for (const [key, t] of self) {
    const g = key.includes('src/tracker/') ? 'Seedcast tracker code (src/tracker)'
      : key.includes('node:_http') || key.includes('node:http') ? 'node:http (JS)'
        : key.includes('node:net') || key.includes('node:stream') || key.includes('node:internal/streams') ? 'node:net / streams (JS)'
          : key.startsWith('(garbage collector)') ? 'GC'
            : key.startsWith('(program)') ? '(program): native, incl. syscalls'
              : key.includes('node:') ? 'other node: internals' : 'other'
    groups.set(g, (groups.get(g) ?? 0) + t)
  }
  lines.push('  grouped:')
  for (const [g, t] of [...groups].sort((a, b) => b[1] - a[1])) lines.push(`  ${((t / total) * 100).toFixed(1).padStart(5)} %  ${g}`)
  return lines
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  for (const cmd of ['wrk', 'opentracker', 'taskset', 'curl', 'ffmpeg']) {
    await run('sh', ['-c', `command -v ${cmd}`]).catch(() => { throw new Error(`${cmd} not found on PATH (Debian: apt-get install -y wrk opentracker util-linux curl ffmpeg)`) })
  }
  const clkTck = Number((await run('getconf', ['CLK_TCK'])).trim())
  if (clkTck !== CLK_TCK) throw new Error(`CLK_TCK is ${clkTck}, expected ${CLK_TCK}`)
  if (cpus().length < 2) log(`only ${cpus().length} CPU: server and load generator will share it`)

  tempDir = await mkdtemp(path.join(tmpdir(), 'seedcast-tracker-bench-'))
  const lua = path.join(tempDir, 'announce.lua')
  await writeFile(lua, WRK_LUA)
  // --cpu-prof without a folder: write the profile in the temporary folder and summarise it.
  if (SERVER_NODE_ARGS.some((a) => a.startsWith('--cpu-prof')) && !SERVER_NODE_ARGS.some((a) => a.startsWith('--cpu-prof-dir'))) {
    SERVER_NODE_ARGS.push(`--cpu-prof-dir=${path.join(tempDir, 'profile')}`)
  }
  const profDir = SERVER_NODE_ARGS.find((a) => a.startsWith('--cpu-prof-dir='))?.slice('--cpu-prof-dir='.length)
  log(`temporary folder ${tempDir}; ${SECONDS} s runs after ${WARMUP_SECONDS} s warm-up, ${ROUNDS} round(s); servers on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU}`)
  const loadBefore = loadavg()

  // The servers. Seedcast first: its upload gives the infohash every tracker is loaded with.
  // Seedcast always runs (it provides the infohash), even when not measured.
  const seedcast = await startSeedcast(path.join(tempDir, 'storage'))
  const infoHash = await uploadClip(seedcast, tempDir)
  log(`Seedcast pid ${seedcast.pid} on http://127.0.0.1:${seedcast.httpPort} (UDP ${seedcast.udpPort}); uploaded a clip, infohash ${infoHash}`)
  const servers: Partial<Record<`${TrackerName}/${Transport}`, Server>> = {}
  const want = (t: TrackerName, tr: Transport) => TRACKERS.includes(t) && TRANSPORTS.includes(tr)
  if (want('seedcast', 'http')) servers['seedcast/http'] = seedcast
  if (want('seedcast', 'udp')) servers['seedcast/udp'] = seedcast
  if (want('bittorrent-tracker', 'http')) servers['bittorrent-tracker/http'] = await startBittorrentTracker('http')
  if (want('bittorrent-tracker', 'udp')) servers['bittorrent-tracker/udp'] = await startBittorrentTracker('udp')
  if (TRACKERS.includes('opentracker')) {
    const ot = await startOpentracker(path.join(tempDir, 'opentracker'), infoHash)
    if (TRANSPORTS.includes('http')) servers['opentracker/http'] = ot
    if (TRANSPORTS.includes('udp')) servers['opentracker/udp'] = ot
  }

  // One announce each before any load: a real announce reply, not a failure.
  for (const [key, server] of Object.entries(servers)) {
    const [, transport] = key.split('/') as [TrackerName, Transport]
    const summary = transport === 'http' ? await checkHttpWithRetry(server, infoHash) : await checkUdp(server, infoHash)
    log(`check ${key} (pid ${server.pid}, port ${transport === 'http' ? server.httpPort : server.udpPort}): ${summary}`)
  }

  const results: RunResult[] = []
  const order = (round: number) => TRACKERS.map((_, i) => TRACKERS[(i + round) % TRACKERS.length]!)
  const describe = (r: RunResult) => `${r.tracker} ${r.transport} ${r.transport === 'http' ? `c=${r.load}` : `${r.load} in flight`}: ${fmtInt(r.perSecond)}/s, p99 ${fmtMs(r.p99us)}, ` +
    `server CPU ${fmtCpu(r.serverCpu)} (its core ${fmtCpu(r.serverCore)} busy), load-gen CPU ${fmtCpu(r.loadCpu)} (its core ${fmtCpu(r.loadCore)} busy) → ${bottleneck(r)}${r.errorText ? `; ${r.errorText}` : ''}`
  for (let round = 0; round < ROUNDS; round++) {
    if (TRANSPORTS.includes('http')) {
      for (const conns of CONNS) {
        for (const t of order(round)) {
          const server = servers[`${t}/http`]
          if (!server) continue
          const r = await httpRun(server, infoHash, lua, conns, round)
          results.push(r)
          log(`round ${round + 1}: ${describe(r)}`)
        }
      }
    }
    if (TRANSPORTS.includes('udp')) {
      for (const t of order(round)) {
        const server = servers[`${t}/udp`]
        if (!server) continue
        const r = await udpRun(server, infoHash, round)
        results.push(r)
        log(`round ${round + 1}: ${describe(r)}`)
      }
    }
  }
  const loadAfter = loadavg()

  // Seedcast's own counters: every announce answered, none refused.
  const metrics = await fetch(`http://127.0.0.1:${seedcast.httpPort}/metrics`).then((r) => r.text(), (err: Error) => `unavailable: ${err.message}`)
  const metric = (re: RegExp) => { const m = re.exec(metrics); return m ? Number(m[1]) : NaN }
  const scHttp = metric(/seedcast_tracker_announces_total\{transport="http"\} (\d+)/)
  const scUdp = metric(/seedcast_tracker_announces_total\{transport="udp"\} (\d+)/)
  const rejected = [...metrics.matchAll(/seedcast_tracker_rejected_total\{reason="([^"]+)"\} (\d+)/g)].map((m) => `${m[1]} ${m[2]}`)
  const dropped = metric(/seedcast_tracker_udp_dropped_total (\d+)/)
  const peers = [...metrics.matchAll(/seedcast_tracker_peers\{kind="(seeder|leecher)"\} (\d+)/g)].map((m) => `${m[2]} ${m[1]}s`).join(', ')

  // Stop the servers now: a --cpu-prof profile is written when Seedcast exits.
  const alive = [...new Set(Object.values(servers))].concat(seedcast).filter((s, i, a) => a.indexOf(s) === i)
  const deadServers = alive.filter((s) => !isAlive(s.child)).map((s) => s.name)
  await Promise.all(alive.map((s) => stopChild(s.child)))

  // ---- Report
  const best = new Map<string, RunResult>()
  const all = new Map<string, RunResult[]>()
  for (const r of results) {
    const key = `${r.tracker}|${r.transport}|${r.load}`
    all.set(key, [...(all.get(key) ?? []), r])
    if (!best.has(key) || best.get(key)!.perSecond < r.perSecond) best.set(key, r)
  }
  const get = (t: TrackerName, tr: Transport, load: number) => best.get(`${t}|${tr}|${load}`)
  const ratio = (a: RunResult | undefined, b: RunResult | undefined) => (a && b ? a.perSecond / b.perSecond : undefined)
  const cpuRatio = (a: RunResult | undefined, b: RunResult | undefined) => {
    const x = a && perCpuSecond(a)
    const y = b && perCpuSecond(b)
    return x && y ? x / y : undefined
  }
  const fmtRatio = (x: number | undefined) => (x === undefined ? '–' : `${(x * 100).toFixed(0)} %`)

  const out: string[] = []
  out.push('', `## Tracker announce throughput (${new Date().toISOString()})`, '')
  out.push(`Node ${process.version}, wrk 4.1.0, opentracker (Debian 0.0~git20210823), bittorrent-tracker ${readPackageVersion('bittorrent-tracker')}; ` +
    `${cpus().length} cores, servers pinned to CPU ${SERVER_CPU}, load generators to CPU ${LOAD_CPU}; loopback. ` +
    `${SECONDS} s per run after a ${WARMUP_SECONDS} s warm-up, best of ${ROUNDS} interleaved round(s). ` +
    `Load average (1/5 min) before ${loadBefore[0]!.toFixed(2)}/${loadBefore[1]!.toFixed(2)}, after ${loadAfter[0]!.toFixed(2)}/${loadAfter[1]!.toFixed(2)}.`, '')
  out.push('| tracker | transport | conns / in flight | announces/s | p99 | errors | ratio vs opentracker | server CPU | announces per server CPU-s (ratio vs opentracker) | load-gen CPU | limited by | all rounds (announces/s) |')
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|')
  const loads: [Transport, number][] = [...(TRANSPORTS.includes('http') ? CONNS.map((c) => ['http', c] as [Transport, number]) : []), ...(TRANSPORTS.includes('udp') ? [['udp', UDP_INFLIGHT] as [Transport, number]] : [])]
  for (const [tr, load] of loads) {
    for (const t of ALL_TRACKERS) {
      const r = get(t, tr, load)
      if (!r) continue
      const ot = get('opentracker', tr, load)
      const runs = all.get(`${t}|${tr}|${load}`)!.map((x) => fmtInt(x.perSecond)).join(' / ')
      const errs = r.errors === 0 && !r.errorText ? '0' : `${r.errors}${r.errorText ? ` (${r.errorText})` : ''}`
      const eff = perCpuSecond(r)
      out.push(`| ${t} | ${tr.toUpperCase()} | ${tr === 'http' ? `${load} conns` : `${load} in flight (${UDP_CLIENTS} sockets)`} | ${fmtInt(r.perSecond)} | ${fmtMs(r.p99us)} | ${errs} | ` +
        `${t === 'opentracker' ? '100 %' : fmtRatio(ratio(r, ot))} | ${fmtCpu(r.serverCpu)} (core ${fmtCpu(r.serverCore)}) | ` +
        `${eff === undefined ? '?' : fmtInt(eff)} (${t === 'opentracker' ? '100 %' : fmtRatio(cpuRatio(r, ot))}) | ${fmtCpu(r.loadCpu)} (core ${fmtCpu(r.loadCore)}) | ${bottleneck(r)} | ${runs} |`)
    }
  }
  out.push('')
  out.push('Ratios of Seedcast (throughput; per server CPU-second in brackets):')
  for (const [tr, load] of loads) {
    const sc = get('seedcast', tr, load)
    const ot = get('opentracker', tr, load)
    const bt = get('bittorrent-tracker', tr, load)
    out.push(`- ${tr.toUpperCase()} ${tr === 'http' ? `${load} conns` : `${load} in flight`}: Seedcast/opentracker ${fmtRatio(ratio(sc, ot))} (${fmtRatio(cpuRatio(sc, ot))}), ` +
      `Seedcast/bittorrent-tracker ${fmtRatio(ratio(sc, bt))} (${fmtRatio(cpuRatio(sc, bt))})`)
  }
  out.push('')
  out.push(`Targets (HTTP: Seedcast ≥ ${TARGET_HTTP_RATIO * 100} % of opentracker). When opentracker was not the bottleneck of its own run (it had CPU to spare: ` +
    'the load generator or something else set the pace), its throughput understates it, and the ratio per server CPU-second is the fair one; that one is judged then:')
  const missed: string[] = []
  if (TRANSPORTS.includes('http')) {
    for (const c of CONNS) {
      const sc = get('seedcast', 'http', c)
      const ot = get('opentracker', 'http', c)
      const x = ratio(sc, ot)
      if (x === undefined || !ot) { out.push(`- HTTP ${c} conns: not measured`); continue }
      const saturated = bottleneck(ot).startsWith('server')
      const judged = saturated ? x : cpuRatio(sc, ot) ?? x
      const ok = judged >= TARGET_HTTP_RATIO
      if (!ok) missed.push(`HTTP ${c} conns at ${fmtRatio(judged)}`)
      out.push(`- HTTP ${c} conns: throughput ratio ${fmtRatio(x)}, per server CPU-second ${fmtRatio(cpuRatio(sc, ot))}; opentracker limited by ${bottleneck(ot)}; ` +
        `judged on ${saturated ? 'throughput' : 'CPU-second'}: ${fmtRatio(judged)}, ${ok ? 'met' : '**MISSED**'}`)
    }
  }
  if (TRANSPORTS.includes('udp')) {
    const sc = get('seedcast', 'udp', UDP_INFLIGHT)
    const ot = get('opentracker', 'udp', UDP_INFLIGHT)
    out.push(`- UDP (no target set): Seedcast at ${fmtRatio(ratio(sc, ot))} of opentracker's throughput, ${fmtRatio(cpuRatio(sc, ot))} per server CPU-second` +
      `${ot ? `; opentracker limited by ${bottleneck(ot)}` : ''}${sc ? `, Seedcast by ${bottleneck(sc)}` : ''}`)
  }
  out.push('')
  out.push('Notes:')
  out.push('- HTTP: every announce is a new TCP connection (wrk, `Connection: close`), a fresh random peer_id/port each; p99 is wrk\'s, from request write to full response (connection set-up not included). ' +
    'Errors = socket errors + non-2xx + replies that are not announces (wrk checks every body).')
  out.push('- † opentracker closes each connection after its reply without sending `Connection: close`, so wrk tries to reuse the socket once and counts one read error per announce; ' +
    'those are expected and not counted as errors (every completed reply was still checked to be an announce).')
  out.push(`- UDP: ${UDP_CLIENTS} sockets (each its own connection id), ${UDP_INFLIGHT} announces in flight in total, ${UDP_PROCS} generator process(es) on CPU ${LOAD_CPU}; ` +
    'errors = error replies + timeouts (no reply within 250 ms: lost, nearly always to the full receive buffer of the server socket (RcvbufErrors) while requests queue; re-sent).')
  out.push('- CPU = utime+stime of the process (all threads) over the measured window, % of one core; "core" = how busy that CPU was in all (any process, irq, softirq). ' +
    '"limited by": server = server process ≥ 85 % of its core; load generator = the load core ≥ 90 % busy (both saturated: the server may have more to give); ' +
    'disturbed = neither saturated while other processes of this shared machine used ≥ 15 % of a core we use. On loopback the kernel receive work of each packet runs on the sending core, ' +
    'so a TCP server\'s accept/SYN handling is charged to wrk\'s core: with one core for wrk, a fast C server cannot be saturated over HTTP.')
  out.push('- Swarm: one infohash; each run adds new peers. Seedcast keeps ≤ 50,000 peers per swarm (later ones are answered, not stored), bittorrent-tracker an LRU of 1,000, opentracker keys peers by ip:port (≤ 64,512 here).')
  out.push(`- Seedcast counters at the end: ${fmtInt(scHttp)} HTTP and ${fmtInt(scUdp)} UDP announces answered, refused: ${rejected.length ? rejected.join(', ') : 'none'}, UDP packets dropped: ${dropped}, swarm: ${peers || '?'}.`)
  if (deadServers.length) out.push(`- **A server died during the run: ${deadServers.join(', ')}**`)
  out.push('')
  out.push(missed.length ? `TARGET MISSED: ${missed.join('; ')}` : TRANSPORTS.includes('http') ? 'HTTP target met.' : '')
  console.log(out.join('\n'))

  if (profDir) {
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(profDir, f))
    for (const f of files) console.log('\n```\n' + summarizeProfile(f).join('\n') + '\n```')
    if (!files.length) log(`no .cpuprofile in ${profDir}`)
    else if (profDir.startsWith(tempDir)) log('profile removed with the temporary folder; pass --cpu-prof-dir=DIR to keep it')
  }
  if (env.BENCH_SERVER_LOG === '1') log(`Seedcast output:\n${seedcast.logs.join('\n')}`)
  return deadServers.length ? 1 : 0
}

function readPackageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

let code = 1
try {
  code = await main()
} catch (err) {
  // After Ctrl-C the children were stopped on purpose: their "failure" is no news.
  if (!cleanedUp) console.error(`[bench] failed: ${(err as Error).stack ?? String(err)}`)
  code = 1
} finally {
  await cleanup()
}
process.exitCode = code
