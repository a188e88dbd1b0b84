// The bounds' building blocks on their own: address keys, connection caps, the failed-password
// bucket, the hashing semaphore, and the HTTP server's header timeout and body rate.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import net, { type Socket } from 'node:net'
import { addressKey } from '../../src/web/clientAddress.ts'
import { ConnectionGuard } from '../../src/web/connectionGuard.ts'
import { FailureThrottle } from '../../src/auth/failureThrottle.ts'
import { HashGate, HashGateFull } from '../../src/auth/hashGate.ts'
import { createGuardedServer, openFilesWarning } from '../../src/web/httpGuards.ts'
import { queuedConnectionsWarning } from '../../src/cluster/webWorkers.ts'
import { Refusals } from '../../src/refusals.ts'
import { loadConfig } from '../../src/config.ts'

test('address keys: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64', () => {
  assert.equal(addressKey('203.0.113.7'), '203.0.113.7')
  assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7')
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
  assert.equal(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
  assert.equal(addressKey('2001:0db8:0001:0002::'), '2001:db8:1:2::/64')
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64')
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
  assert.equal(addressKey('::1'), '0:0:0:0::/64')
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'))
  assert.equal(addressKey(undefined), 'unknown')
})

class FakeSocket extends EventEmitter {
  destroyed = false
  remoteAddress: string
  bytesRead: number
  bytesWritten = 0
  constructor(address: string, bytes = 0) {
    super()
    this.remoteAddress = address
    this.bytesRead = bytes
  }
  resetAndDestroy() {
    this.destroy()
  }
  destroy() {
    if (!this.destroyed) {
      this.destroyed = true
      queueMicrotask(() => this.emit('close'))
    }
  }
}
const sock = (address: string, bytes = 0) => new FakeSocket(address, bytes) as unknown as Socket & FakeSocket

test('connection guard: per-address cap refuses the newcomer, counted', () => {
  const refusals = new Refusals()
  const guard = new ConnectionGuard({ maxTotal: 100, maxPerAddress: 3 }, refusals)
  const mine = [1, 2, 3].map(() => sock('10.0.0.1'))
  for (const s of mine) assert.equal(guard.admit(s), true)
  const fourth = sock('10.0.0.1')
  assert.equal(guard.admit(fourth), false)
  assert.equal(fourth.destroyed, true)
  assert.equal(guard.admit(sock('::ffff:10.0.0.1')), false, 'the same address, IPv4-mapped')
  assert.equal(guard.admit(sock('10.0.0.2')), true)
  assert.equal(refusals.get('web_connections_per_address'), 2)
})

test('connection guard: at the total cap the biggest holder gives up its least-progress connection', async () => {
  const refusals = new Refusals()
  const guard = new ConnectionGuard({ maxTotal: 5, maxPerAddress: 0 }, refusals)
  const big = [sock('10.0.0.1', 5000), sock('10.0.0.1', 10), sock('10.0.0.1', 900)]
  const small = [sock('10.0.0.2'), sock('10.0.0.2')]
  for (const s of [...big, ...small]) assert.equal(guard.admit(s), true)
  // A newcomer from the biggest holder is refused: it may not push out others.
  const greedy = sock('10.0.0.1')
  assert.equal(guard.admit(greedy), false)
  assert.equal(greedy.destroyed, true)
  // A newcomer from a quiet address gets in; the biggest holder's quietest connection goes.
  assert.equal(guard.admit(sock('10.0.0.3')), true)
  assert.deepEqual(
    big.map((s) => s.destroyed),
    [false, true, false],
  )
  assert.equal(guard.open, 5)
  assert.equal(refusals.get('web_connections_total'), 2)
  // Closed sockets free their place.
  small[0]!.destroy()
  await new Promise((r) => setImmediate(r))
  assert.equal(guard.open, 4)
  assert.equal(guard.admit(sock('10.0.0.4')), true)
})

test('failure throttle: 10 attempts, then a wait; right passwords are given back; it refills', () => {
  const t = new FailureThrottle({ maxFailures: 10, windowMs: 600_000, maxTracked: 100 })
  const now = 1_000_000
  for (let i = 0; i < 10; i++) assert.equal(t.reserve('a', now), 0)
  assert.equal(t.reserve('a', now), 60, 'one attempt back every 60 s')
  assert.equal(t.reserve('b', now), 0, 'another address is not affected')
  t.refund('b', now)
  for (let i = 0; i < 10; i++) assert.equal(t.reserve('b', now), 0, 'a refunded attempt does not count')
  assert.equal(t.reserve('a', now + 60_000), 0, 'refilled after 60 s')
  assert.ok(t.reserve('a', now + 60_000) > 0)
})

test('failure throttle: memory bounded, forgetting counted', () => {
  const t = new FailureThrottle({ maxFailures: 2, windowMs: 60_000, maxTracked: 3 })
  let forgotten = 0
  t.onForget = () => {
    forgotten++
  }
  for (const a of ['a', 'b', 'c', 'd', 'e']) t.reserve(a, 1)
  assert.equal(t.tracked, 3)
  assert.equal(forgotten, 2)
  assert.equal(new FailureThrottle({ maxFailures: 0, windowMs: 1, maxTracked: 1 }).reserve('x'), 0, '0 = no limit')
})

test('hash gate: at most N run, a bounded queue waits, beyond it refused at once', async () => {
  const gate = new HashGate(2, 1)
  let running = 0
  let peak = 0
  const release: (() => void)[] = []
  const job = () =>
    gate.run(
      () =>
        new Promise<void>((resolve) => {
          running++
          peak = Math.max(peak, running)
          release.push(() => {
            running--
            resolve()
          })
        }),
    )
  const a = job(),
    b = job(),
    c = job()
  await assert.rejects(job(), HashGateFull)
  assert.equal(gate.running, 2)
  assert.equal(gate.queued, 1)
  release.shift()!()
  await a
  await new Promise((r) => setImmediate(r))
  assert.equal(gate.running, 2, 'the queued job took the freed slot')
  release.shift()!()
  release.shift()!()
  await Promise.all([b, c])
  assert.equal(peak, 2)
  assert.equal(gate.running, 0)
})

async function guardedServer(env: Record<string, string>, handler: Parameters<typeof createGuardedServer>[3]) {
  const refusals = new Refusals()
  const g = createGuardedServer(loadConfig(env).web, false, refusals, handler)
  await new Promise<void>((r) => g.server.listen(0, '127.0.0.1', () => r()))
  const port = (g.server.address() as net.AddressInfo).port
  return {
    refusals,
    port,
    close: () =>
      new Promise<void>((r) => {
        g.stop()
        g.server.close(() => r())
        g.server.closeAllConnections()
      }),
  }
}

/** Sends `head`, then `chunk` every `everyMs`, and collects what comes back until the server closes. */
function trickle(port: number, head: string, chunk: string, everyMs: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(head))
    const timer = setInterval(() => s.write(chunk), everyMs)
    let got = ''
    s.on('data', (d) => {
      got += d
    })
    s.on('error', () => {})
    s.on('close', () => {
      clearInterval(timer)
      resolve(got)
    })
  })
}

