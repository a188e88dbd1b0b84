// Unpublish makes a video private: its API entry, list entries (API, home page, feeds), page,
// embed and oEmbed, file, web seed, .torrent, swarm numbers and tracker entry (HTTP, UDP,
// WebSocket, scrape) are hidden from everyone but its owner and admins (to the others it is "no
// such video", never "forbidden", even with wrong credentials), and the seeder drops its peers,
// stops seeding it and says `stopped` to the trackers; publish brings all of it back. Checked
// with the site's seeder, a second tracker (opentracker) and a real aria2c that has only the
// seeder to download from; the webtorrent engine's letting go has a test of its own here
// (SEEDER_ENGINE=webtorrent runs the whole file against it).
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ADMIN_PASSWORD, freePortUdp, type TestServer } from '../helpers/server.ts'
import { announceQuery, apiUpload, binParam, btext, getJson, trackerGet, waitFor, webSeedUrl } from '../helpers/http.ts'
import { makeVideo } from '../helpers/media.ts'
import { runAria2c } from '../helpers/aria2.ts'
import { UdpTrackerClient } from '../helpers/udpTracker.ts'
import { openWs, randomId, wsAnnounce } from '../helpers/wsTracker.ts'
import { startOpentracker, type Opentracker } from '../helpers/opentracker.ts'
import { addUser, basic, newToken, type TestUser } from '../helpers/accounts.ts'
import { PageSession } from '../helpers/pageSession.ts'
import {
  aria2cFromSeeder,
  health,
  heldPeer,
  peerHandshake,
  seederReady,
  startSeededServer,
  torrentWithoutWebSeed,
  uploadClip,
  sleep,
  workDir,
  type Upload,
} from '../helpers/seededSite.ts'

type Site = TestServer & { seederPort: number }

interface Viewers {
  owner: TestUser
  other: TestUser
  ownerToken: string
  cookies: { owner: string; other: string; admin: string }
}

const json = (s: Site, method: string, url: string, auth: string, body: unknown) =>
  getJson(`${s.url}${url}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

async function viewers(s: Site): Promise<Viewers> {
  const owner = await addUser(s, 'owner', 'uploader')
  const other = await addUser(s, 'other-uploader', 'uploader')
  const { token } = await newToken(s, owner.basic, 'owner script')
  return {
    owner,
    other,
    ownerToken: token,
    cookies: {
      owner: (await PageSession.logIn(s, owner.name, owner.password)).cookie,
      other: (await PageSession.logIn(s, other.name, other.password)).cookie,
      admin: (await PageSession.logIn(s, 'admin', ADMIN_PASSWORD)).cookie,
    },
  }
}

/** What a request got: the thing ('shown'), "no such" ('hidden'), or anything else, named. */
type Seen = 'shown' | 'hidden' | string

async function seen(url: string, headers: Record<string, string> = {}): Promise<Seen> {
  const res = await fetch(url, { headers, redirect: 'manual' })
  const body = await res.text()
  if (res.status === 200 || res.status === 206) return 'shown'
  // The web seed steps aside while the swarm can serve (src/offload/webSeedGate.ts): it would serve.
  if (res.status === 503 && body.includes('swarm_serving')) return 'shown'
  if (res.status === 404) return 'hidden'
  return `status ${res.status}`
}

async function listed(s: Site, videoId: string, auth?: string): Promise<Seen> {
  const res = await getJson(`${s.url}/api/videos?limit=100`, { headers: auth ? { authorization: auth } : {} })
  assert.equal(res.status, 200)
  return res.body.videos.some((v: { id: string }) => v.id === videoId) ? 'shown' : 'hidden'
}

/** Whether the home page's list links to the video (its status when the page fails). */
async function onHome(s: Site, videoId: string, cookie?: string): Promise<Seen> {
  const res = await fetch(`${s.url}/`, { headers: cookie ? { cookie } : {} })
  if (res.status !== 200) return `status ${res.status}`
  return (await res.text()).includes(`/videos/${videoId}"`) ? 'shown' : 'hidden'
}

