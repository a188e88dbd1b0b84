// A TCP proxy between HTTP clients and a test server that counts, on its own, the body bytes of
// every response to GET /media/… or /seed/… (the file routes: what reached the client's side of the wire, headers left out),
// by reading the HTTP/1.1 framing of both directions. The independent count the offload tests
// hold the server's own against. Responses must be framed by Content-Length (the site's are);
// anything else is recorded in `problems`. What it counts has been handed to the client's socket
// (a client that aborts has not read the last of it).
import net from 'node:net'

export interface CountingProxy {
  port: number
  /** Body bytes of /media and /seed responses that passed, in all. */
  mediaBytes(): number
  problems: string[]
  close(): Promise<void>
}

const HEAD_END = Buffer.from('\r\n\r\n')

export async function startCountingProxy(targetPort: number, host = '127.0.0.1'): Promise<CountingProxy> {
  let media = 0
  const problems: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port: targetPort })
    sockets.add(client).add(upstream)
    // Requests in order (HTTP/1.1 answers them in order): is each one a GET or HEAD of /media?
    const asked: { media: boolean; head: boolean }[] = []
    let reqBuf = Buffer.alloc(0)
    client.on('data', (d: Buffer) => {
      upstream.write(d)
      reqBuf = Buffer.concat([reqBuf, d])
      // Request bodies are not expected here (GETs only); a head is up to the blank line.
      for (let end = reqBuf.indexOf(HEAD_END); end >= 0; end = reqBuf.indexOf(HEAD_END)) {
        const line = reqBuf.subarray(0, reqBuf.indexOf('\r\n')).toString('latin1')
        const [method = '', target = ''] = line.split(' ')
        asked.push({ media: target.startsWith('/media/') || target.startsWith('/seed/'), head: method === 'HEAD' })
        reqBuf = reqBuf.subarray(end + 4)
      }
    })
    let resBuf = Buffer.alloc(0)
    let bodyLeft = 0 // bytes of the current response body still to pass
    let counting = false
    // With backpressure: a slow client slows the server, as it would without the proxy.
    client.on('drain', () => upstream.resume())
    upstream.on('data', (d: Buffer) => {
      if (!client.write(d)) upstream.pause()
      let chunk = d
      while (chunk.length > 0) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, chunk.length)
          if (counting) media += n
          bodyLeft -= n
          chunk = chunk.subarray(n)
          continue
        }
        resBuf = Buffer.concat([resBuf, chunk])
        chunk = Buffer.alloc(0)
        const end = resBuf.indexOf(HEAD_END)
        if (end < 0) break
        const head = resBuf.subarray(0, end).toString('latin1')
        chunk = resBuf.subarray(end + 4)
        resBuf = Buffer.alloc(0)
        const status = Number(head.slice(9, 12))
        const req = asked.shift() ?? { media: false, head: false }
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1]
        const noBody = req.head || status === 204 || status === 304 || (status >= 100 && status < 200)
        if (noBody) continue
        if (length === undefined) {
          problems.push(`a response without Content-Length: ${head.split('\r\n')[0]}`)
          bodyLeft = Number.POSITIVE_INFINITY
        } else bodyLeft = Number(length)
        counting = req.media
      }
    })
    const closeBoth = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const s of [client, upstream]) {
      s.on('close', closeBoth)
      s.on('error', closeBoth)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    mediaBytes: () => media,
    problems,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
