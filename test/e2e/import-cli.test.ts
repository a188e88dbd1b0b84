// `npm run cli -- import` run as the real child process beside a running site with its supervised
// seeder: the site tracks and seeds the imported file without being told anything but through
// their shared database, and aria2c downloads it from the seeder alone (no web seed) byte for
// byte. Non-media is refused with a clear message and left where it is.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { makeVideo } from '../helpers/media.ts'
import { addUser } from '../helpers/accounts.ts'
import { getVideo } from '../helpers/http.ts'
import {
  aria2cFromSeeder,
  seederReady,
  startSeededServer,
  torrentWithoutWebSeed,
  workDir,
  type Upload,
} from '../helpers/seededSite.ts'
import type { TestServer } from '../helpers/server.ts'
import { CLI, ROOT, cliEnv, runCli, shellQuote, type CliResult } from '../helpers/cli.ts'

/** The CLI on the site's storage, and no PUBLIC_URL: it takes the one the site runs with from the database. */
const cli = (server: TestServer, args: string[]) => runCli(args, cliEnv({ STORAGE_DIR: server.storageDir }))

test('the CLI imports a file into the running site, which tracks and seeds it: aria2c gets it from the seeder alone', {
  timeout: 180_000,
}, async (t) => {
  const server = await startSeededServer(t)
  await seederReady(server)
  const dir = await workDir(t, 'seedcast-cli-import-')
  const clip = await makeVideo({ seconds: 6, noise: 20 })
  const source = path.join(dir, 'lecture one.mp4')
  await copyFile(clip, source)
  const original = await readFile(source)

  const run = await cli(server, ['import', source, '--title', 'Lecture 1', '--description', 'from the shell'])
  assert.equal(run.code, 0, run.stderr)
  const published = /published as (\S+) \(owner admin\)/.exec(run.stdout)
  assert.ok(published, run.stdout)
  const pageUrl = new URL(published[1]!)
  assert.equal(pageUrl.origin, server.url, 'the page URL is the site’s own (taken from the database)')
  // Not a terminal: plain progress lines on stderr, up to the whole file.
  assert.match(run.stderr, /lecture one\.mp4: hashing 100 % \((\d+) of \1\)/, run.stderr)
  await assert.rejects(stat(source), { code: 'ENOENT' }, 'the original was moved into storage')

  const video = await getVideo(server, path.basename(pageUrl.pathname))
  assert.equal(video.title, 'Lecture 1')
  assert.equal(video.description, 'from the shell')
  assert.equal(video.status, 'ready')
  assert.equal(video.size, original.length)
  assert.ok(video.torrent)
  const upload: Upload = {
    video,
    original,
    fileName: decodeURIComponent(path.basename(new URL(video.fileUrl).pathname)),
  }
  // The seeder alone, found through the site's tracker: both had to learn of the import.
  await aria2cFromSeeder(t, server, upload, await torrentWithoutWebSeed(upload))
})

test('the CLI refuses non-media and leaves it where it is; --owner gives the video to that user', {
  timeout: 120_000,
}, async (t) => {
  // No aria2c here: the site's default format, hybrid, which the CLI's hashing makes as the site would.
  const server = await startSeededServer(t, { SEEDER: 'off' }, undefined, { torrentFormat: 'hybrid' })
  const dir = await workDir(t, 'seedcast-cli-import-')
  const text = path.join(dir, 'report.mp4')
  await writeFile(text, 'quarterly figures, not a video\n')
  const refused = await cli(server, ['import', text])
  assert.equal(refused.code, 1)
  assert.match(
    refused.stderr,
    new RegExp(
      `${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not imported, left where it is: it is not a known audio or video container`,
    ),
  )
  assert.equal(await readFile(text, 'utf8'), 'quarterly figures, not a video\n')

  await addUser(server, 'carol', 'uploader')
  const clip = await makeVideo({ seconds: 1 })
  const run = await cli(server, ['import', clip, '--owner', 'carol'])
  assert.equal(run.code, 0, run.stderr)
  const id = path.basename(new URL(/published as (\S+)/.exec(run.stdout)![1]!).pathname)
  const video = await getVideo(server, id)
  assert.equal(video.owner?.name, 'carol')
  assert.equal(video.title, 'clip', 'the title is the file name')
  assert.equal(video.status, 'ready')
  assert.equal(video.torrent?.format, 'hybrid')
  assert.match(video.torrent?.infoHashV2 ?? '', /^[0-9a-f]{64}$/)

  // On a terminal (util-linux `script` gives it one): a bar redrawn in place.
  const second = await makeVideo({ seconds: 1, name: 'second.mp4' })
  const command = [process.execPath, ...CLI, 'import', second].map(shellQuote).join(' ')
  const onTty = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: cliEnv({ STORAGE_DIR: server.storageDir }),
    })
    let stdout = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr: '' }))
  })
  assert.equal(onTty.code, 0, onTty.stdout)
  assert.match(onTty.stdout, /\rsecond\.mp4 hashing \[#{30}\] 100 %/, JSON.stringify(onTty.stdout))

  const unknown = await cli(server, ['import', clip, '--owner', 'nobody'])
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /no user named nobody/)
})
