// The ceiling for bench:load: node:http alone, answering every request with the same bytes (a
// video page fetched from the site once), with the headers a page carries and no framework,
// database or template. What Node itself costs per page on this machine; the site's rows read
// against it. Usage: node plain-page.ts FILE  (prints `PORT <n>` once listening on 127.0.0.1).
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const body = readFileSync(process.argv[2]!)
const headers = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Length': String(body.length),
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
}
const server = createServer((_req, res) => {
  res.writeHead(200, headers)
  res.end(body)
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address && typeof address === 'object') console.log(`PORT ${address.port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
