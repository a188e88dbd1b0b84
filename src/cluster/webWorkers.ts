// WEB_WORKERS=N: this process (the cluster's primary) owns the tracker's swarms, the UDP and
// WebSocket tracker, the seeder and the background jobs; N forked workers share the web port
// (the kernel's accept queue, handed out round-robin by Node's cluster) and ask the owner for
// every announce and scrape (src/cluster/trackerReplica.ts). A worker that dies is forked again.
import cluster, { type Worker } from 'node:cluster'
import type { Config } from '../config.ts'
import { startOwner } from '../server.ts'

/** A worker that keeps dying is forked again no faster than this. */
const REFORK_DELAY_MS = 1000

export interface RunningCluster {
  port: number
  udpPort: number | null
  close(): Promise<void>
}

export async function startWebWorkers(config: Config, log: (line: string) => void): Promise<RunningCluster> {
  const running = await startOwner(config, log)
  const { owner } = running
  // The kernel hands connections to the workers (they accept on the shared socket), not the
  // primary one by one: with a new connection per announce, round-robin made the primary the
  // bottleneck (bench:load: 2 processes answered 0.44× the announces of one; 0.94× this way), and
  // a connection queued for a worker that dies goes to the other instead of being lost.
  cluster.schedulingPolicy = cluster.SCHED_NONE
  cluster.setupPrimary({ serialization: 'advanced' })
  let stopping = false
  const fork = (index: number): Promise<{ worker: Worker; port: number }> => {
    const worker = cluster.fork({ SEEDCAST_WORKER: String(index) })
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
      worker.once('listening', (address) => resolve({ worker, port: address.port }))
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
