// The parts of bittorrent-tracker's client the tests use (the package ships no types).
declare module 'bittorrent-tracker/client' {
  import type { EventEmitter } from 'node:events'

  export interface ClientOptions {
    infoHash: string | Uint8Array // a string is hex
    peerId: string | Uint8Array // a string is hex
    announce: string[]
    port: number
    rtcConfig?: object
    getAnnounceOpts?: () => Record<string, unknown>
  }
  export default class Client extends EventEmitter {
    constructor(opts: ClientOptions)
    start(opts?: object): void
    stop(opts?: object): void
    update(opts?: object): void
    complete(opts?: object): void
    scrape(opts?: object): void
    destroy(cb?: (err?: Error | null) => void): void
  }
}
