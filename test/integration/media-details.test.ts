// Media details (issue 13): after an upload is answered, ffprobe reads its length, resolution and
// codecs and ffmpeg makes a poster; the API, the home page's grid and the video page show them.
// Real ffmpeg-made clips, a real server: a file browsers cannot play is published with a note, a
// file that passes the sniffer but not ffprobe is published with no details, a private video's
// poster is hidden, and the home page's pages cover every video once, forwards and back.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { makeStorageDir, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeAudio, makeVideo } from '../helpers/media.ts'
import { getJson, ls, mediaDir, uploadOk, waitFor, type VideoJson } from '../helpers/http.ts'

const run = promisify(execFile)
let server: TestServer
let work: string
const made: string[] = []

before(async () => {
  server = await startTestServer()
  work = await mkdtemp(path.join(tmpdir(), 'seedcast-details-'))
})

after(async () => {
  await server?.stop()
  await rm(work, { recursive: true, force: true })
  for (const file of made) await rm(path.dirname(file), { recursive: true, force: true })
})

const local = (url: string) => url.replace(server.services.config.publicUrl, server.url)

async function clip(opts: Parameters<typeof makeVideo>[0]): Promise<string> {
  const file = await makeVideo(opts)
  made.push(file)
  return file
}

/** The video as the admin sees it through the API, once its details are no longer pending. */
function detailsOf(id: string): Promise<VideoJson> {
  return waitFor(
    async () => {
      const res = await getJson<VideoJson>(`${server.url}/api/videos/${id}`, {
        headers: { authorization: server.basicAuth },
      })
      return res.body.detailsStatus !== 'pending' ? res.body : undefined
    },
    `details of ${id}`,
    30_000,
  )
}

async function page(pathname: string): Promise<string> {
  const res = await fetch(`${server.url}${pathname}`)
  assert.equal(res.status, 200, pathname)
  return res.text()
}

/** The home page's cards: video id → the card's HTML. */
function cards(html: string): Map<string, string> {
  return new Map([...html.matchAll(/<li data-video-id="([^"]+)">([\s\S]*?)<\/li>/g)].map((m) => [m[1]!, m[2]!]))
}

/** Walks the home page from the newest by its "older" links: the pages' ids, in order. */
async function homePages(): Promise<{ ids: string[]; html: string }[]> {
  const pages: { ids: string[]; html: string }[] = []
  for (let url: string | null = '/'; url; ) {
    const html = await page(url)
    pages.push({ ids: [...cards(html).keys()], html })
    url = /href="(\/\?after=[^"]+)" rel="next"/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? null
    assert.ok(pages.length < 50, 'the pages end')
  }
  return pages
}

async function imageSize(bytes: Buffer): Promise<string> {
  const file = path.join(work, `${randomBytes(4).toString('hex')}.jpg`)
  await writeFile(file, bytes)
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=width,height',
    '-of',
    'csv=p=0',
    file,
  ])
  return stdout.trim()
}

