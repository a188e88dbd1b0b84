#!/usr/bin/env bash
# Format and lint (Biome), then dead files, exports and dependencies (knip); the production pass checks that
# what ships uses only `dependencies` and uses all of them. Runs all three, fails if any failed.
# `npm run format` applies the formatting and Biome's safe fixes.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
biome check --error-on-warnings . || status=1
knip || status=1
knip --production --strict --include dependencies,unlisted,files || status=1
exit $status
