// The files of a stored torrent, read for decodeTorrent (metainfo.ts): v1's `length` or `files`
// (BEP 3, BEP 47 pad files), v2's `file tree` and the top-level `piece layers` (BEP 52), and for
// a hybrid the check that both describe the same files on the same piece boundaries. The seeder
// maps these paths to disk, so every path element is checked to be a plain name. Pure.
import { type BDict, type BValue, type DictEntry, dictEntries, isDict } from './bencode.ts'
import { TorrentError } from './errors.ts'
import { piecesRootFromLayer } from './merkle.ts'

export interface TorrentFileEntry {
  /** Inside the torrent's folder, the file name last; a single-file torrent's one file is [name]. */
  path: string[]
  length: number
  /** Where the file starts in the piece space the piece indices cover. */
  offset: number
  /** A BEP 47 pad file: zeros, on no disk. */
  pad: boolean
  /** v2: the file's merkle root, 32 bytes; null for an empty file and in v1. */
  piecesRoot: Buffer | null
}

export interface TorrentFiles {
  files: TorrentFileEntry[]
  /** Bytes the piece indices cover: files and pads (v1), files each from a piece boundary (v2). */
  pieceSpace: number
  /** v2: hex pieces root → that file's piece layer (checked against the root). */
  pieceLayers: Map<string, Buffer>
}

const HASH_LENGTH = 32

function malformed(message: string): never {
  throw new TorrentError('bad_torrent', message)
}

const isBytes = (v: unknown): v is Buffer => Buffer.isBuffer(v)
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A path element as text: a plain file name, never a way out of the torrent's folder. */
function pathElement(raw: Buffer | string): string {
  let name: string
  try {
    name = typeof raw === 'string' ? utf8.decode(Buffer.from(raw, 'latin1')) : utf8.decode(raw)
  } catch {
    malformed('a file name is not UTF-8')
  }
  if (name.length === 0 || name === '.' || name === '..' || /[/\\\0]/.test(name))
    malformed(`a file name is not a plain name: ${JSON.stringify(name)}`)
  return name
}

function nonNegative(v: BValue | undefined, what: string): number {
  if (typeof v !== 'number' || v < 0) malformed(`${what} must be a non-negative integer`)
  return v
}

// v1: one file called `name`, or the `files` list (pad files included, in their place).
function readV1(info: BDict, name: string): TorrentFileEntry[] {
  if (info.length !== undefined) {
    return [{ path: [name], length: nonNegative(info.length, 'info.length'), offset: 0, pad: false, piecesRoot: null }]
  }
  if (!Array.isArray(info.files) || info.files.length === 0) malformed('info has neither length nor files')
  let offset = 0
  return info.files.map((f) => {
    if (!isDict(f) || !Array.isArray(f.path) || f.path.length === 0) malformed('bad entry in info.files')
    const path = f.path.map((p) => (isBytes(p) ? pathElement(p) : malformed('bad path in info.files')))
    const length = nonNegative(f.length, 'a file length')
    const pad = isBytes(f.attr) && f.attr.includes('p')
    const entry = { path, length, offset, pad, piecesRoot: null }
    offset += length
    return entry
  })
}

// v2: the file tree in stored order, read from the dict's own bytes (entries, not object keys: a
// name like "10" would move ahead of the others).
function readTree(dict: Buffer, dir: string[], out: { path: string[]; node: BDict }[]): void {
  for (const e of dictEntries(dict)) {
    if (!isDict(e.value)) malformed('bad node in the file tree')
    if (e.key === '') malformed('an empty name in the file tree')
    const path = [...dir, pathElement(e.key)]
    const leaf = e.value['']
    if (leaf !== undefined) {
      if (!isDict(leaf) || Object.keys(e.value).length !== 1) malformed('a file tree entry is both a file and a folder')
      out.push({ path, node: leaf })
    } else {
      if (Object.keys(e.value).length === 0) malformed('an empty folder in the file tree')
      readTree(dict.subarray(e.valueStart, e.end), path, out)
    }
  }
}

