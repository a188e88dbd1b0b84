// Cross-checks our .torrent output against independent implementations:
// create-torrent (JS), mktorrent (C) and transmission-show (libtransmission).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bencode from 'bencode'
import createTorrent from 'create-torrent'
import parseTorrent from 'parse-torrent'
import { buildTorrent, type BuiltTorrent } from '../../src/bittorrent/metainfo.ts'
import { hashFileInWorkers as hashFile } from '../../src/bittorrent/hashInWorker.ts'
import { decode as magnetDecode } from 'magnet-uri'

const NAME = 'interop clip.mp4'
const PIECE_LENGTH = 32 * 1024
const LENGTH = 3 * 1024 * 1024 + 123
const TRACKERS = ['http://tracker.seedcast.test:8000/announce', 'udp://tracker2.seedcast.test:6969/announce']
const WEB_SEED = 'http://seedcast.test/media/interop%20clip.mp4'

let dir = ''
let file = ''
let ours: BuiltTorrent
let oursPath = ''

// Skip (with a reason) rather than fail when a Debian tool isn't installed.
const tool = (bin: string): string | false => (existsSync(`/usr/bin/${bin}`) ? false : `${bin} not installed`)

type Dict = Record<string, any>
const decode = (buf: Uint8Array): Dict => bencode.decode(buf) as Dict
const sha1hex = (buf: Uint8Array): string => createHash('sha1').update(buf).digest('hex')

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'seedcast-interop-'))
  file = join(dir, NAME)
  await writeFile(file, randomBytes(LENGTH))
  const h = await hashFile(file, PIECE_LENGTH)
  ours = buildTorrent({
    name: NAME,
    length: h.length,
    pieceLength: h.pieceLength,
    pieces: h.pieces,
    trackers: TRACKERS,
    webSeeds: [WEB_SEED],
    comment: 'interop',
    createdBy: 'Seedcast test',
    creationDate: 1_700_000_000,
  })
  oursPath = join(dir, 'ours.torrent')
  await writeFile(oursPath, ours.buffer)
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('create-torrent produces the same pieces and infohash', async () => {
  const theirs = await new Promise<Uint8Array>((resolve, reject) => {
    createTorrent(
      file,
      {
        pieceLength: PIECE_LENGTH,
        name: NAME,
        announceList: TRACKERS.map((t) => [t]),
        urlList: [WEB_SEED],
        private: false,
      },
      (err, torrent) => (err ? reject(err) : resolve(torrent)),
    )
  })
  const t = decode(theirs).info
  const o = decode(ours.buffer).info
  assert.equal(t.length, LENGTH)
  assert.deepEqual(Buffer.from(t.pieces), Buffer.from(o.pieces))
  // create-torrent writes private=0 when private:false; without it the info dicts must be identical.
  assert.equal(t.private, 0)
  delete t.private
  assert.equal(sha1hex(bencode.encode(t)), ours.infoHash)
})

test('mktorrent produces the same pieces and infohash', { skip: tool('mktorrent') }, async () => {
  const out = join(dir, 'mktorrent.torrent')
  execFileSync('mktorrent', ['-l', '15', '-a', TRACKERS[0]!, '-w', WEB_SEED, '-o', out, file], { stdio: 'pipe' })
  const theirs = decode(await readFile(out))
  assert.equal(theirs.info['piece length'], 2 ** 15)
  assert.deepEqual(Buffer.from(theirs.info.pieces), Buffer.from(decode(ours.buffer).info.pieces))
  assert.equal(sha1hex(bencode.encode(theirs.info)), ours.infoHash)
})

// transmission-show 3.00 prints "Key: value" lines under GENERAL, then
// TRACKERS ("Tier #n" + URL), WEBSEEDS and FILES sections.
function parseTransmissionShow(out: string): { general: Map<string, string>; sections: Map<string, string[]> } {
  const general = new Map<string, string>()
  const sections = new Map<string, string[]>()
  let section = ''
  for (const raw of out.split('\n')) {
    const line = raw.trim()
    if (line === '') continue
    if (/^[A-Z]+$/.test(line)) {
      section = line
      sections.set(section, [])
    } else if (section === 'GENERAL') {
      const i = line.indexOf(': ')
      if (i > 0) general.set(line.slice(0, i), line.slice(i + 2))
    } else if (section !== '') {
      sections.get(section)!.push(line)
    }
  }
  return { general, sections }
}

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }
function parseSize(s: string): { value: number; unit: number } {
  const m = /^([\d.]+) (\w+)$/.exec(s)
  assert.ok(m && UNITS[m[2]!] !== undefined, `unparseable size ${s}`)
  return { value: Number(m[1]) * UNITS[m[2]!]!, unit: UNITS[m[2]!]! }
}

test('transmission-show reads our torrent', { skip: tool('transmission-show') }, () => {
  const out = execFileSync('transmission-show', [oursPath], { encoding: 'utf8' })
  const { general, sections } = parseTransmissionShow(out)
  assert.equal(general.get('Name'), NAME)
  assert.equal(general.get('Hash'), ours.infoHash)
  assert.equal(general.get('Comment'), 'interop')
  assert.equal(general.get('Created by'), 'Seedcast test')
  assert.equal(Number(general.get('Piece Count')), Math.ceil(LENGTH / PIECE_LENGTH))
  assert.equal(parseSize(general.get('Piece Size')!).value, PIECE_LENGTH)
  // Total Size is rounded to 2 decimals of its unit (e.g. "3.15 MB").
  const total = parseSize(general.get('Total Size')!)
  assert.ok(
    Math.abs(total.value - LENGTH) <= total.unit * 0.005,
    `Total Size ${general.get('Total Size')} vs ${LENGTH}`,
  )
  assert.equal(general.get('Privacy'), 'Public torrent')
  // One tier per tracker, in order.
  assert.deepEqual(sections.get('TRACKERS'), ['Tier #1', TRACKERS[0], 'Tier #2', TRACKERS[1]])
  assert.deepEqual(sections.get('WEBSEEDS'), [WEB_SEED])
  assert.equal(sections.get('FILES')?.length, 1)
  assert.ok(sections.get('FILES')![0]!.startsWith(`${NAME} (`))
})

test('transmission-show -m magnet carries our infohash, trackers and web seed', {
  skip: tool('transmission-show'),
}, () => {
  const magnet = execFileSync('transmission-show', ['-m', oursPath], { encoding: 'utf8' }).trim()
  const m = magnetDecode(magnet)
  assert.equal(m.infoHash, ours.infoHash)
  assert.equal(m.name, NAME)
  assert.deepEqual(m.announce, TRACKERS)
  assert.deepEqual(m.urlList, [WEB_SEED])
})

test('parse-torrent reads our torrent', async () => {
  const p = await parseTorrent(ours.buffer)
  assert.equal(p.infoHash, ours.infoHash)
  assert.equal(p.name, NAME)
  assert.equal(p.length, LENGTH)
  assert.equal(p.pieceLength, PIECE_LENGTH)
  assert.equal(p.pieces?.length, Math.ceil(LENGTH / PIECE_LENGTH))
  assert.deepEqual(p.announce, TRACKERS)
  assert.deepEqual(p.urlList, [WEB_SEED])
})
