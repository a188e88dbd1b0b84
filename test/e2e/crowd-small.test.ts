// A small flash crowd on a private network of namespaces this test makes and removes (the same
// code as `npm run bench:crowd`, bench/lib/netns.ts and bench/lib/crowd.ts): the site in its own
// namespace with its upload capped by tc, four clients (aria2c and libtorrent, two each) in theirs
// starting together on the site's .torrent as published (its tracker and web seed). Every one
// ends with the file byte for byte, the clients serve each other, and the origin sends less than
// 1.5 × the file (plain HTTP would send it four times): the web seed yields to the crowd and the
// seeder sends each piece about once (README, Offload: "How the origin holds back").
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { publish, runCrowd, startOrigin, type ClientKind } from '../../bench/lib/crowd.ts'
import { MB, MiB } from '../../bench/lib/format.ts'
import { mp4Header, writeMedia } from '../../bench/lib/media.ts'
import { createLab, listNamespaces, netnsUnavailable, type Lab } from '../../bench/lib/netns.ts'
import { stopSeedcast, type Seedcast } from '../../bench/lib/seedcast.ts'

const SIZE = 8 * MiB
// Before the offload policy (the web seed yielding, the seeder's piece ledger) the origin sent
// 2.7 × an 8 MiB file through 2 MB/s; with it, this crowd costs it 1.03-1.29 × the file (headers
// included; the seeder's payload is 1.00 ×). The issue asks for < 2 ×; 1.5 × still tells the policy broke.
const CAP = 2 * MB // bytes per second: one copy of the file takes about 4.2 s through it
const KINDS: ClientKind[] = ['aria2c', 'libtorrent', 'aria2c', 'libtorrent']

test('a crowd of 4 (aria2c + libtorrent) gets the file byte for byte, the origin sending < 1.5 × the file', {
  skip: netnsUnavailable() ?? false,
  timeout: 90_000,
}, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-crowd-'))
  let lab: Lab | undefined
  let site: Seedcast | undefined
  t.after(async () => {
    if (site) await stopSeedcast(site)
    await lab?.destroy()
    await rm(dir, { recursive: true, force: true })
  })
  lab = await createLab(KINDS.length)
  site = await startOrigin(lab, path.join(dir, 'storage'), CAP)
  const file = path.join(dir, 'crowd.mp4')
  await writeMedia(file, await mp4Header(), SIZE)
  const video = await publish(site, file, 1, dir)

  const r = await runCrowd(lab, KINDS, video, path.join(dir, 'downloads'), 45_000)
  const peerBytes = r.clients.reduce((sum, c) => sum + c.tx, 0)
  const summary = `origin ${(r.originBytes / SIZE).toFixed(2)} × the file, all done in ${(r.allMs / 1000).toFixed(1)} s, peers sent ${(peerBytes / MiB).toFixed(1)} MiB`
  t.diagnostic(summary)
  t.diagnostic(JSON.stringify(r.clients))
  // How the origin held back: web seed 503s and seeder REJECTs (the offload policy).
  const metrics = await (await fetch(`${site.url}/metrics`)).text()
  const policy = metrics.split('\n').filter((l) => /web_seed_yielded|seeder_piece_held_back/.test(l))
  t.diagnostic(policy.join('; '))
  assert.ok(r.originBytes < 1.5 * SIZE, `${summary}; ${policy.join('; ')}`)
  assert.ok(r.originBytes >= SIZE * 0.9, `the origin's counter missed what it sent: ${summary}`)
  // Clients of both kinds sent pieces to others: they found each other through the tracker. Some
  // pieces, not a share: since the seeder dials leechers at once (and unchokes optimistically),
  // the faster aria2c clients take most of the exchange (libtorrent sent 0.57–0.99 MB of 8.5).
  for (const kind of new Set(KINDS))
    assert.ok(
      r.clients.some((c) => c.kind === kind && c.tx > SIZE / 32),
      `no ${kind} served its peers: ${JSON.stringify(r.clients)}`,
    )

  await stopSeedcast(site)
  await lab.destroy()
  const left = (await listNamespaces()).filter((ns) => lab.namespaces.includes(ns))
  assert.deepEqual(left, [], 'namespaces left after destroy()')
})
