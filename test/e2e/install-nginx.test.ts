// The guide's nginx site, as written (only the host name, certificate paths, ports and the web
// port changed to this test's), passes `nginx -t` with Debian's nginx and serves the site over
// TLS: the port-80 redirect, pages, /metrics refused, the WebSocket tracker upgrade, and aria2c
// downloading a video through it (the .torrent, the tracker and the web seed all via nginx).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import WebSocket from 'ws'
import { guideFiles } from '../helpers/installGuide.ts'
import { freePort, startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, uploadOk, waitFor } from '../helpers/http.ts'
import { runAria2c } from '../helpers/aria2.ts'

const run = promisify(execFile)
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Replaces `from` by `to`, insisting it is there (so the test notices when the guide changes). */
function swap(text: string, from: string | RegExp, to: string, times = 1): string {
  const count =
    typeof from === 'string' ? text.split(from).length - 1 : (text.match(new RegExp(from.source, 'g')) ?? []).length
  assert.equal(count, times, `expected ${times} × ${from} in the guide's nginx site`)
  return typeof from === 'string' ? text.split(from).join(to) : text.replace(new RegExp(from.source, 'g'), to)
}

function get(url: string, ca: Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = ''
        res
          .setEncoding('utf8')
          .on('data', (d) => {
            body += d
          })
          .on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      })
      .on('error', reject)
  })
}

test("the guide's nginx site passes nginx -t and serves the site, the tracker and the web seed over TLS", {
  timeout: 120_000,
}, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-nginx-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await chmod(dir, 0o755)
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost',
    '-keyout',
    path.join(dir, 'key.pem'),
    '-out',
    path.join(dir, 'cert.pem'),
  ])
  const ca = await readFile(path.join(dir, 'cert.pem'))
  const [httpPort, tlsPort, webPort] = [await freePort(), await freePort(), await freePort()]

  // The site behind it, as the guide's env file sets it up: loopback only, TRUST_PROXY=on.
  const server = await startTestServer({
    PORT: String(webPort),
    PUBLIC_URL: `https://localhost:${tlsPort}`,
    TRUST_PROXY: 'on',
  })
  t.after(() => server.stop())

  let site = guideFiles().get('/etc/nginx/sites-available/seedcast')!
  site = swap(site, 'video.example.org', 'localhost', 4)
  site = swap(site, /listen \[::\]:\d+[^;]*;\n\s*/, '', 2) // no IPv6 on this machine's loopback
  site = swap(site, 'listen 80;', `listen 127.0.0.1:${httpPort};`)
  site = swap(site, 'listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`)
  site = swap(site, '/etc/letsencrypt/live/localhost/fullchain.pem', path.join(dir, 'cert.pem'))
  site = swap(site, '/etc/letsencrypt/live/localhost/privkey.pem', path.join(dir, 'key.pem'))
  site = swap(site, 'root /var/www/html;', `root ${dir};`)
  site = swap(site, 'proxy_pass http://127.0.0.1:3000;', `proxy_pass http://127.0.0.1:${webPort};`)
  await mkdir(path.join(dir, 'tmp'), { mode: 0o777 })
  await chmod(path.join(dir, 'tmp'), 0o777)
  const conf = path.join(dir, 'nginx.conf')
  // What Debian's /etc/nginx/nginx.conf gives a site: the http block, mime types, logs.
  await writeFile(
    conf,
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy; fastcgi_temp_path ${dir}/tmp/fcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  ${site}
}
`,
  )
  const check = await run('nginx', ['-t', '-c', conf]).catch((err) => err as { stderr: string; code: number })
  assert.match(String(check.stderr), /syntax is ok[\s\S]*test is successful/, String(check.stderr))

  const nginx = spawn('nginx', ['-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let nginxOut = ''
  nginx.stderr.on('data', (d) => {
    nginxOut += d
  })
  t.after(() => {
    nginx.kill('SIGQUIT')
  })
  const base = `https://localhost:${tlsPort}`
  await waitFor(
    () =>
      get(`${base}/healthz`, ca).then(
        (r) => r.status === 200,
        () => false,
      ),
    `nginx to answer (${nginxOut})`,
    10_000,
  )

  // Port 80 only redirects to HTTPS.
  const redirect = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: httpPort, path: '/videos/x', headers: { host: 'localhost' } }, (res) => {
        res.resume()
        resolve(res)
      })
      .on('error', reject)
  })
  assert.equal(redirect.statusCode, 301)
  assert.equal(redirect.headers.location, 'https://localhost/videos/x')
  // /metrics is for the machine itself, not through nginx.
  assert.equal((await get(`${base}/metrics`, ca)).status, 404)
  assert.equal((await fetch(`${server.url}/metrics`)).status, 200)
  assert.equal((await get(`${base}/`, ca)).status, 200)

  // The WebSocket tracker upgrades through nginx.
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${tlsPort}/announce`, { ca })
    ws.once('open', () => {
      ws.close()
      resolve()
    })
    ws.once('error', reject)
  })

  // aria2c fetches the .torrent, announces and downloads the web seed, all through nginx.
  const clip = await makeVideo({ seconds: 3, noise: 20 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const video = await uploadOk(server, { title: 'through nginx' }, { path: clip })
  assert.ok(video.torrent!.trackers[0]!.startsWith(`${base}/announce`))
  const dl = path.join(dir, 'dl')
  await mkdir(dl)
  const got = await runAria2c({
    source: video.torrent!.torrentUrl,
    dir: dl,
    logFile: path.join(dir, 'aria2c.log'),
    timeoutMs: 60_000,
    extraArgs: [`--ca-certificate=${path.join(dir, 'cert.pem')}`],
  })
  assert.equal(got.code, 0, got.output.slice(-2000))
  const name = decodeURIComponent(path.basename(new URL(video.fileUrl).pathname))
  assert.equal(sha256(await readFile(path.join(dl, name))), sha256(await readFile(clip)))
  const access = await readFile(path.join(dir, 'access.log'), 'utf8')
  assert.match(access, /GET \/announce\?/, 'the announce went through nginx')
  assert.match(access, new RegExp(`GET /seed/${name.replace(/\./g, '\\.')}`), 'the web seed went through nginx')
  // The tracker knew aria2c by its own address (X-Forwarded-For), and counted the download.
  await waitFor(
    async () => (await getJson(`${server.url}/api/videos/${video.id}`)).body.swarm.completed >= 1,
    'the completed download to be counted',
    10_000,
  )
})
