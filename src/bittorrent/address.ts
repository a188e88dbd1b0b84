// IP addresses as the tracker and the seeder key and send them. Compact peer addresses (BEP 23 /
// BEP 7): 4-byte IPv4 or 16-byte IPv6, then the port, big-endian.
// Held as latin1 strings (one char per byte): a 6- or 18-char string lives on the V8 heap in
// ~24-40 bytes, far less than a Buffer object, which matters at hundreds of thousands of peers.

// Compact form of `ip`:`port` as a 6-char (IPv4) or 18-char (IPv6) latin1 string, or null if `ip`
// is not an IP address. IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports) is
// returned as IPv4 so those peers land in `peers`, not `peers6`.
export function compactAddress(ip: string, port: number): string | null {
  const v4 = ipv4Number(ip)
  if (v4 >= 0)
    return String.fromCharCode(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255, port >>> 8, port & 255)
  const words = parseIPv6(ip)
  if (words === null) return null
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return String.fromCharCode(
      words[6]! >>> 8,
      words[6]! & 255,
      words[7]! >>> 8,
      words[7]! & 255,
      port >>> 8,
      port & 255,
    )
  }
  let s = ''
  for (let i = 0; i < 8; i++) s += String.fromCharCode(words[i]! >>> 8, words[i]! & 255)
  return s + String.fromCharCode(port >>> 8, port & 255)
}

// IPv4 text, or the ::ffff:a.b.c.d form a dual-stack socket reports, as a uint32; -1 otherwise.
// The cheap path for the common case: no IPv6 parsing, no string built.
export function ipv4Number(ip: string): number {
  const v4 = parseIPv4(ip, 0, ip.length)
  if (v4 >= 0 || ip.length < 14 || ip.charCodeAt(0) !== 58) return v4
  const prefix = ip.slice(0, 7).toLowerCase()
  return prefix === '::ffff:' ? parseIPv4(ip, 7, ip.length) : -1
}

// Text form of a compact address: IPv4 dotted quad, IPv6 RFC 5952 (longest zero run as '::').
export function addressText(compact: string): { ip: string; port: number } {
  const n = compact.length - 2
  const port = (compact.charCodeAt(n) << 8) | compact.charCodeAt(n + 1)
  if (n === 4) {
    const b = (i: number) => compact.charCodeAt(i)
    return { ip: `${b(0)}.${b(1)}.${b(2)}.${b(3)}`, port }
  }
  const words: number[] = []
  for (let i = 0; i < 16; i += 2) words.push((compact.charCodeAt(i) << 8) | compact.charCodeAt(i + 1))
  return { ip: ipv6Text(words), port }
}

/**
 * Compact peer entries (BEP 23: 6 bytes each; BEP 7 / BEP 15 over IPv6: 18 bytes) as addresses,
 * IPv6 written as RFC 5952. Entries with port 0 are left out (no one can connect to them), as is
 * a trailing partial entry.
 */
export function compactPeerList(buf: Buffer, family: 4 | 6): { ip: string; port: number }[] {
  const size = family === 4 ? 6 : 18
  const out: { ip: string; port: number }[] = []
  for (let off = 0; off + size <= buf.length; off += size) {
    const port = buf.readUInt16BE(off + size - 2)
    if (port === 0) continue
    if (family === 4) {
      out.push({ ip: `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`, port })
      continue
    }
    const words: number[] = []
    for (let i = 0; i < 16; i += 2) words.push(buf.readUInt16BE(off + i))
    out.push({ ip: ipv6Text(words), port })
  }
  return out
}

// RFC 5952 text of 8 words: lowercase hex without leading zeros, the longest run (>= 2, the first
// if tied) of zero words as '::'.
function ipv6Text(words: number[]): string {
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen) [best, bestLen] = [i, j - i]
    i = j === i ? i + 1 : j
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':')
  return best < 0 ? hex(words) : `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`
}

// Dotted quad in s[start, end) as uint32, or -1. Decimal only, no leading zeros (0127 is octal to
// some parsers, so refusing it avoids ambiguity).
function parseIPv4(s: string, start: number, end: number): number {
  let v = 0
  let parts = 0
  let i = start
  while (parts < 4) {
    const partStart = i
    let part = 0
    while (i < end) {
      const d = s.charCodeAt(i) - 48
      if (d < 0 || d > 9) break
      part = part * 10 + d
      i++
    }
    const len = i - partStart
    if (len === 0 || len > 3 || part > 255 || (len > 1 && s.charCodeAt(partStart) === 48)) return -1
    v = v * 256 + part
    parts++
    if (parts < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return -1
      i++
    }
  }
  return i === end ? v : -1
}

