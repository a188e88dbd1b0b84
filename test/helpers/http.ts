// HTTP and storage helpers for the integration tests: uploads through the API, raw requests for
// cut-off and malformed bodies, polling, tracker query encoding, and direct reads of storage.
import http from 'node:http'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import bencode from 'bencode'
import type { TestServer } from './server.ts'
import { uploadForm } from './media.ts'

// The API's own type: tests check the server against what it declares.
import type { VideoJson } from '../../src/media/videoPresenter.ts'
export type { VideoJson }

export interface JsonResponse<T = any> {
  status: number
  headers: Headers
  body: T
}

export async function getJson<T = any>(url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const res = await fetch(url, init)
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

/** POST /api/videos as admin (or with `auth`), returning status and parsed JSON. */
export async function apiUpload(
  server: TestServer,
  fields: Record<string, string>,
  file?: { path: string; name?: string; type?: string },
  auth: string | null = server.basicAuth,
): Promise<JsonResponse> {
  const headers: Record<string, string> = {}
  if (auth) headers.authorization = auth
  return getJson(`${server.url}/api/videos`, { method: 'POST', headers, body: await uploadForm(fields, file) })
}

/** Uploads and asserts 201; returns the video object. */
export async function uploadOk(
  server: TestServer,
  fields: Record<string, string>,
  file: { path: string; name?: string; type?: string },
): Promise<VideoJson> {
  const res = await apiUpload(server, fields, file)
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body as VideoJson
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  what: string | (() => string),
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    const value = await probe()
    if (value) return value
    last = value
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what} (last: ${JSON.stringify(last)})`,
      )
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function getVideo(server: TestServer, id: string): Promise<VideoJson> {
  const res = await getJson<VideoJson>(`${server.url}/api/videos/${id}`)
  if (res.status !== 200) throw new Error(`GET video ${id}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

export function waitForVideo(
  server: TestServer,
  id: string,
  accept: (v: VideoJson) => boolean,
  what = 'video state',
  timeoutMs = 20_000,
): Promise<VideoJson> {
  let last: VideoJson | undefined
  return waitFor(
    async () => {
      last = await getVideo(server, id)
      return accept(last) ? last : undefined
    },
    () => `${what} of ${id} (status ${last?.status}, details ${last?.detailsStatus})`,
    timeoutMs,
  )
}

/** Entries of a folder, sorted; [] if it does not exist. */
export async function ls(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort()
}

/**
 * media/'s entries without the poster frames (<file>.thumb.jpg, and .<file>.thumb.jpg.tmp while
 * ffmpeg writes one), which come a moment after each upload (src/media/mediaDetails.ts):
 * listings taken before and after an upload stay comparable.
 */
export async function lsMedia(dir: string): Promise<string[]> {
  return (await ls(dir)).filter((name) => !/\.thumb\.jpg(\.tmp)?$/.test(name))
}

/** The web seed every torrent carries: the file's own URL under /seed/ (the player's is under /media/). */
export const webSeedUrl = (v: { fileUrl: string }) => v.fileUrl.replace(/\/media\/(?=[^/]*$)/, '/seed/')

export const mediaDir = (s: TestServer) => path.join(s.storageDir, 'media')
export const incomingDir = (s: TestServer) => path.join(s.storageDir, 'incoming')
export const orphansDir = (s: TestServer) => path.join(s.storageDir, 'orphans')

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/**
 * A request written by hand. `destroyAfterBody` sends the body and then drops the connection
 * without waiting for an answer (a client going away mid-upload when the body is incomplete):
 * 300 ms after the body, or, given a check, once it holds (the server is then known to be mid-way,
 * not still authenticating: a loaded PostgreSQL pass took longer than 300 ms to start storing).
 */
export function rawRequest(
  port: number,
  opts: {
    method?: string
    path: string
    headers?: Record<string, string | number>
    body?: Buffer | string
    destroyAfterBody?: boolean | (() => Promise<boolean>)
  },
): Promise<RawResponse | null> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: opts.method ?? 'GET',
      path: opts.path,
      headers: opts.headers,
      agent: false,
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', (err) => (opts.destroyAfterBody ? resolve(null) : reject(err)))
    if (opts.body !== undefined) req.write(opts.body)
    const check = opts.destroyAfterBody
    if (typeof check === 'function') {
      waitFor(check, 'the server to be mid-way through the request', 10_000).then(
        () => {
          req.destroy()
          resolve(null)
        },
        (err: Error) => {
          req.destroy()
          reject(err)
        },
      )
    } else if (check) {
      // Let the bytes reach the server, then vanish.
      setTimeout(() => {
        req.destroy()
        resolve(null)
      }, 300)
    } else {
      req.end()
    }
  })
}

/** A multipart body by hand, for requests fetch cannot make (cut off, lying Content-Length). */
export function multipartBody(
  boundary: string,
  fields: Record<string, string>,
  file?: { name: string; data: Buffer; type?: string },
  closing = true,
): Buffer {
  const parts: Buffer[] = []
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`))
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type ?? 'video/mp4'}\r\n\r\n`,
      ),
    )
    parts.push(file.data)
    parts.push(Buffer.from('\r\n'))
  }
  if (closing) parts.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(parts)
}

// ---- BitTorrent -------------------------------------------------------------------------------

export function bdecode(buf: Uint8Array): any {
  return bencode.decode(buf)
}

export const btext = (v: unknown): string => Buffer.from(v as Uint8Array).toString('utf8')

/** Percent-encodes raw bytes (an infohash or peer id) the way BitTorrent clients do. */
export function binParam(bytes: Buffer): string {
  return [...bytes].map((b) => '%' + b.toString(16).padStart(2, '0')).join('')
}

export function announceQuery(
  infoHashHex: string,
  opts: { peerId?: string; port?: number; left?: number; event?: string; extra?: string } = {},
): string {
  const peerId = Buffer.from((opts.peerId ?? '-SC0001-').padEnd(20, 'x').slice(0, 20), 'latin1')
  const parts = [
    `info_hash=${binParam(Buffer.from(infoHashHex, 'hex'))}`,
    `peer_id=${binParam(peerId)}`,
    `port=${opts.port ?? 6881}`,
    'uploaded=0',
    'downloaded=0',
    `left=${opts.left ?? 0}`,
    'compact=1',
  ]
  if (opts.event) parts.push(`event=${opts.event}`)
  if (opts.extra) parts.push(opts.extra)
  return parts.join('&')
}

/** GET a tracker URL, returning the decoded bencoded body. */
export async function trackerGet(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url)
  return { status: res.status, body: bdecode(new Uint8Array(await res.arrayBuffer())) }
}

/**
 * Sets the format of torrents made from now on (PUT /api/settings as the admin). Debian's v1
 * clients cannot use BEP 52 torrents: Transmission 3.00 refuses to parse a dict with an empty
 * key (the `file tree`'s ''), aria2c 1.36 drops that key when it re-encodes the info dict and so
 * announces and handshakes with another infohash. Tests about those clients make v1 torrents.
 */
export async function useTorrentFormat(server: TestServer, format: 'v1' | 'hybrid' | 'v2'): Promise<void> {
  const res = await getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: server.basicAuth },
    body: JSON.stringify({ torrentFormat: format }),
  })
  if (res.status !== 200) throw new Error(`setting torrentFormat ${format}: ${res.status} ${JSON.stringify(res.body)}`)
}
