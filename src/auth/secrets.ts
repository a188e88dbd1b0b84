// Random secrets handed to a client (session cookies, API tokens) and the form they are stored
// in: SHA-256, not a password hash, because each is 256 random bits (nothing to guess) and is
// checked on every request. A copy of the database therefore logs no one in.
import { createHash, randomBytes } from 'node:crypto'

export const newSecret = (prefix = ''): string => prefix + randomBytes(32).toString('base64url')

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex')

/** API tokens start with this, so a leaked one is recognisable (and secret scanners can match it). */
export const TOKEN_PREFIX = 'sct_'
