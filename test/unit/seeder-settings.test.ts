// The seeder follows the admin's BitTorrent settings: nothing is seedable while BitTorrent is off
// (a real SQLite database, migrated as the web app does it), and a torrent whose tracker list was
// rewritten in its .torrent (same info dict) is announced to the new trackers without being
// dropped: `stopped` to the ones gone, `started` to the new ones, the others left alone, its
// peers kept. Trackers are tiny node:http servers that record what they get.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { Announcer } from '../../bt_server/lean/announcer.ts'
import { LeanEngine } from '../../bt_server/lean/engine.ts'
import { LeanSeeder } from '../../bt_server/lean/seeder.ts'
import { Seeder } from '../../bt_server/seeder.ts'
import { findSeedable, findUploadCap, type Seedable } from '../../bt_server/seedRepository.ts'
import { SeedSync, type SeedEngine } from '../../bt_server/seedSync.ts'
import { loadConfig } from '../../src/config.ts'
import { openDatabase, type Db } from '../../src/db/client.ts'
import { buildTorrent, decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { hashFileInWorkers as hashFile } from '../../src/bittorrent/hashInWorker.ts'
import { withTrackers } from '../helpers/torrentTrackers.ts'

interface Wire extends Duplex {
  handshake(infoHash: string, peerId: string, ext?: Record<string, boolean>): void
  interested(): void
  request(index: number, offset: number, length: number, cb: (err: Error | null, block?: Uint8Array) => void): void
}
// bittorrent-protocol ships no types; a computed specifier keeps tsc out of it.
const specifier: string = 'bittorrent-protocol'
const Wire = ((await import(specifier)) as { default: new () => Wire }).default

const PIECE = 32 * 1024

const until = async (what: string, probe: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A media file and its .torrent in `<dir>/media`, as the web app stores them. */
async function fixture(t: TestContext, trackers: string[]) {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-settings-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const mediaDir = path.join(dir, 'media')
  await mkdir(mediaDir)
  const data = randomBytes(3 * PIECE + 999)
  const file = path.join(mediaDir, 'clip.mp4')
  await writeFile(file, data)
  const { pieces } = await hashFile(file, PIECE)
  const built = buildTorrent({
    name: 'clip.mp4',
    length: data.length,
    pieceLength: PIECE,
    pieces,
    trackers,
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
  })
  await writeFile(`${file}.torrent`, built.buffer)
  const seedable: Seedable = {
    videoId: 'v1',
    fileName: 'clip.mp4',
    size: data.length,
    infoHash: built.infoHash,
    infoHashV2: null,
    format: 'v1',
    fileMtimeMs: Math.floor((await stat(file)).mtimeMs),
    torrentFile: 'clip.mp4.torrent',
    trackers: JSON.stringify(trackers),
  }
  return { dir, mediaDir, data, file, torrent: built.buffer, infoHash: built.infoHash, seedable }
}

/** Percent-decodes a query value to bytes (URLSearchParams would read it as UTF-8). */
const rawParam = (url: string, name: string): Buffer => {
  const m = new RegExp(`[?&]${name}=([^&]*)`).exec(url)
  const bytes: number[] = []
  for (let i = 0, s = m?.[1] ?? ''; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(s.charCodeAt(i))
  }
  return Buffer.from(bytes)
}

/** An HTTP tracker that records each announce; `hold` keeps replies back until `release`. */
async function tracker(t: TestContext, opts: { hold?: boolean } = {}) {
  const got: { event: string; infoHash: string }[] = []
  const held: http.ServerResponse[] = []
  let holding = opts.hold ?? false
  const reply = (res: http.ServerResponse) => res.end('d8:intervali300e5:peers0:e')
  const srv = http.createServer((req, res) => {
    got.push({
      event: new URL(req.url!, 'http://x').searchParams.get('event') ?? 'update',
      infoHash: rawParam(req.url!, 'info_hash').toString('hex'),
    })
    if (holding) held.push(res)
    else reply(res)
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  t.after(() => {
    srv.closeAllConnections()
    srv.close()
  })
  return {
    url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/announce`,
    got,
    events: () => got.map((g) => g.event),
    release() {
      holding = false
      for (const res of held.splice(0)) reply(res)
    },
  }
}

async function database(t: TestContext, dir: string): Promise<Db> {
  const db = await openDatabase(loadConfig({ STORAGE_DIR: dir, DATABASE_URL: `file:${path.join(dir, 'seedcast.db')}` }))
  t.after(() => db.$disconnect())
  return db
}

async function insertVideo(db: Db, s: Seedable, status = 'ready') {
  await db.video.create({
    data: {
      id: s.videoId,
      title: s.videoId,
      fileName: s.fileName,
      mimeType: 'video/mp4',
      size: BigInt(s.size),
      status,
    },
  })
  await db.torrent.create({
    data: {
      videoId: s.videoId,
      infoHash: s.infoHash,
      pieceLength: PIECE,
      pieceCount: 4,
      trackers: s.trackers,
      webSeeds: '[]',
      fileMtimeMs: s.fileMtimeMs === null ? null : BigInt(s.fileMtimeMs),
    },
  })
}

const setBittorrent = (db: Db, on: boolean) =>
  db.setting.upsert({
    where: { key: 'bittorrentEnabled' },
    create: { key: 'bittorrentEnabled', value: String(on) },
    update: { value: String(on) },
  })

// ---- findSeedable -------------------------------------------------------------------------------

test('findSeedable: published torrents while BitTorrent is on (no setting row: on), none while off', async (t) => {
  const f = await fixture(t, ['http://a.example/announce'])
  const db = await database(t, f.dir)
  await insertVideo(db, f.seedable)
  await insertVideo(
    db,
    { ...f.seedable, videoId: 'v2', fileName: 'other.mp4', infoHash: 'ab'.repeat(20) },
    'processing',
  )

  assert.deepEqual(await findSeedable(db), [f.seedable], 'one published torrent, its trackers column as stored')
  await setBittorrent(db, false)
  assert.deepEqual(await findSeedable(db), [])
  await setBittorrent(db, true)
  assert.deepEqual(await findSeedable(db), [f.seedable])

  const trackers = JSON.stringify(['udp://b.example:6969/announce', 'http://c.example/announce'])
  await db.torrent.update({ where: { videoId: 'v1' }, data: { trackers } })
  assert.equal((await findSeedable(db))[0]!.trackers, trackers)
})

test('findUploadCap: the seederUploadCap row as the settings service writes it; none or 0 means no cap', async (t) => {
  const f = await fixture(t, ['http://a.example/announce'])
  const db = await database(t, f.dir)
  assert.equal(await findUploadCap(db), 0)
  const put = (value: string) =>
    db.setting.upsert({
      where: { key: 'seederUploadCap' },
      create: { key: 'seederUploadCap', value },
      update: { value },
    })
  await put('2000000')
  assert.equal(await findUploadCap(db), 2_000_000)
  for (const value of ['0', '-5', 'x', '1.5']) {
    await put(value)
    assert.equal(await findUploadCap(db), 0, value)
  }
})

// ---- SeedSync -----------------------------------------------------------------------------------

/** Records what SeedSync asks of it; `failRetrack` makes the next retrack throw. */
class FakeEngine implements SeedEngine {
  readonly listenPort = 6881
  readonly calls: { op: 'add' | 'remove' | 'retrack'; infoHash: string; file?: Buffer }[] = []
  failRetrack = false
  listening(): Promise<number> {
    return Promise.resolve(this.listenPort)
  }
  uploadedBytes(): number {
    return 0
  }
  uploadedByTorrent(): Map<string, number> {
    return new Map()
  }
  async add(infoHash: string, torrentFile: Buffer): Promise<void> {
    this.calls.push({ op: 'add', infoHash, file: torrentFile })
  }
  async remove(infoHash: string): Promise<void> {
    this.calls.push({ op: 'remove', infoHash })
  }
  async retrack(infoHash: string, torrentFile: Buffer): Promise<void> {
    this.calls.push({ op: 'retrack', infoHash, file: torrentFile })
    if (this.failRetrack) {
      this.failRetrack = false
      throw new Error('bad .torrent')
    }
  }
  readonly caps: number[] = []
  setUploadCap(bytesPerSecond: number): void {
    this.caps.push(bytesPerSecond)
  }
  async destroy(): Promise<void> {}
  take() {
    return this.calls.splice(0).map((c) => c.op)
  }
}

test('SeedSync: a new upload cap reaches the engine once per change', async (t) => {
  const f = await fixture(t, ['http://a.example/announce'])
  const engine = new FakeEngine()
  const sync = new SeedSync(engine, { mediaDir: f.mediaDir, port: 0, log: () => {} })
  for (const cap of [0, 2_000_000, 2_000_000, 500_000, 0]) sync.setUploadCap(cap)
  assert.deepEqual(engine.caps, [2_000_000, 500_000, 0])
})

test("SeedSync: a changed trackers key hands the engine the .torrent as it is now; a failure is that torrent's problem", async (t) => {
  const f = await fixture(t, ['http://a.example/announce'])
  const engine = new FakeEngine()
  const lines: string[] = []
  const sync = new SeedSync(engine, { mediaDir: f.mediaDir, port: 0, log: (l) => lines.push(l) })
  await sync.sync([f.seedable])
  assert.deepEqual(engine.take(), ['add'])
  await sync.sync([f.seedable])
  assert.deepEqual(engine.take(), [], 'same key: nothing to do')

  // The web app rewrites the .torrent, then the column.
  const rewritten = withTrackers(f.torrent, ['http://b.example/announce'])
  await writeFile(`${f.file}.torrent`, rewritten)
  const moved = { ...f.seedable, trackers: JSON.stringify(['http://b.example/announce']) }
  await sync.sync([moved])
  assert.deepEqual(
    engine.calls.map((c) => c.op),
    ['retrack'],
  )
  assert.equal(engine.calls[0]!.infoHash, f.infoHash)
  assert.deepEqual(engine.calls[0]!.file, rewritten, "the file's new contents")
  engine.take()
  assert.equal(sync.isSeeding(f.infoHash), true)
  await sync.sync([moved])
  assert.deepEqual(engine.take(), [], 'the new key is kept')

  // The engine refuses the file: reported, not thrown; the torrent is stopped and, still wanted,
  // goes through the full check and `add` again in the same scan (here the engine takes it).
  engine.failRetrack = true
  const again = { ...moved, trackers: JSON.stringify(['http://c.example/announce']) }
  await sync.sync([again])
  assert.deepEqual(engine.take(), ['retrack', 'remove', 'add'])
  assert.ok(lines.includes('[seeder] not seeding clip.mp4: cannot take its new trackers: bad .torrent'))
  assert.equal(sync.isSeeding(f.infoHash), true)
  assert.deepEqual(sync.status().problems, [])

  // A .torrent that cannot be read: not seeded, a problem in the status, the scan goes on.
  await rm(`${f.file}.torrent`)
  await sync.sync([{ ...again, trackers: '[]' }])
  assert.deepEqual(engine.take(), ['remove'])
  assert.equal(sync.isSeeding(f.infoHash), false)
  assert.deepEqual(sync.status().problems, [{ fileName: 'clip.mp4', reason: 'the .torrent file is missing' }])
  await writeFile(`${f.file}.torrent`, rewritten)
  await sync.sync([{ ...again, trackers: '[]' }])
  assert.deepEqual(engine.take(), ['add'])
  assert.deepEqual(sync.status().problems, [])
  assert.ok(lines.some((l) => /clip\.mp4 is fine again/.test(l)))
})

// ---- lean engine and announcer ------------------------------------------------------------------

function connectWire(port: number): Promise<{ wire: Wire; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const wire = new Wire()
      socket.pipe(wire).pipe(socket)
      resolve({ wire, socket })
    })
    socket.on('error', reject)
  })
}

const request = (wire: Wire, index: number, offset: number, length: number) =>
  new Promise<Buffer>((resolve, reject) =>
    wire.request(index, offset, length, (err, block) => (err ? reject(err) : resolve(Buffer.from(block!)))),
  )

test('lean engine: retrack from [A, K] to [K, B] stops A, starts B, leaves K alone and keeps its peer', async (t) => {
  const [a, k, b] = [await tracker(t), await tracker(t), await tracker(t)]
  const f = await fixture(t, [a.url, k.url])
  const lines: string[] = []
  const e = new LeanEngine({ port: 0, utp: false, log: (l) => lines.push(l) })
  t.after(() => e.destroy())
  await e.listening()
  await e.add(f.infoHash, f.torrent, f.file)
  await until('started at A and K', () => a.got.length > 0 && k.got.length > 0)

  const { wire, socket } = await connectWire(e.listenPort)
  let closed = false
  socket.once('close', () => {
    closed = true
  })
  const unchoked = new Promise((r) => wire.once('unchoke', r))
  wire.handshake(f.infoHash, randomBytes(20).toString('hex'))
  wire.interested()
  await unchoked
  assert.deepEqual(await request(wire, 0, 0, 16384), f.data.subarray(0, 16384))

  const rewritten = withTrackers(f.torrent, [k.url, b.url, 'wss://new.example/announce'])
  assert.equal(decodeTorrent(rewritten).infoHash, f.infoHash)
  await e.retrack(f.infoHash, rewritten)
  await until('stopped at A and started at B', () => a.got.length === 2 && b.got.length === 1)
  await new Promise((r) => setTimeout(r, 100)) // room for an announce that should not come
  assert.deepEqual(a.events(), ['started', 'stopped'])
  assert.deepEqual(b.events(), ['started'])
  assert.deepEqual(k.events(), ['started'], 'an unchanged tracker keeps its schedule')
  for (const g of [...a.got, ...b.got, ...k.got]) assert.equal(g.infoHash, f.infoHash)
  assert.ok(
    lines.some((l) => l.includes('not announcing to wss://new.example/announce')),
    'ws trackers skipped, as in add',
  )

  // Same peer connection, still served.
  assert.deepEqual(await request(wire, 3, 0, 999), f.data.subarray(3 * PIECE))
  assert.equal(closed, false)

  // Another torrent's file is refused; the torrent keeps its trackers.
  const other = buildTorrent({
    name: 'x',
    length: 5,
    pieceLength: PIECE,
    pieces: randomBytes(20),
    trackers: [a.url],
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
  })
  await assert.rejects(e.retrack(f.infoHash, other.buffer), /is for/)
  await assert.rejects(e.retrack(other.infoHash, other.buffer), /not seeding/)
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(a.got.length, 2)
})

test('lean announcer: a tracker dropped while our `started` is still on its way gets `stopped` after the reply', async (t) => {
  const a = await tracker(t, { hold: true })
  const b = await tracker(t)
  const announcer = new Announcer({ peerId: randomBytes(20), port: 6881, onPeers: () => 0, log: () => {} })
  t.after(() => announcer.close(500))
  const target = {
    infoHash: 'cd'.repeat(20),
    infoHashBuf: Buffer.from('cd'.repeat(20), 'hex'),
    trackers: [a.url],
    uploaded: 0,
  }
  announcer.add(target)
  await until('started at A', () => a.got.length === 1)
  announcer.update({ ...target, trackers: [b.url] })
  await until('started at B', () => b.got.length === 1)
  assert.deepEqual(a.events(), ['started'], 'nothing more before its reply')
  a.release()
  await until('stopped at A', () => a.got.length === 2)
  assert.deepEqual(a.events(), ['started', 'stopped'])
})

// ---- the whole seeder: database, sync, lean engine ----------------------------------------------

test('lean seeder: BitTorrent off stops every torrent with `stopped`, on seeds again, new trackers move it', async (t) => {
  const a = await tracker(t)
  const b = await tracker(t)
  const f = await fixture(t, [a.url])
  const db = await database(t, f.dir)
  await insertVideo(db, f.seedable)
  const seeder = new LeanSeeder({ mediaDir: f.mediaDir, port: 0, utp: false, log: () => {} })
  t.after(() => seeder.destroy())
  await seeder.listening()
  const rescan = async () => seeder.sync(await findSeedable(db))

  await rescan()
  assert.equal(seeder.status().seeding, 1)
  await until('started at A', () => a.got.length === 1)
  await setBittorrent(db, false)
  await rescan()
  assert.equal(seeder.status().seeding, 0)
  await until('stopped at A', () => a.got.length === 2)
  await setBittorrent(db, true)
  await rescan()
  assert.equal(seeder.status().seeding, 1)
  await until('started at A again', () => a.got.length === 3)

  // The web app's order: .torrent rewritten in place, then the column.
  await writeFile(`${f.file}.torrent`, withTrackers(await readFile(`${f.file}.torrent`), [b.url]))
  await db.torrent.update({ where: { videoId: 'v1' }, data: { trackers: JSON.stringify([b.url]) } })
  await rescan()
  await until('stopped at A, started at B', () => a.got.length === 4 && b.got.length === 1)
  assert.deepEqual(a.events(), ['started', 'stopped', 'started', 'stopped'])
  assert.deepEqual(b.events(), ['started'])
  assert.equal(seeder.isSeeding(f.infoHash), true)
  assert.deepEqual(seeder.status().problems, [])
})

test('webtorrent seeder: new trackers in the .torrent: removed and added again, `stopped` to A, `started` to B', async (t) => {
  const a = await tracker(t)
  const b = await tracker(t)
  const f = await fixture(t, [a.url])
  const seeder = new Seeder({ mediaDir: f.mediaDir, port: 0, log: () => {} })
  t.after(() => seeder.destroy())
  await seeder.listening()
  await seeder.sync([f.seedable])
  await until('started at A', () => a.got.length === 1)
  await writeFile(`${f.file}.torrent`, withTrackers(f.torrent, [b.url]))
  await seeder.sync([{ ...f.seedable, trackers: JSON.stringify([b.url]) }])
  await until('stopped at A, started at B', () => a.got.length === 2 && b.got.length === 1)
  assert.deepEqual(a.events(), ['started', 'stopped'])
  assert.deepEqual(b.events(), ['started'])
  for (const g of [...a.got, ...b.got]) assert.equal(g.infoHash, f.infoHash)
  assert.equal(seeder.isSeeding(f.infoHash), true)
  assert.deepEqual(seeder.status().problems, [])
})
