// Minimal types for parse-torrent@11 (ships none); only what we use.
declare module 'parse-torrent' {
  interface ParsedTorrent {
    infoHash: string
    name?: string
    announce?: string[]
    urlList?: string[]
    length?: number
    pieceLength?: number
    pieces?: string[]
    comment?: string
    createdBy?: string
    created?: Date
    private?: boolean
  }
  function parseTorrent(torrentId: string | Uint8Array): Promise<ParsedTorrent>
  export function toMagnetURI(parsed: Partial<ParsedTorrent>): string
  export default parseTorrent
}
