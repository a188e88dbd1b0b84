// Resumable uploads (tus 1.0.0, creation and termination): the @tus/server engine over the
// hashing store, with Seedcast's rules around it. An upload belongs to the account that created
// it; its last byte publishes the video (VideoService.create, as the plain upload does) and the
// answer carries `Seedcast-Video: <id>`. Unfinished ones expire TUS_EXPIRY_SECONDS after their
// last byte; each user holds at most TUS_MAX_UNFINISHED_PER_USER.
import { readdir, readFile, stat, unlink } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { MemoryLocker, Server, type ServerOptions, type Upload } from '@tus/server'
import { AppError, toAppError } from '../errors.ts'
import type { ErrorCode } from '../errorCatalogue.ts'
import type { Refusals } from '../refusals.ts'
import type { CurrentUser } from '../auth/authService.ts'
import type { StoragePaths } from './storage.ts'
import type { VideoService } from './videoService.ts'
import { uploadSchemas } from './videoValidators.ts'
import { HashingStore } from './tusStore.ts'

const VIDEO_HEADER = 'Seedcast-Video'

export interface TusDeps {
  paths: StoragePaths
  videos: VideoService
  maxUploadBytes: number
  expirySeconds: number
  maxUnfinishedPerUser: number
  refusals: Refusals
}

// The ids @tus/server makes (hex); anything else in a URL is no upload of ours, never a path.
const TUS_ID = /^[0-9a-zA-Z_-]{1,64}$/

interface Unfinished {
  ownerId: number
  /** Time of the last byte (or of the creation). */
  touchedAt: number
}

type TusRequest = Parameters<NonNullable<ServerOptions['onUploadCreate']>>[0]

// What the tus engine's own refusals are, in the catalogue's terms.
const TUS_STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  403: 'bad_request',
  404: 'not_found',
  409: 'upload_offset_mismatch',
  410: 'not_found',
  413: 'too_large',
  415: 'unsupported_media_type',
  501: 'not_implemented',
}

function tusError(err: unknown): AppError {
  if (err instanceof AppError) return err
  const e = err as { status_code?: number; body?: string }
  const code = e && typeof e.status_code === 'number' ? TUS_STATUS_CODES[e.status_code] : undefined
  if (code) return new AppError(code, code === 'not_found' ? 'No such upload' : (e.body ?? '').trim() || undefined)
  return toAppError(err)
}

// Request bodies reach the engine as web streams. srvx's own conversion (Server.handle, through
// Readable.toWeb) bounds its queue by chunk count, not bytes; this one holds at most 256 KiB
// before it pauses the socket, so a client faster than the disk and the hashing waits.
const BODY_QUEUE_BYTES = 256 * 1024

function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          controller.enqueue(chunk)
          if ((controller.desiredSize ?? 0) <= 0) req.pause()
        })
        req.once('end', () => controller.close())
        // A connection that drops mid-body: the store keeps what arrived.
        req.once('close', () => {
          if (!req.complete) controller.error(new Error('aborted'))
        })
        req.pause()
      },
      pull() {
        req.resume()
      },
      cancel() {
        req.pause()
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: BODY_QUEUE_BYTES }),
  )
}

// A refusal answered with the body still coming (a full disk mid-PATCH; the engine then says
// `Connection: close`): the rest is read and dropped, so the client, still sending, reads the
// answer instead of failing its write on the reset of a socket closed with bytes unread
// (tus-js-client reported EPIPE, not the 507, once in CI). Bounded in time and bytes: a client
// that sends on and on is cut off all the same; one that finishes keeps its connection.
const LINGER_MS = 2000
const LINGER_BYTES = 64 * 1024 * 1024

function linger(req: IncomingMessage): void {
  let left = LINGER_BYTES
  const cut = setTimeout(() => req.socket.destroy(), LINGER_MS)
  cut.unref()
  req.removeAllListeners('data') // bodyStream's: it would pause the socket again, its reader gone
  req.on('data', (chunk: Buffer) => {
    left -= chunk.length
    if (left > 0) return
    clearTimeout(cut)
    req.socket.destroy()
  })
  req.once('end', () => clearTimeout(cut))
  req.resume()
}

function webRequest(req: IncomingMessage & { originalUrl?: string }): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  return new Request(new URL(req.originalUrl ?? req.url ?? '/', 'http://localhost'), {
    method: req.method,
    headers,
    body: hasBody ? bodyStream(req) : null,
    ...(hasBody ? { duplex: 'half' } : {}),
  } as RequestInit)
}

