// The tracker as the web app uses it: the tracker itself (one process), or a web worker's
// replica of it (WEB_WORKERS, src/cluster/trackerReplica.ts), whose allow-list changes are
// answered once the owner process made them.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { AllowRow, SwarmCounts } from './embeddedTracker.ts'
import type { TrackerCore } from './httpTransport.ts'

export interface SiteTracker extends TrackerCore {
  enabled: boolean
  counts(infoHash: string): SwarmCounts
  browserSeeders(infoHash: string): number
  completed(infoHash: string): number
  isAllowed(infoHash: string): boolean
  metricsText(): string
  allow(
    infoHash: string,
    completed?: number,
    size?: number,
    infoHashV2?: string | null,
    legacyInfoHash?: string | null,
  ): void | Promise<void>
  disallow(infoHash: string): void | Promise<void>
  reconcile(read: () => Promise<AllowRow[]>): Promise<void>
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, trustProxy?: boolean): void
  close(): Promise<void>
}
