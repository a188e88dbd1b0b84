// The resumable uploads' store: @tus/file-store's files (incoming/tus/<id> and <id>.json), with
// the bytes checked and hashed as they are written, so the torrent is ready when the last one
// lands. Each upload's hash state lives in memory while the server runs and always matches the
// bytes on disk; after a restart (or a failed write) the received prefix is read once to rebuild it
// (SHA-1 pieces and the v2 merkle alike, from that one read).
import { createReadStream } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { FileStore } from '@tus/file-store'
import { AppError, insufficientStorage, isDiskFull } from '../errors.ts'
import { choosePieceLength } from '../bittorrent/pieceLength.ts'
import { TorrentHasher, type TorrentFormat } from '../bittorrent/torrentHasher.ts'
import { detectContainer, SNIFF_BYTES, type Container } from './sniff.ts'
import { RECLAIM_EVERY_BYTES, reclaimUploadBuffers } from './reclaim.ts'
import type { ReceivedFile } from './uploadEngine.ts'

// Socket chunks are 64 KiB; one write call per MiB keeps syscalls few.
const WRITE_BATCH = 256 * 1024

interface HashState {
  /** Bytes on disk, all of them fed to the hasher. */
  offset: number
  size: number
  /** SHA-1 pieces and/or the v2 merkle, as the format asked when the state was made. */
  hasher: TorrentHasher
  head: Buffer[]
  headLength: number
  container: Container | null
}

export class HashingStore extends FileStore {
  private readonly states = new Map<string, HashState>()
  /** Called as bytes land (the expiry counts from the last one). */
  onActivity: (id: string) => void = () => {}
  private readonly torrentFormat: () => TorrentFormat

  /** `torrentFormat`: read when an upload's hash state is made, what its bytes are hashed for. */
  constructor(directory: string, torrentFormat: () => TorrentFormat) {
    super({ directory })
    this.torrentFormat = torrentFormat
    // Not offered: the piece length is chosen from the size, so it must be known at creation.
    this.extensions = ['creation', 'creation-with-upload', 'termination']
  }

  override async remove(id: string): Promise<void> {
    this.states.delete(id)
    await super.remove(id)
  }

  /** Forgets an upload whose file has moved into media/ (its .json goes). */
  async forget(id: string): Promise<void> {
    this.states.delete(id)
    await this.configstore.delete(id)
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const upload = await this.getUpload(id)
    const state = await this.stateAt(id, upload.size ?? 0, upload.storage!.path, offset)
    const file = await open(upload.storage!.path, 'r+')
    let position = offset // every byte before it is on disk
    let queued = offset // every byte before it is handed to a write
    let batch: Buffer[] = []
    let batchLength = 0
    let sinceReclaim = 0
    // The last write handed to the disk. One batch is written while the next arrives and is
    // hashed: under the kernel's dirty-page throttling a write can take milliseconds, which the
    // socket and the hashes would otherwise sit out. At most two writes run, disjoint, and the
    // position moves on in order.
    let inFlight: Promise<void> | null = null
    const settle = async () => {
      const w = inFlight
      inFlight = null
      if (w) await w
    }
    const flush = async () => {
      if (!batchLength) return
      const chunks = batch
      const length = batchLength
      const at = queued
      batch = []
      batchLength = 0
      queued += length
      const done = Promise.all([inFlight, writeAll(file, chunks, at, length)]).then(() => {
        position = at + length
        this.onActivity(id)
      })
      done.catch(() => {}) // awaited below or by the next flush; not unhandled meanwhile
      // Hashed while the write is under way; if a write fails the state is dropped (rebuilt next time).
      for (const c of chunks) state.hasher.update(c)
      state.offset = Number.NaN
      const previous = inFlight
      inFlight = done
      if (previous) await previous
    }
    try {
      for await (const chunk of readable as AsyncIterable<Buffer>) {
        sniff(state, queued + batchLength, chunk)
        batch.push(chunk)
        batchLength += chunk.length
        sinceReclaim += chunk.length
        if (sinceReclaim >= RECLAIM_EVERY_BYTES) {
          sinceReclaim = 0
          reclaimUploadBuffers()
        }
        if (batchLength >= WRITE_BATCH) await flush()
      }
      await flush()
      await settle()
      state.offset = position
    } catch (err) {
      const ours = err instanceof AppError || isDiskFull(err)
      const landed = await settle().then(
        () => true,
        () => false,
      )
      // The connection dropped: what arrived is still the upload's, kept for the resume.
      if (!ours && landed)
        await flush()
          .then(settle)
          .catch(() => {})
      if (position !== queued || batchLength) this.states.delete(id)
      else state.offset = position
      if (err instanceof AppError && err.code === 'unsupported_media_type') {
        await file.close().catch(() => {})
        // Not audio or video: nothing of it is kept.
        await this.remove(id).catch(() => {})
        throw err
      }
      // What did land stays, for the client to resume from.
      if (isDiskFull(err)) throw insufficientStorage()
      throw err
    } finally {
      await file.close().catch(() => {})
    }
    return position
  }

