// The pure rules behind media details: which files browsers play (src/media/playability.ts), and
// which names in media/ are a media file's sidecars, never media (src/media/storage.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { browserPlayable } from '../../src/media/playability.ts'
import { sidecarOf, storedFileName } from '../../src/media/storage.ts'

const codecs = (videoCodec: string | null, audioCodec: string | null) => ({ videoCodec, audioCodec })

test('browsers play H.264/VP8/VP9/AV1 with AAC/MP3/Opus/Vorbis/FLAC in MP4, WebM, Ogg, and plain audio files', () => {
  const plays: [string, string | null, string | null][] = [
    ['video/mp4', 'h264', 'aac'],
    ['video/mp4', 'av1', 'opus'],
    ['video/mp4', 'h264', null],
    ['audio/mp4', null, 'aac'],
    ['video/webm', 'vp9', 'opus'],
    ['video/webm', 'vp8', 'vorbis'],
    ['audio/ogg', null, 'vorbis'],
    ['audio/ogg', null, 'opus'],
    ['audio/mpeg', null, 'mp3'],
    ['audio/flac', null, 'flac'],
    ['audio/wav', null, 'pcm_s16le'],
    ['audio/aac', null, 'aac'],
  ]
  for (const [type, v, a] of plays) assert.equal(browserPlayable(type, codecs(v, a)), true, `${type} ${v} ${a}`)
})

test('other codecs and containers are flagged', () => {
  const refused: [string, string | null, string | null][] = [
    ['video/mp4', 'hevc', 'aac'],
    ['video/mp4', 'mpeg4', 'aac'],
    ['video/mp4', 'h264', 'ac3'],
    ['video/x-matroska', 'h264', 'aac'],
    ['video/x-msvideo', 'h264', 'mp3'],
    ['video/quicktime', 'h264', 'aac'],
    ['video/ogg', 'theora', 'vorbis'],
    ['video/mp2t', 'h264', 'aac'],
    ['audio/wav', null, 'adpcm_ms'],
    ['audio/mpeg', 'h264', 'mp3'],
    ['video/mp4', null, null],
  ]
  for (const [type, v, a] of refused) assert.equal(browserPlayable(type, codecs(v, a)), false, `${type} ${v} ${a}`)
})

test('sidecars: .torrent and .thumb.jpg files and their temporary files name their media file', () => {
  const media = storedFileName('My clip.mp4', 'abcdefghijk', 'mp4')
  assert.equal(sidecarOf(media), null)
  assert.deepEqual(sidecarOf(`${media}.torrent`), { owner: media, temporary: false })
  assert.deepEqual(sidecarOf(`${media}.thumb.jpg`), { owner: media, temporary: false })
  assert.deepEqual(sidecarOf(`.${media}.torrent.tmp`), { owner: media, temporary: true })
  assert.deepEqual(sidecarOf(`.${media}.thumb.jpg.tmp`), { owner: media, temporary: true })
  // A release's extra files folder and a retired torrent's kept .torrent (src/media/releaseService.ts).
  assert.deepEqual(sidecarOf(`${media}.extras`), { owner: media, temporary: false })
  assert.deepEqual(sidecarOf(`${media}.0123456789ab.torrent`), { owner: media, temporary: false })
  assert.deepEqual(sidecarOf(`.${media}.0123456789ab.torrent.tmp`), { owner: media, temporary: true })
  // Every container extension the sniffer gives is media, whatever the upload was called.
  for (const ext of ['mp4', 'mkv', 'webm', 'ogg', 'wav', 'mp3', 'mov', 'ts'])
    assert.equal(sidecarOf(storedFileName('x.thumb.jpg', 'abcdefghijk', ext)), null, ext)
})
