// Upload benchmark: `npm run bench:upload`.
//
// Streams one large media file (2 GiB by default; BENCH_UPLOAD_BYTES to change) through
// POST /api/videos of a real Seedcast server started as a child process, then the same file as a
// resumable upload (tus: POST /api/uploads, one PATCH with the whole file) to a second, fresh
// server, and reports for each (and in a last table side by side):
//   - the server's resident memory (VmRSS sampled every 50 ms, VmHWM at the end) - the web app
//     process started here, which the target applies to; its seeder child (bt_server/, forked by
//     the web app unless SEEDER=off) is reported on its own line,
//   - upload throughput and "torrent ready latency" (the answer - last body byte written: the 201,
//     or the last PATCH's 204 with Seedcast-Video),
//   - references measured in the same run on the same file and disk: sha1sum (hashing lower
//     bound), cat > /dev/null (read), cp into the storage folder (write, like the server: no fsync),
//   - integrity: the stored file equals the input, its .torrent's infohashes (v1 SHA-1, v2 SHA-256
//     of the info dict) equal the API's, and its v1 pieces equal mktorrent's of the stored file
//     (for a v1 torrent the infohash too). The torrent is of the site's default format, hybrid:
//     its ready latency is that of a hybrid torrent (both hashes made as the bytes arrive).
// Prints a Markdown table. Exits 0 even when a performance target is missed; exits 1 on errors
// or when an integrity check fails. Everything lives in one temporary folder, removed at the end.
//
// Environment: BENCH_UPLOAD_BYTES (default 2 GiB; also accepts 512MiB, 1GiB, ...),
// BENCH_UPLOAD_TUS=0 (the plain upload only), BENCH_UPLOAD_MULTIPART=0 (the resumable one only),
// BENCH_UPLOAD_FORMAT=v1 (the site set to v1 torrents; hybrid, the default, otherwise),
// BENCH_SERVER_NODE_ARGS (extra node flags for the server only, e.g. "--trace-gc"),
// BENCH_SERVER_LOG=1 (print the server's output at the end).
// Short trial run (about 25 s): BENCH_UPLOAD_BYTES=64MiB node bench/upload.ts
// Units: MB = 1,000,000 bytes, MiB = 1,048,576 bytes.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import http from 'node:http'
import { loadavg } from 'node:os'
import path from 'node:path'
import bencode from 'bencode'
import { tempDir } from './lib/cleanup.ts'
import { fmtMB, fmtRate, fmtSec, GiB, markdownTable, MB, MiB, parseSize } from './lib/format.ts'
import { log } from './lib/log.ts'
import { mp4Header, writeMedia } from './lib/media.ts'
import { kbToBytes, memoryOf, processTree, readMemory, type Memory } from './lib/procfs.ts'
import { haveCommand, now, requireCommands, run, runBench, sleep, stopChild } from './lib/processes.ts'
import { authHeader, startSeedcast, useV1Torrents, type Seedcast } from './lib/seedcast.ts'
import { tusUploader } from './lib/tus.ts'

const SAMPLE_MS = 50
const SETTLE_MS = 2000
const AFTER_MS = 2000
const TARGET_PEAK_RSS_MB = 200
const TARGET_READY_MS = 1000
const DEFAULT_MAX_UPLOAD_BYTES = 20 * GiB

// ---------------------------------------------------------------------------------------------
// The upload: a multipart body built by hand around a piped file stream, with Content-Length.

interface UploadResult {
  /** 201 with the video object in `body` (a tus upload's is fetched after its answer). */
  status: number
  body: string
  startAt: number
  lastByteAt: number | undefined
  responseAt: number
}

type Uploader = (port: number, file: string, size: number, progress: { sent: number }) => Promise<UploadResult>

