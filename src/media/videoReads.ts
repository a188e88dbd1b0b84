// The read every video page and list makes: a video with its torrent, offload counters, owner,
// extra files and retired torrents, in one statement. Prisma's include is six queries, each
// parsed, planned and mapped by its query interpreter, and its `LIMIT ? OFFSET ?` makes SQLite
// prepare the statement again on every bind (a bound LIMIT is in SQLite's re-prepare mask: 2.9 →
// 15 µs a query through better-sqlite3). A read of one video (10,000 videos, SQLite, 3,000 reads,
// 2026-12-07): include 378-386 µs of CPU, this statement about 70 µs. The 1:1 relations are
// joined; the 1:n ones come as a JSON array each, BigInt columns as text (a JSON number past 2^53
// loses digits) and DateTime as the text the database holds. The columns are listed by model
// below, checked against the generated client's types (a field added to the schema does not
// compile until it is listed); test/integration/video-reads.test.ts compares both reads of the
// same rows on SQLite and on PostgreSQL.
import type { Prisma } from '../db/generated/client.ts'
import { directReads, type Db } from '../db/client.ts'
import { dateArg, type Provider, readDate } from '../db/directReads.ts'

type Kind = 'plain' | 'bigint' | 'date' | 'boolean'
// Each column's kind follows from its type in the generated client: a wrong one does not compile.
type KindOf<T> = [NonNullable<T>] extends [bigint]
  ? 'bigint'
  : [NonNullable<T>] extends [Date]
    ? 'date'
    : [NonNullable<T>] extends [boolean]
      ? 'boolean'
      : 'plain'
type Columns<M> = { [K in keyof M]-?: KindOf<M[K]> }

const VIDEO = {
  id: 'plain',
  title: 'plain',
  description: 'plain',
  status: 'plain',
  fileName: 'plain',
  mimeType: 'plain',
  size: 'bigint',
  failReason: 'plain',
  published: 'boolean',
  uploaderId: 'plain',
  createdAt: 'date',
  updatedAt: 'date',
  detailsStatus: 'plain',
  durationSec: 'plain',
  width: 'plain',
  height: 'plain',
  videoCodec: 'plain',
  audioCodec: 'plain',
  formatName: 'plain',
  hasThumbnail: 'boolean',
} as const satisfies Columns<Prisma.VideoModel>

const TORRENT = {
  id: 'plain',
  videoId: 'plain',
  infoHash: 'plain',
  format: 'plain',
  infoHashV2: 'plain',
  legacyInfoHash: 'plain',
  pieceLength: 'plain',
  pieceCount: 'plain',
  trackers: 'plain',
  webSeeds: 'plain',
  completed: 'plain',
  fileMtimeMs: 'bigint',
  createdAt: 'date',
} as const satisfies Columns<Prisma.TorrentModel>

const OFFLOAD = {
  videoId: 'plain',
  seederBytes: 'bigint',
  webSeedBytes: 'bigint',
  playbackBytes: 'bigint',
  downloadedBytes: 'bigint',
} as const satisfies Columns<Prisma.VideoOffloadModel>

const FILE = {
  id: 'plain',
  videoId: 'plain',
  name: 'plain',
  size: 'bigint',
  kind: 'plain',
  createdAt: 'date',
} as const satisfies Columns<Prisma.VideoFileModel>

const RETIRED = {
  id: 'plain',
  videoId: 'plain',
  infoHash: 'plain',
  infoHashV2: 'plain',
  legacyInfoHash: 'plain',
  format: 'plain',
  torrentFile: 'plain',
  completed: 'plain',
  size: 'bigint',
  fileMtimeMs: 'bigint',
  trackers: 'plain',
  extras: 'plain',
  reason: 'plain',
  retiredAt: 'date',
} as const satisfies Columns<Prisma.RetiredTorrentModel>

const q = (name: string) => `"${name}"`

// Joined columns travel as "t.infoHash" and so on; the driver types them by their column.
const joined = (alias: string, cols: object) =>
  Object.keys(cols).map((c) => `${alias}.${q(c)} AS ${q(`${alias}.${c}`)}`)

function jsonRows(p: Provider, table: string, cols: Record<string, Kind>, order: string[]): string {
  const pairs = Object.entries(cols)
    .map(([c, kind]) => `'${c}', ${kind === 'bigint' ? `CAST(x.${q(c)} AS TEXT)` : `x.${q(c)}`}`)
    .join(', ')
  // SQLite's json_group_array keeps the order of the rows it is given; PostgreSQL orders in the aggregate.
  return p === 'sqlite'
    ? `(SELECT json_group_array(json_object(${pairs})) FROM (SELECT * FROM ${q(table)} WHERE ${q('videoId')} = v.id ORDER BY ${order.map(q).join(', ')}) x)`
    : `(SELECT COALESCE(json_agg(json_build_object(${pairs}) ORDER BY ${order.map((c) => `x.${q(c)}`).join(', ')}), '[]') FROM ${q(table)} x WHERE x.${q('videoId')} = v.id)`
}

function selectText(p: Provider): string {
  const cols = [
    ...Object.keys(VIDEO).map((c) => `v.${q(c)}`),
    ...joined('t', TORRENT),
    ...joined('o', OFFLOAD),
    `u.${q('id')} AS ${q('u.id')}`,
    `u.${q('username')} AS ${q('u.username')}`,
    `${jsonRows(p, 'VideoFile', FILE, ['name'])} AS ${q('files')}`,
    `${jsonRows(p, 'RetiredTorrent', RETIRED, ['retiredAt', 'id'])} AS ${q('retired')}`,
  ]
  return `SELECT ${cols.join(', ')} FROM ${q('Video')} v
    LEFT JOIN ${q('Torrent')} t ON t.${q('videoId')} = v.id
    LEFT JOIN ${q('VideoOffload')} o ON o.${q('videoId')} = v.id
    LEFT JOIN ${q('User')} u ON u.id = v.${q('uploaderId')}`
}

