-- CreateTable
CREATE TABLE "SettingChange" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "field" TEXT NOT NULL,
    "before" TEXT NOT NULL,
    "after" TEXT NOT NULL
);

-- CreateIndex
CREATE INDEX "SettingChange_at_idx" ON "SettingChange"("at");
