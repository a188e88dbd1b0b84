// The seeder process: `npm run seeder` alone (on any machine that mounts the same storage and
// reads the same database), or started and supervised by `npm start` (src/seeder/supervisor.ts),
// which then sends it {type:'rescan'} on every publish and delete.
import path from 'node:path'
import { ConfigError, loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/client.ts'
import type { SeedSync, SeederOptions } from './seedSync.ts'
import { findSeedable } from './seedRepository.ts'

export type SeederMessage = { type: 'rescan' }
export type SeederReport = { type: 'status'; seeding: number; port: number; problems: { fileName: string; reason: string }[]; uploadedBytes: number; refusals: Record<string, number> }
/** Status goes to the web app this often (and after every rescan), so /metrics stays current. */
const REPORT_MS = 5000

const log = (line: string) => console.log(line)

// Imported on demand: the lean engine's process never loads webtorrent (tens of MB of RSS).
async function createSeeder(engine: 'lean' | 'webtorrent', opts: SeederOptions): Promise<SeedSync> {
  if (engine === 'webtorrent') return new (await import('./seeder.ts')).Seeder(opts)
  return new (await import('./lean/seeder.ts')).LeanSeeder(opts)
}

async function main() {
  const config = loadConfig()
  const db = await openDatabase(config, { migrate: false })
  const seeder = await createSeeder(config.seederEngine, { mediaDir: path.join(config.storageDir, 'media'), port: config.seederPort, log, limits: config.seederLimits })
  const port = await seeder.listening()
  log(`[seeder] ${config.seederEngine} engine listening on port ${port} (TCP and uTP); rescanning every ${config.seederRescanSeconds}s`)

  const report = () => {
    // The callback takes a send error (the web app going away) instead of an 'error' event.
    if (process.send && process.connected) process.send({ type: 'status', ...seeder.status() } satisfies SeederReport, undefined, {}, () => {})
  }
  // One rescan at a time; notices during one (a burst of uploads sends one each) make a single
  // further rescan, not one database query each.
  let scanning: Promise<void> | null = null
  let again = false
  const rescan = (): Promise<void> => {
    if (scanning) { again = true; return scanning }
    scanning = (async () => {
      do {
        again = false
        try {
          await seeder.sync(await findSeedable(db))
        } catch (err) {
          log(`[seeder] rescan failed: ${(err as Error).message}`)
        }
        report()
      } while (again)
    })().finally(() => { scanning = null })
    return scanning
  }

  await rescan()
  const timer = setInterval(() => void rescan(), config.seederRescanSeconds * 1000)
  const reporter = setInterval(report, REPORT_MS)
  process.on('message', (msg: SeederMessage) => { if (msg?.type === 'rescan') void rescan() })
  process.on('SIGHUP', () => void rescan())

  // Once, whatever asks first: Ctrl-C signals the whole group, so SIGINT, the web app's SIGTERM
  // and the IPC disconnect all arrive within moments of each other.
  let stopping: Promise<void> | null = null
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(timer)
      clearInterval(reporter)
      await seeder.destroy()
      await db.$disconnect()
      process.exit(0)
    })()
    return stopping
  }
  process.once('SIGTERM', () => void stop())
  process.once('SIGINT', () => void stop())
  // Supervised: if the web app goes away, so do we.
  process.once('disconnect', () => void stop())
}

main().catch((err) => {
  console.error(`seedcast seeder: ${err instanceof ConfigError ? err.message : `failed: ${(err as Error).stack ?? err}`}`)
  process.exit(1)
})
