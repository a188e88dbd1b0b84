// The uTP adapter (bt_server/lean/utp.ts) and the seeder's dial over it (lean/dialSocket.ts), with
// utp-native's libutp at both ends on loopback: a dial connects and carries bytes both ways; a
// connection dropped before or after the peer's data reaches the peer as a reset (libutp takes one
// by its connection id), not the silence or the FIN libutp's own close gives; a dial to a port no
// one answers gives up at its time-out; a closed listener refuses to dial instead of aborting.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { openDial } from '../../bt_server/lean/dialSocket.ts'
import type { PeerSocket } from '../../bt_server/lean/peer.ts'
import { listenUtp, type UtpListener, type UtpSocket } from '../../bt_server/lean/utp.ts'
import { freePortTcpUdp } from '../helpers/server.ts'

async function listener(t: TestContext, onConnection: (s: UtpSocket) => void): Promise<UtpListener & { port: number }> {
  const port = await freePortTcpUdp()
  // A reset from the other end is an 'error' (the seeder's Peer listens for one too).
  const l = await listenUtp(
    port,
    (s) => onConnection(s.on('error', () => {})),
    (err) => assert.fail(err),
  )
  t.after(() => l.close())
  return Object.assign(l, { port })
}

function dial(from: UtpListener, port: number, timeoutMs = 5000): Promise<PeerSocket | null> {
  return new Promise((resolve) => openDial({ ip: '127.0.0.1', port, timeoutMs, utp: from }, resolve))
}

/** How `socket` ended: the error it closed with (its code), or 'end' for an orderly close; and when. */
function ending(socket: PeerSocket): Promise<{ how: string; ms: number }> {
  const start = Date.now()
  let how = 'end'
  socket.on('error', (err: NodeJS.ErrnoException) => {
    how = err.code ?? err.message
  })
  socket.resume()
  return new Promise((resolve) => socket.once('close', () => resolve({ how, ms: Date.now() - start })))
}

test('a dial over uTP connects and carries bytes both ways', { timeout: 10_000 }, async (t) => {
  const server = await listener(t, (s) => s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('re:'), d]))))
  const client = await listener(t, () => {})
  const socket = await dial(client, server.port)
  assert.ok(socket, 'connected')
  const reply = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())))
  socket.write('hello')
  assert.equal(await reply, 're:hello')
  socket.destroy()
})

test('a connection dropped as it is accepted reaches the dialler as a reset it reports', {
  timeout: 10_000,
}, async (t) => {
  const server = await listener(t, (s) => s.destroy())
  const client = await listener(t, () => {})
  const socket = await dial(client, server.port)
  assert.ok(socket, 'libutp answered the SYN before the seeder dropped it')
  // Two resets for a connection the peer has sent nothing on (utpPacket.ts): libutp takes the first,
  // and must still close when the second comes. libutp reports a close at its next 500 ms check.
  const end = await ending(socket)
  assert.equal(end.how, 'UTP_ECONNRESET', JSON.stringify(end))
  assert.ok(end.ms < 1500, `closed ${end.ms} ms after connecting`)
})

test('a connection dropped after the peer sent data reaches the peer as a reset, not a FIN', {
  timeout: 10_000,
}, async (t) => {
  const server = await listener(t, (s) => s.once('data', () => s.destroy()))
  const client = await listener(t, () => {})
  const socket = await dial(client, server.port)
  assert.ok(socket, 'connected')
  const end = ending(socket)
  socket.write('handshake')
  const got = await end
  assert.equal(got.how, 'UTP_ECONNRESET', JSON.stringify(got))
  assert.ok(got.ms < 1500, `closed ${got.ms} ms after the write`)
})

test('a dial no one answers gives up at its time-out; a closed listener does not dial', {
  timeout: 10_000,
}, async (t) => {
  const client = await listener(t, () => {})
  const nobody = await freePortTcpUdp()
  const start = Date.now()
  assert.equal(await dial(client, nobody, 600), null)
  const took = Date.now() - start
  assert.ok(took >= 550 && took < 3000, `gave up after ${took} ms`)
  client.close()
  assert.equal(await dial(client, nobody, 600), null, 'closed: no dial (and no abort)')
})
