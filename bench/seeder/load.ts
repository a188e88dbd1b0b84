// (b) memory and idle CPU of the seeder by number of torrents, and (c) time from an upload's 201
// to the first block the seeder serves, measured with a wire client on the seeder port.
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { fmtMB, fmtSec, MiB } from '../lib/format.ts'
import { log } from '../lib/log.ts'
import { smallMedia } from '../lib/media.ts'
import { clockTicks, cpuTicks, kbToBytes, memoryOf } from '../lib/procfs.ts'
import { now, sleep } from '../lib/processes.ts'
import { stopSeedcast, waitSeeding, type Seedcast } from '../lib/seedcast.ts'
import { SMALL_BYTES, UPLOAD_CONCURRENCY, type Engine } from './config.ts'
import { seederPid, startServer, trackerCounters, upload, uploadMany, type TrackerCounters } from './servers.ts'

const BLOCK = 16 * 1024

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

interface FirstByte {
  ms: number
  attempts: number
  alreadySeeded: number
}

/** (c) Uploads one small file and reconnects every 20 ms until the seeder serves its first block. */
async function timeToFirstByte(s: Seedcast, header: Buffer, label: string, seededBefore: number): Promise<FirstByte> {
  const data = smallMedia(header, SMALL_BYTES)
  const { video, at } = await upload(
    s,
    `First byte ${label}`,
    new Blob([new Uint8Array(data)], { type: 'video/mp4' }),
    `first-byte-${label}.mp4`,
  )
  const length = Math.min(BLOCK, data.length)
  let attempts = 0
  const deadline = at + 60_000
  for (;;) {
    attempts++
    const block = await requestFirstBlock(s.seederPort, video.torrent!.infoHash, length)
    if (block) {
      const ms = now() - at
      if (!Buffer.from(block).equals(data.subarray(0, length)))
        throw new Error('the seeder served a first block that differs from the upload')
      return { ms, attempts, alreadySeeded: seededBefore }
    }
    if (now() > deadline) throw new Error(`no block from the seeder within 60 s of the 201 (${attempts} attempts)`)
    await sleep(20)
  }
}

interface LoadPoint {
  n: number
  rssKB: number
  hwmKB: number
  cpuPct: number
  idleSeconds: number
  uploadMs: number
  seededMs: number
}

/** (b) The seeder's memory and CPU over an idle window. */
async function measureIdle(
  pid: number,
  n: number,
  idleSeconds: number,
  uploadMs: number,
  seededMs: number,
): Promise<LoadPoint> {
  await sleep(5000) // let the last rescan and announces settle
  const before = memoryOf(pid)
  const ticks0 = cpuTicks(pid) ?? NaN
  const t0 = now()
  let maxRss = before.rssKB
  while (now() - t0 < idleSeconds * 1000) {
    await sleep(1000)
    maxRss = Math.max(maxRss, memoryOf(pid).rssKB)
  }
  const ticks1 = cpuTicks(pid) ?? NaN
  const wallSec = (now() - t0) / 1000
  const after = memoryOf(pid)
  const cpuPct = ((ticks1 - ticks0) / (await clockTicks()) / wallSec) * 100
  return {
    n,
    rssKB: Math.max(maxRss, after.rssKB),
    hwmKB: after.hwmKB,
    cpuPct,
    idleSeconds: wallSec,
    uploadMs,
    seededMs,
  }
}

export interface EngineLoad {
  points: LoadPoint[]
  firstBytes: FirstByte[]
  tracker: TrackerCounters | null
}

/** One server for this engine: (c) on an empty site, then (b) at each count, then (c) again with the most torrents. */
export async function measureLoad(
  dir: string,
  engine: Engine,
  header: Buffer,
  counts: number[],
  idleSeconds: number,
  rescanSeconds: number,
): Promise<EngineLoad> {
  const storageDir = path.join(dir, `storage-bc-${engine}`)
  const server = await startServer(storageDir, rescanSeconds, engine)
  const load: EngineLoad = { points: [], firstBytes: [], tracker: null }
  try {
    const pid = await seederPid(server)
    const fb0 = await timeToFirstByte(server, header, 'empty', 0)
    load.firstBytes.push(fb0)
    log(
      `(c) ${engine}: first block ${fmtSec(fb0.ms)} after the 201 (${fb0.attempts} connection attempts), site had 0 torrents`,
    )
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
      log(
        `(b) ${engine}: N=${n}: VmRSS ${fmtMB(kbToBytes(point.rssKB))}, VmHWM ${fmtMB(kbToBytes(point.hwmKB))}, idle CPU ${point.cpuPct.toFixed(2)} % over ${point.idleSeconds.toFixed(0)} s`,
      )
      load.points.push(point)
    }
    load.tracker = await trackerCounters(server)
    const fbN = await timeToFirstByte(server, header, 'loaded', have)
    load.firstBytes.push(fbN)
    log(
      `(c) ${engine}: first block ${fmtSec(fbN.ms)} after the 201 (${fbN.attempts} connection attempts), site had ${have} torrents`,
    )
    if ((await seederPid(server)) !== pid) throw new Error('the seeder restarted during the benchmark')
  } catch (err) {
    log(`server log (last lines):\n${server.logs.slice(-40).join('\n')}`)
    throw err
  } finally {
    await stopSeedcast(server)
    await rm(storageDir, { recursive: true, force: true })
  }
  return load
}
