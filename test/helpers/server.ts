// Starts a real Seedcast server on a free port with its own temporary storage and database (the
// SQLite file in it, or a PostgreSQL database of its own: helpers/database.ts). Each test that
// calls startTestServer closes it (and removes the folder and the database) itself.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { loadConfig } from '../../src/config.ts'
import { openDatabase, type Db } from '../../src/db/client.ts'
import { startServer, type RunningServer, type ServerTestHooks } from '../../src/server.ts'
import { databaseEnv, dropDatabase } from './database.ts'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'

export const ADMIN_PASSWORD = 'test-password-123'

export interface TestServer extends RunningServer {
  storageDir: string
  /** Authorization header value for the admin. */
  basicAuth: string
  /** Lines the server logged (start-up check reports, generated password), in order. */
  logs: string[]
  /** Stops the server; the storage folder is kept when `keepStorage` (for restart tests). */
  stop(opts?: { keepStorage?: boolean }): Promise<void>
}

export async function makeStorageDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'seedcast-test-'))
}

/**
 * A database of its own for one test, on the suite's provider, opened `count` times (as that many
 * processes would: the first applies the migrations); closed and removed when the test ends.
 */
export async function scratchDatabases<N extends 1 | 2 = 1>(
  t: TestContext,
  count?: N,
): Promise<N extends 2 ? [Db, Db] : [Db]>
export async function scratchDatabases(t: TestContext, count = 1): Promise<Db[]> {
  const dir = await makeStorageDir()
  const config = loadConfig({ STORAGE_DIR: dir, ...(await databaseEnv(dir)) })
  const dbs: Db[] = []
  t.after(async () => {
    for (const db of dbs) await db.$disconnect()
    await dropDatabase(dir)
    await rm(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < count; i++) dbs.push(await openDatabase(config, { migrate: i === 0 }))
  return dbs
}

/**
 * PUBLIC_URL must name the port the server listens on, so pick the port first by listening on 0
 * (the server binds it again right after; a clash there fails loudly, not silently).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  storageDir?: string,
  hooks?: ServerTestHooks,
): Promise<TestServer> {
  const dir = storageDir ?? (await makeStorageDir())
  const port = env.PORT ? Number(env.PORT) : await freePort()
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    STORAGE_DIR: dir,
    ADMIN_PASSWORD,
    SEEDER: 'off',
    TRACKER_UDP_PORT: '0',
    ...(await databaseEnv(dir)),
    ...env,
  })
  const logs: string[] = []
  const running = await startServer(
    config,
    (line) => {
      logs.push(line)
    },
    hooks,
  )
  return {
    ...running,
    storageDir: dir,
    logs,
    basicAuth: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64'),
    async stop(opts = {}) {
      await running.close()
      if (!opts.keepStorage) {
        await rm(dir, { recursive: true, force: true })
        await dropDatabase(dir)
      }
    },
  }
}

// Ports are picked below the kernel's ephemeral range: a port the kernel hands out for listen(0)
// can be taken as the local port of any outgoing connection (aria2c's, a browser's) in the moment
// between its release here and the server binding it again, and with six test files at a time
// that happened (EADDRINUSE). Below the range only another test's pick can clash.
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]) || 32768
  } catch {
    return 32768
  }
})()
const PICK_LOW = 10_000

// A port handed out is also claimed, until this process exits, by a file named after it in
// PORT_CLAIMS (created exclusively, holding the pid): the port is free when picked, but the
// server or seeder binds it later (a seeder seconds later), and meanwhile another test file
// could pick it too (seen: a seeder's EADDRINUSE on a port picked this way). A claim whose
// process is gone is taken over.
const PORT_CLAIMS = path.join(tmpdir(), 'seedcast-test-ports')
const claimed: string[] = []

function claim(port: number): boolean {
  const file = path.join(PORT_CLAIMS, String(port))
  mkdirSync(PORT_CLAIMS, { recursive: true })
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' })
  } catch {
    const holder = Number(readFileSync(file, 'utf8') || 0)
    if (holder === process.pid || alive(holder)) return false
    writeFileSync(file, String(process.pid))
  }
  if (claimed.length === 0)
    process.once('exit', () => {
      for (const f of claimed) rmSync(f, { force: true })
    })
  claimed.push(file)
  return true
}

function alive(pid: number): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function freePort(): Promise<number> {
  const net = await import('node:net')
  const listenOn = (port: number) =>
    new Promise<number | null>((resolve) => {
      const srv = net.createServer()
      srv.once('error', () => resolve(null))
      srv.listen(port, '127.0.0.1', () => {
        const got = (srv.address() as import('node:net').AddressInfo).port
        srv.close(() => resolve(got))
      })
    })
  for (let i = 0; EPHEMERAL_LOW - PICK_LOW > 1000 && i < 50; i++) {
    const got = await listenOn(PICK_LOW + Math.floor(Math.random() * (EPHEMERAL_LOW - PICK_LOW)))
    if (got && claim(got)) return got
  }
  const got = await listenOn(0)
  if (!got) throw new Error('no free port on 127.0.0.1')
  return got
}

/** A port free on 127.0.0.1 for TCP and UDP both right now (a seeder listens on both: uTP is UDP). */
export async function freePortTcpUdp(): Promise<number> {
  const dgram = await import('node:dgram')
  for (;;) {
    const port = await freePort()
    const free = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket('udp4')
      socket.once('error', () => resolve(false))
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)))
    })
    if (free) return port
  }
}

/** A UDP port free on 127.0.0.1 right now (for TRACKER_UDP_PORT; 0 would mean "no UDP tracker"), picked as freePort picks. */
export async function freePortUdp(): Promise<number> {
  return freePortTcpUdp()
}
