// `npm start`: read the configuration, start the site, stop cleanly on a signal.
import { ConfigError, loadConfig } from './config.ts'
import { startServer } from './server.ts'

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
  const running = await startServer(config)
  console.log(
    `Seedcast ${config.version} listening on ${config.host}:${running.port}${running.udpPort ? ` (UDP tracker on ${running.udpPort})` : ''}; public URL ${config.publicUrl}; storage ${config.storageDir}`,
  )
  const stop = async (signal: string) => {
    console.log(`Received ${signal}, shutting down`)
    await running.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop('SIGINT'))
  process.once('SIGTERM', () => void stop('SIGTERM'))
}

main().catch((err) => {
  console.error(`seedcast: failed to start: ${(err as Error).message}`)
  process.exit(1)
})
