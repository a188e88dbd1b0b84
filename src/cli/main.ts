// `npm run cli -- …`: account management and imports from the shell, on the server's own
// configuration and database (SQLite lets it write while the server runs). Refusals are one line
// and exit code 1.
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { AccountService } from '../accounts/accountService.ts'
import { AuthService } from '../auth/authService.ts'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { openDatabase } from '../db/client.ts'
import { readEnvironmentFile } from '../envFile.ts'
import { AppError } from '../errors.ts'
import { askNewPassword } from './prompt.ts'
import { CliError, parseUserCommand, runUserCommand } from './users.ts'
import { parseImportCommand, runImportCommand } from './import.ts'

const HELP = `Usage: npm run cli -- [--config FILE] user COMMAND
       npm run cli -- [--config FILE] import PATH... [--title T] [--description D] [--owner NAME]

  user list                             the users, their roles, enabled or disabled
  user add NAME --role admin|uploader   adds a user; asks for their password
  user password NAME                    sets a new password; ends their login sessions
  user disable NAME                     ends their sessions; refuses their password and tokens
  user enable NAME                      lets them in again

  import PATH...                        moves each audio/video file into storage, hashes it (a
                                        progress bar per file) and publishes it; the running
                                        site tracks and seeds it within a second. Non-media is
                                        refused and left where it is. --title and --description
                                        (one PATH only; default title: the file name); --owner
                                        (default IMPORT_OWNER, else the first enabled admin)

Passwords are never arguments. From a terminal the password is asked twice, not echoed; from a
pipe it is the first line of stdin:  printf '%s\\n' "$PW" | npm run cli -- user password alice

The configuration is the server's (STORAGE_DIR, DATABASE_URL, ...): from the environment, or
with --config from a systemd EnvironmentFile such as /etc/seedcast.env (whose values win).
Started as root, the CLI acts as the owner of the database, so that it stays the service's.
`

interface Args {
  help: boolean
  configFile?: string
  role?: string
  title?: string
  description?: string
  owner?: string
  words: string[]
}

const PASSWORD_FLAG = /^(--password(=.*)?|-p)$/

function parseArgs(argv: string[]): Args {
  // Looked for first, wherever it is: this refusal is the one to see, not one about another word.
  if (argv.some((arg) => PASSWORD_FLAG.test(arg)))
    throw new CliError('passwords are read from the terminal or stdin, never from the command line')
  const args: Args = { help: false, words: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined || v === '') throw new CliError(`${flag} needs a value`)
      return v
    }
    if (flag === '--help' || flag === '-h') args.help = true
    // Not --env-file: Node itself acts on that name even after the script's (nodejs/node#54232).
    else if (flag === '--config') args.configFile = value()
    else if (flag === '--role') args.role = value()
    else if (flag === '--title') args.title = value()
    else if (flag === '--description') args.description = inline ?? argv[++i] ?? ''
    else if (flag === '--owner') args.owner = value()
    else if (flag.startsWith('-')) throw new CliError(`unknown option ${flag} (see --help)`)
    else args.words.push(arg)
  }
  return args
}

function configFrom(configFile: string | undefined): Config {
  if (configFile === undefined) return loadConfig(process.env)
  let text: string
  try {
    text = readFileSync(configFile, 'utf8')
  } catch (err) {
    throw new CliError(`cannot read ${configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  try {
    return loadConfig({ ...process.env, ...readEnvironmentFile(text) })
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new CliError(`${configFile}: ${(err as Error).message}`)
  }
}

/**
 * Root (who can read the mode-600 env file) would leave the database, its -wal and -shm files, or
 * a new database, owned by root, and the service could no longer write them: the CLI becomes the
 * owner of the database (or of the folder that will hold it) first.
 */
function actAsDatabaseOwner(config: Config): void {
  if (process.getuid?.() !== 0) return
  const file = config.databaseFile // null for PostgreSQL: then storage decides
  for (const candidate of [...(file === null ? [] : [file, path.dirname(file)]), config.storageDir]) {
    let owner
    try {
      owner = statSync(candidate)
    } catch {
      continue
    }
    if (owner.uid === 0) return
    process.setgroups!([owner.gid])
    process.setgid!(owner.gid)
    process.setuid!(owner.uid)
    return
  }
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv)
  if (args.help || args.words.length === 0) {
    process.stdout.write(HELP)
    if (!args.help) throw new CliError('no command given')
    return
  }
  const [topic, ...words] = args.words
  if (topic !== 'user' && topic !== 'import') throw new CliError(`unknown command "${topic}" (see --help)`)
  if (topic === 'user' && (args.title ?? args.description ?? args.owner) !== undefined)
    throw new CliError('--title, --description and --owner are for "import"')
  if (topic === 'import' && args.role !== undefined) throw new CliError('--role is only for "user add"')
  const command =
    topic === 'user'
      ? parseUserCommand(words, args.role)
      : parseImportCommand(words, { title: args.title, description: args.description, owner: args.owner })
  const config = configFrom(args.configFile)
  actAsDatabaseOwner(config)
  // The server's start applies the migrations; so does this, for a site not started yet.
  const db = await openDatabase(config)
  try {
    const accounts = new AccountService(db, new AuthService(db, config.auth))
    if ('files' in command) await runImportCommand(config, db, accounts, command, (line) => console.log(line))
    else
      await runUserCommand(accounts, command, {
        askPassword: () => askNewPassword(),
        print: (line) => console.log(line),
      })
  } finally {
    await db.$disconnect()
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof CliError || err instanceof AppError || err instanceof ConfigError) {
    console.error(`seedcast: ${err.message}`)
  } else {
    console.error(`seedcast: failed: ${(err as Error).message}`)
  }
  process.exitCode = 1
})
