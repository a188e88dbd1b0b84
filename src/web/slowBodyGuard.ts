// The minimum rate for request bodies. Uploads of many gigabytes take as long as they take, so
// there is no total request timeout; instead a body must deliver at least `minBytes` in every
// window of `windowMs` until it is complete. A body trickled a byte at a time (holding a
// connection and, for an upload, a file) is answered 408 and its connection closed. When the
// server itself is not reading (the handler busy, the disk slow) the window starts over.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import { bodyTooSlow, rawErrorReply } from '../errors.ts'
import type { Refusals } from '../refusals.ts'

export interface BodyRate {
  minBytes: number
  windowMs: number
}

interface Watched {
  req: IncomingMessage
  res: ServerResponse
  since: number
  bytesAt: number
}

const CHECK_EVERY_MS = 1000

export class SlowBodyGuard {
  private readonly watched = new Set<Watched>()
  private timer: NodeJS.Timeout | null = null
  private readonly rate: BodyRate
  private readonly refusals: Refusals

  constructor(rate: BodyRate, refusals: Refusals) {
    this.rate = rate
    this.refusals = refusals
  }

  /** Watches the body of a request that has one (nothing to do for the rest). */
  watch(req: IncomingMessage, res: ServerResponse): void {
    if (!this.rate.minBytes || req.complete) return
    if (!req.headers['transfer-encoding'] && !(Number(req.headers['content-length']) > 0)) return
    // Bytes read by the socket: counted below the HTTP parser, so they need no listener on the
    // request (which would take the body away from its real reader).
    this.watched.add({ req, res, since: Date.now(), bytesAt: req.socket.bytesRead })
    this.timer ??= setInterval(() => this.check(), CHECK_EVERY_MS).unref()
  }

  private check(now = Date.now()): void {
    for (const w of this.watched) {
      const { req } = w
      if (req.complete || req.destroyed || req.socket.destroyed) {
        this.watched.delete(w)
        continue
      }
      if (now - w.since < this.rate.windowMs) continue
      const delivered = req.socket.bytesRead - w.bytesAt
      const heldBack = req.readableLength > 0 || req.isPaused()
      if (delivered < this.rate.minBytes && !heldBack) {
        this.watched.delete(w)
        this.drop(w)
      } else {
        w.since = now
        w.bytesAt = req.socket.bytesRead
      }
    }
    if (!this.watched.size && this.timer) {
      clearInterval(this.timer)
      this.timer = null
    }
  }

  private drop({ req, res }: Watched): void {
    this.refusals.add('web_body_too_slow')
    const socket = req.socket
    if (res.headersSent) {
      socket.destroy()
      return
    }
    // Written on the socket itself, as Node does for its own timeouts: the handler still holds
    // `res` (waiting for the body) and finds the connection gone. The peer gets a moment to read
    // the answer; one that never reads is cut off all the same.
    const reply = rawErrorReply(
      req.headers.accept,
      bodyTooSlow(Math.round(this.rate.minBytes / 1024), Math.round(this.rate.windowMs / 1000)),
    )
    const head = Object.entries(reply.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')
    socket.end(`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status]}\r\n${head}\r\n${reply.body}`)
    setTimeout(() => socket.destroy(), 1000).unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.watched.clear()
  }
}
