// Peer-to-peer playback in real browsers: two headless Chromium instances (Debian's, through
// playwright-core) open a video's page; the first plays and fetches the torrent from the web seed,
// the second gets its pieces from the first over WebRTC (the web seed capped low, so the peer is
// the faster source), both play from the torrent, and the tracker counts both. A third browser
// without WebRTC plays the same page from the site's file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { launchChromium, WEBRTC_LOCAL_ARGS } from '../helpers/browser.ts'
import { getJson, getVideo, uploadOk, waitFor } from '../helpers/http.ts'

interface PlayerState {
  state: string
  progress: number
  peerBytes: number
  serverBytes: number
  uploaded: number
  peers: number
  currentTime: number
  readyState: number
  paused: boolean
  src: string
  error: string | null
}

const readPlayer = (page: Page): Promise<PlayerState> =>
  page.evaluate(() => {
    const v = document.querySelector('video')!
    const panel = document.getElementById('p2p')!
    const num = (id: string) => Number(document.getElementById(id)!.dataset.bytes)
    return {
      state: panel.dataset.state ?? '',
      progress: Number(panel.dataset.progress ?? 0),
      peerBytes: num('p2p-peer-bytes'),
      serverBytes: num('p2p-server-bytes'),
      uploaded: num('p2p-uploaded'),
      peers: Number(document.getElementById('p2p-peers')!.textContent),
      currentTime: v.currentTime,
      readyState: v.readyState,
      paused: v.paused,
      src: v.currentSrc,
      error: v.error ? `${v.error.code} ${v.error.message}` : null,
    }
  })

const opened: [string, Page][] = []

