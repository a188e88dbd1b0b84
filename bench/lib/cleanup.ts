// Clean-up shared by every benchmark: the child processes started here, temporary folders and
// other closers, run once at the end of main(), on Ctrl-C / SIGTERM, and (synchronously, as a
// last resort) when the process exits some other way.
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { log } from './log.ts'

const children = new Set<ChildProcess>()
const dirs: string[] = []
const closers: (() => Promise<void>)[] = []
const exitHooks: (() => void)[] = []
let cleanedUp = false

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null

/** Registers a child for clean-up; it leaves the set when it exits. */
export function trackChild(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.once('error', () => children.delete(child))
  return child
}

/** A new temporary folder (under `parent`, default the OS temp dir), removed at the end. */
export async function tempDir(prefix: string, parent = tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(parent, prefix))
  dirs.push(dir)
  return dir
}

/** Something to close at the end (before the children are stopped). */
export function onCleanup(close: () => Promise<void>): void {
  closers.push(close)
}

/** Synchronous work for the last-resort exit hook (e.g. SIGKILL of grandchildren). */
export function onExit(hook: () => void): void {
  exitHooks.push(hook)
}

async function cleanup(stopChild: (c: ChildProcess) => Promise<void>): Promise<void> {
  if (cleanedUp) return
  cleanedUp = true
  for (const close of closers) await close().catch(() => {})
  await Promise.all([...children].map((c) => stopChild(c).catch(() => {})))
  for (const hook of exitHooks) hook()
  for (const dir of dirs) await rm(dir, { recursive: true, force: true }).catch(() => {})
}

/**
 * Runs a benchmark's main() with clean-up on every way out; main's result is the exit code
 * (an exception: 1).
 */
export async function runBench(
  main: () => Promise<number>,
  stopChild: (c: ChildProcess) => Promise<void>,
): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping child processes and removing temporary files`)
      void cleanup(stopChild).finally(() => process.exit(130))
    })
  }
  process.once('exit', () => {
    if (cleanedUp) return
    for (const c of children) if (running(c)) c.kill('SIGKILL')
    for (const hook of exitHooks) hook()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  let code = 1
  try {
    code = await main()
  } catch (err) {
    if (!cleanedUp) console.error(`[bench] failed: ${(err as Error).stack ?? String(err)}`)
    code = 1
  } finally {
    await cleanup(stopChild)
  }
  process.exitCode = code
}
