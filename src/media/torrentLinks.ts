// What the site's settings say a video's torrent carries outside its info dict: trackers, web
// seed and comment. New torrents are made with it, the rewrite brings old ones to it, and the
// API, pages and magnets show it at once (before the rewrite has reached that file).
import type { Settings } from '../admin/settingsService.ts'
import type { SiteUrls } from '../siteUrls.ts'

export interface VideoLinks {
  trackers: string[]
  webSeeds: string[]
  comment: string
}

/** A video, and whether its torrent is a folder (it has extra files): then the web seed is a folder too. */
export interface LinkedVideo {
  id: string
  fileName: string
  files?: readonly unknown[]
}

export function torrentLinks(settings: Settings, urls: SiteUrls, video: LinkedVideo): VideoLinks {
  // BEP 19: a multi-file torrent's url-list ends in '/', clients fetch <url><folder>/<file>.
  const seed = video.files?.length ? urls.webSeedRoot() : urls.webSeed(video.fileName)
  return {
    trackers: settings.trackerUrls,
    // Its own URL, not the player's: the web seed's cap must not slow playback in the page.
    webSeeds: settings.webSeedEnabled ? [seed] : [],
    comment: urls.page(video.id),
  }
}

/** Whether a torrent record (its JSON columns, which say what its file carries) differs from `want`. */
export function linksDiffer(
  record: { trackers: string; webSeeds: string },
  want: { trackers: string[]; webSeeds: string[] },
): boolean {
  return record.trackers !== JSON.stringify(want.trackers) || record.webSeeds !== JSON.stringify(want.webSeeds)
}
