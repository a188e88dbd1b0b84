// HTTP requests from a chosen loopback address (127.0.0.0/8 is all local on Linux), so a test can
// be several clients at once: an attacker on one address, real users on others.
import http from 'node:http'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface AddressedResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  ms: number
}

export function requestFrom(
  localAddress: string,
  url: string,
  opts: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<AddressedResponse> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, localAddress, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ms: performance.now() - started,
          }),
        )
        res.on('error', reject)
      },
    )
    req.setTimeout(opts.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`no answer from ${url} within ${opts.timeoutMs ?? 10_000} ms`)),
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** Raises this process's soft open-file limit (an attack test holds a thousand sockets itself). */
export function raiseOpenFileLimit(wanted: number): void {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))!
  const [soft, hard] = line
    .split(/\s+/)
    .slice(3, 5)
    .map((v) => (v === 'unlimited' ? Infinity : Number(v)))
  if (soft! >= wanted) return
  const target = Math.min(wanted, hard!)
  execFileSync('prlimit', [
    '--pid',
    String(process.pid),
    `--nofile=${target}:${hard === Infinity ? 'unlimited' : hard}`,
  ])
}
