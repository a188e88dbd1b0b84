// A flash crowd on a private network (bench/lib/netns.ts), for `npm run bench:crowd` and its test:
// the origin (a real Seedcast, web app and seeder) in its namespace with its upload capped, videos
// published through the API, then clients in their own namespaces starting together (aria2c or
// libtorrent on the site's .torrent as published, web seed included, or aria2c over plain HTTP),
// each file checked byte for byte, and what the origin sent counted on its veth.
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, openAsBlob } from 'node:fs'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import type { Lab, NetHost } from './netns.ts'
import { collect, isRunning, now, programPath, spawnChild, stopChild, SYSTEM_PYTHON, unrefSleep } from './processes.ts'
import { startSeedcast, uploadVideo, useV1Torrents, waitSeeding, type Seedcast } from './seedcast.ts'

/** Clients on the site's torrent (BitTorrent with its web seed), or aria2c on the file's URL. */
export const CLIENT_KINDS = ['aria2c', 'libtorrent', 'http'] as const
export type ClientKind = (typeof CLIENT_KINDS)[number]
// Every client has a namespace of its own, so they can all listen on the same port.
const PEER_PORT = 6881

/** The site in the lab's origin namespace, its upload on the bridge capped (0 = no cap). */
export async function startOrigin(lab: Lab, storageDir: string, capBytesPerSecond: number): Promise<Seedcast> {
  if (capBytesPerSecond > 0) await lab.capEgress(lab.origin, capBytesPerSecond)
  const s = await startSeedcast({
    storageDir,
    // Not a test process, even when a test starts it.
    env: { SEEDER: 'on', NODE_TEST_CONTEXT: undefined },
    netns: { name: lab.origin.ns, publicAddress: lab.origin.address, controlAddress: lab.controlAddress },
    ready: (h) => h.seeder.state === 'running' && !!h.seeder.pid,
  })
  await useV1Torrents(s)
  return s
}

export interface Published {
  /** Where clients fetch the file over plain HTTP (PUBLIC_URL). */
  fileUrl: string
  /** The site's .torrent, as GET /videos/:id/torrent serves it, saved to a file. */
  torrentFile: string
  /** The file's name in the torrent (what clients save). */
  name: string
  size: number
  sha256: string
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Uploads `file` through the API and waits until the seeder seeds it (its `seeding`-th torrent). */
export async function publish(s: Seedcast, file: string, seeding: number, dir: string): Promise<Published> {
  const blob = await openAsBlob(file, { type: 'video/mp4' })
  const { video } = await uploadVideo(s, { title: path.basename(file) }, blob, path.basename(file))
  // The torrent's own URL is on PUBLIC_URL; this process reaches the site on its control address.
  const res = await fetch(`${s.url}${new URL(video.torrent!.torrentUrl).pathname}`)
  if (!res.ok) throw new Error(`GET ${video.torrent!.torrentUrl} answered ${res.status}`)
  const torrent = Buffer.from(await res.arrayBuffer())
  const meta = decodeTorrent(torrent)
  if (!meta.webSeeds.length) throw new Error('the site published the torrent without a web seed')
  const torrentFile = path.join(dir, `${video.id}.torrent`)
  await writeFile(torrentFile, torrent)
  await waitSeeding(s, seeding, 60_000)
  return { fileUrl: video.fileUrl, torrentFile, name: meta.name, size: video.size, sha256: await sha256File(file) }
}

interface ClientResult {
  kind: ClientKind
  /** From the start of the run to the whole file (verified) being there. */
  ms: number
  /** Bytes it sent / received on the bridge during the run. */
  tx: number
  rx: number
}

export interface CrowdResult {
  /** Until the last client had the whole file. */
  allMs: number
  clients: ClientResult[]
  /** Bytes the origin sent on the bridge during the run (headers included). */
  originBytes: number
}

interface Running {
  kind: ClientKind
  child: ChildProcess
  done: Promise<number>
  output: () => string
}

function aria2cArgs(dir: string): string[] {
  return [
    '--no-conf=true',
    `--dir=${dir}`,
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--disable-ipv6=true',
    '--file-allocation=none',
    '--auto-file-renaming=false',
    '--allow-overwrite=true',
    '--summary-interval=0',
    '--console-log-level=warn',
  ]
}

function startClient(lab: Lab, host: NetHost, kind: ClientKind, p: Published, dir: string, t0: number): Running {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)))
  const [cmd, args] =
    kind === 'libtorrent'
      ? lab.exec(host, SYSTEM_PYTHON, [programPath('libtorrent_download.py'), p.torrentFile, dir, String(PEER_PORT)])
      : kind === 'aria2c'
        ? lab.exec(host, 'aria2c', [
            ...aria2cArgs(dir),
            `--listen-port=${PEER_PORT}`,
            '--enable-peer-exchange=true',
            '--seed-ratio=0.0', // seeds (until stopped) once complete, as a crowd that stays does
            `--on-bt-download-complete=${programPath('aria2_complete.sh')}`,
            '--bt-tracker-connect-timeout=5',
            '--bt-tracker-timeout=10',
            p.torrentFile,
          ])
        : lab.exec(host, 'aria2c', [
            ...aria2cArgs(dir),
            `--out=${p.name}`,
            '--split=1',
            '--max-connection-per-server=1',
            p.fileUrl,
          ])
  const child = spawnChild(cmd, args, { env, stdin: kind === 'libtorrent' ? 'pipe' : 'ignore' })
  let out = ''
  const keep = (d: string) => {
    out = (out + d).slice(-8000)
  }
  let complete: (() => void) | undefined
  const completed = new Promise<number>((resolve) => {
    complete = () => resolve(now() - t0)
  })
  const exited = collect(child, (line) => {
    keep(`${line}\n`)
    if (kind === 'libtorrent' && line.startsWith('complete ')) complete!()
  })
  child.stderr!.on('data', keep)
  if (kind === 'aria2c') {
    // Its hook leaves FILE.complete once the download is complete; aria2c then seeds.
    const marker = path.join(dir, `${p.name}.complete`)
    const poll = setInterval(
      () =>
        void stat(marker).then(
          () => complete!(),
          () => {},
        ),
      25,
    )
    const stopPolling = () => clearInterval(poll)
    void completed.then(stopPolling)
    void exited.then(stopPolling, stopPolling)
  }
  // Plain HTTP is complete when aria2c exits 0; the others must not exit before.
  const failed = exited.then((r) => {
    if (kind === 'http' && r.code === 0) return now() - t0
    throw new Error(`exited before the file was complete (${r.signal ?? `exit ${r.code}`})`)
  })
  return { kind, child, done: Promise.race([completed, failed]), output: () => out }
}

