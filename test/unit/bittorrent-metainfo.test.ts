import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import bencode from 'bencode'
import { buildTorrent, decodeTorrent, stripWebSeeds, type TorrentSpec } from '../../src/bittorrent/metainfo.ts'
import { TorrentError } from '../../src/bittorrent/errors.ts'

const PL = 16 * 1024

function spec(over: Partial<TorrentSpec> = {}): TorrentSpec {
  const length = over.length ?? 5 * PL + 17
  return {
    name: 'clip.mp4',
    length,
    pieceLength: PL,
    pieces: randomBytes(20 * Math.ceil(length / (over.pieceLength ?? PL))),
    trackers: ['http://tracker.local/announce', 'wss://tracker.local/ws'],
    webSeeds: ['https://seedcast.local/media/clip.mp4'],
    comment: 'a comment',
    createdBy: 'Seedcast test',
    creationDate: 1_700_000_000,
    ...over,
  }
}

const asText = (v: unknown): string => Buffer.from(v as Uint8Array).toString('utf8')
const isCode =
  (code: string) =>
  (err: unknown): boolean =>
    err instanceof TorrentError && err.code === code

test('builds the exact BEP 3/12/19 layout', () => {
  const s = spec()
  const t = buildTorrent(s)
  const top = bencode.decode(t.buffer) as Record<string, any>
  assert.deepEqual(Object.keys(top).sort(), [
    'announce',
    'announce-list',
    'comment',
    'created by',
    'creation date',
    'info',
    'url-list',
  ])
  assert.equal(asText(top.announce), s.trackers[0])
  assert.deepEqual(
    top['announce-list'].map((tier: unknown[]) => tier.map(asText)),
    s.trackers.map((u) => [u]),
  )
  assert.deepEqual(top['url-list'].map(asText), s.webSeeds)
  assert.equal(asText(top.comment), 'a comment')
  assert.equal(asText(top['created by']), 'Seedcast test')
  assert.equal(top['creation date'], 1_700_000_000)
  assert.deepEqual(Object.keys(top.info), ['length', 'name', 'piece length', 'pieces'])
  assert.equal(top.info.length, s.length)
  assert.equal(asText(top.info.name), 'clip.mp4')
  assert.equal(top.info['piece length'], PL)
  assert.deepEqual(Buffer.from(top.info.pieces), s.pieces)
  // infohash = SHA-1 of the bencoded info dict
  const expected = createHash('sha1').update(bencode.encode(top.info)).digest()
  assert.deepEqual(t.infoHashBuffer, expected)
  assert.equal(t.infoHash, expected.toString('hex'))
  assert.match(t.infoHash, /^[0-9a-f]{40}$/)
  assert.equal(t.pieceCount, 6)
})

test('decodeTorrent round-trips what buildTorrent wrote', () => {
  const s = spec({ name: 'Vidéo 日本語 ✓.webm' })
  const t = buildTorrent(s)
  assert.deepEqual(decodeTorrent(t.buffer), {
    format: 'v1',
    infoHash: t.infoHash,
    infoHashV2: null,
    name: s.name,
    length: s.length,
    pieceLength: PL,
    pieceCount: 6,
    pieces: s.pieces,
    infoBytes: Buffer.from(bencode.encode((bencode.decode(t.buffer) as { info: unknown }).info)),
    multiFile: false,
    files: [{ path: [s.name], length: s.length, offset: 0, pad: false, piecesRoot: null }],
    pieceSpace: s.length,
    pieceLayers: new Map(),
    trackers: s.trackers,
    webSeeds: s.webSeeds,
    private: false,
    comment: 'a comment',
  })
})

test('optional fields are omitted', () => {
  const t = buildTorrent(spec({ trackers: [], webSeeds: [], comment: undefined }))
  const top = bencode.decode(t.buffer) as Record<string, unknown>
  assert.deepEqual(Object.keys(top).sort(), ['created by', 'creation date', 'info'])
  const d = decodeTorrent(t.buffer)
  assert.deepEqual([d.trackers, d.webSeeds, d.comment], [[], [], undefined])
})

test('a single tracker still gets an announce-list', () => {
  const top = bencode.decode(buildTorrent(spec({ trackers: ['udp://t.local:6969'] })).buffer) as Record<string, any>
  assert.equal(asText(top.announce), 'udp://t.local:6969')
  assert.deepEqual(
    top['announce-list'].map((tier: unknown[]) => tier.map(asText)),
    [['udp://t.local:6969']],
  )
})

