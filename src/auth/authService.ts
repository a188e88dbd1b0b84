// Who is asking: passwords (log-in form, HTTP Basic), login sessions (cookie) and API tokens
// (Bearer), each checked against the user's current state (a disabled user is refused). Managing
// users and tokens is src/accounts/.
import { randomBytes } from 'node:crypto'
import type { Db } from '../db/client.ts'
import { AppError, passwordCheckBusy, tooManyAttempts } from '../errors.ts'
import type { Refusals } from '../refusals.ts'
import { generatePassword, hashPassword, verifyPassword } from './passwords.ts'
import { FailureThrottle } from './failureThrottle.ts'
import { HashGate, HashGateFull } from './hashGate.ts'
import { VerifiedPasswords } from './verifiedPasswords.ts'
import * as repo from './authRepository.ts'
import { TOKEN_PREFIX, hashSecret, newSecret } from './secrets.ts'

export interface CurrentUser {
  id: number
  username: string
  role: string
}
export interface LoginSession {
  /** The cookie's value; the database holds only its hash. */
  id: string
  csrfToken: string
  user: CurrentUser
}

/** The bounds on password checking (AUTH_* settings). */
export interface AuthLimits {
  maxFailures: number
  failureWindowSeconds: number
  throttleMaxAddresses: number
  maxConcurrentHashes: number
  hashQueue: number
}

const SESSION_TTL_MS = 14 * 24 * 3600 * 1000
const ADMIN_USERNAME = 'admin'
// A token's last use is written at most this often: not a database write per API request.
const TOKEN_TOUCH_MS = 60_000
const UNLIMITED: AuthLimits = {
  maxFailures: 0,
  failureWindowSeconds: 60,
  throttleMaxAddresses: 1,
  maxConcurrentHashes: 64,
  hashQueue: 10_000,
}

export class AuthService {
  private readonly db: Db
  private readonly throttle: FailureThrottle
  private readonly gate: HashGate
  private readonly refusals: Refusals | undefined
  private readonly verified = new VerifiedPasswords()

  constructor(db: Db, limits: AuthLimits = UNLIMITED, refusals?: Refusals) {
    this.db = db
    this.refusals = refusals
    this.throttle = new FailureThrottle({
      maxFailures: limits.maxFailures,
      windowMs: limits.failureWindowSeconds * 1000,
      maxTracked: limits.throttleMaxAddresses,
    })
    this.throttle.onForget = () => refusals?.add('auth_throttle_addresses')
    this.gate = new HashGate(limits.maxConcurrentHashes, limits.hashQueue)
  }

  /**
   * The first admin: user `admin`, created on first start. With ADMIN_PASSWORD set, that is its
   * password (a changed ADMIN_PASSWORD takes effect at the next start, ending its sessions);
   * unset, one is generated and returned once. Once `admin` was removed while another admin
   * exists, it is not created again. Videos without an owner go to the first admin.
   */
  async ensureAdmin(configuredPassword: string | undefined): Promise<{ generatedPassword?: string }> {
    const result = await this.ensureAdminUser(configuredPassword)
    const admin = await repo.firstAdmin(this.db)
    if (admin) await repo.adoptOwnerlessVideos(this.db, admin.id)
    return result
  }

  private async ensureAdminUser(configuredPassword: string | undefined): Promise<{ generatedPassword?: string }> {
    const existing = await repo.findUserByName(this.db, ADMIN_USERNAME)
    if (existing) {
      if (configuredPassword && !(await verifyPassword(configuredPassword, existing.passwordHash))) {
        await this.setPassword(existing.id, configuredPassword)
      }
      return {}
    }
    if (await repo.firstAdmin(this.db)) return {}
    const password = configuredPassword ?? generatePassword()
    await repo.createUser(this.db, ADMIN_USERNAME, await hashPassword(password), 'admin')
    return configuredPassword ? {} : { generatedPassword: password }
  }

  /** Sets a user's password and ends all of that user's login sessions. */
  async setPassword(userId: number, password: string): Promise<void> {
    await repo.updateUserPassword(this.db, userId, await this.gated(() => hashPassword(password)))
  }

