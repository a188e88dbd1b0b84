// BitTorrent v2 for tests: a plain merkle computation to check ours against (one full tree over
// the 16 KiB block hashes), and libtorrent 2 (Debian python3-libtorrent, the only v2
// implementation here; it runs under /usr/bin/python3 only) loading a torrent and checking data.
import { PYTHON } from './libtorrent.ts'
export { libtorrentSkip } from './libtorrent.ts'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'

const BLOCK = 16 * 1024
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()

/**
 * The reference: every block hashed as it is, leaves padded with 32 zero bytes to a power of two,
 * one tree; a multi-piece file's piece layer is the layer whose nodes each cover one piece.
 */
export function referenceMerkle(data: Buffer, pieceLength: number): { root: Buffer | null; layer: Buffer | null } {
  if (data.length === 0) return { root: null, layer: null }
  let layer: Buffer[] = []
  for (let o = 0; o < data.length; o += BLOCK) layer.push(sha256(data.subarray(o, o + BLOCK)))
  let width = 1
  while (width < layer.length) width *= 2
  while (layer.length < width) layer.push(Buffer.alloc(32))
  const pieces = Math.ceil(data.length / pieceLength)
  let pieceLayer: Buffer | null = null
  for (let covered = BLOCK; layer.length > 1; covered *= 2) {
    if (covered === pieceLength && pieces > 1) pieceLayer = Buffer.concat(layer.slice(0, pieces))
    const next: Buffer[] = []
    for (let i = 0; i < layer.length; i += 2) next.push(sha256(Buffer.concat([layer[i]!, layer[i + 1]!])))
    layer = next
  }
  if (pieces > 1 && pieceLayer === null) pieceLayer = Buffer.concat(layer.slice(0, pieces))
  return { root: layer[0]!, layer: pieceLayer }
}

// Loads the torrent, reports what libtorrent read, then lets it check the data in save_path.
const SCRIPT = `
import json, sys, time, libtorrent as lt
path, save = sys.argv[1], sys.argv[2]
ti = lt.torrent_info(path)
ih = ti.info_hashes()
out = {'v1': str(ih.v1) if ih.has_v1() else None, 'v2': str(ih.v2) if ih.has_v2() else None,
       'pieces': ti.num_pieces()}
fs = ti.files()
out['roots'] = [[fs.file_path(i), str(fs.root(i)), fs.file_size(i)] for i in range(fs.num_files()) if not (fs.file_flags(i) & lt.file_storage.flag_pad_file)]
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
                  'enable_upnp': False, 'enable_natpmp': False,
                  'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.error_notification})
p = lt.add_torrent_params()
p.ti = ti
p.save_path = save
h = ses.add_torrent(p)
deadline = time.time() + 120
checked = False
while not checked and time.time() < deadline:
    ses.wait_for_alert(500)
    for a in ses.pop_alerts():
        if isinstance(a, lt.torrent_checked_alert):
            checked = True
s = h.status()
out.update({'checked': checked, 'seeding': s.is_seeding, 'have': s.num_pieces})
print(json.dumps(out))
`

export interface LtReport {
  v1: string | null
  v2: string | null
  roots: [string, string, number][] // path, pieces root (zeros for an empty file), size; pad files left out
  pieces: number
  checked: boolean
  seeding: boolean
  have: number
}

/** libtorrent loads `torrentPath` and checks the data it finds in `saveDir` against it. */
export async function libtorrentCheck(torrentPath: string, saveDir: string): Promise<LtReport> {
  const { stdout } = await promisify(execFile)(PYTHON, ['-c', SCRIPT, torrentPath, saveDir], { timeout: 180_000 })
  return JSON.parse(stdout) as LtReport
}
