// What the seeder reads from the database: the torrent of every published video and its file,
// and the video's retired torrents (kept seeded after its files changed, until an admin removes
// them), or nothing while the admin has BitTorrent switched off; and the site's upload cap for it.
import type { Db } from '../src/db/client.ts'

export interface Seedable {
  videoId: string
  fileName: string
  size: number
  /** The swarm key: v1 SHA-1 (v1, hybrid) or the truncated v2 SHA-256 (v2-only). */
  infoHash: string
  /** Full v2 infohash (hybrid, v2), 64 hex; null for v1. */
  infoHashV2: string | null
  format: 'v1' | 'hybrid' | 'v2'
  /** File modification time recorded when the torrent was made; null for older records. */
  fileMtimeMs: number | null
  /** The `Torrent.trackers` column as stored (JSON): a change key, the .torrent has the URLs. */
  trackers: string
  /** Its .torrent, a name in media/: <fileName>.torrent, or a retired torrent's <fileName>.<12 hex>.torrent. */
  torrentFile: string
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
  infoHashV2: string | null
  format: string
  fileMtimeMs: bigint | number | null
  trackers: string
  torrentFile: string | null
}

const FORMATS = new Set(['v1', 'hybrid', 'v2'])

export async function findSeedable(db: Db): Promise<Seedable[]> {
  const rows = await db.$queryRaw<SeedableRow[]>`
    SELECT v."id" AS "videoId", v."fileName", v."size", t."infoHash", t."infoHashV2", t."format",
      t."fileMtimeMs", t."trackers", NULL AS "torrentFile"
    FROM "Torrent" t JOIN "Video" v ON v."id" = t."videoId"
    WHERE v."status" = 'ready' AND v."published" = true
      AND NOT EXISTS (SELECT 1 FROM "Setting" s WHERE s."key" = 'bittorrentEnabled' AND s."value" = 'false')
    UNION ALL
    SELECT v."id", v."fileName", v."size", r."infoHash", r."infoHashV2", r."format",
      r."fileMtimeMs", r."trackers", r."torrentFile"
    FROM "RetiredTorrent" r JOIN "Video" v ON v."id" = r."videoId"
    WHERE v."published" = true
      AND NOT EXISTS (SELECT 1 FROM "Setting" s WHERE s."key" = 'bittorrentEnabled' AND s."value" = 'false')`
  return rows.map((r) => ({
    videoId: r.videoId,
    fileName: r.fileName,
    size: Number(r.size),
    infoHash: r.infoHash,
    infoHashV2: r.infoHashV2,
    // An unknown value (a newer site's?) is read as v1: the .torrent itself decides what is served.
    format: (FORMATS.has(r.format) ? r.format : 'v1') as Seedable['format'],
    fileMtimeMs: r.fileMtimeMs === null ? null : Number(r.fileMtimeMs),
    trackers: r.trackers,
    torrentFile: r.torrentFile ?? `${r.fileName}.torrent`,
  }))
}

/** The site's seederUploadCap (bytes per second for all peers together); no row, or 0, means no cap. */
export async function findUploadCap(db: Db): Promise<number> {
  const row = await db.setting.findUnique({ where: { key: 'seederUploadCap' }, select: { value: true } })
  const cap = Number(row?.value ?? 0)
  return Number.isSafeInteger(cap) && cap > 0 ? cap : 0
}
