// Rewriting a stored torrent's trackers, web seeds and comment: the info dict is copied byte for
// byte (same infohash), the result is canonical bencode, and independent readers agree with it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import parseTorrent from 'parse-torrent'
import { buildTorrent, decodeTorrent, retrackTorrent, spliceTopLevel } from '../../src/bittorrent/metainfo.ts'
import { TorrentError } from '../../src/bittorrent/errors.ts'
import { rebaseSiteUrl } from '../../src/admin/siteUrlRebase.ts'
import { bdecodeDict } from '../helpers/trackerReply.ts'
import { infoBytes } from '../helpers/torrentTrackers.ts'

const PL = 16 * 1024
const built = (over: { private?: boolean } = {}) =>
  buildTorrent({
    name: 'clip-abc.mp4',
    length: 3 * PL + 5,
    pieceLength: PL,
    pieces: randomBytes(20 * 4),
    trackers: ['http://old.example/announce'],
    webSeeds: ['http://old.example/media/clip-abc.mp4'],
    comment: 'http://old.example/videos/abc',
    createdBy: 'Seedcast test',
    creationDate: 1_700_000_000,
    ...over,
  })

test('new trackers, web seed and comment; the info dict and infohash stay exactly the same', async () => {
  for (const priv of [false, true]) {
    const t = built({ private: priv })
    const links = {
      trackers: ['udp://new.example:6969/announce', 'https://other.example/announce'],
      webSeeds: ['https://new.example/media/clip-abc.mp4'],
      comment: 'https://new.example/videos/abc',
    }
    const out = retrackTorrent(t.buffer, links)
    assert.deepEqual(infoBytes(out), infoBytes(t.buffer))
    const d = decodeTorrent(out)
    assert.equal(d.infoHash, t.infoHash)
    assert.equal(d.private, priv)
    assert.deepEqual(d.trackers, links.trackers)
    assert.deepEqual(d.webSeeds, links.webSeeds)
    assert.equal(d.comment, links.comment)
    // Canonical bencode (sorted keys, nothing trailing), as strict readers want it.
    const top = bdecodeDict(out)
    assert.equal(String(top.announce), links.trackers[0])
    assert.equal(String(top['created by']), 'Seedcast test')
    assert.equal(top['creation date'], 1_700_000_000)
    const parsed = (await parseTorrent(out)) as {
      infoHash: string
      announce: string[]
      urlList: string[]
      private?: boolean
    }
    assert.equal(parsed.infoHash, t.infoHash)
    assert.deepEqual(parsed.announce, links.trackers)
    assert.deepEqual(parsed.urlList, links.webSeeds)
  }
})

test('no web seeds drops url-list (and legacy httpseeds); rewriting twice is stable', () => {
  const t = built()
  const withLegacy = spliceTopLevel(t.buffer, { httpseeds: ['http://legacy.example/seed'] })
  const out = retrackTorrent(withLegacy, { trackers: ['http://a.example/announce'], webSeeds: [] })
  const top = bdecodeDict(out)
  assert.equal(top['url-list'], undefined)
  assert.equal(top.httpseeds, undefined)
  assert.equal(String(top.comment), 'http://old.example/videos/abc', 'comment kept when not given')
  assert.deepEqual(retrackTorrent(out, { trackers: ['http://a.example/announce'], webSeeds: [] }), out)
  assert.equal(decodeTorrent(out).infoHash, t.infoHash)
})

test('bad input is refused with a typed error', () => {
  const t = built()
  const isCode = (code: string) => (err: unknown) => err instanceof TorrentError && err.code === code
  assert.throws(
    () => retrackTorrent(Buffer.from('d4:spam4:eggse'), { trackers: ['http://a.example/a'], webSeeds: [] }),
    isCode('bad_torrent'),
  )
  assert.throws(() => retrackTorrent(t.buffer, { trackers: ['ftp://a.example/a'], webSeeds: [] }), isCode('bad_spec'))
  assert.throws(
    () => retrackTorrent(t.buffer, { trackers: ['http://a.example/a'], webSeeds: ['udp://a.example:1/'] }),
    isCode('bad_spec'),
  )
  assert.throws(() => spliceTopLevel(t.buffer, { info: {} }), isCode('bad_spec'))
})

test('transmission-show reads a rewritten torrent with the new trackers and the same hash', {
  skip: existsSync('/usr/bin/transmission-show') ? false : 'transmission-show not installed',
}, async () => {
  const t = built()
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-retrack-'))
  try {
    const file = path.join(dir, 'r.torrent')
    await writeFile(
      file,
      retrackTorrent(t.buffer, {
        trackers: ['http://new.example:8080/announce'],
        webSeeds: ['http://new.example:8080/media/clip-abc.mp4'],
      }),
    )
    const out = execFileSync('transmission-show', [file], { encoding: 'utf8' })
    assert.match(out, new RegExp(`Hash(?: v1)?: ${t.infoHash}`))
    assert.match(out, /http:\/\/new\.example:8080\/announce/)
    assert.doesNotMatch(out, /old\.example\/announce/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test("PUBLIC_URL moves the site's own HTTP, WebSocket and UDP tracker URLs and nothing else", () => {
  const from = 'http://127.0.0.1:3000'
  const to = 'https://video.example.org'
  assert.equal(rebaseSiteUrl('http://127.0.0.1:3000/announce', from, to), 'https://video.example.org/announce')
  assert.equal(rebaseSiteUrl('ws://127.0.0.1:3000/announce', from, to), 'wss://video.example.org/announce')
  assert.equal(rebaseSiteUrl('udp://127.0.0.1:6969/announce', from, to), 'udp://video.example.org:6969/announce')
  assert.equal(rebaseSiteUrl('http://127.0.0.1:3001/announce', from, to), 'http://127.0.0.1:3001/announce')
  assert.equal(rebaseSiteUrl('https://tracker.example/announce', from, to), 'https://tracker.example/announce')
  assert.equal(rebaseSiteUrl('udp://tracker.example:1337/announce', from, to), 'udp://tracker.example:1337/announce')
  // Under a path prefix, only URLs below it move.
  assert.equal(
    rebaseSiteUrl('http://old.example/site/announce', 'http://old.example/site', 'http://new.example'),
    'http://new.example/announce',
  )
  assert.equal(
    rebaseSiteUrl('http://old.example/sitex/announce', 'http://old.example/site', 'http://new.example'),
    'http://old.example/sitex/announce',
  )
})
