// The lean engine on real sockets, without the site: webtorrent's own wire module
// (bittorrent-protocol) as the peer, a tiny HTTP tracker that records announces and hands out
// one "leecher" the engine has to dial. Blocks must be byte-exact, metadata served, unknown
// torrents refused, removed torrents closed and announced `stopped`; MSE answered (plaintext when
// offered, RC4 otherwise) and, for a dialled peer that drops plain handshakes, dialled with.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import dgram from 'node:dgram'
import http from 'node:http'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { LeanEngine } from '../../bt_server/lean/engine.ts'
import { infoDictBytes } from '../../bt_server/lean/torrentMeta.ts'
import { parseMetadataMessage } from '../../src/bittorrent/wire/extended.ts'
import { buildTorrent } from '../../src/bittorrent/metainfo.ts'
import { hashFileInWorkers as hashFile } from '../../src/bittorrent/hashInWorker.ts'
import { announceReply, connectReply, parseUdpRequest } from '../../src/bittorrent/tracker/udp.ts'

interface Wire extends Duplex {
  extendedMapping: Record<number, string>
  hasFast: boolean
  peerExtendedHandshake: Record<string, unknown>
  handshake(infoHash: string, peerId: string, ext?: Record<string, boolean>): void
  interested(): void
  request(index: number, offset: number, length: number, cb: (err: Error | null, block?: Uint8Array) => void): void
  extended(ext: string | number, obj: unknown): void
  startEncryption(infoHash: string): void
  setInfoHash(infoHash: string): Promise<void> | void
  readonly _encryptionMethod: number | null | undefined
}
type WireCtor = new (type?: string, peEnabled?: number) => Wire
// bittorrent-protocol ships no types; a computed specifier keeps tsc out of it.
const specifier: string = 'bittorrent-protocol'
const Wire = ((await import(specifier)) as { default: WireCtor }).default

const PIECE = 32 * 1024

async function fixture(t: TestContext, trackerUrl: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-lean-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const data = randomBytes(5 * PIECE + 12_345) // last piece and last block short
  const file = path.join(dir, 'clip.mp4')
  await writeFile(file, data)
  const { pieces } = await hashFile(file, PIECE)
  const built = buildTorrent({
    name: 'clip.mp4',
    length: data.length,
    pieceLength: PIECE,
    pieces,
    trackers: [trackerUrl, 'wss://tracker.example/'],
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
  })
  await writeFile(`${file}.torrent`, built.buffer)
  return { data, file, torrent: built.buffer, infoHash: built.infoHash }
}

