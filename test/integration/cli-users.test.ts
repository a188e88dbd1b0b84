// The account CLI (`npm run cli -- user …`) run as the real child process, with the same flags as
// the npm script, on the storage and database of a real server that keeps running: what it does is
// seen through that server (log-in form, Basic, Bearer). Passwords go in through stdin, or through
// a pseudo-terminal (util-linux `script`) for the prompts, whose output must not show them.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chown, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { basic, newToken } from '../helpers/accounts.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { CLI, ROOT, cliEnv, runCli, shellQuote } from '../helpers/cli.ts'
import { testDatabase } from '../helpers/database.ts'

let server: TestServer

before(async () => {
  // No log-in throttle here: the refused passwords below are what is tested, not the bucket.
  server = await startTestServer({ AUTH_MAX_FAILURES: '0' })
})
after(async () => {
  await server?.stop()
})

function cliEnvOf(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv({ STORAGE_DIR: server.storageDir, ...extra })
}

/** The CLI with `input` on a pipe (stdin closed after it). */
const cli = (args: string[], input = '', env = cliEnvOf()) => runCli(args, env, input)

/**
 * The CLI on a pseudo-terminal: each answer is typed (with Enter) once its prompt has appeared,
 * so that the terminal is in the CLI's no-echo mode by then. Returns everything the terminal showed.
 */
function cliOnTerminal(args: string[], answers: string[]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, ...CLI, ...args].map(shellQuote).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: cliEnvOf() })
    let screen = ''
    let typed = 0
    const prompts = [/New password: $/, /Same password again: $/]
    child.stdout.on('data', (d) => {
      screen += d
      while (typed < answers.length && prompts[typed]!.test(screen)) child.stdin.write(`${answers[typed++]}\r`)
    })
    child.stderr.on('data', (d) => {
      screen += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, screen }))
    child.on('exit', () => child.stdin.end())
  })
}

/** GET /api/tokens with Basic: 200 for a right password, 401 wrong, 403 disabled. */
async function basicStatus(name: string, password: string): Promise<number> {
  const res = await fetch(`${server.url}/api/tokens`, { headers: { authorization: basic(name, password) } })
  await res.arrayBuffer()
  return res.status
}

/** POST /login: the session cookie when it let the user in. */
async function formLogin(name: string, password: string): Promise<string | null> {
  const res = await fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams({ username: name, password, next: '/upload' }),
  })
  await res.arrayBuffer()
  if (res.status !== 303) return null
  assert.equal(res.headers.get('location'), '/upload')
  return /seedcast_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0] ?? null
}

/** Whether the cookie's session is still logged in (the upload page needs a login). */
async function sessionAlive(cookie: string): Promise<boolean> {
  const res = await fetch(`${server.url}/upload`, { redirect: 'manual', headers: { cookie } })
  await res.arrayBuffer()
  return res.status === 200
}

async function listedUsers(): Promise<string[]> {
  const res = await fetch(`${server.url}/api/users`, { headers: { authorization: server.basicAuth } })
  return ((await res.json()) as { users: { name: string }[] }).users.map((u) => u.name)
}

test('user add from a pipe: the running server lets the new uploader in (log-in form and Basic), and user list shows them', async () => {
  const added = await cli(['user', 'add', 'alice', '--role', 'uploader'], 'alice-pass-1\n')
  assert.equal(added.code, 0, added.stderr)
  assert.match(added.stdout, /Added uploader alice \(id \d+\)/)
  assert.equal(added.stderr, '')
  assert.ok(await formLogin('alice', 'alice-pass-1'), 'the log-in form lets alice in')
  assert.equal(await basicStatus('alice', 'alice-pass-1'), 200)
  assert.equal(await basicStatus('alice', 'wrong-pass-1'), 401)
  const me = await fetch(`${server.url}/api/users`, { headers: { authorization: basic('alice', 'alice-pass-1') } })
  assert.equal(me.status, 403, 'an uploader, not an admin')
  await me.arrayBuffer()

  const listed = await cli(['user', 'list'])
  assert.equal(listed.code, 0, listed.stderr)
  assert.match(listed.stdout, /^ID\s+NAME\s+ROLE\s+STATE\s+CREATED$/m)
  assert.match(listed.stdout, /^\d+\s+alice\s+uploader\s+enabled\s+\d{4}-\d\d-\d\dT/m)
  assert.match(listed.stdout, /^\d+\s+admin\s+admin\s+enabled\s/m)
  assert.ok(!listed.stdout.includes('alice-pass-1'))
})