/** Whether a feed lists the video (its status when the feed fails). */
async function inFeed(s: Site, feed: string, videoId: string): Promise<Seen> {
  const res = await fetch(`${s.url}${feed}`)
  if (res.status !== 200) return `status ${res.status}`
  return (await res.text()).includes(`/videos/${videoId}`) ? 'shown' : 'hidden'
}

async function httpAnnounce(s: Site, infoHash: string): Promise<Seen> {
  const reply = await trackerGet(`${s.url}/announce?${announceQuery(infoHash, { left: 1000, port: 9 })}`)
  const failure = reply.body['failure reason']
  // Leave no fake peer behind in the swarm counts.
  await trackerGet(`${s.url}/announce?${announceQuery(infoHash, { left: 1000, port: 9, event: 'stopped' })}`)
  if (failure === undefined) return 'shown'
  // Refused exactly as a torrent the site never had: the refusal tells nothing of the video.
  const unknown = await trackerGet(`${s.url}/announce?${announceQuery('ab'.repeat(20), { left: 1000, port: 9 })}`)
  return btext(failure) === btext(unknown.body['failure reason']) ? 'hidden' : `refused: ${btext(failure)}`
}

async function wsTrackerAnnounce(s: Site, infoHash: string): Promise<Seen> {
  const ws = await openWs(s.port)
  try {
    const peerId = randomId()
    const reply = await wsAnnounce(ws, { infoHash, peerId, event: 'started' })
    if (reply['failure reason'] === undefined) {
      await wsAnnounce(ws, { infoHash, peerId, event: 'stopped' }).catch(() => {})
      return 'shown'
    }
    return /unregistered/.test(reply['failure reason']) ? 'hidden' : `refused: ${reply['failure reason']}`
  } finally {
    ws.terminate()
  }
}

/** A scrape naming the torrent: its counts ('shown'), or none, as for a torrent the site never had. */
async function scraped(s: Site, infoHash: string): Promise<Seen> {
  const ask = (hash: string) => trackerGet(`${s.url}/scrape?info_hash=${binParam(Buffer.from(hash, 'hex'))}`)
  const reply = await ask(infoHash)
  if (reply.body['failure reason'] === undefined && Object.keys(reply.body.files ?? {}).length === 1) return 'shown'
  const unknown = await ask('ab'.repeat(20))
  return JSON.stringify(reply) === JSON.stringify(unknown) ? 'hidden' : `scrape: ${JSON.stringify(reply)}`
}

async function udpAnnounce(udp: UdpTrackerClient, infoHash: string): Promise<Seen> {
  return udp.announce({ infoHash, port: 9 }).then(
    async () => {
      await udp.announce({ infoHash, port: 9, event: 3 }).catch(() => {}) // stopped
      return 'shown'
    },
    (err: Error) => (/unregistered/.test(err.message) ? 'hidden' : `refused: ${err.message}`),
  )
}

/**
 * Every place a video shows, as each kind of visitor sees it. Anonymous and another uploader must
 * see the same as each other, the owner (cookie, Basic or token) and admins the same as each other.
 */
