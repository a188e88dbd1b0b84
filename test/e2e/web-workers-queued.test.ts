// What INSTALL.txt's net.ipv4.tcp_migrate_req=1 is for. Each web worker listens on sockets of its
// own (src/web/webListeners.ts), so connections the kernel has queued on a worker's sockets go
// with it when it dies, unless the kernel moves them to another worker's. The site runs in a
// network namespace of the test's own (the sysctl is per namespace); worker 1 is stopped
// (SIGSTOP), so the connections hashed to its sockets wait in their queues for certain, then it
// is killed. With the sysctl every request is answered by worker 2; without, the queued ones are
// reset: the case the guide's setting removes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { NODE_FLAGS } from '../../src/runtimeFlags.ts'
import { childServerEnv } from '../helpers/childServer.ts'
import { makeStorageDir } from '../helpers/server.ts'
import { workerPids } from '../helpers/webWorkers.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PORT = 8080 // the namespace's own loopback: nothing else listens there
const CONNECTIONS = 40

// Runs in the namespace: one GET /healthz on a new connection each; once no answer has come for
// a second it prints QUEUED (the rest wait on the stopped worker), then the outcomes as JSON.
const CLIENT = `
const http = require('node:http')
const n = Number(process.argv[1]), port = Number(process.argv[2])
const outcomes = []
let last = Date.now()
for (let i = 0; i < n; i++) {
  const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
    res.resume()
    res.on('end', () => { outcomes.push(String(res.statusCode)); last = Date.now() })
  })
  req.on('error', (e) => { outcomes.push(e.code || e.message); last = Date.now() })
}
let told = false
const tick = setInterval(() => {
  if (!told && Date.now() - last > 1000) { told = true; console.log('QUEUED ' + (n - outcomes.length)) }
  if (outcomes.length === n) { console.log('OUTCOMES ' + JSON.stringify(outcomes)); process.exit(0) }
}, 50)
setTimeout(() => { console.log('OUTCOMES ' + JSON.stringify(outcomes)); process.exit(0) }, 20000)
`

async function queuedWhenWorkerDies(migrate: 0 | 1): Promise<{ queued: number; outcomes: string[] }> {
  const ns = `sc-queued-${process.pid}-${migrate}`
  const storageDir = await makeStorageDir()
  const inNs = (...cmd: string[]) => run('ip', ['netns', 'exec', ns, ...cmd])
  await run('ip', ['netns', 'add', ns])
  let server: ReturnType<typeof spawn> | undefined
  try {
    await inNs('ip', 'link', 'set', 'lo', 'up')
    await inNs('sysctl', '-qw', `net.ipv4.tcp_migrate_req=${migrate}`)
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, ...NODE_FLAGS, 'src/main.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childServerEnv(PORT, storageDir, {
        // SQLite whatever the suite runs on: a PostgreSQL server on the host's loopback is out of reach here.
        DATABASE_URL: `file:${path.join(storageDir, 'seedcast.db')}`,
        WEB_WORKERS: '2',
      }),
    })
    let output = ''
    server.stdout!.on('data', (d) => (output += d))
    server.stderr!.on('data', (d) => (output += d))
    for (let i = 0; i < 300 && !/listening on/.test(output); i++) await new Promise((r) => setTimeout(r, 100))
    assert.match(output, /listening on/, output)
    const workers = await workerPids(server.pid!)
    assert.deepEqual([...workers.keys()].sort(), ['1', '2'])
    // The start-up check speaks only while the setting is off.
    assert.equal(/tcp_migrate_req is not 1/.test(output), migrate === 0, output)

    process.kill(workers.get('1')!, 'SIGSTOP')
    const client = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, String(CONNECTIONS), String(PORT)])
    let said = ''
    const outcomes = new Promise<{ queued: number; outcomes: string[] }>((resolve, reject) => {
      let queued = -1
      client.stdout.on('data', (d) => {
        said += d
        const q = /QUEUED (\d+)/.exec(said)
        if (q && queued < 0) {
          queued = Number(q[1])
          process.kill(workers.get('1')!, 'SIGKILL')
        }
        const o = /OUTCOMES (.*)\n/.exec(said)
        if (o) resolve({ queued, outcomes: JSON.parse(o[1]!) })
      })
      client.once('exit', () => setTimeout(() => reject(new Error(`client ended: ${said}`)), 100))
    })
    return await outcomes
  } finally {
    server?.kill('SIGTERM')
    if (server && server.exitCode === null) await new Promise((r) => server!.once('exit', r))
    await run('ip', ['netns', 'del', ns]).catch(() => {})
    await rm(storageDir, { recursive: true, force: true })
  }
}

test('with tcp_migrate_req=1, connections queued on a web worker that dies are answered by the other', async () => {
  const { queued, outcomes } = await queuedWhenWorkerDies(1)
  assert.ok(queued > 0, `some connections waited on the stopped worker (${queued})`)
  assert.equal(outcomes.length, CONNECTIONS)
  assert.deepEqual(
    outcomes.filter((o) => o !== '200'),
    [],
  )
})

test('with tcp_migrate_req=0 (the default) they are reset: what the setting is for', async () => {
  const { queued, outcomes } = await queuedWhenWorkerDies(0)
  assert.ok(queued > 0, `some connections waited on the stopped worker (${queued})`)
  // Reset: those that waited on the stopped worker (a slow answer from worker 2 may still have been
  // on its way when QUEUED was said: at most `queued`).
  const reset = outcomes.filter((o) => o === 'ECONNRESET').length
  assert.ok(reset > 0 && reset <= queued, `${reset} of the ${queued} that waited were reset: ${outcomes.join(' ')}`)
  assert.equal(outcomes.filter((o) => o === '200').length, CONNECTIONS - reset, outcomes.join(' '))
})
