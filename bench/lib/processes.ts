// Child processes of the benchmarks: spawn (tracked for clean-up, optionally pinned to a CPU),
// run to completion, stop, and poll until something holds.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { runBench as runWithCleanup, trackChild } from './cleanup.ts'

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..')
export const now = (): number => performance.now()
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
/** A sleep that does not keep the process alive (a deadline raced against something else). */
export const unrefSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref())

export interface SpawnOptions {
  /** Pin to this CPU list with taskset (exec'd: same pid). */
  cpu?: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** 'pipe' to talk to the child on stdin; default ignored. */
  stdin?: 'pipe' | 'ignore'
  /** Discard stdout instead of piping it. */
  stdoutTo?: 'devnull'
}

/** Spawns a child that clean-up will stop; stdout and stderr are pipes. */
export function spawnChild(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const [file, argv] = opts.cpu === undefined ? [cmd, args] : ['taskset', ['-c', opts.cpu, cmd, ...args]]
  return trackChild(
    spawn(file, argv, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: [opts.stdin ?? 'ignore', opts.stdoutTo === 'devnull' ? 'ignore' : 'pipe', 'pipe'],
    }),
  )
}

export interface Collected {
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
}

/** A child's output and exit; `onLine` sees each stdout line as it comes. */
export function collect(child: ChildProcess, onLine?: (line: string) => void): Promise<Collected> {
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    let pending = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      if (!onLine) return
      pending += d
      let nl
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl))
        pending = pending.slice(nl + 1)
      }
    })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-8000)
    })
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** Runs a command to completion; resolves with its wall time and stdout, rejects unless exit 0. */
export async function run(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ ms: number; stdout: string }> {
  const start = now()
  const child = spawnChild(cmd, args, opts)
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined
  try {
    const r = await collect(child).catch((err: Error) => {
      throw new Error(`${cmd}: ${err.message}`)
    })
    if (r.code !== 0)
      throw new Error(
        `${cmd} ${args.join(' ')} failed (${r.signal ?? `exit ${r.code}`}): ${(r.stderr || r.stdout).trim().slice(-2000)}`,
      )
    return { ms: now() - start, stdout: r.stdout }
  } finally {
    clearTimeout(timer)
  }
}

export async function haveCommand(cmd: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${cmd}`]).then(
    () => true,
    () => false,
  )
}

/** Throws naming the first missing command (and the Debian packages to install, if given). */
export async function requireCommands(cmds: string[], hint = ''): Promise<void> {
  for (const cmd of cmds) {
    if (!(await haveCommand(cmd))) throw new Error(`${cmd} not found on PATH${hint ? ` (${hint})` : ''}`)
  }
}

export const isRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null

/** SIGTERM (or `signal`), then SIGKILL after 8 s. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isRunning(child)) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill(signal)
  const timedOut = await Promise.race([exited.then(() => false), unrefSleep(8000).then(() => true)])
  if (timedOut) {
    child.kill('SIGKILL')
    await exited
  }
}

/**
 * Calls `probe` every `everyMs` until it gives a value other than undefined; throws after
 * `timeoutMs` (a probe that throws ends the wait with its error).
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
  everyMs = 100,
): Promise<T> {
  const deadline = now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (now() > deadline) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(2)} s waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** The last `max` lines a child printed (stdout and stderr), kept in `lines` as they come. */
export function keepLines(child: ChildProcess, max = 200, lines: string[] = []): string[] {
  const keep = (d: string) => {
    for (const line of d.split('\n')) if (line) lines.push(line)
    lines.splice(0, Math.max(0, lines.length - max))
  }
  child.stdout?.setEncoding('utf8').on('data', keep)
  child.stderr?.setEncoding('utf8').on('data', keep)
  return lines
}

/** Runs a benchmark's main() (its result is the exit code) with clean-up on every way out. */
export const runBench = (main: () => Promise<number>): Promise<void> => runWithCleanup(main, (c) => stopChild(c))

/** Debian's Python, the one python3-libtorrent is installed for. */
export const SYSTEM_PYTHON = '/usr/bin/python3'

/** The version of libtorrent under SYSTEM_PYTHON; throws saying what to install when it is missing. */
export async function libtorrentVersion(): Promise<string> {
  const { stdout } = await run(SYSTEM_PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)']).catch(
    (err: Error) => {
      throw new Error(
        `${SYSTEM_PYTHON} cannot import libtorrent (Debian: apt-get install python3-libtorrent): ${err.message}`,
      )
    },
  )
  return stdout.trim()
}

/** A helper program in bench/programs/ (Python, Lua, JS), run by path. */
export const programPath = (name: string): string => path.join(REPO_ROOT, 'bench', 'programs', name)
