// A password found right is remembered for a few minutes (src/auth/verifiedPasswords.ts), so an
// API client using HTTP Basic is not hashed again with scrypt on every request, and is served even
// while wrong passwords hold every hashing slot. What is remembered never outlives the account's
// state: a changed password, a disabled account, a new role and a removed user take effect at once.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { AppError } from '../../src/errors.ts'
import { addUser, basic, type TestUser } from '../helpers/accounts.ts'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'

let server: TestServer
let user: TestUser

before(async () => {
  // One password hashed at a time and none waiting: a second uncached check is refused with 503.
  server = await startTestServer({ AUTH_MAX_CONCURRENT_HASHES: '1', AUTH_HASH_QUEUE: '0', AUTH_MAX_FAILURES: '0' })
  user = await addUser(server, 'remembered', 'uploader')
})
after(() => server?.stop())

const auth = () => server.services.auth
const code = (err: unknown) => (err instanceof AppError ? err.code : String(err))

test('a password found right skips scrypt and its gate for a while; one not yet proven waits its turn', async () => {
  assert.ok(await auth().authenticate('client', 'admin', ADMIN_PASSWORD), 'proven once (hashed)')
  // Hold the only slot with a wrong password, and check while it is still hashing; a run where
  // the wrong one finished first proves nothing and is tried again.
  for (let attempt = 1; ; attempt++) {
    let wrongDone = false
    const wrong = auth()
      .authenticate('attacker', 'admin', 'a wrong password')
      .finally(() => {
        wrongDone = true
      })
    const fresh = await auth()
      .authenticate('client', user.name, user.password)
      .then(
        () => 'served',
        (err) => code(err),
      )
    const remembered = await auth().authenticate('client', 'admin', ADMIN_PASSWORD)
    const conclusive = !wrongDone
    assert.equal(await wrong, null, 'the wrong password is refused')
    if (!conclusive) {
      assert.ok(attempt < 10, 'the wrong password never held the slot long enough to check')
      continue
    }
    assert.equal(fresh, 'busy', 'a password not yet proven waits for a slot: 503 with none free')
    assert.equal(remembered?.username, 'admin', 'the remembered one is served while the slot is held')
    break
  }
  // A wrong password is never remembered: it is refused every time.
  for (let i = 0; i < 3; i++) assert.equal(await auth().authenticate('attacker', 'admin', 'a wrong password'), null)
})

test('what is remembered follows the account: a new password, disabling, a new role, removal', async () => {
  const accounts = server.services.accounts
  assert.equal((await auth().authenticate('c', user.name, user.password))?.role, 'uploader')
  assert.equal((await auth().authenticate('c', user.name, user.password))?.role, 'uploader', 'remembered')

  await accounts.updateUser(null, user.id, { role: 'admin' })
  assert.equal((await auth().authenticate('c', user.name, user.password))?.role, 'admin', 'the new role at once')

  await accounts.updateUser(null, user.id, { disabled: true })
  await assert.rejects(auth().authenticate('c', user.name, user.password), (err) => code(err) === 'account_disabled')
  await accounts.updateUser(null, user.id, { disabled: false })
  assert.ok(await auth().authenticate('c', user.name, user.password), 'enabled again')

  await accounts.updateUser(null, user.id, { password: 'a-new-password-4567' })
  assert.equal(await auth().authenticate('c', user.name, user.password), null, 'the old password is refused at once')
  assert.ok(await auth().authenticate('c', user.name, 'a-new-password-4567'))

  // Over HTTP as an API client sees it, then removed: refused although its password was remembered.
  const header = basic(user.name, 'a-new-password-4567')
  assert.equal((await fetch(`${server.url}/api/tokens`, { headers: { authorization: header } })).status, 200)
  assert.equal((await fetch(`${server.url}/api/tokens`, { headers: { authorization: header } })).status, 200)
  const admin = await accounts.findUserByName('admin')
  await accounts.removeUser(admin!.id, user.id)
  assert.equal((await fetch(`${server.url}/api/tokens`, { headers: { authorization: header } })).status, 401)
})
