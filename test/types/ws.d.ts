// The parts of the `ws` package (a dependency of bittorrent-tracker) the tests use as a client;
// it ships no types and @types/ws is not installed.
declare module 'ws' {
  import type { EventEmitter } from 'node:events'
  import type { ClientRequestArgs, IncomingMessage } from 'node:http'
  import type { SecureContextOptions } from 'node:tls'

  export interface ClientOptions
    extends Partial<Pick<ClientRequestArgs, 'localAddress' | 'headers' | 'agent' | 'family'>> {
    ca?: SecureContextOptions['ca']
    maxPayload?: number
    perMessageDeflate?: boolean
    handshakeTimeout?: number
  }
  export default class WebSocket extends EventEmitter {
    static readonly CONNECTING: 0
    static readonly OPEN: 1
    static readonly CLOSING: 2
    static readonly CLOSED: 3
    constructor(url: string, opts?: ClientOptions)
    readonly readyState: number
    readonly bufferedAmount: number
    send(
      data: string | Buffer,
      opts?: { fin?: boolean; binary?: boolean; mask?: boolean },
      cb?: (err?: Error) => void,
    ): void
    send(data: string | Buffer, cb?: (err?: Error) => void): void
    close(code?: number, reason?: string): void
    terminate(): void
    pause(): void
    resume(): void
    on(event: 'open', listener: () => void): this
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this
    on(event: 'error', listener: (err: Error) => void): this
    on(event: 'unexpected-response', listener: (req: unknown, res: IncomingMessage) => void): this
    once(event: 'open', listener: () => void): this
    once(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this
    once(event: 'close', listener: (code: number, reason: Buffer) => void): this
    once(event: 'error', listener: (err: Error) => void): this
    once(event: 'unexpected-response', listener: (req: unknown, res: IncomingMessage) => void): this
  }
  export { WebSocket }
}
