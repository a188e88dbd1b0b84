// Counts the body bytes a media response hands to the client's socket, under the file's name
// and how it was sent (web seed or playback), once the response ends: finished, or cut off by
// the client (then only what was written before). A Range answer counts its part, a HEAD or 304
// nothing. Only 200 and 206 answers count, so only real files (and a bounded set of names) do.
// Bytes still in the kernel's socket buffer when a client aborts are counted as sent.
import type { Request, RequestHandler, Response } from 'express'
import type { HttpVia, OffloadTally } from './offloadTally.ts'

type Chunk = string | Uint8Array
const sizeOf = (chunk: unknown, encoding?: unknown): number =>
  typeof chunk === 'string'
    ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
    : chunk instanceof Uint8Array
      ? chunk.byteLength
      : 0

// BitTorrent clients fetching a web seed name themselves; everything else is taken for playback.
const TORRENT_CLIENT =
  /^(aria2|libtorrent|transmission|qbittorrent|deluge|webtorrent|utorrent|bittorrent|rtorrent|biglybt|vuze|azureus|tixati|picotorrent)\//i

/** How a GET of /media/:file was sent: a BitTorrent client's User-Agent means its web seed. */
export const mediaVia = (req: Request): HttpVia =>
  TORRENT_CLIENT.test(req.headers['user-agent'] ?? '') ? 'webseed' : 'playback'

export function countOrigin(tally: OffloadTally, via: HttpVia | ((req: Request) => HttpVia)): RequestHandler {
  return (req, res, next) => {
    const fileName = String(req.params.fileName)
    const how = typeof via === 'string' ? via : via(req)
    let bytes = 0
    // The file stream is piped into res: every body byte goes through res.write (and end).
    const write = res.write
    const end = res.end
    res.write = function (this: Response, chunk: Chunk, ...rest: unknown[]) {
      if (!res.destroyed) bytes += sizeOf(chunk, rest[0])
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest)
    } as Response['write']
    res.end = function (this: Response, chunk?: unknown, ...rest: unknown[]) {
      if (!res.destroyed && typeof chunk !== 'function') bytes += sizeOf(chunk, rest[0])
      return (end as (...a: unknown[]) => Response).call(this, chunk, ...rest)
    } as Response['end']
    res.once('close', () => {
      // Sent by nginx (X-Accel-Redirect, src/media/accelRedirect.ts): the bytes it was asked for.
      const proxied = typeof res.locals.sentByProxy === 'number' ? res.locals.sentByProxy : 0
      if (res.statusCode === 200 || res.statusCode === 206) tally.add('fileName', fileName, how, bytes + proxied)
    })
    next()
  }
}