describe('a playable H.264/AAC MP4', () => {
  let video: VideoJson
  let ready: VideoJson

  before(async () => {
    video = await uploadOk(server, { title: 'Test card' }, { path: await clip({ seconds: 3, size: '640x360' }) })
    ready = await detailsOf(video.id)
  })

  test('the upload is answered before the details: pending, then duration, size and codecs in the API', () => {
    assert.equal(video.detailsStatus, 'pending')
    assert.equal(video.duration, null)
    assert.equal(video.thumbnailUrl, null)
    assert.equal(ready.detailsStatus, 'ready')
    assert.ok(Math.abs(ready.duration! - 3) < 0.1, `duration ${ready.duration}`)
    assert.equal(ready.width, 640)
    assert.equal(ready.height, 360)
    assert.equal(ready.codecs?.video, 'h264')
    assert.equal(ready.codecs?.audio, 'aac')
    assert.match(ready.codecs?.container ?? '', /mp4/)
    assert.equal(ready.playable, true)
    assert.equal(ready.thumbnailUrl, `${server.services.config.publicUrl}/videos/${video.id}/thumbnail`)
  })

  test('the thumbnail is a JPEG 480 px wide that keeps the picture’s shape', async () => {
    const res = await fetch(local(ready.thumbnailUrl!))
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'image/jpeg')
    const body = Buffer.from(await res.arrayBuffer())
    assert.deepEqual([...body.subarray(0, 3)], [0xff, 0xd8, 0xff])
    assert.equal(await imageSize(body), '480,270')
  })

  test('the home page shows it as a card with its poster and length', async () => {
    const card = cards(await page('/')).get(video.id)
    assert.ok(card, 'the video is on the home page')
    assert.ok(card.includes(`<img src="${ready.thumbnailUrl}"`), card)
    assert.match(card, /<span class="duration">0:03<\/span>/)
  })

  test('the video page shows the length, resolution and codecs, and uses the poster', async () => {
    const html = await page(`/videos/${video.id}`)
    assert.match(html, /<video [^>]*poster="([^"]+)"/)
    assert.equal(/<video [^>]*poster="([^"]+)"/.exec(html)?.[1], ready.thumbnailUrl)
    assert.match(html, /id="duration">0:03</)
    assert.match(html, /id="resolution">640 × 360</)
    assert.match(html, /id="codecs">H.264 video, AAC audio in video\/mp4</)
    assert.doesNotMatch(html, /playback-note/)
  })

  test('the thumbnail is never served as media, and deleting the video removes it', async () => {
    const fileName = new URL(ready.fileUrl).pathname.split('/').pop()!
    const thumb = path.join(mediaDir(server), `${fileName}.thumb.jpg`)
    assert.ok((await stat(thumb)).size > 0)
    assert.equal((await fetch(`${server.url}/media/${fileName}.thumb.jpg`)).status, 404)
    assert.equal((await fetch(`${server.url}/seed/${fileName}.thumb.jpg`)).status, 404)
    const copy = await uploadOk(server, { title: 'Deleted' }, { path: await clip({ seconds: 1 }) })
    const copyReady = await detailsOf(copy.id)
    const copyName = new URL(copyReady.fileUrl).pathname.split('/').pop()!
    assert.ok((await ls(mediaDir(server))).includes(`${copyName}.thumb.jpg`))
    const del = await fetch(`${server.url}/api/videos/${copy.id}`, {
      method: 'DELETE',
      headers: { authorization: server.basicAuth },
    })
    assert.equal(del.status, 204)
    assert.deepEqual(
      (await ls(mediaDir(server))).filter((n) => n.includes(copy.id)),
      [],
    )
  })
})

// A container browsers refuse (Matroska), and a codec they do not decode in one they open (MP4).
const UNPLAYABLE = [
  { name: 'hevc.mkv', encoder: 'libx265', codec: 'hevc', label: 'H.265 \\(HEVC\\)', type: 'video/x-matroska' },
  { name: 'part2.mp4', encoder: 'mpeg4', codec: 'mpeg4', label: 'MPEG-4 Part 2', type: 'video/mp4' },
]
for (const u of UNPLAYABLE) {
  test(`${u.codec} in ${u.type} is published, with a note that the browser may not play it`, async () => {
    const video = await uploadOk(server, { title: u.name }, { path: await clip({ name: u.name, encoder: u.encoder }) })
    const ready = await detailsOf(video.id)
    assert.equal(ready.published, true)
    assert.equal(ready.codecs?.video, u.codec)
    assert.equal(ready.playable, false)
    assert.equal(ready.width, 320)
    assert.ok(ready.thumbnailUrl, 'ffmpeg decodes it, so it has a poster')
    const html = await page(`/videos/${video.id}`)
    assert.match(html, /id="playback-note"[^>]*>Your browser may not play this file; download it or use the torrent\.</)
    assert.match(html, new RegExp(`id="codecs">${u.label} video, AAC audio in ${u.type.replace('/', '\\/')}<`))
    assert.ok(cards(await page('/')).has(video.id), 'listed on the home page')
  })
}

