// The accounts API: users (admins only) and each caller's own API tokens.
import { Router, json } from 'express'
import type { Request, Response } from 'express'
import { apiUser, requireApiUser } from '../auth/middleware.ts'
import { validated } from '../validate.ts'
import type { AccountService } from './accountService.ts'
import {
  createTokenSchemas,
  createTokenValidator,
  createUserSchemas,
  createUserValidator,
  tokenIdSchemas,
  tokenIdValidator,
  updateUserSchemas,
  updateUserValidator,
  userIdSchemas,
  userIdValidator,
} from './accountValidators.ts'

export function accountsApiRouter(accounts: AccountService): Router {
  const router = Router()
  const body = json({ limit: '16kb', strict: true })
  const admin = requireApiUser('admin')
  const anyone = requireApiUser()
  router.get('/api/users', admin, listUsers)
  router.post('/api/users', admin, body, createUserValidator, createUser)
  router.get('/api/users/:id', admin, userIdValidator, getUser)
  router.patch('/api/users/:id', admin, body, updateUserValidator, updateUser)
  router.delete('/api/users/:id', admin, userIdValidator, removeUser)
  router.get('/api/tokens', anyone, listTokens)
  router.post('/api/tokens', anyone, body, createTokenValidator, createToken)
  router.delete('/api/tokens/:id', anyone, tokenIdValidator, revokeToken)

  const me = (res: Response) => apiUser(res)!

  async function listUsers(_req: Request, res: Response) {
    res.json({ users: await accounts.listUsers() })
  }

  async function getUser(_req: Request, res: Response) {
    res.json(await accounts.getUser(validated(res, userIdSchemas).params.id))
  }

  async function createUser(_req: Request, res: Response) {
    const { name, password, role } = validated(res, createUserSchemas).body
    const user = await accounts.createUser(name, password, role)
    res.status(201).location(`/api/users/${user.id}`).json(user)
  }

  async function updateUser(_req: Request, res: Response) {
    const { params, body: change } = validated(res, updateUserSchemas)
    res.json(await accounts.updateUser(me(res).id, params.id, change))
  }

  async function removeUser(_req: Request, res: Response) {
    await accounts.removeUser(me(res).id, validated(res, userIdSchemas).params.id)
    res.status(204).end()
  }

  async function listTokens(_req: Request, res: Response) {
    res.json({ tokens: await accounts.listTokens(me(res).id) })
  }

  async function createToken(_req: Request, res: Response) {
    const token = await accounts.createToken(me(res).id, validated(res, createTokenSchemas).body.name)
    res.status(201).json(token)
  }

  async function revokeToken(_req: Request, res: Response) {
    await accounts.revokeToken(me(res).id, validated(res, tokenIdSchemas).params.id)
    res.status(204).end()
  }

  return router
}
