// The public parts of bittorrent-tracker's server that Seedcast uses (the package ships no
// types). Only src/tracker/wsTracker.ts imports it; the members it reaches beyond these are typed
// there, next to the code that uses them.
declare module 'bittorrent-tracker/server' {
  import type { EventEmitter } from 'node:events'

  export interface AnnounceParams {
    info_hash: string
    peer_id: string
    event?: string
    left?: number
    addr?: string
  }
  export interface ServerOptions {
    interval?: number
    trustProxy?: boolean
    http?: boolean | object
    udp?: boolean | object
    ws?: boolean | object
    stats?: boolean
    filter?: (infoHash: string, params: AnnounceParams, cb: (err?: Error | null) => void) => void
  }
  export default class Server extends EventEmitter {
    constructor(opts?: ServerOptions)
    close(cb?: () => void): void
  }
}