/** An HTTP tracker: records announce queries, answers with `peers` (compact). */
async function fakeTracker(t: TestContext) {
  const queries: URLSearchParams[] = []
  let peers = Buffer.alloc(0)
  const srv = http.createServer((req, res) => {
    queries.push(new URL(req.url!, 'http://x').searchParams)
    res.end(Buffer.concat([Buffer.from(`d8:intervali300e5:peers${peers.length}:`), peers, Buffer.from('e')]))
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  t.after(() => {
    srv.closeAllConnections()
    srv.close()
  })
  return {
    url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/announce`,
    queries,
    setPeer(port: number) {
      peers = Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff])
    },
  }
}

async function engine(t: TestContext, utp = false) {
  const lines: string[] = []
  const e = new LeanEngine({ port: 0, utp, log: (l) => lines.push(l) })
  t.after(() => e.destroy())
  await e.listening()
  return { e, lines }
}

function connectWire(port: number, encryption = 0): Promise<{ wire: Wire; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const wire = encryption ? new Wire('tcpOutgoing', encryption) : new Wire()
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

const until = async (what: string, probe: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('lean engine: serves every block byte-exact (standard and odd requests), metadata, and announces as a seed', async (t) => {
  const tracker = await fakeTracker(t)
  const f = await fixture(t, tracker.url)
  const { e, lines } = await engine(t)
  await e.add(f.infoHash, f.torrent, f.file)
  await until('the started announce', () => tracker.queries.length >= 1)
  const q = tracker.queries[0]!
  assert.equal(q.get('event'), 'started')
  assert.equal(q.get('left'), '0')
  assert.equal(q.get('downloaded'), '0')
  assert.equal(q.get('port'), String(e.listenPort))
  assert.equal(q.get('compact'), '1')
  assert.ok(
    lines.some((l) => /not announcing to wss:/.test(l)),
    'ws trackers are skipped, said once',
  )

  const { wire } = await connectWire(e.listenPort)
  wire.extendedMapping = { 3: 'ut_metadata' }
  const haveAll = new Promise((r) => wire.once('have-all', r))
  const extended = new Promise((r) => wire.once('extended', r))
  wire.handshake(f.infoHash, randomBytes(20).toString('hex'), { fast: true })
  await haveAll
  await extended
  assert.equal(wire.hasFast, true)
  assert.equal(wire.peerExtendedHandshake.metadata_size, infoDictBytes(f.torrent).length)

  // ut_metadata piece 0: the info dict exactly as in the .torrent.
  const meta = new Promise<Buffer>((r) =>
    wire.on('extended', (ext: string, buf: Uint8Array) => {
      if (ext === 'ut_metadata') r(Buffer.from(buf))
    }),
  )
  wire.extended('ut_metadata', { msg_type: 0, piece: 0 })
  const m = parseMetadataMessage(await meta)
  assert.equal(m.msgType, 1)
  assert.deepEqual(m.data, infoDictBytes(f.torrent))

  const unchoked = new Promise((r) => wire.once('unchoke', r))
  wire.interested()
  await unchoked
  const got: Promise<Buffer>[] = []
  for (let piece = 0; piece < 6; piece++) {
    const size = Math.min(PIECE, f.data.length - piece * PIECE)
    for (let off = 0; off < size; off += 16384) got.push(request(wire, piece, off, Math.min(16384, size - off)))
  }
  assert.deepEqual(Buffer.concat(await Promise.all(got)), f.data)
  // Not on block boundaries: read on their own.
  assert.deepEqual(await request(wire, 2, 1000, 5000), f.data.subarray(2 * PIECE + 1000, 2 * PIECE + 6000))
  assert.deepEqual(await request(wire, 5, 0, 12_345), f.data.subarray(5 * PIECE))
  assert.equal(e.uploadedBytes(), f.data.length + 5000 + 12_345)
})

test('lean engine: an unknown infohash is closed; a bad request closes the peer', async (t) => {
  const tracker = await fakeTracker(t)
  const f = await fixture(t, tracker.url)
  const { e } = await engine(t)
  await e.add(f.infoHash, f.torrent, f.file)
  const { wire, socket } = await connectWire(e.listenPort)
  const closed = new Promise((r) => socket.once('close', r))
  wire.handshake(randomBytes(20).toString('hex'), randomBytes(20).toString('hex'))
  await closed

  const second = await connectWire(e.listenPort)
  const unchoked = new Promise((r) => second.wire.once('unchoke', r))
  second.wire.handshake(f.infoHash, randomBytes(20).toString('hex'))
  second.wire.interested()
  await unchoked
  const closed2 = new Promise((r) => second.socket.once('close', r))
  second.wire.request(99, 0, 16384, () => {})
  await closed2
})

test('lean engine: dials the peers a tracker hands out, serves them, and closes them with `stopped` on removal', async (t) => {
  const tracker = await fakeTracker(t)
  const f = await fixture(t, tracker.url)
  // The "leecher": listens, as transmission does, and never dials.
  const served = new Promise<{ wire: Wire; socket: net.Socket }>((resolve) => {
    const srv = net.createServer((socket) => {
      const wire = new Wire()
      socket.pipe(wire).pipe(socket)
      wire.once('handshake', (infoHash: string) => {
        assert.equal(infoHash, f.infoHash)
        wire.handshake(f.infoHash, randomBytes(20).toString('hex'))
        wire.once('unchoke', () => resolve({ wire, socket }))
        wire.interested()
      })
    })
    srv.listen(0, '127.0.0.1', () => tracker.setPeer((srv.address() as net.AddressInfo).port))
    t.after(() => srv.close())
  })
  const { e } = await engine(t)
  await e.add(f.infoHash, f.torrent, f.file)
  const { wire, socket } = await served
  assert.deepEqual(await request(wire, 0, 0, 16384), f.data.subarray(0, 16384))

  const closed = new Promise((r) => socket.once('close', r))
  await e.remove(f.infoHash)
  await closed
  await until('the stopped announce', () => tracker.queries.some((q) => q.get('event') === 'stopped'))
  assert.equal(tracker.queries.find((q) => q.get('event') === 'stopped')!.get('uploaded'), '16384')
})

test('lean engine: a client that opens with MSE (protocol encryption) gets plaintext and is served', async (t) => {
  const tracker = await fakeTracker(t)
  const f = await fixture(t, tracker.url)
  const { e } = await engine(t)
  await e.add(f.infoHash, f.torrent, f.file)
  const { wire } = await connectWire(e.listenPort, 1) // 1: PE, plaintext allowed
  const crypto = new Promise((r) => wire.once('crypto-handshake', r))
  wire.startEncryption(f.infoHash)
  await crypto
  const unchoked = new Promise((r) => wire.once('unchoke', r))
  wire.handshake(f.infoHash, randomBytes(20).toString('hex'))
  wire.interested()
  await unchoked
  assert.deepEqual(await request(wire, 1, 16384, 16384), f.data.subarray(PIECE + 16384, PIECE + 32768))

  assert.equal(wire._encryptionMethod, 1, 'plaintext selected (the data path stays zero-copy)')

  // RC4 only (a client requiring encryption): RC4 for the whole stream, blocks byte-exact.
  const rc4 = await connectWire(e.listenPort, 2)
  const rc4Crypto = new Promise((r) => rc4.wire.once('crypto-handshake', r))
  rc4.wire.startEncryption(f.infoHash)
  await rc4Crypto
  const rc4Unchoked = new Promise((r) => rc4.wire.once('unchoke', r))
  rc4.wire.handshake(f.infoHash, randomBytes(20).toString('hex'))
  rc4.wire.interested()
  await rc4Unchoked
  assert.equal(rc4.wire._encryptionMethod, 2, 'RC4 selected')
  const blocks = await Promise.all([0, 1, 2, 3, 4].map((i) => request(rc4.wire, i, 0, 16384)))
  blocks.forEach((b, i) => assert.deepEqual(b, f.data.subarray(i * PIECE, i * PIECE + 16384), `piece ${i}`))
  assert.deepEqual(await request(rc4.wire, 5, 0, 12_345), f.data.subarray(5 * PIECE), 'the short last piece')
})

test('lean engine: a dialled peer that drops plain handshakes is dialled again with MSE and served in RC4', async (t) => {
  const tracker = await fakeTracker(t)
  const f = await fixture(t, tracker.url)
  // The "leecher" requires encryption, as libtorrent forced or transmission "encryption": 2 do:
  // a plain handshake is closed unanswered; MSE is answered with RC4 only (bittorrent-protocol).
  let plainDropped = 0
  const served = new Promise<Wire>((resolve) => {
    const srv = net.createServer((socket) => {
      socket.once('data', (first: Buffer) => {
        if (first[0] === 19) {
          plainDropped++
          socket.destroy()
          return
        }
        const wire = new Wire('tcpIncoming', 2)
        wire.once('crypto-infohash', () => void wire.setInfoHash(f.infoHash))
        wire.once('handshake', (infoHash: string) => {
          assert.equal(infoHash, f.infoHash)
          wire.handshake(f.infoHash, randomBytes(20).toString('hex'))
          wire.once('unchoke', () => resolve(wire))
          wire.interested()
        })
        wire.write(first)
        socket.pipe(wire).pipe(socket)
      })
    })
    srv.listen(0, '127.0.0.1', () => tracker.setPeer((srv.address() as net.AddressInfo).port))
    t.after(() => srv.close())
  })
  const { e } = await engine(t)
  await e.add(f.infoHash, f.torrent, f.file)
  const wire = await served
  assert.equal(plainDropped, 1, 'dialled in plain first, once')
  assert.equal(wire._encryptionMethod, 2, 'RC4 selected')
  assert.deepEqual(await request(wire, 2, 16384, 16384), f.data.subarray(2 * PIECE + 16384, 3 * PIECE))
})

test('lean engine: announces over UDP (BEP 15: connect, then announce as a seed) and dials the peer it gets', async (t) => {
  const udp = dgram.createSocket('udp4')
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r))
  const f = await fixture(t, `udp://127.0.0.1:${udp.address().port}/announce`)
  const seen: string[] = []
  const dialled = new Promise<void>((resolve) => {
    const leecher = net.createServer((socket) => {
      socket.destroy()
      resolve()
    })
    leecher.listen(0, '127.0.0.1', () => {
      const port = (leecher.address() as net.AddressInfo).port
      udp.on('message', (msg, rinfo) => {
        const req = parseUdpRequest(msg)
        if (req.action === 'connect') {
          seen.push('connect')
          udp.send(connectReply(req.transactionId, Buffer.alloc(8, 7)), rinfo.port, rinfo.address)
        } else if (req.action === 'announce') {
          seen.push(
            `announce ${req.event} left=${req.left} downloaded=${req.downloaded} port=${req.port} cid=${req.connectionId.toString('hex')}`,
          )
          udp.send(
            announceReply(req.transactionId, 300, 1, 1, Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff])),
            rinfo.port,
            rinfo.address,
          )
        }
      })
    })
    t.after(() => leecher.close())
  })
  const { e } = await engine(t)
  t.after(() => udp.close()) // after the engine has sent its `stopped`
  await e.add(f.infoHash, f.torrent, f.file)
  await dialled
  assert.deepEqual(seen, ['connect', `announce started left=0 downloaded=0 port=${e.listenPort} cid=0707070707070707`])
})

