// Just enough bencode for extension messages: a strict decoder that also says where the value
// ends (a ut_metadata data message carries raw bytes after its dict), and an encoder.
import { WireError } from './errors.ts'

export type BValue = number | Buffer | BValue[] | Map<string, BValue>

const MAX_DEPTH = 16

function fail(message: string): never {
  throw new WireError('bad_bencode', message)
}

/** Decodes the value starting at `start`; returns it and the offset just past it. */
export function decodeBencode(buf: Buffer, start = 0, depth = 0): { value: BValue; end: number } {
  if (depth > MAX_DEPTH) fail('bencode nested too deep')
  const c = buf[start]
  if (c === undefined) fail('bencode ends early')
  if (c === 0x69) { // i<digits>e
    const end = buf.indexOf(0x65, start + 1)
    if (end < 0) fail('unterminated integer')
    const text = buf.toString('latin1', start + 1, end)
    if (!/^(0|-?[1-9][0-9]{0,15})$/.test(text)) fail('bad integer')
    return { value: Number(text), end: end + 1 }
  }
  if (c === 0x6c || c === 0x64) { // l…e, d…e
    const list: BValue[] = []
    const dict = new Map<string, BValue>()
    let p = start + 1
    while (buf[p] !== 0x65) {
      if (p >= buf.length) fail('unterminated list or dict')
      if (c === 0x6c) {
        const item = decodeBencode(buf, p, depth + 1)
        list.push(item.value)
        p = item.end
      } else {
        const key = decodeBencode(buf, p, depth + 1)
        if (!Buffer.isBuffer(key.value)) fail('dict key is not a string')
        const item = decodeBencode(buf, key.end, depth + 1)
        dict.set(key.value.toString('latin1'), item.value)
        p = item.end
      }
    }
    return { value: c === 0x6c ? list : dict, end: p + 1 }
  }
  if (c >= 0x30 && c <= 0x39) {
    const colon = buf.indexOf(0x3a, start)
    if (colon < 0 || colon - start > 9) fail('bad string length')
    const text = buf.toString('latin1', start, colon)
    if (!/^(0|[1-9][0-9]*)$/.test(text)) fail('bad string length')
    const end = colon + 1 + Number(text)
    if (end > buf.length) fail('string runs past the end')
    return { value: buf.subarray(colon + 1, end), end }
  }
  return fail(`unexpected byte ${c}`)
}

/** Encodes numbers, strings/Buffers, arrays and dicts (plain objects or Maps; keys sorted). */
export function encodeBencode(v: number | string | Buffer | unknown[] | Map<string, unknown> | Record<string, unknown>): Buffer {
  const parts: Buffer[] = []
  const walk = (x: unknown): void => {
    if (typeof x === 'number') {
      if (!Number.isSafeInteger(x)) throw new RangeError(`not an integer: ${x}`)
      parts.push(Buffer.from(`i${x}e`))
    } else if (typeof x === 'string' || Buffer.isBuffer(x)) {
      const b = typeof x === 'string' ? Buffer.from(x) : x
      parts.push(Buffer.from(`${b.length}:`), b)
    } else if (Array.isArray(x)) {
      parts.push(Buffer.from('l'))
      x.forEach(walk)
      parts.push(Buffer.from('e'))
    } else if (x && typeof x === 'object') {
      const entries = x instanceof Map ? [...x.entries()] : Object.entries(x)
      parts.push(Buffer.from('d'))
      for (const [k, val] of entries.filter(([, val]) => val !== undefined).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
        walk(k)
        walk(val)
      }
      parts.push(Buffer.from('e'))
    } else {
      throw new TypeError(`cannot bencode ${typeof x}`)
    }
  }
  walk(v)
  return Buffer.concat(parts)
}
