// The database side of /healthz: a real write, since a database that can be read but not written
// (read-only file system, full disk) answers SELECT 1 happily while every upload fails.
import { providerOf, type Db } from '../db/client.ts'

export async function probeDatabaseWrite(db: Db): Promise<void> {
  if (providerOf(db) === 'postgresql') {
    // A row rewritten with the value it has: a new row version and its WAL record, nothing changed.
    await db.$executeRawUnsafe(
      'UPDATE "_seedcast_migrations" SET "appliedAt" = "appliedAt" WHERE "name" = (SELECT MIN("name") FROM "_seedcast_migrations")',
    )
    return
  }
  const [row] = await db.$queryRawUnsafe<{ user_version: number | bigint }[]>('PRAGMA user_version')
  // Rewrites the header with the value it has (unused by the migrations): a write transaction
  // that changes nothing.
  await db.$executeRawUnsafe(`PRAGMA user_version = ${Number(row?.user_version ?? 0)}`)
}
