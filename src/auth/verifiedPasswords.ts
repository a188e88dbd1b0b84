// Passwords recently found right, so an API client using HTTP Basic pays for scrypt (about 50 ms
// of CPU, src/auth/passwords.ts) once every few minutes instead of on every request. Kept as
// HMACs under a key made at start, never the password, and over the user's id and stored hash:
// a changed password changes the hash and misses. The caller reads the user's row on every
// check, so a disabled account or a changed role takes effect at once. Only right answers are
// kept: a wrong password always costs the full check, and its timing tells nothing new.
// A Map in insertion order is the bound (oldest first), as in src/db/sqliteAdapter.ts.
import { createHmac, randomBytes } from 'node:crypto'

const TTL_MS = 5 * 60_000
const MAX_KEPT = 10_000

export class VerifiedPasswords {
  private readonly key = randomBytes(32)
  /** digest -> until when it counts. */
  private readonly kept = new Map<string, number>()

  has(userId: number, storedHash: string, password: string, now: number): boolean {
    const digest = this.digest(userId, storedHash, password)
    const until = this.kept.get(digest)
    if (until === undefined) return false
    if (until > now) return true
    this.kept.delete(digest)
    return false
  }

  add(userId: number, storedHash: string, password: string, now: number): void {
    const digest = this.digest(userId, storedHash, password)
    this.kept.delete(digest)
    this.kept.set(digest, now + TTL_MS)
    while (this.kept.size > MAX_KEPT) this.kept.delete(this.kept.keys().next().value!)
  }

  private digest(userId: number, storedHash: string, password: string): string {
    return createHmac('sha256', this.key).update(`${userId}\0${storedHash}\0`).update(password).digest('base64')
  }
}
