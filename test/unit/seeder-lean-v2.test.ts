// The lean engine with a hybrid torrent on real sockets, spoken to in raw bytes: it announces
// under every hash peers know the torrent by (v1, truncated v2, aria2c's), answers a handshake
// for the truncated v2 hash with that hash and the v2 bit (and a v2 peer's v1 one with it too), and answers BEP 52 hash requests from
// the piece layer (hashes equal to the torrent's piece layer) or with hash reject.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { LeanEngine } from '../../bt_server/lean/engine.ts'
import { aria2LegacyInfoHash } from '../../src/bittorrent/legacyInfoHash.ts'
import { MerkleHasher } from '../../src/bittorrent/merkle.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { buildV2Torrent } from '../../src/bittorrent/metainfoV2.ts'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { buildHandshake } from '../../src/bittorrent/wire/handshake.ts'
import { type HashRequest, hashRequestMessage } from '../../src/bittorrent/wire/hashes.ts'
import { MessageParser, type ParsedItem } from '../../src/bittorrent/wire/parser.ts'

const sha256 = (a: Buffer, b: Buffer) => createHash('sha256').update(a).update(b).digest()
const PIECE = 32 * 1024 // piece layer = layer 1 (two 16 KiB blocks per piece)

async function hybrid(t: TestContext, trackerUrl: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-lean-v2-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const data = randomBytes(37 * PIECE + 999)
  const file = path.join(dir, 'clip.mp4')
  await writeFile(file, data)
  const m = new MerkleHasher(PIECE)
  const p = new PieceHasher(PIECE)
  m.update(data)
  p.update(data)
  const merkle = m.digest()
  const built = buildV2Torrent({
    name: 'clip.mp4',
    format: 'hybrid',
    merkle,
    pieces: p.digest().pieces,
    trackers: [trackerUrl],
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
  })
  await writeFile(`${file}.torrent`, built.buffer)
  return { file, built, merkle }
}

