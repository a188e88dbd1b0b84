// Validators of the account routes (API and pages): user names, passwords, roles, token names.
import { z } from 'zod'
import { ROLES } from '../auth/rights.ts'
import { formString, validate } from '../validate.ts'

/** @public The CLI (src/cli/) checks names and passwords with these too. */
export const userName = z
  .string({ error: 'name must be a string' })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'A user name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
  )
/** @public */
export const password = z
  .string({ error: 'password must be a string' })
  .min(8, 'A password has at least 8 characters')
  .max(1024, 'A password has at most 1,024 characters')
const role = z.enum(ROLES, { error: `role must be one of: ${ROLES.join(', ')}` })
const tokenName = z
  .string({ error: 'name must be a string' })
  .transform((s) => s.trim())
  .pipe(z.string().min(1, 'A token needs a name').max(100, 'A token name has at most 100 characters'))

const userIdParams = z.object({ id: z.coerce.number().int().positive() })

export const createUserSchemas = { body: z.strictObject({ name: userName, password, role }) }
export const updateUserSchemas = {
  params: userIdParams,
  body: z.strictObject({ role: role.optional(), disabled: z.boolean().optional(), password: password.optional() }),
}
export const userIdSchemas = { params: userIdParams }
export const createTokenSchemas = { body: z.strictObject({ name: tokenName }) }
export const tokenIdSchemas = { params: userIdParams }

const userCodes = { codes: { name: 'invalid_user', password: 'invalid_user', role: 'invalid_user' } } as const
export const createUserValidator = validate(createUserSchemas, userCodes)
export const updateUserValidator = validate(updateUserSchemas, {
  codes: { role: 'invalid_user', disabled: 'invalid_user', password: 'invalid_user', id: 'user_not_found' },
})
export const userIdValidator = validate(userIdSchemas, { codes: { id: 'user_not_found' } })
export const createTokenValidator = validate(createTokenSchemas, { codes: { name: 'invalid_token' } })
export const tokenIdValidator = validate(tokenIdSchemas, { codes: { id: 'token_not_found' } })

// The pages' forms (urlencoded, src/accounts/accountPages.ts and userAdminPages.ts): a field sent
// twice reads as missing and is refused like one.
const field = formString('')

export const addUserFormSchemas = {
  body: z.object({ name: field.pipe(userName), password: field.pipe(password), role: field.pipe(role) }),
}
export const roleFormSchemas = { params: userIdParams, body: z.object({ role: field.pipe(role) }) }
export const resetPasswordFormSchemas = { params: userIdParams, body: z.object({ password: field.pipe(password) }) }
export const ownPasswordFormSchemas = {
  body: z
    .object({
      current: field.pipe(z.string().min(1, 'Type your current password')),
      password: field.pipe(password),
      repeat: field,
    })
    .refine((b) => b.password === b.repeat, { message: 'The two new passwords differ', path: ['repeat'] }),
}
export const tokenFormSchemas = { body: z.object({ name: field.pipe(tokenName) }) }

const formCodes = {
  codes: {
    name: 'invalid_user',
    password: 'invalid_user',
    role: 'invalid_user',
    repeat: 'invalid_user',
    id: 'user_not_found',
  },
} as const
export const addUserFormValidator = validate(addUserFormSchemas, formCodes)
export const roleFormValidator = validate(roleFormSchemas, formCodes)
export const resetPasswordFormValidator = validate(resetPasswordFormSchemas, formCodes)
export const ownPasswordFormValidator = validate(ownPasswordFormSchemas, formCodes)
export const tokenFormValidator = validate(tokenFormSchemas, { codes: { name: 'invalid_token' } })
