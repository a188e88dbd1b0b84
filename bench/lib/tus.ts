// A resumable upload for the benchmarks, as a tus client sends one: POST /api/uploads (tus
// 1.0.0, Upload-Length, Upload-Metadata), then the whole file in one PATCH from a piped stream.
// Times are taken as bench/upload.ts takes them for the plain upload: the first and last body
// byte written, and the answer to the PATCH (which carries Seedcast-Video once the torrent is made).
import { createReadStream } from 'node:fs'
import http from 'node:http'
import { MiB } from './format.ts'
import { now } from './processes.ts'

interface TusUploadResult {
  /** The PATCH's status (204 when the upload published the video). */
  status: number
  videoId: string | undefined
  body: string
  /** The POST (creation) was sent. */
  startAt: number
  lastByteAt: number | undefined
  responseAt: number
}

const b64 = (s: string) => Buffer.from(s).toString('base64')

function request(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function tusUploadFile(
  port: number,
  auth: string,
  file: string,
  size: number,
  progress: { sent: number },
): Promise<TusUploadResult> {
  const tus = { 'Tus-Resumable': '1.0.0', Authorization: auth }
  const startAt = now()
  const created = await request(port, 'POST', '/api/uploads', {
    ...tus,
    'Upload-Length': String(size),
    'Upload-Metadata': `filename ${b64('bench.mp4')},title ${b64('Upload benchmark (tus)')}`,
  })
  const location = created.headers.location
  if (created.status !== 201 || !location) throw new Error(`tus creation answered ${created.status}: ${created.body}`)

  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'PATCH',
    path: location,
    agent: false,
    headers: {
      ...tus,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': String(size),
    },
  })
  const source = createReadStream(file, { highWaterMark: MiB })
  let lastByteAt: number | undefined
  const sent = new Promise<void>((resolve, reject) => {
    source.on('error', reject)
    source.on('data', (chunk) => {
      progress.sent += chunk.length
    })
    source.on('end', () =>
      req.end(() => {
        lastByteAt = now()
        resolve()
      }),
    )
  })
  const answered = new Promise<{ status: number; videoId: string | undefined; body: string; at: number }>(
    (resolve, reject) => {
      req.on('response', (res) => {
        const at = now()
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const videoId = res.headers['seedcast-video']
          const body = Buffer.concat(chunks).toString('utf8')
          resolve({ status: res.statusCode ?? 0, videoId: typeof videoId === 'string' ? videoId : undefined, body, at })
        })
      })
      req.on('error', reject)
    },
  )
  source.pipe(req, { end: false })
  const { at, ...answer } = await answered
  // The server answers only once it has read every byte; an early refusal ends the body unsent.
  if (answer.status < 300) await sent
  else source.destroy()
  return { ...answer, startAt, lastByteAt, responseAt: at }
}

/** What bench/upload.ts measures: a 201 with the video object (fetched once the last PATCH is answered). */
interface MeasuredUpload {
  status: number
  body: string
  startAt: number
  lastByteAt: number | undefined
  responseAt: number
}

/**
 * An uploader holding an API token, as a tus client would (Basic would cost a password hash per
 * request: scrypt, 16 MB each). The token is made (with `basic`) before the measured upload.
 */
export async function tusUploader(
  port: number,
  basic: string,
): Promise<(port: number, file: string, size: number, progress: { sent: number }) => Promise<MeasuredUpload>> {
  const made = await fetch(`http://127.0.0.1:${port}/api/tokens`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  })
  if (made.status !== 201) throw new Error(`POST /api/tokens answered ${made.status}`)
  const bearer = `Bearer ${((await made.json()) as { token: string }).token}`
  return async (port, file, size, progress) => {
    const r = await tusUploadFile(port, bearer, file, size, progress)
    if (r.status !== 204 || !r.videoId) return { ...r, status: r.status === 204 ? 500 : r.status }
    const video = await fetch(`http://127.0.0.1:${port}/api/videos/${r.videoId}`)
    return {
      status: 201,
      body: await video.text(),
      startAt: r.startAt,
      lastByteAt: r.lastByteAt,
      responseAt: r.responseAt,
    }
  }
}
