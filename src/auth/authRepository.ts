import type { Db } from '../db/client.ts'

export const findUserByName = (db: Db, username: string) => db.user.findUnique({ where: { username } })

export const createUser = (db: Db, username: string, passwordHash: string, role: string) =>
  db.user.create({ data: { username, passwordHash, role } })

/** A new password ends every login session the old one opened, in the same transaction. */
export const updateUserPassword = (db: Db, id: number, passwordHash: string) =>
  db.$transaction([
    db.user.update({ where: { id }, data: { passwordHash } }),
    db.session.deleteMany({ where: { userId: id } }),
  ])

export const createSession = (db: Db, data: { id: string; userId: number; csrfToken: string; expiresAt: Date }) =>
  db.session.create({ data })

export const findSession = (db: Db, id: string) => db.session.findUnique({ where: { id }, include: { user: true } })

export const deleteSession = (db: Db, id: string) => db.session.deleteMany({ where: { id } })

export const deleteExpiredSessions = (db: Db, now: Date) => db.session.deleteMany({ where: { expiresAt: { lt: now } } })
