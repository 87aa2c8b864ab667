#!/bin/sh
# conn_limit.sh [N] — more WebSocket clients than one server process can hold
# (docs/decisions/connection-limits.md). Default N 21000: past this machine's
# open-files limit of 20,000.
#
# Fresh data dir, one legacy-scheme app (bench_lib.sh), the server pinned to core 0 with
# its default max_websockets (the open-files limit less its reserve), the load
# generator (bench/loadgen, --hold) pinned to core 1, one process per 9,500
# connections. Every client tries to log in; those past the cap get the
# server's 503 (loadgen counts them as failed). While the logged-in ones are
# held, GET /healthz is timed 20 times over fresh connections (curl
# time_total), and its `connections` section read. Prints one line: the load
# generator's (conns, ok, failed, elapsed_ms …), then healthz_ms_p50 / _max,
# the server's websockets, max_websockets, open_files, ws_refused,
# refused_no_fd, accept_pauses, and the warning lines its log has (refusal
# lines are rate-limited to one a second per kind). A client left waiting
# would keep loadgen from printing "ready": the script ends it after
# PHASE_SECS (default 120) and says so (ended_waiting=1). SERVER_ARGS adds
# server options (e.g. "--max-websockets 200" for a quick check at a small N);
# IMCLOUD_BIN picks another server binary.
set -e
cd "$(dirname "$0")/.."
make -s all build/bench/loadgen >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
LG=$PWD/build/bench/loadgen
N=${1:-21000}
PHASE_SECS=${PHASE_SECS:-120}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. bench/bench_lib.sh
spid= lpid=
cleanup() { [ -z "$lpid" ] || kill -TERM $lpid 2>/dev/null || true; [ -z "$spid" ] || kill -TERM $spid 2>/dev/null || true; wait 2>/dev/null || true; [ -z "$dir" ] || rm -rf "$dir"; }
trap cleanup EXIT INT TERM
new_app connlimit
start_server $SERVER_ARGS >/dev/null
sleep 0.5
procs=$(( (N + 9499) / 9500 ))
taskset -c 1 $LG --port "$port" --sdkappid "$app" --key "$key" --conns "$N" --procs "$procs" --hold > "$dir/lg.out" &
lpid=$!
waited=0 ended=0
while ! grep -q '^ready' "$dir/lg.out" 2>/dev/null; do
  kill -0 $lpid 2>/dev/null || break
  if [ $waited -ge $(( PHASE_SECS * 5 )) ]; then ended=1; break; fi
  sleep 0.2; waited=$((waited + 1))
done
times=$(for i in $(seq 20); do curl -s -o /dev/null -m 10 -w '%{time_total}\n' "http://127.0.0.1:$port/healthz" || echo 10; done | sort -n)
p50=$(echo "$times" | sed -n 10p); max=$(echo "$times" | tail -1)
hz=$(curl -s -m 10 "http://127.0.0.1:$port/healthz" | python3 -c 'import json,sys
try: c=json.load(sys.stdin)["connections"]; print(" ".join("%s=%s" % (k, c[k]) for k in ("websockets","max_websockets","open_files","ws_refused","refused_no_fd","accept_pauses")))
except Exception: print("healthz=unreachable")')
kill -TERM $lpid; wait $lpid || true
lpid=
res=$(grep '^conns=' "$dir/lg.out" || echo "loadgen_line=none")
warns=$(grep -c 'level=warn mod=net' "$dir/server.log" || true)
echo "N=$N $res ended_waiting=$ended healthz_ms_p50=$(awk -v t="$p50" 'BEGIN{printf "%.2f", t*1000}') healthz_ms_max=$(awk -v t="$max" 'BEGIN{printf "%.2f", t*1000}') $hz server_warn_lines=$warns"
grep 'level=warn mod=net' "$dir/server.log" | head -3
