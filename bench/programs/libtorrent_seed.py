# libtorrent seeding one torrent in place (seed mode), for bench/seeder.ts:
#   /usr/bin/python3 libtorrent_seed.py TORRENT SAVE_PATH PORT
# Prints "ready PORT VERSION" once seeding and listening; runs until stdin is closed.
import sys, time
import libtorrent as lt
torrent, save_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ses = lt.session({
    'listen_interfaces': '127.0.0.1:%d' % port,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'alert_mask': lt.alert_category.error,
})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(torrent)
atp.save_path = save_path
atp.flags = lt.torrent_flags.seed_mode
h = ses.add_torrent(atp)
deadline = time.time() + 30
while not (h.status().is_seeding and ses.is_listening()):
    if time.time() > deadline:
        print('not seeding after 30 s: state %s' % h.status().state, flush=True)
        sys.exit(2)
    time.sleep(0.05)
print('ready %d %s' % (ses.listen_port(), lt.__version__), flush=True)
sys.stdin.read()  # run until the benchmark closes our stdin
