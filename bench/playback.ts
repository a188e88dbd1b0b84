// Playback benchmark: `npm run bench:playback`.
//
// Time to first frame on a video's page, peer-to-peer player against plain <video>, in Debian's
// headless Chromium (playwright-core). A real Seedcast server (child process, SEEDER=off) holds one
// clip; one browser page keeps the whole torrent and seeds it over WebRTC, as an earlier viewer
// would. Then page loads alternate: "plain" (the viewer has switched P2P off: the page's <video>
// on the site's file, nothing else) and "p2p" (the default: the same <video>, plus WebTorrent
// from the first frame on, moving playback onto the torrent once it holds what comes next). Each
// load is a fresh browser context (empty cache, no service worker yet: a first visit), which
// starts playing (muted) as soon as the page is parsed.
//
// Reported per mode: time to first frame (navigation start to the presentation time of the
// element's first frame, from requestVideoFrameCallback), and for P2P loads the time until playback moved onto the
// torrent, the bytes from peers and from the site, and stalls after the move. The target: P2P's
// median time to first frame at most 1.2 × plain's. Exits 0 when the target is missed (it says
// so); 1 on errors.
//
// Environment: BENCH_PLAYBACK_RUNS (loads per mode, default 10), BENCH_PLAYBACK_SECONDS (clip
// length, default 20).
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { launchChromium, WEBRTC_LOCAL_ARGS } from '../test/helpers/browser.ts'
import { makeVideo } from '../test/helpers/media.ts'
import { tempDir } from './lib/cleanup.ts'
import { envNumber, fmtMB, markdownTable } from './lib/format.ts'
import { log } from './lib/log.ts'
import { runBench, sleep, waitFor } from './lib/processes.ts'
import { startSeedcast, uploadVideo } from './lib/seedcast.ts'

const TARGET_RATIO = 1.2
// How long a P2P load may take to move onto the torrent before it is reported as "stayed on HTTP".
const MOVE_TIMEOUT_MS = 20_000
const PLAY_AFTER_MOVE_MS = 3000
const SETTLE_MS = 1500
const MOVE_POLL_MS = 100

/** The longest stretch from `fromMs` on during which the sampled position did not move. */
function longestFreeze(samples: [number, number][], fromMs: number): number {
  let longest = 0
  let since: number | null = null
  let last = Number.NaN
  for (const [at, position] of samples) {
    if (at < fromMs) {
      last = position
      continue
    }
    if (position !== last) since = at
    else longest = Math.max(longest, at - (since ?? fromMs))
    last = position
  }
  return longest
}

type Mode = 'plain' | 'p2p'

interface Load {
  mode: Mode
  firstFrameMs: number
  /** Navigation start to DOMContentLoaded: the page's own load, the same in both modes. */
  parsedMs: number
  /** Navigation start to playback on the torrent (P2P loads that moved). */
  movedMs: number | null
  peerBytes: number
  serverBytes: number
  /** `waiting` events after the move (the element ran out of data). */
  /** The longest time the playing position stood still from just before the move on (P2P loads that moved). */
  freezeMs: number | null
  playedOn: boolean
}

// In every page: play (muted) once parsed, note the first presented frame and stalls.
const INSTRUMENT = () => {
  const w = window as unknown as {
    __bench: { firstFrame: number | null; parsed: number; samples: [number, number][]; events: string[] }
  }
  w.__bench = { firstFrame: null, parsed: 0, samples: [], events: [] }
  // The playing position every 50 ms, of whichever element is the player then (the P2P player
  // hands over to a second element).
  setInterval(() => {
    const v = document.querySelector('video')
    if (v) w.__bench.samples.push([performance.now(), v.currentTime])
  }, 50)
  document.addEventListener('DOMContentLoaded', () => {
    const v = document.querySelector('video')!
    w.__bench.parsed = performance.now()
    w.__bench.events.push(`dcl ${performance.now().toFixed(0)}`)
    for (const e of ['loadstart', 'loadedmetadata', 'loadeddata', 'canplay', 'playing', 'seeking', 'seeked', 'waiting'])
      v.addEventListener(e, () => w.__bench.events.push(`${e} ${performance.now().toFixed(0)}`))
    v.muted = true
    // When the compositor showed it (the callback itself runs on the page's busy main thread).
    v.requestVideoFrameCallback((_now, frame) => {
      w.__bench.firstFrame = frame.presentationTime
      w.__bench.events.push(`frame ${frame.presentationTime.toFixed(0)} cb ${_now.toFixed(0)}`)
    })
    void v.play().catch(() => {})
  })
}

