import type { Db } from '../db/client.ts'

export interface AuditEntry {
  actor: string
  field: string
  before: string
  after: string
}

export async function readSettingValues(db: Db): Promise<Map<string, string>> {
  const rows = await db.setting.findMany()
  return new Map(rows.map((r) => [r.key, r.value]))
}

/** The values and their audit entries in one transaction: no change goes unrecorded. */
export async function writeSettingValues(db: Db, values: Record<string, string>, audit: AuditEntry[]): Promise<void> {
  await db.$transaction([
    ...Object.entries(values).map(([key, value]) =>
      db.setting.upsert({ where: { key }, create: { key, value }, update: { value } }),
    ),
    ...audit.map((data) => db.settingChange.create({ data })),
  ])
}

export const listAudit = (db: Db, limit: number) =>
  db.settingChange.findMany({ orderBy: [{ at: 'desc' }, { id: 'desc' }], take: limit })
