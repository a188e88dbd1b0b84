// libtorrent 2 (python3-libtorrent under /usr/bin/python3) on a hybrid torrent tracked by the
// site: a seeder loading the .torrent announces under both infohashes and is one peer in the
// counts; a client that knows only the v2 infohash (a btmh-only magnet, no web seed, no DHT) finds
// that seeder through the tracker alone, downloads, and is counted once.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { announceQuery, waitFor, type VideoJson } from '../helpers/http.ts'
import {
  announceTo,
  peerPorts as ports,
  scrapeFiles,
  scrapeOf,
  startHybridSite,
  storedCompleted,
  swarmOf,
  type HybridSite,
} from '../helpers/hybridTorrent.ts'
import { libtorrentSkip, PYTHON } from '../helpers/libtorrent.ts'

const skip = libtorrentSkip

// One libtorrent session on loopback, trackers its only source of peers (no DHT, LSD, UPnP).
// `seed TORRENT SAVE`: loads the .torrent over data in SAVE; `fetch MAGNET SAVE`: starts from a
// magnet. Prints a JSON line when it has replies from the tracker for every infohash it has (and,
// fetching, when it is done and has announced so), then keeps its session until stdin closes.
const SCRIPT = `
import json, sys, time, libtorrent as lt
mode, src, save = sys.argv[1], sys.argv[2], sys.argv[3]
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
                  'enable_upnp': False, 'enable_natpmp': False, 'allow_multiple_connections_per_ip': True,
                  'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
                                | lt.alert.category_t.tracker_notification})
if mode == 'seed':
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(src)
else:
    p = lt.parse_magnet_uri(src)
p.save_path = save
h = ses.add_torrent(p)
replies, errors, finished_sent = set(), [], False
def version(a):
    return 'v2' if a.version == lt.protocol_version.V2 else 'v1'
def wanted():
    ih = h.status().info_hashes
    return {v for v, has in (('v1', ih.has_v1()), ('v2', ih.has_v2())) if has}
deadline = time.time() + 120
while time.time() < deadline:
    ses.wait_for_alert(250)
    for a in ses.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert):
            replies.add(version(a))
            if mode == 'fetch' and h.status().is_seeding:
                finished_sent = True
        elif isinstance(a, lt.tracker_error_alert):
            errors.append([version(a), a.error_message(), a.failure_reason()])
    s = h.status()
    if errors or (wanted() <= replies and (mode == 'seed' or finished_sent)):
        break
s = h.status()
print(json.dumps({'port': ses.listen_port(), 'replies': sorted(replies), 'wanted': sorted(wanted()),
                  'errors': errors, 'seeding': s.is_seeding, 'peers': s.num_peers}), flush=True)
sys.stdin.read()
`

interface LtReport {
  port: number
  replies: string[]
  wanted: string[]
  errors: [string, string, string][]
  seeding: boolean
  peers: number
}

// A running client: its first report, and stop() to end its session.
async function libtorrent(
  mode: 'seed' | 'fetch',
  source: string,
  save: string,
): Promise<{ report: LtReport; stop: () => Promise<void> }> {
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, ['-c', SCRIPT, mode, source, save])
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    child.stdin.end()
    const timer = setTimeout(() => child.kill(), 10_000)
    await exited
    clearTimeout(timer)
  }
  const line = await new Promise<string | null>((resolve) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    void exited.then(() => resolve(null))
  })
  if (line === null) throw new Error(`libtorrent ${mode} exited: ${stderr}`)
  return { report: JSON.parse(line) as LtReport, stop }
}

let site: HybridSite
let work = ''
before(async () => {
  if (skip) return
  site = await startHybridSite(['Hybrid, libtorrent'])
  work = await mkdtemp(path.join(tmpdir(), 'seedcast-hybrid-lt-'))
})
after(async () => {
  await site?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

const swarm = (video: VideoJson) => swarmOf(site.server, video)

test('a libtorrent seeder announcing both hashes is one peer; a v2-only client finds it by the tracker', {
  skip,
}, async () => {
  const { server } = site
  const ltVideo = site.videos[0]!
  const ltHybrid = site.hybrids[0]!
  const announce = (q: string) => announceTo(server, q)
  const seedDir = path.join(work, 'seed')
  await mkdir(seedDir)
  await copyFile(ltHybrid.filePath, path.join(seedDir, path.basename(ltHybrid.filePath)))
  const seed = await libtorrent('seed', ltHybrid.torrentPath, seedDir)
  let fetcher: Awaited<ReturnType<typeof libtorrent>> | undefined
  try {
    // Both infohashes announced and answered (the v2 one is no unregistered torrent).
    assert.deepEqual(seed.report.errors, [])
    assert.deepEqual(seed.report.replies, ['v1', 'v2'])
    assert.equal(seed.report.seeding, true)
    assert.deepEqual(await swarm(ltVideo), { seeders: 1, leechers: 0 }, 'one seeder, not two')

    // A raw v2-only announce is handed the libtorrent seeder...
    const probe = await announce(
      announceQuery(ltHybrid.truncatedV2, { peerId: '-PR0001-v2-probe-000', port: 52099, left: 1 }),
    )
    assert.deepEqual(ports(probe.body), [seed.report.port])
    // ...and is in the counts the site shows (Torrent.infoHash's): one swarm, not two side by side.
    assert.deepEqual(await swarm(ltVideo), { seeders: 1, leechers: 1 })
    await announce(
      announceQuery(ltHybrid.truncatedV2, { peerId: '-PR0001-v2-probe-000', port: 52099, left: 1, event: 'stopped' }),
    )

    // A client that knows only the v2 infohash (a btmh-only magnet, no web seed): the tracker's
    // v2 swarm is its only way to the seeder, and the download is counted once.
    const announceUrl = `${server.services.config.publicUrl}/announce`
    const magnet = `magnet:?xt=urn:btmh:1220${ltHybrid.infoHashV2}&tr=${encodeURIComponent(announceUrl)}`
    const fetchDir = path.join(work, 'fetch')
    await mkdir(fetchDir)
    fetcher = await libtorrent('fetch', magnet, fetchDir)
    assert.deepEqual(fetcher.report.errors, [])
    assert.equal(fetcher.report.seeding, true, JSON.stringify(fetcher.report))
    assert.ok(fetcher.report.replies.includes('v2'), JSON.stringify(fetcher.report))
    // It announced under v2 as a leecher, then (metadata in hand) under v1 too, already done, and
    // reported its completion under v2: one peer, one completion.
    assert.deepEqual(await swarm(ltVideo), { seeders: 2, leechers: 0 })
    const files = scrapeFiles((await scrapeOf(server, [ltHybrid.infoHash, ltHybrid.truncatedV2])).body)
    const counts = { complete: 2, incomplete: 0, downloaded: 1 }
    assert.deepEqual(files, { [ltHybrid.infoHash]: counts, [ltHybrid.truncatedV2]: counts })
    await waitFor(async () => (await storedCompleted(server, ltVideo)) === 1, 'the download stored')
  } finally {
    await fetcher?.stop()
    await seed.stop()
  }
})
