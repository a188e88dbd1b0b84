// Runs the real transmission-cli 3.00 (Debian package), or transmission-daemon 3.00 (`daemon`),
// as a BitTorrent client on loopback only. transmission-cli has no switches for DHT, LPD, PEX or
// uTP, so it gets a fresh config folder (-g) whose settings.json turns off DHT, local peer
// discovery, PEX, port mapping and blocklists and binds its sockets to loopback; the daemon gets
// the same settings, RPC off, and the torrent through a watch folder. `encryption`: transmission's
// setting (0 prefer plaintext, 1 prefer encryption, its default, 2 require encryption).
// Neither exits on its own: stop() ends it (SIGTERM, then SIGKILL).
// `tcpClosed`: its TCP peer port is held (bound, not listening) by a process of ours before it
// starts, so it cannot listen on TCP (it logs so and goes on) and takes peers over uTP only, on its
// separate UDP socket: transmission 3.00 has no switch to turn TCP off. A TCP dial to it is refused.
// `peerInfo` (daemon only): RPC on, and its peer list (uTP? encrypted?) read every 250 ms, the
// download held to 1 MB/s meanwhile.
// NB: transmission never dials a peer in 127.0.0.0/8 or ::1 (libtransmission's isMartianAddr):
// on loopback the other peers must dial it.
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { freePort, freePortUdp } from './server.ts'

export interface TransmissionPeer {
  /** Its peer port (also the source port of its UDP tracker requests). */
  port: number
  downloadDir: string
  output(): string
  exited(): boolean
  /** Resolves once `name` in the download folder is byte-identical to `expected`. */
  waitForFile(name: string, expected: Buffer, timeoutMs: number): Promise<void>
  /** With `peerInfo`: every connection its RPC listed (torrent-get `peers`), once each. */
  peersSeen(): TransmissionPeerInfo[]
  stop(): Promise<void>
}

