-- CreateTable
CREATE TABLE "VideoOffload" (
    "videoId" TEXT NOT NULL PRIMARY KEY,
    "seederBytes" BIGINT NOT NULL DEFAULT 0,
    "webSeedBytes" BIGINT NOT NULL DEFAULT 0,
    "playbackBytes" BIGINT NOT NULL DEFAULT 0,
    "downloadedBytes" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "VideoOffload_videoId_fkey" FOREIGN KEY ("videoId") REFERENCES "Video" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "OffloadSample" (
    "at" TIMESTAMP(3) NOT NULL PRIMARY KEY,
    "seederBytes" BIGINT NOT NULL DEFAULT 0,
    "webSeedBytes" BIGINT NOT NULL DEFAULT 0,
    "playbackBytes" BIGINT NOT NULL DEFAULT 0,
    "downloadedBytes" BIGINT NOT NULL DEFAULT 0
);
