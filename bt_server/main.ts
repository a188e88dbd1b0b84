// The seeder process: started and supervised by `npm start` (src/seeder/supervisor.ts), which
// sends it {type:'rescan'} on every change and {type:'peers'} with each leecher that announced
// `started` to the site's tracker (src/seeder/peerPush.ts), and gets its status over IPC; or `npm run seeder` as
// a service of its own beside the web app, which then talks to it through the database they
// share (src/seeder/seederLink.ts: a rescan notice it polls each second, a heartbeat it writes).
import path from 'node:path'
import { ConfigError, loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/client.ts'
import type { SeedSync, SeederOptions } from './seedSync.ts'
import { findSeedable, findUploadCap } from './seedRepository.ts'
import { readGeneration, writeHeartbeat } from '../src/seeder/seederLink.ts'
import { OffloadFlusher } from '../src/offload/offloadFlusher.ts'
import { inShard, shardName } from './shard.ts'

export type SeederMessage = { type: 'rescan' } | { type: 'peers'; peers: unknown }
export type SeederReport = {
  type: 'status'
  seeding: number
  port: number
  problems: { fileName: string; reason: string }[]
  uploadedBytes: number
  refusals: Record<string, number>
}
/** Status goes to the web app this often (and after every rescan), so /metrics stays current. */
const REPORT_MS = 5000
/** Pushed peers read from one IPC message (the web app sends at most 256). */
const MAX_PUSHED = 1024
/** Run as its own service: how often it looks for the web app's rescan notice. */
const NOTICE_POLL_MS = 1000

const log = (line: string) => console.log(line)

// Imported on demand: the lean engine's process never loads webtorrent (tens of MB of RSS).
async function createSeeder(engine: 'lean' | 'webtorrent', opts: SeederOptions): Promise<SeedSync> {
  if (engine === 'webtorrent') return new (await import('./seeder.ts')).Seeder(opts)
  return new (await import('./lean/seeder.ts')).LeanSeeder(opts)
}

async function main() {
  const config = loadConfig()
  const db = await openDatabase(config, { migrate: false })
  const seeder = await createSeeder(config.seederEngine, {
    mediaDir: path.join(config.storageDir, 'media'),
    port: config.seederPort,
    log,
    limits: config.seederLimits,
  })
  const port = await seeder.listening()
  log(
    `[seeder] ${config.seederEngine} engine listening on port ${port} (TCP and uTP); rescanning every ${config.seederRescanSeconds}s${config.seederShard.count > 1 ? `; shard ${shardName(config.seederShard)} of the torrents` : ''}`,
  )

  // Bytes sent per torrent go to the database every few seconds over this process's own
  // connection, as increments beside the web app's (not over IPC: a seeder run as its own
  // service has none, and counts must outlive a web app restart).
  const offload = new OffloadFlusher({
    db,
    log,
    sources: [
      () =>
        seeder.takeUploaded().map((u) => ({
          by: 'infoHash' as const,
          key: u.infoHash,
          seeder: u.bytes,
          webseed: 0,
          playback: 0,
          downloaded: 0,
        })),
    ],
  })
  offload.start()

  const supervised = Boolean(process.send)
  const report = () => {
    // The callback takes a send error (the web app going away) instead of an 'error' event.
    if (process.send && process.connected)
      process.send({ type: 'status', ...seeder.status() } satisfies SeederReport, undefined, {}, () => {})
    if (!supervised) {
      const { seeding, port, problems, refusals } = seeder.status()
      const shard = shardName(config.seederShard)
      writeHeartbeat(db, { at: Date.now(), pid: process.pid, shard, seeding, port, problems, refusals }).catch((err) =>
        log(`[seeder] could not write its heartbeat: ${(err as Error).message}`),
      )
    }
  }
  // One rescan at a time; notices during one (a burst of uploads sends one each) make a single
  // further rescan, not one database query each.
  let scanning: Promise<void> | null = null
  let again = false
  const rescan = (): Promise<void> => {
    if (scanning) {
      again = true
      return scanning
    }
    scanning = (async () => {
      do {
        again = false
        try {
          // A settings change sends a rescan notice too, so a new cap applies within a second.
          seeder.setUploadCap(await findUploadCap(db))
          await seeder.sync((await findSeedable(db)).filter((s) => inShard(s.infoHash, config.seederShard)))
        } catch (err) {
          log(`[seeder] rescan failed: ${(err as Error).message}`)
        }
        report()
      } while (again)
    })().finally(() => {
      scanning = null
    })
    return scanning
  }

  let generation = supervised ? null : await readGeneration(db).catch(() => null)
  await rescan()
  const timer = setInterval(() => void rescan(), config.seederRescanSeconds * 1000)
  const reporter = setInterval(report, REPORT_MS)
  const notices = supervised
    ? null
    : setInterval(() => {
        readGeneration(db).then(
          (now) => {
            if (now === generation) return
            generation = now
            void rescan()
          },
          () => {},
        )
      }, NOTICE_POLL_MS)
  process.on('message', (msg: SeederMessage) => {
    if (msg?.type === 'rescan') void rescan()
    else if (msg?.type === 'peers' && Array.isArray(msg.peers)) {
      for (const p of msg.peers.slice(0, MAX_PUSHED) as unknown[]) {
        if (!Array.isArray(p)) continue
        const [infoHash, ip, port] = p as unknown[]
        if (typeof infoHash === 'string' && typeof ip === 'string' && typeof port === 'number')
          seeder.addPeers(infoHash, [{ ip, port }])
      }
    }
  })
  process.on('SIGHUP', () => void rescan())

  // Once, whatever asks first: Ctrl-C signals the whole group, so SIGINT, the web app's SIGTERM
  // and the IPC disconnect all arrive within moments of each other.
  let stopping: Promise<void> | null = null
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(timer)
      clearInterval(reporter)
      if (notices) clearInterval(notices)
      await seeder.destroy()
      await offload.stop()
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
  console.error(
    `seedcast seeder: ${err instanceof ConfigError ? err.message : `failed: ${(err as Error).stack ?? err}`}`,
  )
  process.exit(1)
})
