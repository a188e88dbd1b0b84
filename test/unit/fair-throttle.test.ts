// The shared upload cap (src/fairThrottle.ts) with senders that always want more: the total
// holds the rate, senders waiting get equal turns whatever their unit, a rate change applies to
// senders already waiting, and rate 0 lets everything through at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FairThrottle, type ThrottleWaiter } from '../../src/fairThrottle.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Sends `unit` bytes at a time for as long as it runs, asking again at once after each grant. */
class Greedy implements ThrottleWaiter {
  sent = 0
  private running = true
  private readonly throttle: FairThrottle
  private readonly unit: number
  constructor(throttle: FairThrottle, unit: number) {
    this.throttle = throttle
    this.unit = unit
  }
  start(): void {
    // Like a peer's pump: send while the bucket says yes, then wait for the grant.
    while (this.running && this.throttle.take(this, this.unit)) this.sent += this.unit
  }
  tokensGranted(bytes: number): void {
    this.sent += bytes
    setImmediate(() => this.start())
  }
  stop(): void {
    this.running = false
    this.throttle.forget(this)
  }
}

test('the total of several senders holds the rate', async () => {
  const rate = 4_000_000
  const throttle = new FairThrottle()
  throttle.setRate(rate)
  const senders = [new Greedy(throttle, 16_384), new Greedy(throttle, 16_384), new Greedy(throttle, 65_536)]
  for (const s of senders) s.start()
  await sleep(300)
  const from = senders.reduce((n, s) => n + s.sent, 0)
  const t0 = performance.now()
  await sleep(1500)
  const sent = senders.reduce((n, s) => n + s.sent, 0) - from
  const measured = sent / ((performance.now() - t0) / 1000)
  for (const s of senders) s.stop()
  throttle.close()
  assert.ok(Math.abs(measured - rate) / rate < 0.1, `measured ${Math.round(measured)} B/s against ${rate}`)
})

test('waiting senders take turns: equal grants, whoever asked first', async () => {
  const throttle = new FairThrottle()
  throttle.setRate(2_000_000)
  const a = new Greedy(throttle, 16_384)
  const b = new Greedy(throttle, 16_384)
  // a has a head start, and drains the bucket before b asks.
  a.start()
  b.start()
  await sleep(1000)
  a.stop()
  b.stop()
  throttle.close()
  const share = a.sent / (a.sent + b.sent)
  assert.ok(share > 0.45 && share < 0.55, `a got ${(share * 100).toFixed(1)} % (a ${a.sent}, b ${b.sent})`)
})

test('a lower rate applies to senders already waiting; rate 0 releases them all at once', async () => {
  const throttle = new FairThrottle()
  throttle.setRate(4_000_000)
  const s = new Greedy(throttle, 16_384)
  s.start()
  await sleep(200)
  throttle.setRate(500_000)
  await sleep(100)
  const from = s.sent
  const t0 = performance.now()
  await sleep(1000)
  const measured = (s.sent - from) / ((performance.now() - t0) / 1000)
  assert.ok(Math.abs(measured - 500_000) / 500_000 < 0.15, `measured ${Math.round(measured)} B/s at 500000`)
  // A grant may have landed in the same timer phase as the sleep: let the sender ask again first.
  await new Promise((r) => setImmediate(r))
  assert.equal(throttle.queued, 1, 'the sender waits for its turn')
  s.stop()

  // Waiting when the cap goes: granted at once, and from then on every take is yes.
  let granted = 0
  const waiter: ThrottleWaiter = { tokensGranted: (n) => (granted += n) }
  throttle.setRate(1000)
  while (throttle.take(waiter, 16_384)) {}
  throttle.setRate(0)
  assert.equal(granted, 16_384)
  assert.equal(throttle.limited, false)
  for (let i = 0; i < 1000; i++) assert.equal(throttle.take(waiter, 1 << 20), true)
  throttle.close()
})

test('counts each wait; a sender that leaves the queue is not granted', async () => {
  let waits = 0
  const throttle = new FairThrottle(() => waits++)
  throttle.setRate(100_000)
  let granted = 0
  const gone: ThrottleWaiter = { tokensGranted: () => granted++ }
  while (throttle.take(gone, 16_384)) {}
  assert.equal(waits, 1)
  assert.equal(throttle.take(gone, 16_384), false, 'still waiting: keeps its place')
  assert.equal(waits, 1, 'asking again while queued is not another wait')
  throttle.forget(gone)
  await sleep(400)
  assert.equal(granted, 0)
  throttle.close()
})
