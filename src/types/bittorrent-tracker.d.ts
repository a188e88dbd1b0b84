// The parts of bittorrent-tracker's server that Seedcast uses (the package ships no types).
declare module 'bittorrent-tracker/server' {
  import type { EventEmitter } from 'node:events'
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export interface TrackerSwarm {
    infoHash: string
    complete: number
    incomplete: number
  }
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
    torrents: Record<string, TrackerSwarm | undefined>
    intervalMs: number
    destroyed: boolean
    onHttpRequest(req: IncomingMessage, res: ServerResponse, opts?: { action?: 'announce' | 'scrape'; trustProxy?: boolean }): void
    close(cb?: () => void): void
  }
}
