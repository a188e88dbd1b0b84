// Changing a release's files after upload. Adding a file makes a new torrent (a new infohash):
// the current one is retired (RetiredTorrent, its .torrent kept as media/<file>.<12 hex>.torrent),
// still tracked and seeded so that downloads of it go on, until an admin removes it.
//
// Removing a file cannot leave a torrent that holds it seeded: its bytes are gone, so no one could
// finish it. The current torrent and every retired one holding the file go at once (off the
// tracker and the seeder, .torrent removed), and a new torrent is made; the retired torrents
// without that file stay seeded. (Refusing the removal while they are seeded would let a stale
// torrent keep a file its owner wants gone.)
import { rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { type Actor, isAdmin } from '../auth/rights.ts'
import type { Db } from '../db/client.ts'
import { AppError } from '../errors.ts'
import type { SiteTracker } from '../tracker/siteTracker.ts'
import { checkExtras, type ReceivedExtra, type ReleaseLimits, removeExtraFiles, storeExtras } from './releaseFiles.ts'
import * as releases from './releaseRepository.ts'
import { isStoredName, releaseFilePath, releaseFolder, retiredTorrentName, videoIdOfFolder } from './storage.ts'
import { torrentPathFor } from './torrentWriter.ts'
import type { VideoRow } from './videoRepository.ts'
import type { VideoService } from './videoService.ts'

export interface ReleaseServiceDeps {
  db: Db
  mediaDir: string
  videos: VideoService
  tracker: Pick<SiteTracker, 'disallow'>
  limits: ReleaseLimits
  onTorrentsChanged?: () => void
}

export class ReleaseService {
  private readonly deps: ReleaseServiceDeps

  constructor(deps: ReleaseServiceDeps) {
    this.deps = deps
  }

  /**
   * Adds extra files to a video its owner or an admin asks to, and makes its new torrent
   * (awaited: the answer shows the new infohash). The uploads are left for the caller to remove
   * when refused.
   */
  async addFiles(actor: Actor | undefined, id: string, incoming: ReceivedExtra[]): Promise<VideoRow> {
    const { db, mediaDir, videos } = this.deps
    const video = await videos.getManaged(actor, id)
    if (video.status === 'processing')
      throw new AppError('bad_request', 'Its torrent is being made; add files once it is ready')
    if (incoming.length === 0) throw new AppError('missing_file', 'Send the extra files in the multipart field "files"')
    const checked = checkExtras(video, incoming, this.deps.limits)
    const stored = await storeExtras(mediaDir, video.fileName, incoming, checked)
    const torrent = video.torrent
    const kept = torrent ? retiredTorrentName(video.fileName, torrent.infoHash) : null
    try {
      // Kept under its own name first: the new torrent is written where the current one is.
      if (kept) await rename(this.torrentFile(video), path.join(mediaDir, kept))
      const reason = `${checked.map((f) => f.name).join(', ')} ${checked.length === 1 ? 'was' : 'were'} added`
      const retire = kept ? { torrentFile: kept, reason, extras: video.files.map((f) => f.name) } : null
      await releases.addExtras(db, id, checked, retire)
    } catch (err) {
      if (kept) await rename(path.join(mediaDir, kept), this.torrentFile(video)).catch(() => {})
      await removeExtraFiles(stored)
      throw err
    }
    return this.remake(id)
  }

  /** Removes an extra file (owner or admin) and the torrents holding it; makes the new torrent. */
  async removeFile(actor: Actor | undefined, id: string, name: string): Promise<VideoRow> {
    const { db, mediaDir, videos, tracker } = this.deps
    const video = await videos.getManaged(actor, id)
    if (!video.files.some((f) => f.name === name)) throw new AppError('not_found', `This video has no file ${name}`)
    if (video.status === 'processing')
      throw new AppError('bad_request', 'Its torrent is being made; remove files once it is ready')
    const holding = video.retired.filter((t) => (JSON.parse(t.extras) as string[]).includes(name))
    await releases.removeExtra(
      db,
      id,
      name,
      holding.map((t) => t.infoHash),
    )
    for (const t of [...(video.torrent ? [video.torrent] : []), ...holding]) await tracker.disallow(t.infoHash)
    const files = [this.torrentFile(video), ...holding.map((t) => path.join(mediaDir, t.torrentFile))]
    await Promise.all(files.map((f) => unlink(f).catch(() => {})))
    await unlink(releaseFilePath({ mediaDir }, video.fileName, [name])).catch(() => {})
    this.deps.onTorrentsChanged?.()
    return this.remake(id)
  }

  /** An admin stops seeding and tracking a retired torrent: its record and .torrent go. */
  async removeRetired(actor: Actor | undefined, id: string, infoHash: string): Promise<void> {
    const video = await this.deps.videos.getFor(actor, id)
    if (!isAdmin(actor)) throw new AppError('forbidden', 'Only an admin can stop seeding an old torrent')
    const retired = video.retired.find((t) => t.infoHash === infoHash)
    if (!retired || !(await releases.deleteRetired(this.deps.db, id, infoHash)))
      throw new AppError('not_found', `This video has no previous torrent ${infoHash}`)
    await this.deps.tracker.disallow(infoHash)
    await unlink(path.join(this.deps.mediaDir, retired.torrentFile)).catch(() => {})
    this.deps.onTorrentsChanged?.()
  }

  /**
   * A file of a release by its web-seed path (<folder>/<name>; name null: the video's own file):
   * the video's stored name and the file's path; null if there is none.
   */
  async resolveFile(folder: string, name: string | null): Promise<{ fileName: string; path: string } | null> {
    // A name no upload can have is answered without the database (PostgreSQL refuses NUL in text).
    if (!isStoredName(folder)) return null
    const video = await this.deps.videos.get(videoIdOfFolder(folder)).catch(() => null)
    if (!video || releaseFolder(video.fileName) !== folder || video.files.length === 0) return null
    const file = name ?? video.fileName
    if (file !== video.fileName && !video.files.some((f) => f.name === file)) return null
    return { fileName: video.fileName, path: releaseFilePath(this.deps, video.fileName, [file]) }
  }

  private torrentFile(video: VideoRow): string {
    return torrentPathFor(path.join(this.deps.mediaDir, video.fileName))
  }

  private async remake(id: string): Promise<VideoRow> {
    await this.deps.videos.remakeTorrent(await this.deps.videos.get(id))
    return this.deps.videos.get(id)
  }
}
