-- CreateTable
CREATE TABLE "SwarmSample" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "torrentId" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "seeders" INTEGER NOT NULL,
    "leechers" INTEGER NOT NULL,
    CONSTRAINT "SwarmSample_torrentId_fkey" FOREIGN KEY ("torrentId") REFERENCES "Torrent" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "SwarmSample_torrentId_at_idx" ON "SwarmSample"("torrentId", "at");
