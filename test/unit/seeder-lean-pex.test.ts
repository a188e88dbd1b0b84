// Peer exchange (BEP 11) in the lean seeder. The round (bt_server/lean/swarmPex.ts) with time
// passed in: who is told what, once a minute, within 50 added and 50 dropped; what a peer sends
// read at most every 30 s, seeds left out. Then the engine on real sockets with raw wire peers:
// two peers that offer ut_pex are each told of the other; the peers one of them names are dialled
// (not the seed among them, not a second message within the gap); a private torrent offers no ut_pex.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { LeanEngine } from '../../bt_server/lean/engine.ts'
import {
  type ListenAddress,
  type PexMember,
  pexRound,
  PEX_READ_GAP_MS,
  readPex,
} from '../../bt_server/lean/swarmPex.ts'
import { buildTorrent } from '../../src/bittorrent/metainfo.ts'
import { hashFileInWorkers as hashFile } from '../../src/bittorrent/hashInWorker.ts'
import { parseExtendedHandshake } from '../../src/bittorrent/wire/extended.ts'
import { extendedMessage } from '../../src/bittorrent/wire/messages.ts'
import { MessageParser, type ParsedItem } from '../../src/bittorrent/wire/parser.ts'
import {
  buildPexMessage,
  parsePexMessage,
  PEX_INTERVAL_MS,
  PEX_REACHABLE,
  PEX_SEED,
  type PexMessage,
} from '../../src/bittorrent/wire/pex.ts'
import { connect, extended, handshakeBytes } from '../helpers/seederAttack.ts'

// ---- the round, pure ---------------------------------------------------------------------------

class Member implements PexMember {
  pex: PexMember['pex'] = null
  readonly got: PexMessage[] = []
  readonly listen: ListenAddress | null
  readonly pexId: number
  readonly reachable: boolean
  readonly utp = false
  ip = '10.0.0.1'
  constructor(port: number | null, pexId = 5, reachable = false) {
    this.listen = port === null ? null : { ip: '10.0.0.1', port, address: `10.0.0.1:${port}` }
    this.pexId = pexId
    this.reachable = reachable
  }
  sendExtended(id: number, payload: Buffer): void {
    assert.equal(id, this.pexId)
    this.got.push(parsePexMessage(payload))
  }
}
const ports = (m: PexMessage['added'] | PexMessage['dropped']) => m.map((p) => p.port).sort((a, b) => a - b)

test('pex round: each peer that speaks ut_pex is told of the others, then at most once a minute of who came and went', () => {
  const a = new Member(1)
  const b = new Member(2, 5, true)
  const quiet = new Member(3, 0) // no ut_pex: never told, but named to the others
  const unknown = new Member(null) // we do not know where it listens: told, never named
  const swarm = new Set<PexMember>([a, b, quiet, unknown])
  pexRound(swarm, 0)
  assert.deepEqual(ports(a.got[0]!.added), [2, 3])
  assert.equal(a.got[0]!.added.find((p) => p.port === 2)!.flags, PEX_REACHABLE, 'b was dialled by us: reachable')
  assert.deepEqual(ports(b.got[0]!.added), [1, 3])
  assert.deepEqual(ports(unknown.got[0]!.added), [1, 2, 3])
  assert.equal(quiet.got.length, 0)

  const c = new Member(4)
  swarm.add(c)
  swarm.delete(b)
  pexRound(swarm, 1000)
  assert.equal(a.got.length, 1, 'not again within the minute')
  assert.deepEqual(ports(c.got[0]!.added), [1, 3], 'a newcomer gets its first message at once')
  pexRound(swarm, PEX_INTERVAL_MS)
  assert.deepEqual(ports(a.got[1]!.added), [4])
  assert.deepEqual(ports(a.got[1]!.dropped), [2])
  pexRound(swarm, 3 * PEX_INTERVAL_MS)
  assert.equal(a.got.length, 2, 'nothing changed: nothing sent')
})

