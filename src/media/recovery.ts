// The start-up check: files and records must agree. Cut-off uploads are removed, torrents whose
// hashing was interrupted are finished, media files without a record are set aside (not deleted),
// and records whose file is gone are marked failed. Everything found is reported.
import { readdir, rename, rm, unlink, stat } from 'node:fs/promises'
import path from 'node:path'
import type { Db } from '../db/client.ts'
import { torrentPathFor } from './torrentWriter.ts'
import * as repo from './videoRepository.ts'
import { sidecarOf, type StoragePaths } from './storage.ts'
import type { VideoService } from './videoService.ts'

export interface RecoveryReport {
  removedPartialUploads: string[]
  orphanFilesSetAside: string[]
  straySidecarsRemoved: string[]
  missingFiles: string[]
  torrentsResumed: string[]
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  )

export async function recoverStorage(
  db: Db,
  paths: StoragePaths,
  videos: VideoService,
  bittorrentEnabled: boolean,
): Promise<RecoveryReport> {
  const report: RecoveryReport = {
    removedPartialUploads: [],
    orphanFilesSetAside: [],
    straySidecarsRemoved: [],
    missingFiles: [],
    torrentsResumed: [],
  }

  for (const name of await readdir(paths.incomingDir)) {
    // Resumable uploads survive a restart (src/media/tusUploads.ts expires them).
    if (path.join(paths.incomingDir, name) === paths.tusDir) continue
    await unlink(path.join(paths.incomingDir, name)).catch(() => {})
    report.removedPartialUploads.push(name)
  }

  const rows = await repo.allVideos(db)
  const known = new Set(rows.map((v) => v.fileName))
  for (const name of await readdir(paths.mediaDir)) {
    const full = path.join(paths.mediaDir, name)
    const sidecar = sidecarOf(name)
    if (sidecar) {
      if (!known.has(sidecar.owner) || sidecar.temporary) {
        // A release's extras folder (media/<file>.extras) goes with all it holds.
        await rm(full, { recursive: true, force: true }).catch(() => {})
        report.straySidecarsRemoved.push(name)
      }
    } else if (!known.has(name)) {
      await rename(full, path.join(paths.orphansDir, `${Date.now()}-${name}`))
      report.orphanFilesSetAside.push(name)
    }
  }

  for (const video of rows) {
    const file = path.join(paths.mediaDir, video.fileName)
    if (!(await exists(file))) {
      if (video.status !== 'failed')
        await repo.setVideoStatus(db, video.id, 'failed', 'The media file is missing from storage')
      report.missingFiles.push(video.fileName)
      continue
    }
    const needsTorrent =
      video.status === 'processing' ||
      (video.status === 'ready' && (!video.torrent || !(await exists(torrentPathFor(file)))))
    if (bittorrentEnabled && needsTorrent) {
      if (video.status !== 'processing') await repo.setVideoStatus(db, video.id, 'processing')
      void videos.hashInBackground(video)
      report.torrentsResumed.push(video.fileName)
    } else if (!bittorrentEnabled && video.status === 'processing') {
      await repo.setVideoStatus(db, video.id, 'ready')
    }
  }
  return report
}

export function describeRecovery(r: RecoveryReport): string[] {
  const lines: string[] = []
  if (r.removedPartialUploads.length) lines.push(`removed ${r.removedPartialUploads.length} cut-off upload(s)`)
  if (r.straySidecarsRemoved.length)
    lines.push(
      `removed ${r.straySidecarsRemoved.length} .torrent or thumbnail file(s) without a video, or half-written: ${r.straySidecarsRemoved.join(', ')}`,
    )
  if (r.orphanFilesSetAside.length)
    lines.push(
      `moved ${r.orphanFilesSetAside.length} file(s) without a video to orphans/: ${r.orphanFilesSetAside.join(', ')}`,
    )
  if (r.missingFiles.length) lines.push(`marked failed, file missing: ${r.missingFiles.join(', ')}`)
  if (r.torrentsResumed.length) lines.push(`resumed torrent creation: ${r.torrentsResumed.join(', ')}`)
  return lines
}
