// The seeder's HTTP announces over a kept connection that the tracker has closed. opentracker
// closes each connection after its reply; when the next announce picks that connection before
// its end of file is read, the request fails without reaching the tracker ("socket hang up").
// Here a tracker keeps the first connection open after its first reply and closes it, unanswered,
// on the second request: the same situation, every time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { TrackerClient } from '../../bt_server/lean/trackerClient.ts'
import type { AnnounceParams } from '../../src/bittorrent/tracker/announce.ts'

const params: AnnounceParams = {
  infoHash: Buffer.alloc(20, 1),
  peerId: Buffer.alloc(20, 2),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 0,
  event: 'started',
  numwant: 50,
  key: 7,
}
const REPLY = 'd8:completei1e10:incompletei0e8:intervali1800e5:peers0:e'

/** A tracker that answers each request on a connection until `hangUpOn(connection, request)` says to close instead. */
async function tracker(hangUpOn: (connection: number, request: number) => boolean) {
  let connections = 0
  let requests = 0
  const server = net.createServer((socket) => {
    const connection = ++connections
    let onThis = 0
    let buffered = ''
    socket.on('data', (d) => {
      buffered += d.toString('latin1')
      while (buffered.includes('\r\n\r\n')) {
        buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4)
        requests++
        if (hangUpOn(connection, ++onThis)) {
          socket.destroy()
          return
        }
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${REPLY.length}\r\nConnection: keep-alive\r\n\r\n${REPLY}`)
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/announce`
  return {
    url,
    counts: () => ({ connections, requests }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

test('an announce on a kept connection the tracker closed is sent again at once on a new one', async (t) => {
  const tr = await tracker((connection, request) => connection === 1 && request === 2)
  const client = new TrackerClient()
  t.after(async () => {
    client.close()
    await tr.close()
  })
  const first = await client.announce(tr.url, params)
  assert.equal(first.ok, true)
  const second = await client.announce(tr.url, { ...params, event: 'update' })
  assert.equal(second.ok, true, 'the second announce got its reply')
  assert.deepEqual(tr.counts(), { connections: 2, requests: 3 }, 'the lost request went again, on a second connection')
})

test('a tracker that hangs up on a new connection is not asked again: the failure is reported', async (t) => {
  const tr = await tracker(() => true)
  const client = new TrackerClient()
  t.after(async () => {
    client.close()
    await tr.close()
  })
  await assert.rejects(client.announce(tr.url, params), /socket hang up|ECONNRESET/)
  assert.deepEqual(tr.counts(), { connections: 1, requests: 1 }, 'one try: the back-off decides when the next is')
})
