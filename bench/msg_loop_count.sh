#!/bin/sh
# msg_loop_count.sh [USERS] [BATCH] [M] [BIN…] — the event-loop thread's
# user-space instructions per one-to-one message at BATCH (default 8) send
# frames per client write, by difference: the server under callgrind
# (`--separate-threads=yes`, pinned to core 1) serves USERS (default 500)
# users who log in, sync and send M (default 16000) messages in all to
# random peers (msg_bench --count), then the same with 3M; the loop
# thread's instruction counts of the two runs, subtracted and divided by
# 2M, are what each further message costs the loop (logins, syncs and the
# start cancel; the counts are dumped when msg_bench has its last answer,
# before the server stops). Deterministic up to how replies group into
# writes and what timers fire meanwhile (a run under callgrind takes about a
# minute: periodic work is counted with the messages).
# Printed per binary: both totals, the per-message figure, and the share of
# the top functions (self) per message from the 3M run's profile minus the
# M run's. KEEP_CG=PREFIX keeps the loop-thread profiles as
# PREFIX.<binary path>.{M,3M}. Needs valgrind.
#
#   sh bench/msg_loop_count.sh 500 8 16000                      # build/imcloud
#   sh bench/msg_loop_count.sh 500 8 16000 /old/imcloud build/imcloud
set -e
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "msg_loop_count.sh: needs valgrind"; exit 1; }
make -s all build/bench/msg_bench >/dev/null
USERS=${1:-500}; B=${2:-8}; M=${3:-16000}
shift 3 2>/dev/null || shift $#
[ $# -gt 0 ] || set -- "$PWD/build/imcloud"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. bench/bench_lib.sh
W=$((B * 2)); [ "$B" -gt 1 ] || W=4

# run BIN N OUT: the loop thread's profile of a run of N messages into OUT
run() {
  new_app loopcount
  taskset -c 1 valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$dir/cg.%p" \
    $1 serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn \
    --rest-rate-limit 1000000 --writer-max-jobs 262144 2>>"$dir/server.log" &
  spid=$!
  while [ ! -s "$dir/port" ]; do sleep 0.2; done
  port=$(cat "$dir/port")
  taskset -c 0 build/bench/msg_bench --port "$port" --sdkappid "$app" --key "$key" --conns "$USERS" --procs 1 \
    --window "$W" --batch "$B" --count "$2" --seconds 600 >"$dir/bench.out" 2>&1
  callgrind_control -d $spid >/dev/null 2>&1 # the counts up to here: the server's stop is left out
  while [ ! -s "$dir/cg.$spid.1-01" ]; do sleep 0.2; done
  sleep 1
  kill -TERM $spid; wait $spid || true
  cp "$dir"/cg.$spid.1-01 "$3"
  echo "  N=$2: $(grep -o 'acked=[0-9]* send_errors=[0-9]*' "$dir/bench.out") $(grep -o 'frames_per_write=[0-9.]*' "$dir/bench.out")"
  rm -rf "$dir"
}
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(/,/, "", $1); print $1; exit }'; }
# self instructions per function: "count name"
selfs() { callgrind_annotate --auto=no --threshold=100 "$1" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) ([ 0-9.]*%)  \(.*\)$/\1 \2/p' | grep -v "PROGRAM TOTALS" |
  awk '{ c = $1; gsub(/,/, "", c); n = $2; sub(/.*\/src\//, "", n); sub(/.*\/(sysdeps|malloc|string)\/.*:/, "libc:", n); print c, n }'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/loopcount-XXXXXX")
for BIN in "$@"; do
  echo "$BIN users=$USERS batch=$B"
  run "$BIN" "$M" "$tmp/a"
  run "$BIN" $((3 * M)) "$tmp/b"
  a=$(total "$tmp/a"); b=$(total "$tmp/b")
  echo "  loop thread: $a / $b instructions; per message: $(( (b - a) / (2 * M) ))"
  selfs "$tmp/a" >"$tmp/sa"; selfs "$tmp/b" >"$tmp/sb"
  awk -v m=$((2 * M)) 'NR == FNR { a[$2] += $1; next } { b[$2] += $1 } END { for (k in b) { d = (b[k] - a[k]) / m; if (d >= 40) printf "    %7.0f  %s\n", d, k } }' \
    "$tmp/sa" "$tmp/sb" | sort -rn | head -30
  [ -z "$KEEP_CG" ] || { cp "$tmp/a" "$KEEP_CG.$(echo "$BIN" | tr / _).M"; cp "$tmp/b" "$KEEP_CG.$(echo "$BIN" | tr / _).3M"; }
done
rm -rf "$tmp"
