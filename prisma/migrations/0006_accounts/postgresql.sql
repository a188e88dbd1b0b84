-- Accounts, roles and tokens (issue 11).
ALTER TABLE "User" ADD COLUMN "disabled" BOOLEAN NOT NULL DEFAULT false;

-- Session ids are stored hashed from now on: the raw ids stored so far would match nothing.
DELETE FROM "Session";

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "userId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

ALTER TABLE "Video" ADD COLUMN "published" BOOLEAN NOT NULL DEFAULT true;

-- CreateIndex
CREATE INDEX "Video_uploaderId_idx" ON "Video"("uploaderId");

-- Videos from before owners were recorded belong to the first admin (the start-up does the same
-- for a database that has no admin yet).
UPDATE "Video" SET "uploaderId" = (SELECT MIN("id") FROM "User" WHERE "role" = 'admin') WHERE "uploaderId" IS NULL;
