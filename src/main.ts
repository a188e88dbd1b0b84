// `npm start`: read the configuration, start the site, stop cleanly on a signal.
import { ConfigError, loadConfig } from './config.ts'
import cluster from 'node:cluster'
import { startServer, startWebWorker } from './server.ts'
import { startWebWorkers } from './cluster/webWorkers.ts'
import type { OwnerChannel } from './cluster/trackerReplica.ts'
import type { WorkerListening } from './cluster/messages.ts'

async function main() {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`seedcast: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
  if (cluster.isWorker) return worker(config)
  const running = config.webWorkers > 1 ? await startWebWorkers(config, console.log) : await startServer(config)
  const workers = config.webWorkers > 1 ? ` with ${config.webWorkers} web workers` : ''
  console.log(
    `Seedcast ${config.version} listening on ${config.host}:${running.port}${workers}${running.udpPort ? ` (UDP tracker on ${running.udpPort})` : ''}; public URL ${config.publicUrl}; storage ${config.storageDir}`,
  )
  const stop = async (signal: string) => {
    console.log(`Received ${signal}, shutting down`)
    await running.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
}

/** A web worker of WEB_WORKERS: it stops on a signal, or when the owner process is gone. */
async function worker(config: ReturnType<typeof loadConfig>) {
  const channel: OwnerChannel = {
    send: (message, handle) => process.send?.(message, handle),
    on: (event, fn) => process.on(event, fn),
    off: (event, fn) => process.off(event, fn),
  }
  const running = await startWebWorker(config, channel, (line) =>
    console.log(`[worker ${process.env.SEEDCAST_WORKER}] ${line}`),
  )
  process.send?.({ t: 'listening', port: running.port } satisfies WorkerListening)
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await running.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
  process.once('disconnect', () => void stop())
}

main().catch((err) => {
  console.error(`seedcast: failed to start: ${(err as Error).message}`)
  process.exit(1)
})