async function exposure(s: Site, udp: UdpTrackerClient, u: Upload, v: Viewers): Promise<Record<string, Seen>> {
  const id = u.video.id
  const infoHash = u.video.torrent!.infoHash
  const media = u.video.fileUrl
  const seed = webSeedUrl(u.video)
  const range = { range: 'bytes=0-99' }
  const basicOf = (user: TestUser) => ({ authorization: user.basic })
  const cookie = (c: string) => ({ cookie: c })
  const probes: Record<string, () => Promise<Seen>> = {
    'api anonymous': () => seen(`${s.url}/api/videos/${id}`),
    'api other uploader': () => seen(`${s.url}/api/videos/${id}`, basicOf(v.other)),
    'api owner (Basic)': () => seen(`${s.url}/api/videos/${id}`, basicOf(v.owner)),
    'api owner (token)': () => seen(`${s.url}/api/videos/${id}`, { authorization: `Bearer ${v.ownerToken}` }),
    'api admin': () => seen(`${s.url}/api/videos/${id}`, { authorization: s.basicAuth }),
    // A cookie on the API is no caller: the owner's cookie there is anonymous.
    'api owner (cookie)': () => seen(`${s.url}/api/videos/${id}`, cookie(v.cookies.owner)),
    'list anonymous': () => listed(s, id),
    'list other uploader': () => listed(s, id, v.other.basic),
    'list owner': () => listed(s, id, v.owner.basic),
    'list admin': () => listed(s, id, s.basicAuth),
    'home anonymous': () => onHome(s, id),
    'home other uploader': () => onHome(s, id, v.cookies.other),
    'home owner': () => onHome(s, id, v.cookies.owner),
    'home admin': () => onHome(s, id, v.cookies.admin),
    'page anonymous': () => seen(`${s.url}/videos/${id}`),
    'page other uploader': () => seen(`${s.url}/videos/${id}`, cookie(v.cookies.other)),
    'page owner': () => seen(`${s.url}/videos/${id}`, cookie(v.cookies.owner)),
    'page admin': () => seen(`${s.url}/videos/${id}`, cookie(v.cookies.admin)),
    // Basic on a page route is no login.
    'page owner (Basic)': () => seen(`${s.url}/videos/${id}`, basicOf(v.owner)),
    'embed anonymous': () => seen(`${s.url}/videos/${id}/embed`),
    'embed owner': () => seen(`${s.url}/videos/${id}/embed`, cookie(v.cookies.owner)),
    'oembed anonymous': () =>
      seen(`${s.url}/oembed?url=${encodeURIComponent(`${s.services.config.publicUrl}/videos/${id}`)}`),
    'feed RSS': () => inFeed(s, '/feed.rss', id),
    'feed Atom': () => inFeed(s, '/feed.atom', id),
    'chart anonymous': () => seen(`${s.url}/videos/${id}/swarm.svg`),
    'chart owner': () => seen(`${s.url}/videos/${id}/swarm.svg`, cookie(v.cookies.owner)),
    'media anonymous': () => seen(media, range),
    'media other uploader': () => seen(media, { ...range, ...cookie(v.cookies.other) }),
    'media owner (cookie)': () => seen(media, { ...range, ...cookie(v.cookies.owner) }),
    'media owner (Basic)': () => seen(media, { ...range, ...basicOf(v.owner) }),
    'media admin (cookie)': () => seen(media, { ...range, ...cookie(v.cookies.admin) }),
    // Wrong credentials tell nothing either: the same "no such file" as for a file never stored.
    'media wrong password': () => seen(media, { ...range, authorization: basic(v.owner.name, 'not-it') }),
    'seed anonymous': () => seen(seed, range),
    'seed owner': () => seen(seed, { ...range, ...cookie(v.cookies.owner) }),
    'seed admin': () => seen(seed, { ...range, authorization: s.basicAuth }),
    'torrent anonymous': () => seen(`${s.url}/videos/${id}/torrent`),
    'torrent other uploader': () => seen(`${s.url}/videos/${id}/torrent`, cookie(v.cookies.other)),
    'torrent owner (cookie)': () => seen(`${s.url}/videos/${id}/torrent`, cookie(v.cookies.owner)),
    'torrent wrong token': () => seen(`${s.url}/videos/${id}/torrent`, { authorization: 'Bearer sct_notatoken' }),
    'torrent owner (token)': () => seen(`${s.url}/videos/${id}/torrent`, { authorization: `Bearer ${v.ownerToken}` }),
    'swarm anonymous': () => seen(`${s.url}/api/videos/${id}/swarm`),
    'swarm history anonymous': () => seen(`${s.url}/api/videos/${id}/swarm/history`),
    'swarm owner': () => seen(`${s.url}/api/videos/${id}/swarm`, basicOf(v.owner)),
    'tracker HTTP': () => httpAnnounce(s, infoHash),
    'tracker UDP': () => udpAnnounce(udp, infoHash),
    'tracker WebSocket': () => wsTrackerAnnounce(s, infoHash),
    'tracker scrape': () => scraped(s, infoHash),
  }
  const out: Record<string, Seen> = {}
  for (const [name, probe] of Object.entries(probes)) out[name] = await probe()
  return out
}

