// The site's tracker in-process, for unit tests of its allow list and hooks: no limits in the way.
import { EmbeddedTracker, type TrackerOptions } from '../../src/tracker/embeddedTracker.ts'

export function inProcessTracker(extra: Partial<TrackerOptions> = {}): EmbeddedTracker {
  return new EmbeddedTracker({
    intervalSeconds: 300,
    minIntervalSeconds: 60,
    maxNumwant: 50,
    rateLimitPerMinute: 0,
    onCompleted: () => {},
    ...extra,
  })
}
