// What the seeder reads from the database: every published torrent and the file it belongs to.
import type { Db } from '../src/db/client.ts'

export interface Seedable {
  videoId: string
  fileName: string
  size: number
  infoHash: string
  /** File modification time recorded when the torrent was made; null for older records. */
  fileMtimeMs: number | null
}

export async function findSeedable(db: Db): Promise<Seedable[]> {
  const rows = await db.torrent.findMany({
    where: { video: { status: 'ready' } },
    select: { infoHash: true, fileMtimeMs: true, video: { select: { id: true, fileName: true, size: true } } },
  })
  return rows.map((r) => ({
    videoId: r.video.id,
    fileName: r.video.fileName,
    size: Number(r.video.size),
    infoHash: r.infoHash,
    fileMtimeMs: r.fileMtimeMs === null ? null : Number(r.fileMtimeMs),
  }))
}
