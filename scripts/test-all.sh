#!/usr/bin/env bash
# One command from a fresh clone to a full test run: Debian packages the tests drive,
# npm dependencies (Node 24 included), then every test tier. .ci/run calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# command -> Debian package
declare -A NEED=(
  [aria2c]=aria2 [transmission-show]=transmission-cli [transmission-cli]=transmission-cli [transmission-daemon]=transmission-daemon
  [mktorrent]=mktorrent [ffmpeg]=ffmpeg [chromium]=chromium [opentracker]=opentracker [nginx]=nginx [nft]=nftables [openssl]=openssl
  [luajit]=luajit [qbittorrent-nox]=qbittorrent-nox [rtorrent]=rtorrent [ip]=iproute2 [tc]=iproute2 [sqlite3]=sqlite3 [pg_dump]=postgresql-client
)
missing=()
for cmd in "${!NEED[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}"); done
# libtorrent is a Python module (it loads under the system python3 only), not a command.
/usr/bin/python3 -c 'import libtorrent' >/dev/null 2>&1 || missing+=(python3-libtorrent)
# The PostgreSQL server binaries live outside PATH (scripts/postgres.sh finds them).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "Installing Debian packages: $pkgs"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
fi

npm ci --no-audit --no-fund
npm test

# The whole suite again on PostgreSQL (integration and end-to-end tiers: every test there touches
# the database; the unit tier does not): a private server on loopback (scripts/postgres.sh),
# removed afterwards. TEST_PG_E2E=0 leaves the end-to-end tier out (about 4 minutes less).
export PG_DIR=${PG_DIR:-$(mktemp -d /tmp/seedcast-ci-pg.XXXXXX)} PG_PORT=${PG_PORT:-55433}
trap 'bash scripts/postgres.sh stop' EXIT
url=$(bash scripts/postgres.sh start)
echo "PostgreSQL pass on $url"
tiers=(integration)
[ "${TEST_PG_E2E:-1}" = 0 ] || tiers+=(e2e)
# The whole suite on both: the five timing tests (SERIAL in scripts/test.sh) run alone here too.
# TEST_PG_SERIAL=0 leaves them out of this pass (about 2.5 minutes less).
phase=all
[ "${TEST_PG_SERIAL:-1}" != 0 ] || phase=concurrent
TEST_PHASE=$phase TEST_POSTGRES_URL=$url TEST_SKIP_CHECKS=1 npm test -- "${tiers[@]}"
