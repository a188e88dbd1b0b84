// libtorrent 2 (Debian python3-libtorrent, under /usr/bin/python3 only: the one BitTorrent v2
// client here) as a downloader on loopback: from a .torrent or a magnet link, with DHT, LSD,
// UPnP and NAT-PMP off, from the peers its trackers (and web seeds) give plus one peer named by
// the test. Once it has everything it checks the data again itself (force_recheck) and reports.
import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

/** The one Python that loads Debian's libtorrent. */
export const PYTHON = '/usr/bin/python3'

export function hasLibtorrent(): boolean {
  if (!existsSync(PYTHON)) return false
  try {
    execFileSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** A skip reason for node:test when libtorrent 2 is not there, else false. */
export const libtorrentSkip: string | false = hasLibtorrent() ? false : 'python3-libtorrent not installed'

const SCRIPT = `
import json, re, sys, time, libtorrent as lt
src, save, peer, timeout, rc4 = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == 'rc4'
# transport: 'tcp' (TCP only), 'utp' (uTP only, both ways) or 'utp-in' (takes uTP only, dials no one).
transport, until_two_closes = sys.argv[6], sys.argv[7] == '1'
tcp, utp = transport == 'tcp', transport != 'tcp'
settings = {'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
            'enable_upnp': False, 'enable_natpmp': False, 'enable_incoming_utp': utp,
            'enable_outgoing_utp': transport == 'utp', 'enable_incoming_tcp': tcp,
            'enable_outgoing_tcp': tcp, 'allow_multiple_connections_per_ip': True,
            # The peer log is chatty (a line per block): a short queue would drop the lines counted here.
            'alert_queue_size': 1000000,
            'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
                          | lt.alert.category_t.peer_log_notification | lt.alert.category_t.peer_notification
                          | lt.alert.category_t.connect_notification}
if rc4:
    # What qBittorrent's "Require encryption" sets: encrypted connections only, RC4 for the whole stream.
    settings.update({'out_enc_policy': int(lt.enc_policy.forced), 'in_enc_policy': int(lt.enc_policy.forced),
                     'allowed_enc_level': int(lt.enc_level.rc4)})
ses = lt.session(settings)
if src.startswith('magnet:'):
    p = lt.parse_magnet_uri(src)
else:
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(src)
p.save_path = save
h = ses.add_torrent(p)
out = {'hash_failures': 0, 'errors': [], 'peers': [], 'served': [], 'hash_messages': {}, 'rc4_peers': [],
       'utp_peers': [], 'tcp_peers': [], 'closes': []}
start = time.time()
opened = {}
def note(a):
    if isinstance(a, lt.hash_failed_alert):
        out['hash_failures'] += 1
    elif isinstance(a, lt.peer_connect_alert):
        opened['%s:%d' % (a.endpoint[0], a.endpoint[1])] = time.time()
    elif isinstance(a, lt.peer_disconnected_alert):
        k = '%s:%d' % (a.endpoint[0], a.endpoint[1])
        out['closes'].append({'peer': k, 'error': a.error.message(), 'ms': int((time.time() - opened.get(k, start)) * 1000),
                              'at_ms': int((time.time() - start) * 1000)})
    elif isinstance(a, lt.peer_log_alert):
        # BEP 52 messages (libtorrent logs each: HASH_REQUEST sent, HASHES and HASH_REJECT got).
        m = re.search(r'(?:<==|==>) (HASH[A-Z_]*) ', a.message())
        if m:
            out['hash_messages'][m.group(1)] = out['hash_messages'].get(m.group(1), 0) + 1
    elif a.category() & lt.alert.category_t.error_notification:
        out['errors'].append(a.message())
deadline = start + timeout
# peer_info's utp_socket flag (bit 17 in libtorrent 2.0's peer_info.hpp, between holepunched = 15 and
# rc4_encrypted = 19): Debian's binding does not name it.
UTP_SOCKET = getattr(lt.peer_info, 'utp_socket', 1 << 17)
last_connect = 0
while time.time() < deadline:
    if peer and time.time() - last_connect > 2 and h.status().num_peers == 0:
        h.connect_peer(('127.0.0.1', peer))
        last_connect = time.time()
    ses.wait_for_alert(200)
    for a in ses.pop_alerts():
        note(a)
    for pi in h.get_peer_info():
        k = '%s:%d' % (pi.ip[0], pi.ip[1])
        if k not in out['peers']:
            out['peers'].append(k)
        # By peer id: a peer that dialled in is known by its ephemeral port, not its listening one.
        who = bytes(pi.pid.to_bytes())[:8].decode('latin1')
        if pi.total_download > 0 and who not in out['served']:
            out['served'].append(who)
        if pi.flags & lt.peer_info.rc4_encrypted and k not in out['rc4_peers']:
            out['rc4_peers'].append(k)
        # Over which transport: only a connected peer's flags say (connecting ones have no socket yet).
        if not pi.flags & lt.peer_info.connecting and not pi.flags & lt.peer_info.handshake:
            which = 'utp_peers' if pi.flags & UTP_SOCKET else 'tcp_peers'
            if k not in out[which]:
                out[which].append(k)
    if h.status().is_seeding or (until_two_closes and len(out['closes']) >= 2):
        break
# What came in between the last pop and the status that ended the loop (the last HASHES, say).
for a in ses.pop_alerts():
    note(a)
s = h.status()
out['finished'] = s.is_seeding
out['downloaded'] = s.total_payload_download
# Its own check of what it wrote: every piece again, against the torrent's hashes.
checked = False
if s.is_seeding:
    h.force_recheck()
    end = time.time() + 60
    while not checked and time.time() < end:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            note(a)
            if isinstance(a, lt.torrent_checked_alert):
                checked = True
s = h.status()
ti = h.torrent_file()
ih = ti.info_hashes() if ti else None
out['v1'] = str(ih.v1) if ih and ih.has_v1() else None
out['v2'] = str(ih.v2) if ih and ih.has_v2() else None
out.update({'checked': checked, 'have': s.num_pieces, 'pieces': ti.num_pieces() if ti else 0,
            'seeding_after_check': s.is_seeding})
print(json.dumps(out))
`

export interface LibtorrentRun {
  /** The infohashes it read from the torrent (hex); null for the part it lacks (v1 of a v2-only torrent). */
  v1: string | null
  v2: string | null
  finished: boolean
  /** Its recheck ran, and then: pieces it has, of how many. */
  checked: boolean
  have: number
  pieces: number
  seeding_after_check: boolean
  hash_failures: number
  downloaded: number
  errors: string[]
  /** ip:port of every peer it was connected to (or connecting to: PEX and trackers name others). */
  peers: string[]
  /** The peer id prefixes (8 bytes, e.g. the seeder's) of those it got payload bytes from. */
  served: string[]
  /** Those of them whose whole stream was RC4-encrypted. */
  rc4_peers: string[]
  /** BEP 52 messages it sent or got, by libtorrent's log name (HASH_REQUEST, HASHES, HASH_REJECT). */
  hash_messages: Record<string, number>
  /** ip:port of the peers it was connected to over uTP (peer_info's utp_socket flag), and over TCP. */
  utp_peers: string[]
  tcp_peers: string[]
  /** Each connection that ended: why (libtorrent's error message), after how long, and when in the run. */
  closes: { peer: string; error: string; ms: number; at_ms: number }[]
}

/**
 * 'tcp': TCP only, in and out (the default); 'utp': uTP only, in and out; 'utp-in': takes uTP
 * connections only and dials no one (a peer only a dial over uTP reaches).
 */
export type LibtorrentTransport = 'tcp' | 'utp' | 'utp-in'

/**
 * Downloads `source` (a .torrent path or a magnet link) into `saveDir`; `peerPort`: a peer on
 * 127.0.0.1 to connect to; `requireRc4`: encrypted connections only, RC4 (in and out enc_policy forced).
 */
export async function libtorrentDownload(opts: {
  source: string
  saveDir: string
  peerPort?: number
  timeoutMs?: number
  requireRc4?: boolean
  transport?: LibtorrentTransport
  /** Stop once two connections have ended (to see how a peer that drops it is told). */
  untilTwoCloses?: boolean
}): Promise<LibtorrentRun> {
  const timeout = (opts.timeoutMs ?? 60_000) / 1000
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      PYTHON,
      [
        '-c',
        SCRIPT,
        opts.source,
        opts.saveDir,
        String(opts.peerPort ?? 0),
        String(timeout),
        opts.requireRc4 ? 'rc4' : 'any',
        opts.transport ?? 'tcp',
        opts.untilTwoCloses ? '1' : '0',
      ],
      { timeout: (timeout + 90) * 1000 },
      // The exit code or signal and the output's end: a run that died without a word (once in CI,
      // a uTP download after 3 s) says how.
      (err, out, errOut) =>
        err
          ? reject(
              new Error(
                `libtorrent exited (code ${err.code ?? '-'}, signal ${err.signal ?? '-'}); stderr: ${errOut.slice(-2000)}; stdout: ${out.slice(-2000)}`,
              ),
            )
          : resolve(out),
    ),
  )
  return JSON.parse(stdout) as LibtorrentRun
}
