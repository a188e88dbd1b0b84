// Request validation, as PeerTube does it: one validator per route, placed before its handler,
// checks params, query and body with zod schemas; the handler reads the parsed values and never
// sees a request that failed. At the top of src/ because every domain's router uses it.
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { z } from 'zod'
import { AppError } from './errors.ts'
import type { ErrorCode } from './errorCatalogue.ts'

export interface RequestSchemas {
  params?: z.ZodType
  query?: z.ZodType
  body?: z.ZodType
}

type Part<S, K extends keyof RequestSchemas> = S extends { [P in K]: z.ZodType } ? z.output<S[K]> : undefined
export type Validated<S extends RequestSchemas> = {
  params: Part<S, 'params'>
  query: Part<S, 'query'>
  body: Part<S, 'body'>
}

export interface ValidatorOptions {
  /** The error code for an issue about a given field (the first path element); bad_request otherwise. */
  codes?: Record<string, ErrorCode>
  /** Runs before a refusal is passed on (an upload's validator removes the stored file here). */
  onRefused?: (req: Request) => Promise<void>
}

const VALIDATED = 'validated'

// No text anywhere may hold NUL: PostgreSQL refuses it in TEXT (a 500 there), and no title, name
// or id needs it. Checked before every schema, so no route can forget it.
function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\0')
  if (depth > 8 || value === null || typeof value !== 'object') return false
  return Object.entries(value).some(([k, v]) => k.includes('\0') || holdsNul(v, depth + 1))
}

/** The middleware that checks a request against `schemas`; the first issue becomes a 400 (or the field's code). */
export function validate<S extends RequestSchemas>(schemas: S, opts: ValidatorOptions = {}): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const out: Record<string, unknown> = {}
    for (const part of ['params', 'query', 'body'] as const) {
      const schema = schemas[part]
      if (!schema) continue
      if (holdsNul(req[part])) {
        await opts.onRefused?.(req)
        return next(new AppError('bad_request', 'Text must not contain NUL characters'))
      }
      const parsed = await schema.safeParseAsync(req[part] ?? {})
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!
        const field = issue.path[0]
        const code = (typeof field === 'string' && opts.codes?.[field]) || 'bad_request'
        await opts.onRefused?.(req)
        return next(new AppError(code, issue.message))
      }
      out[part] = parsed.data
    }
    res.locals[VALIDATED] = out
    next()
  }
}

/** What the route's validator (made from the same schemas) parsed. */
export function validated<S extends RequestSchemas>(res: Response, _schemas: S): Validated<S> {
  const out = res.locals[VALIDATED] as Validated<S> | undefined
  if (!out) throw new Error('validated() on a route without its validator')
  return out
}

/** A query number as `Number()` reads it, absent = `fallback`; anything else than a whole number in range is refused. */
export function wholeNumber(name: string, min: number, max: number, fallback: number) {
  const message = `${name} must be a whole number from ${min} to ${max}`
  return z
    .unknown()
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .pipe(
      z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message }),
    )
}

/** A form field that is a string when sent once; anything else (absent, repeated) reads as `fallback`. */
export const formString = <F extends string | undefined>(fallback: F) =>
  z.unknown().transform((v) => (typeof v === 'string' ? v : fallback))

/** An HTML checkbox: on when sent as "on". */
export const checkbox = z.unknown().transform((v) => v === 'on')
