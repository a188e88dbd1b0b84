// The CSRF token is compared in constant time (crypto.timingSafeEqual), not with !==, whose time
// depends on how many leading characters of a guess are right.
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'

test('requireCsrf compares tokens with timingSafeEqual and still tells right from wrong', async () => {
  const spy = mock.method(crypto, 'timingSafeEqual')
  syncBuiltinESMExports()
  try {
    // Imported after the spy is in place, so its named import is the spy.
    const { requireCsrf } = await import('../../src/auth/middleware.ts')
    const check = (token: unknown) => {
      let passed: unknown = 'not called'
      const req = { body: { _csrf: token }, query: {}, headers: {} }
      const res = {
        locals: {
          session: { id: 's', csrfToken: 'the-right-token-abcdef', user: { id: 1, username: 'admin', role: 'admin' } },
        },
      }
      requireCsrf()(req as never, res as never, (err?: unknown) => {
        passed = err ?? null
      })
      return passed
    }
    assert.equal(check('the-right-token-abcdef'), null)
    assert.equal((check('the-right-token-abcdeX') as { status: number }).status, 403)
    assert.equal((check('short') as { status: number }).status, 403, 'a different length is refused too')
    assert.equal((check(undefined) as { status: number }).status, 403)
    assert.ok(spy.mock.callCount() >= 2, `timingSafeEqual used (${spy.mock.callCount()} calls)`)
  } finally {
    spy.mock.restore()
    syncBuiltinESMExports()
  }
})