test('infohash ignores trackers, web seeds and metadata', () => {
  const s = spec()
  const a = buildTorrent(s)
  const b = buildTorrent({ ...s, trackers: [], webSeeds: [], comment: 'other', createdBy: 'x', creationDate: 1 })
  assert.equal(a.infoHash, b.infoHash)
  assert.notEqual(a.infoHash, buildTorrent({ ...s, name: 'other.mp4' }).infoHash)
})

test('invalid specs are rejected with bad_spec', () => {
  const bads: Partial<TorrentSpec>[] = [
    { name: '' },
    { name: 'a/b.mp4' },
    { name: 'a\\b.mp4' },
    { name: 'a\0b' },
    { name: '.' },
    { name: '..' },
    { name: 'x'.repeat(256) },
    { name: 'bad\uD800' },
    { length: 0 },
    { length: -5 },
    { length: 1.5 },
    { pieceLength: 8 * 1024 },
    { pieceLength: 24 * 1024 },
    { pieces: Buffer.alloc(20 * 5) },
    { pieces: Buffer.alloc(20 * 7) },
    { pieces: Buffer.alloc(119) },
    { trackers: ['not a url'] },
    { trackers: ['ftp://t.local/'] },
    { webSeeds: ['udp://x.local/'] },
    { creationDate: -1 },
    { creationDate: 1.5 },
  ]
  for (const over of bads) {
    const s = { ...spec(), ...over }
    assert.throws(() => buildTorrent(s), isCode('bad_spec'), JSON.stringify(over))
  }
  assert.doesNotThrow(() => buildTorrent(spec({ name: '..hidden .mp4' })))
})

test('stripWebSeeds removes url-list and keeps the infohash', () => {
  const t = buildTorrent(spec())
  const stripped = stripWebSeeds(t.buffer)
  const top = bencode.decode(stripped) as Record<string, unknown>
  assert.equal(top['url-list'], undefined)
  assert.deepEqual(Object.keys(top).sort(), [
    'announce',
    'announce-list',
    'comment',
    'created by',
    'creation date',
    'info',
  ])
  const d = decodeTorrent(stripped)
  assert.equal(d.infoHash, t.infoHash)
  assert.deepEqual(d.webSeeds, [])
  assert.deepEqual(d.trackers, spec().trackers)
  // Idempotent on a torrent without web seeds.
  assert.deepEqual(stripWebSeeds(stripped), stripped)
})

test('info bytes are hashed and kept exactly as stored, even if non-canonical', () => {
  // Keys out of order: re-encoding would sort them and change the hash.
  const pieces = randomBytes(20)
  const info = Buffer.concat([
    Buffer.from('d4:name5:a.mp46:lengthi10e12:piece lengthi16384e6:pieces20:'),
    pieces,
    Buffer.from('e'),
  ])
  const torrent = Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('8:url-listl14:http://x/a.mp4ee')])
  const d = decodeTorrent(torrent)
  assert.equal(d.infoHash, createHash('sha1').update(info).digest('hex'))
  assert.deepEqual(d.webSeeds, ['http://x/a.mp4'])
  const stripped = stripWebSeeds(torrent)
  assert.deepEqual(stripped, Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]))
  assert.equal(decodeTorrent(stripped).infoHash, d.infoHash)
})

test('decodeTorrent rejects malformed input with bad_torrent', () => {
  const good = buildTorrent(spec()).buffer
  const garbage: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from('hello'),
    randomBytes(300),
    Buffer.from('i42e'),
    Buffer.from('le'),
    Buffer.from('de'),
    Buffer.from('d4:infoi1ee'),
    Buffer.from('d4:infod4:name1:aee'),
    good.subarray(0, good.length - 1), // truncated
    Buffer.concat([good, Buffer.from('x')]), // trailing bytes
    Buffer.from('l'.repeat(100000)), // deep nesting
    Buffer.from('d4:infod6:lengthi10e4:name1:a12:piece lengthi16384e6:pieces40:' + 'x'.repeat(40) + 'ee'), // 2 hashes for 1 piece
    Buffer.from('d4:infod6:lengthi10e4:name1:a12:piece lengthi16384e6:pieces19:' + 'x'.repeat(19) + 'ee'),
    Buffer.from('d4:infod6:lengthi01e4:name1:a12:piece lengthi16384e6:pieces20:' + 'x'.repeat(20) + 'ee'), // leading zero
    Buffer.from('d4:infod6:lengthi10e4:name1:a12:piece lengthi16384e6:pieces20:' + 'x'.repeat(20) + 'e4:infoi1ee'), // duplicate key
  ]
  for (const buf of garbage) {
    assert.throws(() => decodeTorrent(buf), isCode('bad_torrent'), buf.subarray(0, 60).toString('latin1'))
    assert.throws(() => stripWebSeeds(buf), isCode('bad_torrent'))
  }
})