const PUBLIC: Record<string, Seen> = {
  'api anonymous': 'shown',
  'api other uploader': 'shown',
  'api owner (Basic)': 'shown',
  'api owner (token)': 'shown',
  'api admin': 'shown',
  'api owner (cookie)': 'shown',
  'list anonymous': 'shown',
  'list other uploader': 'shown',
  'list owner': 'shown',
  'list admin': 'shown',
  'home anonymous': 'shown',
  'home other uploader': 'shown',
  'home owner': 'shown',
  'home admin': 'shown',
  'page anonymous': 'shown',
  'page other uploader': 'shown',
  'page owner': 'shown',
  'page admin': 'shown',
  'page owner (Basic)': 'shown',
  'embed anonymous': 'shown',
  'embed owner': 'shown',
  'oembed anonymous': 'shown',
  'feed RSS': 'shown',
  'feed Atom': 'shown',
  'chart anonymous': 'shown',
  'chart owner': 'shown',
  'media anonymous': 'shown',
  'media other uploader': 'shown',
  'media owner (cookie)': 'shown',
  'media owner (Basic)': 'shown',
  'media admin (cookie)': 'shown',
  'media wrong password': 'shown',
  'seed anonymous': 'shown',
  'seed owner': 'shown',
  'seed admin': 'shown',
  'torrent anonymous': 'shown',
  'torrent other uploader': 'shown',
  'torrent owner (cookie)': 'shown',
  'torrent wrong token': 'shown',
  'torrent owner (token)': 'shown',
  'swarm anonymous': 'shown',
  'swarm history anonymous': 'shown',
  'swarm owner': 'shown',
  'tracker HTTP': 'shown',
  'tracker UDP': 'shown',
  'tracker WebSocket': 'shown',
  'tracker scrape': 'shown',
}

const PRIVATE: Record<string, Seen> = {
  ...PUBLIC,
  'api anonymous': 'hidden',
  'api other uploader': 'hidden',
  'api owner (cookie)': 'hidden',
  'list anonymous': 'hidden',
  'list other uploader': 'hidden',
  'home anonymous': 'hidden',
  'home other uploader': 'hidden',
  'page anonymous': 'hidden',
  'page other uploader': 'hidden',
  'page owner (Basic)': 'hidden',
  'embed anonymous': 'hidden',
  'oembed anonymous': 'hidden',
  'feed RSS': 'hidden',
  'feed Atom': 'hidden',
  'chart anonymous': 'hidden',
  'media anonymous': 'hidden',
  'media other uploader': 'hidden',
  'media wrong password': 'hidden',
  // The web seed never serves a private file, to anyone: the seeder does not seed it either.
  'seed anonymous': 'hidden',
  'seed owner': 'hidden',
  'seed admin': 'hidden',
  'torrent anonymous': 'hidden',
  'torrent other uploader': 'hidden',
  'torrent wrong token': 'hidden',
  'swarm anonymous': 'hidden',
  'swarm history anonymous': 'hidden',
  'tracker HTTP': 'hidden',
  'tracker UDP': 'hidden',
  'tracker WebSocket': 'hidden',
  'tracker scrape': 'hidden',
}

const setPublished = async (s: Site, id: string, auth: string, published: boolean) => {
  const res = await json(s, 'PATCH', `/api/videos/${id}`, auth, { published })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  assert.equal(res.body.published, published)
  return res.body
}

