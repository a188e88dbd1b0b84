// The admins' users page, /admin/users: add users, change roles, disable and enable them, reset
// passwords, remove them (after a confirmation page; their videos go to the admin removing them).
// Thin: AccountService decides, with its last-admin and own-account guards; a refusal shows the
// page again with the reason beside the form it came from and what was typed (never a password).
import { Router } from 'express'
import type { Request, RequestHandler, Response } from 'express'
import { currentUser, requirePageLogin } from '../auth/middleware.ts'
import type { AppError } from '../errors.ts'
import { validated } from '../validate.ts'
import { fixedNotice, formPosts } from '../web/formSteps.ts'
import type { AccountService } from './accountService.ts'
import {
  addUserFormSchemas,
  addUserFormValidator,
  resetPasswordFormSchemas,
  resetPasswordFormValidator,
  roleFormSchemas,
  roleFormValidator,
  userIdSchemas,
  userIdValidator,
} from './accountValidators.ts'

/** Where a refusal is shown: beside the add form, in one user's row, or at the top. */
type FormError = { message: string; form: 'add' } | { message: string; form: 'user'; userId: number }

const NOTICES = {
  added: 'User added.',
  role: 'Role changed.',
  disabled: 'User disabled: their sessions were ended and their API tokens refused.',
  enabled: 'User enabled again.',
  password: 'Password reset: their sessions were ended.',
  removed: 'User removed: their videos are now yours.',
} as const

export function userAdminPages(accounts: AccountService): Router {
  const router = Router()
  const admin = requirePageLogin('admin')
  const post = formPosts(router, admin)
  router.get('/admin/users', admin, usersPage)
  post('/admin/users', showAddRefusal, addUserFormValidator, addUser)
  post('/admin/users/:id/role', showRowRefusal, roleFormValidator, changeRole)
  post('/admin/users/:id/disable', showRowRefusal, userIdValidator, setDisabled(true))
  post('/admin/users/:id/enable', showRowRefusal, userIdValidator, setDisabled(false))
  post('/admin/users/:id/password', showRowRefusal, resetPasswordFormValidator, resetPassword)
  router.get('/admin/users/:id/remove', admin, userIdValidator, confirmRemove)
  post('/admin/users/:id/remove', showRowRefusal, userIdValidator, removeUser)

  const me = (res: Response) => currentUser(res)!
  const done = (res: Response, what: keyof typeof NOTICES) => res.redirect(303, `/admin/users?done=${what}`)

  async function render(res: Response, view: { notice?: string | null; error?: FormError; values?: object }) {
    res.render('users', {
      title: 'Users',
      users: await accounts.listUsers(),
      notice: view.notice ?? null,
      error: view.error ?? null,
      values: { name: '', role: 'uploader', ...view.values },
    })
  }

  async function usersPage(req: Request, res: Response) {
    await render(res, { notice: fixedNotice(NOTICES, req.query.done) })
  }

  async function addUser(_req: Request, res: Response) {
    const { name, password, role } = validated(res, addUserFormSchemas).body
    await accounts.createUser(name, password, role)
    done(res, 'added')
  }

  async function showAddRefusal(err: AppError, req: Request, res: Response) {
    const body = (req.body ?? {}) as Record<string, unknown>
    const typed = (k: string) => (typeof body[k] === 'string' ? body[k] : undefined)
    // The name and role as typed; the password is never sent back.
    await render(res, {
      error: { message: err.message, form: 'add' },
      values: { name: typed('name'), role: typed('role') },
    })
  }

  async function showRowRefusal(err: AppError, req: Request, res: Response) {
    await render(res, { error: { message: err.message, form: 'user', userId: Number(req.params.id) } })
  }

  async function changeRole(_req: Request, res: Response) {
    const { params, body } = validated(res, roleFormSchemas)
    await accounts.updateUser(me(res).id, params.id, { role: body.role })
    done(res, 'role')
  }

  function setDisabled(disabled: boolean): RequestHandler {
    return async (_req, res) => {
      await accounts.updateUser(me(res).id, validated(res, userIdSchemas).params.id, { disabled })
      done(res, disabled ? 'disabled' : 'enabled')
    }
  }

  async function resetPassword(_req: Request, res: Response) {
    const { params, body } = validated(res, resetPasswordFormSchemas)
    await accounts.updateUser(me(res).id, params.id, { password: body.password })
    done(res, 'password')
  }

  async function confirmRemove(_req: Request, res: Response) {
    const target = await accounts.getUser(validated(res, userIdSchemas).params.id)
    res.render('user-remove', { title: `Remove ${target.name}`, target })
  }

  async function removeUser(_req: Request, res: Response) {
    await accounts.removeUser(me(res).id, validated(res, userIdSchemas).params.id)
    done(res, 'removed')
  }

  return router
}