test('header timeout: headers trickled past WEB_HEADERS_TIMEOUT_SECONDS get 408, counted', async () => {
  const srv = await guardedServer({ WEB_HEADERS_TIMEOUT_SECONDS: '1' }, (_req, res) => res.end('ok'))
  try {
    const started = Date.now()
    const answer = await trickle(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ', 'a', 200)
    assert.match(answer, /^HTTP\/1\.1 408 /)
    // The timeout, then at most one check interval (250 ms for 1 s) late: ~1.26 s measured here.
    const ms = Date.now() - started
    assert.ok(ms >= 1000 && ms < 2000, `408 after ${ms} ms`)
    assert.equal(srv.refusals.get('web_headers_timeout'), 1)
  } finally {
    await srv.close()
  }
})

test('body rate: a trickled body gets 408 body_too_slow; a steady one and one the server holds back pass', async () => {
  const env = { WEB_BODY_MIN_KIB: '4', WEB_BODY_WINDOW_SECONDS: '1' }
  const srv = await guardedServer(env, (req, res) => {
    // /later reads nothing for 4.5 s: the client is held back by us, not slow.
    const read = () => {
      let n = 0
      req.on('data', (c: Buffer) => {
        n += c.length
      })
      req.on('end', () => res.end(`got ${n}`))
    }
    if (req.url === '/later') setTimeout(read, 4500)
    else read()
  })
  try {
    const slow = await trickle(srv.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', 'a', 200)
    assert.match(slow, /^HTTP\/1\.1 408 /)
    assert.match(slow, /"code":"body_too_slow"/)
    assert.equal(srv.refusals.get('web_body_too_slow'), 1)

    // 8 KiB every 500 ms (16 KiB/s) for 3 s: above the minimum, never dropped.
    const total = 6 * 8192
    const steady = await new Promise<string>((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1', () =>
        s.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\nConnection: close\r\n\r\n`),
      )
      let sent = 0
      const timer = setInterval(() => {
        s.write(Buffer.alloc(8192, 1))
        sent += 8192
        if (sent >= total) clearInterval(timer)
      }, 500)
      let got = ''
      s.on('data', (d) => {
        got += d
      })
      s.on('close', () => {
        clearInterval(timer)
        resolve(got)
      })
    })
    assert.match(steady, /^HTTP\/1\.1 200 [\s\S]*got 49152$/)

    const big = 2 * 1024 * 1024
    const held = await new Promise<string>((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1', () => {
        s.write(`POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: ${big}\r\nConnection: close\r\n\r\n`)
        s.write(Buffer.alloc(big, 2))
      })
      let got = ''
      s.on('data', (d) => {
        got += d
      })
      s.on('close', () => resolve(got))
    })
    assert.match(held, /^HTTP\/1\.1 200 [\s\S]*got 2097152$/)
    assert.equal(srv.refusals.get('web_body_too_slow'), 1, 'only the trickled one')
  } finally {
    await srv.close()
  }
})

test('a start-up warning when the open-file limit is below what WEB_MAX_CONNECTIONS needs', () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 524288               files\n`
  assert.match(
    openFilesWarning(400, limits('512'))!,
    /WEB_MAX_CONNECTIONS=400 needs about 992 open files but this process may open 512/,
  )
  assert.equal(openFilesWarning(400, limits('1024')), null, 'the default 1,024 is enough for the default 400')
  // Counted with the web port's sockets: 128 in a web process, none in the owner of web workers.
  assert.match(openFilesWarning(470, limits('1024'))!, /needs about 1132 open files/)
  assert.equal(openFilesWarning(470, limits('1024'), 0), null)
  assert.equal(openFilesWarning(400, limits('unlimited')), null)
  assert.equal(openFilesWarning(400, null), null)
})

test('with web workers, a start-up warning while the kernel resets what a stopping worker had queued', () => {
  assert.match(queuedConnectionsWarning('0\n')!, /net\.ipv4\.tcp_migrate_req is not 1/)
  assert.match(queuedConnectionsWarning(null)!, /tcp_migrate_req/, 'a kernel without it (before 5.14)')
  assert.equal(queuedConnectionsWarning('1\n'), null)
})
