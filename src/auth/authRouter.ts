import { Router, urlencoded } from 'express'
import type { Request, Response } from 'express'
import { z } from 'zod'
import type { AppError } from '../errors.ts'
import { formString, validate, validated } from '../validate.ts'
import { formSteps } from '../web/formSteps.ts'
import type { AuthService } from './authService.ts'
import { SESSION_COOKIE, clientKey, currentSession, requireCsrf } from './middleware.ts'

// A field sent twice (an array) is no answer: the form is shown again, as for a wrong password.
const loginSchemas = {
  body: z.object({ username: formString(undefined), password: formString(undefined), next: formString(undefined) }),
}

export function authRouter(auth: AuthService, secureCookies: boolean): Router {
  const router = Router()
  const form = urlencoded({ extended: false, limit: '16kb' })
  router.get('/login', showLogin)
  // A disabled account, a throttled address or busy hashing (authenticate's refusals) show the form again.
  router.post('/login', form, formSteps(showLoginRefusal, validate(loginSchemas), login))
  router.post('/logout', form, requireCsrf(), logout)

  function safeNext(value: unknown): string {
    // Only same-site paths, so the login form cannot be used as an open redirect. Browsers read
    // `\` as `/`, so `/\evil.example` would be protocol-relative too; control characters are dropped by them.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
    return typeof value === 'string' && /^\/(?![/\\])/.test(value) && !/[\\\x00-\x1f]/.test(value) ? value : '/'
  }

  function showLogin(req: Request, res: Response) {
    res.render('login', { title: 'Log in', next: safeNext(req.query.next), error: null, username: '' })
  }

  function showLoginForm(req: Request, res: Response, error: string) {
    const body = (req.body ?? {}) as Record<string, unknown>
    const username = typeof body.username === 'string' ? body.username : ''
    res.render('login', { title: 'Log in', next: safeNext(body.next), error, username })
  }

  function showLoginRefusal(err: AppError, req: Request, res: Response) {
    showLoginForm(req, res, err.message)
  }

  async function login(req: Request, res: Response) {
    const { username, password, next } = validated(res, loginSchemas).body
    const user = username && password ? await auth.authenticate(clientKey(req), username, password) : null
    if (!user) {
      res.status(401)
      showLoginForm(req, res, 'Wrong user name or password.')
      return
    }
    const session = await auth.startSession(user)
    res.cookie(SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookies,
      path: '/',
      maxAge: 14 * 24 * 3600 * 1000,
    })
    res.redirect(303, safeNext(next))
  }

  async function logout(_req: Request, res: Response) {
    const session = currentSession(res)
    if (session) await auth.endSession(session.id)
    res.clearCookie(SESSION_COOKIE, { path: '/' })
    res.redirect(303, '/')
  }

  return router
}
