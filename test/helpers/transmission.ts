// Runs the real transmission-cli 3.00 (Debian package), or transmission-daemon 3.00 (`daemon`),
// as a BitTorrent client on loopback only. transmission-cli has no switches for DHT, LPD, PEX or
// uTP, so it gets a fresh config folder (-g) whose settings.json turns off DHT, local peer
// discovery, PEX, port mapping and blocklists and binds its sockets to loopback; the daemon gets
// the same settings, RPC off, and the torrent through a watch folder. `encryption`: transmission's
// setting (0 prefer plaintext, 1 prefer encryption, its default, 2 require encryption).
// Neither exits on its own: stop() ends it (SIGTERM, then SIGKILL).
// NB: transmission never dials a peer in 127.0.0.0/8 or ::1 (libtransmission's isMartianAddr):
// on loopback the other peers must dial it.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { freePort } from './server.ts'

export interface TransmissionPeer {
  /** Its peer port (also the source port of its UDP tracker requests). */
  port: number
  downloadDir: string
  output(): string
  exited(): boolean
  /** Resolves once `name` in the download folder is byte-identical to `expected`. */
  waitForFile(name: string, expected: Buffer, timeoutMs: number): Promise<void>
  stop(): Promise<void>
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

export async function startTransmission(opts: {
  torrent: Buffer
  workDir: string
  daemon?: boolean
  encryption?: 0 | 1 | 2
}): Promise<TransmissionPeer> {
  const configDir = path.join(opts.workDir, 'config')
  const downloadDir = path.join(opts.workDir, 'download')
  const watchDir = path.join(opts.workDir, 'watch')
  await mkdir(configDir, { recursive: true })
  await mkdir(downloadDir, { recursive: true })
  await mkdir(watchDir, { recursive: true })
  await writeTransmissionSettings(configDir, {
    encryption: opts.encryption ?? 1,
    watchDir: opts.daemon ? watchDir : null,
  })
  const torrentFile = path.join(opts.daemon ? watchDir : opts.workDir, 'transmission.torrent')
  await writeFile(torrentFile, opts.torrent)
  const port = await freePort()
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
      resolve()
    }),
  )
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
    async stop() {
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
  opts: { encryption: number; watchDir: string | null },
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
        'rpc-enabled': false,
        'bind-address-ipv4': '127.0.0.1',
        'bind-address-ipv6': '::1',
        'peer-port-random-on-start': false,
        'incomplete-dir-enabled': false,
        'rename-partial-files': true,
        'script-torrent-done-enabled': false,
        'speed-limit-down-enabled': false,
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
