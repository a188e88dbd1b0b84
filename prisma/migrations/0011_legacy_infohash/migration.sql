-- The infohash aria2c before 1.37 (Debian 12's) computes for a hybrid torrent: its bencode reader
-- drops the empty keys of the v2 file tree, so it hashes another info dict (aria2 #1903). The
-- tracker takes it as one more alias of the torrent's swarm. Null for v1 and v2-only torrents;
-- hybrid torrents are new with migration 0008, none predate this.
ALTER TABLE "Torrent" ADD COLUMN "legacyInfoHash" TEXT;
ALTER TABLE "RetiredTorrent" ADD COLUMN "legacyInfoHash" TEXT;
