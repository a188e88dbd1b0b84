-- Lists (home page, GET /api/videos, feeds) go newest first by (createdAt, id). On an index of
-- createdAt alone SQLite sorted the rest in a temporary B-tree: with 10,000 videos (bench:load)
-- the API list's first page took tens of milliseconds and the list ran at about 30 requests/s.
-- On (createdAt, id) the newest rows come straight off the index. It also serves createdAt alone.
DROP INDEX "Video_createdAt_idx";
CREATE INDEX "Video_createdAt_id_idx" ON "Video"("createdAt", "id");
