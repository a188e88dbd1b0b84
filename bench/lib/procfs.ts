// CPU and memory figures of processes and cores, read from /proc (Linux).
import { readdirSync, readFileSync } from 'node:fs'
import { run } from './processes.ts'

export interface Memory {
  rssKB: number
  hwmKB: number
}

/** VmRSS and VmHWM of a process; null when it is gone. */
export function readMemory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)
    if (!rss || !hwm) return null
    return { rssKB: Number(rss[1]), hwmKB: Number(hwm[1]) }
  } catch {
    return null
  }
}

/** Like readMemory, for a process that must still be there. */
export function memoryOf(pid: number): Memory {
  const m = readMemory(pid)
  if (!m) throw new Error(`cannot read VmRSS/VmHWM in /proc/${pid}/status`)
  return m
}

export const kbToBytes = (kb: number): number => kb * 1024

/**
 * Clock ticks from /proc/PID/stat: `own` is utime + stime (all its threads), `reaped` cutime +
 * cstime (the children it waited for); null when gone.
 */
function statTicks(pid: number): { own: number; reaped: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // f[0] is field 3 (state)
    return { own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) } // fields 14-17
  } catch {
    return null
  }
}

/** utime + stime of a process (all its threads), in clock ticks; null when gone. */
export const cpuTicks = (pid: number): number | null => statTicks(pid)?.own ?? null

/**
 * CPU ticks of `pid` and every process under it (a cluster's workers, PostgreSQL's backends), as
 * of now. A child that ended meanwhile counts through its parent's reaped ticks: without them a
 * window in which a PostgreSQL backend ended (its connection closed) came out negative.
 */
function treeCpuTicks(pid: number): number | null {
  const ticks = statTicks(pid)
  if (!ticks) return null
  let children: string[] = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean)
  } catch {
    // Gone, or no children file: its own ticks only.
  }
  return children.reduce((sum, c) => sum + (treeCpuTicks(Number(c)) ?? 0), ticks.own + ticks.reaped)
}

let ticksPerSecond: number | undefined
/** USER_HZ (getconf CLK_TCK), read once. */
export async function clockTicks(): Promise<number> {
  ticksPerSecond ??= Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100
  return ticksPerSecond
}

/** A process and its descendants (the web app forks the seeder, bt_server/main.ts). */
export function processTree(pid: number): number[] {
  const all = [pid]
  for (let i = 0; i < all.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${all[i]}/task`)) {
        const text = readFileSync(`/proc/${all[i]}/task/${task}/children`, 'utf8').trim()
        if (text) all.push(...text.split(/\s+/).map(Number))
      }
    } catch {
      /* gone */
    }
  }
  return all
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Whether a process's environment holds `entry` (e.g. STORAGE_DIR=...): guards against pid reuse. */
export function envHas(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry)
  } catch {
    return false
  }
}

/** The kernel's count of UDP datagrams dropped because a socket's receive buffer was full. */
export function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp: '))
  if (lines.length < 2) return NaN
  const names = lines[0]!.split(/\s+/)
  return Number(lines[1]!.split(/\s+/)[names.indexOf('RcvbufErrors')])
}

/** Busy ticks (all but idle and iowait) of each CPU, from /proc/stat. */
function coreBusy(): Map<string, number> {
  const busy = new Map<string, number>()
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (!m) continue
    const f = m[2]!.trim().split(/\s+/).map(Number)
    busy.set(m[1]!, f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) // user nice system irq softirq steal
  }
  return busy
}

export interface CpuUse {
  server: number | null
  serverCore: number | null
  loadCore: number | null
}

/** CPU use over a window: a server process, and how busy the server's and the load's cores were. */
export class CpuWindow {
  private readonly pid: number
  private readonly cores: { server: string; load: string; ticks: number }
  private t0: number | null = null
  private c0 = new Map<string, number>()
  private w0 = 0
  constructor(pid: number, cores: { server: string; load: string; ticks: number }) {
    this.pid = pid
    this.cores = cores
  }
  start(): void {
    this.t0 = treeCpuTicks(this.pid)
    this.c0 = coreBusy()
    this.w0 = performance.now()
  }
  /** Percentages of one core: server process, server core busy, load core busy. */
  end(): CpuUse {
    const secs = (performance.now() - this.w0) / 1000
    const t1 = treeCpuTicks(this.pid)
    const c1 = coreBusy()
    const tck = this.cores.ticks
    const core = (id: string) => {
      const a = this.c0.get(id)
      const b = c1.get(id)
      return a === undefined || b === undefined ? null : ((b - a) / tck / secs) * 100
    }
    return {
      server: this.t0 === null || t1 === null || secs <= 0 ? null : ((t1 - this.t0) / tck / secs) * 100,
      serverCore: /^\d+$/.test(this.cores.server) ? core(this.cores.server) : null,
      loadCore: /^\d+$/.test(this.cores.load) ? core(this.cores.load) : null,
    }
  }
}
