// Users, passwords and login sessions. Today there is one role (admin); accounts with roles
// and API tokens extend this module.
import { randomBytes } from 'node:crypto'
import type { Db } from '../db/client.ts'
import { generatePassword, hashPassword, verifyPassword } from './passwords.ts'
import * as repo from './authRepository.ts'

export interface CurrentUser { id: number; username: string; role: string }
export interface LoginSession { id: string; csrfToken: string; user: CurrentUser }

const SESSION_TTL_MS = 14 * 24 * 3600 * 1000
export const ADMIN_USERNAME = 'admin'

export class AuthService {
  private readonly db: Db
  constructor(db: Db) { this.db = db }

  /**
   * Creates user `admin` on first start. With ADMIN_PASSWORD set, that is its password (and a
   * changed ADMIN_PASSWORD takes effect at the next start); unset, one is generated and returned once.
   */
  async ensureAdmin(configuredPassword: string | undefined): Promise<{ generatedPassword?: string }> {
    const existing = await repo.findUserByName(this.db, ADMIN_USERNAME)
    if (existing) {
      if (configuredPassword && !(await verifyPassword(configuredPassword, existing.passwordHash))) {
        await repo.updateUserPassword(this.db, existing.id, await hashPassword(configuredPassword))
      }
      return {}
    }
    const password = configuredPassword ?? generatePassword()
    await repo.createUser(this.db, ADMIN_USERNAME, await hashPassword(password), 'admin')
    return configuredPassword ? {} : { generatedPassword: password }
  }

  async verifyCredentials(username: string, password: string): Promise<CurrentUser | null> {
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
    await repo.createSession(this.db, { id, userId: user.id, csrfToken, expiresAt: new Date(Date.now() + SESSION_TTL_MS) })
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
