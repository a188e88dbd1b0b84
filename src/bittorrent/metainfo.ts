// BitTorrent metainfo: building v1 single-file torrents (BEP 3) with multi-tracker (BEP 12) and
// GetRight-style web seeds (BEP 19); reading any v1, hybrid or v2 torrent (BEP 52) in one strict
// pass (files: torrentFiles.ts); re-tracking. Pure: no I/O, piece hashes come in.
import { createHash } from 'node:crypto'
import { dictEntries, encode, isDict, type BDict, type BValue, type DictEntry } from './bencode.ts'
import { BencodeError, TorrentError } from './errors.ts'
import { MIN_PIECE_LENGTH } from './pieceLength.ts'
import { readTorrentFiles, type TorrentFileEntry } from './torrentFiles.ts'
import type { TorrentFormat } from './torrentHasher.ts'

export interface TorrentSpec {
  name: string
  length: number
  pieceLength: number
  pieces: Buffer
  trackers: string[]
  webSeeds: string[]
  comment?: string
  createdBy: string
  creationDate: number // unix seconds
  /** BEP 27: clients use only the torrent's trackers (no DHT, PEX, LSD). Part of the info dict. */
  private?: boolean
  /**
   * A multi-file torrent: `name` is its folder, these its files in piece order (`pieces` hash
   * them end to end), `length` their total. Absent: a single file `name` of `length` bytes.
   */
  files?: { path: string[]; length: number }[]
}

export interface BuiltTorrent {
  buffer: Buffer // bencoded .torrent
  infoHash: string // 40 lowercase hex
  infoHashBuffer: Buffer
  pieceCount: number
}

export interface DecodedTorrent {
  /** v1 (BEP 3), hybrid (v1 and v2 in one info dict) or v2-only (BEP 52). */
  format: TorrentFormat
  /** The SHA-1 of the info dict (v1, hybrid); for v2-only its SHA-256 cut to 20 bytes, as trackers and the wire see it. */
  infoHash: string
  /** The full SHA-256 of the info dict (hybrid, v2), 64 hex; null for v1. */
  infoHashV2: string | null
  name: string
  /** The content's bytes, pad files not counted. */
  length: number
  pieceLength: number
  pieceCount: number
  /** v1 piece hashes, 20 bytes each (a view into the input); null for v2-only. */
  pieces: Buffer | null
  /** The info dict exactly as stored (its hash is the infohash; its length is BEP 9 metadata_size). */
  infoBytes: Buffer
  /** More than one file, or one inside a folder. */
  multiFile: boolean
  /** Every file, pads included, in piece-space order. */
  files: TorrentFileEntry[]
  /** Bytes the piece indices cover (files, pads, v2's gaps up to each file's first piece). */
  pieceSpace: number
  /** v2: hex pieces root → the file's piece layer, checked against the root. */
  pieceLayers: Map<string, Buffer>
  trackers: string[]
  webSeeds: string[]
  comment?: string
  /** BEP 27 private flag set in the info dict. */
  private: boolean
}

const SHA1_LENGTH = 20
const MAX_NAME_BYTES = 255 // clients use the name as a file name
const TRACKER_PROTOCOLS = new Set(['http:', 'https:', 'udp:', 'ws:', 'wss:'])
const WEBSEED_PROTOCOLS = new Set(['http:', 'https:'])

function bad(message: string): never {
  throw new TorrentError('bad_spec', message)
}

function checkUrls(urls: unknown, what: string, protocols: Set<string>): string[] {
  if (!Array.isArray(urls)) bad(`${what} must be an array`)
  for (const u of urls) {
    if (typeof u !== 'string' || !URL.canParse(u) || !protocols.has(new URL(u).protocol)) {
      bad(`${what} entry is not a valid ${[...protocols].join('/')} URL: ${String(u)}`)
    }
  }
  return [...new Set(urls as string[])] // duplicates would only make clients announce twice
}

function validateName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) bad('name must be a non-empty string')
  if (/[/\\\0]/.test(name) || name === '.' || name === '..')
    bad(`name is not a safe file name: ${JSON.stringify(name)}`)
  if (!name.isWellFormed()) bad('name contains unpaired surrogates')
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) bad(`name longer than ${MAX_NAME_BYTES} bytes`)
}

/** What every torrent this site writes shares: the name, the links and the top-level fields. */
export type CommonSpec = Omit<TorrentSpec, 'length' | 'pieceLength' | 'pieces' | 'files'>

export function checkPieceLength(pieceLength: number): void {
  if (!Number.isSafeInteger(pieceLength) || pieceLength < MIN_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    bad(`piece length must be a power of two >= ${MIN_PIECE_LENGTH}, got ${pieceLength}`)
  }
}

