#!/bin/sh
# c2c_bench.sh USERS SECONDS PIPELINE [RATE] — one-to-one message throughput
# and send→ack latency between USERS connected users (bench/c2c_bench.c).
#
# Fresh data dir and pro app; server pinned to core 0 (`taskset -c 0`), the
# client to core 1 (`taskset -c 1`); PRIO (e.g. "chrt -f 1") prefixes both.
# Prints the client's line plus the server's CPU time during the sending
# phase (server_cpu_ms, all threads) and its RSS at the end. C2C=path runs
# another client binary.
set -e
cd "$(dirname "$0")/.."
make -s all build/bench/c2c_bench >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
CL=${C2C:-$PWD/build/bench/c2c_bench}
USERS=${1:-10000}; SECS=${2:-10}; PIPE=${3:-1}; RATE=${4:-0}
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' /proc/$1/stat; }
rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/$1/status; }
dir=$(mktemp -d /tmp/imcloud-c2c-XXXXXX)
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
$PRIO taskset -c 1 $CL --port "$port" --sdkappid "$app" --key "$key" --users "$USERS" --seconds "$SECS" \
  --pipeline "$PIPE" --rate "$RATE" > "$dir/c2c.out" &
cpid=$!
while ! grep -q '^sending' "$dir/c2c.out" 2>/dev/null; do kill -0 $cpid 2>/dev/null || break; sleep 0.05; done
cpu0=$(cpu_ms $spid)
sleep "$SECS"
cpu1=$(cpu_ms $spid)
wait $cpid || true
rss=$(rss_kb $spid)
echo "$(grep '^users=' "$dir/c2c.out") server_cpu_ms=$((cpu1 - cpu0)) server_rss_kb=$rss rate=$RATE load=$(cut -d' ' -f1 /proc/loadavg)"
kill -TERM $spid; wait $spid || true
rm -rf "$dir"
