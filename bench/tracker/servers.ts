// The trackers under test, each a child process pinned to the server CPU, and one announce
// to each before any load (a real announce reply, not a failure).
import type { ChildProcess } from 'node:child_process'
import { chmodSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import bencode from 'bencode'
import { mp4Header } from '../lib/media.ts'
import { freePort, freeUdpPort } from '../lib/ports.ts'
import { collect, isRunning, keepLines, programPath, spawnChild, waitFor } from '../lib/processes.ts'
import { startSeedcast, uploadVideo } from '../lib/seedcast.ts'
import { SERVER_CPU, SERVER_NODE_ARGS, type TrackerName, type Transport } from './config.ts'

export interface Server {
  name: TrackerName
  child: ChildProcess
  /** The process whose CPU is the server's (Seedcast: the web app). */
  pid: number
  httpPort?: number
  udpPort?: number
  logs: string[]
}

export async function startSeedcastTracker(storageDir: string): Promise<Server> {
  const udpPort = await freeUdpPort()
  const s = await startSeedcast({
    storageDir,
    cpu: SERVER_CPU,
    nodeArgs: SERVER_NODE_ARGS,
    logLines: process.env.BENCH_SERVER_LOG === '1' ? 20_000 : 200,
    env: {
      SEEDER: 'off',
      TRACKER_UDP_PORT: String(udpPort),
      TRACKER_RATE_LIMIT_PER_MINUTE: '0',
      // The load comes from one address with many peer ids: lift the per-address and total peer
      // caps (issue 8's bounds), or the store would hold 16 peers and measure something else.
      TRACKER_MAX_PEERS_PER_ADDRESS: '1000000',
      TRACKER_MAX_PEERS: '100000000',
    },
  })
  return { name: 'seedcast', child: s.child, pid: s.pid, httpPort: s.port, udpPort, logs: s.logs }
}

/** Uploads a 1-second clip; returns the infohash Seedcast now tracks. */
export async function uploadClip(server: Server): Promise<string> {
  const file = new Blob([new Uint8Array(await mp4Header())], { type: 'video/mp4' })
  const url = `http://127.0.0.1:${server.httpPort}`
  const { video } = await uploadVideo(
    { url },
    { title: 'Tracker benchmark', description: 'uploaded by bench/tracker.ts' },
    file,
    'tracker-bench.mp4',
  )
  return video.torrent!.infoHash
}

/** The plain bittorrent-tracker server (bench/programs/bittorrent-tracker-server.mjs), one transport on. */
export async function startBittorrentTracker(mode: Transport): Promise<Server> {
  const child = spawnChild(process.execPath, [programPath('bittorrent-tracker-server.mjs')], {
    cpu: SERVER_CPU,
    env: { ...process.env, BT_MODE: mode },
  })
  const logs: string[] = []
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => logs.push(d))
  const port = await waitFor(
    `bittorrent-tracker (${mode}) to listen`,
    15_000,
    () => {
      if (!isRunning(child))
        throw new Error(`bittorrent-tracker (${mode}) exited (${child.exitCode ?? child.signalCode}): ${logs.join('')}`)
      const m = /\{"port":(\d+)\}/.exec(out)
      return m ? Number(m[1]) : undefined
    },
    50,
  )
  return {
    name: 'bittorrent-tracker',
    child,
    pid: child.pid!,
    ...(mode === 'http' ? { httpPort: port } : { udpPort: port }),
    logs,
  }
}

