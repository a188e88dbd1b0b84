// A leecher that never dials (transmission-cli: it never dials a peer on loopback) gets data
// from the supervised seeder at once: the site's tracker tells the seeder of its `started`
// announce over IPC and the seeder dials it. The seeder's own announce interval is left long
// (an hour) and nothing is restarted, so only that push can explain the connection and the data.
// Transmission 3.00 decides which peers it is interested in every 10 s only (RECHOKE_PERIOD_MSEC
// in libtransmission/peer-mgr.c; a new peer waits for the next round), so its first data comes up
// to some 10 s after the seeder's connection, however fast that is: the connection is timed to
// the second, the data to the client's round.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { waitFor } from '../helpers/http.ts'
import { startTransmission } from '../helpers/transmission.ts'
import { torrentWithoutWebSeed, workDir, seedingSite } from '../helpers/seededSite.ts'

/** Whether a TCP connection to local port `port` is established (from /proc/net/tcp and tcp6). */
async function connectedTo(port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/)
      if (local?.endsWith(`:${hex}`) && state === '01') return true
    }
  }
  return false
}

/** Bytes of the download on disk (transmission writes `<name>.part` while it downloads). */
async function written(dir: string, name: string): Promise<number> {
  for (const f of [name, `${name}.part`]) {
    const s = await stat(path.join(dir, f)).catch(() => null)
    if (s) return s.blocks * 512
  }
  return 0
}

test('transmission-cli on loopback is dialled by the seeder within seconds of its first announce and gets data (no restart, hour-long interval)', {
  timeout: 120_000,
}, async (t) => {
  const { server, upload } = await seedingSite(t, {
    TRACKER_INTERVAL_SECONDS: '3600',
    TRACKER_MIN_INTERVAL_SECONDS: '3600',
  })
  const infoHash = upload.video.torrent!.infoHash
  const { tracker } = server.services
  // The seeder's `started` is in: its next announce is an hour away.
  await waitFor(async () => tracker.counts(infoHash).seeders >= 1, 'the tracker to list the seeder', 10_000)
  const torrent = await torrentWithoutWebSeed(upload)

  const peer = await startTransmission({ torrent, workDir: await workDir(t, 'seedcast-push-transmission-') })
  t.after(() => peer.stop())
  assert.equal(await connectedTo(peer.port), false)
  // Its first announce, seen in the tracker itself (no cache between).
  await waitFor(
    async () => peer.exited() || tracker.counts(infoHash).leechers >= 1,
    "transmission-cli's first announce",
    20_000,
  )
  assert.equal(peer.exited(), false, `transmission-cli quit:\n${peer.output()}`)
  const announcedAt = Date.now()
  await waitFor(() => connectedTo(peer.port), 'the seeder to connect to transmission-cli', 30_000)
  const dialledMs = Date.now() - announcedAt
  await waitFor(
    async () => peer.exited() || (await written(peer.downloadDir, upload.fileName)) > 0,
    'transmission-cli to get data',
    60_000,
  )
  const dataMs = Date.now() - announcedAt
  t.diagnostic(`after its first announce: connected by the seeder in ${dialledMs} ms, data in ${dataMs} ms`)
  assert.ok(dialledMs <= 3000, `the seeder connected ${dialledMs} ms after the announce (at most 3000)`)
  // One interest round of transmission (10 s), its write cache, and slack for a busy machine; without
  // the push the seeder would not dial it for an hour.
  assert.ok(dataMs <= 25_000, `data came ${dataMs} ms after the announce (at most 25000)`)
  await peer.waitForFile(upload.fileName, upload.original, 60_000)
})
