// UDP tracker load generator (BEP 15), used by bench/tracker.ts; runs on its own too:
//
//   node bench/udp-load.ts --port 6969 --info-hash <40 hex> [--host 127.0.0.1] [--clients 64]
//        [--inflight 256] [--warmup 2] [--seconds 10] [--timeout-ms 250]
//   node bench/udp-load.ts --port 6969 --info-hash <40 hex> --check
//
// Every "client" is one UDP socket (its own source port, so its own connection id): it connects
// once, then keeps inflight/clients announces outstanding, sending the next one as soon as a
// reply (or a timeout) frees a slot. Each announce has a fresh random peer_id, port, key and left
// (a third are seeders), numwant 50, event none. Connection ids are refreshed every minute (BEP
// 15: valid for two). Replies are counted during the measured window only, after the warm-up.
//
// Prints one line `UDP_JSON {...}` on stdout at the end (and `MEASURE_START` / `MEASURE_END` when
// the window opens and closes, so a caller can sample the server's CPU over the same window):
// replies/s, error replies (action 3), timeouts (no reply within --timeout-ms: lost, re-sent),
// late replies (after their timeout), round-trip p50/p99, and this process's CPU use over the
// window (a generator near 100 % of its core is the bottleneck, not the server).
// --check: one connect and one announce; prints the decoded reply; exit 1 unless it is an
// announce reply (action 1).
import dgram from 'node:dgram'
import { parseArgs } from 'node:util'
import { sleep } from './lib/processes.ts'
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_ERROR,
  udpAnnounceRequest,
  udpConnectRequest,
} from '../src/bittorrent/tracker/udp.ts'

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'info-hash': { type: 'string' },
    clients: { type: 'string', default: '64' },
    inflight: { type: 'string', default: '256' },
    warmup: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    'timeout-ms': { type: 'string', default: '250' },
    'refresh-ms': { type: 'string', default: '60000' }, // connection id age before reconnecting (testing)
    check: { type: 'boolean', default: false },
  },
})

const HOST = args.host!
const PORT = Number(args.port)
const INFO_HASH = Buffer.from(args['info-hash'] ?? '', 'hex')
const CLIENTS = Math.max(1, Number(args.clients))
const INFLIGHT = Math.max(CLIENTS, Number(args.inflight))
const WARMUP_MS = Number(args.warmup) * 1000
const MEASURE_MS = Number(args.seconds) * 1000
const TIMEOUT_MS = Number(args['timeout-ms'])
const REFRESH_MS = Number(args['refresh-ms'])
const CONNECT_RETRY_MS = 500
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) throw new Error('--port: expected a UDP port')
if (INFO_HASH.length !== 20) throw new Error('--info-hash: expected 40 hex digits')

const CONNECT_TX = 0x80000000 // connect transaction ids have the top bit set; announces never do
const SLOT_BITS = 8 // announce transaction id: generation << 8 | slot
const MAX_SLOTS = 1 << SLOT_BITS

// xorshift32: random enough for peer ids and ports, and far cheaper than crypto per packet.
let seed = (Date.now() ^ (process.pid << 16)) >>> 0 || 1
function rand(): number {
  let x = seed
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  seed = x >>> 0
  return seed
}

const peerId = Buffer.alloc(20) // refilled per announce; udpAnnounceRequest copies it

// A fresh random peer_id, port, key and left (a third are seeders) per announce; numwant 50.
function announcePacket(connId: Buffer, tx: number): Buffer {
  for (let off = 0; off < 20; off += 4) peerId.writeUInt32BE(rand(), off)
  const left = rand() % 3 === 0 ? 0 : 1048576
  const key = rand()
  const port = 1024 + (rand() % 64512)
  return udpAnnounceRequest(connId, tx, {
    infoHash: INFO_HASH,
    peerId,
    port,
    uploaded: 0,
    downloaded: 0,
    left,
    event: 'update',
    numwant: 50,
    key,
  })
}

