import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import {
  addressKey,
  addressText,
  compactAddress,
  compactPeerList,
  ipv4Number,
  isLocalAddress,
  normalizeAddress,
  peerEndpoint,
  socketAddressKey,
} from '../../src/bittorrent/address.ts'

const bytes = (s: string | null) => (s === null ? null : Buffer.from(s, 'latin1').toString('hex'))

test('IPv4 to 6 bytes, IPv4-mapped IPv6 too', () => {
  assert.equal(bytes(compactAddress('192.168.1.20', 6881)), 'c0a801141ae1')
  assert.equal(bytes(compactAddress('0.0.0.0', 1)), '000000000001')
  assert.equal(bytes(compactAddress('255.255.255.255', 65535)), 'ffffffffffff')
  assert.equal(bytes(compactAddress('::ffff:192.168.1.20', 6881)), 'c0a801141ae1')
  assert.equal(bytes(compactAddress('::FFFF:c0a8:0114', 6881)), 'c0a801141ae1')
})

test('ipv4Number: dotted quad or ::ffff: mapped, else -1', () => {
  assert.equal(ipv4Number('203.0.113.200'), 0xcb0071c8)
  assert.equal(ipv4Number('::ffff:203.0.113.200'), 0xcb0071c8)
  assert.equal(ipv4Number('::FFFF:203.0.113.200'), 0xcb0071c8)
  for (const bad of ['::1', '::fffe:1.2.3.4', '2001:db8::1', '1.2.3.4:80', '::ffff:1.2.3'])
    assert.equal(ipv4Number(bad), -1, bad)
})

test('IPv6 forms to 18 bytes', () => {
  assert.equal(bytes(compactAddress('2001:db8::1', 51413)), '20010db8000000000000000000000001c8d5')
  assert.equal(bytes(compactAddress('::1', 80)), '000000000000000000000000000000010050')
  assert.equal(bytes(compactAddress('::', 80)), '000000000000000000000000000000000050')
  assert.equal(bytes(compactAddress('fe80::1%eth0', 80)), 'fe800000000000000000000000000001' + '0050')
  assert.equal(bytes(compactAddress('1:2:3:4:5:6:7:8', 80)), '00010002000300040005000600070008' + '0050')
  assert.equal(bytes(compactAddress('1::', 80)), '00010000000000000000000000000000' + '0050')
  assert.equal(bytes(compactAddress('64:ff9b::192.0.2.33', 80)), '0064ff9b0000000000000000c0000221' + '0050')
})

test('not addresses: null', () => {
  for (const bad of [
    '',
    'localhost',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.4 ',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    ':1',
    '1:',
    'g::1',
    '::1.2.3',
    '1:2:3:4:5:6:7:1.2.3.4',
  ]) {
    assert.equal(compactAddress(bad, 1), null, bad)
  }
})

test('agrees with node:net on random IPv6 text, and text round-trips', () => {
  for (let i = 0; i < 2000; i++) {
    const words = Array.from({ length: 8 }, () => (Math.random() < 0.4 ? 0 : Math.floor(Math.random() * 65536)))
    // Node prints ::a.b.c.d / ::ffff:a.b.c.d forms dotted; those are covered above.
    if (/^0,0,0,0,0,(0|65535)$/.test(words.slice(0, 6).join())) continue
    const full = words.map((w) => w.toString(16)).join(':')
    const compact = compactAddress(full, 4242)!
    assert.equal(compact.length, 18)
    const { ip, port } = addressText(compact)
    assert.equal(port, 4242)
    assert.equal(net.isIPv6(ip), true, ip)
    // Canonical text, as Node's URL/SocketAddress would print it.
    assert.equal(ip, new net.SocketAddress({ address: full, family: 'ipv6' }).address, full)
    assert.equal(compactAddress(ip, 4242), compact)
  }
  assert.deepEqual(addressText(compactAddress('10.1.2.3', 80)!), { ip: '10.1.2.3', port: 80 })
})

test("compactPeerList: the seeder's reading of compact peers writes IPv6 as RFC 5952, as addressText does", () => {
  const cases: [string, string][] = [
    ['::1', '::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::', 'fe80::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ]
  for (const [input, rfc5952] of cases) {
    const compact = compactAddress(input, 6881)!
    assert.equal(addressText(compact).ip, rfc5952, input)
    assert.deepEqual(compactPeerList(Buffer.from(compact, 'latin1'), 6), [{ ip: rfc5952, port: 6881 }], input)
  }
  assert.deepEqual(compactPeerList(Buffer.from(compactAddress('10.1.2.3', 80)!, 'latin1'), 4), [
    { ip: '10.1.2.3', port: 80 },
  ])
})

test('socketAddressKey: addressKey of a socket\'s address, "unknown" once the socket lost it', () => {
  assert.equal(socketAddressKey('::ffff:203.0.113.7'), addressKey('203.0.113.7'))
  assert.equal(socketAddressKey('2001:db8:1:2::9'), '2001:db8:1:2::/64')
  assert.equal(socketAddressKey(undefined), 'unknown')
})

test('normalizeAddress: IPv4-mapped IPv6 in either text form is IPv4; everything else unchanged', () => {
  assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1')
  assert.equal(normalizeAddress('::FFFF:10.1.2.3'), '10.1.2.3')
  assert.equal(normalizeAddress('::ffff:7f00:1'), '127.0.0.1', 'as a peers6 entry is written back (RFC 5952)')
  assert.equal(normalizeAddress('0:0:0:0:0:ffff:c0a8:114'), '0:0:0:0:0:ffff:c0a8:114', 'only the ::ffff: spelling')
  for (const same of ['127.0.0.1', '::1', '2001:db8::1', '::ffff:0:1:2', '::fffe:1.2.3.4', 'not an address'])
    assert.equal(normalizeAddress(same), same, same)
})

test('peerEndpoint: one text per peer whoever dialled: IPv4 plain, IPv6 in brackets', () => {
  assert.equal(peerEndpoint('::ffff:127.0.0.1', 51413), '127.0.0.1:51413')
  assert.equal(peerEndpoint('127.0.0.1', 51413), '127.0.0.1:51413')
  assert.equal(peerEndpoint('::ffff:7f00:1', 6881), '127.0.0.1:6881')
  assert.equal(peerEndpoint('::1', 6881), '[::1]:6881')
  assert.equal(peerEndpoint('2001:db8::1', 80), '[2001:db8::1]:80')
})

test('a dual-stack listener reports loopback as ::ffff:127.0.0.1; the seeder keys it as 127.0.0.1', async () => {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '::', r))
  const seen = new Promise<string>((resolve) =>
    server.once('connection', (s) => {
      resolve(peerEndpoint(s.remoteAddress!, s.remotePort!))
      s.destroy()
    }),
  )
  const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  c.on('error', () => {})
  const local = await new Promise<number>((r) => c.once('connect', () => r(c.localPort!)))
  assert.equal(await seen, `127.0.0.1:${local}`)
  c.destroy()
  server.close()
})

test('isLocalAddress: loopback, private, link-local and unspecified, in IPv4 and IPv6', () => {
  for (const ip of [
    '127.0.0.1',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.0.5',
    '0.0.0.0',
    '::1',
    '::',
    'fd12::1',
    'fc00::1',
    'fe80::1',
    '::ffff:192.168.1.1',
  ])
    assert.equal(isLocalAddress(ip), true, ip)
  for (const ip of ['8.8.8.8', '172.32.0.1', '172.15.0.1', '192.169.0.1', '2001:db8::1', '::ffff:8.8.8.8', 'not an ip'])
    assert.equal(isLocalAddress(ip), false, ip)
})
