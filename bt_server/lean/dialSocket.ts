// Opening a dialled connection, over TCP or over uTP from the seeder's own uTP port (a peer
// answers a uTP dial at the port it listens on, and learns ours from it): a socket once the peer
// answered, or null (refused, reset, or no answer in `timeoutMs`). The handshake timeout takes
// over from there.
import net from 'node:net'
import type { PeerSocket } from './peer.ts'
import type { UtpListener } from './utp.ts'

export interface DialTarget {
  ip: string
  port: number
  timeoutMs: number
  /** Dial over uTP from this listener's port; null: TCP. */
  utp: UtpListener | null
}

/** Calls `done` once: with the connected socket, or null. */
export function openDial(target: DialTarget, done: (socket: PeerSocket | null) => void): void {
  if (target.utp) {
    openUtp(target, target.utp, done)
    return
  }
  const socket = net.connect({ host: target.ip, port: target.port, noDelay: true })
  socket.setTimeout(target.timeoutMs, () => socket.destroy())
  socket.on('error', () => {})
  let connected = false
  socket.once('connect', () => {
    connected = true
    socket.setTimeout(0)
    done(socket)
  })
  socket.once('close', () => {
    if (!connected) done(null)
  })
}

function openUtp(target: DialTarget, utp: UtpListener, done: (socket: PeerSocket | null) => void): void {
  let connected = false
  let socket: PeerSocket
  try {
    socket = utp.connect(target.ip, target.port, () => {
      connected = true
      clearTimeout(timer)
      done(socket)
    })
  } catch {
    done(null) // closed: shutting down
    return
  }
  const timer = setTimeout(() => socket.destroy(), target.timeoutMs)
  timer.unref()
  socket.on('error', () => {})
  socket.once('close', () => {
    clearTimeout(timer)
    if (!connected) done(null)
  })
}
