// Runs bt_server/main.ts as a child process of the web app and keeps it running: restart with
// back-off when it dies, a rescan notice on every publish and delete, its state for /healthz.
// The web app never waits on it: with the seeder down, pages, uploads and the tracker carry on.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { NODE_FLAGS } from '../runtimeFlags.ts'
import type { PushedPeer } from './peerPush.ts'
import { MODULE_EXT } from '../projectPaths.ts'
import { RUNTIME_ENV } from '../runtimeFlags.ts'

export type SeederState = 'starting' | 'running' | 'restarting' | 'stopped'

export interface SeederHealth {
  state: SeederState
  pid: number | null
  restarts: number
  seeding: number | null
  port: number | null
  problems: { fileName: string; reason: string }[]
}

const ENTRY = fileURLToPath(new URL(`../../bt_server/main${MODULE_EXT}`, import.meta.url))
// A 4 MB young generation (V8's default grows to tens of MB under a burst of rescans and stays
// there): with 1,000 torrents the lean seeder peaks at ~175-190 MB instead of ~280 MB, webtorrent
// at ~210 MB instead of ~400 MB (bench:seeder).
export const SEEDER_EXEC_ARGV = NODE_FLAGS
const MIN_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000
const HEALTHY_AFTER_MS = 60_000

export class SeederSupervisor {
  private child: ChildProcess | null = null
  private state: SeederState = 'stopped'
  private restarts = 0
  private backoffMs = MIN_BACKOFF_MS
  private startedAt = 0
  private restartTimer: NodeJS.Timeout | null = null
  private stopping = false
  private last: {
    seeding: number
    port: number
    problems: SeederHealth['problems']
    refusals?: Record<string, number>
  } | null = null
  /** Refusals counted by seeder processes that have exited: /metrics counters must not go back. */
  private readonly carried = new Map<string, number>()
  private readonly env: NodeJS.ProcessEnv
  private readonly log: (line: string) => void

  constructor(env: NodeJS.ProcessEnv, log: (line: string) => void) {
    this.env = env
    this.log = log
  }

  start(): void {
    this.stopping = false
    this.spawn()
  }

  private spawn(): void {
    this.state = 'starting'
    this.startedAt = Date.now()
    const child = fork(ENTRY, [], {
      env: { ...RUNTIME_ENV, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execPath: process.execPath,
      execArgv: [...process.execArgv, ...SEEDER_EXEC_ARGV],
    })
    this.child = child
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.log(line)
    }
    child.stdout?.on('data', relay)
    child.stderr?.on('data', relay)
    child.on(
      'message',
      (msg: {
        type?: string
        seeding?: number
        port?: number
        problems?: SeederHealth['problems']
        refusals?: Record<string, number>
      }) => {
        if (msg?.type !== 'status') return
        this.state = 'running'
        this.last = {
          seeding: msg.seeding ?? 0,
          port: msg.port ?? 0,
          problems: msg.problems ?? [],
          refusals: msg.refusals ?? {},
        }
      },
    )
    child.on('error', (err) => this.log(`[supervisor] seeder process error: ${err.message}`))
    child.on('exit', (code, signal) => {
      if (this.child !== child) return
      this.child = null
      for (const [bound, n] of Object.entries(this.last?.refusals ?? {}))
        this.carried.set(bound, (this.carried.get(bound) ?? 0) + n)
      this.last = null
      if (this.stopping) {
        this.state = 'stopped'
        return
      }
      // A seeder that ran a good while before dying starts over from the shortest back-off.
      if (Date.now() - this.startedAt > HEALTHY_AFTER_MS) this.backoffMs = MIN_BACKOFF_MS
      this.state = 'restarting'
      this.restarts++
      this.log(`[supervisor] seeder exited (${signal ?? `code ${code}`}); restarting in ${this.backoffMs} ms`)
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null
        this.spawn()
      }, this.backoffMs)
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS)
    })
  }

  /** Something was published or deleted: rescan now rather than at the next interval. */
  notify(): void {
    if (this.child?.connected) this.child.send({ type: 'rescan' }, () => {})
  }

  /** Leechers that just announced to the site's tracker, for the seeder to dial (peerPush.ts). */
  pushPeers(peers: PushedPeer[]): void {
    if (this.child?.connected) this.child.send({ type: 'peers', peers }, () => {})
  }

  /** The seeder's own refusal counters, as it last reported them, plus earlier processes' (bound -> count). */
  refusalCounts(): Record<string, number> {
    const all = new Map(this.carried)
    for (const [bound, n] of Object.entries(this.last?.refusals ?? {})) all.set(bound, (all.get(bound) ?? 0) + n)
    return Object.fromEntries(all)
  }

  health(): SeederHealth {
    return {
      state: this.state,
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      seeding: this.last?.seeding ?? null,
      port: this.last?.port ?? null,
      problems: this.last?.problems ?? [],
    }
  }

  async stop(): Promise<void> {
    this.stopping = true
    if (this.restartTimer) clearTimeout(this.restartTimer)
    const child = this.child
    if (!child) {
      this.state = 'stopped'
      return
    }
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
      child.once('exit', () => {
        clearTimeout(kill)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }
}
