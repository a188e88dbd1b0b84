// A site with many videos, made without uploading them: the app's own config, database client
// (migrations applied), settings, first admin and torrent builder; one real clip on disk, one
// hard link to it per video (the start-up check wants every media file and its .torrent), a
// .torrent per video (its stored name is info.name, so every infohash differs), and all rows in
// one transaction. Started afterwards on the same PUBLIC_URL, the site finds nothing to rewrite,
// hash or probe, and loads every infohash onto the tracker's allow list (allTorrentCounts).
import { createHash } from 'node:crypto'
import { link, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { SettingsService } from '../../src/admin/settingsService.ts'
import { AuthService } from '../../src/auth/authService.ts'
import { buildTorrent } from '../../src/bittorrent/metainfo.ts'
import { choosePieceLength } from '../../src/bittorrent/pieceLength.ts'
import { loadConfig } from '../../src/config.ts'
import { openDatabase } from '../../src/db/client.ts'
import type { Prisma } from '../../src/db/generated/client.ts'
import { torrentLinks } from '../../src/media/torrentLinks.ts'
import { torrentPathFor } from '../../src/media/torrentWriter.ts'
import { ensureStorage, newVideoId, storagePaths, storedFileName } from '../../src/media/storage.ts'
import { siteUrls } from '../../src/siteUrls.ts'
import { mp4Header } from '../lib/media.ts'

export interface SeedOptions {
  storageDir: string
  /** '' for the SQLite file inside storageDir. */
  databaseUrl: string
  publicUrl: string
  adminPassword: string
  count: number
}

export interface Seeded {
  ids: string[]
  infoHashes: string[]
}

const ROWS_PER_STATEMENT = 500

function hashPieces(data: Buffer, pieceLength: number): Buffer {
  const out: Buffer[] = []
  for (let at = 0; at < data.length; at += pieceLength)
    out.push(
      createHash('sha1')
        .update(data.subarray(at, at + pieceLength))
        .digest(),
    )
  return Buffer.concat(out)
}

export async function seedVideos(opts: SeedOptions): Promise<Seeded> {
  const config = loadConfig({
    STORAGE_DIR: opts.storageDir,
    DATABASE_URL: opts.databaseUrl,
    PUBLIC_URL: opts.publicUrl,
    ADMIN_PASSWORD: opts.adminPassword,
  })
  const paths = storagePaths(config.storageDir)
  await ensureStorage(paths)
  const db = await openDatabase(config)
  try {
    const urls = siteUrls(config.publicUrl)
    const { settings } = await SettingsService.load(db, config.publicUrl)
    await new AuthService(db, config.auth).ensureAdmin(opts.adminPassword)
    const admin = await db.user.findUniqueOrThrow({ where: { username: 'admin' }, select: { id: true } })
    const clip = await mp4Header()
    const pieceLength = choosePieceLength(clip.length)
    const pieces = hashPieces(clip, pieceLength)
    const current = settings.get()
    const videos: Prisma.VideoCreateManyInput[] = []
    const torrents: Prisma.TorrentCreateManyInput[] = []
    let first: string | undefined
    let mtimeMs = 0
    const now = Date.now()
    for (let i = 0; i < opts.count; i++) {
      const id = newVideoId()
      const fileName = storedFileName(`load-video-${i}.mp4`, id, 'mp4')
      const file = path.join(paths.mediaDir, fileName)
      if (first === undefined) {
        await writeFile(file, clip)
        first = file
        // Hard links share the inode: one mtime for every video's file.
        mtimeMs = Math.floor((await stat(file)).mtimeMs)
      } else await link(first, file)
      const links = torrentLinks(current, urls, { id, fileName })
      const built = buildTorrent({
        name: fileName,
        length: clip.length,
        pieceLength,
        pieces,
        ...links,
        createdBy: 'bench/load.ts',
        creationDate: Math.floor(now / 1000),
        private: current.privateTorrents,
      })
      await writeFile(torrentPathFor(file), built.buffer)
      // One a minute into the past: the list's order is the order of creation.
      const createdAt = new Date(now - (opts.count - i) * 60_000)
      videos.push({
        id,
        title: `Load test video ${i}`,
        description: `Video ${i} of ${opts.count}, seeded by bench/load.ts.`,
        status: 'ready',
        fileName,
        mimeType: 'video/mp4',
        size: BigInt(clip.length),
        published: true,
        uploaderId: admin.id,
        createdAt,
        detailsStatus: 'ready',
        durationSec: 1,
        width: 160,
        height: 120,
        videoCodec: 'h264',
        audioCodec: null,
        formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      })
      torrents.push({
        videoId: id,
        infoHash: built.infoHash,
        pieceLength,
        pieceCount: built.pieceCount,
        trackers: JSON.stringify(links.trackers),
        webSeeds: JSON.stringify(links.webSeeds),
        fileMtimeMs: BigInt(mtimeMs),
        createdAt,
      })
    }
    await db.$transaction(
      async (tx) => {
        for (let i = 0; i < videos.length; i += ROWS_PER_STATEMENT)
          await tx.video.createMany({ data: videos.slice(i, i + ROWS_PER_STATEMENT) })
        for (let i = 0; i < torrents.length; i += ROWS_PER_STATEMENT)
          await tx.torrent.createMany({ data: torrents.slice(i, i + ROWS_PER_STATEMENT) })
      },
      { timeout: 120_000 },
    )
    return { ids: videos.map((v) => v.id!), infoHashes: torrents.map((t) => t.infoHash) }
  } finally {
    await db.$disconnect()
  }
}
