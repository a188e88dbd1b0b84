// Password guessing: wrong Basic credentials and wrong log-ins, fast, from one address; then wrong
// passwords from 64 addresses at once. Before, nothing limited either (50 guesses a second from one
// address), and 32 wrong passwords at once filled libuv's thread pool with scrypt so that web-seed
// reads waited behind them (1.3–2.7 s each). Now an address gets 429 with Retry-After after
// AUTH_MAX_FAILURES (counted), the right password from another address still works, and hashing
// runs at most AUTH_MAX_CONCURRENT_HASHES at a time, so the web seed stays as quick as it was.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { startChildServer, type ChildServer } from '../helpers/childServer.ts'
import { requestFrom } from '../helpers/fromAddress.ts'
import { makeVideo, uploadForm } from '../helpers/media.ts'
import { ADMIN_PASSWORD, startTestServer } from '../helpers/server.ts'

let server: ChildServer
let clip: string
let mediaUrl: string
let fileBytes: Buffer

const basic = (password: string) => 'Basic ' + Buffer.from(`admin:${password}`).toString('base64')
const loginBody = (password: string) => `username=admin&password=${encodeURIComponent(password)}&next=%2F`
const form = { 'content-type': 'application/x-www-form-urlencoded' }

before(async () => {
  server = await startChildServer()
  clip = await makeVideo({ seconds: 4, size: '640x480', noise: 13 })
  fileBytes = await readFile(clip)
  const res = await fetch(`${server.url}/api/videos`, {
    method: 'POST',
    headers: { authorization: server.basicAuth },
    body: await uploadForm({ title: 'seeded' }, { path: clip }),
  })
  assert.equal(res.status, 201)
  mediaUrl = (await res.json()).fileUrl
})
after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

test('rapid wrong Basic auth from one address: 429 with Retry-After after 10, counted; the right password from another address works', async () => {
  const statuses: number[] = []
  for (let i = 0; i < 14; i++)
    statuses.push(
      (
        await requestFrom('127.0.0.1', `${server.url}/api/settings`, {
          headers: { authorization: basic(`wrong-${i}`) },
        })
      ).status,
    )
  assert.deepEqual(statuses, [...Array(10).fill(401), ...Array(4).fill(429)])
  const refused = await requestFrom('127.0.0.1', `${server.url}/api/settings`, {
    headers: { authorization: basic('still-wrong') },
  })
  assert.equal(refused.status, 429)
  assert.ok(Number(refused.headers['retry-after']) > 0, `Retry-After: ${refused.headers['retry-after']}`)
  assert.equal(JSON.parse(refused.body.toString()).error.code, 'too_many_attempts')
  assert.ok((await server.refused('auth_failures_per_address')) >= 5)
  // Without TRUST_PROXY a made-up X-Forwarded-For is ignored: it cannot buy a fresh budget.
  const spoofed = await requestFrom('127.0.0.1', `${server.url}/api/settings`, {
    headers: { authorization: basic('spoofed'), 'x-forwarded-for': '198.51.100.77' },
  })
  assert.equal(spoofed.status, 429)
  const other = await requestFrom('127.0.0.2', `${server.url}/api/settings`, {
    headers: { authorization: basic(ADMIN_PASSWORD) },
  })
  assert.equal(other.status, 200, 'the admin on another address is not locked out')
})

test('behind TRUST_PROXY the budget is per client (X-Forwarded-For), not per proxy', async () => {
  const proxied = await startTestServer({ TRUST_PROXY: 'on' })
  try {
    const from = (client: string, password: string) =>
      fetch(`${proxied.url}/api/settings`, {
        headers: { authorization: basic(password), 'x-forwarded-for': client },
      }).then((r) => r.status)
    for (let i = 0; i < 10; i++) assert.equal(await from('203.0.113.1', `wrong-${i}`), 401)
    assert.equal(await from('203.0.113.1', 'wrong'), 429)
    assert.equal(await from('203.0.113.2', 'wrong'), 401, 'another client behind the same proxy has its own budget')
    assert.equal(await from('203.0.113.3', ADMIN_PASSWORD), 200)
  } finally {
    await proxied.stop()
  }
})

