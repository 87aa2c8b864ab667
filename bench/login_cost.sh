#!/bin/sh
# login_cost.sh [N] [BIN…] — what one WebSocket login costs the server, in
# counts that do not move with other load on the box: user-space
# instructions per login (callgrind, every server thread) and system calls
# per login (strace -c -f), each per thread kind.
#
#   sh bench/login_cost.sh 2000                                   # build/imcloud
#   sh bench/login_cost.sh 2000 /path/old/imcloud build/imcloud   # before, after
#
# For each binary and each tool: a fresh data dir with one pro app (as
# login_bench.sh), the server under the tool, then loadgen --hold logs N new
# users in (one connection each, 8 source addresses). Callgrind counts only
# from the storm's first connect to its last login reply (instrumentation
# switched on and dumped around it); strace is detached at that moment too,
# so closing the connections is not counted (strace attaches to the running
# server, so its start is not counted either); the strace run also prints
# the socket events per login the server counted (/healthz). KEEP=1 keeps the callgrind
# files (callgrind_annotate); TOOLS=callgrind or TOOLS=strace runs one tool. Kernel time is not an
# instruction count: the syscalls are its proxy. Needs valgrind and strace.
# TOOLS=perf instead runs the storm at full speed as login_bench.sh does
# (server on core 0, load generator on core 1) under perf stat: system calls
# per login (tracepoints, not slowed down as under strace: the loop runs
# as many turns per login as in a benchmark) and each server thread's CPU
# per login (task-clock, µs: finer than login_bench.sh's clock ticks) and
# context switches, and, where the kernel has the tracepoints, the block
# requests the server's threads issued (block_rq_issue: a WAL sync's data and
# cache flush) and ext4's block allocations (ext4_request_blocks: a growing
# WAL allocates at each sync's write-back). Needs perf.
# TOOLS=calls runs the storm at full speed the same way with the server under
# build/bench/loop_calls.so (LD_PRELOAD, bench/shim/loop_calls.c): the loop
# thread's accept4, epoll_ctl, recv and send calls per login and the wall
# time inside them (µs per call and per login; wall time: a send's inline
# softirq work, the client's receive path on loopback, is in it, and so is
# any preemption inside a call), next to each thread's CPU per login from
# /proc (utime+stime; its user and system split is sampled at clock ticks).
# LG_ARGS adds load generator options to that run (e.g. LG_ARGS=--no-quickack);
# LOADGEN=path runs another load generator binary.
set -e
cd "$(dirname "$0")/.."
if [ "${TOOLS:-both}" = calls ]; then
  make -s build/bench/loop_calls.so
elif [ "${TOOLS:-both}" = perf ]; then
  command -v perf >/dev/null || { echo "login_cost.sh: needs perf"; exit 1; }
  io_events=
  for e in block:block_rq_issue ext4:ext4_request_blocks; do
    perf list 2>/dev/null | grep -q "^ *$e " && io_events="$io_events -e $e"
  done
else
  command -v valgrind >/dev/null && command -v strace >/dev/null || { echo "login_cost.sh: needs valgrind and strace"; exit 1; }
