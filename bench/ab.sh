#!/bin/sh
# ab.sh [-r ROUNDS] [-s SUITES] [-o DIR] OLD_BIN NEW_BIN — the issue benchmarks
# run alternately against two server binaries, with the median of each figure.
#
#   sh bench/ab.sh -r 3 /tmp/old/build/imcloud build/imcloud
#   sh bench/ab.sh -r 3 -s "storm login" OLD NEW
#
# This VM's speed drifts by ±15 % over minutes, so one run per binary says
# little: each round runs every suite once per binary, the order swapped
# every round (old new, new old, …) so that a drift weighs on both. Suites
# (default all three): storm = `login_storm_rest.sh 10000 3` (REST latency
# during login storms), msg = `msg_bench.sh 10000 8` (C2C throughput, the
# half-rate latency, offline sync, the writer alone), login =
# `login_bench.sh 10000 19000` (logins/s and memory per connection); and, only
# when asked (-s half), half = `msg_bench.sh 10000 8 RATE`, the capped run alone
# at HALF_RATE msgs/s (environment, default 24000): the half-rate tail, with the
# kernel's arrival stamp, the server's own `total` p99, its CPU per message
# (the loop's apart), the longest blocking checkpoint round (the writer's
# longest stop) and the generator's lateness beside the client's p99, e.g.
#   SHIELD=1 STEER=1 sh bench/ab.sh -r 4 -s half OLD NEW
# (SHIELD and STEER pass through to msg_bench.sh; bench/shield.sh). One set is
# not enough for a tail: the same binary on both sides gave p99 medians of 61
# and 150 ms in five rounds (docs/BENCHMARKS.md, wave 45); repeat the set and
# trust CPU per message (±5 %) first. The bench
# programs (load generators, probes) are this tree's for both binaries; only
# the server differs. Raw output goes to DIR (default a new /tmp/ab-XXXXXX),
# one file per suite, binary and round; the table printed at the end gives,
# per figure, the median and the range over the rounds. Nothing else should
# run meanwhile: note `uptime` (printed before every run). OLD_ENV and
# NEW_ENV (environment) hold VAR=value words set for one binary's runs only,
# e.g. OLD_ENV="WRITER_MAX_JOBS=262144" for a server without the WebSocket
# admission (before wave 9), which msg_bench.sh's eight-per-write windows
# would otherwise overrun.
set -e
cd "$(dirname "$0")/.."
ROUNDS=3
SUITES="storm msg login"
OUT=
while getopts r:s:o: opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;;
    s) SUITES=$OPTARG ;;
    o) OUT=$OPTARG ;;
    *) echo "usage: $0 [-r ROUNDS] [-s SUITES] [-o DIR] OLD_BIN NEW_BIN" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { echo "usage: $0 [-r ROUNDS] [-s SUITES] [-o DIR] OLD_BIN NEW_BIN" >&2; exit 2; }
OLD=$(realpath "$1")
NEW=$(realpath "$2")
[ -x "$OLD" ] && [ -x "$NEW" ] || { echo "ab.sh: both binaries must be executable" >&2; exit 2; }
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/ab-XXXXXX)
mkdir -p "$OUT"

