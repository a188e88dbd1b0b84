// Receives one multipart upload (fields, one file and a release's extra files) into storage, or
// fails with a clear error and nothing left behind. Shared by the JSON API and the web form, and
// (extra files only) by the routes that add files to a video.
import multer from 'multer'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { unlink } from 'node:fs/promises'
import { AppError, insufficientStorage, isDiskFull } from '../errors.ts'
import { EXTRAS_FIELD, uploadEngine, type ReceivedFile } from './uploadEngine.ts'
import type { ReceivedExtra } from './releaseFiles.ts'
import type { StoragePaths } from './storage.ts'
import type { TorrentFormat } from '../bittorrent/torrentHasher.ts'

const ENVELOPE_ALLOWANCE = 1024 * 1024

function toUploadError(err: unknown, maxBytes: number, maxFiles: number): AppError {
  if (err instanceof AppError) return err
  if (isDiskFull(err)) return insufficientStorage()
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE')
      return new AppError('too_large', `The file is larger than the limit of ${maxBytes} bytes`)
    if (err.code === 'LIMIT_UNEXPECTED_FILE' && err.field === EXTRAS_FIELD)
      return new AppError('bad_request', `Too many extra files in one request (at most ${maxFiles})`)
    if (err.code === 'LIMIT_UNEXPECTED_FILE')
      return new AppError(
        'bad_request',
        `Unexpected file field "${err.field}"; send the file as "file" and extra files as "${EXTRAS_FIELD}"`,
      )
    if (err.code === 'LIMIT_FILE_COUNT' || err.code === 'LIMIT_PART_COUNT')
      return new AppError('bad_request', `Too many files in one request (at most ${maxFiles} extra files)`)
    return new AppError('bad_request', `Upload rejected: ${err.message}`)
  }
  const message = (err as Error)?.message ?? String(err)
  if (/aborted|closed/i.test(message)) return new AppError('upload_cut_off')
  return new AppError('malformed_multipart', `Malformed multipart body: ${message}`)
}

/** `main`: the upload of a video ("file", with its extra files); else extra files only. */
export function receiveUpload(
  paths: StoragePaths,
  maxUploadBytes: number,
  torrentFormat: () => TorrentFormat,
  maxExtras: number,
  opts: { main: boolean } = { main: true },
): RequestHandler {
  const fields = [...(opts.main ? [{ name: 'file', maxCount: 1 }] : []), { name: EXTRAS_FIELD, maxCount: maxExtras }]
  const files = fields.reduce((n, f) => n + f.maxCount, 0)
  const upload = multer({
    storage: uploadEngine(paths, torrentFormat),
    // Browsers send file names as raw UTF-8 (busboy's default would read them as Latin-1).
    defParamCharset: 'utf8',
    limits: { fileSize: maxUploadBytes, files, fields: 10, fieldSize: 64 * 1024, parts: 11 + files, headerPairs: 100 },
  }).fields(fields)

  return (req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > maxUploadBytes + ENVELOPE_ALLOWANCE) {
      // Say no before reading gigabytes; the connection is closed so the body is not read either.
      res.set('Connection', 'close')
      return next(new AppError('too_large', `The upload is larger than the limit of ${maxUploadBytes} bytes`))
    }
    if (!req.is('multipart/form-data')) {
      return next(
        new AppError('bad_request', 'Send the upload as multipart/form-data with fields title, description and file'),
      )
    }
    upload(req, res, (err?: unknown) => {
      if (err) return next(toUploadError(err, maxUploadBytes, maxExtras))
      next()
    })
  }
}

type Received = Record<string, (Express.Multer.File & ReceivedFile)[] | undefined>
const received = (req: Request): Received => (req.files ?? {}) as unknown as Received

export function receivedFile(req: Request): (ReceivedFile & { originalname: string }) | undefined {
  return received(req).file?.[0]
}

/** The release's extra files of the request (none when it sent none). */
export function receivedExtras(req: Request): ReceivedExtra[] {
  return (received(req)[EXTRAS_FIELD] ?? []).map((f) => ({ path: f.path, originalName: f.originalname, size: f.size }))
}

/** Removes what the request uploaded (after a refusal, or once the service moved what it took). */
export async function discardUpload(req: Request): Promise<void> {
  const all = Object.values(received(req)).flatMap((list) => list ?? [])
  await Promise.all(all.map((f) => unlink(f.path).catch(() => {})))
}
