// The cursors of video listings: opaque to clients, (createdAt, id) inside.
export function encodeCursor(v: { createdAt: Date; id: string }): string {
  return Buffer.from(`${v.createdAt.getTime()}:${v.id}`).toString('base64url')
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [ms, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':')
  const time = Number(ms)
  // A Date holds ±8.64e15 ms; beyond that it is Invalid Date, which the database refuses (a 500).
  const createdAt = new Date(time)
  if (!id || !Number.isSafeInteger(time) || Number.isNaN(createdAt.getTime())) return null
  return { createdAt, id }
}
