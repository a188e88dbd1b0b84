// A real Seedcast server (src/main.ts as built into dist/, the web app; it forks its seeder unless SEEDER=off)
// as a child process on free loopback ports (or inside a network namespace of bench/lib/netns.ts),
// with its data in a folder of the benchmark's.
import type { ChildProcess } from 'node:child_process'
import { NODE_FLAGS, RUNTIME_ENV } from '../../src/runtimeFlags.ts'
import { builtEntry } from '../../test/helpers/build.ts'
import { onCleanup, onExit } from './cleanup.ts'
import { inNamespace } from './netns.ts'
import { freePort } from './ports.ts'
import { envHas, pidAlive, processTree } from './procfs.ts'
import { isRunning, keepLines, now, sleep, spawnChild, stopChild, waitFor } from './processes.ts'

const ADMIN_PASSWORD = 'bench-password-123'
export const authHeader = 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')

export interface Health {
  ok: boolean
  seeder: { state: string; pid: number | null; seeding: number | null; port: number | null; problems?: unknown[] }
}

export interface Seedcast {
  child: ChildProcess
  /** The web app's pid. */
  pid: number
  port: number
  /** Where this process reaches it. */
  url: string
  /** PUBLIC_URL: what its pages and torrents link to (= url unless in a namespace). */
  publicUrl: string
  seederPort: number
  storageDir: string
  logs: string[]
  /** Seeder processes seen (stopped with the server). */
  seederPids: Set<number>
}

export interface StartOptions {
  storageDir: string
  /** Settings on top of the ports, storage and admin password. */
  env?: NodeJS.ProcessEnv
  /** Extra node flags (before src/main.ts). */
  nodeArgs?: string[]
  /** taskset CPU list for the web app. */
  cpu?: string
  /** The web port (default: a free one); fixed when PUBLIC_URL must be known beforehand. */
  port?: number
  logLines?: number
  /** Ready when /healthz answers 2xx and this holds (default: always). */
  ready?: (h: Health) => boolean
  /**
   * Run inside this network namespace, listening on all its addresses: PUBLIC_URL on
   * `publicAddress`, this process talking to it on `controlAddress`.
   */
  netns?: { name: string; publicAddress: string; controlAddress: string }
}

// Seeders started by any server here; killed on exit when still ours (the web app stops its
// seeder itself, unless it is killed).
const allSeeders = new Map<number, string>()
onExit(() => {
  for (const [pid, storage] of allSeeders) {
    if (envHas(pid, `STORAGE_DIR=${storage}`)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
  }
})

export async function startSeedcast(opts: StartOptions): Promise<Seedcast> {
  const port = opts.port ?? (await freePort())
  const seederPort = await freePort() // not the fixed default 6881: another instance may hold it
  const ns = opts.netns
  const url = `http://${ns?.controlAddress ?? '127.0.0.1'}:${port}`
  const publicUrl = ns ? `http://${ns.publicAddress}:${port}` : url
  const env: NodeJS.ProcessEnv = {
    ...RUNTIME_ENV,
    ...process.env,
    PORT: String(port),
    HOST: ns ? '0.0.0.0' : '127.0.0.1',
    PUBLIC_URL: publicUrl,
    STORAGE_DIR: opts.storageDir,
    ADMIN_PASSWORD,
    DATABASE_URL: '', // empty = unset: the SQLite file goes inside STORAGE_DIR
    SEEDER_PORT: String(seederPort),
    ...opts.env,
  }
  const argv = [...NODE_FLAGS, ...(opts.nodeArgs ?? []), builtEntry('src/main.ts')]
  // `ip netns exec` execs node: the child's pid is the web app's.
  const [cmd, args] = ns ? inNamespace(ns.name, process.execPath, argv) : [process.execPath, argv]
  const child = spawnChild(cmd, args, { env, cpu: opts.cpu })
  const logs = keepLines(child, opts.logLines)
  const s: Seedcast = {
    child,
    pid: child.pid!,
    port,
    url,
    publicUrl,
    seederPort,
    storageDir: opts.storageDir,
    logs,
    seederPids: new Set(),
  }
  onCleanup(() => stopSeedcast(s)) // a no-op when the benchmark stopped it already
  await waitFor('Seedcast to answer /healthz', 60_000, async () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `server exited during start-up (${child.signalCode ?? `exit ${child.exitCode}`}):\n${logs.join('\n')}`,
      )
    }
    const res = await fetch(`${url}/healthz`).catch(() => undefined)
    if (!res?.ok) return undefined
    if (!opts.ready) return true
    const h = (await res.json()) as Health
    if (h.seeder.pid) noteSeeder(s, h.seeder.pid)
    return opts.ready(h) ? true : undefined
  })
  return s
}

