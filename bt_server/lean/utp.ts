// The one place that touches utp-native (uTP over UDP, the same port number as TCP). Its server
// object must never be called into once its native handle is gone: `unref()` after the close
// has completed aborts the whole process (a failed napi_get_buffer_info, not an exception), which
// is what a second shutdown did (SIGINT from the terminal, then SIGTERM from the web app). So the
// adapter unrefs before closing, closes once, and ignores every later call.
//
// Closing: utp-native's destroy() is libutp's utp_close(), which libtorrent 2.0 (Debian's, and
// qBittorrent's) never takes for a close, so a peer we dropped only learnt of it from its own
// time-out ("Connection timed out" 2.5-5 s later, then a minute or more before it came back):
// - an accepted connection the peer has sent no data on yet is in libutp's SYN_RECV, where
//   utp_close() frees it without a packet; the peer's next packet then draws a RESET carrying
//   the peer's send id, and libtorrent matches resets on its receive id, so it ignores it;
// - a connected one gets a FIN, but libutp's FIN takes a sequence number and every ack after it
//   carries the next one, which libtorrent 2.0.8 drops as past the end; it reports the close only
//   once its own FIN is acked, so it never does.
// libutp has no call that sends a reset, and its packets never reach JS. But utp-native reads
// every datagram into a JS buffer (the server's `_buffer` at `_offset`) and calls back into JS
// while libutp handles it: the accept, the connect and each read. So the adapter reads the peer's
// connection id and sequence numbers there, and destroy() sends the peer a RESET it accepts from
// the same UDP socket (two while the peer has acked nothing of ours: utpPacket.ts says why), then
// frees the connection.
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import {
  readUtpHeader,
  seqAfter,
  UTP_DATA,
  UTP_HEADER_BYTES,
  UTP_STATE,
  UTP_SYN,
  utpResets,
  type UtpHeader,
} from '../../src/bittorrent/wire/utpPacket.ts'

/** A uTP connection: a Duplex with the peer's address (utp-native's Connection). */
export type UtpSocket = Duplex & { remoteAddress?: string; remotePort?: number }

interface NativeServer {
  listen(port: number, cb: () => void): void
  connect(port: number, host: string): UtpSocket
  send(buf: Buffer, offset: number, len: number, port: number, host: string, cb: (err: Error | null) => void): void
  close(): void
  unref(): void
  on(ev: 'error', fn: (err: Error) => void): void
  on(ev: 'connection', fn: (s: UtpSocket) => void): void
  removeAllListeners(ev: string): void
  /** Where utp-native reads the next datagram into (index.js; the native side shares it). */
  _buffer: Buffer
  _offset: number
}

export interface UtpListener {
  /** A uTP connection from our port to `host:port`; `onConnect` once the peer answered (else 'close'). Throws once closed. */
  connect(host: string, port: number, onConnect: () => void): UtpSocket
  /** Stops accepting; open connections finish on their own without holding the process. Idempotent. */
  close(): void
}

/** libutp frees a closed connection at its next timeout check, every 500 ms. */
const SECOND_RESET_MS = 750

/** What a reset needs to know of the peer, kept up to date from its packets. */
interface PeerIds {
  /** The connection id on the peer's packets to us (checks a packet is this connection's). */
  incomingId: number
  /** The peer's receive id: what our packets carry. */
  peerId: number
  /** The peer's latest sequence number we have seen. */
  peerSeq: number
  /** Our latest sequence number the peer acked; null: none yet (it has sent only its SYN). */
  ourSeqAcked: number | null
}

/** The header of the datagram utp-native is handling right now (valid inside its callbacks only). */
function current(server: NativeServer): UtpHeader | null {
  return readUtpHeader(server._buffer.subarray(server._offset, server._offset + UTP_HEADER_BYTES))
}

