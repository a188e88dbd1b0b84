# libtorrent downloading one torrent over uTP only from one peer, for bench/seeder.ts's uTP row:
#   /usr/bin/python3 libtorrent_utp_get.py TORRENT SAVE_PATH PEER_PORT [WANT_BYTES]
# TCP off both ways, no DHT, LSD, UPnP or NAT-PMP; the peer (127.0.0.1:PEER_PORT) is dialled
# directly; with WANT_BYTES only the pieces holding the first WANT_BYTES are asked for. Prints one
# JSON line: seconds from start to the first payload byte and to the last
# piece, the payload bytes, and whether every connection that carried payload was uTP.
import json, sys, time
import libtorrent as lt
torrent, save_path, peer = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = int(sys.argv[4]) if len(sys.argv) > 4 else None
ses = lt.session({
    'listen_interfaces': '127.0.0.1:0',
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'enable_outgoing_tcp': False, 'enable_incoming_tcp': False,
    'enable_outgoing_utp': True, 'enable_incoming_utp': True,
    'alert_mask': lt.alert_category.error,
})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save_path
if want is not None:
    wanted = -(-want // atp.ti.piece_length())
    atp.piece_priorities = [1 if i < wanted else 0 for i in range(atp.ti.num_pieces())]
# peer_info's utp_socket flag (1 << 17 in libtorrent 2.0), not exported by Debian's binding.
UTP_SOCKET = getattr(lt.peer_info, 'utp_socket', 1 << 17)
started = time.time()
h = ses.add_torrent(atp)
first = None
only_utp = True
last_connect = 0
deadline = started + 180
while time.time() < deadline:
    s = h.status()
    if s.is_finished:
        break
    if s.num_peers == 0 and time.time() - last_connect > 1:
        h.connect_peer(('127.0.0.1', peer))
        last_connect = time.time()
    if first is None and s.total_payload_download > 0:
        first = time.time() - started
    for pi in h.get_peer_info():
        if pi.total_download > 0 and not (pi.flags & UTP_SOCKET):
            only_utp = False
    time.sleep(0.005)
s = h.status()
print(json.dumps({'first': first, 'complete': time.time() - started if s.is_finished else None,
                  'bytes': s.total_payload_download, 'wanted': s.total_wanted, 'utp': only_utp}), flush=True)
sys.exit(0 if s.is_finished else 1)
