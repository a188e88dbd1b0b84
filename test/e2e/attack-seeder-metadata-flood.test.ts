// Issue 8, seeder memory: a peer that sent 20,000 ut_metadata requests and never read took the
// seeder from 152 MB to 851 MB, not given back after it left (the write bound covered blocks
// only). Now every reply counts against the peer's send bound and the seeder stops reading from
// a peer whose output is over it. Here, against a real supervised seeder: the attacker does the
// BEP 10 handshake, sends 20,000 ut_metadata requests and never reads; the seeder's RSS stays
// within +64 MB of before, /metrics counts the refusals, and once the attacker has gone aria2c
// downloads from the seeder alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor } from '../helpers/http.ts'
import { aria2cFromSeeder, health, sleep, torrentWithoutWebSeed, seedingSite } from '../helpers/seededSite.ts'
import { extended, handshaken, refused, rssMb, rssPeak } from '../helpers/seederAttack.ts'

const REQUESTS = 20_000
const RSS_SLACK_MB = 64

test('ut_metadata flood from a peer that never reads: seeder RSS bounded, refusals counted, aria2c served after', {
  timeout: 120_000,
}, async (t) => {
  const { server, upload } = await seedingSite(t)
  const torrent = await torrentWithoutWebSeed(upload)
  const infoHash = upload.video.torrent!.infoHash
  const pid = (await health(server)).pid!

  // A download first, so that "before" includes what serving costs anyway (piece cache, pools).
  const warm = await aria2cFromSeeder(t, server, upload, torrent)
  await sleep(500)
  const before = await rssMb(pid)
  const refusedBefore = await refused(server, 'seeder_send_queue_full')

  const peak = rssPeak(pid)
  const attacker = await handshaken(server.seederPort, infoHash, { extended: true })
  assert.ok(attacker, "the seeder answers the attacker's handshake")
  const { socket } = attacker
  t.after(() => socket.destroy())
  // It reads the seeder's first messages (the handshake came with them) and then never again.
  socket.pause()
  // ut_metadata is id 1 in the seeder's `m`; ours is 3 (where it must send the replies).
  const requests: Buffer[] = [extended(0, 'd1:md11:ut_metadatai3eee')]
  const ask = extended(1, 'd8:msg_typei0e5:piecei0ee')
  for (let i = 0; i < REQUESTS; i++) requests.push(ask)
  socket.write(Buffer.concat(requests))
  // The seeder keeps the attacker a while (it drops it once its output has been stuck for
  // SEEDER_SEND_STALL_SECONDS): its memory must stay flat meanwhile.
  await sleep(6000)
  const during = await rssMb(pid)
  socket.destroy()
  await sleep(1500)
  const after = await rssMb(pid)
  const highest = Math.max(await peak.stop(), during, after)
  t.diagnostic(
    `seeder RSS: ${before.toFixed(1)} MB before, ${highest.toFixed(1)} MB at most during the flood, ${after.toFixed(1)} MB after; warm download ${warm} ms`,
  )
  assert.ok(
    highest <= before + RSS_SLACK_MB,
    `RSS ${highest.toFixed(1)} MB during the flood, more than ${before.toFixed(1)} + ${RSS_SLACK_MB} MB`,
  )
  assert.ok(
    after <= before + RSS_SLACK_MB,
    `RSS ${after.toFixed(1)} MB after the flood, more than ${before.toFixed(1)} + ${RSS_SLACK_MB} MB`,
  )
  // The counter reaches /metrics with the seeder's status report (every 5 s).
  await waitFor(
    async () => (await refused(server, 'seeder_send_queue_full')) > refusedBefore,
    'seeder_send_queue_full to be counted in /metrics',
    10_000,
  )

  const took = await aria2cFromSeeder(t, server, upload, torrent)
  t.diagnostic(`aria2c after the flood: ${took} ms`)
  assert.equal((await health(server)).pid, pid, 'the same seeder process served it (no crash, no restart)')
})
