// HTTP announce and scrape, answered straight from the Node HTTP server before Express: this is
// the hot path of a popular swarm, so no routing, no middleware, no session lookup.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import { parseAnnounceQuery, parseScrapeQuery } from '../bittorrent/tracker/http.ts'
import { announceReply, failureReply, scrapeReply } from '../bittorrent/tracker/httpReplies.ts'
import { TrackerProtocolError } from '../bittorrent/errors.ts'
import type { AnnounceOutcome, EmbeddedTracker, ScrapeOutcome } from './embeddedTracker.ts'

// nosniff: a browser must never read a tracker reply (bytes chosen by peers) as HTML or script.
const HEADERS = { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }

function send(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { ...HEADERS, 'Content-Length': body.length })
  res.end(body)
}

/**
 * What answers announces and scrapes: the tracker itself, or (a web worker of several) a link to
 * the process that holds the swarms, whose answers arrive later.
 */
export interface TrackerCore {
  announce(
    a: Parameters<EmbeddedTracker['announce']>[0],
    address: string,
    transport: 'http',
  ): AnnounceOutcome | Promise<AnnounceOutcome>
  scrape(infoHashes: string[], address: string, transport: 'http'): ScrapeOutcome | Promise<ScrapeOutcome>
  reject(reason: 'malformed'): void
}

/** Answers /announce and /scrape; returns false for every other request. */
export function handleTrackerHttp(
  tracker: TrackerCore,
  req: IncomingMessage,
  res: ServerResponse,
  trustProxy = false,
): boolean {
  const url = req.url ?? ''
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  if (path !== '/announce' && path !== '/scrape') return false
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  // Unlike Express, the raw server does not drain a body; trackers never get one, so just resume.
  req.resume()
  const query = q < 0 ? '' : url.slice(q + 1)
  const address = trustProxy ? (forwardedFor(req) ?? req.socket.remoteAddress) : req.socket.remoteAddress
  // No address: the connection is already gone (a client that pipelined requests, then reset).
  // Nobody is left to answer, and an address-less peer must not reach the swarm store (it throws).
  if (address === undefined) {
    req.socket.destroy()
    return true
  }
  try {
    if (path === '/announce') {
      const a = parseAnnounceQuery(query)
      const answer = (out: AnnounceOutcome) => {
        if (!out.ok) return send(res, failureReply(out.reason))
        send(
          res,
          announceReply({
            interval: out.interval,
            minInterval: out.minInterval,
            complete: out.complete,
            incomplete: out.incomplete,
            downloaded: out.downloaded,
            peers4: out.peers4,
            peers6: out.peers6,
            compact: a.compact,
            peerList: a.compact
              ? undefined
              : out.peerList.map((p) => ({ ip: p.ip, port: p.port, peerId: a.noPeerId ? undefined : p.peerId })),
          }),
        )
      }
      reply(res, tracker.announce({ ...a, wantPeerList: !a.compact }, address, 'http'), answer)
    } else {
      reply(res, tracker.scrape(parseScrapeQuery(query), address, 'http'), (out) =>
        send(res, out.ok ? scrapeReply(out.files) : failureReply(out.reason)),
      )
    }
  } catch (err) {
    if (!(err instanceof TrackerProtocolError)) throw err
    tracker.reject('malformed')
    send(res, failureReply(err.message))
  }
  return true
}

// In one process the answer is there at once: no promise on the hot path.
function reply<T>(res: ServerResponse, out: T | Promise<T>, answer: (out: T) => void): void {
  if (!(out instanceof Promise)) return answer(out)
  out.then(answer, (err: Error) => {
    if (!res.headersSent) send(res, failureReply(`tracker unavailable, try again later (${err.message})`))
  })
}

/** The address our one trusted proxy saw: the last X-Forwarded-For entry (earlier ones are the client's word). */
export function forwardedFor(req: IncomingMessage): string | undefined {
  const header = req.headers['x-forwarded-for']
  const value = Array.isArray(header) ? header[header.length - 1] : header
  const last = value?.split(',').pop()?.trim()
  return last && isIP(last) ? last : undefined
}
