// Flash-crowd benchmark: `npm run bench:crowd` (or `node bench/crowd.ts`), as root.
//
// A private network of network namespaces (bench/lib/netns.ts): a bridge, the origin and one
// namespace per client, each with its own address. The origin is a real Seedcast (web app and
// seeder, `node src/main.ts`) in its namespace with its upload capped by tc; videos are uploaded
// through the API (over a control link that is neither capped nor counted) and each run uses a
// fresh one, its .torrent as the site publishes it (the site's tracker and web seed). Runs, in order:
//   1. each client kind of the mix alone on its own video (torrent + web seed);
//   2. the flash crowd: N clients start together on one video (client i runs kind i of the mix,
//      round robin), find each other through the site's tracker (and peer exchange), and keep
//      seeding until the last one is done;
//   3. plain HTTP: N aria2c download the file's URL at once, no BitTorrent, through the same cap.
// Every download is checked (size and sha256 against the uploaded file). Reported: the time until
// all had the whole file, and what the origin sent (its veth's tx bytes, headers included) ÷ the
// file size (plain HTTP: about N). Targets: the crowd's origin bytes ≤ 1.25 × the file; all N done
// within 1.6 × the time one client alone takes (the slower kind alone).
//
// Environment: BENCH_CROWD_CLIENTS (N, default 10), BENCH_CROWD_BYTES (file size, default 256MiB),
// BENCH_CROWD_CAP (origin upload cap, bytes per second, default 20MB = 20,000,000),
// BENCH_CROWD_MIX (client kinds, default "aria2c,libtorrent"), BENCH_CROWD_TIMEOUT_SECONDS (per
// run; default 3 × what plain HTTP needs through the cap, at least 120), BENCH_CROWD_HTTP=0 (skip the
// slow plain-HTTP run while iterating on the policy; its row then reads "skipped").
// Short trial run (about 1 min): BENCH_CROWD_CLIENTS=4 BENCH_CROWD_BYTES=32MiB BENCH_CROWD_CAP=4MB
// npm run bench:crowd
// Needs root, iproute2 (ip, tc), aria2c, ffmpeg and python3-libtorrent under /usr/bin/python3.
// Downloads go to a folder under /dev/shm (tmpfs) when it has room, the site's storage under the OS
// temp dir. Exits 0 even when a target is missed; 1 on errors. Namespaces, processes and folders are
// removed at the end, also on errors and signals (and a killed run's are removed by the next).
import { readFile, rm, statfs } from 'node:fs/promises'
import path from 'node:path'
import { decodeTorrent } from '../src/bittorrent/metainfo.ts'
import { readConfig, type CrowdConfig } from './crowd/config.ts'
import { report } from './crowd/report.ts'
import { onCleanup, tempDir } from './lib/cleanup.ts'
import { publish, runCrowd, startOrigin, type ClientKind, type CrowdResult, type Published } from './lib/crowd.ts'
import { fmtMB, fmtSec, MiB } from './lib/format.ts'
import { log } from './lib/log.ts'
import { mp4Header, writeMedia } from './lib/media.ts'
import { createLab, netnsUnavailable, type Lab } from './lib/netns.ts'
import { libtorrentVersion, now, requireCommands, runBench, unrefSleep } from './lib/processes.ts'
import { authHeader, type Seedcast } from './lib/seedcast.ts'

const SHM = '/dev/shm'
const OFFLOAD_FLUSH_MS = 6000

async function checkTools(): Promise<string> {
  const why = netnsUnavailable()
  if (why) throw new Error(why)
  await requireCommands(['aria2c', 'ffmpeg'], 'Debian: apt-get install aria2 ffmpeg')
  return libtorrentVersion()
}

/** The site's storage on disk; the downloads on the tmpfs when all N copies fit there. */
async function makeFolders(c: CrowdConfig): Promise<{ dir: string; downloads: string }> {
  const dir = await tempDir('seedcast-bench-crowd-')
  const shm = await statfs(SHM).catch(() => null)
  const onShm = !!shm && shm.bavail * shm.bsize > c.clients * c.bytes + 256 * MiB
  const downloads = onShm ? await tempDir('seedcast-bench-crowd-', SHM) : path.join(dir, 'downloads')
  log(`site storage under ${dir}, downloads under ${downloads}${onShm ? ' (tmpfs)' : ''}`)
  return { dir, downloads }
}