test('rapid wrong log-ins from one address: 429 after 10 (shared with Basic auth), a log-in from another address works', async () => {
  const statuses: number[] = []
  for (let i = 0; i < 12; i++)
    statuses.push(
      (
        await requestFrom('127.0.0.3', `${server.url}/login`, {
          method: 'POST',
          headers: { ...form, accept: 'text/html' },
          body: loginBody(`guess-${i}`),
        })
      ).status,
    )
  assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429])
  const page = await requestFrom('127.0.0.3', `${server.url}/login`, {
    method: 'POST',
    headers: { ...form, accept: 'text/html' },
    body: loginBody('guess-x'),
  })
  assert.equal(page.status, 429)
  assert.ok(Number(page.headers['retry-after']) > 0)
  assert.match(page.body.toString(), /Too many wrong passwords/)
  // Form and Basic failures draw on one budget per address.
  for (let i = 0; i < 5; i++)
    await requestFrom('127.0.0.4', `${server.url}/api/settings`, { headers: { authorization: basic(`b-${i}`) } })
  for (let i = 0; i < 5; i++)
    await requestFrom('127.0.0.4', `${server.url}/login`, { method: 'POST', headers: form, body: loginBody(`f-${i}`) })
  assert.equal(
    (await requestFrom('127.0.0.4', `${server.url}/login`, { method: 'POST', headers: form, body: loginBody('f-x') }))
      .status,
    429,
  )
  const ok = await requestFrom('127.0.0.5', `${server.url}/login`, {
    method: 'POST',
    headers: form,
    body: loginBody(ADMIN_PASSWORD),
  })
  assert.equal(ok.status, 303)
  assert.match(String(ok.headers['set-cookie']), /seedcast_session=/)
})

async function webSeedTimes(n: number, gapMs = 0): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs))
    const start = 100_000 + i * 1000
    const res = await requestFrom('127.0.0.9', mediaUrl, {
      headers: { range: `bytes=${start}-${start + 1024 * 1024 - 1}` },
      timeoutMs: 5000,
    })
    assert.equal(res.status, 206)
    assert.ok(res.body.equals(fileBytes.subarray(start, start + 1024 * 1024)))
    times.push(res.ms)
  }
  return times
}
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!

test('64 addresses guessing at once do not make web-seed Range GETs slow', async () => {
  assert.ok(fileBytes.length > 2 * 1024 * 1024, 'the clip is large enough for 1 MiB ranges')
  await webSeedTimes(3)
  const baseline = quantile(await webSeedTimes(15), 0.5)
  let stop = false
  const answers = new Map<number, number>()
  const attackers = Array.from({ length: 64 }, async (_, i) => {
    for (let k = 0; !stop; k++) {
      const res = await requestFrom(`127.0.2.${i + 1}`, `${server.url}/api/settings`, {
        headers: { authorization: basic(`guess-${i}-${k}`) },
        timeoutMs: 10_000,
      }).catch(() => null)
      if (res) answers.set(res.status, (answers.get(res.status) ?? 0) + 1)
      // Refusals are cheap to make and to send; pausing on them keeps this a hashing attack.
      if (res?.status !== 401) await new Promise((r) => setTimeout(r, 200))
    }
  })
  let during: number[]
  try {
    await new Promise((r) => setTimeout(r, 1000))
    during = await webSeedTimes(30, 100)
  } finally {
    stop = true
    await Promise.all(attackers)
  }
  const attacked = { median: quantile(during!, 0.5), p90: quantile(during!, 0.9) }
  console.log(
    `web seed 1 MiB Range GET: median ${baseline.toFixed(1)} ms before; during: median ${attacked.median.toFixed(1)} ms, p90 ${attacked.p90.toFixed(1)} ms, max ${Math.max(...during!).toFixed(1)} ms; attacker answers ${JSON.stringify(Object.fromEntries(answers))}`,
  )
  assert.ok((answers.get(401) ?? 0) > 0, 'wrong passwords were checked')
  // Generous: the two cores are shared with the hashing itself and with other tests.
  assert.ok(
    attacked.median < Math.max(baseline * 5, baseline + 150),
    `web seed under attack: median ${attacked.median.toFixed(1)} ms vs ${baseline.toFixed(1)} ms`,
  )
  assert.ok(
    attacked.p90 < Math.max(baseline * 10, baseline + 300),
    `web seed under attack: p90 ${attacked.p90.toFixed(1)} ms vs ${baseline.toFixed(1)} ms`,
  )
  // Without the cap on hashing, one read waited behind every queued scrypt (9.5 s here).
  assert.ok(
    Math.max(...during!) < Math.max(baseline * 50, 1000),
    `web seed under attack: slowest ${Math.max(...during!).toFixed(1)} ms`,
  )
  assert.ok((await server.refused('auth_hashing_busy')) > 0, 'hashing at capacity refused and counted')
})
