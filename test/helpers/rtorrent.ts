// The real rTorrent 0.9.8 (Debian package; libtorrent 0.13, v1 only) headless on loopback: no
// rc file (-n), daemon mode, its settings as -o options (DHT, PEX and UDP trackers off, its
// sockets bound to 127.0.0.1, a fresh session folder), driven over XML-RPC on an SCGI port.
// (-o splits its value at commas: no setting here may hold one.)
import { mkdir } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { samplePeersWhile, spawnClient, waitForIdenticalFile } from './clientProcess.ts'
import { waitFor } from './http.ts'
import { freePort } from './server.ts'

export interface RtPeer {
  address: string
  port: number
  encrypted: boolean
  incoming: boolean
  /** What rTorrent got from this peer, and how much of the torrent it says the peer has. */
  downTotal: number
  completedPercent: number
  snubbed: boolean
}

export interface Rtorrent {
  downloadDir: string
  /** XML-RPC call with string arguments; the response's values, in order, as strings. */
  call(method: string, ...args: string[]): Promise<string[]>
  /** Starts a .torrent file (its path) or a magnet link; resolves once rTorrent lists it. */
  add(source: string, infoHash: string): Promise<void>
  /** Waits for `name` to match `expected` byte for byte; returns every peer seen meanwhile. */
  waitForFile(name: string, expected: Buffer, timeoutMs: number): Promise<RtPeer[]>
  output(): string
  stop(): Promise<void>
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** One XML-RPC request over SCGI (a netstring of headers, then the body). */
function scgiCall(port: number, method: string, args: string[]): Promise<string> {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${args
    .map((a) => `<param><value><string>${escapeXml(a)}</string></value></param>`)
    .join('')}</params></methodCall>`
  const headers = `CONTENT_LENGTH\0${Buffer.byteLength(body)}\0SCGI\x001\0`
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    socket.on('connect', () => socket.end(`${Buffer.byteLength(headers)}:${headers},${body}`))
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()))
  })
}

export async function startRtorrent(opts: {
  workDir: string
  /** Download limit in KiB/s: keeps the download long enough to see its peers. */
  downloadLimitKiB?: number
}): Promise<Rtorrent> {
  const session = path.join(opts.workDir, 'session')
  const downloadDir = path.join(opts.workDir, 'download')
  await mkdir(session, { recursive: true })
  await mkdir(downloadDir, { recursive: true })
  const [scgiPort, peerPort] = [await freePort(), await freePort()]
  const settings = [
    'system.daemon.set=true',
    `session.path.set=${session}`,
    `directory.default.set=${downloadDir}`,
    `network.scgi.open_port=127.0.0.1:${scgiPort}`,
    `network.port_range.set=${peerPort}-${peerPort}`,
    'network.port_random.set=no',
    'network.bind_address.set=127.0.0.1',
    'dht.mode.set=disable',
    'protocol.pex.set=no',
    'trackers.use_udp.set=no',
    `throttle.global_down.max_rate.set_kb=${opts.downloadLimitKiB ?? 0}`,
  ]
  const proc = spawnClient('rtorrent', ['-n', ...settings.flatMap((s) => ['-o', s])], { HOME: opts.workDir })
  const call = async (method: string, ...args: string[]) => {
    const xml = await scgiCall(scgiPort, method, args)
    if (/<fault>/.test(xml)) throw new Error(`rTorrent ${method} failed: ${xml}`)
    return [...xml.matchAll(/<(?:string|i4|i8|int)>([^<]*)<\//g)].map((m) => m[1]!)
  }
  try {
    await waitFor(
      async () =>
        proc.exited() ||
        (await call('system.client_version').then(
          (v) => v[0] === '0.9.8',
          () => false,
        )),
      'rTorrent to answer on its SCGI port',
      20_000,
    )
    if (proc.exited()) throw new Error(`rtorrent quit:\n${proc.output()}`)
  } catch (err) {
    await proc.stop()
    throw err
  }
  let hash = ''
  const state = async () => {
    const [done, size, complete, message, active, connected] = await Promise.all(
      ['d.bytes_done', 'd.size_bytes', 'd.complete', 'd.message', 'd.is_active', 'd.peers_connected'].map((m) =>
        call(m, hash).then((v) => v[0]),
      ),
    )
    // On a stall: whether the download runs and is connected to anyone now (the peers seen are
    // every peer over the whole wait, each as last sampled).
    return `rTorrent: ${done}/${size} bytes, complete ${complete}, message "${message}", active ${active}, peers connected now ${connected}`
  }
  return {
    downloadDir,
    call,
    output: proc.output,
    stop: proc.stop,
    async add(source, infoHash) {
      await call('load.start', '', source)
      hash = infoHash.toUpperCase()
      await waitFor(async () => (await call('download_list', '')).includes(hash), `rTorrent to list ${hash}`, 10_000)
    },
    waitForFile(name, expected, timeoutMs) {
      const sample = async () => {
        const fields = [
          'address',
          'port',
          'is_encrypted',
          'is_incoming',
          'down_total',
          'completed_percent',
          'is_snubbed',
        ]
        const v = await call('p.multicall', hash, '', ...fields.map((f) => `p.${f}=`))
        const peers: [string, RtPeer][] = []
        for (let i = 0; i + fields.length - 1 < v.length; i += fields.length)
          peers.push([
            `${v[i]}:${v[i + 1]}`,
            {
              address: v[i]!,
              port: Number(v[i + 1]),
              encrypted: v[i + 2] === '1',
              incoming: v[i + 3] === '1',
              downTotal: Number(v[i + 4]),
              completedPercent: Number(v[i + 5]),
              snubbed: v[i + 6] === '1',
            },
          ])
        return peers
      }
      return samplePeersWhile(sample, (seen) =>
        waitForIdenticalFile(
          path.join(downloadDir, name),
          expected,
          timeoutMs,
          proc,
          async () => `${await state().catch((e) => String(e))}, peers seen ${JSON.stringify(seen())}`,
        ),
      )
    },
  }
}