// Round trips in a histogram of 5 us buckets up to 1 s (the last bucket takes the rest).
const BUCKET_US = 5
const hist = new Uint32Array(200_000)
let measuring = false
const counts = { replies: 0, errors: 0, timeouts: 0, late: 0, connects: 0 }
let firstError = ''

function percentile(p: number): number {
  let total = 0
  for (let i = 0; i < hist.length; i++) total += hist[i]!
  if (total === 0) return 0
  const rank = Math.ceil(total * p)
  let seen = 0
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!
    if (seen >= rank) return (i + 1) * BUCKET_US
  }
  return hist.length * BUCKET_US
}

class Client {
  readonly sock = dgram.createSocket('udp4')
  readonly slots: number
  readonly sentAt: Float64Array // 0 = free
  readonly txids: Uint32Array
  gen = 1
  connId: Buffer | null = null
  connectedAt = 0
  connectTx = 0
  connectSentAt = 0 // 0 = no connect pending
  started = false
  ready: Promise<void>
  private resolveReady!: () => void

  constructor(slots: number) {
    this.slots = slots
    this.sentAt = new Float64Array(slots)
    this.txids = new Uint32Array(slots)
    this.ready = new Promise((resolve) => {
      this.resolveReady = resolve
    })
    this.sock.on('message', (msg) => this.onMessage(msg))
    this.sock.on('error', (err) => {
      if (!stopping) console.error(`[udp-load] socket error: ${err.message}`)
    })
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock.once('error', reject)
      this.sock.connect(PORT, HOST, () => {
        this.sock.removeListener('error', reject)
        resolve()
      })
    })
  }

  sendConnect(now: number): void {
    this.connectTx = (CONNECT_TX | (rand() & 0x7fffffff)) >>> 0
    this.connectSentAt = now
    this.sock.send(udpConnectRequest(this.connectTx))
  }

  sendAnnounce(slot: number, now: number): void {
    this.gen = (this.gen + 1) & 0x7fffff
    const tx = ((this.gen << SLOT_BITS) | slot) >>> 0
    this.txids[slot] = tx
    this.sentAt[slot] = now
    this.sock.send(announcePacket(this.connId!, tx))
  }

  start(now: number): void {
    this.started = true
    for (let s = 0; s < this.slots; s++) this.sendAnnounce(s, now)
  }

  onMessage(msg: Buffer): void {
    if (msg.length < 8 || stopping) return
    const now = performance.now()
    const action = msg.readUInt32BE(0)
    const tx = msg.readUInt32BE(4)
    if (tx & CONNECT_TX) {
      if (tx !== this.connectTx || action !== ACTION_CONNECT || msg.length < 16) return
      this.connId = Buffer.from(msg.subarray(8, 16))
      this.connectedAt = now
      this.connectSentAt = 0
      if (measuring) counts.connects++
      this.resolveReady()
      return
    }
    const slot = tx & (MAX_SLOTS - 1)
    if (slot >= this.slots || this.txids[slot] !== tx || this.sentAt[slot] === 0) {
      if (measuring) counts.late++
      return
    }
    if (measuring) {
      if (action === ACTION_ANNOUNCE) {
        counts.replies++
        const b = Math.floor(((now - this.sentAt[slot]!) * 1000) / BUCKET_US)
        hist[b < hist.length ? b : hist.length - 1]!++
      } else {
        counts.errors++
        if (!firstError) firstError = action === ACTION_ERROR ? msg.toString('utf8', 8) : `action ${action}`
      }
    }
    this.sentAt[slot] = 0
    this.sendAnnounce(slot, now)
  }

  // Timeouts and connection id refresh; called every 100 ms.
  tick(now: number): void {
    if (this.connectSentAt !== 0 && now - this.connectSentAt > CONNECT_RETRY_MS) this.sendConnect(now)
    else if (this.connId && this.connectSentAt === 0 && now - this.connectedAt > REFRESH_MS) this.sendConnect(now)
    if (!this.started) return
    for (let s = 0; s < this.slots; s++) {
      const at = this.sentAt[s]!
      if (at !== 0 && now - at > TIMEOUT_MS) {
        if (measuring) counts.timeouts++
        this.sendAnnounce(s, now)
      }
    }
  }

  close(): void {
    try {
      this.sock.close()
    } catch {
      /* already closed */
    }
  }
}