// IPv6 text (RFC 4291 2.2 forms, optional trailing dotted quad, optional %zone) as 8 words, or null.
function parseIPv6(s: string): number[] | null {
  let end = s.indexOf('%')
  if (end < 0) end = s.length
  const head: number[] = []
  const tail: number[] = []
  let cur = head
  let gap = false
  let i = 0
  if (s.startsWith('::', 0)) {
    gap = true
    cur = tail
    i = 2
  }
  while (i < end) {
    // A dotted quad may end the address (::ffff:1.2.3.4, 64:ff9b::1.2.3.4).
    const dot = s.indexOf('.', i)
    if (dot >= 0 && dot < end && s.indexOf(':', i) < 0) {
      const v4 = parseIPv4(s, i, end)
      if (v4 < 0) return null
      cur.push(v4 >>> 16, v4 & 0xffff)
      i = end
      break
    }
    let w = 0
    const ws = i
    while (i < end && i - ws < 5) {
      const c = s.charCodeAt(i)
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1
      if (d < 0) break
      w = w * 16 + d
      i++
    }
    if (i === ws || i - ws > 4) return null
    cur.push(w)
    if (i === end) break
    if (s.charCodeAt(i) !== 58) return null
    i++
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap) return null
      gap = true
      cur = tail
      i++
    } else if (i === end) {
      return null // trailing single ':'
    }
  }
  const total = head.length + tail.length
  if (gap ? total > 7 : total !== 8) return null
  const words = head
  for (let k = total; k < 8; k++) words.push(0)
  for (const w of tail) words.push(w)
  return words
}

// The address a peer is known by: IPv4-mapped IPv6 from a dual-stack socket (or a tracker's
// peers6 list), in either text form (::ffff:1.2.3.4, ::ffff:102:304), becomes plain IPv4, so the
// same host is one peer (and one rate-limit bucket) whichever socket it came in on.
export function normalizeAddress(ip: string): string {
  if (ip.length <= 7 || ip.charCodeAt(0) !== 58 || ip.slice(0, 7).toLowerCase() !== '::ffff:') return ip
  const v4 = ipv4Number(ip)
  if (v4 >= 0) return ip.slice(7)
  const words = parseIPv6(ip)
  return words !== null && isMapped(words) ? dottedQuad(words) : ip
}

const isMapped = (w: number[]): boolean =>
  w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff
const dottedQuad = (w: number[]): string => `${w[6]! >>> 8}.${w[6]! & 255}.${w[7]! >>> 8}.${w[7]! & 255}`

/**
 * Loopback, private (RFC 1918, IPv6 ULA), link-local, unspecified or "this network" addresses:
 * ones a stranger on the internet has no business naming as a peer (BEP 11 peers it names are
 * dialled). IPv4-mapped IPv6 counts as its IPv4.
 */
export function isLocalAddress(ip: string): boolean {
  const v4 = ipv4Number(ip)
  if (v4 >= 0) {
    const a = v4 >>> 24
    const b = (v4 >>> 16) & 255
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b < 32) ||
      (a === 192 && b === 168)
    )
  }
  const w = parseIPv6(ip)
  if (w === null) return false
  if (isMapped(w)) return isLocalAddress(dottedQuad(w))
  if (w.slice(0, 7).every((x) => x === 0) && w[7]! <= 1) return true // :: and ::1
  return (w[0]! & 0xfe00) === 0xfc00 || (w[0]! & 0xffc0) === 0xfe80
}

/** "ip:port" as the seeder keys and logs a peer: IPv4 (mapped ones too) plain, IPv6 in brackets. */
export function peerEndpoint(ip: string, port: number): string {
  const n = normalizeAddress(ip)
  return n.includes(':') ? `[${n}]:${port}` : `${n}:${port}`
}

// The key per-address bounds (rate limits, peer and connection caps, completion counts) go by:
// IPv4 as it is (also IPv4-mapped, so a dual-stack socket changes nothing), IPv6 by its /64 as
// "a:b:c:d::/64". One subscriber is routed a whole /64, so limits per full IPv6 address would give
// them 2^64 fresh addresses. Not an IP address: returned unchanged (it then only limits itself).
export function addressKey(ip: string): string {
  const v4 = ipv4Number(ip)
  if (v4 >= 0) return `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`
  const words = parseIPv6(ip)
  if (words === null) return ip
  if (isMapped(words)) return dottedQuad(words)
  return `${words[0]!.toString(16)}:${words[1]!.toString(16)}:${words[2]!.toString(16)}:${words[3]!.toString(16)}::/64`
}

/** addressKey of a socket's remote address, which is undefined once the socket has lost it. */
export function socketAddressKey(address: string | undefined): string {
  return address ? addressKey(address) : 'unknown'
}