test('audio: a length, no resolution and no poster', async () => {
  const wav = await makeAudio({ seconds: 1 })
  made.push(wav)
  const video = await uploadOk(server, { title: 'Tone' }, { path: wav, type: 'audio/wav' })
  const ready = await detailsOf(video.id)
  assert.equal(ready.detailsStatus, 'ready')
  assert.ok(Math.abs(ready.duration! - 1) < 0.1, `duration ${ready.duration}`)
  assert.equal(ready.width, null)
  assert.equal(ready.height, null)
  assert.equal(ready.codecs?.video, null)
  assert.equal(ready.codecs?.audio, 'pcm_s16le')
  assert.equal(ready.playable, true)
  assert.equal(ready.thumbnailUrl, null)
  assert.equal((await fetch(`${server.url}/videos/${video.id}/thumbnail`)).status, 404)
  const card = cards(await page('/')).get(video.id)!
  assert.match(card, /no preview/)
  assert.match(card, /<span class="duration">0:01<\/span>/)
})

test('MP3 with cover art: playable audio, the cover as its poster', async () => {
  const mp3 = path.join(work, 'cover.mp3')
  // ffmpeg's own test card as the ID3 cover (an attached picture, not a video stream).
  await run('ffmpeg', [
    ...[
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'sine=duration=3',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=200x200:duration=1',
    ],
    ...['-map', '0:a', '-map', '1:v', '-frames:v', '1', '-c:a', 'libmp3lame', '-c:v', 'mjpeg'],
    ...['-disposition:v', 'attached_pic', '-id3v2_version', '3', mp3],
  ])
  const video = await uploadOk(server, { title: 'Song' }, { path: mp3, type: 'audio/mpeg' })
  const ready = await detailsOf(video.id)
  assert.equal(ready.mimeType, 'audio/mpeg')
  assert.deepEqual([ready.codecs?.video, ready.codecs?.audio, ready.width], [null, 'mp3', null])
  assert.equal(ready.playable, true)
  assert.ok(ready.thumbnailUrl, 'the cover is the poster')
  const res = await fetch(local(ready.thumbnailUrl))
  assert.equal(await imageSize(Buffer.from(await res.arrayBuffer())), '200,200')
})

test('a file that passes the sniffer but not ffprobe is published with its details null, and nothing breaks', async () => {
  const fake = path.join(work, 'fake.mp4')
  // An MP4 signature, then noise: the sniffer takes it, ffprobe finds no moov atom.
  await writeFile(
    fake,
    Buffer.concat([Buffer.from('00000018667479706973736f6d0000020069736f6d', 'hex'), randomBytes(64_000)]),
  )
  const video = await uploadOk(server, { title: 'Not really' }, { path: fake })
  const done = await detailsOf(video.id)
  assert.equal(done.detailsStatus, 'failed')
  assert.equal(done.published, true)
  assert.deepEqual(
    [done.duration, done.width, done.height, done.codecs, done.playable, done.thumbnailUrl],
    [null, null, null, null, null, null],
  )
  assert.equal((await fetch(`${server.url}/videos/${video.id}/thumbnail`)).status, 404)
  const html = await page(`/videos/${video.id}`)
  assert.match(html, /id="duration">unknown</)
  assert.match(html, /id="playback-note"/)
  assert.ok(cards(await page('/')).has(video.id))
  assert.ok(
    server.logs.some((l) => l.includes('ffprobe could not read it')),
    server.logs.join('\n'),
  )
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200)
})

