// The web port's several listening sockets (src/web/webListeners.ts): the kernel spreads new
// connections over them, and each hands its connections to the one HTTP server. Checked here with
// the real kernel: the port has WEB_LISTENERS sockets; 60 connections opened at once are all
// served and all counted by the connection guard, and 100 more from the same address meet its
// per-address cap (so none bypass it); a second site on the same port fails to start instead of
// silently sharing the connections; nothing stays listening after the stop.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { promisify } from 'node:util'
import { WEB_LISTENERS } from '../../src/web/webListeners.ts'
import { waitFor } from '../helpers/http.ts'
import { refused } from '../helpers/seederAttack.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { metrics } from '../helpers/wsTracker.ts'

const run = promisify(execFile)

/** Listening TCP sockets on `port` (iproute2's ss). */
async function listening(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Htln', `sport = :${port}`])
  return stdout.split('\n').filter((l) => l.trim()).length
}

const openGauge = async (server: TestServer) =>
  (await metrics(server)).get('seedcast_web_connections_open') ?? Number.NaN
const refusedPerAddress = (server: TestServer) => refused(server, 'web_connections_per_address')

test('the web port listens on several sockets; every connection is served and guarded; a second site on the port fails', async () => {
  const server = await startTestServer()
  let stopped = false
  try {
    assert.equal(await listening(server.port), WEB_LISTENERS, `${WEB_LISTENERS} listening sockets on the web port`)

    // 60 kept-alive connections at once (under WEB_MAX_CONNECTIONS_PER_ADDRESS, 64), each asking
    // for /healthz: the kernel spreads them over the sockets, so most arrive through extra ones.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 60 })
    const ask = () =>
      new Promise<number>((resolve, reject) => {
        http
          .get(`${server.url}/healthz`, { agent }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          .on('error', reject)
      })
    const statuses = await Promise.all(Array.from({ length: 60 }, ask))
    assert.deepEqual(new Set(statuses), new Set([200]), 'every connection was answered')
    const kept = Object.values(agent.freeSockets).flat().length
    assert.equal(kept, 60, 'the agent keeps its 60 connections open')
    // The guard holds every one of them (the gauge's own request is one more connection).
    assert.equal(await openGauge(server), 61, 'the guard counts all 60 connections and the gauge request')
    agent.destroy()
    await waitFor(async () => (await openGauge(server)) === 1, 'the 60 connections to close')

    // 100 more at once from the same address: the per-address cap holds whichever socket took them.
    const refusedBefore = await refusedPerAddress(server)
    const held: net.Socket[] = []
    try {
      for (let i = 0; i < 100; i++) {
        const s = net.connect(server.port, '127.0.0.1')
        s.on('error', () => {})
        held.push(s)
      }
      await waitFor(
        async () => (await refusedPerAddress(server)) - refusedBefore >= 36,
        'the connections past the cap refused',
      )
      assert.ok((await openGauge(server)) <= 64, 'at most 64 connections held for one address')
    } finally {
      for (const s of held) s.destroy()
    }

    await assert.rejects(startTestServer({ PORT: String(server.port) }), /EADDRINUSE/, 'a second site on the port')
    assert.equal(await listening(server.port), WEB_LISTENERS, 'the running site keeps all its sockets')
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'and keeps answering')

    await server.stop()
    stopped = true
    assert.equal(await listening(server.port), 0, 'nothing listens after the stop')
  } finally {
    if (!stopped) await server.stop()
  }
})