test('user add --role admin: the new admin manages users through the API', async () => {
  const added = await cli(['user', 'add', 'root2', '--role=admin'], 'root2-pass-1\r\nignored second line\n')
  assert.equal(added.code, 0, added.stderr)
  const res = await fetch(`${server.url}/api/users`, { headers: { authorization: basic('root2', 'root2-pass-1') } })
  assert.equal(res.status, 200)
  assert.ok(((await res.json()) as { users: { name: string }[] }).users.some((u) => u.name === 'alice'))
})

test("user password from a pipe: the old password is refused, the new one works, and the user's login sessions end", async () => {
  assert.equal((await cli(['user', 'add', 'bob', '--role', 'uploader'], 'bob-old-pass\n')).code, 0)
  const cookie = await formLogin('bob', 'bob-old-pass')
  assert.ok(cookie && (await sessionAlive(cookie)), 'logged in before')

  const changed = await cli(['user', 'password', 'bob'], 'bob-new-pass\n')
  assert.equal(changed.code, 0, changed.stderr)
  assert.match(changed.stdout, /Changed the password of bob; their login sessions were ended/)
  assert.equal(await basicStatus('bob', 'bob-old-pass'), 401, 'old password refused')
  assert.equal(await formLogin('bob', 'bob-old-pass'), null)
  assert.equal(await basicStatus('bob', 'bob-new-pass'), 200, 'new password works')
  assert.equal(await sessionAlive(cookie), false, 'the session opened with the old password has ended')
  assert.ok(await formLogin('bob', 'bob-new-pass'))
})

test('user disable / enable: while disabled, password, API token and session are refused; enabled, all but the ended session work again', async () => {
  assert.equal((await cli(['user', 'add', 'dora', '--role', 'uploader'], 'dora-pass-12\n')).code, 0)
  const { token } = await newToken(server, basic('dora', 'dora-pass-12'), 'script')
  const bearerStatus = async () => {
    const res = await fetch(`${server.url}/api/tokens`, { headers: { authorization: `Bearer ${token}` } })
    await res.arrayBuffer()
    return res.status
  }
  const cookie = (await formLogin('dora', 'dora-pass-12'))!
  assert.equal(await bearerStatus(), 200)

  const disabled = await cli(['user', 'disable', 'dora'])
  assert.equal(disabled.code, 0, disabled.stderr)
  assert.equal(await basicStatus('dora', 'dora-pass-12'), 403)
  assert.equal(await bearerStatus(), 403)
  assert.equal(await formLogin('dora', 'dora-pass-12'), null)
  assert.equal(await sessionAlive(cookie), false)
  assert.match((await cli(['user', 'list'])).stdout, /^\d+\s+dora\s+uploader\s+disabled\s/m)

  const enabled = await cli(['user', 'enable', 'dora'])
  assert.equal(enabled.code, 0, enabled.stderr)
  assert.equal(await basicStatus('dora', 'dora-pass-12'), 200)
  assert.equal(await bearerStatus(), 200)
  assert.ok(await formLogin('dora', 'dora-pass-12'))
})

test('on a terminal: the password is asked twice and never echoed; the user then logs in', async () => {
  const { code, screen } = await cliOnTerminal(
    ['user', 'add', 'tess', '--role', 'uploader'],
    ['tess-typed-pw', 'tess-typed-pw'],
  )
  assert.equal(code, 0, screen)
  assert.match(screen, /New password: /)
  assert.match(screen, /Same password again: /)
  assert.match(screen, /Added uploader tess/)
  assert.ok(!screen.includes('tess-typed-pw'), `the password was echoed:\n${screen}`)
  assert.ok(!/\*{4}/.test(screen), 'not even as stars')
  assert.equal(await basicStatus('tess', 'tess-typed-pw'), 200)

  const changed = await cliOnTerminal(['user', 'password', 'tess'], ['tess-second-pw', 'tess-second-pw'])
  assert.equal(changed.code, 0, changed.screen)
  assert.ok(!changed.screen.includes('tess-second-pw'), changed.screen)
  assert.equal(await basicStatus('tess', 'tess-second-pw'), 200)
})

