// Upload benchmark: `npm run bench:upload`.
//
// Streams one large media file (2 GiB by default; BENCH_UPLOAD_BYTES to change) through
// POST /api/videos of a real Seedcast server started as a child process, and reports:
//   - the server's resident memory (VmRSS sampled every 50 ms, VmHWM at the end) - the web app
//     process started here, which the target applies to; its seeder child (bt_server/, forked by
//     the web app unless SEEDER=off) is reported on its own line,
//   - upload throughput and "torrent ready latency" (201 response time - last body byte written),
//   - references measured in the same run on the same file and disk: sha1sum (hashing lower
//     bound), cat > /dev/null (read), cp into the storage folder (write, like the server: no fsync),
//   - integrity: the stored file equals the input, and its .torrent / API infohash equal the
//     infohash mktorrent computes from the stored file.
// Prints a Markdown table. Exits 0 even when a performance target is missed; exits 1 on errors
// or when an integrity check fails. Everything lives in one temporary folder, removed at the end.
//
// Environment: BENCH_UPLOAD_BYTES (default 2 GiB; also accepts 512MiB, 1GiB, ...),
// BENCH_SERVER_NODE_ARGS (extra node flags for the server only, e.g. "--trace-gc"),
// BENCH_SERVER_LOG=1 (print the server's output at the end).
// Units: MB = 1,000,000 bytes, MiB = 1,048,576 bytes.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, createCipheriv, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import bencode from 'bencode'
import { NODE_FLAGS } from '../src/runtimeFlags.ts'

const MB = 1e6
const MiB = 1024 * 1024
const GiB = 1024 ** 3
const SAMPLE_MS = 50
const SETTLE_MS = 2000
const AFTER_MS = 2000
const TARGET_PEAK_RSS_MB = 200
const TARGET_READY_MS = 1000
const ADMIN_PASSWORD = 'bench-password-123'
const DEFAULT_MAX_UPLOAD_BYTES = 20 * GiB
const REPO_ROOT = path.resolve(import.meta.dirname, '..')

// ---------------------------------------------------------------------------------------------
// Small helpers

const now = () => performance.now()
const fmtMB = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`
const fmtRate = (bytes: number, ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`
const fmtSec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const log = (line: string) => console.error(`[bench] ${line}`)

function parseSize(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 2 * GiB
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?)?\s*$/i.exec(raw)
  if (!m) throw new Error(`BENCH_UPLOAD_BYTES=${JSON.stringify(raw)}: expected a byte count such as 2147483648, 512MiB or 2GiB`)
  const unit = (m[2] ?? '').toLowerCase()
  const factor = unit.startsWith('k') ? (unit.includes('i') ? 1024 : 1e3)
    : unit.startsWith('m') ? (unit.includes('i') ? MiB : MB)
      : unit.startsWith('g') ? (unit.includes('i') ? GiB : 1e9) : 1
  const bytes = Math.round(Number(m[1]) * factor)
  if (!Number.isSafeInteger(bytes) || bytes < MiB) throw new Error(`BENCH_UPLOAD_BYTES must be at least 1 MiB (got ${bytes})`)
  return bytes
}