async function makeLab(c: CrowdConfig): Promise<Lab> {
  const lab = await createLab(c.clients)
  onCleanup(() => lab.destroy())
  log(
    `namespaces: origin ${lab.origin.ns} (${lab.origin.address}), ${c.clients} clients; cap ${fmtMB(c.capBytesPerSecond)}/s`,
  )
  return lab
}

/** `count` videos of `bytes` each (an MP4 header, then random bytes), published one by one. */
async function publishVideos(site: Seedcast, dir: string, bytes: number, count: number): Promise<Published[]> {
  const header = await mp4Header()
  const videos: Published[] = []
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `crowd-${i}.mp4`)
    await writeMedia(file, header, bytes)
    videos.push(await publish(site, file, i + 1, dir))
    await rm(file) // the site keeps its own copy
  }
  log(`published ${count} videos of ${fmtMB(bytes)}`)
  return videos
}

/** The site's own count of what it sent (seeder, web seed, playback: payload), from /api/offload. */
async function originSplit(site: Seedcast): Promise<Record<string, number>> {
  const res = await fetch(`${site.url}/api/offload?range=24h`, { headers: { Authorization: authHeader } })
  return res.ok ? ((await res.json()) as { originBytes: Record<string, number> }).originBytes : {}
}

async function timed(site: Seedcast, name: string, go: () => Promise<CrowdResult>, size: number): Promise<CrowdResult> {
  log(`${name}: starting`)
  const before = await originSplit(site)
  const r = await go()
  log(`${name}: all done in ${fmtSec(r.allMs)}, origin sent ${(r.originBytes / size).toFixed(2)} × the file`)
  await unrefSleep(OFFLOAD_FLUSH_MS) // the site adds its counts to the database every 5 s
  const after = await originSplit(site)
  const part = (k: string) => `${k} ${(((after[k] ?? 0) - (before[k] ?? 0)) / size).toFixed(2)} ×`
  log(`${name}: the site counted (payload) ${['seeder', 'webseed', 'playback'].map(part).join(', ')}`)
  return r
}

async function main(): Promise<number> {
  const started = now()
  const c = readConfig()
  const ltVersion = await checkTools()
  const lab = await makeLab(c)
  const { dir, downloads } = await makeFolders(c)
  const site = await startOrigin(lab, path.join(dir, 'storage'), c.capBytesPerSecond)
  const kinds = [...new Set(c.mix)]
  const videos = await publishVideos(site, dir, c.bytes, kinds.length + 1)
  const crowdVideo = videos.at(-1)!
  const alone = new Map<string, CrowdResult>()
  for (const [i, kind] of kinds.entries()) {
    const r = await timed(
      site,
      `one ${kind} alone`,
      () => runCrowd(lab, [kind], videos[i]!, downloads, c.timeoutMs),
      c.bytes,
    )
    alone.set(kind, r)
  }
  const crowdKinds: ClientKind[] = Array.from({ length: c.clients }, (_, i) => c.mix[i % c.mix.length]!)
  const crowd = await timed(
    site,
    `flash crowd of ${c.clients}`,
    () => runCrowd(lab, crowdKinds, crowdVideo, downloads, c.timeoutMs),
    c.bytes,
  )
  const http = !c.http
    ? null
    : await timed(
        site,
        `plain HTTP, ${c.clients} at once`,
        () =>
          runCrowd(
            lab,
            crowdKinds.map((): ClientKind => 'http'),
            crowdVideo,
            downloads,
            c.timeoutMs,
          ),
        c.bytes,
      )
  const pieceLength = decodeTorrent(await readFile(crowdVideo.torrentFile)).pieceLength

  console.log('')
  console.log(
    `## Seedcast flash-crowd benchmark (${new Date().toISOString()}, Node ${process.version}, libtorrent ${ltVersion}, total ${fmtSec(now() - started)})`,
  )
  console.log('')
  const missed = report(c, { size: c.bytes, pieceLength, alone, crowd, http })
  console.log('')
  console.log(missed.length ? `TARGET MISSED: ${missed.join('; ')}` : 'All targets met.')
  return 0
}

await runBench(main)
