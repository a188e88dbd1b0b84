// Minimal types for create-torrent@6 (ships none); only what we use.
declare module 'create-torrent' {
  interface CreateTorrentOptions {
    name?: string
    comment?: string
    createdBy?: string
    creationDate?: Date | number
    private?: boolean | number
    pieceLength?: number
    announce?: string | string[]
    announceList?: string[][]
    urlList?: string | string[]
    info?: Record<string, unknown>
  }
  type Input = string | string[] | Uint8Array | Uint8Array[]
  function createTorrent(
    input: Input,
    opts: CreateTorrentOptions,
    cb: (err: Error | null, torrent: Uint8Array) => void,
  ): void
  function createTorrent(input: Input, cb: (err: Error | null, torrent: Uint8Array) => void): void
  export default createTorrent
}
