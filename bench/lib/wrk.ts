// One run of wrk with a Lua script from bench/programs/ whose done() prints its counts as one
// `BENCH_JSON {…}` line, with the CPU the server (and each counted core) used around it. The
// tracker and load benches shape their rows from what it returns.
import { type CpuUse, CpuWindow } from './procfs.ts'
import { collect, programPath, spawnChild } from './processes.ts'

/** What the bench Lua scripts report (announce.lua adds `ok`, the replies it checked). */
export interface WrkJson {
  requests: number
  duration_us: number
  connect: number
  read: number
  write: number
  status: number
  timeout: number
  p50_us: number
  p99_us: number
  max_us: number
  ok?: number
  failures: number
  other: number
  cpu_ticks: number
}

export interface WrkInvocation {
  script: string
  url: string
  /** After `--`: what the script reads (a query base, a list file, a seed). */
  scriptArgs: string[]
  threads: number
  connections: number
  seconds: number
  timeoutSeconds: number
  /** taskset CPU list for wrk; undefined: unpinned. */
  cpu?: string
  env?: NodeJS.ProcessEnv
  serverPid: number
  cores: { server: string; load: string; ticks: number }
  /** Another process (and its children) whose CPU counts too: a database server. */
  besidePid?: number
}

export async function runWrkScript(
  w: WrkInvocation,
): Promise<WrkJson & { cpu: CpuUse; besideCpu: number | null; wallMs: number }> {
  const window = new CpuWindow(w.serverPid, w.cores)
  const beside = w.besidePid === undefined ? null : new CpuWindow(w.besidePid, w.cores)
  window.start()
  beside?.start()
  const w0 = performance.now()
  const child = spawnChild(
    'wrk',
    [
      `-t${w.threads}`,
      `-c${w.connections}`,
      `-d${w.seconds}s`,
      '--timeout',
      `${w.timeoutSeconds}s`,
      '-s',
      programPath(w.script),
      w.url,
      '--',
      ...w.scriptArgs,
    ],
    { cpu: w.cpu, ...(w.env ? { env: w.env } : {}) },
  )
  const out = await collect(child)
  const cpu = window.end()
  const besideCpu = beside?.end().server ?? null
  const wallMs = performance.now() - w0
  const m = /BENCH_JSON (\{.*\})/.exec(out.stdout)
  if (out.code !== 0 || !m)
    throw new Error(`wrk failed (${out.signal ?? `exit ${out.code}`}): ${out.stdout}\n${out.stderr}`)
  return { ...(JSON.parse(m[1]!) as WrkJson), cpu, besideCpu, wallMs }
}
