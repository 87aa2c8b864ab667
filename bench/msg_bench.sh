#!/bin/sh
# msg_bench.sh [USERS] [SECONDS] [RATE] — one-to-one message throughput and offline
# sync, server pinned to core 0 (`taskset -c 0`), load on core 1
# (`taskset -c 1`), fresh data directory per run.
#
# 1. C2C durable: USERS (default 10000) connected, synced (live) users send to
#    random peers for SECONDS (default 10); every send is acknowledged only
#    after its commit, and the recipient's devices get a push. Three runs:
#    one message per client write (window 4 per connection), eight
#    pipelined per write (window 16), and one per write capped at half the
#    first run's rate (the p99 send→ack latency at half load). The writer
#    queue cap is the server's default (65536, WRITER_MAX_JOBS in the
#    environment sets another): 10,000 windows of 16 are 160,000 sends, and
#    the server stops reading connections while ws_admit_high_jobs writer
#    jobs are in flight (docs/decisions/store-pipeline-pacing.md), so the rest wait
#    in the socket buffers instead of being refused. A server without that
#    admission (before wave 9) needs WRITER_MAX_JOBS=262144, or the excess
#    is refused with 60018 (send_errors).
#    SERVER_ARGS (environment) adds server options to these runs, e.g.
#    SERVER_ARGS="--wal-checkpoint-pages 4096". MSG_ARGS adds msg_bench
#    options to the sending runs, e.g. MSG_ARGS="--contacts 5".
#    Under a cap every user sends in turn (msg_bench --spread 1; SPREAD=0 in
#    the environment gives the order of waves up to 11, where the capped rate
#    was sent by the lowest-numbered few hundred connections with full
#    windows, whose acknowledgements shared writes).
#    TIMELINE=1 (environment): msg_bench prints the highest ack latency per
#    100 ms of sending on stderr (msg_bench.c, --timeline).
#    With RATE, only the capped run, at RATE messages/s (before/after
#    comparisons of the latency at a fixed rate), and nothing else; with
#    ONLY8=1 in the environment, only the eight-per-write run. PAD=N
#    (environment) appends N characters to every message's text.
# 2. Offline sync: 1,000 messages in one conversation, server restarted (an
#    empty SQLite cache; the OS page cache stays warm), then one sync page of
#    1,000 events; first run cold, then warm.
# 3. The writer's storage work alone (c2c_store_bench on core 0: no network,
#    200,000 messages to random peers of 10,000 users, commits of 10,000).
# Each load line carries the server's CPU time, RSS at the end of the run
# and peak RSS (server_hwm_kb: VmHWM), and
# over the sending period jobs per commit, frames per write and server CPU
# per acknowledged message, whole process and event-loop thread alone
# (loop_cpu_us_per_msg; msg_bench.c). Instructions per message, steady under
# other load: bench/msg_loop_cost.sh. The app is a legacy-scheme app: no
# account cap (trial apps stop at 100 accounts). IMCLOUD_BIN picks another
# server binary (before/after comparisons).
# SHIELD=1 (environment): every other thread that may move leaves core 0 for
# the run (bench/shield.sh; the masks come back at the end).
# STEER=1 with SHIELD=1: loopback's receive processing leaves core 0 too, so
# the load generator's receive path of every reply and push is not run on
# the server's core (bench/shield.sh, "STEER"; needs root).
set -e
[ -z "$SHIELD" ] || [ -n "$SHIELD_ON" ] || exec sh "$(dirname "$0")/shield.sh" run sh "$0" "$@" # SHIELD=1: bench/shield.sh
cd "$(dirname "$0")/.."
make -s all build/bench/msg_bench build/bench/sync_bench build/bench/c2c_store_bench >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
USERS=${1:-10000}
SECS=${2:-10}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/$1/status; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' /proc/$1/status; } # peak RSS
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' /proc/$1/stat; }

. bench/bench_lib.sh
stop_server() { kill -TERM $spid; wait $spid || true; }

run_load() { # label window batch rate
  new_app msgbench
  start_server --msg-sync-page 1000 --writer-max-jobs "${WRITER_MAX_JOBS:-65536}" $SERVER_ARGS
  procs=$(( (USERS + 4999) / 5000 ))
  cpu0=$(cpu_ms $spid)
  res=$(taskset -c 1 build/bench/msg_bench --port "$port" --sdkappid "$app" --key "$key" --conns "$USERS" \
        --procs "$procs" --window "$2" --batch "$3" --rate "$4" --spread "${SPREAD:-1}" --timeline "${TIMELINE:-0}" --pad "${PAD:-0}" --seconds "$SECS" --server-pid "$spid" $MSG_ARGS)
  cpu1=$(cpu_ms $spid)
  rss=$(rss_kb $spid)
  hwm=$(hwm_kb $spid)
  stop_server
  echo "$1 $res server_cpu_ms=$((cpu1 - cpu0)) server_rss_kb=$rss server_hwm_kb=$hwm"
  rm -rf "$dir"
  last=$res
}

if [ -n "$3" ]; then run_load c2c_1_per_write_rate 4 1 "$3"; exit 0; fi
if [ -n "$ONLY8" ]; then run_load c2c_8_per_write 16 8 0; exit 0; fi
run_load c2c_1_per_write 4 1 0
half=$(echo "$last" | sed -n 's/.*msgs_per_s=\([0-9]*\).*/\1/p')
run_load c2c_8_per_write 16 8 0
run_load c2c_1_per_write_half_rate 4 1 $((half / 2))

new_app msgbench
start_server --msg-sync-page 1000
build/bench/sync_bench fill --port "$port" --sdkappid "$app" --key "$key" --count 1000 >/dev/null
stop_server
start_server --msg-sync-page 1000
echo "sync_1000 $(build/bench/sync_bench read --port "$port" --sdkappid "$app" --key "$key" --count 1000 --runs 5 | tr '\n' ' ')"
stop_server
rm -rf "$dir"
echo "c2c_store $(taskset -c 0 build/bench/c2c_store_bench --msgs 200000 --batch 10000 | tail -1)"
