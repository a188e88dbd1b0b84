// Request generators for the tracker fuzz test: a seeded PRNG, valid announce/scrape queries built
// from BEP 3/48, and mutations of them. Each case says what a correct tracker must answer:
// 'ok' (a valid request for the site's torrent), 'fail' (malformed or unknown by construction:
// a 'failure reason'), or 'any' (a mutation that may or may not still be valid).

export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9
  }
  /** Uniform in [0, 1): mulberry32. */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[xs[i], xs[j]] = [xs[j]!, xs[i]!]
    }
    return xs
  }
}

type Expect = 'ok' | 'fail' | 'any'
export interface HttpCase {
  kind: 'announce' | 'scrape'
  path: string
  expect: Expect
  what: string
}

type Param = [name: string, value: string]

const UNRESERVED = /[A-Za-z0-9\-._~]/
/** Percent-encodes bytes the way clients do: every byte, or all but the unreserved ones. */
function enc(rng: Rng, b: Buffer): string {
  const all = rng.chance(0.5)
  const upper = rng.chance(0.5)
  let s = ''
  for (const x of b) {
    const ch = String.fromCharCode(x)
    s +=
      !all && UNRESERVED.test(ch) ? ch : '%' + (upper ? x.toString(16).toUpperCase() : x.toString(16)).padStart(2, '0')
  }
  return s
}

/** The query as it goes on the wire: bytes a request line cannot carry (controls, space, DEL, 0x80+) percent-encoded. */
function wire(query: string): string {
  let s = ''
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i) & 0xff
    s += c > 0x20 && c < 0x7f ? query[i] : '%' + c.toString(16).padStart(2, '0')
  }
  return s
}

const join = (ps: Param[]) => ps.map(([k, v]) => (v === '\0' ? k : `${k}=${v}`)).join('&')
const uint = (rng: Rng) => String(rng.pick([0, 1, rng.int(1000), rng.int(2 ** 31), 2 ** 53 - 1]))

function validAnnounce(rng: Rng, hash: string): { params: Param[]; known: boolean } {
  const known = rng.chance(0.85)
  const params: Param[] = [
    ['info_hash', enc(rng, known ? Buffer.from(hash, 'hex') : rng.bytes(20))],
    ['peer_id', enc(rng, rng.bytes(20))],
    ['port', String(1 + rng.int(65535))],
    ['uploaded', uint(rng)],
    ['downloaded', uint(rng)],
    ['left', uint(rng)],
  ]
  if (rng.chance(0.8)) params.push(['compact', rng.chance(0.8) ? '1' : '0'])
  if (rng.chance(0.7)) params.push(['event', rng.pick(['started', 'completed', 'stopped', 'paused', 'empty', ''])])
  if (rng.chance(0.5))
    params.push(['numwant', rng.pick(['0', '1', '50', '-1', '', '9007199254740991', String(rng.int(1000))])])
  if (rng.chance(0.3)) params.push(['no_peer_id', rng.pick(['1', '0'])])
  if (rng.chance(0.3)) params.push(['key', enc(rng, rng.bytes(rng.int(9)))])
  if (rng.chance(0.2))
    params.push([
      rng.pick(['ip', 'ipv4', 'ipv6', 'trackerid', 'supportcrypto', 'corrupt', 'redundant']),
      enc(rng, rng.bytes(rng.int(16))),
    ])
  return { params: rng.shuffle(params), known }
}

function validScrape(rng: Rng, hash: string): { params: Param[]; known: boolean } {
  const n = 1 + rng.int(4)
  const hashes = Array.from({ length: n }, () => (rng.chance(0.6) ? Buffer.from(hash, 'hex') : rng.bytes(20)))
  const params: Param[] = hashes.map((h) => ['info_hash', enc(rng, h)])
  if (rng.chance(0.2)) params.push(['peer_id', enc(rng, rng.bytes(20))])
  return { params: rng.shuffle(params), known: hashes.some((h) => h.toString('hex') === hash) }
}

const REQUIRED = ['info_hash', 'peer_id', 'port', 'left']
const BAD_NUMBER = [
  '-1',
  '',
  'abc',
  '1.5',
  '1e3',
  '+1',
  ' 1',
  '0x10',
  '99999999999999999999',
  '9007199254740993',
  '１２',
]
const BAD_ESCAPE = ['%', '%G', '%4', '%zz', '%%', '%-1', '%\u00ff0']
// Escapes that stay invalid wherever they land ('%' and '%4' may complete to a valid escape with
// the hex digits after them: a different infohash, which a multi-hash scrape merely leaves out).
const NEVER_VALID_ESCAPE = ['%G', '%zz', '%%', '%-1', '%\u00ff0']

