// The SEEDER_* settings the web app is configured with reach the seeder it supervises, whatever
// environment started the web app (here: settings handed to it in code, as the tests and an
// embedding program do; before, the child read only the parent process's own environment).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import { waitFor } from '../helpers/http.ts'
import { seedingSite } from '../helpers/seededSite.ts'
import { handshaken, refused } from '../helpers/seederAttack.ts'

test('SEEDER_PEERS_PER_ADDRESS given to the web app is the supervised seeder’s bound', {
  timeout: 60_000,
}, async (t) => {
  assert.equal(process.env.SEEDER_PEERS_PER_ADDRESS, undefined, 'not in this process’s environment')
  const { server, upload } = await seedingSite(t, { SEEDER_PEERS_PER_ADDRESS: '2' })
  const sockets: net.Socket[] = []
  t.after(() => {
    for (const s of sockets) s.destroy()
  })
  const before = await refused(server, 'seeder_peers_per_address')
  const answered: boolean[] = []
  for (let i = 0; i < 3; i++) {
    const peer = await handshaken(server.seederPort, upload.video.torrent!.infoHash, { localAddress: '127.0.4.1' })
    if (peer) {
      peer.socket.on('data', () => {})
      sockets.push(peer.socket)
    }
    answered.push(peer !== null)
  }
  assert.deepEqual(answered, [true, true, false], 'two connections from one address, not three (the default is 16)')
  await waitFor(
    async () => (await refused(server, 'seeder_peers_per_address')) === before + 1,
    'the refusal counted in /metrics',
    10_000,
  )
})
