// The helper programs the benchmarks run (bench/programs/): each parses in its own language, and
// does its job in a quick run where that is cheap.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { programPath } from '../../bench/lib/processes.ts'

const exec = promisify(execFile)
const PYTHON = '/usr/bin/python3'

test('libtorrent_seed.py parses, and uses only names this libtorrent has', async () => {
  const file = programPath('libtorrent_seed.py')
  // ast.parse, not py_compile: nothing is written next to the script.
  await exec(PYTHON, ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])', file])
  // python3-libtorrent is installed by scripts/test-all.sh; without it this fails, not skips.
  const { stdout } = await exec(PYTHON, [
    '-c',
    [
      'import libtorrent as lt',
      'for n in ("session", "add_torrent_params", "torrent_info", "__version__"): getattr(lt, n)',
      'lt.torrent_flags.seed_mode; lt.alert_category.error',
      'print("ok")',
    ].join('\n'),
  ])
  assert.equal(stdout.trim(), 'ok')
})

test("announce.lua parses in LuaJIT (wrk's Lua) and builds announces with a fresh peer_id, port and left", async () => {
  const file = programPath('announce.lua')
  await exec('luajit', ['-bl', file]) // compiles only: a syntax error fails here
  // The wrk API the script touches, stubbed: init, request and response as wrk calls them.
  const harness = `
    wrk = { headers = {}, format = function(method, path) return path end }
    dofile(${JSON.stringify(file)})
    init({ "/announce?info_hash=X", "7" })
    local a, b = request(), request()
    response(200, {}, "d8:completei0e")
    response(200, {}, "d14:failure reason4:nopee")
    response(200, {}, "<html>")
    print(wrk.headers["Connection"]); print(a); print(b); print(ok, failures, other)`
  const { stdout } = await exec('luajit', ['-e', harness])
  const [connection, a, b, counts] = stdout.trim().split('\n')
  assert.equal(connection, 'close')
  const announce = /^\/announce\?info_hash=X&peer_id=((?:%[0-9A-F]{2}){20})&port=(\d+)&left=(0|1048576)$/
  const ma = announce.exec(a!)
  const mb = announce.exec(b!)
  assert.ok(ma && mb, `${a}\n${b}`)
  assert.notEqual(ma[1], mb[1])
  for (const m of [ma, mb]) assert.ok(Number(m[2]) >= 1024 && Number(m[2]) <= 65535)
  assert.equal(counts, '1\t1\t1')
})

test('bittorrent-tracker-server.mjs parses, listens and reports its port, stops on SIGTERM', async () => {
  const file = programPath('bittorrent-tracker-server.mjs')
  await exec(process.execPath, ['--check', file])
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, BT_MODE: 'udp' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        const m = /\{"port":(\d+)\}/.exec(out)
        if (m) resolve(Number(m[1]))
      })
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
    })
    assert.ok(port > 0 && port < 65536)
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
  } finally {
    child.kill('SIGKILL')
  }
})