/** Runs a command to completion; resolves with its wall time and stdout. */
function run(cmd: string, args: string[], opts: { stdoutTo?: 'devnull' } = {}): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const start = now()
    const child = spawn(cmd, args, { stdio: ['ignore', opts.stdoutTo === 'devnull' ? 'ignore' : 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4000) })
    child.once('error', (err) => reject(new Error(`${cmd}: ${err.message}`)))
    child.once('close', (code, signal) => {
      if (code === 0) resolve({ ms: now() - start, stdout })
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`))
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------
// The media file: a real 1-second MP4 (so the container sniff passes) followed by pseudo-random
// bytes (AES-128-CTR keystream: fast, incompressible) written in 1 MiB chunks with backpressure.

async function makeMediaFile(dir: string, target: string, size: number): Promise<number> {
  const start = now()
  const clip = path.join(dir, 'clip.mp4')
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=320x240:rate=25',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip])
  const header = await readFile(clip) // tens of kilobytes
  await rm(clip)
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16))
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
  const actual = (await stat(target)).size
  if (actual !== size) throw new Error(`media file is ${actual} bytes, expected ${size}`)
  return now() - start
}

// ---------------------------------------------------------------------------------------------
// The server, as a child process

interface Memory { rssKB: number; hwmKB: number }

function readMemory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)
    if (!rss || !hwm) return null
    return { rssKB: Number(rss[1]), hwmKB: Number(hwm[1]) }
  } catch {
    return null
  }
}

const kbToBytes = (kb: number) => kb * 1024

/** Direct children of a process (the web app forks the seeder, bt_server/main.ts). */
function childPids(pid: number): number[] {
  const pids: number[] = []
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()
      if (text) pids.push(...text.split(/\s+/).map(Number))
    }
  } catch { /* gone */ }
  return pids
}

function processTree(pid: number): number[] {
  const all = [pid]
  for (let i = 0; i < all.length; i++) all.push(...childPids(all[i]!))
  return all
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

interface ServerProcess { child: ChildProcess; port: number; url: string; logs: string[] }

async function startServer(storageDir: string, fileBytes: number): Promise<ServerProcess> {
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
    SEEDER_PORT: String(seederPort), // not the fixed default 6881: another instance may hold it
  }
  if (fileBytes + MiB > DEFAULT_MAX_UPLOAD_BYTES) env.MAX_UPLOAD_BYTES = String(fileBytes + GiB)
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
  const child = spawn(process.execPath, [...NODE_FLAGS, ...nodeArgs, 'src/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const logs: string[] = []
  const keepLines = process.env.BENCH_SERVER_LOG === '1' ? 20_000 : 200
  const keep = (d: string) => { for (const line of d.split('\n')) if (line) logs.push(line); logs.splice(0, Math.max(0, logs.length - keepLines)) }
  child.stdout!.setEncoding('utf8').on('data', keep)
  child.stderr!.setEncoding('utf8').on('data', keep)
  serverChild = child

  const deadline = now() + 30_000
  while (now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited during start-up (${child.signalCode ?? `exit ${child.exitCode}`}):\n${logs.join('\n')}`)
    }
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false)
    if (ok) return { child, port, url, logs }
    await sleep(100)
  }
  throw new Error(`server did not answer /healthz within 30 s:\n${logs.join('\n')}`)
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  // The web app stops its seeder itself; the ids are kept in case it cannot (SIGKILL below).
  const descendants = processTree(child.pid!).slice(1)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timedOut = await Promise.race([exited.then(() => false), sleep(8000).then(() => true)])
  if (timedOut) {
    child.kill('SIGKILL')
    await exited
  }
  for (const pid of descendants) {
    for (let i = 0; i < 20 && isAlive(pid); i++) await sleep(100)
    if (isAlive(pid)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
  }
}

// ---------------------------------------------------------------------------------------------
// The upload: a multipart body built by hand around a piped file stream, with Content-Length.

interface UploadResult {
  status: number
  body: string
  startAt: number
  lastByteAt: number | undefined
  responseAt: number
}

