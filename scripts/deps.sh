#!/bin/sh
# Install what the build, tests and benchmarks need on Debian 12. Idempotent:
# does nothing when every package is present; runs `apt-get update` at most once;
# works as root or through sudo. Then `npm ci` for the interop tests.
set -e
cd "$(dirname "$0")/.."
PKGS="build-essential pkg-config clang libclang-rt-14-dev \
 libuv1-dev libhttp-parser-dev libwslay-dev libjansson-dev libsqlite3-dev \
 libssl-dev zlib1g-dev libroaring-dev libcmocka-dev sqlite3 nodejs npm curl"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  # node/npm may come from elsewhere (nvm, nodesource): do not fight them.
  if command -v node >/dev/null 2>&1; then missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' '); fi
  if [ -n "$(echo $missing)" ]; then
    echo "deps: installing$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  fi
fi
if [ -f tests/interop/package-lock.json ] && [ ! -d tests/interop/node_modules ]; then
  (cd tests/interop && npm ci --silent --no-audit --no-fund)
fi
exit 0
