#!/usr/bin/env bash
# One command from a fresh clone to a full test run: Debian packages the tests drive,
# npm dependencies (Node 24 included), then every test tier. .ci/run calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# command -> Debian package
declare -A NEED=(
  [aria2c]=aria2 [transmission-show]=transmission-cli [transmission-cli]=transmission-cli
  [mktorrent]=mktorrent [ffmpeg]=ffmpeg [chromium]=chromium [opentracker]=opentracker [nginx]=nginx [nft]=nftables [openssl]=openssl
  [ip]=iproute2 [tc]=iproute2
)
missing=()
for cmd in "${!NEED[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}"); done
# A Python module, not a command: the flash-crowd test's libtorrent clients.
/usr/bin/python3 -c 'import libtorrent' >/dev/null 2>&1 || missing+=(python3-libtorrent)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "Installing Debian packages: $pkgs"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
fi

npm ci --no-audit --no-fund
npm test