const handshakeIs = (s: Site, infoHash: string, want: 'answered' | 'refused', what: string, ms = 5_000) =>
  waitFor(async () => (await peerHandshake(s.seederPort, infoHash)) === want, what, ms)

async function udpClient(t: TestContext, s: Site): Promise<UdpTrackerClient> {
  const udp = await UdpTrackerClient.open('127.0.0.1', s.udpPort!)
  t.after(() => udp.close())
  return udp
}

/**
 * Opentracker as a second tracker in every torrent (a rewrite), the seeder announced there: the
 * site's own tracker drops a private torrent's swarm by itself, so only here is `stopped` seen.
 */
async function secondTracker(t: TestContext, site: Site, infoHash: string): Promise<Opentracker> {
  const ot = await startOpentracker([infoHash])
  t.after(() => ot.stop())
  const trackerUrls = [`${site.services.config.publicUrl}/announce`, ot.announceUrl]
  assert.equal((await json(site, 'PUT', '/api/settings', site.basicAuth, { trackerUrls })).status, 200)
  await waitFor(
    async () =>
      (await getJson(`${site.url}/api/settings`, { headers: { authorization: site.basicAuth } })).body.rewrite === null,
    'the .torrent rewrite',
  )
  await waitFor(async () => (await ot.scrape(infoHash)).complete === 1, 'the seeder to announce to opentracker', 15_000)
  return ot
}

/** A peer of the public torrent, which the seeder keeps (a few seconds here). */
async function keptPeer(t: TestContext, site: Site, infoHash: string) {
  const peer = await heldPeer(site.seederPort, infoHash)
  t.after(() => peer.close())
  await sleep(2_000)
  assert.equal(peer.open(), true, "the seeder keeps a public torrent's peer")
  return peer
}

/** Unpublished: within seconds the seeder drops its peers, refuses it and says `stopped`. */
async function seederLetsGo(site: Site, infoHash: string, ot: Opentracker, peer: { open(): boolean }) {
  await waitFor(async () => !peer.open(), 'the seeder to drop the peer', 5_000)
  await handshakeIs(site, infoHash, 'refused', 'the seeder to stop serving it')
  await waitFor(async () => (await health(site)).seeding === 0, 'the seeder to report 0 torrents', 5_000)
  await waitFor(async () => (await ot.scrape(infoHash)).complete === 0, "the seeder's `stopped` at opentracker", 5_000)
}

/** Published again: the seeder serves it and announces it again. */
async function seederTakesBack(site: Site, infoHash: string, ot: Opentracker) {
  await handshakeIs(site, infoHash, 'answered', 'the seeder to serve it again')
  await waitFor(async () => (await ot.scrape(infoHash)).complete === 1, 'the seeder back at opentracker', 10_000)
}

