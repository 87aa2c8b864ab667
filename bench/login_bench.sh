#!/bin/sh
# login_bench.sh [N...] — logins per second and server memory per idle
# authenticated WebSocket connection.
#
# For each N (default: 10000 19000): fresh data dir, one app, server pinned to
# core 0 (`taskset -c 0`), load generator pinned to core 1 (`taskset -c 1`).
# The generator opens N connections and logs each in (its own UserSig), then
# holds them idle; we read the server's VmRSS before and after, and the
# kernel's socket memory from /proc/net/sockstat (reported apart: it is not
# ours). Prints one summary line per N, with the server's CPU time during the
# login burst next to the load generator's (loadgen_cpu_ms): whichever is
# near the burst's elapsed time is the bottleneck; the generator's own line
# adds loadgen_us_per_login and syscalls_per_login. LOADGEN=path runs another
# load generator binary (to compare with an older one). METER=off starts the
# server with --bench-no-meter (logins not metered: no usage_login row, no
# DAU/MAU count) to measure what metering costs on the login path:
#   sh bench/login_bench.sh 10000; METER=off sh bench/login_bench.sh 10000
# SHIELD=1 (environment): every other thread that may move leaves core 0 for
# the run (bench/shield.sh; the masks come back at the end).
set -e
[ -z "$SHIELD" ] || [ -n "$SHIELD_ON" ] || exec sh "$(dirname "$0")/shield.sh" run sh "$0" "$@" # SHIELD=1: bench/shield.sh
cd "$(dirname "$0")/.."
make -s all build/bench/loadgen >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
LG=${LOADGEN:-$PWD/build/bench/loadgen}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ $# -gt 0 ] || set -- 10000 19000
rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/$1/status; }
sock_pages() { awk '/^TCP:/ {print $NF}' /proc/net/sockstat; }
slab_kb() { awk '/^Slab:/ {print $2}' /proc/meminfo; }
# utime + stime of a process (all threads) in ms
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' /proc/$1/stat; }
# "user_ms sys_ms loop_ms": the process's user and system CPU, and the loop
# thread's (the main thread; the rest is the writer and the readers)
cpu_split() { awk -v hz="$(getconf CLK_TCK)" 'NR == 1 { u = $14; k = $15 } NR == 2 { l = $14 + $15 }
  END { printf "%d %d %d\n", u * 1000 / hz, k * 1000 / hz, l * 1000 / hz }' /proc/$1/stat /proc/$1/task/$1/stat; }
for N in "$@"; do
  dir=$(mktemp -d /tmp/imcloud-bench-XXXXXX)
  cid=$($BIN customer create --name bench --json --data "$dir" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  out=$($BIN app create --customer "$cid" --name bench --region china --scheme s2022 --json --data "$dir")
  app=$(echo "$out" | sed -n 's/.*"sdkappid":\([0-9]*\).*/\1/p')
  key=$(echo "$out" | sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p')
  # a trial app is capped at its free DAU (72000): buy pro (overage, no cap)
  $BIN wallet topup --customer "$cid" --amount-fen 100000000 --data "$dir" >/dev/null
  $BIN app upgrade --sdkappid "$app" --edition pro --data "$dir" >/dev/null
  nometer=; [ "${METER:-on}" = off ] && nometer=--bench-no-meter
  taskset -c 0 $BIN serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn $nometer 2>"$dir/server.log" &
  spid=$!
  while [ ! -s "$dir/port" ]; do sleep 0.05; done
  port=$(cat "$dir/port")
  sleep 0.5
  rss0=$(rss_kb $spid); sock0=$(sock_pages); slab0=$(slab_kb); cpu0=$(cpu_ms $spid); split0=$(cpu_split $spid)
  # one generator process per 9,500 connections (each with up to 512 logins
  # in flight), as before, so old and new generators get the same load;
  # LG_PROCS overrides (they all share the one load core), LG_ARGS adds
  # options (e.g. LG_ARGS="--concurrency 1024")
  procs=${LG_PROCS:-$(( (N + 9499) / 9500 ))}
  fifo=$dir/lg.out
  taskset -c 1 $LG --port "$port" --sdkappid "$app" --key "$key" --conns "$N" --procs "$procs" $LG_ARGS --hold > "$fifo" &
  lpid=$!
  while ! grep -q '^ready' "$fifo" 2>/dev/null; do
    kill -0 $lpid 2>/dev/null || break
    sleep 0.2
  done
  cpu1=$(cpu_ms $spid); split1=$(cpu_split $spid)
  sleep 1
  rss1=$(rss_kb $spid); sock1=$(sock_pages); slab1=$(slab_kb)
  kill -TERM $lpid; wait $lpid || true
  kill -TERM $spid; wait $spid || true
  res=$(grep '^conns=' "$fifo")
  per=$(( (rss1 - rss0) * 1024 / N ))
  kbuf=$(( (sock1 - sock0) * 4096 / (2 * N) ))
  kslab=$(( (slab1 - slab0) * 1024 / (2 * N) ))
  echo "N=$N meter=${METER:-on} $res server_cpu_ms=$((cpu1 - cpu0)) $(echo $split0 $split1 | awk '{ printf "server_user_ms=%d server_sys_ms=%d server_loop_thread_ms=%d", $4 - $1, $5 - $2, $6 - $3 }') load=$(cut -d' ' -f1 /proc/loadavg) server_rss_before_kb=$rss0 server_rss_after_kb=$rss1 server_bytes_per_conn=$per kernel_slab_bytes_per_socket=$kslab kernel_tcp_buffer_bytes_per_socket=$kbuf (kernel figures: /proc/meminfo Slab and /proc/net/sockstat TCP mem, divided over both loopback ends)"
  rm -rf "$dir"
done
