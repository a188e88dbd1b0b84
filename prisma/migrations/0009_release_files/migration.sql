-- Multi-file releases (issue 14): a video's extra files (subtitles, other renditions, a poster),
-- stored as media/<fileName>.extras/<name>, and the torrents a video had before its files changed,
-- kept seeded and tracked until an admin removes them (Torrent stays the current one).
CREATE TABLE "VideoFile" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "videoId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "kind" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "VideoFile_videoId_fkey" FOREIGN KEY ("videoId") REFERENCES "Video" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "VideoFile_videoId_name_key" ON "VideoFile"("videoId", "name");

CREATE TABLE "RetiredTorrent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "videoId" TEXT NOT NULL,
    "infoHash" TEXT NOT NULL,
    "infoHashV2" TEXT,
    "format" TEXT NOT NULL,
    "torrentFile" TEXT NOT NULL,
    "completed" INTEGER NOT NULL DEFAULT 0,
    "size" BIGINT NOT NULL,
    "fileMtimeMs" BIGINT,
    "trackers" TEXT NOT NULL,
    "extras" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "retiredAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "RetiredTorrent_videoId_fkey" FOREIGN KEY ("videoId") REFERENCES "Video" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "RetiredTorrent_infoHash_key" ON "RetiredTorrent"("infoHash");
CREATE INDEX "RetiredTorrent_videoId_idx" ON "RetiredTorrent"("videoId");
