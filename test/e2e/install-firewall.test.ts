// The guide's nftables ruleset, loaded as written into a network namespace this test makes (it
// cannot touch the machine's own rules), lets in what the guide says and nothing else: SSH, HTTP
// and HTTPS, the seeder (TCP and UDP) and the UDP tracker from outside; anything on loopback; the
// replies to the host's own connections. The web port itself stays closed from outside.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { controlSubnet } from '../../bench/lib/netns.ts'
import { guideFiles } from '../helpers/installGuide.ts'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
const tag = `scfw${process.pid % 100000}`
const NS = `${tag}ns`
// A /30 of the test's own (one no route covers yet: two suites may run at once), on a veth pair
// that exists only while the test runs.
let HOST_IP = ''
let NS_IP = ''

// Listens inside the namespace: TCP ports answer "hi <port>", UDP ports echo; then it dials the
// host (a connection of its own, whose replies must come back in) and reports what it got.
const LISTENER = `
const net = require('node:net'), dgram = require('node:dgram')
const [tcp, udp, hostIp, hostPort] = process.argv.slice(1)
for (const p of tcp.split(',')) net.createServer((s) => s.end('hi ' + p)).listen(Number(p), '0.0.0.0')
for (const p of udp.split(',')) { const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(m, r.port, r.address)); u.bind(Number(p), '0.0.0.0') }
setTimeout(() => {
  const c = net.connect(Number(hostPort), hostIp, () => {})
  let got = ''
  c.on('data', (d) => { got += d })
  c.on('close', () => console.log('outbound:' + got))
  c.on('error', (e) => console.log('outbound-error:' + e.message))
  // Loopback inside the namespace reaches even the closed web port.
  const l = net.connect(3000, '127.0.0.1')
  let lgot = ''
  l.on('data', (d) => { lgot += d })
  l.on('close', () => console.log('loopback:' + lgot))
  l.on('error', (e) => console.log('loopback-error:' + e.message))
  console.log('ready')
}, 300)
`

function tcpReply(port: number, timeoutMs = 1500): Promise<string | 'blocked'> {
  return new Promise((resolve) => {
    const s = net.connect({ host: NS_IP, port, localAddress: HOST_IP })
    let got = ''
    const timer = setTimeout(() => {
      s.destroy()
      resolve('blocked')
    }, timeoutMs)
    s.on('data', (d) => {
      got += d
    })
    s.on('close', () => {
      clearTimeout(timer)
      resolve(got || 'blocked')
    })
    s.on('error', () => {})
  })
}

function udpEcho(port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const u = dgram.createSocket('udp4')
    const timer = setTimeout(() => {
      u.close()
      resolve(false)
    }, timeoutMs)
    u.on('message', () => {
      clearTimeout(timer)
      u.close()
      resolve(true)
    })
    u.bind(0, HOST_IP, () => u.send('ping', port, NS_IP))
  })
}

test("the guide's nftables rules keep SSH and loopback open and only the guide's ports", {
  skip: isRoot ? false : 'needs root for a network namespace',
  timeout: 60_000,
}, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-fw-'))
  let listener: ChildProcess | undefined
  let host: net.Server | undefined
  t.after(async () => {
    listener?.kill('SIGKILL')
    host?.close()
    await run('ip', ['netns', 'del', NS]).catch(() => {})
    await run('ip', ['link', 'del', `${tag}a`]).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  const rules = path.join(dir, 'nftables.conf')
  await writeFile(rules, guideFiles().get('/etc/nftables.conf')!)
  ;({ root: HOST_IP, origin: NS_IP } = await controlSubnet(0))
  await run('ip', ['netns', 'add', NS])
  await run('ip', ['link', 'add', `${tag}a`, 'type', 'veth', 'peer', 'name', `${tag}b`])
  await run('ip', ['link', 'set', `${tag}b`, 'netns', NS])
  await run('ip', ['addr', 'add', `${HOST_IP}/30`, 'dev', `${tag}a`])
  await run('ip', ['link', 'set', `${tag}a`, 'up'])
  const inNs = (...cmd: string[]) => run('ip', ['netns', 'exec', NS, ...cmd])
  await inNs('ip', 'addr', 'add', `${NS_IP}/30`, 'dev', `${tag}b`)
  await inNs('ip', 'link', 'set', `${tag}b`, 'up')
  await inNs('ip', 'link', 'set', 'lo', 'up')
  // As the guide says to load it: checked, then applied.
  await inNs('nft', '-c', '-f', rules)
  await inNs('nft', '-f', rules)

  host = net.createServer((s) => s.end('from host')).listen(0, HOST_IP)
  await new Promise((r) => host!.once('listening', r))
  const hostPort = (host.address() as net.AddressInfo).port
  const tcpPorts = [22, 80, 443, 6881, 3000, 8080]
  const udpPorts = [6881, 6969, 5353]
  listener = spawn(
    'ip',
    [
      'netns',
      'exec',
      NS,
      process.execPath,
      '-e',
      LISTENER,
      tcpPorts.join(','),
      udpPorts.join(','),
      HOST_IP,
      String(hostPort),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  listener.stdout!.on('data', (d) => {
    out += d
  })
  listener.stderr!.on('data', (d) => {
    out += d
  })
  const deadline = Date.now() + 10_000
  while (!/outbound[:-][\s\S]*loopback[:-]|loopback[:-][\s\S]*outbound[:-]/.test(out) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100))

  assert.match(out, /outbound:from host/, `the namespace's own connection got its reply: ${out}`)
  assert.match(out, /loopback:hi 3000/, `loopback is open, even to the web port: ${out}`)
  for (const port of [22, 80, 443, 6881]) assert.equal(await tcpReply(port), `hi ${port}`, `TCP ${port} is open`)
  for (const port of [3000, 8080]) assert.equal(await tcpReply(port), 'blocked', `TCP ${port} is closed from outside`)
  for (const port of [6881, 6969]) assert.equal(await udpEcho(port), true, `UDP ${port} is open`)
  assert.equal(await udpEcho(5353), false, 'UDP 5353 is closed')
})
