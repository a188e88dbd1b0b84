// The real qbittorrent-nox 4.5 (Debian package; libtorrent-rasterbar 2.0 inside) as a client on
// loopback, driven through its WebUI API (v2). Each run gets its own profile (--profile): a
// preset qBittorrent.conf with the legal notice accepted, the WebUI on a free loopback port with
// no login for localhost, and DHT, PEX, LSD, UPnP and the anonymous mode off, so peers come from
// the torrent's tracker only. `encryption`: qBittorrent's setting (0 allow, 1 require: RC4 for
// the whole stream, connections that are not encrypted dropped; 2 off).
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { samplePeersWhile, spawnClient, waitForIdenticalFile } from './clientProcess.ts'
import { waitFor } from './http.ts'
import { freePort } from './server.ts'

/** One peer as qBittorrent lists it (sync/torrentPeers); flags 'E' mean RC4 for the whole stream. */
export interface QbtPeer {
  ip: string
  port: number
  connection: string
  flags: string
  downloaded: number
}

export interface Qbittorrent {
  downloadDir: string
  /** GET /api/v2/<endpoint> as JSON. */
  api<T>(endpoint: string): Promise<T>
  /** Adds a .torrent (its bytes) or a magnet link; resolves once qBittorrent lists it (by its v1 hash). */
  add(source: Buffer | string, infoHash: string): Promise<void>
  /** Waits for `name` to match `expected` byte for byte; returns every peer seen meanwhile. */
  waitForFile(name: string, expected: Buffer, timeoutMs: number): Promise<QbtPeer[]>
  output(): string
  stop(): Promise<void>
}

export async function startQbittorrent(opts: {
  workDir: string
  encryption?: 0 | 1 | 2
  /** uTP as well as TCP (qBittorrent's default); TCP only unless set. */
  utp?: boolean
  /** Download limit in bytes/s: keeps the download long enough to see its peers. */
  downloadLimit?: number
}): Promise<Qbittorrent> {
  const profile = path.join(opts.workDir, 'profile')
  const downloadDir = path.join(opts.workDir, 'download')
  await mkdir(path.join(profile, 'qBittorrent', 'config'), { recursive: true })
  await mkdir(downloadDir, { recursive: true })
  const [webPort, peerPort] = [await freePort(), await freePort()]
  const conf = [
    '[LegalNotice]',
    'Accepted=true',
    '',
    '[BitTorrent]',
    `Session\\Port=${peerPort}`,
    'Session\\DHTEnabled=false',
    'Session\\PeXEnabled=false',
    'Session\\LSDEnabled=false',
    'Session\\AnonymousModeEnabled=false',
    `Session\\Encryption=${opts.encryption ?? 0}`,
    `Session\\DefaultSavePath=${downloadDir}`,
    'Session\\Interface=lo',
    'Session\\InterfaceName=lo',
    `Session\\GlobalDLSpeedLimit=${Math.round((opts.downloadLimit ?? 0) / 1024)}`,
    'Session\\QueueingSystemEnabled=false',
    `Session\\BTProtocol=${opts.utp ? 'Both' : 'TCP'}`,
    '',
    '[Network]',
    'PortForwardingEnabled=false',
    '',
    '[Preferences]',
    'WebUI\\Address=127.0.0.1',
    `WebUI\\Port=${webPort}`,
    'WebUI\\LocalHostAuth=false',
    'WebUI\\CSRFProtection=false',
    'WebUI\\HostHeaderValidation=false',
    'WebUI\\UseUPnP=false',
    'General\\StatusbarExternalIPDisplayed=false',
    '',
  ]
  await writeFile(path.join(profile, 'qBittorrent', 'config', 'qBittorrent.conf'), conf.join('\n'))
  const proc = spawnClient('qbittorrent-nox', [`--profile=${profile}`], { HOME: opts.workDir })
  const base = `http://127.0.0.1:${webPort}/api/v2`
  const api = async <T>(endpoint: string): Promise<T> => {
    const res = await fetch(`${base}/${endpoint}`)
    if (!res.ok) throw new Error(`qBittorrent ${endpoint}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }
  const stop = proc.stop
  try {
    await waitFor(
      async () =>
        proc.exited() ||
        (await fetch(`${base}/app/version`).then(
          (r) => r.ok,
          () => false,
        )),
      'the qBittorrent WebUI to answer',
      20_000,
    )
    if (proc.exited()) throw new Error(`qbittorrent-nox quit:\n${proc.output()}`)
  } catch (err) {
    await stop()
    throw err
  }
  const state = async (hash: string) => {
    const [info] = await api<{ state: string; progress: number }[]>(`torrents/info?hashes=${hash}`)
    if (!info) return 'not listed'
    // Its warnings and errors say why a torrent is in state "error".
    const log = await api<{ type: number; message: string }[]>('log/main?normal=false&info=false').catch(() => [])
    const lines = log.slice(-10).map((l) => l.message)
    return `${info.state} ${(info.progress * 100).toFixed(1)} %${lines.length ? `, its log: ${lines.join(' | ')}` : ''}`
  }
  let added = ''
  return {
    downloadDir,
    api,
    output: proc.output,
    stop,
    async add(source, infoHash) {
      const form = new FormData()
      if (typeof source === 'string') form.set('urls', source)
      else form.set('torrents', new Blob([new Uint8Array(source)]), 'no-webseed.torrent')
      form.set('savepath', downloadDir)
      const res = await fetch(`${base}/torrents/add`, { method: 'POST', body: form })
      const text = await res.text()
      if (!res.ok || text.trim() !== 'Ok.') throw new Error(`qBittorrent torrents/add: ${res.status} ${text}`)
      // qBittorrent names a hybrid by its v2 hash (truncated): found by its v1 hash instead.
      const listed = await waitFor(
        async () =>
          (await api<{ hash: string; infohash_v1: string }[]>('torrents/info')).find((x) => x.infohash_v1 === infoHash),
        'qBittorrent to list the torrent',
        10_000,
      )
      added = listed.hash
    },
    waitForFile(name, expected, timeoutMs) {
      const sample = async () =>
        Object.entries((await api<{ peers?: Record<string, QbtPeer> }>(`sync/torrentPeers?hash=${added}`)).peers ?? {})
      return samplePeersWhile(sample, (seen) =>
        waitForIdenticalFile(
          path.join(downloadDir, name),
          expected,
          timeoutMs,
          proc,
          async () =>
            `qBittorrent: ${await state(added).catch((e) => String(e))}, peers seen ${JSON.stringify(seen())}`,
        ),
      )
    },
  }
}
