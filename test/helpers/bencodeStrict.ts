// A strict bencode decoder written for the tests, independent of both the server's hand-written
// replies and the `bencode` package (which decodes dict keys as UTF-8 text, mangling the raw
// 20-byte infohash keys of a scrape). Dict keys come back as latin1 strings, one char per byte,
// so `Buffer.from(key, 'latin1')` is the exact key. Byte strings are Buffers, integers numbers.
// Anything non-canonical throws: leading zeros, "-0", unsorted or repeated keys, trailing bytes.
export type BValue = number | Buffer | BValue[] | BDict
export interface BDict { [key: string]: BValue }

export class BencodeError extends Error {}

export function bdecodeStrict(input: Uint8Array): BValue {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  let pos = 0
  const fail = (what: string): never => { throw new BencodeError(`${what} at byte ${pos} of ${buf.length}`) }

  const digitsUntil = (stop: number): string => {
    const end = buf.indexOf(stop, pos)
    if (end < 0) fail('unterminated number')
    const text = buf.toString('latin1', pos, end)
    pos = end + 1
    return text
  }
  const bytes = (): Buffer => {
    const text = digitsUntil(0x3a) // ':'
    if (!/^(0|[1-9][0-9]*)$/.test(text)) fail(`bad string length ${JSON.stringify(text)}`)
    const len = Number(text)
    if (pos + len > buf.length) fail('string runs past the end')
    const out = buf.subarray(pos, pos + len)
    pos += len
    return out
  }
  const value = (depth: number): BValue => {
    if (depth > 32) fail('nesting too deep')
    const c = buf[pos]
    if (c === 0x69) { // i
      pos++
      const text = digitsUntil(0x65)
      if (!/^(0|-?[1-9][0-9]*)$/.test(text)) fail(`bad integer ${JSON.stringify(text)}`)
      const n = Number(text)
      if (!Number.isSafeInteger(n)) fail(`integer out of range ${text}`)
      return n
    }
    if (c === 0x6c) { // l
      pos++
      const list: BValue[] = []
      while (buf[pos] !== 0x65) {
        if (pos >= buf.length) fail('unterminated list')
        list.push(value(depth + 1))
      }
      pos++
      return list
    }
    if (c === 0x64) { // d
      pos++
      const dict: BDict = Object.create(null)
      let prev: Buffer | null = null
      while (buf[pos] !== 0x65) {
        if (pos >= buf.length) fail('unterminated dict')
        if (!(buf[pos]! >= 0x30 && buf[pos]! <= 0x39)) fail('dict key is not a string')
        const key = bytes()
        if (prev !== null && Buffer.compare(prev, key) >= 0) fail('dict keys not sorted or repeated')
        prev = key
        dict[key.toString('latin1')] = value(depth + 1)
      }
      pos++
      return dict
    }
    if (c !== undefined && c >= 0x30 && c <= 0x39) return bytes()
    return fail('unexpected byte')
  }

  if (buf.length === 0) fail('empty input')
  const out = value(0)
  if (pos !== buf.length) fail('trailing bytes')
  return out
}

export const isDict = (v: BValue | undefined): v is BDict =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)

/** Decodes and requires a dict. */
export function bdecodeDict(input: Uint8Array): BDict {
  const v = bdecodeStrict(input)
  if (!isDict(v)) throw new BencodeError('not a dict')
  return v
}

/** The failure reason of a tracker reply as text, or undefined when there is none. */
export function failureOf(reply: BDict): string | undefined {
  const f = reply['failure reason']
  return Buffer.isBuffer(f) ? f.toString('utf8') : undefined
}

/** Compact IPv4 (6-byte) or IPv6 (18-byte) peer entries as "ip:port" / "[ip]:port" strings. */
export function compactPeers(v: BValue | undefined, entry: 6 | 18): { ip: string; port: number }[] {
  if (v === undefined) return []
  if (!Buffer.isBuffer(v) || v.length % entry !== 0) throw new BencodeError(`compact peers not a multiple of ${entry} bytes`)
  const out: { ip: string; port: number }[] = []
  for (let o = 0; o < v.length; o += entry) {
    const ip = entry === 6
      ? [...v.subarray(o, o + 4)].join('.')
      : Array.from({ length: 8 }, (_, i) => v.readUInt16BE(o + 2 * i).toString(16)).join(':')
    out.push({ ip, port: v.readUInt16BE(o + entry - 2) })
  }
  return out
}
