// What production runs: the web app and the seeder compiled into dist/ (npm run build), for the
// benchmarks (Node's type stripper alone costs each process about 25 MB) and the tests of the
// install guide. Built once per process; scripts/test.sh builds before any test starts, so the
// tests' own calls find it up to date and write nothing (an up-to-date build is a no-op).
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
let built = false

/** Builds dist/ once per process (a no-op when it is up to date). */
export function ensureBuilt(): void {
  if (built) return
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' })
  built = true
}

/** `entry` ('src/main.ts', 'bt_server/main.ts') as built into dist/, building first if needed. */
export function builtEntry(entry: string): string {
  ensureBuilt()
  return `dist/${entry.replace(/\.ts$/, '.js')}`
}
