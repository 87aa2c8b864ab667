#!/bin/sh
# c2c_store_count.sh [MERGE] [BATCH…] — the storage path's instructions and
# WAL frames per one-to-one message at BATCH messages per COMMIT (defaults:
# MERGE 0, batches 64 256 2000), by difference: c2c_store_bench under
# callgrind with 10,000 users sending to random peers, 20,000 messages minus
# 4,000 (the set-up and the closing passes' fixed part cancel), divided by
# 16,000. MERGE 0: the acknowledgement's path (no idle merge; the closing
# walk still merges the conversation log, ~13,500 per message); MERGE 1:
# the bench's default, an idle writer's merge after each COMMIT.
# Deterministic: instructions, not time (usable on a shared box).
# Printed per batch: both totals, per message, and the inclusive
# per-message cost of the held rows' flush, of the WAL's frame
# writing (sqlite3WalFrames) and of sqm_append. BIN (default
# build/bench/c2c_store_bench) picks the binary. Needs valgrind.
#
#   sh bench/c2c_store_count.sh 0 64 256 2000
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "c2c_store_count.sh: needs valgrind"; exit 1; }
BIN=${BIN:-build/bench/c2c_store_bench}
[ -x "$BIN" ] || make -s "$BIN" >/dev/null
MERGE=${1:-0}
[ $# -gt 0 ] && shift
BATCHES=${*:-64 256 2000}
T=$(mktemp -d "${TMPDIR:-/tmp}/c2ccount-XXXXXX")
trap 'rm -rf "$T"' EXIT

total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(/,/, "", $1); print $1; exit }'; }
# incl FILE FUNCTION: the function's inclusive count (0 if absent)
incl() { callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$1" 2>/dev/null |
  awk -v f=":$2 " '{ l = $0 " " } index(l, f) { c = $1; gsub(/,/, "", c); print c; found = 1; exit } END { if (!found) print 0 }'; }

for b in $BATCHES; do
  for n in 4000 20000; do
    taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$T/cg.$n" "$BIN" --users 10000 --msgs $n --batch "$b" \
      --merge "$MERGE" >/dev/null 2>&1
  done
  a=$(total "$T/cg.4000"); z=$(total "$T/cg.20000")
  line="batch=$b merge=$MERGE Ir=$a/$z per_msg=$(( (z - a) / 16000 ))"
  for f in sq__pend_flush sqlite3WalFrames sqm_append; do
    line="$line $f=$(( ($(incl "$T/cg.20000" $f) - $(incl "$T/cg.4000" $f)) / 16000 ))"
  done
  echo "$line"
done
