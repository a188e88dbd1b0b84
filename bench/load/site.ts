// The site under load for one configuration: its database (a SQLite file in the storage folder,
// or a fresh PostgreSQL database dropped at the end), seeded with the videos before the start,
// then one Seedcast web process (no seeder) checked on each target once before any load.
import { writeFile } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import pg from 'pg'
import { onCleanup, tempDir } from '../lib/cleanup.ts'
import { log } from '../lib/log.ts'
import { freePort } from '../lib/ports.ts'
import { now, programPath, run, spawnChild, stopChild, waitFor } from '../lib/processes.ts'
import { startSeedcast, stopSeedcast, type Seedcast } from '../lib/seedcast.ts'
import { seedVideos } from './seed.ts'

type Database = 'sqlite' | 'postgresql'

/**
 * One row group of the table; `webProcesses` above 1 is WEB_WORKERS (src/cluster/). `pageCache`
 * false runs the site with PAGE_CACHE_MB=0: every video page drawn (src/web/pageCache.ts).
 */
export interface LoadConfig {
  name: string
  database: Database
  webProcesses: 1 | 2
  pageCache: boolean
}

export const CONFIGS: Record<string, LoadConfig> = {
  sqlite: { name: 'SQLite, 1 web process', database: 'sqlite', webProcesses: 1, pageCache: true },
  postgresql: { name: 'PostgreSQL, 1 web process', database: 'postgresql', webProcesses: 1, pageCache: true },
  'sqlite-2': { name: 'SQLite, 2 web processes', database: 'sqlite', webProcesses: 2, pageCache: true },
  'postgresql-2': { name: 'PostgreSQL, 2 web processes', database: 'postgresql', webProcesses: 2, pageCache: true },
  'sqlite-drawn': {
    name: 'SQLite, 1 web process, no page cache',
    database: 'sqlite',
    webProcesses: 1,
    pageCache: false,
  },
  'postgresql-drawn': {
    name: 'PostgreSQL, 1 web process, no page cache',
    database: 'postgresql',
    webProcesses: 1,
    pageCache: false,
  },
  'sqlite-2-drawn': {
    name: 'SQLite, 2 web processes, no page cache',
    database: 'sqlite',
    webProcesses: 2,
    pageCache: false,
  },
  'postgresql-2-drawn': {
    name: 'PostgreSQL, 2 web processes, no page cache',
    database: 'postgresql',
    webProcesses: 2,
    pageCache: false,
  },
}

export interface LoadSite {
  seedcast: Seedcast
  /** wrk list files: video page paths, the API list's path, percent-encoded infohashes, a static file. */
  lists: { page: string; list: string; announce: string; static: string; plain: string }
  /** The seeded videos' ids. */
  ids: string[]
  /** bench/programs/plain-page.ts serving one of this site's video pages: the ceiling. */
  plain: { url: string; pid: number }
  /** The PostgreSQL server's postmaster when it runs on this machine (its CPU is measured too). */
  databasePid?: number
}

/** The process listening on a local TCP port (iproute2's ss, as root), or undefined. */
async function listenerPid(port: number): Promise<number | undefined> {
  const { stdout } = await run('ss', ['-Htlnp', `sport = :${port}`]).catch(() => ({ stdout: '' }))
  const pid = /pid=(\d+)/.exec(stdout)?.[1]
  return pid === undefined ? undefined : Number(pid)
}

const ADMIN_PASSWORD = 'bench-password-123' // bench/lib/seedcast.ts gives the server this one

/** BENCH_POSTGRES_URL, else TEST_POSTGRES_URL, else the private server of scripts/postgres.sh. */
async function postgresServerUrl(): Promise<string> {
  const given = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL
  if (given) return given
  return (await run('bash', ['scripts/postgres.sh', 'start'])).stdout.trim()
}

/** A new, empty database on the PostgreSQL server, dropped at clean-up. */
async function freshPostgresDatabase(): Promise<string> {
  const server = await postgresServerUrl()
  const name = `seedcast_load_${process.pid}_${Date.now()}`
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: server })
    await c.connect()
    try {
      await c.query(sql)
    } finally {
      await c.end()
    }
  }
  await admin(`CREATE DATABASE "${name}"`)
  onCleanup(() => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
  const url = new URL(server)
  url.pathname = `/${name}`
  return url.toString()
}

/** 40 hex digits as a query value: every byte percent-encoded. */
const pct = (hex: string) => hex.replace(/../g, (b) => `%${b.toUpperCase()}`)