fi
make -s all build/bench/loadgen >/dev/null
N=${1:-2000}
shift 2>/dev/null || true
[ $# -gt 0 ] || set -- "$PWD/build/imcloud"
LG=${LOADGEN:-$PWD/build/bench/loadgen}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

fresh() { # BIN: sets dir app key
  dir=$(mktemp -d /tmp/imcloud-logincost-XXXXXX)
  cid=$($1 customer create --name bench --json --data "$dir" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  out=$($1 app create --customer "$cid" --name bench --region china --scheme s2022 --json --data "$dir")
  app=$(echo "$out" | sed -n 's/.*"sdkappid":\([0-9]*\).*/\1/p')
  key=$(echo "$out" | sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p')
  $1 wallet topup --customer "$cid" --amount-fen 100000000 --data "$dir" >/dev/null
  $1 app upgrade --sdkappid "$app" --edition pro --data "$dir" >/dev/null
}
events() { curl -s "http://127.0.0.1:$port/healthz" 2>/dev/null | sed -n 's/.*"socket_events":\([0-9]*\).*/\1/p'; }
wait_port() { while [ ! -s "$dir/port" ]; do sleep 0.1; done; port=$(cat "$dir/port"); sleep 0.5; }
storm() { # runs loadgen until every login is answered; leaves lpid holding
  taskset -c 1 $LG --port "$port" --sdkappid "$app" --key "$key" --conns "$N" --hold --concurrency 256 > "$dir/lg.out" &
  lpid=$!
  while ! grep -q '^ready' "$dir/lg.out" 2>/dev/null; do kill -0 $lpid 2>/dev/null || break; sleep 0.1; done
}

perf_storm() { # BIN: the storm at full speed under perf stat
  fresh "$1"
  taskset -c 0 "$1" serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn 2>>"$dir/server.log" &
  spid=$!
  wait_port
  perf stat -x, -e 'syscalls:sys_enter_*' $io_events -p $spid -o "$dir/sys.out" &
  p1=$!
  perf stat -x, --per-thread -e task-clock -e context-switches -p $spid -o "$dir/cpu.out" &
  p2=$!
  sleep 0.5
  taskset -c 1 $LG --port "$port" --sdkappid "$app" --key "$key" --conns "$N" --procs $(( (N + 9499) / 9500 )) --hold > "$dir/lg.out" &
  lpid=$!
  while ! grep -q '^ready' "$dir/lg.out" 2>/dev/null; do kill -0 $lpid 2>/dev/null || break; sleep 0.05; done
  kill -INT $p1 $p2; wait $p1 $p2 2>/dev/null || true # the counts stop here
  kill -TERM $lpid; wait $lpid 2>/dev/null || true
  kill -TERM $spid; wait $spid 2>/dev/null || true
  grep '^conns=' "$dir/lg.out" | sed 's/^/  perf run: /'
  awk -F, -v n="$N" '$1 + 0 > 0 { io = $3 !~ /^syscalls:/; sub("syscalls:sys_enter_", "", $3); sub(/^[a-z0-9]+:/, "", $3)
    if (io) { printf "  %-20s %6.3f per login (not a system call)\n", $3, $1 / n; next }
    printf "  %-16s %6.3f per login\n", $3, $1 / n; t += $1 }
    END { printf "  %-16s %6.3f per login\n", "all syscalls", t / n }' "$dir/sys.out"
  # task-clock rows "comm-tid,msec,...": the loop is the main thread (tid = pid); the others are the
  # store's writer, its sync thread and the readers
  awk -F, -v n="$N" -v pid="$spid" '$2 + 0 > 0 && /task-clock/ { tid = $1; sub(/.*-/, "", tid)
      name = $1; sub(/-[0-9]+$/, "", name)
      printf "  cpu %-20s %7.2f us per login\n", tid == pid ? "loop thread" : name " " tid, $2 * 1000 / n; t += $2 }
    END { printf "  cpu %-20s %7.2f us per login\n", "all threads", t * 1000 / n }' "$dir/cpu.out"
  awk -F, -v n="$N" -v pid="$spid" '/context-switches/ && $2 + 0 > 0 { tid = $1; sub(/.*-/, "", tid)
      name = $1; sub(/-[0-9]+$/, "", name)
      printf "  switches %-15s %7.3f per login\n", tid == pid ? "loop thread" : name " " tid, $2 / n }' "$dir/cpu.out"
  rm -rf "$dir"
}

