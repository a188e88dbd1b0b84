// Anonymous answers sent again as they were drawn: the video page and the lists of videos (the
// home page, the API's). A
// video page costs about 1 ms of CPU to draw (six queries through Prisma, the swarm charts, the
// template, Express), and with 100 visitors at once on one core that is about 100 ms each in the
// queue (bench:load); sent again it costs what node:http costs (tens of µs). Only what everyone
// who is neither logged in nor sending credentials is shown is kept: GET /videos/:id with no
// query, GET / and GET /api/videos with any, a 200 without Set-Cookie, of published videos none of which
// is being hashed (its progress moves). A video's page is dropped at once when the video changes
// (src/media/videoChanges.ts: the repositories tell every write, the cluster tells every worker),
// every list when any video does, everything when the settings do. A copy is sent only while the
// tracker's live counts (seeders, downloaders, completed) of every torrent on it are those it
// shows; what else changes without a write being told (bytes sent and served, the charts' time
// axis) is at most ttlMs old. Memory: at most maxBytes of bodies (Buffers, outside the JS heap)
// and an estimate of the rest, least recently sent first out.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { LRUCache } from 'lru-cache'
import { SESSION_COOKIE } from '../auth/middleware.ts'
import { metricFamily } from '../metricsText.ts'
import type { KeptAnswers, Shown } from '../media/keptAnswers.ts'

interface Kept {
  body: Buffer
  headers: OutgoingHttpHeaders
  etag: string | undefined
  drawnAt: number
  /** The torrents whose live counts it shows, and what they were when it was drawn. */
  infoHashes: readonly string[]
  live: string
}

// Video ids are the site's own (base64url); anything else is Express's to answer (a 404).
const PAGE_PATH = /^\/videos\/[A-Za-z0-9_-]{1,64}$/
// The lists with their query (cursors, limits: validated by their handler); a longer one is drawn each time.
const LIST_PATH = /^\/api\/videos(\?[^#]{0,200})?$/
const HOME_PATH = /^\/(\?[^#]{0,200})?$/
// Per request, or the request's own: never sent again from a copy.
const NOT_KEPT = new Set(['date', 'x-seedcast-worker', 'connection', 'keep-alive', 'transfer-encoding'])
// Headers and bookkeeping an entry costs besides its body (the LRU's size of an entry).
const ENTRY_OVERHEAD = 2048

export interface PageCacheOptions {
  /** Bodies in all; 0 turns the cache off. */
  maxBytes: number
  /** How long a copy is sent again at most, in milliseconds. */
  ttlMs: number
  /** The tracker's live counts of a torrent, as one string. */
  live: (infoHash: string) => string
  now?: () => number
}

export class PageCache implements KeptAnswers {
  private readonly kept: LRUCache<string, Kept> | null
  // The lists' keys: any video's change drops them all.
  private readonly lists = new Set<string>()
  private readonly now: () => number
  private readonly ttlMs: number
  private readonly liveOf: (infoHash: string) => string
  // Bumped by every forget: an answer drawn from data read before a change is not kept.
  private epoch = 0
  private hits = 0
  private misses = 0

  constructor(opts: PageCacheOptions) {
    this.now = opts.now ?? Date.now
    this.liveOf = opts.live
    this.ttlMs = opts.ttlMs
    this.kept =
      opts.maxBytes > 0
        ? new LRUCache<string, Kept>({
            maxSize: opts.maxBytes,
            sizeCalculation: (k) => k.body.length + ENTRY_OVERHEAD,
            dispose: (_value, key) => {
              this.lists.delete(key)
            },
          })
        : null
  }

  /** Answers a request from a copy; false: Express is to answer it (and may leave a copy). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.kept || !eligible(req)) return false
    const url = req.url!
    const k = this.kept.get(url)
    // Expiry checked here, by the clock given (tests): no timers, and lru-cache's own ttl reads a clock it caches.
    if (!k || this.now() - k.drawnAt >= this.ttlMs || this.liveNow(k.infoHashes) !== k.live) {
      this.misses++
      return false
    }
    this.hits++
    const age = String(Math.max(0, Math.floor((this.now() - k.drawnAt) / 1000)))
    // A browser that has this copy is told so, as Express would (its `fresh` check).
    if (k.etag && etagMatches(req.headers['if-none-match'], k.etag)) {
      res.writeHead(304, { etag: k.etag, age })
      res.end()
    } else {
      res.writeHead(200, { ...k.headers, age })
      res.end(k.body)
    }
    return true
  }

  eligible(req: IncomingMessage): boolean {
    return eligible(req)
  }

  /** Taken before an answer's data is read; keep() drops the answer if a change came in between. */
  ticket(): number {
    return this.epoch
  }

  /** The live counts of the torrents an answer is about to show, read as it is drawn. */
  live(infoHashes: readonly string[]): Shown {
    return { infoHashes, live: this.liveNow(infoHashes) }
  }

  /** Keeps the answer just sent to `req` (eligible, its videos published and not hashing: the caller's check). */
  keep(ticket: number, req: IncomingMessage, body: string, res: ServerResponse, shown: Shown): void {
    if (!this.kept || ticket !== this.epoch || res.statusCode !== 200 || res.hasHeader('set-cookie')) return
    const headers: OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(res.getHeaders())) {
      if (value !== undefined && !NOT_KEPT.has(name)) headers[name] = value
    }
    const key = req.url!
    const etag = typeof headers.etag === 'string' ? headers.etag : undefined
    this.kept.set(key, { body: Buffer.from(body), headers, etag, drawnAt: this.now(), ...shown })
    if (!PAGE_PATH.test(key)) this.lists.add(key)
  }

  /** These videos' pages, and every list, are drawn again on their next visit; null: everything. */
  forget(ids: readonly string[] | null): void {
    this.epoch++
    if (!this.kept) return
    if (ids === null) return this.kept.clear()
    for (const id of ids) this.kept.delete(`/videos/${id}`)
    for (const key of [...this.lists]) this.kept.delete(key)
  }

  metricsText(): string {
    return (
      metricFamily('seedcast_page_cache_hits_total', 'counter', 'Anonymous pages and lists sent from a kept copy.', [
        ['', this.hits],
      ]) +
      metricFamily('seedcast_page_cache_misses_total', 'counter', 'Anonymous pages and lists that had to be drawn.', [
        ['', this.misses],
      ]) +
      metricFamily(
        'seedcast_page_cache_bytes',
        'gauge',
        'Memory the kept copies take (bodies, an estimate of the rest).',
        [['', this.kept?.calculatedSize ?? 0]],
      )
    )
  }

  private liveNow(infoHashes: readonly string[]): string {
    return infoHashes.length === 1 ? this.liveOf(infoHashes[0]!) : infoHashes.map(this.liveOf).join(',')
  }
}

/** A GET that a copy may answer, and so may leave one (the handler's own checks are the caller's). */
function eligible(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false
  const url = req.url ?? ''
  const path = url.startsWith('/videos/') ? PAGE_PATH : url.startsWith('/api/') ? LIST_PATH : HOME_PATH
  if (!path.test(url)) return false
  // No session cookie (a stale or forged one goes to Express, which finds no one and draws the
  // anonymous answer), and no credentials for the API.
  const cookie = req.headers.cookie
  return req.headers.authorization === undefined && (cookie === undefined || !cookie.includes(SESSION_COOKIE))
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  if (header.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare)
}
