// A real Seedcast (`node src/main.ts`) in its own process, under the open-file limit a hand-started
// `npm start` gets on Debian (ulimit -n 1024), for attacks whose damage is running a process out of
// descriptors, memory or threads: the attacker (the test) then has its own.
import { databaseEnv } from './database.ts'
import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { ADMIN_PASSWORD, freePort, makeStorageDir } from './server.ts'
import { NODE_FLAGS, RUNTIME_ENV } from '../../src/runtimeFlags.ts'
import { requestFrom } from './fromAddress.ts'
import { ensureBuilt } from './build.ts'

const MONITOR_ADDRESS = '127.0.0.250'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface ChildServer {
  url: string
  port: number
  pid: number
  storageDir: string
  basicAuth: string
  output(): string
  /** Resident memory of the server process, bytes. */
  rss(): Promise<number>
  /** Its open file descriptors. */
  openFiles(): Promise<number>
  /** seedcast_refused_total{bound} from /metrics (0 when absent). */
  refused(bound: string): Promise<number>
  /** An unlabelled gauge from /metrics (NaN when absent). */
  gauge(name: string): Promise<number>
  stop(): Promise<void>
}

/**
 * The environment `npm start` gets here: the runtime's (not the test runner's), the site on
 * 127.0.0.1:`port` with `storageDir`, no seeder, no UDP tracker; `env` last.
 */
export function childServerEnv(port: number, storageDir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env
  return {
    ...RUNTIME_ENV,
    ...inherited,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    STORAGE_DIR: storageDir,
    ADMIN_PASSWORD,
    SEEDER: 'off',
    TRACKER_UDP_PORT: '0',
    ...env,
  }
}

export async function startChildServer(
  env: Record<string, string> = {},
  /** `entry`: what node runs (default src/main.ts; a dist/ path runs the production build). */
  opts: { maxOpenFiles?: number; entry?: string } = {},
): Promise<ChildServer> {
  const storageDir = await makeStorageDir()
  const port = await freePort()
  const childEnv = childServerEnv(port, storageDir, { ...(await databaseEnv(storageDir)), ...env })
  const limit = opts.maxOpenFiles ?? 1024
  const entry = opts.entry ?? 'src/main.ts'
  if (entry.startsWith('dist/')) ensureBuilt()
  const child: ChildProcess = spawn(
    'bash',
    ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, process.execPath, ...NODE_FLAGS, entry],
    {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout!.on('data', (d) => {
    output += d
  })
  child.stderr!.on('data', (d) => {
    output += d
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      await rm(storageDir, { recursive: true, force: true })
      throw new Error(`child server did not become healthy:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const pid = child.pid!
  // As the site's monitoring reads it: from an address of its own, never one an attack test
  // is flooding from (whose last sockets the server may not have seen close yet).
  const metrics = async () =>
    (await requestFrom(MONITOR_ADDRESS, `${url}/metrics`, { timeoutMs: 5000 })).body.toString()
  return {
    url,
    port,
    pid,
    storageDir,
    basicAuth: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64'),
    output: () => output,
    async rss() {
      const status = await readFile(`/proc/${pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
    },
    async openFiles() {
      return (await readdir(`/proc/${pid}/fd`)).length
    },
    async refused(bound: string) {
      const m = new RegExp(`seedcast_refused_total\\{bound="${bound}"\\} (\\d+)`).exec(await metrics())
      return m ? Number(m[1]) : 0
    },
    async gauge(name: string) {
      const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(await metrics())
      return m ? Number(m[1]) : NaN
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      await rm(storageDir, { recursive: true, force: true })
    },
  }
}
