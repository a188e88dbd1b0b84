// Validators of the video routes (API and pages): each checks one route's params, query or body
// before its handler runs. A refused upload's stored file is removed here.
import type { RequestHandler } from 'express'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import { formString, validate, wholeNumber } from '../validate.ts'
import { discardUpload, receivedFile } from './uploadMiddleware.ts'
import { decodeCursor } from './videoCursor.ts'

/** A cursor given out by a listing; `invalid` when it is not one, absent = the first page. */
function cursor(invalid: string, ifNotString: 'refuse' | 'ignore') {
  return z.unknown().transform((v, ctx) => {
    if (v === undefined || (typeof v !== 'string' && ifNotString === 'ignore')) return undefined
    const decoded = typeof v === 'string' ? decodeCursor(v) : null
    if (decoded) return decoded
    ctx.addIssue({ code: 'custom', message: invalid })
    return z.NEVER
  })
}

export const listVideosSchemas = {
  query: z.object({
    limit: wholeNumber('limit', 1, 100, 20),
    cursor: cursor('cursor is not one this API gave out', 'refuse'),
  }),
}
export const listVideosValidator = validate(listVideosSchemas)

/** The home page: `after` a cursor for older videos, `before` one for newer (the page's links). */
export const homePageSchemas = {
  query: z.object({
    after: cursor('That page link is not valid', 'ignore'),
    before: cursor('That page link is not valid', 'ignore'),
  }),
}
export const homePageValidator = validate(homePageSchemas)

// NUL is refused here as well as in validate(): tus metadata and the CLI's import use these alone.
const noNul = (what: string) =>
  [(s: string) => !s.includes('\0'), `The ${what} must not contain NUL characters`] as const
export const titleText = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string().min(1, 'A title is required').max(200, 'The title is longer than 200 characters'))
  .refine(...noNul('title'))
export const descriptionText = z
  .string()
  .transform((s) => s.trim())
  .pipe(z.string().max(10_000, 'The description is longer than 10,000 characters'))
  .refine(...noNul('description'))

export const uploadSchemas = {
  body: z.object({ title: formString('').pipe(titleText), description: formString('').pipe(descriptionText) }),
}

/** PATCH /api/videos/:id: any of title, description, published; nothing else. */
export const editVideoSchemas = {
  body: z.strictObject({
    title: z.string({ error: 'title must be a string' }).pipe(titleText).optional(),
    description: z.string({ error: 'description must be a string' }).pipe(descriptionText).optional(),
    published: z.boolean({ error: 'published must be true or false' }).optional(),
  }),
}
export const editVideoValidator = validate(editVideoSchemas, {
  codes: { title: 'invalid_title', description: 'invalid_description', published: 'invalid_video' },
})

/** The page's edit form: title and description as form fields. */
export const editFormSchemas = {
  body: z.object({ title: formString('').pipe(titleText), description: formString('').pipe(descriptionText) }),
}
export const editFormValidator = validate(editFormSchemas, {
  codes: { title: 'invalid_title', description: 'invalid_description' },
})

// After receiveUpload: the file is in storage/incoming, so every refusal removes it.
const requireFile: RequestHandler = (req, _res, next) =>
  next(receivedFile(req) ? undefined : new AppError('missing_file'))
export const uploadValidator: RequestHandler[] = [
  requireFile,
  validate(uploadSchemas, {
    codes: { title: 'invalid_title', description: 'invalid_description' },
    onRefused: discardUpload,
  }),
]
