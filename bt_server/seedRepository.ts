// What the seeder reads from the database: the torrent of every published video and its file,
// or nothing while the admin has BitTorrent switched off; and the site's upload cap for it.
import type { Db } from '../src/db/client.ts'

export interface Seedable {
  videoId: string
  fileName: string
  size: number
  infoHash: string
  /** File modification time recorded when the torrent was made; null for older records. */
  fileMtimeMs: number | null
  /** The `Torrent.trackers` column as stored (JSON): a change key, the .torrent has the URLs. */
  trackers: string
}

// One plain join rather than `torrent.findMany({ select: { video: { select: … } } })`: with
// Prisma 7.10 and the better-sqlite3 adapter, that nested relation select leaves ~230 bytes of
// native memory per row behind on every call (1,000 videos: ~230 KB per rescan, 0.6 GB a day at
// the default 30 s interval; see prisma/orm#30276, #29774). Quoted identifiers keep the SQL valid
// for PostgreSQL too. The BitTorrent switch is read in the same statement, so a rescan sees one
// state of both; no `bittorrentEnabled` row means on.
interface SeedableRow {
  videoId: string
  fileName: string
  size: bigint | number
  infoHash: string
  fileMtimeMs: bigint | number | null
  trackers: string
}

export async function findSeedable(db: Db): Promise<Seedable[]> {
  const rows = await db.$queryRaw<SeedableRow[]>`
    SELECT v."id" AS "videoId", v."fileName", v."size", t."infoHash", t."fileMtimeMs", t."trackers"
    FROM "Torrent" t JOIN "Video" v ON v."id" = t."videoId"
    WHERE v."status" = 'ready' AND v."published" = true
      AND NOT EXISTS (SELECT 1 FROM "Setting" s WHERE s."key" = 'bittorrentEnabled' AND s."value" = 'false')`
  return rows.map((r) => ({
    videoId: r.videoId,
    fileName: r.fileName,
    size: Number(r.size),
    infoHash: r.infoHash,
    fileMtimeMs: r.fileMtimeMs === null ? null : Number(r.fileMtimeMs),
    trackers: r.trackers,
  }))
}

/** The site's seederUploadCap (bytes per second for all peers together); no row, or 0, means no cap. */
export async function findUploadCap(db: Db): Promise<number> {
  const row = await db.setting.findUnique({ where: { key: 'seederUploadCap' }, select: { value: true } })
  const cap = Number(row?.value ?? 0)
  return Number.isSafeInteger(cap) && cap > 0 ? cap : 0
}
