// Magnet links (BEP 9): xt/dn/xl/tr plus BEP 19 `ws` web seeds, which let a
// magnet-only client fetch from our HTTP server before any peer exists.
import { TorrentError } from './errors.ts';

export interface MagnetParams {
  infoHash: string;
  name: string;
  length: number;
  trackers: string[];
  webSeeds: string[];
}

export interface ParsedMagnet {
  infoHash: string;
  name?: string;
  length?: number;
  trackers: string[];
  webSeeds: string[];
}

const HEX_HASH = /^[0-9a-fA-F]{40}$/;
const BASE32_HASH = /^[A-Za-z2-7]{32}$/;
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function bad(message: string): never {
  throw new TorrentError('bad_magnet', message);
}

export function buildMagnet(p: MagnetParams): string {
  if (!HEX_HASH.test(p.infoHash)) bad(`infoHash must be 40 hex chars, got ${p.infoHash}`);
  if (!Number.isSafeInteger(p.length) || p.length < 0) bad(`length must be a non-negative integer, got ${p.length}`);
  const parts = [
    `xt=urn:btih:${p.infoHash.toLowerCase()}`,
    `dn=${encodeURIComponent(p.name)}`,
    `xl=${p.length}`,
    ...p.trackers.map((t) => `tr=${encodeURIComponent(t)}`),
    ...p.webSeeds.map((w) => `ws=${encodeURIComponent(w)}`),
  ];
  return `magnet:?${parts.join('&')}`;
}

// Older clients emit 32-char base32 btih values; normalise to hex.
function base32ToHex(s: string): string {
  let bits = '';
  for (const c of s.toUpperCase()) bits += BASE32_ALPHABET.indexOf(c).toString(2).padStart(5, '0');
  let hex = '';
  for (let i = 0; i < 160; i += 4) hex += parseInt(bits.slice(i, i + 4), 2).toString(16);
  return hex;
}

export function parseMagnet(uri: string): ParsedMagnet {
  if (typeof uri !== 'string' || !uri.startsWith('magnet:?')) bad('not a magnet URI');
  const out: ParsedMagnet = { infoHash: '', trackers: [], webSeeds: [] };
  for (const pair of uri.slice('magnet:?'.length).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) bad(`malformed parameter: ${pair}`);
    const key = pair.slice(0, eq);
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(eq + 1));
    } catch {
      bad(`bad percent-encoding in ${key}`);
    }
    if (key === 'xt') {
      // Only the first v1 hash counts; hybrid links may also carry urn:btmh.
      const m = /^urn:btih:(.+)$/i.exec(value);
      if (m === null || out.infoHash !== '') continue;
      const h = m[1]!;
      if (HEX_HASH.test(h)) out.infoHash = h.toLowerCase();
      else if (BASE32_HASH.test(h)) out.infoHash = base32ToHex(h);
      else bad(`bad btih value: ${h}`);
    } else if (key === 'dn') {
      out.name = value;
    } else if (key === 'xl') {
      if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) bad(`bad xl: ${value}`);
      out.length = Number(value);
    } else if (key === 'tr') {
      out.trackers.push(value);
    } else if (key === 'ws') {
      out.webSeeds.push(value);
    }
  }
  if (out.infoHash === '') bad('missing xt=urn:btih');
  return out;
}
