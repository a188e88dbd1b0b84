// The parts of webtorrent 3 that the seeder uses (the package ships no types).
declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events'
  namespace WebTorrent {
    interface Options {
      torrentPort?: number
      dht?: boolean
      lsd?: boolean
      natUpnp?: boolean
      natPmp?: boolean
      utp?: boolean
      webSeeds?: boolean
      maxConns?: number
      tracker?: boolean | object
    }
    interface TorrentOptions {
      path?: string
      skipVerify?: boolean
      announce?: string[]
      getAnnounceOpts?: () => Record<string, unknown>
      uploads?: number | false
    }
    interface Torrent extends EventEmitter {
      infoHash: string
      uploaded: number
      numPeers: number
      ready: boolean
      done: boolean
    }
    interface Instance extends EventEmitter {
      torrents: Torrent[]
      torrentPort: number
      listening: boolean
      add(torrentId: Buffer | string, opts?: TorrentOptions, ontorrent?: (t: Torrent) => void): Torrent
      get(torrentId: string): Promise<Torrent | null>
      remove(torrentId: string, opts: { destroyStore?: boolean }, cb?: (err?: Error) => void): Promise<void>
      destroy(cb?: (err?: Error) => void): void
      /** Bytes per second for all uploads together; -1 = no cap. */
      throttleUpload(rate: number): boolean | undefined
    }
  }
  const WebTorrent: {
    new (opts?: WebTorrent.Options): WebTorrent.Instance
    WEBRTC_SUPPORT: boolean
    UTP_SUPPORT: boolean
  }
  export default WebTorrent
}
