// The guide's nginx site, as written (only the host name, certificate paths, ports, the storage
// folder and the web port changed to this test's), passes `nginx -t` with Debian's nginx and
// serves the site over TLS in front of two web processes (the guide's WEB_WORKERS=2): the port-80
// redirect, pages, /metrics refused, the WebSocket tracker upgrade, and aria2c downloading a
// video through it (the .torrent, the tracker and the web seed via nginx, the web seed's bytes
// sent by nginx itself from the guide's internal location: X-Accel-Redirect).
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
import { freePort } from '../helpers/server.ts'
import { startChildServer } from '../helpers/childServer.ts'
import { readEnvironmentFile } from '../../src/envFile.ts'
import { makeVideo, uploadForm } from '../helpers/media.ts'
import { getJson, waitFor, type VideoJson } from '../helpers/http.ts'
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
  const [httpPort, tlsPort] = [await freePort(), await freePort()]

  // The site behind it, as the guide's env file sets it up: loopback only, TRUST_PROXY=on, two
  // web processes, media bytes sent by nginx.
  const env = guideEnv()
  assert.equal(env.WEB_WORKERS, '2')
  // What the guide's unit runs: the build in dist/.
  const execStart = /^ExecStart=(.+)$/m.exec(guideFiles().get('/etc/systemd/system/seedcast.service')!)![1]!
  const entry = execStart.split(/\s+/).at(-1)!
  assert.match(entry, /^dist\//)
  const server = await startChildServer(
    {
      PUBLIC_URL: `https://localhost:${tlsPort}`,
      TRUST_PROXY: env.TRUST_PROXY!,
      WEB_WORKERS: env.WEB_WORKERS!,
      ACCEL_REDIRECT: env.ACCEL_REDIRECT!,
    },
    { entry },
  )
  t.after(() => server.stop())
  const webPort = server.port
  // nginx's workers (nobody here, www-data in the guide) read the media folder.
  await chmod(server.storageDir, 0o755)
  // aria2c: v1 torrents only (see useTorrentFormat).
  const format = await fetch(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: server.basicAuth },
    body: JSON.stringify({ torrentFormat: 'v1' }),
  })
  assert.equal(format.status, 200)

  let site = guideFiles().get('/etc/nginx/sites-available/seedcast')!
  site = swap(site, 'video.example.org', 'localhost', 4)
  site = swap(site, /listen \[::\]:\d+[^;]*;\n\s*/, '', 2) // no IPv6 on this machine's loopback
  site = swap(site, 'listen 80;', `listen 127.0.0.1:${httpPort};`)
  site = swap(site, 'listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`)
  site = swap(site, '/etc/letsencrypt/live/localhost/fullchain.pem', path.join(dir, 'cert.pem'))
  site = swap(site, '/etc/letsencrypt/live/localhost/privkey.pem', path.join(dir, 'key.pem'))
  site = swap(site, 'root /var/www/html;', `root ${dir};`)
  site = swap(site, 'proxy_pass http://127.0.0.1:3000;', `proxy_pass http://127.0.0.1:${webPort};`)
  site = swap(site, 'alias /var/lib/seedcast/storage/media/;', `alias ${path.join(server.storageDir, 'media')}/;`)
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
  log_format accel '$request $status $body_bytes_sent accel=$upstream_http_x_accel_redirect';
  access_log ${dir}/access.log accel;
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
  const up = await fetch(`${server.url}/api/videos`, {
    method: 'POST',
    headers: { authorization: server.basicAuth },
    body: await uploadForm({ title: 'through nginx' }, { path: clip }),
  })
  assert.equal(up.status, 201, await up.clone().text())
  const video = (await up.json()) as VideoJson
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
  const seedLines = access.split('\n').filter((l) => l.startsWith(`GET /seed/${name} `))
  assert.ok(seedLines.length > 0, `the web seed went through nginx:\n${access}`)
  // Every web-seed answer's bytes came from nginx's internal location, none through the web app.
  for (const line of seedLines)
    assert.match(line, new RegExp(` 20[06] [1-9]\\d* accel=/_seedcast_media/${name.replace(/\./g, '\\.')}$`), line)

  // The player's Range request: nginx answers 206 with the bytes and the CORS header the web app
  // would have sent; the internal location itself cannot be asked for from outside.
  const ranged = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      https
        .get(`${base}${new URL(video.fileUrl).pathname}`, { ca, headers: { range: 'bytes=100-1099' } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
        })
        .on('error', reject)
    },
  )
  assert.equal(ranged.status, 206)
  assert.ok(ranged.body.equals((await readFile(clip)).subarray(100, 1100)))
  assert.equal(ranged.headers['access-control-allow-origin'], '*')
  assert.equal(ranged.headers['content-type'], 'video/mp4')
  assert.equal((await get(`${base}/_seedcast_media/${name}`, ca)).status, 404)
  // The tracker knew aria2c by its own address (X-Forwarded-For), and counted the download.
  await waitFor(
    async () => (await getJson<VideoJson>(`${server.url}/api/videos/${video.id}`)).body.swarm!.completed >= 1,
    'the completed download to be counted',
    10_000,
  )
})

/** The guide's /etc/seedcast.env, as systemd would read it. */
function guideEnv(): Record<string, string> {
  return readEnvironmentFile(guideFiles().get('/etc/seedcast.env')!)
}
