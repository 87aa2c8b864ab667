#!/bin/sh
# peer_bench.sh [USERS] [SECONDS] — the one-to-one pattern of msg_bench.sh
# against peers that forward without storing anything: nats-server and
# mosquitto (Debian packages nats-server and mosquitto: apt-get install
# nats-server mosquitto), each pinned to core 0 (`taskset -c 0`), the
# generator (bench/peer_bench.c) on core 1. USERS (default 10000)
# connections subscribe to their own subject/topic and publish to random
# peers (NATS PUB; MQTT PUBLISH at QoS 0: no acknowledgement, nothing
# stored). Per server: one publish per write (window 4 per connection) and
# eight per write (window 16), as fast as the windows allow, then one per
# write at RATES (default "12000 25000"). Each line: published and delivered
# per second, p50/p99 publish → delivery, the server's CPU share and µs per
# delivered message, the generator's own CPU share (near 100 means the
# generator is the bottleneck). PEERS (default "nats mqtt") picks the
# servers.
set -e
cd "$(dirname "$0")/.."
USERS=${1:-10000}
SECS=${2:-8}
RATES=${RATES:-"12000 25000"}
PEERS=${PEERS:-"nats mqtt"}
PORT=${PORT:-14222}
GEN=${GEN:-build/bench/peer_bench}
[ -x "$GEN" ] || make -s "$GEN"
start_server() {
  case $1 in
    nats) taskset -c 0 nats-server -a 127.0.0.1 -p "$PORT" >/tmp/peer_bench.$$.log 2>&1 & ;;
    mqtt) taskset -c 0 mosquitto -p "$PORT" >/tmp/peer_bench.$$.log 2>&1 & ;;
  esac
  spid=$!
  for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
}
run() {
  p=$1; shift
  start_server "$p"
  taskset -c 1 "$GEN" --proto "$p" --port "$PORT" --users "$USERS" --seconds "$SECS" --server-pid "$spid" "$@" || true
  kill "$spid"; wait "$spid" 2>/dev/null || true
}
for p in $PEERS; do
  case $p in nats) b=nats-server ;; mqtt) b=mosquitto ;; *) echo "peer_bench.sh: unknown peer $p"; exit 1 ;; esac
  command -v $b >/dev/null 2>&1 || { echo "peer_bench.sh: $b not found (apt-get install $b)"; exit 1; }
  run "$p" --batch 1 --window 4
  run "$p" --batch 8 --window 16
  for r in $RATES; do run "$p" --batch 1 --window 4 --rate "$r"; done
done
echo "loadavg $(cat /proc/loadavg)"
