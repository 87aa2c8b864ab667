#!/bin/sh
# live_bench.sh [MEMBERS] [STEP_SECONDS] [WORK_MEMBERS] — group fan-out
# (issue 14), server pinned to core 0 (`taskset -c 0`), load on core 1
# (`taskset -c 1`), fresh data directory per part. Every figure is printed:
#
# 1. Live room: one AVChatRoom with MEMBERS (default 10000) online sessions
#    from 4 worker processes over 127.0.0.2 … 127.0.0.9, then a publisher
#    ladder 50, 100, 200, 400, 800 msgs/s, doubling on up to 6400 while every
#    delivery arrives and the p99 stays within 1 s, STEP_SECONDS (default 5)
#    per step. Per step: deliveries/s (every delivery counted: the
#    generator walks frame headers only), latency p50/p99/max of one member
#    in 64 to the kernel's receive timestamp (the server's side) and
#    read_p50/p99/max to the generator's read (the publisher's send time is
#    in the text), frames per write, writes/s, bytes per write and drops from
#    the server's /healthz counters, the server's CPU share, CPU per delivery
#    and RSS, the share of the step the server waited runnable for a CPU
#    (schedstat), the load generator's CPU share and CPU per delivery, the load
#    average (on a shared box compare CPU per delivery, not rates). Server
#    defaults (live_coalesce_ms 100, live_fanout_slice 2048).
# 2. The same room with --live-coalesce-ms 0 (no window: a walk begins as
#    soon as the one under way ends), then the same with
#    --live-fanout-slice 0 as well (a fan-out writes the whole room in one
#    loop turn, as before the slices) for comparison.
# 3. Work group with stored history: WORK_MEMBERS (default 2000) online
#    members, the publisher sends with 64 unanswered sends for STEP_SECONDS:
#    stored group msgs/s and deliveries/s.
# The app is a legacy-scheme app (no member or account cap).
set -e
cd "$(dirname "$0")/.."
make -s all build/bench/live_bench >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
MEMBERS=${1:-10000}
SECS=${2:-5}
WORK=${3:-2000}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

. bench/bench_lib.sh
stop_server() { kill -TERM $spid; wait $spid || true; rm -rf "$dir"; }
run() { # mode members extra-bench-args -- server args
  mode=$1; n=$2; shift 2
  bargs=""
  while [ "$1" != "--" ]; do bargs="$bargs $1"; shift; done
  shift
  new_app livebench
  start_server "$@"
  echo "# $mode members=$n server_args='$*' $(uptime)"
  taskset -c 1 build/bench/live_bench --port "$port" --sdkappid "$app" --key "$key" --members "$n" --procs 4 \
    --sources 8 --mode "$mode" --step-seconds "$SECS" --server-pid "$spid" $bargs
  stop_server
}

run live "$MEMBERS" --max-rate 6400 --
run live "$MEMBERS" --max-rate 6400 -- --live-coalesce-ms 0
run live "$MEMBERS" --max-rate 6400 -- --live-coalesce-ms 0 --live-fanout-slice 0
run work "$WORK" --window 64 --