function readV2(infoBytes: Buffer, pieceLength: number): TorrentFileEntry[] {
  const tree = dictEntries(infoBytes).find((e) => e.key === 'file tree')
  if (tree === undefined || !isDict(tree.value)) malformed('info["file tree"] must be a dictionary')
  const leaves: { path: string[]; node: BDict }[] = []
  readTree(infoBytes.subarray(tree.valueStart, tree.end), [], leaves)
  if (leaves.length === 0) malformed('the file tree has no files')
  let offset = 0
  return leaves.map(({ path, node }) => {
    const length = nonNegative(node.length, 'a file length')
    const root = node['pieces root']
    if (length > 0 && !(isBytes(root) && root.length === HASH_LENGTH)) malformed('a file has no 32-byte pieces root')
    const entry = { path, length, offset, pad: false, piecesRoot: length > 0 ? (root as Buffer) : null }
    offset += Math.ceil(length / pieceLength) * pieceLength // v2 files start on piece boundaries
    return entry
  })
}

// `piece layers`: raw 32-byte keys, so read as entries; each file of more than one piece needs
// its layer, and the layer must hash to the file's root.
function readLayers(
  buf: Buffer,
  top: DictEntry[],
  files: TorrentFileEntry[],
  pieceLength: number,
): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  const entry = top.find((e) => e.key === 'piece layers')
  const stored = new Map<string, Buffer>()
  if (entry !== undefined) {
    if (!isDict(entry.value)) malformed('"piece layers" must be a dictionary')
    for (const e of dictEntries(buf.subarray(entry.valueStart, entry.end))) {
      if (!isBytes(e.value)) malformed('a piece layer must be a string')
      stored.set(Buffer.from(e.key, 'latin1').toString('hex'), e.value)
    }
  }
  for (const f of files) {
    if (f.piecesRoot === null || f.length <= pieceLength) continue
    const root = f.piecesRoot.toString('hex')
    if (out.has(root)) continue
    const layer = stored.get(root)
    if (layer === undefined) malformed(`no piece layer for ${f.path.join('/')}`)
    if (layer.length !== HASH_LENGTH * Math.ceil(f.length / pieceLength))
      malformed(`the piece layer of ${f.path.join('/')} does not fit its length`)
    if (!piecesRootFromLayer(layer, pieceLength).equals(f.piecesRoot))
      malformed(`the piece layer of ${f.path.join('/')} does not match its pieces root`)
    out.set(root, layer)
  }
  return out
}

const samePath = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i])

// BEP 52: a hybrid's v1 files are its v2 files in the same order, each on a piece boundary
// (pad files between), so one piece index means the same bytes to v1 and v2 peers.
function checkHybrid(v1: TorrentFileEntry[], v2: TorrentFileEntry[], pieceLength: number): TorrentFileEntry[] {
  const real = v1.filter((f) => !f.pad)
  if (real.length !== v2.length) malformed('the v1 and v2 file lists of a hybrid torrent differ')
  return real.map((f, i) => {
    const other = v2[i]!
    if (!samePath(f.path, other.path) || f.length !== other.length)
      malformed('the v1 and v2 file lists of a hybrid torrent differ')
    if (f.length > 0 && f.offset % pieceLength !== 0) malformed('a hybrid torrent file does not start on a piece')
    return { ...f, piecesRoot: other.piecesRoot }
  })
}

/** The files of the info dict `info` (stored bytes `infoBytes`) of the torrent `buf` (entries `top`). */
export function readTorrentFiles(
  buf: Buffer,
  top: DictEntry[],
  info: BDict,
  infoBytes: Buffer,
  name: string,
  pieceLength: number,
  format: 'v1' | 'hybrid' | 'v2',
): TorrentFiles {
  const v1 = format === 'v2' ? null : readV1(info, name)
  const v2 = format === 'v1' ? null : readV2(infoBytes, pieceLength)
  let files: TorrentFileEntry[]
  let pieceSpace: number
  if (v1 !== null) {
    pieceSpace = v1.reduce((n, f) => n + f.length, 0)
    files = v2 === null ? v1 : mergePads(v1, checkHybrid(v1, v2, pieceLength))
  } else {
    files = v2!
    pieceSpace = files.reduce((end, f) => (f.length > 0 ? f.offset + f.length : end), 0)
  }
  const pieceLayers = v2 === null ? new Map<string, Buffer>() : readLayers(buf, top, files, pieceLength)
  return { files, pieceSpace, pieceLayers }
}

// The v1 list with the roots of the checked real files put back in their places.
function mergePads(v1: TorrentFileEntry[], real: TorrentFileEntry[]): TorrentFileEntry[] {
  let i = 0
  return v1.map((f) => (f.pad ? f : real[i++]!))
}