test('unpublish hides a video from all but its owner and admins and stops its seeding; publish brings it back', {
  timeout: 300_000,
}, async (t: TestContext) => {
  const site = await startSeededServer(t, { TRACKER_UDP_PORT: String(await freePortUdp()) })
  await seederReady(site)
  const udp = await udpClient(t, site)
  const v = await viewers(site)
  const up = await uploadClip(t, site, { title: 'soon private', auth: v.owner.basic })
  const infoHash = up.video.torrent!.infoHash
  assert.deepEqual(up.video.owner, { id: v.owner.id, name: v.owner.name })
  assert.equal(up.video.published, true)

  // A second tracker in the torrent, to see the seeder's `stopped` (the site's own tracker drops
  // a private torrent's swarm by itself).
  const ot = await secondTracker(t, site, infoHash)
  await handshakeIs(site, infoHash, 'answered', 'the seeder to seed it')
  const stripped = await torrentWithoutWebSeed(up)

  // Public: everyone sees everything (the probes can see it, so "hidden" below means hidden).
  assert.deepEqual(await exposure(site, udp, up, v), PUBLIC)

  const peer = await keptPeer(t, site, infoHash)

  // Another uploader cannot unpublish it; to them it is "no such video".
  const refused = await json(site, 'PATCH', `/api/videos/${up.video.id}`, v.other.basic, { published: false })
  assert.equal(refused.status, 403, 'a published video is visible to them, but not theirs')
  const at = Date.now()
  const body = await setPublished(site, up.video.id, v.owner.basic, false)
  assert.equal(body.torrent.infoHash, infoHash, 'the infohash stays')
  assert.equal(body.swarm, null, 'off the tracker: no swarm to count')
  const otherTry = await json(site, 'PATCH', `/api/videos/${up.video.id}`, v.other.basic, { published: true })
  assert.equal(otherTry.status, 404, 'a private video is "no such video" to another uploader')

  await seederLetsGo(site, infoHash, ot, peer)
  t.diagnostic(`seeder stopped ${Date.now() - at} ms after the unpublish`)
  assert.deepEqual(await exposure(site, udp, up, v), PRIVATE)

  // A real client holding the .torrent (web seed stripped) cannot download it.
  const dir = await workDir(t, 'seedcast-private-aria2-')
  await mkdir(path.join(dir, 'dl'))
  await writeFile(path.join(dir, 'private.torrent'), stripped)
  const run = await runAria2c({
    source: path.join(dir, 'private.torrent'),
    dir: path.join(dir, 'dl'),
    logFile: path.join(dir, 'aria2c.log'),
    timeoutMs: 12_000,
  })
  assert.equal(run.timedOut || run.code !== 0, true, `aria2c did not finish: ${run.output.slice(-1000)}`)
  const copy = await readFile(path.join(dir, 'dl', up.fileName)).catch(() => null)
  assert.notEqual(copy?.equals(up.original), true, 'no complete copy')
  assert.equal(await peerHandshake(site.seederPort, infoHash), 'refused', 'still not seeded')

  // Publish (the owner's token this time): all of it back, and aria2c gets it from the seeder alone.
  const back = Date.now()
  assert.ok((await setPublished(site, up.video.id, `Bearer ${v.ownerToken}`, true)).swarm, 'a swarm again')
  await seederTakesBack(site, infoHash, ot)
  t.diagnostic(`seeded again ${Date.now() - back} ms after the publish`)
  assert.deepEqual(await exposure(site, udp, up, v), PUBLIC)
  await aria2cFromSeeder(t, site, up, stripped)

  // An admin unpublishes someone else's video just the same.
  await setPublished(site, up.video.id, site.basicAuth, false)
  await handshakeIs(site, infoHash, 'refused', 'the seeder to stop serving it for the admin')
  assert.deepEqual(await exposure(site, udp, up, v), PRIVATE)
})

// The suite runs the default engine; the other one (SEEDER_ENGINE=webtorrent) lets go the same way.
test('the webtorrent engine drops an unpublished torrent and its peers, says `stopped`, and takes it back', {
  timeout: 120_000,
}, async (t: TestContext) => {
  const site = await startSeededServer(t, { SEEDER_ENGINE: 'webtorrent' })
  await seederReady(site)
  const up = await uploadClip(t, site, { seconds: 2, title: 'webtorrent-seeded' })
  const infoHash = up.video.torrent!.infoHash
  const ot = await secondTracker(t, site, infoHash)
  const peer = await keptPeer(t, site, infoHash)
  await setPublished(site, up.video.id, site.basicAuth, false)
  await seederLetsGo(site, infoHash, ot, peer)
  await setPublished(site, up.video.id, site.basicAuth, true)
  await seederTakesBack(site, infoHash, ot)
  assert.match(site.logs.join('\n'), /webtorrent engine listening/)
})