  /**
   * Checks a password offered by `clientKey` (its address, see web/clientAddress.ts): null when
   * wrong; 429 once that address has used up its wrong passwords and tokens, 503 when hashing is
   * at capacity, 403 for a disabled account (the password was right, so it does not count).
   */
  async authenticate(clientKey: string, username: string, password: string): Promise<CurrentUser | null> {
    this.reserveAttempt(clientKey)
    let user: CurrentUser | 'disabled' | null
    try {
      const row = await repo.findUserByName(this.db, username)
      // A password found right a moment ago skips the gate too: a flood of wrong ones filling it
      // does not refuse the API clients that already proved theirs.
      user =
        row && this.verified.has(row.id, row.passwordHash, password, Date.now())
          ? checkedUser(row)
          : await this.gated(() => this.verifyCredentials(row, password))
    } catch (err) {
      this.throttle.refund(clientKey)
      throw err
    }
    if (user) this.throttle.refund(clientKey)
    if (user === 'disabled') throw new AppError('account_disabled')
    return user
  }

  /** Checks an API token (Bearer): null when unknown, under the same per-address throttle as passwords. */
  async authenticateToken(clientKey: string, token: string): Promise<CurrentUser | null> {
    this.reserveAttempt(clientKey)
    const row = token.startsWith(TOKEN_PREFIX) ? await repo.findTokenByHash(this.db, hashSecret(token)) : null
    if (!row) return null
    this.throttle.refund(clientKey)
    if (row.user.disabled) throw new AppError('account_disabled')
    const now = new Date()
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > TOKEN_TOUCH_MS)
      await repo.touchToken(this.db, row.id, now)
    return toCurrentUser(row.user)
  }

  /** A user changing their own password: false when `current` is wrong; their other sessions end. */
  async changeOwnPassword(clientKey: string, session: LoginSession, current: string, next: string): Promise<boolean> {
    const user = await this.authenticate(clientKey, session.user.username, current)
    if (!user) return false
    await this.setPassword(user.id, next)
    // setPassword ended every session of the user; this one is started again under the same id.
    await repo.createSession(this.db, {
      id: hashSecret(session.id),
      userId: user.id,
      csrfToken: session.csrfToken,
      expiresAt: new Date(Date.now() + SESSION_TTL_MS),
    })
    return true
  }

  /** Hashes `fn` under the semaphore: 503 (counted) when every slot and queue place is taken. */
  private async gated<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.gate.run(fn)
    } catch (err) {
      if (!(err instanceof HashGateFull)) throw err
      this.refusals?.add('auth_hashing_busy')
      throw passwordCheckBusy()
    }
  }

  /** Takes one attempt from the address's bucket (a right answer gives it back); 429 once it is empty. */
  private reserveAttempt(clientKey: string): void {
    const wait = this.throttle.reserve(clientKey)
    if (!wait) return
    this.refusals?.add('auth_failures_per_address')
    throw tooManyAttempts(wait)
  }

  private async verifyCredentials(user: UserRow | null, password: string): Promise<CurrentUser | 'disabled' | null> {
    if (!user) {
      await hashPassword(password) // same cost either way, so timing does not reveal user names
      return null
    }
    if (!(await verifyPassword(password, user.passwordHash))) return null
    this.verified.add(user.id, user.passwordHash, password, Date.now())
    return checkedUser(user)
  }

  /** A new login session; its id is the cookie's value, and only the id's hash is stored. */
  async startSession(user: CurrentUser): Promise<LoginSession> {
    const id = newSecret()
    const csrfToken = randomBytes(24).toString('base64url')
    await repo.createSession(this.db, {
      id: hashSecret(id),
      userId: user.id,
      csrfToken,
      expiresAt: new Date(Date.now() + SESSION_TTL_MS),
    })
    return { id, csrfToken, user }
  }

  async findSession(id: string): Promise<LoginSession | null> {
    const key = hashSecret(id)
    const session = await repo.findSession(this.db, key)
    if (!session) return null
    if (session.expiresAt.getTime() < Date.now() || session.user.disabled) {
      await repo.deleteSession(this.db, key)
      return null
    }
    return { id, csrfToken: session.csrfToken, user: toCurrentUser(session.user) }
  }

  async endSession(id: string): Promise<void> {
    await repo.deleteSession(this.db, hashSecret(id))
  }

  async purgeExpiredSessions(): Promise<void> {
    await repo.deleteExpiredSessions(this.db, new Date())
  }
}

type UserRow = NonNullable<Awaited<ReturnType<typeof repo.findUserByName>>>

/** A user whose password was right, as the request sees them. */
const checkedUser = (u: UserRow): CurrentUser | 'disabled' => (u.disabled ? 'disabled' : toCurrentUser(u))

const toCurrentUser = (u: { id: number; username: string; role: string }): CurrentUser => ({
  id: u.id,
  username: u.username,
  role: u.role,
})

/** A new API token's secret (shown once) and the hash that is stored. */
export function newApiToken(): { token: string; tokenHash: string } {
  const token = newSecret(TOKEN_PREFIX)
  return { token, tokenHash: hashSecret(token) }
}