test('on a terminal: two different passwords are refused (exit 1) and nothing is changed', async () => {
  const added = await cliOnTerminal(['user', 'add', 'mona', '--role', 'uploader'], ['mona-first-pw', 'mona-other-pw'])
  assert.equal(added.code, 1, added.screen)
  assert.match(added.screen, /seedcast: the passwords do not match; nothing was changed/)
  assert.ok(!added.screen.includes('mona-first-pw') && !added.screen.includes('mona-other-pw'), added.screen)
  assert.ok(!(await listedUsers()).includes('mona'))

  const changed = await cliOnTerminal(['user', 'password', 'alice'], ['alice-pass-2', 'alice-pass-3'])
  assert.equal(changed.code, 1, changed.screen)
  assert.equal(await basicStatus('alice', 'alice-pass-1'), 200, 'the old password still works')
})

test('refusals: one line on stderr, exit code 1, nothing changed', async () => {
  const cases: { args: string[]; input?: string; error: RegExp }[] = [
    { args: [], error: /^seedcast: no command given$/ },
    { args: ['frob'], error: /^seedcast: unknown command "frob" \(see --help\)$/ },
    { args: ['user'], error: /^seedcast: "user" needs a command: list, add, password, disable, enable/ },
    { args: ['user', 'rename', 'alice'], error: /^seedcast: unknown command "user rename"/ },
    { args: ['user', 'add', '--role', 'uploader'], error: /^seedcast: "user add" needs a user NAME/ },
    { args: ['user', 'password'], error: /^seedcast: "user password" needs a user NAME/ },
    { args: ['user', 'add', 'carol'], error: /^seedcast: "user add" needs --role admin or --role uploader$/ },
    { args: ['user', 'add', 'carol', '--role', 'owner'], error: /^seedcast: --role must be one of: admin, uploader/ },
    { args: ['user', 'add', 'carol', '--role'], error: /^seedcast: --role needs a value$/ },
    { args: ['user', 'add', 'car ol', '--role', 'uploader'], error: /^seedcast: A user name is 1 to 64 letters/ },
    { args: ['user', 'add', 'carol', 'dave', '--role', 'uploader'], error: /takes one NAME/ },
    { args: ['user', 'disable', 'carol', '--role', 'admin'], error: /^seedcast: --role is only for "user add"$/ },
    { args: ['user', 'add', 'carol', '--role', 'uploader', '--force'], error: /^seedcast: unknown option --force/ },
    {
      args: ['user', 'add', 'alice', '--role', 'admin'],
      input: 'whatever-pass\n',
      error: /^seedcast: a user named alice exists$/,
    },
    { args: ['user', 'password', 'nobody'], input: 'whatever-pass\n', error: /^seedcast: no user named nobody$/ },
    { args: ['user', 'enable', 'nobody'], error: /^seedcast: no user named nobody$/ },
    {
      args: ['user', 'add', 'carol', '--role', 'uploader'],
      input: 'short\n',
      error: /^seedcast: A password has at least 8 characters; nothing was changed$/,
    },
    {
      args: ['user', 'password', 'alice'],
      input: 'x'.repeat(1025),
      error: /^seedcast: A password has at most 1,024 characters/,
    },
    { args: ['user', 'add', 'carol', '--role', 'uploader'], input: '', error: /^seedcast: no password on stdin/ },
    ...[['--password', 'carol-pass-1'], ['--password=carol-pass-1'], ['-p', 'carol-pass-1']].map((flag) => ({
      args: ['user', 'add', 'carol', '--role', 'uploader', ...flag],
      input: 'carol-pass-1\n',
      error: /^seedcast: passwords are read from the terminal or stdin, never from the command line$/,
    })),
    { args: ['user', 'password', 'alice', '--password', 'alice-pass-9'], error: /never from the command line/ },
    { args: ['user', 'add', 'carol', '--force', '--role', '--password=x'], error: /never from the command line/ },
    // The last enabled admins: root2 (added above) first, then admin is the last one.
    { args: ['user', 'disable', 'root2'], error: /^$/ },
    { args: ['user', 'disable', 'admin'], error: /^seedcast: The site needs at least one enabled admin$/ },
  ]
  for (const c of cases) {
    const res = await cli(c.args, c.input ?? '')
    const label = `${c.args.join(' ')} → ${res.code}: ${res.stderr}`
    if (c.error.source === '^$') {
      assert.equal(res.code, 0, label)
      continue
    }
    assert.equal(res.code, 1, label)
    const lines = res.stderr.split('\n').filter((l) => l !== '')
    assert.equal(lines.length, 1, label)
    assert.match(lines[0]!, c.error, label)
  }
  assert.ok(!(await listedUsers()).includes('carol'), 'no refused command added carol')
  assert.equal(await basicStatus('alice', 'alice-pass-1'), 200, "alice's password is unchanged")
  assert.equal(await basicStatus('admin', 'test-password-123'), 200, 'the last admin is still enabled')
  assert.equal((await cli(['user', 'enable', 'root2'])).code, 0)
})

