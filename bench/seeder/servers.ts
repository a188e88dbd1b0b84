// Seedcast with its supervised seeder (one engine), a standalone seeder beside it, and what the
// benchmark asks them: seeder pid, torrents seeded, tracker counters; uploads through the API.
import type { ChildProcess } from 'node:child_process'
import { SEEDER_EXEC_ARGV } from '../../src/seeder/supervisor.ts'
import { freePort } from '../lib/ports.ts'
import { spawnChild, waitFor } from '../lib/processes.ts'
import {
  getHealth,
  metric,
  noteSeeder,
  startSeedcast,
  uploadVideo,
  useV1Torrents,
  type Seedcast,
  type VideoJson,
} from '../lib/seedcast.ts'
import { smallMedia } from '../lib/media.ts'
import { now } from '../lib/processes.ts'
import { SMALL_BYTES, UPLOAD_CONCURRENCY, type Engine } from './config.ts'
import { builtEntry } from '../../test/helpers/build.ts'

export async function startServer(storageDir: string, rescanSeconds: number, engine: Engine): Promise<Seedcast> {
  const s = await startSeedcast({
    storageDir,
    env: {
      SEEDER: 'on',
      SEEDER_RESCAN_SECONDS: String(rescanSeconds),
      SEEDER_ENGINE: engine,
      TRACKER_UDP_PORT: '0', // no fixed UDP port: it could clash with another instance on this machine
    },
    ready: (h) => h.seeder.state === 'running' && !!h.seeder.pid,
  })
  const h = await getHealth(s)
  if (h.seeder.port !== s.seederPort) throw new Error(`seeder reports port ${h.seeder.port}, expected ${s.seederPort}`)
  // The bench re-encodes the .torrent with its own tracker and the info dict alone (no piece layers).
  await useV1Torrents(s)
  return s
}

export async function seederPid(s: Seedcast): Promise<number> {
  const h = await getHealth(s)
  if (!h.seeder.pid) throw new Error(`seeder not running: ${JSON.stringify(h.seeder)}`)
  return h.seeder.pid
}

export interface TrackerCounters {
  announces: number
  rateLimited: number
}

/** The site tracker's HTTP announce and rate-limit counters from /metrics (null if not exposed). */
export async function trackerCounters(s: Seedcast): Promise<TrackerCounters | null> {
  const text = await fetch(`${s.url}/metrics`).then(
    (r) => (r.ok ? r.text() : ''),
    () => '',
  )
  const announces = metric(text, /^seedcast_tracker_announces_total\{transport="http"\} (\d+)/m)
  if (Number.isNaN(announces)) return null
  const limited = metric(text, /^seedcast_tracker_rejected_total\{reason="rate_limited"\} (\d+)/m)
  return { announces, rateLimited: Number.isNaN(limited) ? 0 : limited }
}

/**
 * A second seeder on the same storage and database, run alone (`npm run seeder`), with another
 * engine; resolves once it logs that it seeds `n` torrents.
 */
export async function startStandaloneSeeder(
  server: Seedcast,
  engine: Engine,
  n: number,
): Promise<{ child: ChildProcess; port: number; pid: number }> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STORAGE_DIR: server.storageDir,
    DATABASE_URL: '',
    PUBLIC_URL: server.url,
    SEEDER_PORT: String(port),
    SEEDER_ENGINE: engine,
  }
  // Same V8 flags as the web app gives its supervised seeder.
  const child = spawnChild(process.execPath, [...SEEDER_EXEC_ARGV, builtEntry('bt_server/main.ts')], { env })
  noteSeeder(server, child.pid!)
  let out = ''
  const keep = (d: string) => {
    out = (out + d).slice(-20_000)
  }
  child.stdout!.setEncoding('utf8').on('data', keep)
  child.stderr!.setEncoding('utf8').on('data', keep)
  await waitFor(`the standalone ${engine} seeder to seed ${n} torrents`, 60_000, async () => {
    if (child.exitCode !== null)
      throw new Error(`standalone ${engine} seeder exited (${child.exitCode}): ${out.trim().slice(-2000)}`)
    return (out.match(/\[seeder\] seeding /g)?.length ?? 0) >= n ? true : undefined
  })
  return { child, port, pid: child.pid! }
}

/** Uploads one file; resolves when the 201 has arrived (headers and JSON body). */
export function upload(
  s: Seedcast,
  title: string,
  file: Blob,
  fileName: string,
): Promise<{ video: VideoJson; at: number }> {
  return uploadVideo(s, { title }, file, fileName)
}

/** Uploads files number `from` to `to` - 1 (small media), UPLOAD_CONCURRENCY at a time; returns the time taken. */
export async function uploadMany(s: Seedcast, header: Buffer, from: number, to: number): Promise<number> {
  const start = now()
  let next = from
  const worker = async () => {
    while (next < to) {
      const i = next++
      const data = smallMedia(header, SMALL_BYTES)
      await upload(
        s,
        `Seeder bench ${i}`,
        new Blob([new Uint8Array(data)], { type: 'video/mp4' }),
        `seeder-bench-${String(i).padStart(5, '0')}.mp4`,
      )
    }
  }
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker))
  return now() - start
}
