// BitTorrent v2 (BEP 52) and hybrid single-file metainfo: `meta version` 2, the `file tree` with
// the file's `pieces root`, the top-level `piece layers`, and for hybrid the v1 `length` and
// `pieces` in the same info dict, so v1 and v2 clients share one swarm. Pure: hashes come in
// (MerkleHasher, PieceHasher).
import { createHash } from 'node:crypto'
import { dictEntries, encode } from './bencode.ts'
import { TorrentError } from './errors.ts'
import type { FileMerkle } from './merkle.ts'
import { checkPieceLength, checkV1Pieces, type CommonSpec, wrapInfo } from './metainfo.ts'

export interface V2TorrentSpec extends CommonSpec {
  format: 'hybrid' | 'v2'
  merkle: FileMerkle
  /** v1 SHA-1 piece hashes of the same bytes and piece length: required for hybrid, refused for v2. */
  pieces?: Buffer
}

export interface BuiltV2Torrent {
  buffer: Buffer // bencoded .torrent
  /** v1 infohash (hybrid), or for v2-only the v2 one truncated to 20 bytes (BEP 52: what trackers see). 40 hex. */
  infoHash: string
  infoHashBuffer: Buffer
  /** Hybrid only: the SHA-1 of the info dict (v1 swarm key); null for v2-only. */
  infoHashV1: string | null
  /** SHA-256 of the info dict, 64 hex. */
  infoHashV2: string
  infoHashV2Buffer: Buffer
  pieceCount: number
}

const HASH_LENGTH = 32
const TRUNCATED_LENGTH = 20

function bad(message: string): never {
  throw new TorrentError('bad_spec', message)
}

function checkMerkle(m: FileMerkle): Buffer {
  checkPieceLength(m.pieceLength)
  if (!Number.isSafeInteger(m.length) || m.length <= 0) bad(`length must be a positive integer, got ${m.length}`)
  if (!Buffer.isBuffer(m.piecesRoot) || m.piecesRoot.length !== HASH_LENGTH) bad('pieces root must be 32 bytes')
  const pieceCount = Math.ceil(m.length / m.pieceLength)
  if (pieceCount === 1 ? m.pieceLayer !== null : m.pieceLayer?.length !== pieceCount * HASH_LENGTH)
    bad(`piece layer does not fit ${pieceCount} piece(s)`)
  return m.piecesRoot
}

export function buildV2Torrent(spec: V2TorrentSpec): BuiltV2Torrent {
  const { merkle: m, format } = spec
  const piecesRoot = checkMerkle(m)
  if (format === 'hybrid') {
    if (spec.pieces === undefined) bad('a hybrid torrent needs the v1 pieces')
    checkV1Pieces(m.length, m.pieceLength, spec.pieces)
  } else if (format === 'v2') {
    if (spec.pieces !== undefined) bad('a v2-only torrent has no v1 pieces')
  } else bad(`unknown torrent format ${String(format)}`)
  const hybrid = format === 'hybrid'
  const info = {
    'file tree': { [spec.name]: { '': { length: m.length, 'pieces root': piecesRoot } } },
    length: hybrid ? m.length : undefined,
    'meta version': 2,
    name: spec.name,
    'piece length': m.pieceLength,
    pieces: hybrid ? spec.pieces : undefined,
    private: spec.private ? 1 : undefined,
  }
  return finish(spec, info, [m], hybrid)
}

// `piece layers` is keyed by raw 32-byte roots: the bencode package would write object keys as
// UTF-8 text and sorts Buffer keys as text, so the dict is written here, keys in byte order, and
// put in its sorted place among the top-level entries.
function withPieceLayers(torrent: Buffer, files: FileMerkle[]): Buffer {
  const layers = files
    .filter((f) => f.pieceLayer !== null)
    .map((f) => ({ root: f.piecesRoot!, layer: f.pieceLayer! }))
    .sort((a, b) => Buffer.compare(a.root, b.root))
  const parts: Buffer[] = [Buffer.from('d')]
  let prev: Buffer | null = null
  for (const { root, layer } of layers) {
    if (prev?.equals(root)) continue // identical files share one entry
    parts.push(Buffer.from(`${root.length}:`), root, Buffer.from(`${layer.length}:`), layer)
    prev = root
  }
  parts.push(Buffer.from('e'))
  const key = 'piece layers'
  const entry = Buffer.concat([Buffer.from(`${key.length}:${key}`), ...parts])
  const at = dictEntries(torrent).find((e) => e.key > key)?.keyStart ?? torrent.length - 1
  return Buffer.concat([torrent.subarray(0, at), entry, torrent.subarray(at)])
}

function finish(spec: CommonSpec, info: Record<string, unknown>, files: FileMerkle[], hybrid: boolean): BuiltV2Torrent {
  const buffer = withPieceLayers(wrapInfo(spec, info), files)
  const infoBytes = encode(info)
  const pieceLength = info['piece length'] as number
  const v2 = createHash('sha256').update(infoBytes).digest()
  const v1 = hybrid ? createHash('sha1').update(infoBytes).digest() : null
  const infoHashBuffer = v1 ?? v2.subarray(0, TRUNCATED_LENGTH)
  return {
    buffer,
    infoHash: infoHashBuffer.toString('hex'),
    infoHashBuffer,
    infoHashV1: v1?.toString('hex') ?? null,
    infoHashV2: v2.toString('hex'),
    infoHashV2Buffer: v2,
    pieceCount: files.reduce((n, f) => n + Math.ceil(f.length / pieceLength), 0),
  }
}

