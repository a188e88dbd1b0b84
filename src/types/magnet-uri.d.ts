// Minimal types for magnet-uri@7 (ships none); only what the tests use.
declare module 'magnet-uri' {
  export interface MagnetData {
    infoHash?: string
    infoHashV2?: string
    name?: string | string[]
    xl?: string
    announce: string[]
    urlList: string[]
  }
  export function decode(uri: string): MagnetData
  export function encode(data: Record<string, unknown>): string
  export default decode
}
