-- AlterTable
ALTER TABLE "Torrent" ADD COLUMN "fileMtimeMs" BIGINT;
