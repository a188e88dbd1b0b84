// A logged-in user's own page, /account: their password and their API tokens. Every post is a
// form with the session's CSRF token; a refusal shows the page again with the reason beside the form.
import { Router } from 'express'
import type { Request, Response } from 'express'
import type { AuthService } from '../auth/authService.ts'
import { clientKey, currentSession, currentUser, requirePageLogin } from '../auth/middleware.ts'
import { AppError } from '../errors.ts'
import { validated } from '../validate.ts'
import { fixedNotice, formPosts } from '../web/formSteps.ts'
import type { AccountService, TokenJson } from './accountService.ts'
import {
  ownPasswordFormSchemas,
  ownPasswordFormValidator,
  tokenFormSchemas,
  tokenFormValidator,
  tokenIdSchemas,
  tokenIdValidator,
} from './accountValidators.ts'

/** What the page shows besides the user's tokens; every field optional. */
interface AccountView {
  notice?: string | null
  passwordError?: string | null
  tokenError?: string | null
  tokenName?: string
  /** A token just made: its secret, shown this once. */
  created?: (TokenJson & { token: string }) | null
}

const NOTICES = {
  password: 'Password changed. Your other sessions were logged out; this one stays.',
  revoked: 'Token revoked: scripts using it are refused from now on.',
} as const

export function accountPages(auth: AuthService, accounts: AccountService): Router {
  const router = Router()
  const login = requirePageLogin()
  const post = formPosts(router, login)
  router.get('/account', login, accountPage)
  post('/account/password', showPasswordRefusal, ownPasswordFormValidator, changePassword)
  post('/account/tokens', showTokenRefusal, tokenFormValidator, createToken)
  post('/account/tokens/:id/revoke', showTokenRefusal, tokenIdValidator, revokeToken)

  const me = (res: Response) => currentUser(res)!

  async function render(res: Response, view: AccountView) {
    res.render('account', {
      title: 'My account',
      tokens: await accounts.listTokens(me(res).id),
      notice: null,
      passwordError: null,
      tokenError: null,
      tokenName: '',
      created: null,
      ...view,
    })
  }

  async function accountPage(req: Request, res: Response) {
    await render(res, { notice: fixedNotice(NOTICES, req.query.done) })
  }

  async function changePassword(req: Request, res: Response) {
    const { current, password } = validated(res, ownPasswordFormSchemas).body
    // Keeps this session and ends the others; a wrong current password counts against the address as at log-in.
    const changed = await auth.changeOwnPassword(clientKey(req), currentSession(res)!, current, password)
    if (!changed) throw new AppError('unauthorized', 'The current password is wrong')
    res.redirect(303, '/account?done=password')
  }

  async function showPasswordRefusal(err: AppError, _req: Request, res: Response) {
    await render(res, { passwordError: err.message })
  }

  async function createToken(_req: Request, res: Response) {
    const created = await accounts.createToken(me(res).id, validated(res, tokenFormSchemas).body.name)
    // Not a redirect: the secret is on this answer only (the database keeps its hash).
    res.status(201).set('Cache-Control', 'no-store')
    await render(res, { created })
  }

  async function revokeToken(_req: Request, res: Response) {
    await accounts.revokeToken(me(res).id, validated(res, tokenIdSchemas).params.id)
    res.redirect(303, '/account?done=revoked')
  }

  async function showTokenRefusal(err: AppError, req: Request, res: Response) {
    const name = (req.body as Record<string, unknown> | undefined)?.name
    await render(res, { tokenError: err.message, tokenName: typeof name === 'string' ? name : '' })
  }

  return router
}
