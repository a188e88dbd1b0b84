// All database access for users, login sessions and API tokens.
import { providerOf, type Db } from '../db/client.ts'
import { AppError } from '../errors.ts'
import { videosChanged } from '../media/videoChanges.ts'

const userFields = { id: true, username: true, role: true, disabled: true, createdAt: true } as const

// User names are kept and looked up in lower case: `Admin` is `admin`, so two accounts cannot pass for one.
export const findUserByName = (db: Db, username: string) =>
  db.user.findUnique({ where: { username: username.toLowerCase() } })

export const findUser = (db: Db, id: number) => db.user.findUnique({ where: { id }, select: userFields })

export const listUsers = (db: Db) => db.user.findMany({ select: userFields, orderBy: { id: 'asc' } })

export const firstAdmin = (db: Db) =>
  db.user.findFirst({ where: { role: 'admin' }, orderBy: { id: 'asc' }, select: userFields })

export const createUser = (db: Db, username: string, passwordHash: string, role: string) =>
  db.user.create({ data: { username: username.toLowerCase(), passwordHash, role }, select: userFields })

/** A new password ends every login session the old one opened, in the same transaction. */
export const updateUserPassword = (db: Db, id: number, passwordHash: string) =>
  db.$transaction([
    db.user.update({ where: { id }, data: { passwordHash } }),
    db.session.deleteMany({ where: { userId: id } }),
  ])

// The guard runs inside the write's transaction: two admins disabling each other at once both
// passed a check made before their writes, leaving none. SQLite runs one write transaction at a
// time; PostgreSQL runs them side by side (each process its own pool), so there changes to
// admins first take one transaction-scoped lock, and the count then sees the other's commit.
const ADMIN_CHANGES_LOCK = 0x5eedad01

async function lockAdminChanges(db: Db, tx: Pick<Db, '$queryRaw'>): Promise<void> {
  if (providerOf(db) === 'postgresql') await tx.$queryRaw`SELECT 1 FROM pg_advisory_xact_lock(${ADMIN_CHANGES_LOCK})`
}

async function keepAnAdmin(tx: Pick<Db, 'user'>): Promise<void> {
  if ((await tx.user.count({ where: { role: 'admin', disabled: false } })) === 0) throw new AppError('last_admin')
}

/**
 * Role and disabled flag; disabling ends the user's sessions in the same transaction. With
 * `keepAdmin`, refused (last_admin, nothing written) if no enabled admin would be left.
 */
export const updateUser = (db: Db, id: number, data: { role?: string; disabled?: boolean }, keepAdmin = false) =>
  db.$transaction(async (tx) => {
    if (keepAdmin) await lockAdminChanges(db, tx)
    const user = await tx.user.update({ where: { id }, data, select: userFields })
    if (keepAdmin) await keepAnAdmin(tx)
    if (data.disabled) await tx.session.deleteMany({ where: { userId: id } })
    return user
  })

/** Removes a user; their videos go to `heirId` (sessions and tokens go with the user). `keepAdmin` as above. */
export async function removeUser(db: Db, id: number, heirId: number, keepAdmin = false): Promise<void> {
  await db.$transaction(async (tx) => {
    if (keepAdmin) await lockAdminChanges(db, tx)
    await tx.video.updateMany({ where: { uploaderId: id }, data: { uploaderId: heirId } })
    await tx.user.delete({ where: { id } })
    if (keepAdmin) await keepAnAdmin(tx)
  })
  // Their videos' pages name another owner now.
  videosChanged(null)
}

/** Videos from before owners were recorded (or whose owner row is gone) go to `adminId`. */
export const adoptOwnerlessVideos = (db: Db, adminId: number) =>
  db.$executeRaw`UPDATE "Video" SET "uploaderId" = ${adminId}
    WHERE "uploaderId" IS NULL OR "uploaderId" NOT IN (SELECT "id" FROM "User")`

export const createSession = (db: Db, data: { id: string; userId: number; csrfToken: string; expiresAt: Date }) =>
  db.session.create({ data })

export const findSession = (db: Db, id: string) =>
  db.session.findUnique({ where: { id }, include: { user: { select: userFields } } })

export const deleteSession = (db: Db, id: string) => db.session.deleteMany({ where: { id } })

export const deleteExpiredSessions = (db: Db, now: Date) => db.session.deleteMany({ where: { expiresAt: { lt: now } } })

const tokenFields = { id: true, name: true, createdAt: true, lastUsedAt: true } as const

export const createToken = (db: Db, userId: number, name: string, tokenHash: string) =>
  db.apiToken.create({ data: { userId, name, tokenHash }, select: tokenFields })

export const listTokens = (db: Db, userId: number) =>
  db.apiToken.findMany({ where: { userId }, select: tokenFields, orderBy: { id: 'asc' } })

export const findTokenByHash = (db: Db, tokenHash: string) =>
  db.apiToken.findUnique({ where: { tokenHash }, include: { user: { select: userFields } } })

export const deleteToken = (db: Db, userId: number, id: number) => db.apiToken.deleteMany({ where: { id, userId } })

export const touchToken = (db: Db, id: number, at: Date) =>
  db.apiToken.updateMany({ where: { id }, data: { lastUsedAt: at } })