const SELECT: Record<Provider, string> = { sqlite: selectText('sqlite'), postgresql: selectText('postgresql') }

// Drivers differ (src/db/directReads.ts): SQLite's integers come as BigInt and its booleans as
// 0 or 1, its dates as text; PostgreSQL's BIGINT as text, its dates as Dates.
function value(v: unknown, kind: Kind): unknown {
  if (v === null || v === undefined) return null
  switch (kind) {
    case 'bigint':
      return typeof v === 'bigint' ? v : BigInt(v as string)
    case 'date':
      return readDate(v)
    case 'boolean':
      return v === true || v === 1 || v === 1n
    default:
      return typeof v === 'bigint' ? Number(v) : v
  }
}

type Raw = Record<string, unknown>

// Each table's columns as a list made once (a list of 20 videos types about 800 values).
function typer(cols: Record<string, Kind>, prefix = ''): (raw: Raw) => Raw {
  const columns = Object.entries(cols).map(([c, kind]) => [c, prefix + c, kind] as const)
  return (raw) => {
    const out: Raw = {}
    for (const [c, from, kind] of columns) out[c] = value(raw[from], kind)
    return out
  }
}

/** A joined row's columns of one table, or null when the join found none (its first column is null). */
function joinedTyper(alias: string, cols: Record<string, Kind>): (row: Raw) => Raw | null {
  const first = `${alias}.${Object.keys(cols)[0]}`
  const type = typer(cols, `${alias}.`)
  return (row) => (row[first] === null ? null : type(row))
}

const typeVideo = typer(VIDEO)
const typeTorrent = joinedTyper('t', TORRENT)
const typeOffload = joinedTyper('o', OFFLOAD)
const typeFile = typer(FILE)
const typeRetired = typer(RETIRED)

const list = (text: unknown, type: (raw: Raw) => Raw) =>
  (typeof text === 'string' ? (JSON.parse(text) as Raw[]) : (text as Raw[])).map(type)

function shape(row: Raw) {
  const video = typeVideo(row)
  video.torrent = typeTorrent(row)
  video.offload = typeOffload(row)
  video.owner = row['u.id'] === null ? null : { id: Number(row['u.id']), username: row['u.username'] }
  video.files = list(row.files, typeFile)
  video.retired = list(row.retired, typeRetired)
  return video
}

// SQLite binds each id; PostgreSQL takes them as one array, so every list is one prepared text.
const WHERE_IDS: Record<Provider, (count: number) => string> = {
  sqlite: (count) => `WHERE v.id IN (${Array.from({ length: count }, () => '?').join(', ')})`,
  postgresql: () => 'WHERE v.id = ANY($1)',
}

/**
 * The videos with these ids and their relations, as Prisma's `include` of them gives them (the
 * caller's VideoRow), in no particular order.
 */
export async function readVideos<Row>(db: Db, ids: readonly string[]): Promise<Row[]> {
  if (ids.length === 0) return []
  const reads = directReads(db)
  const p = reads.provider
  const rows = await reads.all(`${SELECT[p]} ${WHERE_IDS[p](ids.length)}`, p === 'sqlite' ? ids : [ids])
  return rows.map(shape) as Row[]
}

/** Who looks at a list: anonymous (undefined) sees published videos, a user also their own, an admin all. */
export interface ListViewer {
  id: number
  admin: boolean
}

/**
 * The ids of a page of the list, newest first (`older`: after `from`; `newer`: before it, oldest
 * first here, the caller turns them round). Through the driver, as the rows are read: Prisma's
 * findMany of the ids was a list's second-largest cost.
 */
export async function listVideoIds(
  db: Db,
  limit: number,
  from: { createdAt: Date; id: string } | undefined,
  viewer: ListViewer | undefined,
  direction: 'older' | 'newer',
): Promise<string[]> {
  const reads = directReads(db)
  const p = reads.provider
  const args: unknown[] = []
  const arg = (value: unknown, cast = '') => {
    args.push(value)
    return p === 'sqlite' ? '?' : `$${args.length}${cast}`
  }
  const where: string[] = []
  if (from) {
    const beyond = direction === 'older' ? '<' : '>'
    const at = dateArg(p, from.createdAt)
    where.push(
      `(v."createdAt" ${beyond} ${arg(at, '::timestamp')} OR (v."createdAt" = ${arg(at, '::timestamp')} AND v.id ${beyond} ${arg(from.id)}))`,
    )
  }
  if (!viewer?.admin) {
    const published = p === 'sqlite' ? 'v.published = 1' : 'v.published'
    where.push(viewer ? `(${published} OR v."uploaderId" = ${arg(viewer.id)})` : published)
  }
  const order = direction === 'older' ? 'DESC' : 'ASC'
  // SQLite gets the limit in the text (a bound LIMIT makes it prepare the statement at every run);
  // PostgreSQL bound, so its named statements stay a handful.
  const take = p === 'sqlite' ? String(Math.trunc(limit)) : arg(Math.trunc(limit))
  const rows = await reads.all(
    `SELECT v.id FROM "Video" v ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY v."createdAt" ${order}, v.id ${order} LIMIT ${take}`,
    args,
  )
  return rows.map((r) => String(r.id))
}