export async function startOpentracker(dir: string, infoHash: string): Promise<Server> {
  // Debian's build is whitelist-only. As root it chroots to -d and drops to "nobody", and reads
  // the whitelist (one 40-hex infohash a line) after the chroot: a path relative to the new root.
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'whitelist.txt'), `${infoHash}\n`)
  chmodSync(dir, 0o755)
  chmodSync(path.join(dir, 'whitelist.txt'), 0o644)
  const httpPort = await freePort()
  const udpPort = await freeUdpPort()
  const child = spawnChild(
    'opentracker',
    ['-i', '127.0.0.1', '-p', String(httpPort), '-P', String(udpPort), '-d', dir, '-w', 'whitelist.txt'],
    { cpu: SERVER_CPU, cwd: dir },
  )
  const logs = keepLines(child)
  return { name: 'opentracker', child, pid: child.pid!, httpPort, udpPort, logs }
}

const pct = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => '%' + b.toString(16).padStart(2, '0').toUpperCase()).join('')

/** The fixed part of every HTTP announce (wrk adds peer_id, port and left). */
export function announceQuery(infoHash: string): string {
  return `/announce?info_hash=${pct(Buffer.from(infoHash, 'hex'))}&uploaded=0&downloaded=0&compact=1&numwant=50`
}

/** One announce with curl; returns a summary of the bencoded reply, or throws. */
async function checkHttp(server: Server, infoHash: string): Promise<string> {
  const peerId = Buffer.concat([
    Buffer.from('-BENCH0-'),
    Buffer.from(Array.from({ length: 12 }, () => Math.floor(Math.random() * 256))),
  ])
  const url = `http://127.0.0.1:${server.httpPort}${announceQuery(infoHash)}&peer_id=${pct(peerId)}&port=51413&left=1048576`
  const child = spawnChild('curl', ['-sS', '-m', '5', '-H', 'Connection: close', url])
  const chunks: Buffer[] = []
  child.stdout!.on('data', (d: Buffer) => chunks.push(d))
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  if (code !== 0) throw new Error(`curl ${url}: exit ${code} ${stderr.trim()}`)
  const body = Buffer.concat(chunks)
  let reply: unknown
  try {
    reply = bencode.decode(body)
  } catch {
    throw new Error(`${server.name}: reply is not bencode: ${JSON.stringify(body.toString('latin1').slice(0, 200))}`)
  }
  const d = reply as Record<string, unknown>
  const text = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v))
  if (d['failure reason'] !== undefined)
    throw new Error(`${server.name}: announce refused: ${text(d['failure reason'])}`)
  if (typeof d.interval !== 'number' || !(d.peers instanceof Uint8Array) || d.peers.length % 6 !== 0) {
    throw new Error(
      `${server.name}: not a compact announce reply: ${JSON.stringify(body.toString('latin1').slice(0, 200))}`,
    )
  }
  return `interval ${d.interval}, complete ${d.complete}, incomplete ${d.incomplete}, ${d.peers.length / 6} peers`
}

export async function checkHttpWithRetry(server: Server, infoHash: string): Promise<string> {
  // opentracker loads its whitelist in the background a moment after start.
  let last = ''
  return waitFor(
    `an announce reply from ${server.name} over HTTP`,
    10_000,
    async () => {
      try {
        return await checkHttp(server, infoHash)
      } catch (err) {
        last = (err as Error).message
        if (!isRunning(server.child)) throw err
        return undefined
      }
    },
    250,
  ).catch((err: Error) => {
    throw new Error(`${last || err.message}\n${server.logs.join('\n')}`)
  })
}

export async function checkUdp(server: Server, infoHash: string): Promise<string> {
  let last = ''
  return waitFor(
    `an announce reply from ${server.name} over UDP`,
    10_000,
    async () => {
      const r = await collect(
        spawnChild(process.execPath, [
          'bench/udp-load.ts',
          '--port',
          String(server.udpPort),
          '--info-hash',
          infoHash,
          '--check',
        ]),
      )
      if (r.code === 0) return r.stdout.trim()
      last = `${r.stdout.trim()} ${r.stderr.trim()}`
      if (!isRunning(server.child)) throw new Error(last)
      return undefined
    },
    250,
  ).catch((err: Error) => {
    throw new Error(`${server.name} UDP check failed: ${last || err.message}`)
  })
}