async function stopClient(c: Running): Promise<void> {
  if (!isRunning(c.child)) return
  c.child.stdin?.end() // libtorrent: stops seeding (and tells the tracker) when stdin closes
  await Promise.race([new Promise((r) => c.child.once('exit', r)), unrefSleep(c.child.stdin ? 3000 : 0)])
  await stopChild(c.child)
}

/**
 * Starts one client per kind (client i in namespace i), all at once, on `p`; resolves once every
 * one has the whole file and it matches (size and sha256), with what each took and sent.
 */
export async function runCrowd(
  lab: Lab,
  kinds: ClientKind[],
  p: Published,
  dirRoot: string,
  timeoutMs: number,
): Promise<CrowdResult> {
  if (kinds.length > lab.clients.length) throw new Error(`${kinds.length} clients, ${lab.clients.length} namespaces`)
  const hosts = lab.clients.slice(0, kinds.length)
  const dirs = hosts.map((_, i) => path.join(dirRoot, `c${i}`))
  for (const dir of dirs) {
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
  }
  const before = await Promise.all([lab.origin, ...hosts].map((h) => lab.counters(h)))
  const t0 = now()
  const running = kinds.map((kind, i) => startClient(lab, hosts[i]!, kind, p, dirs[i]!, t0))
  const times: (number | undefined)[] = running.map(() => undefined)
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const late = running.flatMap((c, i) => (times[i] === undefined ? [`${i} (${c.kind})`] : []))
      const first = late.length ? running[times.indexOf(undefined)]! : undefined
      reject(
        new Error(
          `not all done after ${timeoutMs / 1000} s: clients ${late.join(', ')}\n${first?.output().slice(-3000) ?? ''}`,
        ),
      )
    }, timeoutMs)
  })
  try {
    await Promise.race([
      Promise.all(
        running.map((c, i) =>
          c.done.then(
            (ms) => {
              times[i] = ms
            },
            (err: Error) => {
              throw new Error(`client ${i} (${c.kind}): ${err.message}\n${c.output().slice(-3000)}`)
            },
          ),
        ),
      ),
      deadline,
    ])
    const after = await Promise.all([lab.origin, ...hosts].map((h) => lab.counters(h)))
    const result: CrowdResult = {
      allMs: Math.max(...(times as number[])),
      originBytes: after[0]!.tx - before[0]!.tx,
      clients: kinds.map((kind, i) => ({
        kind,
        ms: times[i]!,
        tx: after[i + 1]!.tx - before[i + 1]!.tx,
        rx: after[i + 1]!.rx - before[i + 1]!.rx,
      })),
    }
    await Promise.all(running.map(stopClient))
    for (const [i, dir] of dirs.entries()) {
      const file = path.join(dir, p.name)
      const size = (await stat(file)).size
      if (size !== p.size) throw new Error(`client ${i} (${kinds[i]}): ${size} bytes, expected ${p.size}`)
      if ((await sha256File(file)) !== p.sha256) throw new Error(`client ${i} (${kinds[i]}): sha256 differs`)
    }
    return result
  } finally {
    clearTimeout(timer)
    await Promise.all(running.map((c) => stopClient(c).catch(() => {})))
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
}
