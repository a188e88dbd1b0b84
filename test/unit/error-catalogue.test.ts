import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ERROR_CATALOGUE } from '../../src/errorCatalogue.ts'
import { AppError, toAppError } from '../../src/errors.ts'

// The table that follows "Errors are" in README's JSON API section: `code` | status | when.
function readmeErrorList(): Record<string, number> {
  const lines = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split('\n')
  const start = lines.findIndex((l) => l.startsWith('Errors are `'))
  assert.ok(start >= 0, 'README has its error list')
  const rows: Record<string, number> = {}
  let i = start + 1
  while (i < lines.length && !lines[i]!.startsWith('|')) i++
  for (; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const m = /^\| `([a-z_]+)` \| (\d{3}) \|/.exec(lines[i]!)
    if (m) rows[m[1]!] = Number(m[2])
  }
  return rows
}

test("README's error list is the catalogue: every code, its status", () => {
  const catalogue = Object.fromEntries(Object.entries(ERROR_CATALOGUE).map(([code, e]) => [code, e.status]))
  assert.deepEqual(readmeErrorList(), catalogue)
})

test('an AppError takes its status and default message from its code', () => {
  const e = new AppError('video_not_found')
  assert.equal(e.status, 404)
  assert.equal(e.message, ERROR_CATALOGUE.video_not_found.message)
  assert.equal(new AppError('bad_request', 'limit must be a whole number').message, 'limit must be a whole number')
  // @ts-expect-error an unknown code does not type-check
  assert.throws(() => new AppError('no_such_code'))
})

test("errors from Express's helpers keep their status under a catalogue code", () => {
  assert.equal(toAppError({ type: 'entity.too.large', status: 413 }).code, 'too_large')
  const parse = toAppError({ type: 'entity.parse.failed', status: 400, message: 'Unexpected token' })
  assert.deepEqual([parse.code, parse.status, parse.message], ['bad_request', 400, 'Unexpected token'])
  assert.equal(toAppError({ status: 416 }).status, 416)
  assert.equal(toAppError(Object.assign(new Error('disk'), { code: 'ENOSPC' })).code, 'insufficient_storage')
  assert.equal(toAppError(new Error('boom')).status, 500)
})