test("a private video's thumbnail is its owner's and the admins' only", async () => {
  const video = await uploadOk(server, { title: 'Hidden' }, { path: await clip({ seconds: 1 }) })
  const ready = await detailsOf(video.id)
  const patch = await getJson(`${server.url}/api/videos/${video.id}`, {
    method: 'PATCH',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ published: false }),
  })
  assert.equal(patch.status, 200)
  const url = local(ready.thumbnailUrl!)
  assert.equal((await fetch(url)).status, 404)
  const wrong = `Basic ${Buffer.from('admin:wrong-password').toString('base64')}`
  assert.equal((await fetch(url, { headers: { authorization: wrong } })).status, 404)
  const admin = await fetch(url, { headers: { authorization: server.basicAuth } })
  assert.equal(admin.status, 200)
  assert.equal(admin.headers.get('cache-control'), 'private, no-cache')
  assert.ok(!cards(await page('/')).has(video.id))
})

test('the home page: pages of 24, newest first; older and newer links cover every video once', async () => {
  const wav = await makeAudio({ seconds: 1 })
  made.push(wav)
  // Enough for three pages with what the other tests uploaded.
  for (let i = 0; i < 45; i++) await uploadOk(server, { title: `Page filler ${i}` }, { path: wav, type: 'audio/wav' })
  const all: string[] = []
  for (let cursor: string | null = ''; cursor !== null; ) {
    const res: { body: { videos: VideoJson[]; next: string | null } } = await getJson(
      `${server.url}/api/videos?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    )
    all.push(...res.body.videos.map((v) => v.id))
    cursor = res.body.next
  }
  assert.ok(all.length > 48, `${all.length} videos`)

  const forward = await homePages()
  assert.equal(forward.length, Math.ceil(all.length / 24))
  for (const p of forward.slice(0, -1)) assert.equal(p.ids.length, 24)
  assert.deepEqual(
    forward.flatMap((p) => p.ids),
    all,
    'no gaps, no duplicates',
  )
  assert.doesNotMatch(forward[0]!.html, /rel="prev"/)
  assert.doesNotMatch(forward.at(-1)!.html, /rel="next"/)

  // Back from the last page by the "newer" links: the same pages in reverse.
  let html = forward.at(-1)!.html
  for (let i = forward.length - 2; i >= 0; i--) {
    const prev = /href="(\/\?before=[^"]+)" rel="prev"/.exec(html)?.[1]
    assert.ok(prev, `page ${i + 2} links to page ${i + 1}`)
    html = await page(prev)
    assert.deepEqual([...cards(html).keys()], forward[i]!.ids, `page ${i + 1} again`)
  }
  assert.doesNotMatch(html, /rel="prev"/, 'the first page has no newer one')
  // A link that is not one of the site's is refused, as ?after= is.
  assert.equal((await fetch(`${server.url}/?before=not-a-cursor`)).status, 400)
})

test('without ffprobe the details wait, and the next start reads them', async () => {
  const dir = await makeStorageDir()
  const file = await clip({ seconds: 2 })
  const path0 = process.env.PATH
  let site: TestServer | undefined
  try {
    site = await startTestServer({}, dir)
    const port = site.port
    // This process's children find no ffprobe or ffmpeg (the server runs in it).
    process.env.PATH = work
    const video = await uploadOk(site, { title: 'Before ffmpeg' }, { path: file })
    const s = site
    await waitFor(async () => s.logs.find((l) => l.includes('ffprobe is not installed')), 'the missing tool logged')
    process.env.PATH = path0
    const waiting = await getJson<VideoJson>(`${site.url}/api/videos/${video.id}`)
    assert.deepEqual([waiting.body.detailsStatus, waiting.body.duration], ['pending', null])
    await site.stop({ keepStorage: true })
    site = await startTestServer({ PORT: String(port) }, dir)
    const s2 = site
    const ready = await waitFor(async () => {
      const res = await getJson<VideoJson>(`${s2.url}/api/videos/${video.id}`)
      return res.body.detailsStatus === 'ready' ? res.body : undefined
    }, 'details after the restart')
    assert.ok(Math.abs(ready.duration! - 2) < 0.1)
    assert.ok(ready.thumbnailUrl)
  } finally {
    process.env.PATH = path0
    await site?.stop()
  }
})
