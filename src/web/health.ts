// /healthz: ready when the database and the storage can both be written, and the tracker runs.
import { access, constants, open, unlink } from 'node:fs/promises'
import path from 'node:path'
import type { Db } from '../db/client.ts'
import type { StoragePaths } from '../media/storage.ts'
import { probeDatabaseWrite } from './healthRepository.ts'

export type HealthPart = 'database' | 'storage' | 'tracker'

export class HealthCheck {
  private readonly db: Db
  private readonly paths: StoragePaths
  private readonly trackerReady: () => boolean
  private running: Promise<HealthPart[]> | null = null

  constructor(db: Db, paths: StoragePaths, trackerReady: () => boolean) {
    this.db = db
    this.paths = paths
    this.trackerReady = trackerReady
  }

  /** The failing parts; empty when healthy. Concurrent calls share one probe. */
  failing(): Promise<HealthPart[]> {
    this.running ??= this.probe().finally(() => {
      this.running = null
    })
    return this.running
  }

  private async probe(): Promise<HealthPart[]> {
    const checks = await Promise.allSettled([
      probeDatabaseWrite(this.db),
      this.probeStorage(),
      this.trackerReady() ? Promise.resolve() : Promise.reject(new Error('tracker')),
    ])
    const parts: HealthPart[] = ['database', 'storage', 'tracker']
    return parts.filter((_, i) => checks[i]!.status === 'rejected')
  }

  // A small file written, flushed and removed beside the media: a full disk or a read-only mount
  // fails here (checking permissions alone passes on both).
  private async probeStorage(): Promise<void> {
    await access(this.paths.mediaDir, constants.W_OK)
    const probe = path.join(this.paths.root, `.healthz-${process.pid}`)
    const file = await open(probe, 'w')
    try {
      await file.write(Buffer.alloc(4096, 0))
      await file.sync()
    } finally {
      await file.close()
      await unlink(probe).catch(() => {})
    }
  }
}
