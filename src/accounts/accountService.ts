// Managing accounts: users (admins add, change, disable and remove them; the shell does through
// the CLI) and each user's API tokens. Authentication itself is src/auth/.
import type { Db } from '../db/client.ts'
import { AppError } from '../errors.ts'
import type { AuthService } from '../auth/authService.ts'
import { newApiToken } from '../auth/authService.ts'
import { hashPassword } from '../auth/passwords.ts'
import * as repo from '../auth/authRepository.ts'
import type { Role } from '../auth/rights.ts'

export interface UserJson {
  id: number
  name: string
  role: Role
  disabled: boolean
  createdAt: string
}

export interface TokenJson {
  id: number
  name: string
  createdAt: string
  lastUsedAt: string | null
}

export interface UserChange {
  role?: Role
  disabled?: boolean
  password?: string
}

type UserRow = { id: number; username: string; role: string; disabled: boolean; createdAt: Date }
type TokenRow = { id: number; name: string; createdAt: Date; lastUsedAt: Date | null }

const presentUser = (u: UserRow): UserJson => ({
  id: u.id,
  name: u.username,
  role: u.role as Role,
  disabled: u.disabled,
  createdAt: u.createdAt.toISOString(),
})

const presentToken = (t: TokenRow): TokenJson => ({
  id: t.id,
  name: t.name,
  createdAt: t.createdAt.toISOString(),
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
})

// SQLite and PostgreSQL both report a unique-index clash as P2002.
const isUniqueClash = (err: unknown) => (err as { code?: string } | null)?.code === 'P2002'

export class AccountService {
  private readonly db: Db
  private readonly auth: AuthService

  constructor(db: Db, auth: AuthService) {
    this.db = db
    this.auth = auth
  }

  async listUsers(): Promise<UserJson[]> {
    return (await repo.listUsers(this.db)).map(presentUser)
  }

  async getUser(id: number): Promise<UserJson> {
    return presentUser(await this.findUser(id))
  }

  async findUserByName(name: string): Promise<UserJson | null> {
    const user = await repo.findUserByName(this.db, name)
    return user ? presentUser(user) : null
  }

  /** Who owns imported videos: the named user, or the first enabled admin. Throws AppError when none. */
  async importOwner(name: string | null): Promise<UserJson> {
    if (name !== null) {
      const user = await this.findUserByName(name)
      if (!user) throw new AppError('user_not_found', `no user named ${name} to own imported videos`)
      if (user.disabled) throw new AppError('account_disabled', `user ${user.name} is disabled`)
      return user
    }
    const admin = (await this.listUsers()).find((u) => u.role === 'admin' && !u.disabled)
    if (!admin)
      throw new AppError(
        'user_not_found',
        'no enabled admin to own imported videos (start the site once, or: user add NAME --role admin)',
      )
    return admin
  }

  async createUser(name: string, password: string, role: Role): Promise<UserJson> {
    const passwordHash = await hashPassword(password)
    try {
      return presentUser(await repo.createUser(this.db, name, passwordHash, role))
    } catch (err) {
      if (isUniqueClash(err)) throw new AppError('user_exists', `A user named ${name} exists`)
      throw err
    }
  }

  /**
   * An admin's change to a user. Disabling ends their sessions; a new password ends them too.
   * The last enabled admin cannot be disabled or demoted, and `actorId` cannot do either to itself.
   */
  async updateUser(actorId: number | null, id: number, change: UserChange): Promise<UserJson> {
    const user = await this.findUser(id)
    const demoted = change.role !== undefined && change.role !== 'admin' && user.role === 'admin'
    const disabled = change.disabled === true && !user.disabled
    if ((demoted || disabled) && id === actorId) throw new AppError('own_account')
    const { role, disabled: flag } = change
    if (role !== undefined || flag !== undefined)
      await repo.updateUser(this.db, id, { role, disabled: flag }, role === 'uploader' || flag === true)
    // After the guarded change: a refused one leaves the password as it was.
    if (change.password !== undefined) await this.auth.setPassword(id, change.password)
    return presentUser(await this.findUser(id))
  }

  /** Removes a user; their videos now belong to `heirId` (the admin removing them). */
  async removeUser(heirId: number, id: number): Promise<void> {
    await this.findUser(id)
    if (id === heirId) throw new AppError('own_account')
    await repo.removeUser(this.db, id, heirId, true)
  }

  async createToken(userId: number, name: string): Promise<TokenJson & { token: string }> {
    const { token, tokenHash } = newApiToken()
    return { ...presentToken(await repo.createToken(this.db, userId, name, tokenHash)), token }
  }

  async listTokens(userId: number): Promise<TokenJson[]> {
    return (await repo.listTokens(this.db, userId)).map(presentToken)
  }

  /** Revokes one of the user's own tokens (another user's is "no such token"). */
  async revokeToken(userId: number, id: number): Promise<void> {
    const { count } = await repo.deleteToken(this.db, userId, id)
    if (count === 0) throw new AppError('token_not_found', `No token ${id} of yours`)
  }

  private async findUser(id: number): Promise<UserRow> {
    const user = await repo.findUser(this.db, id)
    if (!user) throw new AppError('user_not_found', `No user with id ${id}`)
    return user
  }
}