/**
 * The site makes v1 torrents from now on: aria2c 1.36 drops the empty key of a BEP 52 `file tree`
 * when it re-encodes the info dict, so with a hybrid it would join another swarm (another
 * infohash) than libtorrent's.
 */
export async function useV1Torrents(s: Seedcast): Promise<void> {
  const res = await fetch(`${s.url}/api/settings`, {
    method: 'PUT',
    headers: { authorization: authHeader, 'content-type': 'application/json' },
    body: JSON.stringify({ torrentFormat: 'v1' }),
  })
  if (!res.ok) throw new Error(`PUT /api/settings answered ${res.status}`)
}

export async function getHealth(s: Seedcast): Promise<Health> {
  const h = (await (await fetch(`${s.url}/healthz`)).json()) as Health
  if (h.seeder.pid) noteSeeder(s, h.seeder.pid)
  return h
}

/** Waits until the seeder seeds `n` torrents (from /healthz); fails on problems it reports. */
export async function waitSeeding(s: Seedcast, n: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `the seeder to seed ${n} torrents`,
    timeoutMs,
    async () => {
      const h = await getHealth(s)
      if (h.seeder.problems?.length)
        throw new Error(`seeder reports problems: ${JSON.stringify(h.seeder.problems).slice(0, 1000)}`)
      return (h.seeder.seeding ?? 0) >= n ? true : undefined
    },
    200,
  )
}

/** Remembers a seeder process that belongs to this server's storage (stopped with it). */
export function noteSeeder(s: Seedcast, pid: number): void {
  s.seederPids.add(pid)
  allSeeders.set(pid, s.storageDir)
}

/** Stops the web app; then makes sure its seeder processes are gone too. */
export async function stopSeedcast(s: Seedcast): Promise<void> {
  if (isRunning(s.child)) for (const pid of processTree(s.pid).slice(1)) s.seederPids.add(pid)
  await stopChild(s.child)
  for (const pid of s.seederPids) {
    const deadline = now() + 5000
    while (pidAlive(pid) && now() < deadline) await sleep(100)
    if (pidAlive(pid) && envHas(pid, `STORAGE_DIR=${s.storageDir}`)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }
    allSeeders.delete(pid)
  }
  s.seederPids.clear()
}

export interface VideoJson {
  id: string
  fileUrl: string
  size: number
  status: string
  torrent: { infoHash: string; torrentUrl: string; pieceLength?: number } | null
}

/** Uploads one file through POST /api/videos; resolves when the 201 has arrived. */
export async function uploadVideo(
  s: { url: string },
  fields: { title: string; description?: string },
  file: Blob,
  fileName: string,
): Promise<{ video: VideoJson; at: number }> {
  const form = new FormData()
  form.append('title', fields.title)
  if (fields.description !== undefined) form.append('description', fields.description)
  form.append('file', file, fileName)
  const res = await fetch(`${s.url}/api/videos`, { method: 'POST', body: form, headers: { Authorization: authHeader } })
  const at = now()
  const body = await res.text()
  if (res.status !== 201) throw new Error(`upload of ${fileName} answered ${res.status}: ${body.slice(0, 1000)}`)
  const video = JSON.parse(body) as VideoJson
  if (video.status !== 'ready' || !video.torrent || !/^[0-9a-f]{40}$/.test(video.torrent.infoHash)) {
    throw new Error(`upload of ${fileName}: no torrent in the answer (status ${video.status}): ${body.slice(0, 1000)}`)
  }
  return { video, at }
}

/** Reads a counter (first capture group) from /metrics text; NaN when absent. */
export function metric(text: string, re: RegExp): number {
  const m = re.exec(text)
  return m ? Number(m[1]) : NaN
}