/** Follows the peer's data packets, and makes destroy() without an error reset the peer first. */
/** `inbound`: accepted (in libutp's SYN_RECV until the peer's first data), else dialled and answered. */
function resetOnDestroy(
  server: NativeServer,
  socket: UtpSocket,
  inbound: boolean,
  ids: () => PeerIds | null,
  sendable: () => boolean,
) {
  let gotData = false
  socket.on('data', () => {
    gotData = true
    const p = ids()
    const h = current(server)
    if (!p || h?.type !== UTP_DATA || h.connectionId !== p.incomingId) return
    if (seqAfter(h.seq, p.peerSeq)) p.peerSeq = h.seq
    if (p.ourSeqAcked === null || seqAfter(h.ack, p.ourSeqAcked)) p.ourSeqAcked = h.ack
  })
  const hardDestroy = socket.destroy.bind(socket)
  let reset = false
  /** Closed in SYN_RECV: libutp freed it without marking the close as asked for. */
  let closedUnconnected = false
  socket.destroy = (err?: Error | null) => {
    const p = ids()
    if (reset) {
      // The peer's answer to our reset, on a connection closed before it sent data: libutp turns
      // it from CS_DESTROY into CS_RESET and would keep it for ever; a second utp_close() frees
      // it. Never otherwise: utp_close() on a CS_DESTROY one fails an assertion (abort).
      if (err && closedUnconnected && (socket as UtpSocket & { _handle: unknown })._handle) {
        closedUnconnected = false
        socket.destroyed = false
        hardDestroy(err)
      }
      return socket
    }
    if (err || socket.destroyed || !p || !sendable() || socket.remotePort === undefined) {
      return hardDestroy(err ?? undefined)
    }
    reset = true
    closedUnconnected = inbound && !gotData
    socket.on('error', () => {})
    const [first, second] = utpResets(p.peerId, p.ourSeqAcked, p.peerSeq)
    const port = socket.remotePort
    const host = socket.remoteAddress ?? ''
    // Sent now (libuv tries at once), so it goes out before the FIN utp_close() may send.
    server.send(first!, 0, first!.length, port, host, () => {})
    if (second) {
      // Once a libutp peer has freed the connection the first one closed: a second reset while
      // it is closing would put it back in CS_RESET, where it stays for good and never reports.
      const later = setTimeout(() => {
        if (sendable()) server.send(second, 0, second.length, port, host, () => {})
      }, SECOND_RESET_MS)
      later.unref()
    }
    return hardDestroy()
  }
}

/** Listens for uTP on `port`; rejects if utp-native is missing or the port is taken. */
export async function listenUtp(
  port: number,
  onConnection: (socket: UtpSocket) => void,
  onError: (err: Error) => void,
): Promise<UtpListener> {
  const utp = createRequire(import.meta.url)('utp-native') as { createServer(): NativeServer }
  const server = utp.createServer()
  let closing = false
  server.on('connection', (socket) => {
    // Emitted on the tick after libutp accepted the SYN, before the next datagram is read.
    const syn = current(server)
    const ids: PeerIds | null =
      syn?.type === UTP_SYN
        ? { incomingId: (syn.connectionId + 1) & 0xffff, peerId: syn.connectionId, peerSeq: syn.seq, ourSeqAcked: null }
        : null
    resetOnDestroy(
      server,
      socket,
      true,
      () => ids,
      () => !closing,
    )
    onConnection(socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.on('error', reject)
    server.listen(port, () => resolve())
  })
  server.removeAllListeners('error')
  server.on('error', onError)
  let closed = false
  return {
    connect(host, port, onConnect) {
      // A closed server's handle is gone: calling into it would abort the process.
      if (closed) throw new Error('the uTP listener is closed')
      const socket = server.connect(port, host)
      let ids: PeerIds | null = null
      socket.once('connect', () => {
        // Inside libutp's handling of the peer's answer to our SYN (an ST_STATE).
        const h = current(server)
        if (h?.type === UTP_STATE) {
          const incomingId = h.connectionId
          ids = { incomingId, peerId: (incomingId + 1) & 0xffff, peerSeq: (h.seq - 1) & 0xffff, ourSeqAcked: h.ack }
        }
        onConnect()
      })
      // Before the peer answered there is nothing to reset (libutp just drops the SYN).
      resetOnDestroy(
        server,
        socket,
        false,
        () => ids,
        () => !closing,
      )
      return socket
    },
    close() {
      if (closed) return
      closed = true
      // Unref while the handle still exists, then close: the close completes once the last
      // connection has gone, without keeping the event loop alive meanwhile.
      server.unref()
      // After this tick: the resets of connections destroyed right after this call go out first
      // (a closing server refuses to send, and closes once what it sends has gone).
      setImmediate(() => {
        closing = true
        server.close()
      })
    },
  }
}
