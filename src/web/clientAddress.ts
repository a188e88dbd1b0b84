// The key that per-address bounds count by. IPv4 as it is (also when it arrives IPv4-mapped,
// `::ffff:1.2.3.4`, on a dual-stack socket); IPv6 by its /64, because one subscriber is given a
// whole /64 and could otherwise take a fresh address for every connection or guess.
import { isIPv4, isIPv6 } from 'node:net'

export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (isIPv4(address)) return address
  const bare = address.split('%')[0]!
  if (!isIPv6(bare)) return address
  return `${ipv6Groups(bare).slice(0, 4).join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address, as short hex (an IPv4 tail counts as two). */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::')
  const split = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : [])
  const left = split(head)
  const right = tail === undefined ? [] : split(tail)
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16).toString(16))
}