test('lean engine: accepts uTP connections on the same port number', async (t) => {
  const tracker = await fakeTracker(t)
  const f = await fixture(t, tracker.url)
  const { e, lines } = await engine(t, true)
  await e.add(f.infoHash, f.torrent, f.file)
  assert.deepEqual(
    lines.filter((l) => /uTP/.test(l)),
    [],
    'the uTP listener started',
  )
  const utp = createRequire(import.meta.url)('utp-native') as { connect(port: number, host: string): Duplex }
  const socket = utp.connect(e.listenPort, '127.0.0.1') as Duplex & { _utp?: { unref(): void } }
  // The client's own UDP socket lingers while the uTP close handshake times out: not our concern.
  t.after(() => {
    socket.destroy()
    socket._utp?.unref()
  })
  const wire = new Wire()
  socket.pipe(wire).pipe(socket)
  const unchoked = new Promise((r) => wire.once('unchoke', r))
  wire.handshake(f.infoHash, randomBytes(20).toString('hex'))
  wire.interested()
  await unchoked
  const blocks = await Promise.all([0, 1, 2, 3].map((i) => request(wire, i, 0, 16384)))
  assert.deepEqual(
    blocks,
    [0, 1, 2, 3].map((i) => f.data.subarray(i * PIECE, i * PIECE + 16384)),
  )
})
