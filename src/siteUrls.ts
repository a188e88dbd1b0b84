// Every absolute URL the site hands out is built here, on PUBLIC_URL. At the top: media/ builds
// them into torrents, web/ into pages, and neither imports the other's folder for it.
export interface SiteUrls {
  base: string
  page(videoId: string): string
  /** The file for the page's player and direct downloads (never capped). */
  file(fileName: string): string
  /** The same file as the torrents' web seed (BEP 19), under the web seed's upload cap. */
  webSeed(fileName: string): string
  /** The web seed of multi-file torrents (BEP 19): clients add <folder>/<file>. */
  webSeedRoot(): string
  /** An extra file of a release, for downloads from the page (never capped). */
  releaseFile(folder: string, name: string): string
  torrent(videoId: string): string
  /** The video's poster frame (src/media/mediaDetails.ts). */
  thumbnail(videoId: string): string
  announce(): string
}

export function siteUrls(publicUrl: string): SiteUrls {
  const base = publicUrl.replace(/\/+$/, '')
  return {
    base,
    page: (id) => `${base}/videos/${encodeURIComponent(id)}`,
    file: (fileName) => `${base}/media/${encodeURIComponent(fileName)}`,
    webSeed: (fileName) => `${base}/seed/${encodeURIComponent(fileName)}`,
    webSeedRoot: () => `${base}/seed/`,
    releaseFile: (folder, name) => `${base}/media/${encodeURIComponent(folder)}/${encodeURIComponent(name)}`,
    torrent: (id) => `${base}/videos/${encodeURIComponent(id)}/torrent`,
    thumbnail: (id) => `${base}/videos/${encodeURIComponent(id)}/thumbnail`,
    announce: () => `${base}/announce`,
  }
}
