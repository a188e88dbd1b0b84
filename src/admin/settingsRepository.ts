import type { Db } from '../db/client.ts'

export async function readSettingValues(db: Db): Promise<Map<string, string>> {
  const rows = await db.setting.findMany()
  return new Map(rows.map((r) => [r.key, r.value]))
}

export async function writeSettingValues(db: Db, values: Record<string, string>): Promise<void> {
  await db.$transaction(
    Object.entries(values).map(([key, value]) =>
      db.setting.upsert({ where: { key }, create: { key, value }, update: { value } }),
    ),
  )
}