export async function startLoadSite(config: LoadConfig, videos: number, serverNodeArgs: string[]): Promise<LoadSite> {
  const dir = await tempDir('seedcast-load-bench-')
  const storageDir = path.join(dir, 'storage')
  const databaseUrl = config.database === 'postgresql' ? await freshPostgresDatabase() : ''
  // PUBLIC_URL is in every torrent and in the settings: the server must start on this port.
  const port = await freePort()
  const t0 = now()
  const seeded = await seedVideos({
    storageDir,
    databaseUrl,
    publicUrl: `http://127.0.0.1:${port}`,
    adminPassword: ADMIN_PASSWORD,
    count: videos,
  })
  log(`${config.name}: seeded ${videos} videos in ${((now() - t0) / 1000).toFixed(1)} s (${dir})`)
  const lists = {
    page: path.join(dir, 'pages.txt'),
    list: path.join(dir, 'list.txt'),
    announce: path.join(dir, 'infohashes.txt'),
    static: path.join(dir, 'static.txt'),
    plain: path.join(dir, 'pages.txt'), // any path: the plain server answers each with the page
  }
  await writeFile(lists.page, seeded.ids.map((id) => `/videos/${id}\n`).join(''))
  await writeFile(lists.list, '/api/videos\n')
  await writeFile(lists.announce, seeded.infoHashes.map((h) => `${pct(h)}\n`).join(''))
  await writeFile(lists.static, '/static/site.css\n')
  const t1 = now()
  const seedcast = await startSeedcast({
    storageDir,
    port,
    nodeArgs: serverNodeArgs,
    logLines: process.env.BENCH_SERVER_LOG === '1' ? 20_000 : 200,
    env: {
      DATABASE_URL: databaseUrl,
      SEEDER: 'off',
      WEB_WORKERS: String(config.webProcesses),
      TRACKER_UDP_PORT: '0',
      TRACKER_RATE_LIMIT_PER_MINUTE: '0',
      // All the load comes from 127.0.0.1: lift the per-address caps (connections, peers), or
      // the guards would refuse most of it and measure themselves.
      WEB_MAX_CONNECTIONS_PER_ADDRESS: '0',
      TRACKER_MAX_PEERS_PER_ADDRESS: '1000000',
      TRACKER_MAX_PEERS: '100000000',
      ...(config.pageCache ? {} : { PAGE_CACHE_MB: '0' }),
    },
  })
  onCleanup(() => stopSeedcast(seedcast))
  log(
    `${config.name}: Seedcast pid ${seedcast.pid} on ${seedcast.url}, started in ${((now() - t1) / 1000).toFixed(1)} s`,
  )
  const pageFile = path.join(dir, 'page.html')
  await writeFile(pageFile, await checkTargets(seedcast, seeded.ids[0]!, seeded.infoHashes[0]!, videos))
  const databasePid = databaseUrl ? await listenerPid(Number(new URL(databaseUrl).port || 5432)) : undefined
  return { seedcast, lists, ids: seeded.ids, plain: await startPlainPage(pageFile), databasePid }
}

/**
 * Every video page asked for on each web process: what a site that has served them since its
 * start holds in its page caches (one per process; 10,000 pages of 7.9 kB fit PAGE_CACHE_MB's
 * default). Eight visitors per process, each on its own kept-alive connection (the kernel hands
 * each to a process), each asking for every page in its own order. The page target then measures
 * pages sent again; the configurations without the cache measure drawing.
 */
export async function visitEveryPage(site: LoadSite, webProcesses: number): Promise<number> {
  const t0 = now()
  const { hostname, port } = new URL(site.seedcast.url)
  const visitor = async (n: number) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      for (let i = 0; i < site.ids.length; i++) {
        const id = site.ids[(i + n * 1237) % site.ids.length]!
        const status = await new Promise<number>((resolve, reject) => {
          const req = http.get({ hostname, port, path: `/videos/${id}`, agent }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          req.on('error', reject)
        })
        if (status !== 200) throw new Error(`GET /videos/${id} answered ${status}`)
      }
    } finally {
      agent.destroy()
    }
  }
  await Promise.all(Array.from({ length: 8 * webProcesses }, (_, n) => visitor(n)))
  return now() - t0
}

async function startPlainPage(pageFile: string): Promise<LoadSite['plain']> {
  const child = spawnChild(process.execPath, [programPath('plain-page.ts'), pageFile])
  onCleanup(() => stopChild(child))
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  const port = await waitFor('plain-page.ts to listen', 10_000, async () => out.match(/PORT (\d+)/)?.[1])
  return { url: `http://127.0.0.1:${port}`, pid: child.pid! }
}

/** One request on each target before any load: the page, the list and an announce answer as they should. */
async function checkTargets(s: Seedcast, id: string, infoHash: string, videos: number): Promise<string> {
  const page = await fetch(`${s.url}/videos/${id}`)
  const html = await page.text()
  if (page.status !== 200 || !html.includes(infoHash))
    throw new Error(`GET /videos/${id} answered ${page.status} without the infohash: ${html.slice(0, 300)}`)
  const list = await fetch(`${s.url}/api/videos`)
  const body = (await list.json()) as { videos?: unknown[] }
  if (list.status !== 200 || !body.videos?.length) throw new Error(`GET /api/videos answered ${list.status}`)
  const peerId = pct(Buffer.from('-LOAD00-123456789012').toString('hex'))
  const announce = await fetch(
    `${s.url}/announce?info_hash=${pct(infoHash)}&peer_id=${peerId}&port=51413&uploaded=0&downloaded=0&left=1&compact=1`,
  )
  const reply = Buffer.from(await announce.arrayBuffer()).toString('latin1')
  if (!reply.startsWith('d8:complete')) throw new Error(`announce answered ${announce.status}: ${reply.slice(0, 200)}`)
  const css = await fetch(`${s.url}/static/site.css`)
  if (css.status !== 200 || !(await css.text()).length) throw new Error(`GET /static/site.css answered ${css.status}`)
  const health = (await (await fetch(`${s.url}/healthz`)).json()) as Record<string, unknown>
  log(
    `checked: video page ${html.length} bytes, API list of ${body.videos.length} (of ${videos}), announce ok; /healthz ${JSON.stringify(health).slice(0, 200)}`,
  )
  return html
}