test('pex round: at most 50 added and 50 dropped per message; the rest follow a minute later', () => {
  const me = new Member(1)
  const others = Array.from({ length: 120 }, (_, i) => new Member(100 + i, 0))
  const swarm = new Set<PexMember>([me, ...others])
  pexRound(swarm, 0)
  pexRound(swarm, PEX_INTERVAL_MS)
  pexRound(swarm, 2 * PEX_INTERVAL_MS)
  assert.deepEqual(
    me.got.map((m) => m.added.length),
    [50, 50, 20],
  )
  for (const o of others) swarm.delete(o)
  pexRound(swarm, 3 * PEX_INTERVAL_MS)
  pexRound(swarm, 4 * PEX_INTERVAL_MS)
  pexRound(swarm, 5 * PEX_INTERVAL_MS)
  assert.deepEqual(
    me.got.slice(3).map((m) => m.dropped.length),
    [50, 50, 20],
  )
})

test("pex read: a peer's message at most every 30 s, seeds left out, malformed ones ignored", () => {
  const from = new Member(1)
  const msg = buildPexMessage({
    added: [
      { ip: '10.1.1.1', port: 7001, flags: 0 },
      { ip: '10.1.1.2', port: 7002, flags: PEX_SEED },
    ],
    dropped: [],
  })
  assert.deepEqual(readPex(from, msg, 0), [{ ip: '10.1.1.1', port: 7001 }])
  assert.equal(readPex(from, msg, PEX_READ_GAP_MS - 1), null, 'too soon')
  assert.equal(readPex(from, Buffer.from('li1ee'), PEX_READ_GAP_MS), null, 'not a dict: ignored')
  assert.equal(readPex(from, msg, 2 * PEX_READ_GAP_MS)?.length, 1)

  // A peer on the internet naming loopback, private or link-local peers: those are not dialled.
  const stranger = new Member(1)
  stranger.ip = '203.0.113.9'
  const inward = buildPexMessage({
    added: [
      '127.0.0.1',
      '10.2.3.4',
      '192.168.0.1',
      '172.20.0.1',
      '169.254.1.1',
      '::1',
      'fd00::1',
      'fe80::1',
      '198.51.100.7',
    ].map((ip) => ({ ip, port: 80, flags: 0 })),
    dropped: [],
  })
  assert.deepEqual(readPex(stranger, inward, 0), [{ ip: '198.51.100.7', port: 80 }])
  assert.equal(readPex(new Member(1), inward, 0)?.length, 9, 'a peer on the local network may name local peers')
})

// ---- the engine, raw wire peers ----------------------------------------------------------------

async function seeding(t: TestContext, opts: { private?: boolean } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-lean-pex-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const data = randomBytes(8 * 16384)
  const file = path.join(dir, 'clip.mp4')
  await writeFile(file, data)
  const { pieces } = await hashFile(file, 16384)
  const built = buildTorrent({
    name: 'clip.mp4',
    length: data.length,
    pieceLength: 16384,
    pieces,
    trackers: [],
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
    ...(opts.private ? { private: true } : {}),
  })
  await writeFile(`${file}.torrent`, built.buffer)
  const e = new LeanEngine({ port: 0, utp: false, log: () => {} })
  t.after(() => e.destroy())
  await e.listening()
  await e.add(built.infoHash, built.buffer, file)
  return { e, infoHash: built.infoHash, port: e.listenPort }
}

/** A raw peer from `localAddress` that says it listens on `listenPort` and takes ut_pex as id 7. */
async function pexPeer(t: TestContext, port: number, infoHash: string, localAddress: string, listenPort: number) {
  const socket = await connect(port, localAddress)
  t.after(() => socket.destroy())
  const parser = new MessageParser({ handshake: true })
  const items: ParsedItem[] = []
  socket.on('data', (d: Buffer) => {
    for (const m of parser.feed(d)) items.push(m.type === 'extended' ? { ...m, payload: Buffer.from(m.payload) } : m)
  })
  socket.write(handshakeBytes(infoHash, { extended: true }))
  socket.write(extended(0, `d1:md6:ut_pexi7ee1:pi${listenPort}ee`))
  const pex = () => items.flatMap((m) => (m.type === 'extended' && m.id === 7 ? [parsePexMessage(m.payload)] : []))
  const theirHandshake = () => {
    const h = items.find((m) => m.type === 'extended' && m.id === 0)
    return h && h.type === 'extended' ? parseExtendedHandshake(h.payload) : undefined
  }
  return { socket, pex, theirHandshake }
}

