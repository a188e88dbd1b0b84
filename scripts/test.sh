#!/usr/bin/env bash
# Runs every test tier with the project's Node 24 (node_modules/.bin first on PATH under npm).
set -euo pipefail
cd "$(dirname "$0")/.."
node --version
tsc --noEmit -p .
exec node --test --test-concurrency=1 --test-timeout=600000 \
  'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts'
