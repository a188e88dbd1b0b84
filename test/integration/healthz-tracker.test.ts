// /healthz's tracker check can fail: it asks the UDP tracker whether its socket is still bound
// (before, the check was `tracker.enabled !== undefined`, always true).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { freePortUdp, startTestServer, type TestServer } from '../helpers/server.ts'
import { getJson } from '../helpers/http.ts'
import { connectPacket } from '../helpers/udpTracker.ts'

let server: TestServer
before(async () => {
  server = await startTestServer({ TRACKER_UDP_PORT: String(await freePortUdp()) })
})
after(async () => {
  await server?.stop()
})

/** A BEP 15 connect request answered: the socket /healthz vouches for is really serving. */
async function udpAnswers(port: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4')
  try {
    const answer = new Promise<boolean>((resolve) => {
      socket.once('message', (msg) => resolve(msg.length === 16 && msg.readUInt32BE(4) === 12345))
      setTimeout(() => resolve(false), 1000).unref()
    })
    socket.send(connectPacket(12345), port, '127.0.0.1')
    return await answer
  } finally {
    socket.close()
  }
}

test('/healthz passes while the UDP tracker serves, and names the tracker once its socket is closed', async () => {
  assert.ok(server.udpPort)
  assert.equal(await udpAnswers(server.udpPort), true)
  const ok = await getJson(`${server.url}/healthz`)
  assert.equal(ok.status, 200, JSON.stringify(ok.body))
  assert.equal(ok.body.ok, true)

  await server.services.udp!.close()
  assert.equal(await udpAnswers(server.udpPort), false, 'the tracker no longer answers over UDP')
  const down = await getJson(`${server.url}/healthz`)
  assert.equal(down.status, 503)
  assert.deepEqual(down.body.failing, ['tracker'])
  assert.equal(down.body.ok, false)
})
