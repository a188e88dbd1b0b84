-- Media details read by ffprobe and a poster thumbnail made by ffmpeg (issue 13). Videos stored
-- before this are "pending": the start-up queues them.
ALTER TABLE "Video" ADD COLUMN "detailsStatus" TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE "Video" ADD COLUMN "durationSec" DOUBLE PRECISION;
ALTER TABLE "Video" ADD COLUMN "width" INTEGER;
ALTER TABLE "Video" ADD COLUMN "height" INTEGER;
ALTER TABLE "Video" ADD COLUMN "videoCodec" TEXT;
ALTER TABLE "Video" ADD COLUMN "audioCodec" TEXT;
ALTER TABLE "Video" ADD COLUMN "formatName" TEXT;
ALTER TABLE "Video" ADD COLUMN "hasThumbnail" BOOLEAN NOT NULL DEFAULT false;
