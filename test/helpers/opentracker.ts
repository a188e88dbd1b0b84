// Debian's opentracker as a second, independent tracker for the tests (loopback only). Its build
// is whitelist-only: the infohashes it may track are written before it starts. As root it chroots
// to its folder and reads the whitelist from there, a moment after it starts listening.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { bdecode, binParam } from './http.ts'
import { freePort, freePortUdp } from './server.ts'

export interface Opentracker {
  announceUrl: string
  /** Seeders, leechers and completed downloads of one infohash, as opentracker's scrape says. */
  scrape(infoHash: string): Promise<{ complete: number; incomplete: number; downloaded: number }>
  stop(): Promise<void>
}

export async function startOpentracker(infoHashes: string[]): Promise<Opentracker> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-opentracker-'))
  await writeFile(path.join(dir, 'whitelist.txt'), infoHashes.map((h) => `${h}\n`).join(''))
  await chmod(dir, 0o755)
  await chmod(path.join(dir, 'whitelist.txt'), 0o644)
  const port = await freePort()
  const udpPort = await freePortUdp()
  const child: ChildProcess = spawn(
    'opentracker',
    ['-i', '127.0.0.1', '-p', String(port), '-P', String(udpPort), '-d', dir, '-w', 'whitelist.txt'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const base = `http://127.0.0.1:${port}`
  const scrape = async (infoHash: string) => {
    const res = await fetch(`${base}/scrape?info_hash=${binParam(Buffer.from(infoHash, 'hex'))}`)
    const body = bdecode(new Uint8Array(await res.arrayBuffer()))
    const files = body.files as Map<string, unknown> | Record<string, unknown> | undefined
    const entry =
      files &&
      ((files instanceof Map ? [...files.values()][0] : Object.values(files)[0]) as
        | { complete: number; incomplete: number; downloaded: number }
        | undefined)
    return entry ?? { complete: 0, incomplete: 0, downloaded: 0 }
  }
  // Ready once it answers an announce for a whitelisted hash (the whitelist loads in the background).
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`opentracker exited (${child.exitCode}): ${output}`)
    const ok = await fetch(
      `${base}/announce?info_hash=${binParam(Buffer.from(infoHashes[0]!, 'hex'))}&peer_id=-PROBE0-xxxxxxxxxxxx&port=9&uploaded=0&downloaded=0&left=0&event=stopped&compact=1`,
    ).then(
      async (r) => !bdecode(new Uint8Array(await r.arrayBuffer()))['failure reason'],
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) throw new Error(`opentracker did not take the whitelist within 10 s: ${output}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    announceUrl: `${base}/announce`,
    scrape,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGKILL')
        await new Promise((r) => child.once('exit', r))
      }
      await rm(dir, { recursive: true, force: true })
    },
  }
}
