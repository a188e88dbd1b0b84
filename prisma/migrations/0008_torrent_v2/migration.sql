-- BitTorrent v2 and hybrid torrents (issue 14). Every torrent made before this is v1. For a
-- hybrid, infoHash stays the v1 SHA-1 (what v1 clients and the tracker key on) and infoHashV2 is
-- the full SHA-256 of the info dict; for a v2-only torrent infoHash is that SHA-256 truncated to
-- 20 bytes, as BEP 52 says trackers and the wire see it.
ALTER TABLE "Torrent" ADD COLUMN "format" TEXT NOT NULL DEFAULT 'v1';
ALTER TABLE "Torrent" ADD COLUMN "infoHashV2" TEXT;
CREATE UNIQUE INDEX "Torrent_infoHashV2_key" ON "Torrent"("infoHashV2");
