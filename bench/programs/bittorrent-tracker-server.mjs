// The plain bittorrent-tracker server for bench/tracker.ts, as its README shows it: no filter,
// one transport on (BT_MODE=http or udp). Prints {"port":N} once listening.
import Server from 'bittorrent-tracker/server'
const mode = process.env.BT_MODE
const server = new Server({ http: mode === 'http', udp: mode === 'udp', ws: false, stats: false })
server.on('error', (err) => {
  console.error('bittorrent-tracker error: ' + err.message)
  process.exit(1)
})
server.on('warning', () => {})
server.on('listening', () => {
  const port = mode === 'http' ? server.http.address().port : server.udp4.address().port
  console.log(JSON.stringify({ port }))
})
server.listen(0, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' })
process.on('SIGTERM', () => server.close(() => process.exit(0)))
