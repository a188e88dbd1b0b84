// Resumable uploads for tests: the real tus client (tus-js-client, in Node), a proxy that cuts
// the connection after so many upload bytes, media files of a chosen size, and mktorrent's pieces
// (mktorrent takes piece lengths from 32 KiB: files over 2,000 × 16 KiB, about 32 MB).
import { execFile } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { appendFile, mkdtemp, readFile, stat } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import * as tus from 'tus-js-client'
import { makeVideo } from './media.ts'

const run = promisify(execFile)

export interface TusResult {
  url: string
  videoId: string | undefined
}

/** Uploads `file` with tus-js-client; resolves with the upload URL and the Seedcast-Video header. */
export function tusUpload(
  file: string,
  opts: {
    endpoint?: string
    uploadUrl?: string
    headers?: Record<string, string>
    metadata?: Record<string, string>
    chunkSize?: number
    onProgress?: (sent: number, total: number) => void
    onUrl?: (url: string) => void
  },
): Promise<TusResult> {
  return new Promise((resolve, reject) => {
    // Options left out, not undefined: the client's defaults (chunkSize: Infinity) must stay.
    const given = Object.fromEntries(
      Object.entries({ endpoint: opts.endpoint, uploadUrl: opts.uploadUrl, chunkSize: opts.chunkSize }).filter(
        ([, v]) => v !== undefined,
      ),
    )
    const upload: tus.Upload = new tus.Upload(createReadStream(file), {
      ...given,
      headers: opts.headers ?? {},
      metadata: opts.metadata ?? { filename: path.basename(file), title: 'tus upload' },
      retryDelays: null,
      onProgress: opts.onProgress,
      onUploadUrlAvailable: () => opts.onUrl?.(upload.url!),
      onError: reject,
      onSuccess: ({ lastResponse }) =>
        resolve({ url: upload.url!, videoId: lastResponse.getHeader('Seedcast-Video') ?? undefined }),
    })
    upload.start()
  })
}

/** The HTTP status of a tus-js-client error (0 when there was no answer). */
export const tusStatus = (err: unknown): number => (err as tus.DetailedError).originalResponse?.getStatus?.() ?? 0

export interface CuttingProxy {
  port: number
  /** Bytes clients sent through the proxy, in all (request heads included). */
  sent(): number
  /** Cut every connection once `bytes` more have been sent (then pass everything again). */
  cutAfter(bytes: number): void
  close(): Promise<void>
}

/**
 * A TCP proxy in front of `targetPort` that counts what clients send and can cut them off;
 * `bytesPerSecond` slows what clients send (all connections together) to about that rate.
 */
export async function startCuttingProxy(targetPort: number, bytesPerSecond = 0): Promise<CuttingProxy> {
  let sent = 0
  let cutAt = Number.POSITIVE_INFINITY
  let due = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort })
    sockets.add(client).add(upstream)
    let full = false
    let waiting = false
    const resume = () => {
      if (!full && !waiting) client.resume()
    }
    client.on('data', (d: Buffer) => {
      sent += d.length
      if (sent >= cutAt) {
        cutAt = Number.POSITIVE_INFINITY
        for (const s of sockets) s.destroy()
        return
      }
      if (!upstream.write(d)) {
        full = true
        client.pause()
      }
      // No credit for idle time: a pause is not followed by a burst.
      if (bytesPerSecond) due = Math.max(due, Date.now()) + (d.length * 1000) / bytesPerSecond
      const ahead = bytesPerSecond ? due - Date.now() : 0
      if (ahead > 0) {
        waiting = true
        client.pause()
        setTimeout(() => {
          waiting = false
          resume()
        }, ahead)
      }
    })
    upstream.on('drain', () => {
      full = false
      resume()
    })
    upstream.pipe(client)
    const closeBoth = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const s of [client, upstream]) {
      s.on('close', closeBoth)
      s.on('error', closeBoth)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    sent: () => sent,
    cutAfter: (bytes) => {
      cutAt = sent + bytes
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A real MP4 (its container is what the content check reads) padded with random bytes to `size`. */
export async function makeSizedVideo(size: number): Promise<string> {
  const clip = await makeVideo({ seconds: 1 })
  const have = (await stat(clip)).size
  for (let left = size - have; left > 0; left -= 4 * 1024 * 1024)
    await appendFile(clip, randomBytes(Math.min(left, 4 * 1024 * 1024)))
  return clip
}

/** The pieces mktorrent (Debian) computes for `file` with the given piece length. */
export async function mktorrentPieces(file: string, pieceLength: number): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-mktorrent-'))
  const out = path.join(dir, 'm.torrent')
  await run('mktorrent', ['-l', String(Math.log2(pieceLength)), '-a', 'http://x.test/announce', '-o', out, file])
  const decoded = bencode.decode(await readFile(out)) as { info: { pieces: Uint8Array; 'piece length': number } }
  if (decoded.info['piece length'] !== pieceLength) throw new Error('mktorrent used another piece length')
  return Buffer.from(decoded.info.pieces)
}

/** The pieces of a .torrent file. */
export async function torrentPieces(file: string): Promise<{ pieces: Buffer; pieceLength: number }> {
  const decoded = bencode.decode(await readFile(file)) as { info: { pieces: Uint8Array; 'piece length': number } }
  return { pieces: Buffer.from(decoded.info.pieces), pieceLength: decoded.info['piece length'] }
}