/** An HTTP tracker that records the info_hash of each announce (raw bytes, as hex); `peerFor` answers with a peer. */
async function recordingTracker(t: TestContext, peerFor?: { hash: () => string; port: () => number }) {
  const hashes: string[] = []
  const srv = http.createServer((req, res) => {
    const raw = /[?&]info_hash=([^&]*)/.exec(req.url ?? '')?.[1] ?? ''
    const bytes: number[] = []
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === '%') {
        bytes.push(Number.parseInt(raw.slice(i + 1, i + 3), 16))
        i += 2
      } else bytes.push(raw.charCodeAt(i))
    }
    const hash = Buffer.from(bytes).toString('hex')
    hashes.push(hash)
    const port = peerFor && hash === peerFor.hash() ? peerFor.port() : 0
    const peers = port ? Buffer.from([127, 0, 0, 1, port >> 8, port & 0xff]) : Buffer.alloc(0)
    res.end(Buffer.concat([Buffer.from(`d8:intervali300e5:peers${peers.length}:`), peers, Buffer.from('e')]))
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  t.after(() => {
    srv.closeAllConnections()
    srv.close()
  })
  return { url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/announce`, hashes }
}

/** A raw peer: sends `out`, collects parsed messages. */
async function rawPeer(t: TestContext, port: number) {
  const socket = net.connect(port, '127.0.0.1')
  t.after(() => socket.destroy())
  await new Promise((r) => socket.once('connect', r))
  const parser = new MessageParser({ handshake: true })
  const items: ParsedItem[] = []
  socket.on('data', (d: Buffer) => {
    // Copied: parsed views die with the chunk.
    for (const m of parser.feed(Buffer.from(d))) items.push(structuredClone(m))
  })
  return { socket, items }
}

const until = async (what: string, probe: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('lean engine, hybrid: announced under each of its hashes; a v2 handshake answered in kind; hash requests answered from the piece layer', async (t) => {
  const tracker = await recordingTracker(t)
  const { file, built, merkle } = await hybrid(t, tracker.url)
  const e = new LeanEngine({ port: 0, utp: false, log: () => {} })
  t.after(() => e.destroy())
  const port = await e.listening()
  await e.add(built.infoHash, built.buffer, file)

  const truncated = built.infoHashV2.slice(0, 40)
  const legacy = aria2LegacyInfoHash(decodeTorrent(built.buffer).infoBytes)
  assert.ok(legacy)
  await until('announces under three hashes', () => new Set(tracker.hashes).size >= 3)
  assert.deepEqual(new Set(tracker.hashes), new Set([built.infoHash, truncated, legacy]))

  const peer = await rawPeer(t, port)
  const peerId = Buffer.from('-XX0001-abcdefghijkl')
  peer.socket.write(
    buildHandshake({ infoHash: Buffer.from(truncated, 'hex'), peerId, extended: true, fast: true, v2: true }),
  )
  await until('the handshake', () => peer.items.length >= 1)
  const hs = peer.items[0] as ParsedItem & { type: 'handshake'; infoHash: Uint8Array; v2: boolean }
  assert.equal(hs.type, 'handshake')
  assert.equal(Buffer.from(hs.infoHash).toString('hex'), truncated, 'answered with the hash the peer used')
  assert.equal(hs.v2, true)

  const root = merkle.piecesRoot!
  const pieces = 38
  const ask = (r: Partial<HashRequest>) =>
    peer.socket.write(
      hashRequestMessage({ piecesRoot: root, baseLayer: 1, index: 0, length: 64, proofLayers: 0, ...r }),
    )
  ask({}) // the whole piece layer (38 hashes padded to 64)
  ask({ piecesRoot: randomBytes(32) }) // no such file
  ask({ baseLayer: 0, length: 2 }) // the block layer: not kept
  ask({ length: 1024 }) // too many
  ask({ index: 32, length: 32, proofLayers: 5 }) // the second half, proved: its uncle is the first half's root
  const answers = () => peer.items.filter((m) => m.type === 'hashes' || m.type === 'hash-reject')
  await until('five answers', () => answers().length >= 5)
  const [whole, unknown, blocks, tooMany, half] = answers() as (ParsedItem & { hashes?: Uint8Array })[]
  assert.equal(whole!.type, 'hashes')
  assert.deepEqual(
    Buffer.from(whole!.hashes!).subarray(0, pieces * 32),
    merkle.pieceLayer,
    'the piece layer as the torrent has it',
  )
  assert.equal(whole!.hashes!.length, 64 * 32, 'padded to a power of two, no uncles (proof layers 0)')
  assert.deepEqual([unknown!.type, blocks!.type, tooMany!.type], ['hash-reject', 'hash-reject', 'hash-reject'])
  assert.equal(half!.type, 'hashes')
  assert.equal(half!.hashes!.length, 33 * 32, '32 hashes and one uncle')
  let layer = Array.from({ length: 32 }, (_, i) => merkle.pieceLayer!.subarray(i * 32, i * 32 + 32))
  while (layer.length > 1)
    layer = Array.from({ length: layer.length / 2 }, (_, i) => sha256(layer[2 * i]!, layer[2 * i + 1]!))
  assert.deepEqual(Buffer.from(half!.hashes!).subarray(32 * 32), layer[0], "the first half's root")
})

// libtorrent 2 dials a hybrid with the v1 hash when its v1 announce names us first, then checks our
// answer against its entry for us, which the reply to its v2 announce turns v2 meanwhile: a v1
// answer was "invalid info-hash" (qBittorrent's stalls). A v2 peer is answered with the v2 hash.
test('lean engine, hybrid: a v2 peer naming the v1 hash is answered with the truncated v2 one; a v1 peer with what it named', async (t) => {
  const tracker = await recordingTracker(t)
  const { file, built } = await hybrid(t, tracker.url)
  const e = new LeanEngine({ port: 0, utp: false, log: () => {} })
  t.after(() => e.destroy())
  const port = await e.listening()
  await e.add(built.infoHash, built.buffer, file)
  const truncated = built.infoHashV2.slice(0, 40)
  const legacy = aria2LegacyInfoHash(decodeTorrent(built.buffer).infoBytes)!
  const answer = async (named: string, v2: boolean, n: number) => {
    const peer = await rawPeer(t, port)
    const peerId = Buffer.from(`-XX0001-abcdefghijk${n}`)
    peer.socket.write(buildHandshake({ infoHash: Buffer.from(named, 'hex'), peerId, extended: true, fast: true, v2 }))
    await until('the handshake', () => peer.items.length >= 1)
    const hs = peer.items[0] as ParsedItem & { type: 'handshake'; infoHash: Uint8Array }
    assert.equal(hs.type, 'handshake')
    return Buffer.from(hs.infoHash).toString('hex')
  }
  assert.equal(await answer(built.infoHash, true, 1), truncated, 'v1 hash, v2 bit: upgraded')
  assert.equal(await answer(built.infoHash, false, 2), built.infoHash, 'a v1 client keeps the v1 hash')
  assert.equal(await answer(truncated, true, 3), truncated)
  assert.equal(await answer(legacy, false, 4), legacy, "aria2c's hash as it named it")
})

test('lean engine, hybrid: a peer the tracker lists under the truncated v2 hash is dialled with that hash and the v2 bit', async (t) => {
  // The "peer": a listener that records the handshake it is sent.
  let got: Buffer | null = null
  const listener = net.createServer((socket) => {
    let buf = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (buf.length >= 68 && !got) got = buf.subarray(0, 68)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
  t.after(() => listener.close())
  let truncated = ''
  const tracker = await recordingTracker(t, {
    hash: () => truncated,
    port: () => (listener.address() as net.AddressInfo).port,
  })
  const { file, built } = await hybrid(t, tracker.url)
  truncated = built.infoHashV2.slice(0, 40)
  const e = new LeanEngine({ port: 0, utp: false, log: () => {} })
  t.after(() => e.destroy())
  await e.listening()
  await e.add(built.infoHash, built.buffer, file)
  await until('the dialled handshake', () => got !== null)
  const hs = got as unknown as Buffer
  assert.equal(hs.subarray(28, 48).toString('hex'), truncated, 'dialled with the hash the tracker knows it by')
  assert.equal(hs[27]! & 0x10, 0x10, 'the v2 bit')
})