const until = async (what: string, probe: () => boolean, ms = 8000) => {
  const end = Date.now() + ms
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A listener on `host` that records the infohash of every handshake it gets. */
async function listener(t: TestContext, host: string) {
  const hashes: string[] = []
  const srv = net.createServer((s) => {
    s.on('error', () => {})
    s.once('data', (d: Buffer) => {
      if (d.length >= 48) hashes.push(d.subarray(28, 48).toString('hex'))
    })
  })
  await new Promise<void>((r) => srv.listen(0, host, r))
  t.after(() => srv.close())
  return { port: (srv.address() as net.AddressInfo).port, hashes }
}

test('lean engine: peers that speak ut_pex are told of each other; the peers they name are dialled, seeds not', async (t) => {
  const { port, infoHash } = await seeding(t)
  const a = await pexPeer(t, port, infoHash, '127.0.8.1', 40001)
  await until('the seeder to offer ut_pex', () => (a.theirHandshake()?.m.get('ut_pex') ?? 0) > 0)
  const b = await pexPeer(t, port, infoHash, '127.0.8.2', 40002)
  await until('both to get a ut_pex message', () => a.pex().length > 0 && b.pex().length > 0)
  assert.deepEqual(
    a.pex()[0]!.added.map((p) => `${p.ip}:${p.port}`),
    ['127.0.8.2:40002'],
    'a hears of b, where b listens (its extension handshake), in IPv4 form',
  )
  assert.deepEqual(
    b.pex()[0]!.added.map((p) => `${p.ip}:${p.port}`),
    ['127.0.8.1:40001'],
  )

  // a names a leecher and a seed: the seeder dials the leecher, for this torrent, and not the seed.
  const leecher = await listener(t, '127.0.8.3')
  const seed = await listener(t, '127.0.8.4')
  const body = buildPexMessage({
    added: [
      { ip: '127.0.8.3', port: leecher.port, flags: 0 },
      { ip: '127.0.8.4', port: seed.port, flags: PEX_SEED },
    ],
    dropped: [],
  })
  // To the id the seeder's extension handshake asked for.
  const theirs = b.theirHandshake()!.m.get('ut_pex')!
  b.socket.write(extendedMessage(theirs, body))
  await until('the seeder to dial the leecher b named', () => leecher.hashes.length > 0)
  assert.deepEqual(leecher.hashes, [infoHash])
  // A second message from b at once is ignored (one per 30 s): a new leecher it names is not dialled.
  const later = await listener(t, '127.0.8.5')
  b.socket.write(
    extendedMessage(theirs, buildPexMessage({ added: [{ ip: '127.0.8.5', port: later.port, flags: 0 }], dropped: [] })),
  )
  await new Promise((r) => setTimeout(r, 1500))
  assert.deepEqual(seed.hashes, [], 'a seed is not dialled')
  assert.deepEqual(later.hashes, [], 'a second message within the gap is not read')
})

test('lean engine: a private torrent (BEP 27) offers no ut_pex and tells nobody of anybody', async (t) => {
  const { port, infoHash } = await seeding(t, { private: true })
  const a = await pexPeer(t, port, infoHash, '127.0.9.1', 40001)
  const b = await pexPeer(t, port, infoHash, '127.0.9.2', 40002)
  await until('the extension handshakes', () => a.theirHandshake() !== undefined && b.theirHandshake() !== undefined)
  assert.equal(a.theirHandshake()!.m.has('ut_pex'), false)
  assert.equal(a.theirHandshake()!.m.get('ut_metadata'), 1)
  await new Promise((r) => setTimeout(r, 2500))
  assert.deepEqual([...a.pex(), ...b.pex()], [])
})