let stopping = false

async function check(): Promise<number> {
  const c = new Client(1)
  await c.open()
  c.sendConnect(performance.now())
  const timer = setInterval(() => c.tick(performance.now()), 100)
  const connected = await Promise.race([c.ready.then(() => true), sleep(3000).then(() => false)])
  clearInterval(timer)
  if (!connected) {
    console.log('no connect reply within 3 s')
    c.close()
    return 1
  }
  const reply = await new Promise<Buffer | null>((resolve) => {
    c.sock.removeAllListeners('message')
    c.sock.on('message', (msg) => resolve(msg))
    c.sock.send(announcePacket(c.connId!, 1))
    setTimeout(() => resolve(null), 3000)
  })
  c.close()
  if (!reply) {
    console.log('no announce reply within 3 s')
    return 1
  }
  const action = reply.readUInt32BE(0)
  if (action !== ACTION_ANNOUNCE || reply.length < 20 || (reply.length - 20) % 6 !== 0) {
    console.log(
      `not an announce reply: action ${action}${action === ACTION_ERROR ? `: ${reply.toString('utf8', 8)}` : ''} (${reply.length} bytes)`,
    )
    return 1
  }
  console.log(
    `announce reply: interval ${reply.readUInt32BE(8)}, leechers ${reply.readUInt32BE(12)}, seeders ${reply.readUInt32BE(16)}, ${(reply.length - 20) / 6} peers`,
  )
  return 0
}

async function load(): Promise<number> {
  const per = Math.floor(INFLIGHT / CLIENTS)
  const extra = INFLIGHT - per * CLIENTS
  if (per + 1 > MAX_SLOTS) throw new Error(`at most ${MAX_SLOTS} in flight per client`)
  const clients = Array.from({ length: CLIENTS }, (_, i) => new Client(per + (i < extra ? 1 : 0)))
  await Promise.all(clients.map((c) => c.open()))
  const t0 = performance.now()
  for (const c of clients) c.sendConnect(t0)
  const timer = setInterval(() => {
    const now = performance.now()
    for (const c of clients) c.tick(now)
  }, 100)
  const connected = await Promise.race([
    Promise.all(clients.map((c) => c.ready)).then(() => true),
    sleep(5000).then(() => false),
  ])
  if (!connected) {
    clearInterval(timer)
    for (const c of clients) c.close()
    console.log(`UDP_JSON ${JSON.stringify({ error: 'not every client got a connect reply within 5 s' })}`)
    return 1
  }
  const start = performance.now()
  for (const c of clients) c.start(start)
  await sleep(WARMUP_MS)

  measuring = true
  console.log('MEASURE_START')
  const cpu0 = process.cpuUsage()
  const m0 = performance.now()
  await sleep(MEASURE_MS)
  const elapsed = performance.now() - m0
  const cpu = process.cpuUsage(cpu0)
  measuring = false
  console.log('MEASURE_END')
  stopping = true
  clearInterval(timer)
  for (const c of clients) c.close()

  const secs = elapsed / 1000
  const result = {
    seconds: secs,
    clients: CLIENTS,
    inflight: INFLIGHT,
    replies: counts.replies,
    perSecond: counts.replies / secs,
    errors: counts.errors,
    firstError,
    timeouts: counts.timeouts,
    late: counts.late,
    connects: counts.connects,
    p50_us: percentile(0.5),
    p99_us: percentile(0.99),
    cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsed) * 100,
    cpuUserPercent: (cpu.user / 1000 / elapsed) * 100,
  }
  console.log(`UDP_JSON ${JSON.stringify(result)}`)
  return 0
}

process.exitCode = await (args.check ? check() : load())