test('a video made private before or while its torrent is made is never tracked nor seeded, restart included', {
  timeout: 300_000,
}, async (t: TestContext) => {
  const udpPort = String(await freePortUdp())
  let site = await startSeededServer(t, { TRACKER_UDP_PORT: udpPort })
  await seederReady(site)
  const v = await viewers(site)
  const settings = (body: unknown) => json(site, 'PUT', '/api/settings', site.basicAuth, body)

  // BitTorrent off: uploads get no torrent until it is on again (then in the background).
  assert.equal((await settings({ bittorrentEnabled: false })).status, 200)
  const upload = (title: string) => uploadClipWithoutTorrent(t, site, title, v.owner.basic)
  const before = await upload('private before its torrent')
  const during = await upload('private while its torrent is made')
  const later = await upload('published all along')
  await setPublished(site, before.video.id, v.owner.basic, false)
  // On again: the backfill hashes the three one after another; `during` is made private while
  // that runs (queued or hashing: either way before its torrent is recorded, or just after).
  assert.equal((await settings({ bittorrentEnabled: true })).status, 200)
  await setPublished(site, during.video.id, v.owner.basic, false)
  const withTorrent = async (id: string) =>
    waitFor(async () => {
      const res = await getJson(`${site.url}/api/videos/${id}`, { headers: { authorization: v.owner.basic } })
      return res.body.status === 'ready' && res.body.torrent ? (res.body as Upload['video']) : null
    }, `the torrent of ${id}`)
  const made = {
    before: { ...before, video: await withTorrent(before.video.id) },
    during: { ...during, video: await withTorrent(during.video.id) },
    later: { ...later, video: await withTorrent(later.video.id) },
  }

  const check = async (s: Site) => {
    const udp = await udpClient(t, s)
    await handshakeIs(s, made.later.video.torrent!.infoHash, 'answered', 'the seeder to seed the public one', 10_000)
    for (const u of [made.before, made.during]) {
      const infoHash = u.video.torrent!.infoHash
      assert.equal(await httpAnnounce(s, infoHash), 'hidden', `${u.video.title}: HTTP announce`)
      assert.equal(await udpAnnounce(udp, infoHash), 'hidden', `${u.video.title}: UDP announce`)
      assert.equal(await peerHandshake(s.seederPort, infoHash), 'refused', `${u.video.title}: not seeded`)
      assert.equal(await seen(`${s.url}/api/videos/${u.video.id}/swarm`), 'hidden')
    }
    assert.equal(await httpAnnounce(s, made.later.video.torrent!.infoHash), 'shown')
    assert.equal(await udpAnnounce(udp, made.later.video.torrent!.infoHash), 'shown')
    await waitFor(async () => (await health(s)).seeding === 1, 'the seeder to seed only the public one', 10_000)
  }
  await check(site)

  // After a restart the tracker's allow list and the seeder's first scan leave them out too.
  await site.stop({ keepStorage: true })
  site = await startSeededServer(t, { TRACKER_UDP_PORT: udpPort }, site.storageDir)
  await seederReady(site)
  await check(site)

  // Published at last, `before` is tracked and seeded like any other.
  await setPublished(site, made.before.video.id, v.owner.basic, true)
  await handshakeIs(site, made.before.video.torrent!.infoHash, 'answered', 'the seeder to seed it once published')
  assert.equal(await httpAnnounce(site, made.before.video.torrent!.infoHash), 'shown')
})

/** An upload while BitTorrent is off: answered 'ready' without a torrent, which comes later. */
async function uploadClipWithoutTorrent(t: TestContext, s: Site, title: string, auth: string): Promise<Upload> {
  const clip = await makeVideo({ seconds: 2, noise: 20 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const res = await apiUpload(s, { title }, { path: clip }, auth)
  assert.equal(res.status, 201, JSON.stringify(res.body))
  assert.equal(res.body.torrent, null)
  return {
    video: res.body,
    original: await readFile(clip),
    fileName: decodeURIComponent(path.basename(new URL(res.body.fileUrl).pathname)),
  }
}
