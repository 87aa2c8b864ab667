#!/bin/sh
# Install what the build, tests and benchmarks need. Supported: Debian 12
# (bookworm) and derivatives that use apt and carry the same package names.
# Idempotent: does nothing when every package is present; runs `apt-get update`
# at most once; works as root or through sudo. Then `npm ci` for the interop
# tests. Elsewhere (no apt: Fedora, Arch, Alpine, macOS…) it installs nothing:
# it checks with pkg-config and `command -v` what the build needs, prints what
# is missing with what to install by hand, and fails only if something is.
set -e
cd "$(dirname "$0")/.."
PKGS="build-essential pkg-config clang libclang-rt-14-dev \
 libuv1-dev libhttp-parser-dev libwslay-dev libjansson-dev libsqlite3-dev \
 libssl-dev zlib1g-dev libroaring-dev libcmocka-dev sqlite3 nodejs npm curl chromium"

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  # Not an apt system: check, do not install.
  . /etc/os-release 2>/dev/null || true
  echo "deps: ${PRETTY_NAME:-this system} is not supported by scripts/deps.sh (Debian 12 and apt derivatives only);"
  echo "deps: checking what the build needs instead of installing it"
  missing=""
  for pc in libuv jansson sqlite3 libcrypto zlib cmocka; do
    pkg-config --exists "$pc" 2>/dev/null || missing="$missing pkg-config:$pc"
  done
  for h in http_parser.h wslay/wslay.h roaring/roaring.h; do
    printf '#include <%s>\n' "$h" | ${CC:-cc} -E -x c - >/dev/null 2>&1 || missing="$missing header:$h"
  done
  for c in cc make pkg-config node npm curl; do command -v "$c" >/dev/null 2>&1 || missing="$missing command:$c"; done
  if [ -n "$missing" ]; then
    echo "deps: missing:$missing"
    echo "deps: install by hand: a C11 compiler, make, pkg-config, and the development files of libuv,"
    echo "      http-parser (nodejs/http-parser 2.9), wslay, jansson, SQLite 3, OpenSSL (libcrypto), zlib,"
    echo "      CRoaring, cmocka; Node.js with npm and curl for the interop tests (curl also for tests/e2e/test_doc_curls.c); clang for fuzzing"
    exit 1
  fi
  echo "deps: everything the build needs was found"
else
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
fi
if [ -f tests/interop/package-lock.json ] && [ ! -d tests/interop/node_modules ] && command -v npm >/dev/null 2>&1; then
  (cd tests/interop && npm ci --silent --no-audit --no-fund)
fi
exit 0