  /** The finished upload as the video service takes it (path, size, container, streamed pieces). */
  async received(id: string): Promise<ReceivedFile> {
    const upload = await this.getUpload(id)
    const size = upload.size ?? 0
    const state = await this.stateAt(id, size, upload.storage!.path, upload.offset)
    if (state.offset !== size || !state.container) throw new AppError('bad_request', 'The upload is not finished')
    this.states.delete(id)
    return { path: upload.storage!.path, size, container: state.container, streamedHashes: state.hasher.digest() }
  }

  private async stateAt(id: string, size: number, file: string, offset: number): Promise<HashState> {
    const kept = this.states.get(id)
    if (kept && kept.offset === offset) return kept
    const state: HashState = {
      offset: 0,
      size,
      hasher: new TorrentHasher(choosePieceLength(Math.max(1, size)), this.torrentFormat()),
      head: [],
      headLength: 0,
      container: null,
    }
    // After a restart or a failed write: the bytes received so far, read once.
    if (offset > 0) {
      for await (const chunk of createReadStream(file, { start: 0, end: offset - 1, highWaterMark: WRITE_BATCH })) {
        sniff(state, state.offset, chunk as Buffer)
        state.hasher.update(chunk as Buffer)
        state.offset += (chunk as Buffer).length
      }
      if (state.offset !== offset) throw new Error(`upload ${id}: read ${state.offset} of ${offset} bytes`)
    }
    this.states.set(id, state)
    return state
  }
}

/** The content check on the first bytes, as the plain upload makes it (415 before more is written). */
function sniff(state: HashState, at: number, chunk: Buffer): void {
  if (state.container) return
  const want = Math.min(SNIFF_BYTES, state.size)
  if (at < want) {
    const part = chunk.subarray(0, want - at)
    state.head.push(Buffer.from(part))
    state.headLength += part.length
  }
  if (state.headLength < want) return
  state.container = detectContainer(Buffer.concat(state.head).subarray(0, want))
  state.head = []
  if (!state.container) throw new AppError('unsupported_media_type')
}

/**
 * All of `chunks` at `at`. A disk that fills up takes part of a write (a short count, no error);
 * the rest is written again, so the full disk surfaces as ENOSPC (507 for the client).
 */
async function writeAll(file: FileHandle, chunks: Buffer[], at: number, length: number): Promise<void> {
  const { bytesWritten } = await file.writev(chunks, at)
  if (bytesWritten === length) return
  const rest = Buffer.concat(chunks).subarray(bytesWritten)
  for (let done = 0; done < rest.length; ) {
    const n = (await file.write(rest, done, rest.length - done, at + bytesWritten + done)).bytesWritten
    if (n === 0) throw new Error(`write made no progress at ${at + bytesWritten + done}`)
    done += n
  }
}