export class ResumableUploads {
  private readonly deps: TusDeps
  private readonly unfinished = new Map<string, Unfinished>()
  // Who sends each request the engine is handling (set by the route before it hands over).
  private readonly callers = new WeakMap<Request, CurrentUser>()
  private engine: { store: HashingStore; servers: Map<string, Server> } | null = null
  private sweeper: NodeJS.Timeout | null = null

  constructor(deps: TusDeps) {
    this.deps = deps
  }

  /** Indexes the unfinished uploads a previous run left and starts the expiry sweep. */
  async start(): Promise<void> {
    const dir = this.deps.paths.tusDir
    const names = await readdir(dir).catch(() => null)
    if (names) {
      for (const name of names.filter((n) => n.endsWith('.json'))) {
        const id = name.slice(0, -'.json'.length)
        if (!(await this.readRecord(id))) await this.discardFiles(id)
      }
      // Bytes without their record (a crash inside a creation) are no one's.
      for (const name of names.filter((n) => !n.endsWith('.json') && !this.unfinished.has(n)))
        await unlink(path.join(dir, name)).catch(() => {})
    }
    await this.sweep()
    const every = Math.min(600, Math.max(1, this.deps.expirySeconds / 4)) * 1000
    this.sweeper = setInterval(() => void this.sweep(), every)
    this.sweeper.unref()
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper)
  }

  /** Unfinished uploads held by a user (the bound's count). */
  heldBy(userId: number): number {
    let n = 0
    for (const u of this.unfinished.values()) if (u.ownerId === userId) n++
    return n
  }

  /** Refuses a new upload beyond the user's bound. */
  checkRoom(user: CurrentUser): void {
    if (this.heldBy(user.id) < this.deps.maxUnfinishedPerUser) return
    this.deps.refusals.add('upload_unfinished_per_user')
    throw new AppError(
      'too_many_uploads',
      `You have ${this.deps.maxUnfinishedPerUser} unfinished uploads; finish or cancel one (DELETE) first`,
    )
  }

  /** 404 unless the upload is the caller's and not expired (another user's is "no such upload" too). */
  async checkOwner(user: CurrentUser, id: string): Promise<void> {
    let u: Unfinished | null | undefined = this.unfinished.get(id)
    // Made by another web process (WEB_WORKERS), or its later bytes went to one: the record and
    // the file's time on disk say.
    if (!u || this.expired(u)) u = await this.readRecord(id)
    if (u && this.expired(u)) await this.expire(id)
    else if (u?.ownerId === user.id) return
    throw new AppError('not_found', 'No such upload')
  }

  /** Hands a request to the tus engine of `basePath` (`/api/uploads` or the page's `/uploads`). */
  async handle(
    basePath: string,
    user: CurrentUser | undefined,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const request = webRequest(req)
    if (user) this.callers.set(request, user)
    const answer = await this.engineFor(basePath).handleWeb(request)
    const body = await answer.text()
    // The engine's refusals are the catalogue's JSON (errorReply); its other answers are empty.
    if (answer.status >= 400 && body.startsWith('{')) res.setHeader('Content-Type', 'application/json; charset=utf-8')
    const unread = answer.status >= 400 && !req.complete
    // Node would close the socket right after the answer: the rest of the body is read instead.
    if (unread) answer.headers.delete('connection')
    // Merged with the headers set before (security headers): the engine's take precedence.
    res.writeHead(answer.status, Object.fromEntries(answer.headers))
    res.end(body)
    if (unread) linger(req)
  }

  private engineFor(basePath: string): Server {
    // Made at the first upload: the store creates its folder.
    this.engine ??= { store: this.makeStore(), servers: new Map() }
    const { store, servers } = this.engine
    let server = servers.get(basePath)
    if (!server) {
      server = new Server({
        path: basePath,
        datastore: store,
        // One lock per upload whichever path it is reached by.
        locker: this.locker,
        relativeLocation: true,
        maxSize: this.deps.maxUploadBytes,
        exposedHeaders: [VIDEO_HEADER],
        allowedOrigins: [],
        onUploadCreate: (req, upload) => this.onCreate(req, upload),
        onUploadFinish: (req, upload) => this.onFinish(req, upload),
        onResponseError: (req, err) => this.errorReply(req, err),
      })
      servers.set(basePath, server)
    }
    return server
  }

  private readonly locker = new MemoryLocker()

  private makeStore(): HashingStore {
    const store = new HashingStore(this.deps.paths.tusDir, () => this.deps.videos.torrentFormat())
    store.onActivity = (id) => {
      const u = this.unfinished.get(id)
      if (u) u.touchedAt = Date.now()
    }
    return store
  }

  private caller(req: TusRequest): CurrentUser {
    const user = this.callers.get(req as unknown as Request)
    if (!user) throw new AppError('unauthorized')
    return user
  }

  private async onCreate(req: TusRequest, upload: Upload): Promise<{ metadata: Record<string, string> }> {
    const user = this.caller(req)
    this.checkRoom(user)
    // Nothing to sniff in an empty file: refused as the plain upload refuses it.
    if (!upload.size) throw new AppError('unsupported_media_type')
    const given = upload.metadata ?? {}
    const filename = given.filename ?? 'video'
    const parsed = uploadSchemas.body.safeParse({
      title: given.title ?? path.basename(filename).replace(/\.[^.]*$/, ''),
      description: given.description ?? '',
    })
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new AppError(issue.path[0] === 'title' ? 'invalid_title' : 'invalid_description', issue.message)
    }
    this.unfinished.set(upload.id, { ownerId: user.id, touchedAt: Date.now() })
    // Only the keys Seedcast reads, and the owner (which no client can set).
    return { metadata: { filename, ...parsed.data, owner: String(user.id) } }
  }

  private async onFinish(_req: TusRequest, upload: Upload): Promise<{ headers: Record<string, string> }> {
    const store = this.engine!.store
    const meta = upload.metadata ?? {}
    this.unfinished.delete(upload.id)
    try {
      const received = await store.received(upload.id)
      const video = await this.deps.videos.create({
        title: meta.title ?? '',
        description: meta.description ?? '',
        originalName: meta.filename ?? 'video',
        received,
        uploaderId: Number(meta.owner),
      })
      await store.forget(upload.id)
      return { headers: { [VIDEO_HEADER]: video.id } }
    } catch (err) {
      // Not published: nothing of it stays (the service moved the file back, or never moved it).
      await store.remove(upload.id).catch(() => {})
      throw err
    }
  }

  private errorReply(req: TusRequest, err: unknown): { status_code: number; body: string } {
    const appErr = tusError(err)
    if (appErr.status >= 500) console.error(`[error] ${req.method} ${new URL(req.url).pathname}:`, err)
    return {
      status_code: appErr.status,
      body: JSON.stringify({ error: { code: appErr.code, message: appErr.message } }),
    }
  }

  /** An upload's record and bytes on disk, indexed; null when either is missing or unreadable. */
  private async readRecord(id: string): Promise<Unfinished | null> {
    if (!TUS_ID.test(id)) return null
    const dir = this.deps.paths.tusDir
    const meta = await readFile(path.join(dir, `${id}.json`), 'utf8')
      .then((t) => JSON.parse(t) as { metadata?: Record<string, string> })
      .catch(() => null)
    const data = await stat(path.join(dir, id)).catch(() => null)
    const ownerId = Number(meta?.metadata?.owner)
    if (!data || !Number.isSafeInteger(ownerId)) return null
    const u = { ownerId, touchedAt: data.mtimeMs }
    this.unfinished.set(id, u)
    return u
  }

  private expired(u: Unfinished): boolean {
    return Date.now() - u.touchedAt > this.deps.expirySeconds * 1000
  }

  private async expire(id: string): Promise<void> {
    this.unfinished.delete(id)
    if (this.engine) await this.engine.store.remove(id).catch(() => {})
    await this.discardFiles(id)
  }

  private async discardFiles(id: string): Promise<void> {
    for (const name of [id, `${id}.json`]) await unlink(path.join(this.deps.paths.tusDir, name)).catch(() => {})
  }

  /** Removes the uploads whose last byte is older than the expiry. */
  async sweep(): Promise<void> {
    for (const [id, u] of [...this.unfinished]) {
      if (!this.expired(u)) continue
      // Another web process may have taken its later bytes, or finished it: the disk says which.
      const data = await stat(path.join(this.deps.paths.tusDir, id)).catch(() => null)
      if (data && data.mtimeMs > u.touchedAt) u.touchedAt = data.mtimeMs
      if (!data) this.unfinished.delete(id)
      else if (this.expired(u)) await this.expire(id)
    }
  }

  /** Termination (DELETE) through the engine removed it: no longer held. */
  dropped(id: string): void {
    this.unfinished.delete(id)
  }
}
