#!/bin/sh
# msg_loop_cost.sh [USERS] [RATE] [BIN…] — instructions the server executes
# per one-to-one message, per thread and per loop-side function, counted by
# callgrind (valgrind): unlike CPU time, the count does not move with other
# load on the box, so before/after comparisons hold on a busy machine.
#
#   sh bench/msg_loop_cost.sh 1000 500                          # build/imcloud
#   sh bench/msg_loop_cost.sh 1000 500 /path/old/imcloud build/imcloud   # before, after
#
# For each binary: a fresh legacy app, the server under callgrind with
# instrumentation off, msg_bench with USERS (default 1000) users sending one
# message per write to random peers at RATE msgs/s (default 500; under
# valgrind the server keeps up with that even on a busy box, so the counts
# cover whole messages: sends and their completions). Once the logins are
# done, instrumentation is on for 10 s of sending, then the counts are
# dumped. Printed, for the loop's per-message functions, the inclusive
# instructions per call: the send frame's parse and dispatch (cws_on_text,
# with json_loadb and cws_op_send, itself with im_msg_pack) and the
# message's completion after its commit (send_done: the recipient's push,
# hook_encode, and the sender's reply, sent); their sum is the loop's
# user-space instructions per message. Per call, not per second: under
# valgrind completions lag the sends, so totals over the window would not
# match. Then the event-loop thread's whole count over the window divided
# by the mean of the send frames and the completions in it
# (loop_thread_instr_per_msg: the two above plus what they leave out: the
# network layer's reads, frame decoding and writes, libuv, the writer's
# hand-back, periodic jobs), with both counts: the figure holds when they
# are close (on a busy box the server under valgrind falls behind and
# completions lag: compare only runs where they are within a few %). Kernel
# work (sendmsg, epoll) is not counted: callgrind sees user space only.
# KEEP_CG=PREFIX keeps each binary's loop-thread profile as PREFIX.<path>
# (for callgrind_annotate). Needs valgrind.
set -e
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "msg_loop_cost.sh: needs valgrind (apt-get install valgrind)"; exit 1; }
make -s all build/bench/msg_bench >/dev/null
USERS=${1:-1000}
RATE=${2:-500}
shift 2 2>/dev/null || shift $#
[ $# -gt 0 ] || set -- "$PWD/build/imcloud"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

. bench/bench_lib.sh
writer_jobs() { curl -s "http://127.0.0.1:$port/healthz" | sed -n 's/.*"writer":{[^}]*"jobs":\([0-9]*\).*/\1/p'; }

# per_call FILE: "function Ir/call calls" for the loop's per-message functions
per_call() {
  callgrind_annotate --inclusive=yes --tree=caller "$1" 2>/dev/null | awk '
    BEGIN { n = split("client_ws.c:cws_on_text json_loadb ws_msg.c:cws_op_send msgbody.c:im_msg_pack " \
                      "ws_msg.c:cws_send_fast jsonr.c:jsonr_parse msgbody.c:im_msg_pack_tok " \
                      "c2c.c:send_done ws_msg.c:hook_encode ws_msg.c:sent", want, " ") }
    / < .*\([0-9,]+x\)/ { c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(/,/, "", c); calls += c; next }
    / \* / { ir = $1; gsub(/,/, "", ir); name = $0; sub(/.*\* +/, "", name); sub(/ .*/, "", name)
             for (i = 1; i <= n; i++) {
               w = want[i]
               if (!(w in seen) && calls > 0 && substr(name, length(name) - length(w) + 1) == w) {
                 seen[w] = 1; printf "  %-26s %9.0f instructions per call (%d calls)\n", w, ir / calls, calls
               }
             }
             calls = 0; next }
    /^ *$/ { calls = 0 }'
}

for BIN in "$@"; do
  new_app loopcost
  valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file="$dir/cg.%p" \
    $BIN serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn \
    --rest-rate-limit 1000000 --writer-max-jobs 262144 2>>"$dir/server.log" &
  spid=$!
  while [ ! -s "$dir/port" ]; do sleep 0.2; done
  port=$(cat "$dir/port")
  build/bench/msg_bench --port "$port" --sdkappid "$app" --key "$key" --conns "$USERS" --procs 1 --window 4 \
    --batch 1 --rate "$RATE" --seconds 60 >/dev/null 2>&1 &
  bpid=$!
  while [ "$(writer_jobs)" -lt $((USERS + 500)) ]; do sleep 0.5; done # logins, then 500 messages
  sleep 2
  callgrind_control -i on $spid >/dev/null 2>&1
  sleep 10
  callgrind_control -i off $spid >/dev/null 2>&1
  callgrind_control -d $spid >/dev/null 2>&1; sleep 1
  kill $bpid 2>/dev/null || true; wait $bpid 2>/dev/null || true
  kill -TERM $spid; wait $spid || true
  per_call "$dir"/cg.$spid.1-01 >"$dir/calls"
  recv=$(awk '$1 == "client_ws.c:cws_on_text" { print $2 }' "$dir/calls")
  done_=$(awk '$1 == "c2c.c:send_done" { print $2 }' "$dir/calls")
  ndone=$(awk '$1 == "c2c.c:send_done" { gsub(/\(/, "", $6); print $6 }' "$dir/calls")
  nsend=$(awk '$1 == "client_ws.c:cws_on_text" { gsub(/\(/, "", $6); print $6 }' "$dir/calls")
  total=$(callgrind_annotate "$dir"/cg.$spid.1-01 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(/,/, "", $1); print $1; exit }')
  echo "$BIN users=$USERS rate=$RATE loop_instr_per_msg=$((recv + done_)) (send frame $recv + completion $done_)" \
       "loop_thread_instr_per_msg=$((2 * total / (nsend + ndone))) (sends $nsend, completions $ndone)"
  cat "$dir/calls"
  [ -z "$KEEP_CG" ] || cp "$dir"/cg.$spid.1-01 "$KEEP_CG.$(echo "$BIN" | tr / _)"
  rm -rf "$dir"
done
