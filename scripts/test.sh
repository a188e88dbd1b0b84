#!/usr/bin/env bash
# Type-checks and lints (Biome, knip), then runs the test tiers named (unit, integration, e2e; all three by default) with
# the project's Node 24 (node_modules/.bin first on PATH under npm). Test files run several at a
# time, each in its own process on its own ports and temporary directories; the files in SERIAL
# then run one at a time, alone on the machine. Fails if any file fails.
set -euo pipefail
cd "$(dirname "$0")/.."
node --version
# TEST_SKIP_CHECKS=1: a second pass of the tests (on PostgreSQL) after a first that checked.
if [ "${TEST_SKIP_CHECKS:-}" != 1 ]; then
  tsc --noEmit -p .
  bash scripts/lint.sh
fi
# The production build (dist/), for the tests that run what npm start and the guide's units run.
# Built here, before any test starts: the tests' own up-to-date checks then write nothing.
npm run build --silent

# Files that compare a timing or throughput (under attack, under a cap) with the same measurement without it:
# another file's load during one of the two phases breaks the comparison. The two-browser P2P test
# runs here too: its browsers must play in real time while the web seed trickles at 20 KB/s.
SERIAL=(
  test/e2e/attack-seeder-mse-cpu.test.ts
  test/e2e/attack-seeder-slots.test.ts
  test/e2e/upload-caps.test.ts
  test/e2e/p2p-playback.test.ts
  test/integration/attack-web-password-guessing.test.ts
)
# Node's compile cache for every process the tests start (test files, servers, the CLI): each
# one loads the TypeScript sources again, and from the cache that costs about 0.3 s of CPU less
# (a CLI start 0.6 s -> 0.25 s). Keyed by each file's content, so an edited file is compiled again.
export NODE_COMPILE_CACHE=${NODE_COMPILE_CACHE:-$PWD/node_modules/.cache/seedcast-compile}
# --expose-gc as the site's own processes have it (src/runtimeFlags.ts); memory tests call gc().
# Most of a test's time is spent waiting (child processes, timers, the network), so more files
# than cores at once keeps the cores busy.
CONCURRENCY=${TEST_CONCURRENCY:-6}

tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(unit integration e2e)
shopt -s globstar nullglob
for s in "${SERIAL[@]}"; do [ -f "$s" ] || { echo "scripts/test.sh: $s (in SERIAL) does not exist" >&2; exit 1; }; done
concurrent=() serial=()
for tier in "${tiers[@]}"; do
  for f in "test/$tier"/**/*.test.ts; do
    if [[ " ${SERIAL[*]} " == *" $f "* ]]; then serial+=("$f"); else concurrent+=("$f"); fi
  done
done
[ $((${#concurrent[@]} + ${#serial[@]})) -gt 0 ] || { echo "scripts/test.sh: no test files in: ${tiers[*]}" >&2; exit 1; }

# TEST_PHASE=concurrent or serial runs only that part (scripts/test-all.sh's PostgreSQL pass runs
# the concurrent part).
phase=${TEST_PHASE:-all}
# spec as before, and the slowest files at the end (scripts/file-times.mjs).
REPORTERS=(--test-reporter=spec --test-reporter-destination=stdout
  --test-reporter=./scripts/file-times.mjs --test-reporter-destination=stdout)
status=0
if [ "$phase" != serial ] && [ ${#concurrent[@]} -gt 0 ]; then
  node --expose-gc --test "${REPORTERS[@]}" --test-concurrency="$CONCURRENCY" --test-timeout=600000 "${concurrent[@]}" || status=$?
fi
if [ "$phase" != concurrent ] && [ ${#serial[@]} -gt 0 ]; then
  node --expose-gc --test "${REPORTERS[@]}" --test-concurrency=1 --test-timeout=600000 "${serial[@]}" || status=$?
fi
exit "$status"
