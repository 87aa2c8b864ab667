#!/bin/sh
# login_storm_rest.sh [N] [RUNS] — logins/s and REST latency while a login storm runs.
#
#   sh bench/login_storm_rest.sh 10000 3
#
# Fresh data dir and app; server pinned to core 0 (`taskset -c 0`), the load
# generator and the REST probe to core 1 (`taskset -c 1`). Per run: the probe
# (bench/rest_probe.c) sends account_check every 12 ms on one keep-alive
# connection; once it answered, the load generator logs N new users in
# (bench/loadgen.c --hold: it keeps the connections open after the last
# login reply); the server's CPU time is read at that moment, so it is the
# logins' cost only (the connections close afterwards, outside the figure);
# then the probe stops and prints p50/p99/max over the requests that
# started between the storm's first connect and its last login reply
# (loadgen --notify).
#
# The probe runs at real-time priority (PROBE_PRIO, default `chrt -f 50`):
# it shares core 1 with the load generator, which saturates that core, and
# without it the probe's figures include its own wait for the core.
# PRIO (default none) prefixes the server and the load generator (e.g.
# PRIO="chrt -f 1" on a box loaded by other work). LG_PROCS (default 1)
# spreads the load generator over that many processes.
#
# Per run it prints the storm's logins/s, the load generator's CPU
# (loadgen_cpu_ms: near elapsed_ms means the load generator is the
# bottleneck), the server's CPU for the storm, server_us_per_login and
# server_ceiling_logins_per_s (= 1e6 / server_us_per_login: what one server
# core could do if the load generator cost nothing), and the load average.
# At the end one line "all runs:" with p50/p99/max over the REST requests of
# every run together (one run has 60-90 requests: its p99 is its maximum).
# IMCLOUD_BIN / LOADGEN override the binaries. The script itself runs on
# core 1 (taskset -p), so its polling never runs on the server's core.
set -e
cd "$(dirname "$0")/.."
# the script's own polling (grep, sleep: a fork and exec every 20 ms during a
# storm) runs on the load core: unpinned, it landed on core 0 and preempted
# the server's loop for up to 18 ms (perf sched latency)
taskset -p -c 1 $$ >/dev/null
make -s all build/bench/loadgen build/bench/rest_probe >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
LG=${LOADGEN:-$PWD/build/bench/loadgen}
PROBE=$PWD/build/bench/rest_probe
N=${1:-10000}; RUNS=${2:-3}
PROBE_PRIO=${PROBE_PRIO-chrt -f 50}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' /proc/$1/stat; }
echo "start: $(uptime)"
dir=$(mktemp -d /tmp/imcloud-storm-XXXXXX)
cid=$($BIN customer create --name bench --json --data "$dir" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
out=$($BIN app create --customer "$cid" --name bench --region china --scheme s2022 --json --data "$dir")
app=$(echo "$out" | sed -n 's/.*"sdkappid":\([0-9]*\).*/\1/p')
key=$(echo "$out" | sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p')
# a trial app is capped at its free DAU (72000): buy pro (overage, no cap)
$BIN wallet topup --customer "$cid" --amount-fen 100000000 --data "$dir" >/dev/null
$BIN app upgrade --sdkappid "$app" --edition pro --data "$dir" >/dev/null
$PRIO taskset -c 0 $BIN serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn 2>"$dir/server.log" &
spid=$!
while [ ! -s "$dir/port" ]; do sleep 0.05; done
port=$(cat "$dir/port")
sleep 0.5
r=0
while [ $r -lt "$RUNS" ]; do
  r=$((r + 1))
  $PROBE_PRIO taskset -c 1 $PROBE --port "$port" --sdkappid "$app" --key "$key" --samples "$dir/samples" > "$dir/probe.out" &
  ppid=$!
  while ! grep -q '^ready' "$dir/probe.out" 2>/dev/null; do sleep 0.05; done
  cpu0=$(cpu_ms $spid)
  # each run logs in new users (user prefix per run): account import + usage event per login
  $PRIO taskset -c 1 $LG --port "$port" --sdkappid "$app" --key "$key" --conns "$N" --procs "${LG_PROCS:-1}" \
    --user-prefix "r${r}u" --notify $ppid --hold > "$dir/lg.out" &
  lpid=$!
  while ! grep -q '^ready' "$dir/lg.out" 2>/dev/null; do kill -0 $lpid 2>/dev/null || break; sleep 0.02; done
  cpu1=$(cpu_ms $spid)
  kill -TERM $ppid; wait $ppid || true
  kill -TERM $lpid; wait $lpid || true
  lg=$(grep '^conns=' "$dir/lg.out")
  ok=$(echo "$lg" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
  us=$(( (cpu1 - cpu0) * 1000 / (${ok:-0} > 0 ? ok : 1) ))
  echo "run=$r $lg server_cpu_ms=$((cpu1 - cpu0)) server_us_per_login=$us server_ceiling_logins_per_s=$(( us > 0 ? 1000000 / us : 0 )) rest: $(grep '^requests=' "$dir/probe.out") load=$(cut -d' ' -f1 /proc/loadavg)"
  sleep 1 # the held connections close before the next storm
done
kill -TERM $spid; wait $spid || true
sort -n "$dir/samples" | awk '{ v[NR] = $1 } END { if (NR) printf "all runs: rest requests=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", NR, v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, v[NR] / 1000 }'
echo "end: $(uptime)"
rm -rf "$dir"
