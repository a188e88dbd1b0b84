// src/tracker/wsTracker.ts reaches into bittorrent-tracker's private members (listed there, as in
// one version of the package). A different installed version may have moved any of them; this
// test fails until someone has re-read them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { BITTORRENT_TRACKER_VERSION } from '../../src/tracker/wsTracker.ts'

test('the installed bittorrent-tracker is the version wsTracker.ts was written for', async () => {
  const pkg = JSON.parse(
    await readFile(new URL('../../node_modules/bittorrent-tracker/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
  assert.equal(
    pkg.version,
    BITTORRENT_TRACKER_VERSION,
    `bittorrent-tracker is now ${pkg.version}: re-check every private member src/tracker/wsTracker.ts uses (its Internals interface: ` +
      "Server.Swarm, createSwarm, _onWebSocketRequest, a swarm's announce and peers.peek, and that scrapes never reach the package) " +
      'against the new server.js and lib/server/swarm.js, run the tracker tests, then set BITTORRENT_TRACKER_VERSION to it',
  )
})