function uploadFile(port: number, file: string, size: number, progress: { sent: number }): Promise<UploadResult> {
  const boundary = `----SeedcastBench${randomBytes(12).toString('hex')}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nUpload benchmark\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n${size} bytes streamed by bench/upload.ts\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)

  return new Promise((resolve, reject) => {
    let settled = false
    const fail = (err: Error) => {
      if (!settled) {
        settled = true
        source.destroy()
        req.destroy()
        reject(err)
      }
    }
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
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/videos',
      agent: false,
      headers: {
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Content-Length': String(head.length + size + tail.length),
        Authorization: authHeader,
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
    req.on('error', (err) => {
      if (!response) fail(err)
    })
    source.on('error', fail)
    source.on('data', (chunk) => {
      progress.sent += chunk.length
    })
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

interface TorrentInfo {
  infoHash: string
  /** SHA-256 of the info dict when it has `meta version` 2 (hybrid), else null. */
  infoHashV2: string | null
  format: 'v1' | 'hybrid'
  length: number
  pieceLength: number
  pieceCount: number
  pieces: Buffer
}

/** infohashes, length, piece length and v1 pieces of a single-file .torrent (re-encoding its info dict). */
async function readTorrentInfo(file: string): Promise<TorrentInfo> {
  const top = bencode.decode(await readFile(file))
  if (!isRecord(top) || !isRecord(top.info)) throw new Error(`${file}: no info dictionary`)
  const info = top.info
  const pieces = info.pieces
  if (typeof info.length !== 'number' || typeof info['piece length'] !== 'number' || !(pieces instanceof Uint8Array)) {
    throw new Error(`${file}: not a single-file torrent`)
  }
  const hybrid = info['meta version'] === 2
  return {
    infoHash: sha1Hex(bencode.encode(info)),
    infoHashV2: hybrid ? createHash('sha256').update(bencode.encode(info)).digest('hex') : null,
    format: hybrid ? 'hybrid' : 'v1',
    length: info.length,
    pieceLength: info['piece length'],
    pieceCount: pieces.length / 20,
    pieces: Buffer.from(pieces),
  }
}

interface Check {
  name: string
  value: string
  ok: boolean
}

// ---------------------------------------------------------------------------------------------
// Phases

/** The media file (a real 1-second MP4, then random bytes), flushed to disk. */
async function makeInput(input: string, size: number): Promise<number> {
  const start = now()
  await writeMedia(input, await mp4Header('320x240'), size)
  const ms = now() - start
  log(`created ${input} in ${fmtSec(ms)}`)
  await run('sync', [])
  return ms
}

interface References {
  sha1: { ms: number; hex: string }
  cat: number
  cp: number
  cpSync: number
}

/** References on the same file and disk, before the server runs (nothing competes for CPU). */
async function measureReferences(dir: string, input: string): Promise<References> {
  const sha1Ref = await run('sha1sum', [input])
  log(`sha1sum: ${fmtSec(sha1Ref.ms)}`)
  const catRef = await run('cat', [input], { stdoutTo: 'devnull' })
  log(`cat > /dev/null: ${fmtSec(catRef.ms)}`)
  const copyTarget = path.join(dir, 'copy.mp4')
  const cpRef = await run('cp', [input, copyTarget])
  const cpSync = await run('sync', [])
  await rm(copyTarget)
  await run('sync', [])
  log(`cp: ${fmtSec(cpRef.ms)} (+ sync ${fmtSec(cpSync.ms)})`)
  return {
    sha1: { ms: sha1Ref.ms, hex: sha1Ref.stdout.split(/\s/)[0]! },
    cat: catRef.ms,
    cp: cpRef.ms,
    cpSync: cpSync.ms,
  }
}

function startServer(storageDir: string, fileBytes: number): Promise<Seedcast> {
  return startSeedcast({
    storageDir,
    env: fileBytes + MiB > DEFAULT_MAX_UPLOAD_BYTES ? { MAX_UPLOAD_BYTES: String(fileBytes + GiB) } : {},
    nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
    logLines: process.env.BENCH_SERVER_LOG === '1' ? 20_000 : 200,
  })
}

interface Sample {
  ms: number
  sent: number
  rssKB: number
  helpersKB: number
}

interface Measured {
  result: UploadResult
  pid: number
  baseline: Memory
  after: Memory
  samples: Sample[]
  helpersBaselineKB: number
  helpersAfterKB: number
  helpersPeakKB: number
  helperCount: number
  loadBefore: number
  loadAfter: number
}

/** The upload, with the server's (and its seeder's) memory sampled every 50 ms. */
async function measureUpload(server: Seedcast, input: string, size: number, send: Uploader): Promise<Measured> {
  const pid = server.pid
  // Let start-up settle (the web app forks its seeder after listening), then take the baseline.
  await sleep(SETTLE_MS)
  const baseline = memoryOf(pid)
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

  const progress = { sent: 0 }
  const samples: Sample[] = []
  let uploadStart = now()
  let nextReport = 0.1
  const sampler = setInterval(() => {
    const m = readMemory(pid)
    if (!m) return
    samples.push({ ms: now() - uploadStart, sent: progress.sent, rssKB: m.rssKB, helpersKB: readHelpers() })
    if (progress.sent / size >= nextReport) {
      log(
        `${String(Math.round((progress.sent / size) * 100)).padStart(3)}%  sent ${fmtMB(progress.sent).padStart(9)}  server RSS ${fmtMB(kbToBytes(m.rssKB))}`,
      )
      while (progress.sent / size >= nextReport) nextReport += 0.1
    }
  }, SAMPLE_MS)
  let result: UploadResult
  try {
    uploadStart = now()
    result = await send(server.port, input, size, progress)
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
    throw new Error(
      `upload answered ${result.status}: ${result.body.slice(0, 2000)}\nserver log:\n${server.logs.join('\n')}`,
    )
  }
  log(
    `upload: last byte after ${fmtSec(result.lastByteAt! - result.startAt)}, 201 after ${fmtSec(result.responseAt - result.startAt)}`,
  )
  const helpersPeakKB = [...helperHwmKB.values()].reduce((a, b) => Math.max(a, b), 0)
  return {
    result,
    pid,
    baseline,
    after,
    samples,
    helpersBaselineKB,
    helpersAfterKB,
    helpersPeakKB,
    helperCount: helperHwmKB.size,
    loadBefore,
    loadAfter,
  }
}

/** The stored file, its .torrent and the API answer against the input (and mktorrent). */
async function checkIntegrity(
  storageDir: string,
  m: Measured,
  size: number,
  inputSha1: string,
  haveMktorrent: boolean,
): Promise<{ checks: Check[]; mktorrentMs?: number; format: string }> {
  const checks: Check[] = []
  const video = JSON.parse(m.result.body) as {
    status?: string
    size?: number
    fileUrl?: string
    torrent?: { infoHash?: string; infoHashV2?: string | null; format?: string; pieceLength?: number } | null
  }
  const apiHash = video.torrent?.infoHash ?? ''
  checks.push({
    name: 'API answer: status ready, infohash, size',
    value: `status=${video.status}, infohash=${apiHash || 'none'}, size=${video.size}`,
    ok: video.status === 'ready' && /^[0-9a-f]{40}$/.test(apiHash) && video.size === size,
  })
  const fileName = decodeURIComponent(new URL(video.fileUrl ?? 'http://x/').pathname.split('/').pop() ?? '')
  const stored = path.join(storageDir, 'media', fileName)
  const storedSize = await stat(stored).then(
    (s) => s.size,
    () => -1,
  )
  checks.push({ name: 'Stored file size = input size', value: `${storedSize} bytes`, ok: storedSize === size })
  // Files only: a resumable upload leaves its (empty) incoming/tus/ folder.
  const leftovers = await readdir(path.join(storageDir, 'incoming'), { recursive: true, withFileTypes: true }).then(
    (entries) => entries.filter((e) => e.isFile()).map((e) => e.name),
    () => [] as string[],
  )
  checks.push({
    name: 'Nothing left in incoming/',
    value: leftovers.length ? leftovers.join(', ') : 'empty',
    ok: leftovers.length === 0,
  })
  if (storedSize === size) {
    const storedSha1 = (await run('sha1sum', [stored])).stdout.split(/\s/)[0]!
    checks.push({
      name: 'Stored file SHA-1 = input SHA-1',
      value: storedSha1.slice(0, 12) + '…',
      ok: storedSha1 === inputSha1,
    })
  }
  let torrentInfo: TorrentInfo | undefined
  try {
    torrentInfo = await readTorrentInfo(`${stored}.torrent`)
    checks.push({
      name: '.torrent beside the file: format, infohashes (v1, v2), length = API',
      value: `${torrentInfo.format}, ${torrentInfo.pieceCount} pieces of ${torrentInfo.pieceLength / MiB} MiB`,
      ok:
        torrentInfo.format === video.torrent?.format &&
        torrentInfo.infoHash === apiHash &&
        torrentInfo.infoHashV2 === (video.torrent?.infoHashV2 ?? null) &&
        torrentInfo.length === size &&
        torrentInfo.pieceLength === video.torrent?.pieceLength,
    })
  } catch (err) {
    checks.push({ name: '.torrent beside the file', value: (err as Error).message, ok: false })
  }
  let mktorrentMs: number | undefined
  if (haveMktorrent && torrentInfo && storedSize === size) {
    // An independent implementation hashing the bytes on disk; same info dict => same infohash.
    const refTorrent = `${storageDir}-reference.torrent`
    const exponent = Math.log2(torrentInfo.pieceLength)
    const ref = await run('mktorrent', ['-d', '-l', String(exponent), '-n', fileName, '-o', refTorrent, stored])
    mktorrentMs = ref.ms
    const refInfo = await readTorrentInfo(refTorrent)
    // A hybrid's info dict holds v2 keys mktorrent does not write: its v1 pieces must agree.
    const v1 = torrentInfo.format === 'v1'
    checks.push({
      name: v1 ? 'infohash = mktorrent of the stored file' : 'v1 pieces = mktorrent’s of the stored file',
      value: v1 ? refInfo.infoHash : `${refInfo.pieceCount} pieces`,
      ok: refInfo.pieces.equals(torrentInfo.pieces) && (!v1 || refInfo.infoHash === apiHash),
    })
  } else if (!haveMktorrent) {
    checks.push({
      name: 'v1 pieces = mktorrent of the stored file',
      value: 'skipped (mktorrent not installed)',
      ok: true,
    })
  }
  return { checks, mktorrentMs, format: torrentInfo?.format ?? 'no' }
}

interface Summary {
  method: string
  rate: number
  cpRatio: number
  readyMs: number
  peakBytes: number
}

/** Prints the table; returns the exit code (1 when an integrity check failed) and the run's summary. */
function report(
  label: string,
  size: number,
  createMs: number,
  refs: References,
  m: Measured,
  checks: Check[],
  mktorrentMs: number | undefined,
  server: Seedcast,
): { code: number; summary: Summary } {
  const { result, pid, baseline, after, samples } = m
  const uploadMs = result.lastByteAt! - result.startAt
  const readyMs = result.responseAt - result.lastByteAt!
  const totalMs = result.responseAt - result.startAt
  const sampledPeakKB = Math.max(baseline.rssKB, ...samples.map((s) => s.rssKB))
  const sampledTreePeakKB = Math.max(baseline.rssKB + m.helpersBaselineKB, ...samples.map((s) => s.rssKB + s.helpersKB))
  const rssAt = (fraction: number) => samples.find((s) => s.sent >= fraction * size)?.rssKB
  const growth = [0.25, 0.5, 0.75, 1]
    .map((f) => {
      const kb = rssAt(f)
      return kb === undefined ? '?' : (kbToBytes(kb) / MB).toFixed(0)
    })
    .join(' / ')
  const peakBytes = kbToBytes(after.hwmKB)
  const peakOk = peakBytes < TARGET_PEAK_RSS_MB * MB
  const readyOk = readyMs <= TARGET_READY_MS
  const uploadRate = size / MB / (uploadMs / 1000)
  const cpRate = size / MB / (refs.cp / 1000)

  const yes = 'yes'
  const no = '**NO**'
  const rows: [string, string, string, string][] = [
    ['File size', `${fmtMB(size)} (${(size / GiB).toFixed(2)} GiB; made in ${fmtSec(createMs)})`, '', ''],
    ['Server RSS before upload (VmRSS)', fmtMB(kbToBytes(baseline.rssKB)), '', ''],
    ['Server RSS at 25 / 50 / 75 / 100 % sent (MB)', growth, '', ''],
    [
      `Server RSS peak, sampled every ${SAMPLE_MS} ms (${samples.length} samples)`,
      fmtMB(kbToBytes(sampledPeakKB)),
      '',
      '',
    ],
    [`Server RSS ${AFTER_MS / 1000} s after the answer`, fmtMB(kbToBytes(after.rssKB)), '', ''],
    [
      `**Server peak RSS (VmHWM of pid ${pid}, whole process life)**`,
      fmtMB(peakBytes),
      `< ${TARGET_PEAK_RSS_MB} MB`,
      peakOk ? yes : no,
    ],
    [
      'Seeder child process(es): RSS before / after / peak VmHWM',
      m.helperCount
        ? `${fmtMB(kbToBytes(m.helpersBaselineKB))} / ${fmtMB(kbToBytes(m.helpersAfterKB))} / ${fmtMB(kbToBytes(m.helpersPeakKB))}`
        : 'none (SEEDER=off?)',
      '',
      '',
    ],
    ['Web app + seeder RSS, sampled peak of the sum', fmtMB(kbToBytes(sampledTreePeakKB)), '', ''],
    ['Upload time (first to last body byte written)', fmtSec(uploadMs), '', ''],
    ['Upload throughput', `${uploadRate.toFixed(0)} MB/s`, '', ''],
    [
      '**Torrent ready latency (answer − last byte written)**',
      `${readyMs.toFixed(0)} ms`,
      `≤ ${TARGET_READY_MS} ms`,
      readyOk ? yes : no,
    ],
    ['Request start to the answer', fmtSec(totalMs), '', ''],
    [
      'Load average (1 min) before / after the upload, 2 cores',
      `${m.loadBefore.toFixed(2)} / ${m.loadAfter.toFixed(2)}`,
      '',
      '',
    ],
    [
      'Reference: cp into the storage disk (no fsync, like the server)',
      `${fmtSec(refs.cp)}, ${fmtRate(size, refs.cp)}`,
      '',
      '',
    ],
    ['Reference: sync after that cp', fmtSec(refs.cpSync), '', ''],
    ['Seedcast upload throughput ÷ cp throughput', (uploadRate / cpRate).toFixed(2), '', ''],
    [
      'Seedcast upload throughput ÷ (cp + sync) throughput',
      (uploadRate / (size / MB / ((refs.cp + refs.cpSync) / 1000))).toFixed(2),
      '',
      '',
    ],
    ['Reference: cat > /dev/null', `${fmtSec(refs.cat)}, ${fmtRate(size, refs.cat)}`, '', ''],
    [
      'Reference: sha1sum (whole-file SHA-1, one core)',
      `${fmtSec(refs.sha1.ms)}, ${fmtRate(size, refs.sha1.ms)}`,
      '',
      '',
    ],
  ]
  if (mktorrentMs !== undefined)
    rows.push([
      'Reference: mktorrent of the stored file (all cores)',
      `${fmtSec(mktorrentMs)}, ${fmtRate(size, mktorrentMs)}`,
      '',
      '',
    ])
  for (const c of checks) rows.push([`Check: ${c.name}`, c.value, 'pass', c.ok ? yes : no])

  console.log('')
  console.log(`## Seedcast upload benchmark: ${label} (${new Date().toISOString()}, Node ${process.version})`)
  console.log('')
  for (const line of markdownTable(['Metric', 'Value', 'Target', 'Pass'], rows)) console.log(line)
  console.log('')
  console.log('MB = 1,000,000 bytes. The input file was just written, so it is read from the page cache;')
  console.log(
    'the server, cp and the references all write without fsync. Other work on the machine shows in the load average.',
  )
  console.log('')
  const missed = [
    !peakOk && `peak RSS ${fmtMB(peakBytes)} ≥ ${TARGET_PEAK_RSS_MB} MB`,
    !readyOk && `torrent ready latency ${readyMs.toFixed(0)} ms > ${TARGET_READY_MS} ms`,
  ].filter(Boolean)
  console.log(missed.length ? `TARGET MISSED: ${missed.join('; ')}` : 'All targets met.')
  if (process.env.BENCH_SERVER_LOG === '1') console.error(`[bench] server output:\n${server.logs.join('\n')}`)
  const failed = checks.filter((c) => !c.ok)
  if (failed.length) console.log(`INTEGRITY CHECK FAILED: ${failed.map((c) => c.name).join('; ')}`)
  const summary = { method: label, rate: uploadRate, cpRatio: uploadRate / cpRate, readyMs, peakBytes }
  return { code: failed.length ? 1 : 0, summary }
}

