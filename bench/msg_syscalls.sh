#!/bin/sh
# msg_syscalls.sh [BATCH] [WINDOW] [USERS] [RATE] [SECONDS] — system calls the
# server makes per one-to-one message, per thread, counted by perf's syscall
# tracepoints (syscalls:sys_enter_*; cheap, unlike strace, which slows the
# server until every read carries several frames). A fresh legacy app, the
# server pinned to core 0, msg_bench on core 1 with USERS (default 2000)
# users (one worker per 5,000: each connection takes two descriptors, the
# socket and a duplicate for stamped reads) sending BATCH (default 1) frames per write with WINDOW (default 4)
# unanswered per connection, at RATE msgs/s (default 0: as fast as the
# window allows, the server saturated). Once every user is logged in and
# sending, perf counts for SECONDS (default 4) s; messages = the send frames
# the server took in that window (/healthz c2c.fast_sends, read at its
# start and end), frames per write from /healthz ws_out over the same
# window. Prints one line per thread and call (count, per message), one
# line of the sendto, sendmsg and recvfrom calls that failed (EAGAIN: a
# read or write that found nothing to do), then msg_bench's own line (rates
# are the box's: compare the counts). IMCLOUD_BIN picks the server binary;
# SERVER_ARGS adds server options. Needs perf (perf_event_paranoid <= 2 as
# root, or 1).
#
#   sh bench/msg_syscalls.sh 1 4     # one message per write, saturated
#   sh bench/msg_syscalls.sh 8 16    # eight pipelined per write
#   sh bench/msg_syscalls.sh 1 4 2000 3000   # a fixed rate below saturation
set -e
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "msg_syscalls.sh: needs perf (apt-get install linux-perf)"; exit 1; }
make -s all build/bench/msg_bench >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
B=${1:-1}; W=${2:-4}; USERS=${3:-2000}; RATE=${4:-0}; SECS=${5:-4}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. bench/bench_lib.sh
hz() { curl -s "http://127.0.0.1:$port/healthz"; }
field() { echo "$1" | sed -n "s/.*$2.*/\1/p"; }
new_app syscalls
start_server --msg-sync-page 1000 $SERVER_ARGS
taskset -c 1 build/bench/msg_bench --port "$port" --sdkappid "$app" --key "$key" --conns "$USERS" --procs $(( (USERS + 4999) / 5000 )) \
  --window "$W" --batch "$B" --rate "$RATE" --seconds $((SECS + 6)) --server-pid "$spid" >"$dir/bench.out" 2>&1 &
bpid=$!
while [ "$(field "$(hz)" '"fast_sends":\([0-9]*\)')" -lt "$USERS" ]; do sleep 0.2; done # sending
sleep 1
ev=""
for s in sendmsg sendto recvfrom read write epoll_wait epoll_pwait epoll_ctl pwrite64 fdatasync futex; do ev="$ev,syscalls:sys_enter_$s"; done
# the /healthz reads run inside perf's window, so messages and calls cover the same time
# and the calls that failed (EAGAIN: a read or write that found nothing to do)
perf stat --per-thread -x, -e "${ev#,}" -e syscalls:sys_exit_sendto --filter 'ret < 0' \
  -e syscalls:sys_exit_sendmsg --filter 'ret < 0' -e syscalls:sys_exit_recvfrom --filter 'ret < 0' \
  -p "$spid" -o "$dir/perf.txt" -- \
  sh -c "curl -s http://127.0.0.1:$port/healthz >'$dir/h0'; sleep $SECS; curl -s http://127.0.0.1:$port/healthz >'$dir/h1'" \
  >/dev/null 2>&1
h0=$(cat "$dir/h0"); h1=$(cat "$dir/h1")
wait $bpid || true
kill -TERM $spid; wait $spid || true
msgs=$(( $(field "$h1" '"fast_sends":\([0-9]*\)') - $(field "$h0" '"fast_sends":\([0-9]*\)') ))
w=$(( $(field "$h1" '"ws_out":{"writes":\([0-9]*\)') - $(field "$h0" '"ws_out":{"writes":\([0-9]*\)') ))
f=$(( $(field "$h1" '"ws_out":{"writes":[0-9]*,"frames":\([0-9]*\)') - $(field "$h0" '"ws_out":{"writes":[0-9]*,"frames":\([0-9]*\)') ))
echo "$BIN batch=$B window=$W users=$USERS rate=$RATE messages=$msgs ws_writes=$w ws_frames=$f" \
     "frames_per_write=$(awk -v f=$f -v w=$w 'BEGIN { printf "%.2f", w ? f / w : 0 }')"
# perf -x, --per-thread: thread,count,unit,event,…
awk -F, -v m="$msgs" '$2 ~ /^[0-9]+$/ && $2 > 0 && $4 ~ /sys_enter_/ { ev = $4; sub(/syscalls:sys_enter_/, "", ev)
  printf "  %-22s %-12s %9d  %.3f per message\n", $1, ev, $2, m ? $2 / m : 0 }' "$dir/perf.txt"
awk -F, '$2 ~ /^[0-9]+$/ && $4 ~ /sys_exit_/ { ev = $4; sub(/syscalls:sys_exit_/, "", ev); n[ev] += $2 }
  END { printf "  failed calls (all threads):"; for (e in n) printf " %s=%d", e, n[e]; print "" }' "$dir/perf.txt"
tail -1 "$dir/bench.out"
rm -rf "$dir"
