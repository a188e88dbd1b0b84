// A real BitTorrent client (aria2c) downloads an upload from its .torrent: the only source is the
// BEP 19 web seed (the file's own URL on the site), the only tracker the site's /announce.
// The tracker must then count the completed download, in the API, the page and its scrape.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import bencode from 'bencode'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo, uploadForm } from '../helpers/media.ts'
import { runAria2c, type Announce, type Aria2Result } from '../helpers/aria2.ts'
import { apiSwarm, scrape, waitFor } from '../helpers/swarm.ts'
import { useTorrentFormat, webSeedUrl } from '../helpers/http.ts'

interface UploadedVideo {
  id: string
  status: string
  fileUrl: string
  size: number
  torrent: { infoHash: string; torrentUrl: string; pieceLength: number; trackers: string[]; webSeeds: string[] } | null
  swarm: { seeders: number; leechers: number; completed: number }
}

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')
const text = (v: unknown) => Buffer.from(v as Uint8Array).toString('utf8')

async function workDir(t: import('node:test').TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-aria2-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function uploadClip(
  t: import('node:test').TestContext,
  server: TestServer,
): Promise<{ video: UploadedVideo; original: Buffer }> {
  // 20 s of grainy 640x360: some 4 MB, several dozen pieces.
  const clip = await makeVideo({ seconds: 20, size: '640x360', noise: 10 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const original = await readFile(clip)
  const res = await fetch(`${server.url}/api/videos`, {
    method: 'POST',
    headers: { authorization: server.basicAuth },
    body: await uploadForm({ title: 'Web seed test', description: 'fetched by aria2c' }, { path: clip }),
  })
  assert.equal(res.status, 201, await res.clone().text())
  const video = (await res.json()) as UploadedVideo
  assert.equal(video.status, 'ready')
  assert.ok(video.torrent, 'the upload has a torrent')
  assert.equal(video.size, original.length)
  return { video, original }
}

/** The .torrent as served: right type, and pointing at this site's tracker and file. */
async function fetchTorrent(server: TestServer, video: UploadedVideo): Promise<Buffer> {
  const res = await fetch(video.torrent!.torrentUrl)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^application\/x-bittorrent\b/)
  const buf = Buffer.from(await res.arrayBuffer())
  const meta = bencode.decode(buf) as Record<string, unknown>
  const info = meta.info as Record<string, unknown>
  assert.equal(text(meta.announce), `${server.url}/announce`)
  const urlList = Array.isArray(meta['url-list']) ? (meta['url-list'] as unknown[]).map(text) : [text(meta['url-list'])]
  assert.deepEqual(urlList, [webSeedUrl(video)], 'the web seed is the file itself, on its own URL')
  assert.equal(info.length, video.size)
  const pieceCount = (info.pieces as Uint8Array).length / 20
  assert.ok(pieceCount >= 8, `several pieces (got ${pieceCount} of ${String(info['piece length'])} bytes)`)
  return buf
}

function describeRun(run: Aria2Result): string {
  const events = run.announces.map((a) => `${a.event ?? '(none)'} left=${a.left} downloaded=${a.downloaded}`).join('; ')
  return `aria2c exit ${run.code}${run.signal ? ` (${run.signal})` : ''}${run.timedOut ? ' after the time-out' : ''}; announces: ${events || 'none'}\n${run.output.slice(-3000)}`
}

function assertDownloadOk(run: Aria2Result, downloaded: Buffer, original: Buffer) {
  assert.equal(run.timedOut, false, describeRun(run))
  assert.equal(run.code, 0, describeRun(run))
  assert.equal(downloaded.length, original.length, 'downloaded file size')
  assert.equal(sha256(downloaded), sha256(original), 'downloaded file is byte-identical to the upload')
}

/** Counts the site shows once aria2c has gone: nobody in the swarm, one completed download. */
async function assertCountedOnce(server: TestServer, video: UploadedVideo) {
  const swarm = await waitFor(
    () => apiSwarm(server.url, video.id),
    (s) => s.completed >= 1,
    { what: 'swarm.completed to reach 1' },
  )
  assert.deepEqual(
    swarm,
    { seeders: 0, leechers: 0, completed: 1 },
    'aria2c announced stopped on exit; its download counts once',
  )

  const page = await fetch(`${server.url}/videos/${video.id}`)
  assert.equal(page.status, 200)
  const html = await page.text()
  assert.match(html, /<dd id="completed">1<\/dd>/)
  assert.match(html, /<dd id="seeders">0<\/dd>/)
  assert.match(html, /<dd id="leechers">0<\/dd>/)

  const scraped = await scrape(server.url, video.torrent!.infoHash)
  assert.equal(scraped.complete, 0)
  assert.equal(scraped.incomplete, 0)
  assert.equal(scraped.downloaded, swarm.completed, 'the scrape counts the completed download as the API does')
}

const lastEvent = (announces: Announce[]) => announces.at(-1)?.event

test('aria2c downloads an upload from the web seed alone, byte for byte, and the tracker counts it', {
  timeout: 90_000,
}, async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  await useTorrentFormat(server, 'v1') // aria2c: v1 torrents only (see useTorrentFormat)
  const { video, original } = await uploadClip(t, server)
  const dir = await workDir(t)
  const torrentFile = path.join(dir, 'clip.torrent')
  await writeFile(torrentFile, await fetchTorrent(server, video))
  const downloadDir = path.join(dir, 'download')
  await mkdir(downloadDir)

  const run = await runAria2c({
    source: torrentFile,
    dir: downloadDir,
    logFile: path.join(dir, 'aria2c.log'),
    timeoutMs: 60_000,
  })
  t.diagnostic(describeRun(run).split('\n')[0]!)
  assertDownloadOk(
    run,
    await readFile(path.join(downloadDir, path.basename(new URL(video.fileUrl).pathname))),
    original,
  )
  assert.match(
    run.log,
    new RegExp(`selected ${webSeedUrl(video).replace(/[.?*+^$()[\]{}|\\]/g, '\\$&')}`),
    'aria2c used the web seed',
  )

  // On loopback the web seed usually delivers the whole file before aria2c's first announce;
  // aria2c then sends `started` with left=0 instead of `completed`. Either way: started first,
  // stopped last, and the download is reported finished.
  assert.ok(run.announces.length >= 2, describeRun(run))
  assert.equal(run.announces[0]!.event, 'started', describeRun(run))
  assert.equal(lastEvent(run.announces), 'stopped', describeRun(run))
  const finished =
    run.announces.some((a) => a.event === 'completed') ||
    (run.announces[0]!.left === 0 && run.announces[0]!.downloaded > 0)
  assert.ok(finished, describeRun(run))
  assert.ok(
    run.announces.every((a) => a.uploaded === 0),
    'nobody to upload to',
  )

  await assertCountedOnce(server, video)
})

test('aria2c that announces mid-download is a leecher, then sends completed, and is counted once', {
  timeout: 90_000,
}, async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  await useTorrentFormat(server, 'v1') // aria2c: v1 torrents only (see useTorrentFormat)
  const { video, original } = await uploadClip(t, server)
  const dir = await workDir(t)
  const downloadDir = path.join(dir, 'download')
  await mkdir(downloadDir)

  // aria2c fetches the .torrent itself (it must recognise it by Content-Type: the URL has no
  // .torrent suffix), and a download limit keeps it leeching for a few seconds.
  const stopAria2c = new AbortController()
  const running = runAria2c({
    source: video.torrent!.torrentUrl,
    dir: downloadDir,
    logFile: path.join(dir, 'aria2c.log'),
    timeoutMs: 60_000,
    extraArgs: ['--max-download-limit=1M'],
    signal: stopAria2c.signal,
  })
  let finished = false
  void running
    .finally(() => {
      finished = true
    })
    .catch(() => {})
  try {
    // While it downloads, the API and the scrape both show one leecher.
    const leeching = await waitFor(
      () => apiSwarm(server.url, video.id),
      (s) => s.leechers === 1 || finished,
      { timeoutMs: 20_000, intervalMs: 50, what: 'aria2c to show up as a leecher' },
    )
    assert.equal(finished, false, 'aria2c finished before it was seen leeching')
    assert.deepEqual(leeching, { seeders: 0, leechers: 1, completed: 0 })
    const midScrape = await scrape(server.url, video.torrent!.infoHash)
    assert.equal(midScrape.incomplete, 1)
    assert.equal(midScrape.complete, 0)
  } catch (err) {
    // Failing while aria2c runs: kill it and wait for it before the clean-up hooks.
    stopAria2c.abort()
    await running.catch(() => {})
    throw err
  }

  const run = await running
  t.diagnostic(describeRun(run).split('\n')[0]!)
  assertDownloadOk(
    run,
    await readFile(path.join(downloadDir, path.basename(new URL(video.fileUrl).pathname))),
    original,
  )

  const events = run.announces.map((a) => a.event)
  assert.equal(events[0], 'started', describeRun(run))
  assert.ok(run.announces[0]!.left > 0, describeRun(run))
  const completed = run.announces.filter((a) => a.event === 'completed')
  assert.equal(completed.length, 1, describeRun(run))
  assert.equal(completed[0]!.left, 0)
  assert.equal(completed[0]!.downloaded, original.length)
  assert.equal(lastEvent(run.announces), 'stopped', describeRun(run))

  await assertCountedOnce(server, video)
})