export function checkV1Pieces(length: number, pieceLength: number, pieces: Buffer): void {
  if (!Number.isSafeInteger(length) || length <= 0) bad(`length must be a positive integer, got ${length}`)
  checkPieceLength(pieceLength)
  if (!Buffer.isBuffer(pieces)) bad('pieces must be a Buffer')
  const expected = SHA1_LENGTH * Math.ceil(length / pieceLength)
  if (pieces.length !== expected)
    bad(`pieces is ${pieces.length} bytes, expected ${expected} for this length/piece length`)
}

function validateCommon(spec: CommonSpec): { trackers: string[]; webSeeds: string[] } {
  validateName(spec.name)
  if (spec.comment !== undefined && typeof spec.comment !== 'string') bad('comment must be a string')
  if (typeof spec.createdBy !== 'string') bad('createdBy must be a string')
  if (!Number.isSafeInteger(spec.creationDate) || spec.creationDate < 0)
    bad('creationDate must be non-negative unix seconds')
  return {
    trackers: checkUrls(spec.trackers, 'trackers', TRACKER_PROTOCOLS),
    webSeeds: checkUrls(spec.webSeeds, 'webSeeds', WEBSEED_PROTOCOLS),
  }
}

/**
 * The bencoded .torrent around an `info` dict: trackers, web seeds, comment, dates, and any
 * `extra` top-level fields (v2's `piece layers`). Validates the common fields first.
 */
export function wrapInfo(spec: CommonSpec, info: Record<string, unknown>, extra: Record<string, unknown> = {}): Buffer {
  const { trackers, webSeeds } = validateCommon(spec)
  // bencode sorts dict keys and skips undefined values, so optional fields
  // can be left undefined.
  return encode({
    announce: trackers[0],
    'announce-list': trackers.length > 0 ? trackers.map((t) => [t]) : undefined,
    comment: spec.comment,
    'created by': spec.createdBy,
    'creation date': spec.creationDate,
    info,
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
    ...extra,
  })
}

export function buildTorrent(spec: TorrentSpec): BuiltTorrent {
  checkV1Pieces(spec.length, spec.pieceLength, spec.pieces)
  if (spec.files) {
    if (spec.files.length === 0) bad('a multi-file torrent needs files')
    for (const f of spec.files) {
      if (!Array.isArray(f.path) || f.path.length === 0) bad('a file path needs at least a name')
      for (const part of f.path) validateName(part)
      if (!Number.isSafeInteger(f.length) || f.length < 0) bad(`file length must be a whole number, got ${f.length}`)
    }
    if (spec.files.reduce((n, f) => n + f.length, 0) !== spec.length) bad('the files do not add up to length')
  }
  const info = {
    files: spec.files?.map((f) => ({ length: f.length, path: f.path })),
    length: spec.files ? undefined : spec.length,
    name: spec.name,
    'piece length': spec.pieceLength,
    pieces: spec.pieces,
    private: spec.private ? 1 : undefined,
  }
  const buffer = wrapInfo(spec, info)
  const infoHashBuffer = createHash('sha1').update(encode(info)).digest()
  return {
    buffer,
    infoHash: infoHashBuffer.toString('hex'),
    infoHashBuffer,
    pieceCount: spec.pieces.length / SHA1_LENGTH,
  }
}

// ---- reading ----------------------------------------------------------------

function malformed(message: string): never {
  throw new TorrentError('bad_torrent', message)
}

const isBytes = (v: unknown): v is Buffer => Buffer.isBuffer(v)
const text = (v: Buffer): string => v.toString('utf8')

function textList(v: BValue | undefined): string[] {
  if (v === undefined) return []
  if (isBytes(v)) return v.length > 0 ? [text(v)] : [] // BEP 19 allows a bare string
  if (!Array.isArray(v)) malformed('expected a list of strings')
  return v.map((x) => (isBytes(x) ? text(x) : malformed('expected a list of strings')))
}

function readTrackers(top: BDict): string[] {
  const list = top['announce-list']
  if (Array.isArray(list) && list.length > 0) {
    // BEP 12: announce-list supersedes announce when present.
    return [...new Set(list.flatMap((tier) => textList(tier)))]
  }
  return textList(top.announce)
}

// The top-level entries with their spans; anything that is not strict bencode is bad_torrent.
function entriesOf(buf: Buffer): DictEntry[] {
  if (!(buf instanceof Uint8Array)) malformed('torrent must be a Buffer')
  try {
    return dictEntries(buf)
  } catch (err) {
    if (err instanceof BencodeError) malformed(err.message)
    throw err
  }
}

/** Reads a .torrent in one strict pass: the fields, the info dict's stored bytes and its SHA-1. */
export function decodeTorrent(buf: Buffer): DecodedTorrent {
  return readTorrent(buf, entriesOf(buf))
}

function formatOf(info: BDict, pieceLength: number): TorrentFormat {
  const version = info['meta version']
  if (version !== undefined && version !== 1 && version !== 2) malformed(`unsupported meta version ${String(version)}`)
  const v1 = info.pieces !== undefined
  if (version !== 2) {
    if (!v1) malformed('info.pieces is missing')
    return 'v1'
  }
  if (pieceLength < MIN_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0)
    malformed('a v2 piece length must be a power of two of at least 16 KiB')
  return v1 ? 'hybrid' : 'v2'
}

