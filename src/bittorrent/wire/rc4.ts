// RC4 (ARCFOUR), MSE's stream cipher, in plain TypeScript.
// Why not OpenSSL: Node 24's OpenSSL 3 has RC4 only behind the legacy provider, i.e. every way the
// seeder starts (supervisor, `npm run seeder`, systemd) would need `--openssl-legacy-provider`,
// and a fallback for when it is missing. Measured on the 2-core test machine (64 KiB buffers):
// this loop 400-490 MB/s, OpenSSL's 640-680 MB/s. One core at 400 MB/s is far above what one
// encrypted peer downloads, and an RC4 peer costs ~2.5 ns of CPU per byte against OpenSSL's ~1.5:
// not worth a process flag. State in an Int32Array: V8 keeps the loop on untagged integers.

export class Rc4 {
  private readonly s = new Int32Array(256)
  private i = 0
  private j = 0

  /** `discard`: keystream bytes to drop first (MSE drops 1024). */
  constructor(key: Uint8Array, discard = 0) {
    const s = this.s
    for (let i = 0; i < 256; i++) s[i] = i
    for (let i = 0, j = 0; i < 256; i++) {
      const si = s[i]!
      j = (j + si + key[i % key.length]!) & 0xff
      s[i] = s[j]!
      s[j] = si
    }
    if (discard) this.update(Buffer.alloc(discard))
  }

  /** En- or decrypts `src` into `dst` (may be `src` itself, or any buffer as long). */
  run(src: Uint8Array, dst: Uint8Array): void {
    const s = this.s
    let i = this.i
    let j = this.j
    const n = src.length
    for (let x = 0; x < n; x++) {
      i = (i + 1) & 0xff
      const si = s[i]!
      j = (j + si) & 0xff
      const sj = s[j]!
      s[i] = sj
      s[j] = si
      dst[x] = src[x]! ^ s[(si + sj) & 0xff]!
    }
    this.i = i
    this.j = j
  }

  /** En- or decrypts `buf` in place; returns it. */
  update(buf: Buffer): Buffer {
    this.run(buf, buf)
    return buf
  }

  /** An en- or decrypted copy of `buf` (which is left as it is: cached piece data, say). */
  copy(buf: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(buf.length)
    this.run(buf, out)
    return out
  }
}
