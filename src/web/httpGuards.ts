// The web port's HTTP server with its bounds: connection caps (connectionGuard.ts), a header
// timeout, and a minimum rate for request bodies (slowBodyGuard.ts). What a stranger can hold
// open is bounded, so pages, the web seed and /announce keep answering everyone else.
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Config } from '../config.ts'
import type { Refusals } from '../refusals.ts'
import { ConnectionGuard } from './connectionGuard.ts'
import { SlowBodyGuard } from './slowBodyGuard.ts'
import { WEB_LISTENERS } from './webListeners.ts'

export interface GuardedServer {
  server: http.Server
  connections: ConnectionGuard
  stop(): void
}

export function createGuardedServer(
  web: Config['web'],
  trustProxy: boolean,
  refusals: Refusals,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): GuardedServer {
  const headersTimeoutMs = web.headersTimeoutSeconds * 1000
  const bodies = new SlowBodyGuard(
    { minBytes: web.bodyMinKib * 1024, windowMs: web.bodyWindowSeconds * 1000 },
    refusals,
  )
  // Node checks the header timeout on this interval (30 s by default, which would let a trickled
  // header live up to timeout + 30 s).
  const server = http.createServer(
    { connectionsCheckingInterval: Math.min(2000, Math.max(250, headersTimeoutMs / 4)) },
    (req, res) => {
      bodies.watch(req, res)
      handler(req, res)
    },
  )
  // Uploads of many gigabytes take long: no overall request timeout (the body rate bounds them).
  server.requestTimeout = 0
  server.headersTimeout = headersTimeoutMs
  server.keepAliveTimeout = 5_000

  const connections = new ConnectionGuard(
    { maxTotal: web.maxConnections, maxPerAddress: trustProxy ? 0 : web.maxConnectionsPerAddress },
    refusals,
  )
  // Before Node's own listener: a refused socket is closed before any of it is parsed.
  server.prependListener('connection', (socket: Socket) => {
    connections.admit(socket)
  })

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Node's timeout of the headers (requestTimeout is off, so it can only be that one).
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') refusals.add('web_headers_timeout')
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage
    if (socket.writable && !inFlight?.headersSent && err.code !== 'ECONNRESET') {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    socket.destroy()
  })

  return { server, connections, stop: () => bodies.stop() }
}

/**
 * A start-up warning when WEB_MAX_CONNECTIONS cannot be honoured: each connection may hold a
 * second descriptor (the file it serves or receives), plus the web port's listening sockets and
 * some for the database and the rest. `listeners`: the web port's sockets this process holds
 * (none in the owner of web workers).
 * Linux only (/proc/self/limits); null when fine or unknown.
 */
export function openFilesWarning(
  maxConnections: number,
  limitsText: string | null,
  listeners = WEB_LISTENERS,
): string | null {
  const soft = limitsText ? /^Max open files\s+(\d+|unlimited)/m.exec(limitsText)?.[1] : undefined
  if (!soft || soft === 'unlimited') return null
  const needed = 2 * maxConnections + 64 + listeners
  if (Number(soft) >= needed) return null
  return `WEB_MAX_CONNECTIONS=${maxConnections} needs about ${needed} open files but this process may open ${soft} (ulimit -n): raise the limit (LimitNOFILE= under systemd) or lower WEB_MAX_CONNECTIONS`
}