calls_storm() { # BIN: the storm at full speed with the loop's socket calls timed (TOOLS=calls)
  fresh "$1"
  SHIM_OUT="$dir/calls.out" LD_PRELOAD="$PWD/build/bench/loop_calls.so" taskset -c 0 "$1" serve --listen 127.0.0.1:0 \
    --port-file "$dir/port" --data "$dir" --log-level warn 2>>"$dir/server.log" &
  spid=$!
  wait_port
  hz=$(getconf CLK_TCK)
  ticks() { for t in /proc/$spid/task/*; do echo "$(tr ' ' _ < "$t/comm") $(cut -d' ' -f14,15 "$t/stat")"; done; }
  ticks > "$dir/t0"
  kill -USR2 $spid
  taskset -c 1 $LG --port "$port" --sdkappid "$app" --key "$key" --conns "$N" --procs $(( (N + 9499) / 9500 )) $LG_ARGS --hold > "$dir/lg.out" &
  lpid=$!
  while ! grep -q '^ready' "$dir/lg.out" 2>/dev/null; do kill -0 $lpid 2>/dev/null || break; sleep 0.05; done
  kill -USR2 $spid # the counts stop here
  ticks > "$dir/t1"
  sleep 0.2
  kill -TERM $lpid; wait $lpid 2>/dev/null || true
  kill -TERM $spid; wait $spid 2>/dev/null || true
  grep '^conns=' "$dir/lg.out" | sed 's/^/  calls run: /'
  # two snapshots, each "name calls ns" lines then "end"
  awk -v n="$N" '/^end/ { snap++; next } snap == 0 { c[$1] = $2; t[$1] = $3; next } snap == 1 && $2 > c[$1] {
      dc = $2 - c[$1]; dt = $3 - t[$1]; T += dt
      printf "  %-10s %5.2f per login, %6.2f us per call, %6.2f us per login\n", $1, dc / n, dt / dc / 1000, dt / n / 1000 }
    END { printf "  %-10s %27s %6.2f us per login\n", "all timed", "", T / n / 1000 }' "$dir/calls.out"
  paste "$dir/t0" "$dir/t1" | awk -v n="$N" -v hz="$hz" '{ u = ($5 - $2) * 1e6 / hz / n; k = ($6 - $3) * 1e6 / hz / n
      if (u + k > 0) printf "  cpu %-12s user %5.1f sys %5.1f us per login\n", NR == 1 ? "loop thread" : $1, u, k; U += u; K += k }
    END { printf "  cpu %-12s user %5.1f sys %5.1f us per login\n", "all threads", U, K }'
  rm -rf "$dir"
}

for BIN in "$@"; do
  echo "== $BIN (N=$N, load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ "${TOOLS:-both}" = perf ]; then perf_storm "$BIN"; continue; fi
  if [ "${TOOLS:-both}" = calls ]; then calls_storm "$BIN"; continue; fi
  # --- instructions (callgrind) ---
  if [ "${TOOLS:-both}" != strace ]; then
  fresh "$BIN"
  valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file="$dir/cg.%p" \
    "$BIN" serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn 2>>"$dir/server.log" &
  spid=$!
  wait_port
  callgrind_control -i on $spid >/dev/null
  storm
  callgrind_control -d $spid >/dev/null
  kill -TERM $lpid; wait $lpid 2>/dev/null || true
  kill -TERM $spid; wait $spid 2>/dev/null || true
  grep '^conns=' "$dir/lg.out" | sed 's/^/  callgrind run: /'
  for f in "$dir"/cg.*.1-*; do # the dump at the last login reply (the files without .1 hold the shutdown)
    ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f" | head -1)
    [ -n "$ir" ] || ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f" | head -1)
    [ -n "$ir" ] && [ "$ir" -gt 0 ] && echo "  thread ${f##*-}: $((ir / N)) instructions per login"
  done | sort -t: -k1,1 | awk '{ print; split($0, a, ": "); s += a[2] + 0 } END { printf "  all threads: %d instructions per login\n", s }'
  if [ -n "$KEEP" ]; then echo "  callgrind files kept in $dir"; else rm -rf "$dir"; fi
  fi
  [ "${TOOLS:-both}" = callgrind ] && continue
  # --- system calls (strace) ---
  fresh "$BIN"
  taskset -c 0 "$BIN" serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn 2>>"$dir/server.log" &
  spid=$!
  wait_port
  ev0=$(events)
  strace -f -c -o "$dir/strace.out" -p $spid 2>/dev/null &
  tpid=$!
  sleep 1
  storm
  kill -INT $tpid; wait $tpid 2>/dev/null || true # detach: the counts stop here
  ev1=$(events)
  kill -TERM $lpid; wait $lpid 2>/dev/null || true
  kill -TERM $spid; wait $spid 2>/dev/null || true
  grep '^conns=' "$dir/lg.out" | sed 's/^/  strace run: /'
  [ -n "$ev0" ] && [ -n "$ev1" ] && echo "$ev0 $ev1 $N" | awk '{ printf "  %-16s %6.2f per login (/healthz logins.socket_events: input the kernel reported)\n", "socket events", ($2 - $1) / $3 }'
  awk -v n="$N" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
      printf "  %-16s %6.2f per login (%d calls)\n", $NF, $4 / n, $4; t += $4 }
    END { printf "  %-16s %6.2f per login\n", "all syscalls", t / n }' "$dir/strace.out"
  rm -rf "$dir"
done