async function seedingPage(browser: Browser, url: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  await page.addInitScript(INSTRUMENT)
  await page.goto(url)
  await waitFor('the seeding page to hold the whole torrent', 60_000, () =>
    page.evaluate(() => (document.getElementById('p2p')?.dataset.progress === '1' ? true : undefined)),
  )
  return page
}

async function load(browser: Browser, url: string, mode: Mode): Promise<Load> {
  const context = await browser.newContext()
  try {
    // The viewer's switch, as the page remembers it: the only difference between the modes.
    await context.addInitScript((p2p) => localStorage.setItem('seedcast.p2p', p2p), mode === 'p2p' ? 'on' : 'off')
    await context.addInitScript(INSTRUMENT)
    const page = await context.newPage()
    await page.goto(url)
    const firstFrameMs = await waitFor('the first frame', 30_000, () =>
      page.evaluate(
        () => (window as unknown as { __bench: { firstFrame: number | null } }).__bench.firstFrame ?? undefined,
      ),
    )
    let movedMs: number | null = null
    if (mode === 'p2p') {
      movedMs = await waitFor(
        `playback to move onto the torrent`,
        MOVE_TIMEOUT_MS,
        () =>
          page.evaluate(() =>
            document.getElementById('p2p')?.dataset.state === 'p2p' ? performance.now() : undefined,
          ),
        MOVE_POLL_MS,
      ).catch(() => null)
    }
    const before = await page.evaluate(() => document.querySelector('video')!.currentTime)
    if (process.env.BENCH_PLAYBACK_EVENTS)
      log(
        `${mode} events: ${await page.evaluate(() => (window as unknown as { __bench: { events: string[] } }).__bench.events.join(', '))}`,
      )
    await page.waitForTimeout(PLAY_AFTER_MOVE_MS)
    const after = await page.evaluate(() => {
      const v = document.querySelector('video')!
      const b = (window as unknown as { __bench: { samples: [number, number][]; parsed: number } }).__bench
      const bytes = (id: string) => Number(document.getElementById(id)?.dataset.bytes ?? 0)
      return {
        parsed: b.parsed,
        currentTime: v.currentTime,
        samples: b.samples,
        peerBytes: bytes('p2p-peer-bytes'),
        serverBytes: bytes('p2p-server-bytes'),
      }
    })
    return {
      mode,
      firstFrameMs,
      parsedMs: after.parsed,
      movedMs,
      peerBytes: after.peerBytes,
      serverBytes: after.serverBytes,
      freezeMs: movedMs === null ? null : longestFreeze(after.samples, movedMs - MOVE_POLL_MS),
      playedOn: after.currentTime > before + 1,
    }
  } finally {
    await context.close()
    // The closed context's teardown (its WebRTC connections, its service worker) must not land in the next load.
    await sleep(SETTLE_MS)
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN
}
const ms = (x: number | null): string => (x === null || Number.isNaN(x) ? '–' : `${x.toFixed(0)} ms`)

async function main(): Promise<number> {
  const runs = envNumber('BENCH_PLAYBACK_RUNS', 10, { integer: true })
  const seconds = envNumber('BENCH_PLAYBACK_SECONDS', 20, { integer: true })
  const dir = await tempDir('seedcast-bench-playback-')
  const clip = await makeVideo({ seconds, size: '640x360', noise: 13 })
  const server = await startSeedcast({
    storageDir: path.join(dir, 'storage'),
    env: { SEEDER: 'off', TRACKER_UDP_PORT: '0' },
  })
  const { video } = await uploadVideo(server, { title: 'playback bench' }, new Blob([await readFile(clip)]), 'clip.mp4')
  await rm(path.dirname(clip), { recursive: true, force: true })
  log(`server ${server.url}, video ${video.id}: ${video.size} bytes`)
  const pageUrl = `${server.url}/videos/${video.id}`

  const seedBrowser = await launchChromium(WEBRTC_LOCAL_ARGS)
  const browser = await launchChromium([...WEBRTC_LOCAL_ARGS, '--autoplay-policy=no-user-gesture-required'])
  try {
    const seeder = await seedingPage(seedBrowser, pageUrl)
    log('a browser page seeds the whole torrent')
    // One load of each first, not counted: Chromium's own start-up costs land there.
    await load(browser, pageUrl, 'plain')
    await load(browser, pageUrl, 'p2p')
    const loads: Load[] = []
    for (let i = 0; i < runs; i++) {
      for (const mode of (i % 2 ? ['p2p', 'plain'] : ['plain', 'p2p']) as Mode[]) {
        const l = await load(browser, pageUrl, mode)
        log(
          `${mode}: first frame ${ms(l.firstFrameMs)}` +
            (mode === 'p2p' ? `, on the torrent at ${ms(l.movedMs)}, ${fmtMB(l.peerBytes)} from peers` : ''),
        )
        loads.push(l)
      }
    }
    await seeder.context().close()
    return report(loads, video.size, runs)
  } finally {
    await browser.close()
    await seedBrowser.close()
  }
}

function report(loads: Load[], size: number, runs: number): number {
  const of = (m: Mode) => loads.filter((l) => l.mode === m)
  const plain = of('plain').map((l) => l.firstFrameMs)
  const p2pLoads = of('p2p')
  const p2p = p2pLoads.map((l) => l.firstFrameMs)
  const ratio = median(p2p) / median(plain)
  const moved = p2pLoads.filter((l) => l.movedMs !== null)
  console.log(`# Playback: time to first frame, P2P player vs plain <video>`)
  console.log('')
  console.log(`${runs} loads per mode, alternating, each in a fresh Chromium context; clip ${fmtMB(size)}; one`)
  console.log('browser page seeding the torrent over WebRTC. Loopback network, no throttling.')
  console.log('')
  for (const line of markdownTable(
    [
      'mode',
      'first frame, median',
      'p90',
      'min',
      'max',
      'page parsed, median',
      'frame after parse, median',
      'played on',
    ],
    (['plain', 'p2p'] as Mode[]).map((m) => {
      const xs = of(m).map((l) => l.firstFrameMs)
      return [
        m,
        ms(median(xs)),
        ms(pct(xs, 0.9)),
        ms(Math.min(...xs)),
        ms(Math.max(...xs)),
        ms(median(of(m).map((l) => l.parsedMs))),
        ms(median(of(m).map((l) => l.firstFrameMs - l.parsedMs))),
        `${of(m).filter((l) => l.playedOn).length}/${xs.length}`,
      ]
    }),
  ))
    console.log(line)
  console.log('')
  const afterParse = (m: Mode) => median(of(m).map((l) => l.firstFrameMs - l.parsedMs))
  console.log(`Ratio P2P / plain (medians): ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO})`)
  console.log(
    `Ratio of the first frame after the page was parsed (the player's part, without the page's own load): ${(afterParse('p2p') / afterParse('plain')).toFixed(2)}`,
  )
  console.log(
    `P2P loads that moved onto the torrent: ${moved.length}/${p2pLoads.length}, median at ${ms(median(moved.map((l) => l.movedMs!)))} ` +
      `after navigation; from peers median ${fmtMB(median(p2pLoads.map((l) => l.peerBytes)))}, ` +
      `from the site median ${fmtMB(median(p2pLoads.map((l) => l.serverBytes)))} (web seed + finished HTTP requests); ` +
      `the picture stood still around the move for median ${ms(median(moved.map((l) => l.freezeMs!)))}, ` +
      `at most ${ms(Math.max(...moved.map((l) => l.freezeMs!)))} (sampled every 50 ms).`,
  )
  console.log('')
  console.log(ratio <= TARGET_RATIO ? 'Target met.' : `TARGET MISSED: ratio ${ratio.toFixed(2)} > ${TARGET_RATIO}`)
  return 0
}

await runBench(main)
