// A multer storage engine that writes the upload to STORAGE_DIR/incoming and, in the same pass,
// checks its container signature and SHA-1-hashes its pieces, so the torrent can be written as
// soon as the last byte lands. Memory stays at one chunk plus one piece hash state per upload.
import { createWriteStream } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Request } from 'express'
import type { StorageEngine } from 'multer'
import { AppError } from '../errors.ts'
import { PieceHasher } from '../bittorrent/pieceHasher.ts'
import { choosePieceLength } from '../bittorrent/pieceLength.ts'
import { detectContainer, SNIFF_BYTES, type Container } from './sniff.ts'
import { incomingPartPath, type StoragePaths } from './storage.ts'
import { RECLAIM_EVERY_BYTES, reclaimUploadBuffers } from './reclaim.ts'

interface StreamedPieces {
  pieceLength: number
  pieces: Buffer
}

export interface ReceivedFile {
  path: string
  size: number
  container: Container
  /** Present when the piece length guessed from Content-Length fits the final size. */
  streamedPieces?: StreamedPieces
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
  private readonly hasher: PieceHasher | null

  constructor(pieceLength: number | undefined) {
    super()
    this.hasher = pieceLength ? new PieceHasher(pieceLength) : null
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

  digest(): StreamedPieces | undefined {
    if (!this.hasher) return undefined
    const result = this.hasher.digest()
    return { pieceLength: result.pieceLength, pieces: result.pieces }
  }
}

export function uploadEngine(paths: StoragePaths): StorageEngine {
  return {
    _handleFile(req, file, cb) {
      const target = incomingPartPath(paths)
      const guess = guessFileSize(req)
      const sniffer = new SniffAndHash(guess ? choosePieceLength(guess) : undefined)
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
            streamedPieces: fits ? streamed : undefined,
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
