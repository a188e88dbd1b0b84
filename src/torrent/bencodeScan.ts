// Strict bencode structure scanner. The `bencode` package decodes leniently
// (truncated strings, trailing bytes, non-dict keys all pass) and re-encoding
// may alter non-canonical input, so we locate raw byte spans ourselves: the
// infohash must be the SHA-1 of the info dict exactly as stored.
import { TorrentError } from './errors.ts';

export interface DictEntry {
  key: string; // latin1 so any byte sequence maps 1:1 and compares cheaply
  keyStart: number;
  valueStart: number;
  end: number; // exclusive end of the value
}

const MAX_DEPTH = 64; // guards against stack exhaustion on 'llll…' input
const CH_D = 0x64, CH_L = 0x6c, CH_I = 0x69, CH_E = 0x65, CH_COLON = 0x3a;

function fail(message: string): never {
  throw new TorrentError('bad_torrent', message);
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

// Returns [contentStart, end] of a byte string starting at pos.
function scanString(buf: Uint8Array, pos: number): [number, number] {
  let colon = pos;
  while (isDigit(buf[colon])) colon++;
  if (colon === pos || buf[colon] !== CH_COLON) fail(`bad string length at byte ${pos}`);
  if (colon - pos > 1 && buf[pos] === 0x30) fail(`leading zero in string length at byte ${pos}`);
  const len = Number(Buffer.from(buf.subarray(pos, colon)).toString('latin1'));
  const start = colon + 1;
  if (start + len > buf.length) fail(`string at byte ${pos} runs past end of data`);
  return [start, start + len];
}

function scanValue(buf: Uint8Array, pos: number, depth = 0): number {
  if (depth > MAX_DEPTH) fail('nesting too deep');
  const b = buf[pos];
  if (b === CH_I) {
    const end = buf.indexOf(CH_E, pos + 1);
    if (end < 0) fail(`unterminated integer at byte ${pos}`);
    const text = Buffer.from(buf.subarray(pos + 1, end)).toString('latin1');
    if (!/^(0|-?[1-9][0-9]*)$/.test(text)) fail(`bad integer at byte ${pos}`);
    return end + 1;
  }
  if (b === CH_L) {
    let p = pos + 1;
    while (buf[p] !== CH_E) {
      if (p >= buf.length) fail(`unterminated list at byte ${pos}`);
      p = scanValue(buf, p, depth + 1);
    }
    return p + 1;
  }
  if (b === CH_D) {
    let p = pos + 1;
    while (buf[p] !== CH_E) {
      if (p >= buf.length) fail(`unterminated dict at byte ${pos}`);
      p = scanValue(buf, scanString(buf, p)[1], depth + 1);
    }
    return p + 1;
  }
  if (isDigit(b)) return scanString(buf, pos)[1];
  return fail(`unexpected byte at ${pos}`);
}

// Validates that buf is exactly one dict and returns its entries' spans.
export function topLevelEntries(buf: Uint8Array): DictEntry[] {
  if (buf.length === 0 || buf[0] !== CH_D) fail('not a bencoded dictionary');
  if (scanValue(buf, 0) !== buf.length) fail('trailing bytes after dictionary');
  const entries: DictEntry[] = [];
  let p = 1;
  while (buf[p] !== CH_E) {
    const [keyContent, valueStart] = scanString(buf, p);
    const key = Buffer.from(buf.subarray(keyContent, valueStart)).toString('latin1');
    const end = scanValue(buf, valueStart, 1);
    // A duplicate 'info' would make "the" infohash ambiguous.
    if (entries.some((e) => e.key === key)) fail(`duplicate key ${JSON.stringify(key)}`);
    entries.push({ key, keyStart: p, valueStart, end });
    p = end;
  }
  return entries;
}
