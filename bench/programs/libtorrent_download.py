# libtorrent downloading one torrent (its trackers and web seeds as given), then seeding it, for
# the flash-crowd benchmark and its test:
#   /usr/bin/python3 libtorrent_download.py TORRENT SAVE_PATH PORT
# Listens on every address of its network namespace (so other peers can connect to it); no DHT,
# LSD, UPnP or NAT-PMP: peers come from the tracker (and peer exchange). Prints "ready PORT
# VERSION" once listening, "complete SECONDS" once it has every piece, then seeds until stdin is
# closed; errors (tracker, peer, file) go to stderr.
import sys, threading, time
import libtorrent as lt
torrent, save_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ses = lt.session({
    'listen_interfaces': '0.0.0.0:%d' % port,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'alert_mask': lt.alert_category.error,
})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save_path
started = time.time()
h = ses.add_torrent(atp)
deadline = started + 30
while not ses.is_listening():
    if time.time() > deadline:
        print('not listening after 30 s', flush=True)
        sys.exit(2)
    time.sleep(0.05)
print('ready %d %s' % (ses.listen_port(), lt.__version__), flush=True)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
complete = False
while not stop.is_set():
    for a in ses.pop_alerts():
        print('alert: %s' % a.message(), file=sys.stderr, flush=True)
    if not complete and h.status().is_seeding:
        complete = True
        print('complete %.3f' % (time.time() - started), flush=True)
    stop.wait(0.02)
