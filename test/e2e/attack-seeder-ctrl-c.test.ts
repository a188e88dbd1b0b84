// Issue 8: Ctrl-C on `npm start` crashed the seeder (`napi_get_buffer_info … failed` at
// UTP.unref, from LeanEngine.destroy). Here `npm start` runs with the seeder on and a torrent
// being seeded, a peer connected over TCP, then SIGINT goes to the whole process group (as a
// terminal's Ctrl-C does): both processes must exit cleanly within a few seconds, with no crash
// message in their output.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ADMIN_PASSWORD, freePort, freePortTcpUdp, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/http.ts'
import { health, peerHandshake, uploadClip } from '../helpers/seededSite.ts'
import { databaseEnv } from '../helpers/database.ts'

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
/** Any process left in the group (npm, its shell, the web app, the seeder)? */
const groupAlive = (pgid: number) => alive(-pgid)

for (const stopSignal of ['SIGINT', 'SIGTERM'] as const)
  test(`${stopSignal === 'SIGINT' ? 'Ctrl-C (SIGINT' : 'systemctl stop (SIGTERM'} to the process group) on npm start stops web app and seeder cleanly`, {
    timeout: 90_000,
  }, async (t) => {
    const storage = await mkdtemp(path.join(tmpdir(), 'seedcast-ctrl-c-'))
    t.after(() => rm(storage, { recursive: true, force: true }))
    const port = await freePort()
    // The seeder listens on TCP and on UDP (uTP).
    const seederPort = await freePortTcpUdp()
    const env = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      STORAGE_DIR: storage,
      ...(await databaseEnv(storage)),
      SEEDER: 'on',
      SEEDER_PORT: String(seederPort),
      TRACKER_UDP_PORT: '0',
      ADMIN_PASSWORD,
    }
    const child = spawn('npm', ['start', '--silent'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    child.stderr.on('data', (d) => {
      output += d
    })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    )
    // npm may exit first; the web app and the seeder write to the same pipes until they are gone.
    const outputClosed = Promise.all([
      new Promise((r) => child.stdout.once('close', r)),
      new Promise((r) => child.stderr.once('close', r)),
    ])
    let stopped = false
    t.after(() => {
      if (!stopped)
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {}
    })

    const server = {
      url: `http://127.0.0.1:${port}`,
      basicAuth: 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64'),
    } as TestServer
    let gone = false
    void exited.then(() => {
      gone = true
    })
    await waitFor(
      async () => {
        if (gone) throw new Error(`npm start exited before it served:\n${output}`)
        return (await fetch(`${server.url}/healthz`).catch(() => undefined))?.ok
      },
      () => `npm start to serve (output so far:\n${output})`,
      30_000,
    )
    // A second tracker that answers `started` and then goes quiet, as a slow real one does: the
    // seeder's `stopped` announce is still under way when the web app's own stop reaches it.
    let slowAnnounces = 0
    const slow = http.createServer((req, res) => {
      slowAnnounces++
      if (/[?&]event=stopped/.test(req.url ?? '')) return // never answered
      res.end('d8:intervali1800e5:peers0:e')
    })
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()))
    t.after(() => {
      slow.closeAllConnections()
      slow.close()
    })
    const slowUrl = `http://127.0.0.1:${(slow.address() as net.AddressInfo).port}/announce`
    const put = await fetch(`${server.url}/api/settings`, {
      method: 'PUT',
      headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ trackerUrls: [`${server.url}/announce`, slowUrl] }),
    })
    assert.equal(put.status, 200, await put.text())
    const upload = await uploadClip(t, server, { seconds: 2 })
    const h = await waitFor(
      async () => {
        const s = await health(server)
        return s.state === 'running' && s.seeding === 1 ? s : undefined
      },
      'the seeder to seed the upload',
      20_000,
    )
    const seederPid = h.pid!
    await waitFor(async () => slowAnnounces > 0, 'the seeder to announce to the second tracker', 10_000)
    assert.equal(await peerHandshake(seederPort, upload.video.torrent!.infoHash), 'answered')
    // A peer that stays connected while the site stops. (None over uTP: the uTP listener's close
    // completes, and the crash could happen, only once it has no connection left.)
    const peer = net.connect({ host: '127.0.0.1', port: seederPort })
    peer.on('error', () => {})
    t.after(() => peer.destroy())
    await new Promise((r) => peer.once('connect', r))

    const sent = Date.now()
    process.kill(-child.pid!, stopSignal)
    const result = await Promise.race([
      exited.then(async (r) => {
        await outputClosed
        return r
      }),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000)),
    ])
    await waitFor(async () => !groupAlive(child.pid!), 'every process of npm start to be gone', 10_000).catch(() => {})
    const took = Date.now() - sent
    stopped = !groupAlive(child.pid!)
    t.diagnostic(`stopped ${took} ms after ${stopSignal}: ${JSON.stringify(result)}; output:\n${output}`)
    assert.notEqual(result, 'timeout', `npm start did not stop within 10 s of ${stopSignal}:\n${output}`)
    assert.equal(alive(seederPid), false, 'the seeder process is gone')
    assert.equal(groupAlive(child.pid!), false, 'no process of npm start is left')
    const { code, signal } = result as { code: number | null; signal: NodeJS.Signals | null }
    assert.ok(
      code === 0 || code === 128 + (stopSignal === 'SIGINT' ? 2 : 15) || signal === stopSignal,
      `clean exit (got code ${code}, signal ${signal}):\n${output}`,
    )
    assert.doesNotMatch(
      output,
      /napi_|FATAL|Segmentation|core dumped|Abort|exited \(/,
      `no crash in the output:\n${output}`,
    )
    assert.ok(took < 8000, `stopped within a few seconds (took ${took} ms)`)
  })
