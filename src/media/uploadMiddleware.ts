// Receives one multipart upload (fields + one file) into storage, or fails with a clear error
// and nothing left behind. Shared by the JSON API and the web form.
import multer from 'multer'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { unlink } from 'node:fs/promises'
import { AppError, insufficientStorage, isDiskFull } from '../errors.ts'
import { uploadEngine, type ReceivedFile } from './uploadEngine.ts'
import type { StoragePaths } from './storage.ts'

const ENVELOPE_ALLOWANCE = 1024 * 1024

function toUploadError(err: unknown, maxBytes: number): AppError {
  if (err instanceof AppError) return err
  if (isDiskFull(err)) return insufficientStorage()
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE')
      return new AppError('too_large', `The file is larger than the limit of ${maxBytes} bytes`)
    if (err.code === 'LIMIT_UNEXPECTED_FILE')
      return new AppError('bad_request', `Unexpected file field "${err.field}"; send the file as "file"`)
    return new AppError('bad_request', `Upload rejected: ${err.message}`)
  }
  const message = (err as Error)?.message ?? String(err)
  if (/aborted|closed/i.test(message)) return new AppError('upload_cut_off')
  return new AppError('malformed_multipart', `Malformed multipart body: ${message}`)
}

export function receiveUpload(paths: StoragePaths, maxUploadBytes: number): RequestHandler {
  const upload = multer({
    storage: uploadEngine(paths),
    // Browsers send file names as raw UTF-8 (busboy's default would read them as Latin-1).
    defParamCharset: 'utf8',
    limits: { fileSize: maxUploadBytes, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12, headerPairs: 100 },
  }).single('file')

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
      if (err) return next(toUploadError(err, maxUploadBytes))
      next()
    })
  }
}

export function receivedFile(req: Request): (ReceivedFile & { originalname: string }) | undefined {
  return req.file as unknown as (ReceivedFile & { originalname: string }) | undefined
}

export async function discardUpload(req: Request): Promise<void> {
  const file = receivedFile(req)
  if (file) await unlink(file.path).catch(() => {})
}
