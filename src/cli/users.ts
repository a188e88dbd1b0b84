// `user …` commands: the shell's way to manage accounts (the first uploader of a new site, an
// admin who lost their password), through the same AccountService as the admin page and the API.
import type { AccountService, UserJson } from '../accounts/accountService.ts'
import { password as passwordRule, userName } from '../accounts/accountValidators.ts'
import { ROLES, type Role } from '../auth/rights.ts'

/** A refusal the CLI prints as one line (exit code 1). */
export class CliError extends Error {}

export type UserCommand =
  | { action: 'list' }
  | { action: 'add'; name: string; role: Role }
  | { action: 'password' | 'disable' | 'enable'; name: string }

const ACTIONS = ['list', 'add', 'password', 'disable', 'enable'] as const

/** Checks the words after `user` (and --role) before anything is opened. */
export function parseUserCommand(words: string[], role: string | undefined): UserCommand {
  const [action, name, ...extra] = words
  if (!action) throw new CliError(`"user" needs a command: ${ACTIONS.join(', ')} (see --help)`)
  if (!(ACTIONS as readonly string[]).includes(action))
    throw new CliError(`unknown command "user ${action}" (see --help)`)
  if (role !== undefined && action !== 'add') throw new CliError('--role is only for "user add"')
  if (action === 'list') {
    if (name !== undefined) throw new CliError('"user list" takes no arguments')
    return { action }
  }
  if (name === undefined) throw new CliError(`"user ${action}" needs a user NAME (see --help)`)
  if (extra.length > 0) throw new CliError(`"user ${action}" takes one NAME, not ${extra.length + 1}`)
  const checked = userName.safeParse(name)
  if (!checked.success) throw new CliError(checked.error.issues[0]!.message)
  if (action !== 'add') return { action: action as 'password' | 'disable' | 'enable', name }
  if (role === undefined) throw new CliError('"user add" needs --role admin or --role uploader')
  if (!(ROLES as readonly string[]).includes(role))
    throw new CliError(`--role must be one of: ${ROLES.join(', ')} (not "${role}")`)
  return { action, name, role: role as Role }
}

export interface UserCommandIo {
  /** The new password, from the terminal or stdin (src/cli/prompt.ts). */
  askPassword(): Promise<string>
  print(line: string): void
}

export async function runUserCommand(accounts: AccountService, cmd: UserCommand, io: UserCommandIo): Promise<void> {
  if (cmd.action === 'list') {
    printTable(io, await accounts.listUsers())
    return
  }
  const existing = await accounts.findUserByName(cmd.name)
  if (cmd.action === 'add') {
    // Asked before the password is typed, not after.
    if (existing) throw new CliError(`a user named ${cmd.name} exists`)
    const user = await accounts.createUser(cmd.name, await newPassword(io), cmd.role)
    io.print(`Added ${user.role} ${user.name} (id ${user.id}).`)
    return
  }
  if (!existing) throw new CliError(`no user named ${cmd.name}`)
  if (cmd.action === 'password') {
    await accounts.updateUser(null, existing.id, { password: await newPassword(io) })
    io.print(`Changed the password of ${existing.name}; their login sessions were ended.`)
  } else if (cmd.action === 'disable') {
    await accounts.updateUser(null, existing.id, { disabled: true })
    io.print(`Disabled ${existing.name}: sessions ended; password and API tokens refused until enabled again.`)
  } else {
    await accounts.updateUser(null, existing.id, { disabled: false })
    io.print(`Enabled ${existing.name}.`)
  }
}

async function newPassword(io: UserCommandIo): Promise<string> {
  const checked = passwordRule.safeParse(await io.askPassword())
  if (!checked.success) throw new CliError(`${checked.error.issues[0]!.message}; nothing was changed`)
  return checked.data
}

function printTable(io: UserCommandIo, users: UserJson[]): void {
  const rows = [
    ['ID', 'NAME', 'ROLE', 'STATE', 'CREATED'],
    ...users.map((u) => [String(u.id), u.name, u.role, u.disabled ? 'disabled' : 'enabled', u.createdAt]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const row of rows)
    io.print(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
}
