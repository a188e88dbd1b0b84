// Media files for uploads: a real MP4 clip's bytes (so the container sniff passes) followed by
// pseudo-random bytes (AES-128-CTR keystream: fast, incompressible, distinct per file).
import { createCipheriv, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { readFile, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { makeVideo } from '../../test/helpers/media.ts'
import { MiB } from './format.ts'

/** The bytes of a 1-second clip (tens of kilobytes), made by ffmpeg. */
export async function mp4Header(size = '160x120'): Promise<Buffer> {
  const clip = await makeVideo({ seconds: 1, size })
  try {
    return await readFile(clip)
  } finally {
    await rm(path.dirname(clip), { recursive: true, force: true })
  }
}

const randomStream = () => createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16))

/** A small file in memory: the header, then random bytes up to `size`. */
export function smallMedia(header: Buffer, size: number): Buffer {
  const head = header.subarray(0, Math.min(header.length, size))
  return Buffer.concat([head, randomStream().update(Buffer.alloc(size - head.length))])
}

/** A large file on disk, written in 1 MiB chunks with backpressure; fails if `target` exists. */
export async function writeMedia(target: string, header: Buffer, size: number): Promise<void> {
  const cipher = randomStream()
  const zeros = Buffer.alloc(MiB)
  async function* chunks() {
    const head = header.subarray(0, Math.min(header.length, size))
    let written = head.length
    yield head
    while (written < size) {
      const n = Math.min(MiB, size - written)
      yield cipher.update(n === MiB ? zeros : zeros.subarray(0, n))
      written += n
    }
  }
  await pipeline(chunks, createWriteStream(target, { flags: 'wx' }))
  const actual = (await stat(target)).size
  if (actual !== size) throw new Error(`media file is ${actual} bytes, expected ${size}`)
}
