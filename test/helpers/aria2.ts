// Runs the real aria2c (Debian package) as a BitTorrent client on loopback only, and reads back
// the tracker announces it made from its debug log.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { freePort } from './server.ts'

export interface Announce {
  event: string | null
  left: number
  downloaded: number
  uploaded: number
  port: number
}

export interface Aria2Result {
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  output: string
  log: string
  /** Every tracker announce aria2c sent, in order. */
  announces: Announce[]
}

export interface Aria2Options {
  /** A local .torrent file, or an http URL aria2c fetches (and follows in memory). */
  source: string
  /** Download folder. */
  dir: string
  /** Where aria2c writes its debug log (kept for a failing test to show). */
  logFile: string
  timeoutMs?: number
  extraArgs?: string[]
  /** Kills aria2c when aborted (a test that fails while it runs). */
  signal?: AbortSignal
}

/** Options that keep aria2c on loopback and off every discovery channel but the site's tracker. */
async function aria2Args(opts: { dir: string; logFile: string }): Promise<string[]> {
  const listenPort = await freePort()
  return [
    '--no-conf=true',
    `--dir=${opts.dir}`,
    '--seed-time=0',
    '--bt-enable-lpd=false',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--enable-peer-exchange=false',
    '--bt-tracker-connect-timeout=5',
    '--bt-tracker-timeout=10',
    '--bt-stop-timeout=60',
    '--follow-torrent=mem',
    '--check-integrity=true',
    // Every socket, the peer listener included, on 127.0.0.1; no IPv6.
    '--interface=127.0.0.1',
    '--disable-ipv6=true',
    `--listen-port=${listenPort}`,
    '--no-proxy=127.0.0.1,localhost',
    '--file-allocation=none',
    '--auto-file-renaming=false',
    '--allow-overwrite=true',
    '--summary-interval=0',
    '--console-log-level=notice',
    `--log=${opts.logFile}`,
    '--log-level=debug',
  ]
}

/** aria2c writes each tracker request line into its debug log: "GET /announce?... HTTP/1.1". */
function parseAnnounces(log: string): Announce[] {
  const announces: Announce[] = []
  for (const match of log.matchAll(/^GET \S*\/announce\?(\S+) HTTP\/1\.1$/gm)) {
    // info_hash/peer_id are raw bytes, so read only the plain fields by hand.
    const fields = new Map(
      match[1]!.split('&').map((kv) => {
        const eq = kv.indexOf('=')
        return [kv.slice(0, eq), kv.slice(eq + 1)] as const
      }),
    )
    announces.push({
      event: fields.get('event') ?? null,
      left: Number(fields.get('left')),
      downloaded: Number(fields.get('downloaded')),
      uploaded: Number(fields.get('uploaded')),
      port: Number(fields.get('port')),
    })
  }
  return announces
}

export async function runAria2c(opts: Aria2Options): Promise<Aria2Result> {
  const args = [...(await aria2Args({ dir: opts.dir, logFile: opts.logFile })), ...(opts.extraArgs ?? []), opts.source]
  // No proxy from the environment may stand between aria2c and the loopback server.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)))
  const child = spawn('aria2c', args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString()
  })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGKILL')
  }, opts.timeoutMs ?? 60_000)
  const onAbort = () => child.kill('SIGKILL')
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (c, s) => resolve([c, s]))
  }).finally(() => {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
  })
  const log = await readFile(opts.logFile, 'utf8').catch(() => '')
  return { code, signal, timedOut, output, log, announces: parseAnnounces(log) }
}

/**
 * aria2c's JSON-RPC on a free loopback port, for reading how much it has while it runs: pass
 * `args` in `extraArgs`. With RPC on aria2c stays up after the download: stop it by its signal.
 */
export async function aria2cRpc(): Promise<{ args: string[]; completedBytes: () => Promise<number> }> {
  const port = await freePort()
  const secret = randomBytes(8).toString('hex')
  const call = async (method: string, ...params: unknown[]) => {
    const res = await fetch(`http://127.0.0.1:${port}/jsonrpc`, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: '1', method, params: [`token:${secret}`, ...params] }),
    })
    const body = (await res.json()) as { result?: { completedLength: string }[]; error?: { message: string } }
    if (!body.result) throw new Error(`aria2c ${method}: ${body.error?.message ?? res.status}`)
    return body.result
  }
  return {
    args: ['--enable-rpc=true', `--rpc-listen-port=${port}`, '--rpc-listen-all=false', `--rpc-secret=${secret}`],
    // Every download it has, running or done (a .torrent given as a URL is one more).
    async completedBytes() {
      const [active, waiting, stopped] = await Promise.all([
        call('aria2.tellActive', ['completedLength']),
        call('aria2.tellWaiting', 0, 100, ['completedLength']),
        call('aria2.tellStopped', 0, 100, ['completedLength']),
      ])
      return [...active, ...waiting, ...stopped].reduce((n, d) => n + Number(d.completedLength), 0)
    },
  }
}