export interface TransmissionPeerInfo {
  address: string
  port: number
  isUTP: boolean
  isEncrypted: boolean
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

export async function startTransmission(opts: {
  torrent: Buffer
  workDir: string
  daemon?: boolean
  encryption?: 0 | 1 | 2
  tcpClosed?: boolean
  peerInfo?: boolean
}): Promise<TransmissionPeer> {
  const configDir = path.join(opts.workDir, 'config')
  const downloadDir = path.join(opts.workDir, 'download')
  const watchDir = path.join(opts.workDir, 'watch')
  await mkdir(configDir, { recursive: true })
  await mkdir(downloadDir, { recursive: true })
  await mkdir(watchDir, { recursive: true })
  const rpcPort = opts.peerInfo ? await freePort() : null
  await writeTransmissionSettings(configDir, {
    encryption: opts.encryption ?? 1,
    watchDir: opts.daemon ? watchDir : null,
    rpcPort,
  })
  const torrentFile = path.join(opts.daemon ? watchDir : opts.workDir, 'transmission.torrent')
  await writeFile(torrentFile, opts.torrent)
  const { port, squatter } = opts.tcpClosed ? await udpPortTcpHeld() : { port: await freePort(), squatter: null }
  // No proxy from the environment may stand between it and the loopback tracker.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)))
  const child = opts.daemon
    ? spawn('transmission-daemon', ['-f', '-g', configDir, '-w', downloadDir, '-P', String(port), '-M'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn('transmission-cli', ['-g', configDir, '-w', downloadDir, '-p', String(port), '-M', '-B', torrentFile], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
  let output = ''
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString().replace(/\r/g, '\n')
  })
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString().replace(/\r/g, '\n')
  })
  let exited = false
  const exit = new Promise<void>((resolve) =>
    child.once('close', () => {
      exited = true
      squatter?.kill()
      resolve()
    }),
  )
  const seen = new Map<string, TransmissionPeerInfo>()
  const rpc = { url: `http://127.0.0.1:${rpcPort}/transmission/rpc`, session: '' }
  const poll = rpcPort ? setInterval(() => void readPeers(rpc, seen), 250) : null
  child.once('error', (err) => {
    output += `\nspawn error: ${err.message}`
  })
  const tail = () =>
    output
      .split('\n')
      .filter((l) => l.trim() && !/^Progress: 0\.0%/.test(l))
      .slice(-40)
      .join('\n')
  return {
    port,
    downloadDir,
    output: () => output,
    exited: () => exited,
    async waitForFile(name, expected, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      const file = path.join(downloadDir, name)
      const want = sha256(expected)
      for (;;) {
        if (exited) throw new Error(`transmission quit before finishing:\n${tail()}`)
        const size = await stat(file).then(
          (s) => s.size,
          () => -1,
        )
        if (size === expected.length && sha256(await readFile(file)) === want) return
        if (Date.now() > deadline)
          throw new Error(`transmission did not finish within ${timeoutMs} ms (file: ${size} bytes):\n${tail()}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    },
    peersSeen: () => [...seen.values()],
    async stop() {
      if (poll) clearInterval(poll)
      if (exited) return
      child.kill('SIGTERM')
      const force = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exit
      clearTimeout(force)
    },
  }
}

/**
 * transmission's settings for loopback tests: no DHT, LPD, PEX, port mapping, blocklist or RPC,
 * bound to loopback. uTP stays on (its default).
 */
async function writeTransmissionSettings(
  configDir: string,
  opts: { encryption: number; watchDir: string | null; rpcPort: number | null },
): Promise<void> {
  await writeFile(
    path.join(configDir, 'settings.json'),
    JSON.stringify(
      {
        'dht-enabled': false,
        'lpd-enabled': false,
        'pex-enabled': false,
        // uTP on, transmission's default (the webtorrent engine dials peers over uTP first).
        'utp-enabled': true,
        'port-forwarding-enabled': false,
        'blocklist-enabled': false,
        'rpc-enabled': opts.rpcPort !== null,
        ...(opts.rpcPort !== null
          ? {
              'rpc-port': opts.rpcPort,
              'rpc-bind-address': '127.0.0.1',
              'rpc-authentication-required': false,
              'rpc-whitelist-enabled': false,
              'rpc-host-whitelist-enabled': false,
            }
          : {}),
        'bind-address-ipv4': '127.0.0.1',
        'bind-address-ipv6': '::1',
        'peer-port-random-on-start': false,
        'incomplete-dir-enabled': false,
        'rename-partial-files': true,
        'script-torrent-done-enabled': false,
        // With peerInfo, at most 1 MB/s in: a few-MB download from loopback lasts seconds, long
        // enough for the RPC polls to see the connection (unlimited, it can end between two polls).
        'speed-limit-down-enabled': opts.rpcPort !== null,
        'speed-limit-down': 1000,
        'message-level': 3,
        encryption: opts.encryption,
        'watch-dir-enabled': opts.watchDir !== null,
        ...(opts.watchDir ? { 'watch-dir': opts.watchDir } : {}),
      },
      null,
      2,
    ),
  )
}

/**
 * A port free for UDP (uTP is all it will have), its TCP side held: freePort checks TCP only, and
 * a UDP port another process holds would leave it no way in at all.
 */
async function udpPortTcpHeld(): Promise<{ port: number; squatter: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePortUdp()
    try {
      return { port, squatter: await holdTcpPort(port) }
    } catch (err) {
      if (attempt === 5) throw err // TCP taken there each time
    }
  }
}

/** Holds TCP `port` on 127.0.0.1 bound but not listening (no SO_REUSEADDR), until killed: no one else can listen there. */
function holdTcpPort(port: number): Promise<ChildProcess> {
  const script = `import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
print('bound', flush=True)
sys.stdin.read()`
  const child = spawn('/usr/bin/python3', ['-c', script, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let err = ''
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.stdout.once('data', () => resolve(child))
    child.once('close', (code) => reject(new Error(`could not hold TCP port ${port} (exit ${code}): ${err}`)))
  })
}

/** Adds the peers transmission's RPC lists now to `seen` (by address and port). */
async function readPeers(
  rpc: { url: string; session: string },
  seen: Map<string, TransmissionPeerInfo>,
): Promise<void> {
  const body = JSON.stringify({ method: 'torrent-get', arguments: { fields: ['peers'] } })
  try {
    // The first request of a session is answered 409 with the session id to send.
    const post = () => fetch(rpc.url, { method: 'POST', body, headers: { 'X-Transmission-Session-Id': rpc.session } })
    let res = await post()
    if (res.status === 409) {
      rpc.session = res.headers.get('X-Transmission-Session-Id') ?? ''
      res = await post()
    }
    const reply = (await res.json()) as { arguments: { torrents: { peers: TransmissionPeerInfo[] }[] } }
    for (const t of reply.arguments.torrents)
      for (const { address, port, isUTP, isEncrypted } of t.peers)
        seen.set(`${address}:${port} ${isUTP} ${isEncrypted}`, { address, port, isUTP, isEncrypted })
  } catch {
    // Not up yet, or going away: the next poll tries again.
  }
}
