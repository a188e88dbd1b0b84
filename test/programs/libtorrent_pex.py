# Two libtorrent downloaders (A and B) of one torrent, told only of the seeder on 127.0.0.1
# (no tracker, no DHT, LSD, UPnP or NAT-PMP), downloading slowly so that they stay leechers:
# whatever else they connect to they learnt from the seeder's ut_pex messages (BEP 11).
#   /usr/bin/python3 libtorrent_pex.py TORRENT SAVE_DIR SEEDER_PORT TIMEOUT_S
# Prints one JSON line: each one's listening port and the peers it connected to, with libtorrent's
# source flags (pex: it learnt of the peer by peer exchange).
import json, os, sys, time
import libtorrent as lt
torrent, save_dir, seeder_port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

def session():
    return lt.session({
        'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
        'enable_upnp': False, 'enable_natpmp': False, 'enable_incoming_utp': False,
        'enable_outgoing_utp': False, 'allow_multiple_connections_per_ip': True,
        'alert_mask': lt.alert_category.error,
    })

peers = {}
handles = {}
sessions = {}
for name in ('a', 'b'):
    ses = session()
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(torrent)
    p.save_path = os.path.join(save_dir, name)
    sessions[name] = ses
    handles[name] = ses.add_torrent(p)
    # The torrent's own limit: the session's does not apply to peers on the local network.
    handles[name].set_download_limit(32 * 1024)
    peers[name] = {}
deadline = time.time() + timeout
last_connect = 0
while time.time() < deadline:
    if time.time() - last_connect > 2:
        for name, h in handles.items():
            if not any(k.endswith(':%d' % seeder_port) for k in peers[name]):
                h.connect_peer(('127.0.0.1', seeder_port))
        last_connect = time.time()
    time.sleep(0.2)
    for name, h in handles.items():
        for pi in h.get_peer_info():
            peers[name]['%s:%d' % (pi.ip[0], pi.ip[1])] = {'pex': bool(pi.source & lt.peer_info.pex),
                                                         'outgoing': bool(pi.flags & lt.peer_info.outgoing_connection)}
    if any(v['pex'] for n in peers for v in peers[n].values()):
        break
print(json.dumps({'ports': {n: s.listen_port() for n, s in sessions.items()}, 'peers': peers,
                  'seeding': {n: h.status().is_seeding for n, h in handles.items()}}))
