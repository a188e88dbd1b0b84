// Users, passwords and login sessions. Today there is one role (admin); accounts with roles
// and API tokens extend this module.
import { randomBytes } from 'node:crypto'
import type { Db } from '../db/client.ts'
import { passwordCheckBusy, tooManyAttempts } from '../errors.ts'
import type { Refusals } from '../refusals.ts'
import { generatePassword, hashPassword, verifyPassword } from './passwords.ts'
import { FailureThrottle } from './failureThrottle.ts'
import { HashGate, HashGateFull } from './hashGate.ts'
import * as repo from './authRepository.ts'

export interface CurrentUser {
  id: number
  username: string
  role: string
}
export interface LoginSession {
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
   * Creates user `admin` on first start. With ADMIN_PASSWORD set, that is its password (and a
   * changed ADMIN_PASSWORD takes effect at the next start, ending every session); unset, one is
   * generated and returned once.
   */
  async ensureAdmin(configuredPassword: string | undefined): Promise<{ generatedPassword?: string }> {
    const existing = await repo.findUserByName(this.db, ADMIN_USERNAME)
    if (existing) {
      if (configuredPassword && !(await verifyPassword(configuredPassword, existing.passwordHash))) {
        await this.setPassword(existing.id, configuredPassword)
      }
      return {}
    }
    const password = configuredPassword ?? generatePassword()
    await repo.createUser(this.db, ADMIN_USERNAME, await hashPassword(password), 'admin')
    return configuredPassword ? {} : { generatedPassword: password }
  }

  /** Sets a user's password and ends all of that user's login sessions. */
  async setPassword(userId: number, password: string): Promise<void> {
    await repo.updateUserPassword(this.db, userId, await hashPassword(password))
  }

  /**
   * Checks a password offered by `clientKey` (its address, see web/clientAddress.ts): null when
   * wrong; 429 once that address has used up its wrong passwords, 503 when hashing is at capacity.
   */
  async authenticate(clientKey: string, username: string, password: string): Promise<CurrentUser | null> {
    const wait = this.throttle.reserve(clientKey)
    if (wait) {
      this.refusals?.add('auth_failures_per_address')
      throw tooManyAttempts(wait)
    }
    let user: CurrentUser | null
    try {
      user = await this.gate.run(() => this.verifyCredentials(username, password))
    } catch (err) {
      this.throttle.refund(clientKey)
      if (!(err instanceof HashGateFull)) throw err
      this.refusals?.add('auth_hashing_busy')
      throw passwordCheckBusy()
    }
    if (user) this.throttle.refund(clientKey)
    return user
  }

  private async verifyCredentials(username: string, password: string): Promise<CurrentUser | null> {
    const user = await repo.findUserByName(this.db, username)
    if (!user) {
      await hashPassword(password) // same cost either way, so timing does not reveal user names
      return null
    }
    if (!(await verifyPassword(password, user.passwordHash))) return null
    return { id: user.id, username: user.username, role: user.role }
  }

  async startSession(user: CurrentUser): Promise<LoginSession> {
    const id = randomBytes(32).toString('base64url')
    const csrfToken = randomBytes(24).toString('base64url')
    await repo.createSession(this.db, {
      id,
      userId: user.id,
      csrfToken,
      expiresAt: new Date(Date.now() + SESSION_TTL_MS),
    })
    return { id, csrfToken, user }
  }

  async findSession(id: string): Promise<LoginSession | null> {
    const session = await repo.findSession(this.db, id)
    if (!session) return null
    if (session.expiresAt.getTime() < Date.now()) {
      await repo.deleteSession(this.db, id)
      return null
    }
    const { user } = session
    return { id, csrfToken: session.csrfToken, user: { id: user.id, username: user.username, role: user.role } }
  }

  async endSession(id: string): Promise<void> {
    await repo.deleteSession(this.db, id)
  }

  async purgeExpiredSessions(): Promise<void> {
    await repo.deleteExpiredSessions(this.db, new Date())
  }
}