/** A page with its console and errors kept, for the failure message. */
async function openPlayer(browser: Browser, url: string, log: string[], name: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  opened.push([name, page])
  page.on('console', (m) => log.push(`${name} console.${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => log.push(`${name} pageerror: ${e.message}`))
  page.on('response', (r) => {
    if (r.status() >= 400) log.push(`${name} ${r.status()} ${r.url()}`)
  })
  await page.goto(url)
  // Muted, so that headless Chromium lets it play without a gesture.
  await page.evaluate(() => {
    const v = document.querySelector('video')!
    v.muted = true
    return v.play()
  })
  return page
}

/** Playing for real: time moves on and the element has data for the coming frames. */
async function assertPlays(page: Page, what: string): Promise<PlayerState> {
  // On a loaded machine the clip may have played to its end before this is asked: from the start again.
  await page.evaluate(() => {
    const v = document.querySelector('video')!
    if (v.ended || v.duration - v.currentTime < 3) v.currentTime = 0
    return v.paused ? v.play() : undefined
  })
  const before = await readPlayer(page)
  return waitFor(
    async () => {
      const now = await readPlayer(page)
      if (now.error) throw new Error(`${what}: media error ${now.error}`)
      return now.currentTime > before.currentTime + 0.5 && now.readyState >= 3 && now
    },
    `${what} to play on`,
    20_000,
  )
}

test('two browsers play one video, the second from the first over WebRTC; without WebRTC it plays from the site', {
  timeout: 240_000,
}, async (t) => {
  const log: string[] = []
  t.after(() => {
    // Everything the pages said, for a failure's diagnosis.
    if (log.length) t.diagnostic(log.slice(-80).join('\n'))
  })
  const server = await startTestServer()
  t.after(() => server.stop())
  // Megabytes in many pieces, so that pieces flow between the browsers while they play.
  const clip = await makeVideo({ seconds: 20, size: '640x360', noise: 13 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const uploaded = await uploadOk(server, { title: 'p2p clip' }, { path: clip })
  const video = await getVideo(server, uploaded.id)
  assert.ok(video.torrent, 'the video has a torrent')
  const pieces = Math.ceil(video.size / video.torrent.pieceLength)
  assert.ok(video.size > 2_000_000 && pieces >= 8, `${video.size} bytes in ${pieces} pieces`)
  const pageUrl = `${server.url}/videos/${video.id}`
  const swarm = async () =>
    (await getJson<{ seeders: number; leechers: number }>(`${server.url}/api/videos/${video.id}/swarm`)).body
  const put = async (body: object) => {
    const res = await fetch(`${server.url}/api/settings`, {
      method: 'PUT',
      headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    assert.equal(res.status, 200, await res.text())
  }

  const browsers: Browser[] = []
  t.after(() => Promise.all(browsers.map((b) => b.close())))
  const launch = async (args: string[]) => {
    const b = await launchChromium(args)
    browsers.push(b)
    return b
  }

  const first = await openPlayer(await launch(WEBRTC_LOCAL_ARGS), pageUrl, log, 'first')
  try {
    // It starts on the site's file, then takes the torrent (web seed only: no peer yet) and moves onto it.
    const a = await waitFor(
      async () => {
        const s = await readPlayer(first)
        return s.state === 'p2p' && s.progress === 1 && s
      },
      'the first browser to hold the whole torrent and play from it',
      60_000,
    )
    assert.match(a.src, /\/videos\/webtorrent\/[0-9a-f]{40}\//, 'plays from the torrent (service worker URL)')
    assert.ok(a.serverBytes >= video.size, `the web seed sent the file: ${JSON.stringify(a)}`)
    await assertPlays(first, 'the first browser')
    await waitFor(
      async () => (await swarm()).seeders === 1 && true,
      'the tracker to count the first browser as a seeder',
    )

    // The web seed slowed to a trickle: the second browser's pieces come from the first.
    await put({ webSeedUploadCap: 20_000 })
    const second = await openPlayer(await launch(WEBRTC_LOCAL_ARGS), pageUrl, log, 'second')
    const b = await waitFor(
      async () => {
        const s = await readPlayer(second)
        return s.state === 'p2p' && s.peerBytes > 0 && s.peers >= 1 && s
      },
      'the second browser to get pieces from the first and play from the torrent',
      60_000,
    )
    assert.match(b.src, /\/videos\/webtorrent\//)
    await assertPlays(second, 'the second browser')
    await waitFor(async () => {
      const s = await swarm()
      return s.seeders + s.leechers === 2 && s
    }, 'the swarm numbers to show both browsers')
    const done = await waitFor(
      async () => {
        const s = await readPlayer(second)
        return s.progress === 1 && s
      },
      'the second browser to hold the whole torrent',
      60_000,
    )
    assert.ok(done.peerBytes > video.size / 2, `mostly from the peer: ${JSON.stringify(done)}`)
    assert.ok((await readPlayer(first)).uploaded > 0, 'the first browser sent pieces')
    assert.equal((await swarm()).seeders, 2)
    // Browser peers' downloads count in the bytes-saved figures (WebSocket announces' `downloaded`).
    await waitFor(
      async () => (await getVideo(server, video.id)).offload.peerBytes > video.size / 2,
      'the offload figures to count what the browsers got from each other',
      20_000,
    )

    // Without WebRTC the page plays the site's file, as a plain player would.
    const noRtc = await (await launch(WEBRTC_LOCAL_ARGS)).newContext()
    await noRtc.addInitScript(() => {
      for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection'])
        Object.defineProperty(window, name, { value: undefined, configurable: true })
    })
    const third = await noRtc.newPage()
    third.on('console', (m) => log.push(`third console.${m.type()}: ${m.text()}`))
    await third.goto(pageUrl)
    await third.evaluate(() => {
      const v = document.querySelector('video')!
      v.muted = true
      return v.play()
    })
    await assertPlays(third, 'the browser without WebRTC')
    const c = await readPlayer(third)
    assert.equal(c.state, 'no-webrtc')
    assert.equal(c.src, video.fileUrl, 'plays the site file')
    assert.equal(c.peerBytes, 0)
    assert.equal(log.filter((l) => l.includes('pageerror')).join('\n'), '', 'no script errors')
  } catch (err) {
    for (const [name, page] of opened)
      log.push(`${name} at failure: ${JSON.stringify(await readPlayer(page).catch((e) => String(e)))}`)
    throw err
  }
})
