// Runs the real CLI as `npm run cli` does (`node <flags> src/cli/main.ts`, read from package.json),
// with this Node, against a test server's storage.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { databaseUrlEnv } from './database.ts'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const script = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).scripts.cli as string
const [nodeWord, ...args] = script.split(' ')
assert.equal(nodeWord, 'node', `the cli script starts with node: ${script}`)
/** The CLI's node arguments (flags and script). */
export const CLI = args

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** The environment the CLI gets: the test runner's (without its own marker) and `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env
  return { ...inherited, ...(extra.STORAGE_DIR ? databaseUrlEnv(extra.STORAGE_DIR) : {}), ...extra }
}

/** The CLI with `input` on a pipe (stdin closed after it). */
export function runCli(cliArgs: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...cliArgs], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input)
  })
}