function readTorrent(buf: Buffer, entries: DictEntry[]): DecodedTorrent {
  const top: BDict = Object.create(null)
  for (const e of entries) top[e.key] = e.value
  const infoEntry = entries.find((e) => e.key === 'info')
  if (infoEntry === undefined) malformed('missing info dictionary')
  const info = infoEntry.value
  if (!isDict(info)) malformed('info must be a dictionary')
  const infoBytes = buf.subarray(infoEntry.valueStart, infoEntry.end)
  if (!isBytes(info.name) || info.name.length === 0) malformed('info.name must be a non-empty string')
  const pieceLength = info['piece length']
  if (typeof pieceLength !== 'number' || pieceLength <= 0) malformed('info["piece length"] must be a positive integer')
  const format = formatOf(info, pieceLength)
  if (format !== 'v2' && (!isBytes(info.pieces) || info.pieces.length % SHA1_LENGTH !== 0))
    malformed('info.pieces must be a multiple of 20 bytes')
  const name = text(info.name)
  const { files, pieceSpace, pieceLayers } = readTorrentFiles(buf, entries, info, infoBytes, name, pieceLength, format)
  const pieces = format === 'v2' ? null : (info.pieces as Buffer)
  const pieceCount = Math.ceil(pieceSpace / pieceLength)
  if (pieces !== null && pieces.length / SHA1_LENGTH !== pieceCount)
    malformed(`${pieces.length / SHA1_LENGTH} piece hashes for ${pieceSpace} bytes`)
  const sha256 = format === 'v1' ? null : createHash('sha256').update(infoBytes).digest('hex')
  const only = files[0]!
  const result: DecodedTorrent = {
    format,
    infoHash:
      sha256 !== null && format === 'v2' ? sha256.slice(0, 40) : createHash('sha1').update(infoBytes).digest('hex'),
    infoHashV2: sha256,
    name,
    length: files.reduce((n, f) => (f.pad ? n : n + f.length), 0),
    pieceLength,
    pieceCount,
    pieces,
    infoBytes,
    multiFile: info.files !== undefined || files.length > 1 || only.path.length > 1 || only.path[0] !== name,
    files,
    pieceSpace,
    pieceLayers,
    trackers: readTrackers(top),
    webSeeds: textList(top['url-list']),
    private: info.private === 1,
  }
  if (isBytes(top.comment)) result.comment = text(top.comment)
  return result
}

// Replaces top-level entries by splicing the raw bytes: every other byte, notably the info
// dict, is copied verbatim so the infohash cannot change. `undefined` removes a key. Keys stay
// in byte order, as bencode requires.
export function spliceTopLevel(torrentBuffer: Buffer, replace: Record<string, unknown>): Buffer {
  const all = entriesOf(torrentBuffer)
  readTorrent(torrentBuffer, all) // reject non-torrents with bad_torrent
  if ('info' in replace) bad('the info dictionary cannot be replaced')
  const entries = all
    .filter((e) => !(e.key in replace))
    .map((e) => ({ key: Buffer.from(e.key, 'latin1'), bytes: torrentBuffer.subarray(e.keyStart, e.end) }))
  for (const [key, value] of Object.entries(replace)) {
    if (value === undefined) continue
    const k = Buffer.from(key, 'latin1')
    entries.push({ key: k, bytes: Buffer.concat([Buffer.from(`${k.length}:`), k, encode(value)]) })
  }
  entries.sort((a, b) => Buffer.compare(a.key, b.key))
  return Buffer.concat([Buffer.from('d'), ...entries.map((e) => e.bytes), Buffer.from('e')])
}

export interface TorrentLinks {
  trackers: string[]
  webSeeds: string[]
  comment?: string
}

/** A stored torrent with new trackers, web seeds and comment; same info dict, same infohash. */
export function retrackTorrent(torrentBuffer: Buffer, links: TorrentLinks): Buffer {
  const trackers = checkUrls(links.trackers, 'trackers', TRACKER_PROTOCOLS)
  const webSeeds = checkUrls(links.webSeeds, 'webSeeds', WEBSEED_PROTOCOLS)
  return spliceTopLevel(torrentBuffer, {
    announce: trackers[0],
    'announce-list': trackers.length > 0 ? trackers.map((t) => [t]) : undefined,
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
    httpseeds: undefined, // BEP 17 seeds are ours to drop too: url-list is the one we write
    ...(links.comment !== undefined ? { comment: links.comment } : {}),
  })
}

// Drops web seeds (url-list, and legacy BEP 17 httpseeds), for a client that must use peers.
export function stripWebSeeds(torrentBuffer: Buffer): Buffer {
  return spliceTopLevel(torrentBuffer, { 'url-list': undefined, httpseeds: undefined })
}