test('--help names every command and says where passwords come from', async () => {
  const res = await cli(['--help'])
  assert.equal(res.code, 0)
  for (const command of ['user list', 'user add NAME --role admin|uploader', 'user password NAME', 'user disable NAME'])
    assert.ok(res.stdout.includes(command), command)
  assert.match(res.stdout, /never arguments/)
  assert.match(res.stdout, /--config/)
})

test("--config: the service's systemd env file is read as systemd reads it, and its values win over the environment", async () => {
  const elsewhere = await mkdtemp(path.join(tmpdir(), 'seedcast-cli-elsewhere-'))
  const configFile = path.join(elsewhere, 'seedcast.env')
  try {
    // As INSTALL.txt writes it; a `#` inside a value is part of it for systemd (Node's own loader
    // would cut this password to "abc", which the configuration refuses as too short).
    await writeFile(
      configFile,
      [
        '# /etc/seedcast.env',
        'PORT=3000',
        'HOST=127.0.0.1',
        'PUBLIC_URL=https://video.example.org',
        `STORAGE_DIR=${server.storageDir}`,
        'ADMIN_PASSWORD=abc#def-ghi',
        '',
      ].join('\n'),
    )
    const res = await cli(['--config', configFile, 'user', 'add', 'erin', '--role', 'uploader'], 'erin-pass-12\n', {
      ...cliEnvOf(),
      STORAGE_DIR: elsewhere,
    })
    assert.equal(res.code, 0, res.stderr)
    assert.equal(await basicStatus('erin', 'erin-pass-12'), 200, "erin is in the server's database")
    assert.deepEqual(await readdir(elsewhere), ['seedcast.env'], 'no database in the STORAGE_DIR of the environment')

    const missing = await cli(['--config', path.join(elsewhere, 'nope.env'), 'user', 'list'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^seedcast: cannot read .*nope\.env: ENOENT\n$/)
    await writeFile(configFile, `STORAGE_DIR=${server.storageDir}\nADMIN_PASSWORD secret-in-a-bad-line\n`)
    const bad = await cli(['--config', configFile, 'user', 'list'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /^seedcast: .*seedcast\.env: line 2 is not NAME=value\n$/)
    assert.ok(!bad.stderr.includes('secret'), 'the bad line is not shown: it may hold a password')
    await writeFile(configFile, `STORAGE_DIR=${server.storageDir}\nADMIN_PASSWORD=short\n`)
    const invalid = await cli(['--config', configFile, 'user', 'list'])
    assert.equal(invalid.code, 1)
    assert.match(invalid.stderr, /^seedcast: Invalid ADMIN_PASSWORD \(value not shown\)/)
  } finally {
    await rm(elsewhere, { recursive: true, force: true })
  }
})

test('started as root, the CLI acts as the owner of the storage folder: the database it creates is not root-owned', {
  skip:
    process.getuid?.() !== 0
      ? 'needs root'
      : testDatabase === 'postgresql'
        ? 'the database is a PostgreSQL server: no file to own'
        : false,
}, async () => {
  const nobody = 65534
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-cli-owner-'))
  try {
    await chown(dir, nobody, nobody)
    const res = await cli(
      ['user', 'add', 'fred', '--role', 'uploader'],
      'fred-pass-12\n',
      cliEnvOf({ STORAGE_DIR: dir }),
    )
    assert.equal(res.code, 0, res.stderr)
    const files = await readdir(dir)
    assert.ok(files.includes('seedcast.db'), files.join(' '))
    for (const file of files) assert.equal((await stat(path.join(dir, file))).uid, nobody, `${file} is the service's`)
    const listed = await cli(['user', 'list'], '', cliEnvOf({ STORAGE_DIR: dir }))
    assert.match(listed.stdout, /fred\s+uploader/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
