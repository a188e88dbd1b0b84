// The one place that touches utp-native (uTP over UDP, the same port number as TCP). Its server
// object must never be called into once its native handle is gone: `unref()` after the close
// has completed aborts the whole process (a failed napi_get_buffer_info, not an exception), which
// is what a second shutdown did (SIGINT from the terminal, then SIGTERM from the web app). So the
// adapter unrefs before closing, closes once, and ignores every later call.
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'

/** A uTP connection: a Duplex with the peer's address (utp-native's Connection). */
export type UtpSocket = Duplex & { remoteAddress?: string; remotePort?: number }

interface NativeServer {
  listen(port: number, cb: () => void): void
  close(): void
  unref(): void
  on(ev: 'error', fn: (err: Error) => void): void
  removeAllListeners(ev: string): void
}

export interface UtpListener {
  /** Stops accepting; open connections finish on their own without holding the process. Idempotent. */
  close(): void
}

/** Listens for uTP on `port`; rejects if utp-native is missing or the port is taken. */
export async function listenUtp(
  port: number,
  onConnection: (socket: UtpSocket) => void,
  onError: (err: Error) => void,
): Promise<UtpListener> {
  const utp = createRequire(import.meta.url)('utp-native') as { createServer(fn: (s: UtpSocket) => void): NativeServer }
  const server = utp.createServer(onConnection)
  await new Promise<void>((resolve, reject) => {
    server.on('error', reject)
    server.listen(port, () => resolve())
  })
  server.removeAllListeners('error')
  server.on('error', onError)
  let closed = false
  return {
    close() {
      if (closed) return
      closed = true
      // Unref while the handle still exists, then close: the close completes once the last
      // connection has gone, without keeping the event loop alive meanwhile.
      server.unref()
      server.close()
    },
  }
}
