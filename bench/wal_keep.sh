#!/bin/sh
# wal_keep.sh [USERS] [PAD] — the WAL file's size after a burst of big
# messages and after the small commits that follow it
# (docs/decisions/store-pipeline.md, "The WAL file after a burst").
#
#   sh bench/wal_keep.sh 2000 12000
#   SERVER_ARGS="--ws-admit-high-jobs 131072 --ws-admit-low-jobs 65536 \
#     --writer-max-jobs 262144 --writer-max-bytes 0" sh bench/wal_keep.sh
#
# One server on a fresh data directory (pinned to core 0, bench_lib.sh),
# SERVER_ARGS added to its options. USERS (default 2000) clients send
# messages with PAD (default 12000) more characters of text at eight per
# write for 6 s (msg_bench on core 1); then three rounds of 200 small
# messages (sync_bench fill). Prints the WAL file's size in bytes after the
# burst and after each round. IMCLOUD_BIN picks another server binary.
set -e
cd "$(dirname "$0")/.."
make -s all build/bench/msg_bench build/bench/sync_bench >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
USERS=${1:-2000}
PAD=${2:-12000}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. bench/bench_lib.sh
new_app walkeep
start_server $SERVER_ARGS
trap 'kill -TERM $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$dir"' EXIT
wal() { stat -c %s "$dir/imcloud.db-wal" 2>/dev/null || echo 0; }
taskset -c 1 build/bench/msg_bench --port "$port" --sdkappid "$app" --key "$key" --conns "$USERS" \
  --procs $(( (USERS + 4999) / 5000 )) --window 16 --batch 8 --pad "$PAD" --seconds 6 --server-pid "$spid" >/dev/null
echo "after_burst wal_bytes=$(wal)"
for r in 1 2 3; do
  taskset -c 1 build/bench/sync_bench fill --port "$port" --sdkappid "$app" --key "$key" --count 200 >/dev/null
  echo "after_round_$r wal_bytes=$(wal)"
done
