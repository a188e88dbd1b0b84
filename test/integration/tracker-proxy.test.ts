// Behind a reverse proxy every announce comes from the proxy's address; with TRUST_PROXY=on the
// tracker takes the peer's address from the last X-Forwarded-For entry instead, and only then.
// (203.0.113.0/24 is a documentation range: it only appears in headers and replies, no traffic.)
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, bdecode, uploadOk } from '../helpers/http.ts'

let clip: string
before(async () => {
  clip = await makeVideo({ seconds: 1 })
})
after(async () => {
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

/** Announces two leechers, the first with an X-Forwarded-For header; returns the addresses the second is given. */
async function peersSeenBySecond(s: TestServer, infoHash: string): Promise<string[]> {
  const announce = async (peerId: string, port: number, headers: Record<string, string> = {}) => {
    const res = await fetch(
      `${s.url}/announce?${announceQuery(infoHash, { peerId, port, left: 100, event: 'started' })}`,
      { headers },
    )
    return bdecode(new Uint8Array(await res.arrayBuffer()))
  }
  await announce('-PX0001-first', 50001, { 'X-Forwarded-For': '198.51.100.9, 203.0.113.7' })
  const reply = await announce('-PX0001-second', 50002)
  assert.equal(reply['failure reason'], undefined)
  const peers = Buffer.from(reply.peers as Uint8Array)
  const out: string[] = []
  for (let i = 0; i < peers.length; i += 6)
    out.push(`${peers[i]}.${peers[i + 1]}.${peers[i + 2]}.${peers[i + 3]}:${peers.readUInt16BE(i + 4)}`)
  return out
}

test('TRUST_PROXY=on: the peer is known by the last X-Forwarded-For address', async () => {
  const s = await startTestServer({ TRUST_PROXY: 'on' })
  try {
    const v = await uploadOk(s, { title: 'proxied' }, { path: clip })
    assert.deepEqual(await peersSeenBySecond(s, v.torrent!.infoHash), ['203.0.113.7:50001'])
  } finally {
    await s.stop()
  }
})

test('TRUST_PROXY off (the default): X-Forwarded-For is ignored, the socket address counts', async () => {
  const s = await startTestServer()
  try {
    const v = await uploadOk(s, { title: 'direct' }, { path: clip })
    assert.deepEqual(await peersSeenBySecond(s, v.torrent!.infoHash), ['127.0.0.1:50001'])
  } finally {
    await s.stop()
  }
})