run_suite() { # suite binary file env-words
  echo "uptime: $(uptime) env: $4" > "$3"
  case $1 in
    storm) env $4 IMCLOUD_BIN="$2" sh bench/login_storm_rest.sh 10000 3 >> "$3" 2>&1 ;;
    msg) env $4 IMCLOUD_BIN="$2" sh bench/msg_bench.sh 10000 8 >> "$3" 2>&1 ;;
    login) env $4 IMCLOUD_BIN="$2" sh bench/login_bench.sh 10000 19000 >> "$3" 2>&1 ;;
    half) env $4 IMCLOUD_BIN="$2" sh bench/msg_bench.sh 10000 8 "${HALF_RATE:-24000}" >> "$3" 2>&1 ;;
    *) echo "ab.sh: unknown suite $1" >&2; exit 2 ;;
  esac
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
  if [ $((r % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
  for s in $SUITES; do
    for v in $order; do
      b=$OLD; e=$OLD_ENV; [ "$v" = new ] && b=$NEW && e=$NEW_ENV
      echo "round $r $s $v $(date +%T) $(uptime | sed 's/.*load/load/')"
      run_suite "$s" "$b" "$OUT/$s.$v.$r" "$e"
    done
  done
  r=$((r + 1))
done

# figure NAME SUITE AWK-PROGRAM: one value per round file of each binary (the
# program prints the figure's values from one file), then median [min–max].
figure() {
  printf '%s: ' "$1"
  for v in old new; do
    vals=
    for f in "$OUT/$2.$v".*; do
      [ -f "$f" ] || continue
      vals="$vals $(awk "$3" "$f")"
    done
    echo "$vals" | tr ' ' '\n' | grep -v '^$' | sort -g |
      awk -v v="$v" '{ a[NR] = $1 } END {
        if (!NR) { printf "%s=- ", v; exit }
        m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%s=%g [%g–%g, n=%d]  ", v, m, a[1], a[NR], NR }'
  done
  echo
}
# line_figure SUITE LINE KEY LABEL: the figure KEY= of the lines starting "LINE "
line_figure() { figure "$2 $4" "$1" "$kv"' /^'"$2"' / { print kv("'"$3"'") }'; }
kv='function kv(k,   i, n, f) { n = split($0, f, " "); for (i = 1; i <= n; i++) if (index(f[i], k "=") == 1) return substr(f[i], length(k) + 2); return "" }'

echo "raw output: $OUT"
for s in $SUITES; do
  case $s in
    storm)
      figure "storm REST p99 per storm (ms)" storm '/^per-storm rest p99_ms:/ { for (i = 4; i <= NF; i++) print $i }'
      figure "storm REST p99 all storms of a run (ms)" storm "$kv"' /^all runs:/ { print kv("p99_ms") }'
      figure "storm logins/s" storm "$kv"' /^run=/ { print kv("logins_per_s") }'
      ;;
    msg)
      for l in c2c_1_per_write c2c_8_per_write c2c_1_per_write_half_rate; do
        line_figure msg "$l" msgs_per_s "msgs/s"
        line_figure msg "$l" server_cpu_us_per_msg "server µs/msg"
        line_figure msg "$l" loop_cpu_us_per_msg "loop µs/msg"
        line_figure msg "$l" p50_ms "p50 ms"
        line_figure msg "$l" p99_ms "p99 ms"
        line_figure msg "$l" jobs_per_commit "jobs/COMMIT"
      done
      figure "sync of 1,000 cold (ms)" msg '/^sync_1000/ { for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) { print substr($i, 4); exit } }'
      figure "c2c_store µs/msg" msg "$kv"' /^c2c_store total/ { print kv("cpu_us_per_msg") }'
      ;;
    half)
      l=c2c_1_per_write_rate # the capped run alone is labelled so (msg_bench.sh RATE)
      line_figure half "$l" msgs_per_s "msgs/s"
      line_figure half "$l" p50_ms "p50 ms"
      line_figure half "$l" p99_ms "p99 ms"
      line_figure half "$l" arrived_p99_ms "p99 ms, kernel arrival stamp"
      figure "$l server total p99 ms" half "$kv"' /^'$l' / { split(kv("total_us"), t, "/"); print t[2] / 1000 }'
      line_figure half "$l" server_cpu_us_per_msg "server µs/msg"
      line_figure half "$l" loop_cpu_us_per_msg "loop µs/msg"
      line_figure half "$l" ckpt_blocking_max_us "longest blocking checkpoint round µs" # the writer's longest stop
      line_figure half "$l" read_late_p99_ms "generator read lateness p99 ms"
      ;;
    login)
      for n in 10000 19000; do
        figure "logins/s N=$n" login "$kv"' /^N='$n' / { print kv("logins_per_s") }'
        figure "server µs/login N=$n" login "$kv"' /^N='$n' / { print kv("server_cpu_ms") * 1000 / '$n' }'
        figure "bytes/conn N=$n" login "$kv"' /^N='$n' / { print kv("server_bytes_per_conn") }'
      done
      ;;
  esac
done
