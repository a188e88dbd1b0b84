// The infohash aria2c before 1.37 gives a hybrid torrent. aria2c hashes its own re-encoding of
// the info dict, and its bencode reader before 1.37 (aria2 #1903, fixed by #1905) dropped dict
// entries whose key is empty: exactly the leaves of a v2 `file tree` (`{"": {length, pieces
// root}}`). Debian 12 ships 1.36, so its aria2c announces and handshakes a hybrid under
// SHA-1(info without those entries), a hash nobody else uses. A seeder or tracker that also
// answers to this hash lets those clients join the hybrid's v1 swarm. Pure.
import { createHash } from 'node:crypto'
import { type BValue, decode, isDict } from './bencode.ts'

/** Canonical bencode with Buffer-order keys, leaving out every entry whose key is empty. */
function encodeWithoutEmptyKeys(v: BValue, out: Buffer[]): void {
  if (typeof v === 'number') out.push(Buffer.from(`i${v}e`))
  else if (Buffer.isBuffer(v)) out.push(Buffer.from(`${v.length}:`), v)
  else if (Array.isArray(v)) {
    out.push(Buffer.from('l'))
    for (const x of v) encodeWithoutEmptyKeys(x, out)
    out.push(Buffer.from('e'))
  } else if (isDict(v)) {
    out.push(Buffer.from('d'))
    const keys = Object.keys(v)
      .filter((k) => k !== '')
      .map((k) => ({ k, raw: Buffer.from(k, 'latin1') })) // the reader keeps keys as latin1
      .sort((a, b) => Buffer.compare(a.raw, b.raw))
    for (const { k, raw } of keys) {
      out.push(Buffer.from(`${raw.length}:`), raw)
      encodeWithoutEmptyKeys(v[k]!, out)
    }
    out.push(Buffer.from('e'))
  }
}

/** The 40-hex infohash aria2c < 1.37 computes for this info dict, or null when it is the real one. */
export function aria2LegacyInfoHash(infoBytes: Buffer): string | null {
  const parts: Buffer[] = []
  encodeWithoutEmptyKeys(decode(infoBytes), parts)
  const reencoded = Buffer.concat(parts)
  return reencoded.equals(infoBytes) ? null : createHash('sha1').update(reencoded).digest('hex')
}
