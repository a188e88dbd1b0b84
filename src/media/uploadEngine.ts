// A multer storage engine that writes the upload to STORAGE_DIR/incoming and, in the same pass,
// checks its container signature and hashes it for the torrent format asked (SHA-1 pieces, the
// v2 merkle, or both from the same chunks), so the torrent can be written as soon as the last
// byte lands. Memory stays at one chunk plus one piece's hash state per upload.
import { createWriteStream } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Request } from 'express'
import type { StorageEngine } from 'multer'
import { AppError } from '../errors.ts'
import { choosePieceLength } from '../bittorrent/pieceLength.ts'
import { TorrentHasher, type TorrentFormat, type TorrentHashes } from '../bittorrent/torrentHasher.ts'
import { detectContainer, SNIFF_BYTES, type Container } from './sniff.ts'
import { incomingPartPath, type StoragePaths } from './storage.ts'
import { RECLAIM_EVERY_BYTES, reclaimUploadBuffers } from './reclaim.ts'

export interface ReceivedFile {
  path: string
  size: number
  container: Container
  /** Present when the piece length guessed from Content-Length fits the final size. */
  streamedHashes?: TorrentHashes
}

// The multipart envelope around the file (boundaries, headers, title, description) is small
// next to any video; the guess only has to land in the right power of two.
function guessFileSize(req: Request): number | undefined {
  const length = Number(req.headers['content-length'])
  return Number.isFinite(length) && length > 0 ? length : undefined
}

class SniffAndHash extends Transform {
  private head: Buffer[] = []
  private headLength = 0
  container: Container | null = null
  size = 0
  private sinceReclaim = 0
  private readonly hasher: TorrentHasher | null

  constructor(pieceLength: number | undefined, format: TorrentFormat) {
    super()
    this.hasher = pieceLength ? new TorrentHasher(pieceLength, format) : null
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void) {
    this.size += chunk.length
    this.sinceReclaim += chunk.length
    if (this.sinceReclaim >= RECLAIM_EVERY_BYTES) {
      this.sinceReclaim = 0
      reclaimUploadBuffers()
    }
    this.hasher?.update(chunk)
    if (this.container) return cb(null, chunk)
    this.head.push(chunk)
    this.headLength += chunk.length
    if (this.headLength < SNIFF_BYTES) return cb()
    this.flushHead(cb)
  }

  override _flush(cb: (err?: Error | null, data?: Buffer) => void) {
    if (this.container) return cb()
    this.flushHead(cb)
  }

  private flushHead(cb: (err?: Error | null, data?: Buffer) => void) {
    const head = Buffer.concat(this.head)
    this.head = []
    this.container = detectContainer(head.subarray(0, SNIFF_BYTES))
    if (!this.container) {
      return cb(new AppError('unsupported_media_type'))
    }
    cb(null, head)
  }

  digest(): TorrentHashes | undefined {
    return this.hasher?.digest()
  }
}

/** The multipart field of a release's extra files (src/media/releaseFiles.ts checks them). */
export const EXTRAS_FIELD = 'files'

// An extra file is stored as it comes: its name and size are checked once the request is read.
function storeExtra(
  paths: StoragePaths,
  req: Request,
  stream: NodeJS.ReadableStream,
  cb: (err: Error | null, info?: Partial<Express.Multer.File>) => void,
) {
  const target = incomingPartPath(paths)
  let size = 0
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length
      done(null, chunk)
    },
  })
  const onClose = () => {
    if (!req.readableEnded) counter.destroy(new AppError('upload_cut_off'))
  }
  req.once('close', onClose)
  pipeline(stream, counter, createWriteStream(target, { flags: 'wx' }))
    .then(() => cb(null, { path: target, size }))
    .catch(async (err: unknown) => {
      await unlink(target).catch(() => {})
      cb(err as Error)
    })
    .finally(() => req.off('close', onClose))
}

/** `torrentFormat`: read as each upload starts, what its bytes are hashed for. */
export function uploadEngine(paths: StoragePaths, torrentFormat: () => TorrentFormat): StorageEngine {
  return {
    _handleFile(req, file, cb) {
      if (file.fieldname === EXTRAS_FIELD) return storeExtra(paths, req, file.stream, cb)
      const target = incomingPartPath(paths)
      const guess = guessFileSize(req)
      const sniffer = new SniffAndHash(guess ? choosePieceLength(guess) : undefined, torrentFormat())
      const out = createWriteStream(target, { flags: 'wx' })
      // A client that goes away mid-upload must not leave a stream waiting forever.
      const onClose = () => {
        if (!req.readableEnded) sniffer.destroy(new AppError('upload_cut_off'))
      }
      req.once('close', onClose)
      pipeline(file.stream, sniffer, out)
        .then(() => {
          const streamed = sniffer.digest()
          const fits = streamed && streamed.pieceLength === choosePieceLength(Math.max(1, sniffer.size))
          const info: ReceivedFile = {
            path: target,
            size: sniffer.size,
            container: sniffer.container!,
            streamedHashes: fits ? streamed : undefined,
          }
          cb(null, info as unknown as Partial<Express.Multer.File>)
        })
        .catch(async (err: unknown) => {
          await unlink(target).catch(() => {})
          cb(err as Error)
        })
        .finally(() => req.off('close', onClose))
    },
    _removeFile(_req, file, cb) {
      unlink(file.path).then(
        () => cb(null),
        () => cb(null),
      )
    },
  }
}