export function httpCase(rng: Rng, hash: string): HttpCase {
  const kind = rng.chance(0.7) ? 'announce' : 'scrape'
  const base = kind === 'announce' ? validAnnounce(rng, hash) : validScrape(rng, hash)
  const ps = base.params
  const valid: Expect = base.known ? 'ok' : 'fail'
  let query: string
  let expect: Expect
  let what: string
  const idx = (name: string) => ps.findIndex(([k]) => k === name)
  switch (rng.int(12)) {
    case 0:
    case 1:
      query = join(ps)
      expect = valid
      what = 'valid'
      break
    case 2: {
      // byte flips
      const q = Buffer.from(join(ps), 'latin1')
      for (let k = 1 + rng.int(4); k > 0 && q.length > 0; k--) q[rng.int(q.length)] = rng.int(256)
      query = q.toString('latin1')
      expect = 'any'
      what = 'byte flips'
      break
    }
    case 3: {
      const q = join(ps)
      query = q.slice(0, rng.int(q.length))
      expect = 'any'
      what = 'truncated'
      break
    }
    case 4: {
      // a parameter twice
      const p = rng.pick(ps)
      ps.splice(rng.int(ps.length + 1), 0, [p[0], rng.chance(0.5) ? p[1] : enc(rng, rng.bytes(20))])
      query = join(ps)
      expect = kind === 'announce' && p[0] === 'info_hash' ? 'fail' : 'any'
      what = `duplicate ${p[0]}`
      break
    }
    case 5: {
      // a parameter missing
      const [name] = ps.splice(rng.int(ps.length), 1)[0]!
      query = join(ps)
      expect = kind === 'announce' ? (REQUIRED.includes(name) ? 'fail' : 'any') : idx('info_hash') < 0 ? 'fail' : 'any'
      what = `missing ${name}`
      break
    }
    case 6: {
      // huge or malformed numbers
      if (kind === 'scrape') {
        ps.push(['numwant', rng.pick(BAD_NUMBER)])
        query = join(ps)
        expect = base.known ? 'ok' : 'any'
        what = 'scrape ignores numbers'
        break
      }
      const name = rng.pick(['port', 'left', 'uploaded', 'downloaded', 'numwant', 'port'])
      const value =
        name === 'port' && rng.chance(0.3) ? rng.pick(['0', '65536', '70000', '4294967297']) : rng.pick(BAD_NUMBER)
      const i = idx(name)
      if (i >= 0) ps[i] = [name, value]
      else ps.push([name, value])
      const harmless = name === 'numwant' && (value === '' || value === '-1')
      query = join(ps)
      expect = harmless ? valid : 'fail'
      what = `${name}=${value}`
      break
    }
    case 7: {
      // bad percent escape in the info_hash (or anywhere)
      let badEscape = rng.pick(BAD_ESCAPE)
      if (rng.chance(0.6)) {
        // An announce names one infohash: any change to it makes it malformed or unknown.
        if (kind === 'scrape') badEscape = rng.pick(NEVER_VALID_ESCAPE)
        const i = idx('info_hash')
        const v = ps[i]![1]
        const at = rng.int(v.length + 1)
        ps[i] = ['info_hash', v.slice(0, at) + badEscape + v.slice(at)]
        query = join(ps)
        expect = 'fail'
        what = `bad escape ${badEscape} in info_hash`
      } else {
        const q = join(ps)
        const at = rng.int(q.length + 1)
        query = q.slice(0, at) + badEscape + q.slice(at)
        expect = 'any'
        what = `bad escape ${badEscape}`
      }
      break
    }
    case 8:
      query = rng.bytes(rng.int(400)).toString('latin1')
      expect = 'fail'
      what = 'random bytes'
      break
    case 9: {
      // odd separators and names
      const junk = rng.pick([
        '&',
        '&&',
        '=',
        '==',
        '&=&',
        'info_hash',
        'info_hash=',
        'info_hash[]=x',
        '=x',
        '?',
        '#',
        ';',
        '%26',
        '%3D',
      ])
      const q = join(ps)
      const at = rng.int(q.length + 1)
      query = q.slice(0, at) + junk + q.slice(at)
      expect = 'any'
      what = `junk ${junk}`
      break
    }
    case 10: {
      // many parameters
      const name = kind === 'scrape' ? 'info_hash' : rng.pick(['key', 'info_hash', 'port', 'event'])
      const n = kind === 'scrape' ? rng.pick([99, 101, 150]) : 50 + rng.int(100)
      for (let k = 0; k < n; k++)
        ps.push([
          name,
          name === 'info_hash' ? enc(rng, rng.bytes(20)) : name === 'port' ? '1' : name === 'event' ? 'started' : 'k',
        ])
      query = join(ps)
      expect = kind === 'scrape' ? (n > 100 ? 'fail' : 'any') : name === 'info_hash' ? 'fail' : 'any'
      what = `${n} more ${name}`
      break
    }
    default: {
      // a value replaced by random bytes
      const i = rng.int(ps.length)
      const name = ps[i]![0]
      ps[i] = [name, rng.bytes(rng.int(40)).toString('latin1').replace(/[&]/g, '')]
      query = join(ps)
      expect = 'any'
      what = `random ${name}`
    }
  }
  return { kind, path: `/${kind}?${wire(query)}`, expect, what }
}
