// Minimal types for bencode@4 (ships none). decode returns Uint8Array for
// byte strings, numbers for integers, arrays and plain objects.
declare module 'bencode' {
  const bencode: {
    encode(data: unknown): Uint8Array
    decode(data: Uint8Array, encoding?: string): unknown
    decode(data: Uint8Array, start?: number, end?: number, encoding?: string): unknown
    byteLength(data: unknown): number
    encodingLength(data: unknown): number
  }
  export default bencode
}
