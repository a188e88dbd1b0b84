// What the BitTorrent client helpers share: a client spawned with its output kept and no proxy
// from the environment (it would stand between the client and the loopback tracker), stopped
// with SIGTERM and then SIGKILL, and a wait for its finished file to match the upload exactly.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'

export interface ClientProcess {
  output(): string
  exited(): boolean
  stop(): Promise<void>
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

export function spawnClient(cmd: string, args: string[], env: Record<string, string> = {}): ClientProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)))
  const child = spawn(cmd, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (d: Buffer) => {
    output = (output + d.toString().replace(/\r/g, '\n')).slice(-20_000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited = false
  const exit = new Promise<void>((resolve) =>
    child.once('close', () => {
      exited = true
      resolve()
    }),
  )
  child.once('error', (err) => keep(Buffer.from(`\nspawn error: ${err.message}`)))
  return {
    output: () => output,
    exited: () => exited,
    async stop() {
      if (exited) return
      child.kill('SIGTERM')
      const force = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exit
      clearTimeout(force)
    },
  }
}

/**
 * Resolves once `file` is byte-identical to `expected`; throws if the client quits or the time
 * runs out, with `describe()` (its state, for the failure message).
 */
export async function waitForIdenticalFile(
  file: string,
  expected: Buffer,
  timeoutMs: number,
  client: ClientProcess,
  describe: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const want = sha256(expected)
  for (;;) {
    if (client.exited()) throw new Error(`the client quit before finishing:\n${client.output().slice(-3000)}`)
    const size = await stat(file).then(
      (s) => s.size,
      () => -1,
    )
    if (size === expected.length && sha256(await readFile(file)) === want) return
    if (Date.now() > deadline)
      throw new Error(`not finished within ${timeoutMs} ms (file: ${size} bytes): ${await describe()}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/**
 * Runs `wait` while `sample` (a client's peer list, as key and peer) is read every 100 ms: a
 * connection is listed only while it lasts, so it is sampled all along, not once at the end.
 * Returns every peer seen, the last sample of each.
 */
export async function samplePeersWhile<P>(
  sample: () => Promise<[string, P][]>,
  wait: (seen: () => P[]) => Promise<void>,
): Promise<P[]> {
  const seen = new Map<string, P>()
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      for (const [key, p] of await sample().catch(() => [])) seen.set(key, p)
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  try {
    await wait(() => [...seen.values()])
  } finally {
    sampling = false
    await sampler
  }
  return [...seen.values()]
}
