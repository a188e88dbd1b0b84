// A WebSocket tracker client for the attack tests, on the `ws` package (what bittorrent-tracker's
// own client uses): connect from a chosen loopback address or with chosen headers, send
// WebTorrent-shaped announces, read replies and close codes; plus /metrics reading.
import WebSocket from 'ws'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from './server.ts'
import { makeVideo } from './media.ts'
import { uploadOk } from './http.ts'

/** A 20-byte id as the "binary string" WebTorrent puts in its JSON. */
const bin = (hex: string): string => Buffer.from(hex, 'hex').toString('latin1')
export const randomId = (): string => randomBytes(20).toString('hex')

export type Connected = { ws: WebSocket; status?: undefined } | { ws?: undefined; status: number }

// Every connection a test opened and has not closed. The server waits for upgraded sockets when
// it stops, so a test that fails half-way must drop them (dropAllWs) or its `after` would hang.
const opened = new Set<WebSocket>()

/** Terminates every connection still open; call before stopping the server. */
export function dropAllWs(): void {
  for (const ws of opened) ws.terminate()
  opened.clear()
}

/** Opens a connection; resolves with it, or with the HTTP status the upgrade was refused with. */
export function connectWs(
  port: number,
  opts: { localAddress?: string; headers?: Record<string, string> } = {},
): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/announce`, { ...opts, perMessageDeflate: false })
    ws.once('open', () => {
      opened.add(ws)
      ws.once('close', () => opened.delete(ws))
      resolve({ ws })
    })
    ws.once('unexpected-response', (_req, res) => {
      res.resume()
      resolve({ status: res.statusCode! })
      ws.terminate()
    })
    ws.once('error', (err) => reject(err))
  })
}

interface Inbox {
  queue: unknown[]
  waiting: ((msg: unknown) => void)[]
}
const inboxes = new WeakMap<WebSocket, Inbox>()

export async function openWs(
  port: number,
  opts: { localAddress?: string; headers?: Record<string, string> } = {},
): Promise<WebSocket> {
  const c = await connectWs(port, opts)
  if (!c.ws) throw new Error(`upgrade refused with ${c.status}`)
  // Replies wait here until a test reads them (nextMessage), in order.
  const inbox: Inbox = { queue: [], waiting: [] }
  inboxes.set(c.ws, inbox)
  c.ws.on('message', (data) => {
    const msg = JSON.parse(data.toString())
    const w = inbox.waiting.shift()
    if (w) w(msg)
    else inbox.queue.push(msg)
  })
  return c.ws
}

/** The next reply on a socket opened with openWs. */
export function nextMessage(ws: WebSocket, timeoutMs = 10_000): Promise<any> {
  const inbox = inboxes.get(ws)!
  if (inbox.queue.length > 0) return Promise.resolve(inbox.queue.shift())
  return new Promise((resolve, reject) => {
    const w = (msg: unknown) => {
      clearTimeout(timer)
      resolve(msg)
    }
    const timer = setTimeout(() => {
      inbox.waiting.splice(inbox.waiting.indexOf(w), 1)
      reject(new Error('no reply'))
    }, timeoutMs)
    inbox.waiting.push(w)
  })
}

export function closeCode(ws: WebSocket, timeoutMs = 30_000): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not closed')), timeoutMs)
    ws.once('close', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}

export interface WsAnnounce {
  infoHash: string
  peerId: string
  event?: string
  left?: number
  /** As sent (any JSON value: strangers send anything); 0 when absent. */
  downloaded?: unknown
  offers?: unknown[]
  numwant?: number
}

/** An announce as WebTorrent sends one (ids as binary strings). */
export function announceMessage(a: WsAnnounce): string {
  return JSON.stringify({
    action: 'announce',
    info_hash: bin(a.infoHash),
    peer_id: bin(a.peerId),
    event: a.event,
    left: a.left ?? 1000,
    uploaded: 0,
    downloaded: a.downloaded ?? 0,
    numwant: a.numwant ?? a.offers?.length ?? 0,
    offers: a.offers ?? [],
  })
}

/** Sends an announce and waits for its reply. */
export async function wsAnnounce(ws: WebSocket, a: WsAnnounce): Promise<any> {
  ws.send(announceMessage(a))
  return nextMessage(ws)
}

export async function metrics(s: TestServer): Promise<Map<string, number>> {
  const text = await (await fetch(`${s.url}/metrics`)).text()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}

export const rejected = async (s: TestServer, reason: string): Promise<number> =>
  (await metrics(s)).get(`seedcast_tracker_rejected_total{reason="${reason}"}`) ?? 0

export interface TrackerSite {
  server: TestServer
  infoHash: string
  videoId: string
  stop(): Promise<void>
}

/** A real site with one uploaded clip, the target of the tracker's attack tests. */
export async function startTrackerSite(env: Record<string, string> = {}): Promise<TrackerSite> {
  const server = await startTestServer(env)
  const clip = await makeVideo({ seconds: 1 })
  const v = await uploadOk(server, { title: 'target' }, { path: clip })
  return {
    server,
    infoHash: v.torrent!.infoHash,
    videoId: v.id,
    async stop() {
      dropAllWs()
      await server.stop()
      await rm(path.dirname(clip), { recursive: true, force: true })
    },
  }
}