function uploadFile(port: number, file: string, size: number, progress: { sent: number }): Promise<UploadResult> {
  const boundary = `----SeedcastBench${randomBytes(12).toString('hex')}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nUpload benchmark\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n${size} bytes streamed by bench/upload.ts\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.mp4"\r\nContent-Type: video/mp4\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)

  return new Promise((resolve, reject) => {
    let settled = false
    const fail = (err: Error) => { if (!settled) { settled = true; source.destroy(); req.destroy(); reject(err) } }
    let lastByteAt: number | undefined
    let response: { status: number; body: string; at: number } | undefined
    const finishIfDone = () => {
      if (settled || !response) return
      // A 201 means the server read every byte, so the last write has completed (or is about to
      // report so); an early error answer never completes the body.
      if (lastByteAt === undefined && response.status < 300) return
      settled = true
      resolve({ status: response.status, body: response.body, startAt, lastByteAt, responseAt: response.at })
    }

    const startAt = now()
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path: '/api/videos', agent: false,
      headers: {
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Content-Length': String(head.length + size + tail.length),
        Authorization: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64'),
      },
    })
    const source = createReadStream(file, { highWaterMark: MiB })
    req.on('response', (res) => {
      const at = now()
      if (lastByteAt === undefined) source.unpipe(req) // answered early: stop sending
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', fail)
      res.on('end', () => {
        response = { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), at }
        finishIfDone()
      })
    })
    req.on('error', (err) => { if (!response) fail(err) })
    source.on('error', fail)
    source.on('data', (chunk) => { progress.sent += chunk.length })
    source.on('end', () => {
      req.end(tail, () => {
        lastByteAt = now()
        finishIfDone()
      })
    })
    req.write(head)
    source.pipe(req, { end: false })
  })
}

// ---------------------------------------------------------------------------------------------
// Integrity checks

function sha1Hex(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex')
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** infohash, length and piece length of a single-file .torrent (re-encoding its info dict). */
async function readTorrentInfo(file: string): Promise<{ infoHash: string; length: number; pieceLength: number; pieceCount: number }> {
  const top = bencode.decode(await readFile(file))
  if (!isRecord(top) || !isRecord(top.info)) throw new Error(`${file}: no info dictionary`)
  const info = top.info
  const pieces = info.pieces
  if (typeof info.length !== 'number' || typeof info['piece length'] !== 'number' || !(pieces instanceof Uint8Array)) {
    throw new Error(`${file}: not a single-file torrent`)
  }
  return { infoHash: sha1Hex(bencode.encode(info)), length: info.length, pieceLength: info['piece length'], pieceCount: pieces.length / 20 }
}

interface Check { name: string; value: string; ok: boolean }

// ---------------------------------------------------------------------------------------------
// Clean-up that also runs on errors and signals

let tempDir: string | undefined
let serverChild: ChildProcess | undefined
let cleanedUp = false

async function cleanup(): Promise<void> {
  if (cleanedUp) return
  cleanedUp = true
  if (serverChild) await stopServer(serverChild).catch(() => {})
  if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => {})
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the server and removing ${tempDir ?? 'temporary files'}`)
    void cleanup().finally(() => process.exit(130))
  })
}
// Last resort if the process exits some other way: synchronous kill and removal.
process.once('exit', () => {
  if (cleanedUp) return
  if (serverChild && serverChild.exitCode === null) serverChild.kill('SIGKILL')
  if (tempDir) rmSync(tempDir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const size = parseSize(process.env.BENCH_UPLOAD_BYTES)
  for (const cmd of ['ffmpeg', 'sha1sum', 'cp', 'cat', 'sync']) {
    if (!(await haveCommand(cmd))) throw new Error(`${cmd} not found on PATH`)
  }
  const haveMktorrent = await haveCommand('mktorrent')

  tempDir = await mkdtemp(path.join(tmpdir(), 'seedcast-bench-'))
  const input = path.join(tempDir, 'input.mp4')
  const storageDir = path.join(tempDir, 'storage')
  log(`temporary folder ${tempDir}; file size ${size} bytes (${(size / GiB).toFixed(2)} GiB)`)

  // 1. The media file.
  const createMs = await makeMediaFile(tempDir, input, size)
  log(`created ${input} in ${fmtSec(createMs)}`)
  await run('sync', [])

  // 2. References on the same file and disk, before the server runs (nothing competes for CPU).
  const sha1Ref = await run('sha1sum', [input])
  const inputSha1 = sha1Ref.stdout.split(/\s/)[0]!
  log(`sha1sum: ${fmtSec(sha1Ref.ms)}`)
  const catRef = await run('cat', [input], { stdoutTo: 'devnull' })
  log(`cat > /dev/null: ${fmtSec(catRef.ms)}`)
  const copyTarget = path.join(tempDir, 'copy.mp4')
  const cpRef = await run('cp', [input, copyTarget])
  const cpSync = await run('sync', [])
  await rm(copyTarget)
  await run('sync', [])
  log(`cp: ${fmtSec(cpRef.ms)} (+ sync ${fmtSec(cpSync.ms)})`)

  // 3. The server.
  const server = await startServer(storageDir, size)
  const pid = server.child.pid!
  log(`server pid ${pid} on ${server.url}`)
  // Let start-up settle (the web app forks its seeder after listening), then take the baseline.
  await sleep(SETTLE_MS)
  const baseline = readMemory(pid)
  if (!baseline) throw new Error(`cannot read /proc/${pid}/status`)
  const helperHwmKB = new Map<number, number>() // child pid -> VmHWM seen
  const readHelpers = () => {
    let rssKB = 0
    for (const child of processTree(pid).slice(1)) {
      const m = readMemory(child)
      if (!m) continue
      rssKB += m.rssKB
      helperHwmKB.set(child, Math.max(helperHwmKB.get(child) ?? 0, m.hwmKB))
    }
    return rssKB
  }
  const helpersBaselineKB = readHelpers()
  const loadBefore = loadavg()[0]!

  // 4. The upload, with memory sampled every 50 ms.
  const progress = { sent: 0 }
  const samples: { ms: number; sent: number; rssKB: number; helpersKB: number }[] = []
  let uploadStart = now()
  let nextReport = 0.1
  const sampler = setInterval(() => {
    const m = readMemory(pid)
    if (!m) return
    samples.push({ ms: now() - uploadStart, sent: progress.sent, rssKB: m.rssKB, helpersKB: readHelpers() })
    if (progress.sent / size >= nextReport) {
      log(`${String(Math.round(progress.sent / size * 100)).padStart(3)}%  sent ${fmtMB(progress.sent).padStart(9)}  server RSS ${fmtMB(kbToBytes(m.rssKB))}`)
      while (progress.sent / size >= nextReport) nextReport += 0.1
    }
  }, SAMPLE_MS)
  let result: UploadResult
  try {
    uploadStart = now()
    result = await uploadFile(server.port, input, size, progress)
    // A little longer: does memory come back down, and what does the seeder do with the new torrent?
    await sleep(AFTER_MS)
  } finally {
    clearInterval(sampler)
  }
  const after = readMemory(pid)
  if (!after) throw new Error(`server process ${pid} is gone after the upload:\n${server.logs.join('\n')}`)
  const helpersAfterKB = readHelpers()
  const loadAfter = loadavg()[0]!

  if (result.status !== 201) {
    throw new Error(`upload answered ${result.status}: ${result.body.slice(0, 2000)}\nserver log:\n${server.logs.join('\n')}`)
  }
  const lastByteAt = result.lastByteAt!
  const uploadMs = lastByteAt - result.startAt
  const readyMs = result.responseAt - lastByteAt
  const totalMs = result.responseAt - result.startAt
  log(`upload: last byte after ${fmtSec(uploadMs)}, 201 after ${fmtSec(totalMs)}`)

  // 5. Integrity.
  const checks: Check[] = []
  const video = JSON.parse(result.body) as { status?: string; size?: number; fileUrl?: string; torrent?: { infoHash?: string; pieceLength?: number } | null }
  const apiHash = video.torrent?.infoHash ?? ''
  checks.push({
    name: 'API answer: status ready, infohash, size',
    value: `status=${video.status}, infohash=${apiHash || 'none'}, size=${video.size}`,
    ok: video.status === 'ready' && /^[0-9a-f]{40}$/.test(apiHash) && video.size === size,
  })
  const fileName = decodeURIComponent(new URL(video.fileUrl ?? 'http://x/').pathname.split('/').pop() ?? '')
  const stored = path.join(storageDir, 'media', fileName)
  const storedSize = await stat(stored).then((s) => s.size, () => -1)
  checks.push({ name: 'Stored file size = input size', value: `${storedSize} bytes`, ok: storedSize === size })
  const leftovers = await readdir(path.join(storageDir, 'incoming')).catch(() => [] as string[])
  checks.push({ name: 'Nothing left in incoming/', value: leftovers.length ? leftovers.join(', ') : 'empty', ok: leftovers.length === 0 })
  if (storedSize === size) {
    const storedSha1 = (await run('sha1sum', [stored])).stdout.split(/\s/)[0]!
    checks.push({ name: 'Stored file SHA-1 = input SHA-1', value: storedSha1.slice(0, 12) + '…', ok: storedSha1 === inputSha1 })
  }
  let torrentInfo: Awaited<ReturnType<typeof readTorrentInfo>> | undefined
  try {
    torrentInfo = await readTorrentInfo(`${stored}.torrent`)
    checks.push({
      name: '.torrent beside the file: infohash, length = API',
      value: `${torrentInfo.pieceCount} pieces of ${torrentInfo.pieceLength / MiB} MiB`,
      ok: torrentInfo.infoHash === apiHash && torrentInfo.length === size && torrentInfo.pieceLength === video.torrent?.pieceLength,
    })
  } catch (err) {
    checks.push({ name: '.torrent beside the file', value: (err as Error).message, ok: false })
  }
  let mktorrentMs: number | undefined
  if (haveMktorrent && torrentInfo && storedSize === size) {
    // An independent implementation hashing the bytes on disk; same info dict => same infohash.
    const refTorrent = path.join(tempDir, 'reference.torrent')
    const exponent = Math.log2(torrentInfo.pieceLength)
    const ref = await run('mktorrent', ['-d', '-l', String(exponent), '-n', fileName, '-o', refTorrent, stored])
    mktorrentMs = ref.ms
    const refInfo = await readTorrentInfo(refTorrent)
    checks.push({ name: 'infohash = mktorrent of the stored file', value: refInfo.infoHash, ok: refInfo.infoHash === apiHash })
  } else if (!haveMktorrent) {
    checks.push({ name: 'infohash = mktorrent of the stored file', value: 'skipped (mktorrent not installed)', ok: true })
  }

  // 6. Memory figures.
  const sampledPeakKB = Math.max(baseline.rssKB, ...samples.map((s) => s.rssKB))
  const sampledTreePeakKB = Math.max(baseline.rssKB + helpersBaselineKB, ...samples.map((s) => s.rssKB + s.helpersKB))
  const helpersPeakKB = [...helperHwmKB.values()].reduce((a, b) => Math.max(a, b), 0)
  const rssAt = (fraction: number) => samples.find((s) => s.sent >= fraction * size)?.rssKB
  const growth = [0.25, 0.5, 0.75, 1].map((f) => { const kb = rssAt(f); return kb === undefined ? '?' : (kbToBytes(kb) / MB).toFixed(0) }).join(' / ')
  const peakBytes = kbToBytes(after.hwmKB)
  const peakOk = peakBytes < TARGET_PEAK_RSS_MB * MB
  const readyOk = readyMs <= TARGET_READY_MS
  const uploadRate = size / MB / (uploadMs / 1000)
  const cpRate = size / MB / (cpRef.ms / 1000)

  // 7. Report.
  const yes = 'yes'
  const no = '**NO**'
  const rows: [string, string, string, string][] = [
    ['File size', `${fmtMB(size)} (${(size / GiB).toFixed(2)} GiB; made in ${fmtSec(createMs)})`, '', ''],
    ['Server RSS before upload (VmRSS)', fmtMB(kbToBytes(baseline.rssKB)), '', ''],
    ['Server RSS at 25 / 50 / 75 / 100 % sent (MB)', growth, '', ''],
    [`Server RSS peak, sampled every ${SAMPLE_MS} ms (${samples.length} samples)`, fmtMB(kbToBytes(sampledPeakKB)), '', ''],
    [`Server RSS ${AFTER_MS / 1000} s after the 201`, fmtMB(kbToBytes(after.rssKB)), '', ''],
    [`**Server peak RSS (VmHWM of pid ${pid}, whole process life)**`, fmtMB(peakBytes), `< ${TARGET_PEAK_RSS_MB} MB`, peakOk ? yes : no],
    ['Seeder child process(es): RSS before / after / peak VmHWM', helperHwmKB.size
      ? `${fmtMB(kbToBytes(helpersBaselineKB))} / ${fmtMB(kbToBytes(helpersAfterKB))} / ${fmtMB(kbToBytes(helpersPeakKB))}`
      : 'none (SEEDER=off?)', '', ''],
    ['Web app + seeder RSS, sampled peak of the sum', fmtMB(kbToBytes(sampledTreePeakKB)), '', ''],
    ['Upload time (first to last body byte written)', fmtSec(uploadMs), '', ''],
    ['Upload throughput', `${uploadRate.toFixed(0)} MB/s`, '', ''],
    ['**Torrent ready latency (201 − last byte written)**', `${readyMs.toFixed(0)} ms`, `≤ ${TARGET_READY_MS} ms`, readyOk ? yes : no],
    ['Request start to 201', fmtSec(totalMs), '', ''],
    ['Load average (1 min) before / after the upload, 2 cores', `${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}`, '', ''],
    ['Reference: cp into the storage disk (no fsync, like the server)', `${fmtSec(cpRef.ms)}, ${fmtRate(size, cpRef.ms)}`, '', ''],
    ['Reference: sync after that cp', fmtSec(cpSync.ms), '', ''],
    ['Seedcast upload throughput ÷ cp throughput', (uploadRate / cpRate).toFixed(2), '', ''],
    ['Seedcast upload throughput ÷ (cp + sync) throughput', (uploadRate / (size / MB / ((cpRef.ms + cpSync.ms) / 1000))).toFixed(2), '', ''],
    ['Reference: cat > /dev/null', `${fmtSec(catRef.ms)}, ${fmtRate(size, catRef.ms)}`, '', ''],
    ['Reference: sha1sum (whole-file SHA-1, one core)', `${fmtSec(sha1Ref.ms)}, ${fmtRate(size, sha1Ref.ms)}`, '', ''],
  ]
  if (mktorrentMs !== undefined) rows.push(['Reference: mktorrent of the stored file (all cores)', `${fmtSec(mktorrentMs)}, ${fmtRate(size, mktorrentMs)}`, '', ''])
  for (const c of checks) rows.push([`Check: ${c.name}`, c.value, 'pass', c.ok ? yes : no])

  console.log('')
  console.log(`## Seedcast upload benchmark (${new Date().toISOString()}, Node ${process.version})`)
  console.log('')
  console.log('| Metric | Value | Target | Pass |')
  console.log('|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.join(' | ')} |`)
  console.log('')
  console.log('MB = 1,000,000 bytes. The input file was just written, so it is read from the page cache;')
  console.log('the server, cp and the references all write without fsync. Other work on the machine shows in the load average.')
  console.log('')
  const missed = [!peakOk && `peak RSS ${fmtMB(peakBytes)} ≥ ${TARGET_PEAK_RSS_MB} MB`, !readyOk && `torrent ready latency ${readyMs.toFixed(0)} ms > ${TARGET_READY_MS} ms`].filter(Boolean)
  console.log(missed.length ? `TARGET MISSED: ${missed.join('; ')}` : 'All targets met.')
  if (process.env.BENCH_SERVER_LOG === '1') console.error(`[bench] server output:\n${server.logs.join('\n')}`)
  const failed = checks.filter((c) => !c.ok)
  if (failed.length) {
    console.log(`INTEGRITY CHECK FAILED: ${failed.map((c) => c.name).join('; ')}`)
    return 1
  }
  return 0
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