const TARGET_TUS_CP_RATIO = 0.6

/** Both runs side by side: the tus row against its targets. */
function summarise(rows: Summary[]): void {
  console.log('')
  console.log('## Upload methods side by side')
  console.log('')
  const table = rows.map((r) => [
    r.method,
    `${r.rate.toFixed(0)} MB/s`,
    r.cpRatio.toFixed(2) + (r.method.startsWith('tus') ? ` (target ≥ ${TARGET_TUS_CP_RATIO})` : ''),
    `${r.readyMs.toFixed(0)} ms`,
    fmtMB(r.peakBytes),
  ])
  for (const line of markdownTable(
    ['method', 'throughput', '÷ cp', 'torrent ready after last byte (≤ 1 s)', 'server peak RSS (< 200 MB)'],
    table,
  ))
    console.log(line)
  const tus = rows.find((r) => r.method.startsWith('tus'))
  if (tus && tus.cpRatio < TARGET_TUS_CP_RATIO)
    console.log(`TARGET MISSED: tus throughput ${tus.cpRatio.toFixed(2)}× cp < ${TARGET_TUS_CP_RATIO}×`)
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const size = parseSize('BENCH_UPLOAD_BYTES', process.env.BENCH_UPLOAD_BYTES, 2 * GiB)
  await requireCommands(['ffmpeg', 'sha1sum', 'cp', 'cat', 'sync'])
  const haveMktorrent = await haveCommand('mktorrent')
  const dir = await tempDir('seedcast-bench-')
  const input = path.join(dir, 'input.mp4')
  const storageDir = path.join(dir, 'storage')
  log(`temporary folder ${dir}; file size ${size} bytes (${(size / GiB).toFixed(2)} GiB)`)

  const createMs = await makeInput(input, size)
  const refs = await measureReferences(dir, input)
  const runs: [string, (port: number) => Promise<Uploader>][] = []
  if (process.env.BENCH_UPLOAD_MULTIPART !== '0') runs.push(['POST /api/videos (multipart)', async () => uploadFile])
  if (process.env.BENCH_UPLOAD_TUS !== '0')
    runs.push(['tus (POST + one PATCH to /api/uploads)', (port) => tusUploader(port, authHeader)])
  let code = 0
  const summaries: Summary[] = []
  for (const [i, [label, uploader]] of runs.entries()) {
    // A fresh server and storage for each: VmHWM is the whole process life, so each run has its own.
    const storage = `${storageDir}-${i}`
    const server = await startServer(storage, size)
    log(`${label}: server pid ${server.pid} on ${server.url}`)
    if (process.env.BENCH_UPLOAD_FORMAT === 'v1') await useV1Torrents(server)
    const measured = await measureUpload(server, input, size, await uploader(server.port))
    const { checks, mktorrentMs, format } = await checkIntegrity(storage, measured, size, refs.sha1.hex, haveMktorrent)
    const out = report(`${label}, ${format} torrent`, size, createMs, refs, measured, checks, mktorrentMs, server)
    code ||= out.code
    summaries.push(out.summary)
    await stopChild(server.child)
    // Room on the disk for the next run's copy.
    await rm(storage, { recursive: true, force: true })
    await run('sync', [])
  }
  summarise(summaries)
  return code
}

await runBench(main)
