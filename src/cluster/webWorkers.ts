// WEB_WORKERS=N: this process (the cluster's primary) owns the tracker's swarms, the UDP and
// WebSocket tracker, the seeder and the background jobs; N forked workers share the web port
// (each with sockets of its own in one SO_REUSEPORT group: the kernel spreads new connections
// over them) and ask the owner for every announce and scrape (src/cluster/trackerReplica.ts). A
// worker that dies is forked again.
import cluster, { type Worker } from 'node:cluster'
import { readFile } from 'node:fs/promises'
import type { Config } from '../config.ts'
import { startOwner } from '../server.ts'
import { isWorkerListening } from './messages.ts'
import { claimWebPort } from '../web/webListeners.ts'

/** A worker that keeps dying is forked again no faster than this. */
const REFORK_DELAY_MS = 1000

export interface RunningCluster {
  port: number
  udpPort: number | null
  close(): Promise<void>
}

/**
 * What a socket closing does to the connections queued on it: with net.ipv4.tcp_migrate_req=1 the
 * kernel (5.14+) moves them to another socket of the group, else they are reset. A worker's
 * sockets close when it stops or dies.
 */
export function queuedConnectionsWarning(migrateReq: string | null): string | null {
  if (migrateReq?.trim() === '1') return null
  return 'net.ipv4.tcp_migrate_req is not 1: connections waiting to be accepted by a web worker that stops or dies are reset instead of going to another worker (INSTALL.txt, "Several web workers")'
}

export async function startWebWorkers(config: Config, log: (line: string) => void): Promise<RunningCluster> {
  // The port first, checked as one process's would be: the workers bind it beside each other.
  const port = await claimWebPort(config.port, config.host)
  const running = await startOwner(config, log)
  const { owner } = running
  const warning = queuedConnectionsWarning(
    await readFile('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').catch(() => null),
  )
  if (warning) log(`[start-up check] ${warning}`)
  // The kernel hands connections to the workers' sockets, not the primary one by one: with a new
  // connection per announce, round-robin made the primary the bottleneck (bench:load: 2 processes
  // answered 0.44× the announces of one).
  cluster.schedulingPolicy = cluster.SCHED_NONE
  cluster.setupPrimary({ serialization: 'advanced' })
  let stopping = false
  const fork = (index: number): Promise<{ worker: Worker; port: number }> => {
    const worker = cluster.fork({ SEEDCAST_WORKER: String(index), PORT: String(port) })
    owner.attach(worker)
    worker.on('exit', (code, signal) => {
      owner.detach(worker)
      if (stopping) return
      log(`[workers] web worker ${index} exited (${signal ?? code}); starting another`)
      setTimeout(() => {
        if (!stopping) fork(index).catch((err) => log(`[workers] ${(err as Error).message}`))
      }, REFORK_DELAY_MS).unref()
    })
    return new Promise((resolve, reject) => {
      const listening = (m: unknown) => {
        if (!isWorkerListening(m)) return
        worker.off('message', listening)
        resolve({ worker, port: m.port })
      }
      worker.on('message', listening)
      worker.once('exit', () => reject(new Error(`web worker ${index} stopped before it listened`)))
    })
  }
  let first: { worker: Worker; port: number }[]
  try {
    first = await Promise.all(Array.from({ length: config.webWorkers }, (_, i) => fork(i + 1)))
  } catch (err) {
    stopping = true
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM')
    await running.close()
    throw err
  }
  return {
    port: first[0]!.port,
    udpPort: running.udpPort,
    async close() {
      stopping = true
      // Each worker finishes what it answers and stores its counters, then the owner stops.
      const exits = Object.values(cluster.workers ?? {}).map(
        (w) =>
          new Promise<void>((resolve) => {
            if (!w || w.isDead()) return resolve()
            const force = setTimeout(() => w.process.kill('SIGKILL'), 10_000)
            w.once('exit', () => {
              clearTimeout(force)
              resolve()
            })
            w.process.kill('SIGTERM')
          }),
      )
      await Promise.all(exits)
      await running.close()
    },
  }
}
