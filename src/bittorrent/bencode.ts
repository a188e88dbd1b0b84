// The one bencode reader: strict, and it says where each value lies. The `bencode` package decodes
// leniently (truncated strings, trailing bytes, non-string keys pass) and turns dict keys into
// UTF-8 text (mangling the raw 20-byte infohash keys of a scrape), and re-encoding may alter
// non-canonical input; the infohash must be the SHA-1 of the info dict exactly as stored, so the
// reader hands out byte spans. Writing goes through the `bencode` package (`encode`), except the
// tracker's announce replies (tracker/httpReplies.ts), a measured hot path.
//
// Values: integers as numbers (safe integers only), byte strings as Buffers (views into the
// input, not copies), lists as arrays, dicts as null-prototype objects whose keys are latin1
// strings, one char per byte, so `Buffer.from(key, 'latin1')` is the exact key.
// Always refused: leading zeros, "-0", a string running past the end, a non-string dict key, a
// repeated key, nesting deeper than `maxDepth`, bytes after the value (unless decodePrefix).
// `canonical: true` also refuses dict keys out of byte order; off by default, since what peers and
// other trackers send need not be sorted and reading it is harmless.
import bencodePackage from 'bencode'
import { BencodeError } from './errors.ts'

export type BValue = number | Buffer | BValue[] | BDict
export interface BDict {
  [key: string]: BValue
}

export interface DecodeOptions {
  maxDepth?: number // default 64: guards the stack against 'llll…'
  canonical?: boolean
}

/** One entry of a dict: its key and the raw spans of the key (keyStart) and the value. */
export interface DictEntry {
  key: string // latin1
  keyStart: number
  valueStart: number
  end: number // exclusive end of the value
  value: BValue
}

const CH_D = 0x64,
  CH_L = 0x6c,
  CH_I = 0x69,
  CH_E = 0x65,
  CH_COLON = 0x3a,
  CH_MINUS = 0x2d

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39

class Reader {
  pos: number
  readonly buf: Buffer
  readonly maxDepth: number
  readonly canonical: boolean

  constructor(buf: Uint8Array, start: number, opts: DecodeOptions | undefined) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
    this.pos = start
    this.maxDepth = opts?.maxDepth ?? 64
    this.canonical = opts?.canonical ?? false
  }

  fail(what: string, at = this.pos): never {
    throw new BencodeError(`${what} at byte ${at} of ${this.buf.length}`)
  }

  // Digits up to `stop`, as a number; canonical (no leading zero, no "-0"), a safe integer.
  number(stop: number, signed: boolean): number {
    const { buf } = this
    const start = this.pos
    let p = start
    if (signed && buf[p] === CH_MINUS) p++
    const digits = p
    while (isDigit(buf[p])) p++
    if (p === digits || buf[p] !== stop) this.fail(p >= buf.length ? 'unterminated number' : 'bad number', start)
    if (buf[digits] === 0x30 && (p - digits > 1 || digits > start)) this.fail('non-canonical number', start)
    const n = Number(buf.toString('latin1', start, p))
    if (!Number.isSafeInteger(n)) this.fail('integer out of range', start)
    this.pos = p + 1
    return n
  }

  bytes(): Buffer {
    const at = this.pos
    const len = this.number(CH_COLON, false)
    const end = this.pos + len
    if (end > this.buf.length) this.fail('string runs past the end', at)
    const out = this.buf.subarray(this.pos, end)
    this.pos = end
    return out
  }

  value(depth: number): BValue {
    if (depth > this.maxDepth) this.fail('nesting too deep')
    const c = this.buf[this.pos]
    if (c === CH_I) {
      this.pos++
      return this.number(CH_E, true)
    }
    if (c === CH_L) {
      this.pos++
      const list: BValue[] = []
      while (this.buf[this.pos] !== CH_E) {
        if (this.pos >= this.buf.length) this.fail('unterminated list')
        list.push(this.value(depth + 1))
      }
      this.pos++
      return list
    }
    if (c === CH_D) {
      const dict: BDict = Object.create(null)
      this.entries(depth, (key, _keyStart, _valueStart, value) => {
        dict[key] = value
      })
      return dict
    }
    if (isDigit(c)) return this.bytes()
    return this.fail(c === undefined ? 'value missing' : 'unexpected byte')
  }

  // Reads the dict at pos, calling `each` per entry with its spans.
  entries(depth: number, each: (key: string, keyStart: number, valueStart: number, value: BValue) => void): void {
    const { buf } = this
    this.pos++
    const seen = new Set<string>()
    let prev: Buffer | null = null
    while (buf[this.pos] !== CH_E) {
      if (this.pos >= buf.length) this.fail('unterminated dict')
      const keyStart = this.pos
      if (!isDigit(buf[keyStart])) this.fail('dict key is not a string')
      const raw = this.bytes()
      const key = raw.toString('latin1')
      if (this.canonical && prev !== null && Buffer.compare(prev, raw) >= 0)
        this.fail('dict keys not sorted or repeated', keyStart)
      if (seen.has(key)) this.fail(`repeated dict key ${JSON.stringify(key)}`, keyStart)
      seen.add(key)
      prev = raw
      const valueStart = this.pos
      each(key, keyStart, valueStart, this.value(depth + 1))
    }
    this.pos++
  }

  finish(): void {
    if (this.pos !== this.buf.length) this.fail('trailing bytes')
  }
}

/** The value starting at `start`, and the offset just past it; bytes after it are the caller's. */
export function decodePrefix(buf: Uint8Array, start = 0, opts?: DecodeOptions): { value: BValue; end: number } {
  const r = new Reader(buf, start, opts)
  const value = r.value(0)
  return { value, end: r.pos }
}

/** `buf` as exactly one bencoded value. */
export function decode(buf: Uint8Array, opts?: DecodeOptions): BValue {
  const r = new Reader(buf, 0, opts)
  if (r.buf.length === 0) r.fail('empty input')
  const value = r.value(0)
  r.finish()
  return value
}

/** `buf` as exactly one bencoded dict. */
export function decodeDict(buf: Uint8Array, opts?: DecodeOptions): BDict {
  const v = decode(buf, opts)
  if (!isDict(v)) throw new BencodeError('not a bencoded dictionary')
  return v
}

/** `buf` as exactly one dict, entry by entry with each entry's byte spans (in stored order). */
export function dictEntries(buf: Uint8Array, opts?: DecodeOptions): DictEntry[] {
  const r = new Reader(buf, 0, opts)
  if (r.buf[0] !== CH_D) r.fail('not a bencoded dictionary', 0)
  const out: DictEntry[] = []
  r.entries(0, (key, keyStart, valueStart, value) => {
    out.push({ key, keyStart, valueStart, end: r.pos, value })
  })
  r.finish()
  return out
}

export const isDict = (v: BValue | undefined): v is BDict =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)

/** Encodes numbers, strings (UTF-8), Buffers, arrays and dicts (objects or Maps; keys sorted, null/undefined values left out). */
export function encode(v: unknown): Buffer {
  const out = bencodePackage.encode(v)
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
}
