// The web port's listening sockets. libuv (Node 24) takes one connection off a listening socket per
// turn of the event loop, and a busy turn first serves every connection that has a request: under
// load, new visitors waited in the kernel's accept queue for seconds (node:http spending 1.3 ms a
// request, 100 connections: the last accepted 13 s in, p99 5.6 s, 2026-12-04). Several sockets on
// the port (SO_REUSEPORT: the kernel spreads new connections over them) take that many per turn;
// the extra ones hand what they accept to the one HTTP server, so its guards, timeouts and
// closeAllConnections see every connection. The kernel picks a socket by hash, so their queues
// are uneven: clients that open a connection per request (announces, nginx in front) then wait a
// little longer at the tail than in one FIFO queue, less so the more sockets (bench:load,
// announces' p99: 22-30 ms with one, 54-85 with 32, 32-45 with 128 and once 83).
import net from 'node:net'
import type http from 'node:http'

/**
 * Sockets on the web port of one process. bench:load on SQLite, 100 kept-alive connections: the
 * video page's p99 3.6-3.7 s with one, 212-244 ms with 128, at the same rate or more.
 */
export const WEB_LISTENERS = 128

export interface WebListeners {
  port: number
  /** Stops the extra sockets (the HTTP server's own closes with server.close()). */
  close(): void
}

const listen = (server: net.Server, options: net.ListenOptions) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options, () => {
      server.off('error', reject)
      resolve()
    })
  })

/**
 * Checks that `port` (0: a free one) is free with a plain bind and gives it back. A group of
 * SO_REUSEPORT sockets would take in a second process of the same user on the same port without
 * a word and share the connections with it; a plain bind first fails there as on any taken port
 * (EADDRINUSE).
 */
export async function claimWebPort(port: number, host: string): Promise<number> {
  const probe = net.createServer()
  await listen(probe, { port, host })
  const chosen = (probe.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return chosen
}

/**
 * Listens on `port` (0: a free one) with `count` sockets. `claimed`: the port was checked by
 * claimWebPort already, in the cluster's primary: a web worker of WEB_WORKERS listens on its own
 * sockets (`exclusive`, not the one Node's cluster shares: there its turns took one connection
 * each as above, bench:load's drawn pages with two workers p99 403-447 ms), beside the other
 * worker's, which a plain bind would refuse.
 */
export async function listenWebPort(
  server: http.Server,
  port: number,
  host: string,
  count = WEB_LISTENERS,
  claimed = false,
): Promise<WebListeners> {
  if (count <= 1 && !claimed) {
    await listen(server, { port, host })
    return { port: (server.address() as net.AddressInfo).port, close: () => {} }
  }
  const chosen = claimed ? port : await claimWebPort(port, host)
  const options = { port: chosen, host, reusePort: true, exclusive: claimed }
  const extras: net.Server[] = []
  const close = () => {
    for (const s of extras) s.close()
  }
  try {
    await listen(server, options)
    for (let i = 1; i < count; i++) {
      // As http.Server makes its own sockets: half-open allowed (HTTP needs it), no Nagle delay.
      const extra = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
        server.emit('connection', socket),
      )
      extras.push(extra)
      await listen(extra, options)
    }
  } catch (err) {
    close()
    if (server.listening) server.close()
    throw err
  }
  return { port: chosen, close }
}
