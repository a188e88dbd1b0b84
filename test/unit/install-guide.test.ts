// INSTALL.txt works when followed line by line: its env file is read the way systemd reads an
// EnvironmentFile and loads without error, its units run what `npm start` runs with the same
// flags and enough open files, and (test/e2e/install-*.test.ts) its nginx and firewall examples
// work for real.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { queuedConnectionsWarning } from '../../src/cluster/webWorkers.ts'
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.ts'
import { NODE_FLAGS, RUNTIME_ENV } from '../../src/runtimeFlags.ts'
import { guideFiles, readEnvironmentFile, unitSection } from '../helpers/installGuide.ts'

const files = guideFiles()
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>
  dependencies: Record<string, string>
}

test('the guide names every file it asks for', () => {
  for (const f of [
    '/etc/seedcast.env',
    '/etc/nftables.conf',
    '/etc/nginx/sites-available/seedcast',
    '/etc/systemd/system/seedcast.service',
    '/etc/systemd/system/seedcast-seeder.service',
    '/etc/sysctl.d/60-seedcast.conf',
  ]) {
    assert.ok(files.has(f), `INSTALL.txt has no ${f} block (found: ${[...files.keys()].join(', ')})`)
  }
})

test('the env file, read as systemd reads it, loads without error and means what its comments say', () => {
  const env = readEnvironmentFile(files.get('/etc/seedcast.env')!)
  for (const [key, value] of Object.entries(env)) {
    assert.ok(CONFIG_VARIABLES.includes(key), `${key} is not a setting Seedcast reads`)
    assert.doesNotMatch(value, /#|\s{2}/, `${key}=${JSON.stringify(value)}: a comment after a value becomes part of it`)
  }
  const config = loadConfig(env)
  assert.equal(config.publicUrl, 'https://video.example.org')
  assert.equal(config.adminPassword, 'choose-a-long-one')
  assert.equal(config.host, '127.0.0.1')
  assert.equal(config.seederEnabled, true)
  assert.equal(config.trustProxy, true)
  assert.equal(config.maxUploadBytes, 20 * 1024 ** 3)
})

test("the sysctl file sets what the web workers' start-up check reads, to what it wants", () => {
  const lines = files
    .get('/etc/sysctl.d/60-seedcast.conf')!
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
  assert.deepEqual(lines, ['net.ipv4.tcp_migrate_req = 1'])
  // The key is this kernel's (a misspelt one is only a warning from sysctl --system).
  assert.ok(existsSync('/proc/sys/net/ipv4/tcp_migrate_req'))
  assert.equal(queuedConnectionsWarning('1'), null)
})

test('a comment after a value is caught by the reader (the mistake the old guide made)', () => {
  const env = readEnvironmentFile(
    'PUBLIC_URL=https://video.example.org # written into torrents\n# a comment\n; another\nA="quoted # kept"\n',
  )
  assert.equal(env.PUBLIC_URL, 'https://video.example.org # written into torrents')
  assert.equal(env.A, 'quoted # kept')
  assert.throws(() => loadConfig({ PUBLIC_URL: env.PUBLIC_URL }), /PUBLIC_URL/)
})

test('the units run what npm start and npm run seeder run, with the same node flags and LimitNOFILE', () => {
  const expect = [
    ['/etc/systemd/system/seedcast.service', 'dist/src/main.js', 'start'],
    ['/etc/systemd/system/seedcast-seeder.service', 'dist/bt_server/main.js', 'seeder'],
  ] as const
  for (const [file, entry, script] of expect) {
    const service = unitSection(files.get(file)!, 'Service')
    const argv = service.get('ExecStart')!.split(/\s+/)
    assert.equal(argv[0], '/opt/seedcast/node_modules/.bin/node', `${file}: the project's Node 24`)
    assert.deepEqual(argv.slice(1), [...NODE_FLAGS, entry], `${file} ExecStart`)
    const env = Object.entries(RUNTIME_ENV).map(([k, v]) => `${k}=${v}`)
    assert.deepEqual(
      pkg.scripts[script]!.split(/\s+/),
      [...env, 'node', ...NODE_FLAGS, entry],
      `npm run ${script} agrees`,
    )
    assert.equal(service.get('Environment'), env.join(' '), `${file}: the runtime environment`)
    assert.equal(service.get('EnvironmentFile'), '/etc/seedcast.env')
    assert.equal(service.get('WorkingDirectory'), '/opt/seedcast')
    assert.ok(Number(service.get('LimitNOFILE')) >= 65536, `${file}: LimitNOFILE`)
    assert.equal(service.get('User'), 'seedcast')
    // The units run the build; npm runs it before it starts either (prestart, preseeder).
    assert.equal(pkg.scripts[`pre${script}`], 'npm run build --silent', `npm run ${script} builds first`)
    assert.ok(pkg.dependencies.typescript, 'the build works after npm ci --omit=dev')
    assert.ok((service.get('ReadWritePaths') ?? '').includes('/var/lib/seedcast'))
  }
})

test('the README documents every setting and every refusal counter', async () => {
  const { readdir } = await import('node:fs/promises')
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  for (const v of CONFIG_VARIABLES) assert.ok(readme.includes(`\`${v}\``), `README does not document ${v}`)
  // Every name the code counts a refusal under (refusals.add('…') in the web app, the seeder's
  // counters, the tracker's reject('…')) is in the README's limits section.
  const names = new Set<string>()
  for (const dir of ['src', 'bt_server']) {
    for (const entry of await readdir(new URL(`../../${dir}/`, import.meta.url), { recursive: true })) {
      if (!entry.endsWith('.ts') || entry.includes('generated')) continue
      const code = readFileSync(new URL(`../../${dir}/${entry}`, import.meta.url), 'utf8')
      // The bounds' names are literals with these prefixes (some are passed through a table first).
      for (const m of code.matchAll(/'((?:web|auth|seeder|ws|peers|completions?|rate)_[a-z0-9_]+)'/g)) names.add(m[1]!)
      // The swarm store's reasons become peers_<reason>.
      for (const m of code.matchAll(/notStored: ('[a-z_]+'(?: \| '[a-z_]+')*)/g))
        for (const r of m[1]!.matchAll(/'([a-z_]+)'/g)) names.add(`peers_${r[1]}`)
    }
  }
  assert.ok(names.size >= 10, `found the counters (${[...names].join(', ')})`)
  const limits = readme.slice(readme.indexOf('## Limits and hardening'), readme.indexOf('## Where things are'))
  const missing = [...names].filter((n) => !limits.includes(`\`${n}\``))
  assert.deepEqual(missing, [], 'counters the README does not name')
})