// ---- multi-file -------------------------------------------------------------

export interface V2File {
  /** Path inside the torrent's folder, one element per directory level, the file name last. */
  path: string[]
  merkle: FileMerkle // its length is the file's length; an empty file has no root
}

export interface V2MultiTorrentSpec extends CommonSpec {
  format: 'hybrid' | 'v2'
  pieceLength: number
  files: V2File[]
  /** Hybrid: v1 SHA-1 pieces over the files in `v1Layout` order with each pad file as zeros. */
  pieces?: Buffer
}

/** One entry of a hybrid torrent's v1 `files`: a file of the release, or a BEP 47 pad file (zeros). */
export interface V1Entry {
  path: string[]
  length: number
  pad: boolean
}

const PAD_DIR = '.pad'

interface Tree {
  [name: string]: Tree
}

// The order the `file tree` is written in (the bencode package sorts each level's keys), which the
// v1 list of a hybrid must follow file by file (BEP 52).
function treeOrder(files: V2File[]): V2File[] {
  return [...files].sort((a, b) => {
    for (let i = 0; i < Math.min(a.path.length, b.path.length); i++) {
      const [x, y] = [a.path[i]!, b.path[i]!]
      if (x !== y) return x < y ? -1 : 1 // UTF-16 order, as Array.prototype.sort (the encoder's)
    }
    return a.path.length - b.path.length
  })
}

/**
 * A hybrid's v1 file list: the files in file-tree order, each but the last followed by a pad file
 * up to the next piece boundary (BEP 47 `attr` p), so v1 pieces line up with each file's v2 tree.
 * The upload path feeds the v1 hasher the same sequence (a pad's bytes are zeros).
 */
export function v1Layout(files: V2File[], pieceLength: number): V1Entry[] {
  checkPieceLength(pieceLength)
  const out: V1Entry[] = []
  const ordered = treeOrder(files)
  ordered.forEach((f, i) => {
    out.push({ path: f.path, length: f.merkle.length, pad: false })
    const pad = (pieceLength - (f.merkle.length % pieceLength)) % pieceLength
    if (pad > 0 && i < ordered.length - 1) out.push({ path: [PAD_DIR, String(pad)], length: pad, pad: true })
  })
  return out
}

function checkPath(path: string[]): void {
  if (!Array.isArray(path) || path.length === 0) bad('a file path needs at least a name')
  for (const part of path) {
    if (typeof part !== 'string' || part.length === 0 || /[/\\\0]/.test(part) || part === '.' || part === '..')
      bad(`file path element is not a safe name: ${JSON.stringify(part)}`)
    if (!part.isWellFormed() || Buffer.byteLength(part) > 255) bad('file path element is not a usable name')
  }
}

function checkFile(f: V2File, pieceLength: number): void {
  checkPath(f.path)
  if (f.merkle.pieceLength !== pieceLength) bad('every file must be hashed with the torrent’s piece length')
  if (f.merkle.length === 0) {
    if (f.merkle.piecesRoot !== null || f.merkle.pieceLayer !== null) bad('an empty file has no pieces root')
  } else checkMerkle(f.merkle)
}

/** A folder `name` holding `files` (v2 `file tree`; for hybrid also the v1 `files` with pad files). */
export function buildV2MultiTorrent(spec: V2MultiTorrentSpec): BuiltV2Torrent {
  const { files, pieceLength, format } = spec
  checkPieceLength(pieceLength)
  if (!Array.isArray(files) || files.length === 0) bad('a multi-file torrent needs files')
  for (const f of files) checkFile(f, pieceLength)
  const tree: Tree = Object.create(null) // keys are uploaders' names: '__proto__' must stay a name
  for (const f of files) {
    let node = tree
    for (const part of f.path.slice(0, -1)) {
      node[part] ??= Object.create(null) as Tree
      node = node[part]
      if ('' in node) bad(`${part} is both a file and a folder`)
    }
    const leaf = f.path.at(-1)!
    if (leaf in node) bad(`two files at ${f.path.join('/')}`)
    const entry = { length: f.merkle.length, 'pieces root': f.merkle.piecesRoot ?? undefined }
    node[leaf] = { '': entry } as unknown as Tree
  }
  const hybrid = format === 'hybrid'
  let v1Files: Record<string, unknown>[] | undefined
  if (hybrid) {
    const layout = v1Layout(files, pieceLength)
    const total = layout.reduce((n, e) => n + e.length, 0)
    if (spec.pieces === undefined) bad('a hybrid torrent needs the v1 pieces')
    checkV1Pieces(total, pieceLength, spec.pieces)
    v1Files = layout.map((e) => ({ attr: e.pad ? 'p' : undefined, length: e.length, path: e.path }))
  } else if (format === 'v2') {
    if (spec.pieces !== undefined) bad('a v2-only torrent has no v1 pieces')
  } else bad(`unknown torrent format ${String(format)}`)
  const info = {
    'file tree': tree,
    files: v1Files,
    'meta version': 2,
    name: spec.name,
    'piece length': pieceLength,
    pieces: hybrid ? spec.pieces : undefined,
    private: spec.private ? 1 : undefined,
  }
  return finish(
    spec,
    info,
    files.map((f) => f.merkle),
    hybrid,
  )
}
