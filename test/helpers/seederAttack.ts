// What the seeder attack tests (test/e2e/attack-seeder-*.test.ts) share: raw peer-wire sockets
// as the attacker (bytes written by hand, not with the seeder's own codec), the seeder
// process's RSS, and the refusal counters the web app shows in /metrics.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import net from 'node:net'

/** VmRSS of a process in MB. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1])
  assert.ok(kb > 0, `no VmRSS for pid ${pid}`)
  return kb / 1024
}

/** Samples a process's RSS every `everyMs` until stopped; the highest seen. */
export function rssPeak(pid: number, everyMs = 100): { stop(): Promise<number> } {
  let peak = 0
  let last: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    last = rssMb(pid).then(
      (mb) => {
        peak = Math.max(peak, mb)
      },
      () => {},
    )
  }, everyMs)
  return {
    async stop() {
      clearInterval(timer)
      await last
      return peak
    },
  }
}

/** `seedcast_refused_total{bound="<bound>"}` from /metrics (0 if absent). */
export async function refused(server: { url: string }, bound: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const m = new RegExp(`^seedcast_refused_total\\{bound="${bound}"\\} (\\d+)$`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

/** A plain BitTorrent handshake; `extended` sets the BEP 10 bit. */
export function handshakeBytes(infoHash: string, opts: { extended?: boolean; peerId?: string } = {}): Buffer {
  const reserved = Buffer.alloc(8)
  if (opts.extended) reserved[5] = 0x10
  const peerId = Buffer.from(
    (opts.peerId ?? `-AT0001-${Math.random().toString(36).slice(2)}`).padEnd(20, 'x').slice(0, 20),
  )
  return Buffer.concat([
    Buffer.from([19]),
    Buffer.from('BitTorrent protocol'),
    reserved,
    Buffer.from(infoHash, 'hex'),
    peerId,
  ])
}

/** <length><id><payload> */
function message(id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(1 + payload.length, 0)
  head[4] = id
  return Buffer.concat([head, payload])
}

export const INTERESTED = message(2)
export const extended = (extId: number, bencoded: string) =>
  message(20, Buffer.concat([Buffer.from([extId]), Buffer.from(bencoded)]))

/** Opens a TCP connection to the seeder, from `localAddress` (any 127.x.y.z works on Linux). */
export function connect(port: number, localAddress = '127.0.0.1', timeoutMs = 5000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no connection to ${port} from ${localAddress} in ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      resolve(socket)
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/**
 * Connects and handshakes for `infoHash`; resolves once the seeder's handshake has come back
 * (with what else it sent), or with null if the seeder closed the connection first.
 */
export async function handshaken(
  port: number,
  infoHash: string,
  opts: { localAddress?: string; extended?: boolean; timeoutMs?: number } = {},
): Promise<{ socket: net.Socket; received: Buffer } | null> {
  const socket = await connect(port, opts.localAddress)
  socket.on('error', () => {})
  socket.write(handshakeBytes(infoHash, { extended: opts.extended ?? false }))
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no handshake back within ${opts.timeoutMs ?? 5000} ms`))
    }, opts.timeoutMs ?? 5000)
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length < 68) return
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
      resolve({ socket, received: got })
    }
    const onClose = () => {
      clearTimeout(timer)
      resolve(null)
    }
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}

/** Resolves when the socket is closed by the other side, or after `ms` with false. */
export function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}
