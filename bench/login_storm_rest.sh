#!/bin/sh
# login_storm_rest.sh [N] [RUNS] — logins/s and REST latency while a login storm runs.
#
#   sh bench/login_storm_rest.sh 10000 3
#
# Fresh data dir, one app for the logins and REST_APPS (default 48) for the
# probe; server pinned to core 0 (`taskset -c 0`), the load generator and the
# REST probe on core 1 (`taskset -c 1`). Per run (a storm): the probe
# (bench/rest_probe.c) sends account_check open loop, one request due every
# REST_INTERVAL_US (default 400 µs: 2,500/s) in bursts of REST_BURST
# (default 4: four requests due together every 1.6 ms; one wake-up of the
# probe per request cost it ~170 µs of CPU on this box, most of the core it
# shares with the generator), round robin over one keep-alive connection
# per probe app (account_check allows 100 calls/s per app: 48 apps carry
# 52/s each), each timed from its due time to its reply's last byte; once it answered, the load generator logs N new users
# in (bench/loadgen.c --hold: it keeps the connections open after the last
# login reply) and reports the server's CPU from its storm's start (after
# signing) to its last login reply (--cpu-of): the logins' and the probe's
# cost during the storm; then the probe stops and prints p50/p99/max over the
# requests due between the storm's first connect and its last login reply
# (loadgen --notify). The probe is not free: ~65 µs of server CPU per
# account_check (bursts batched), so 2,500/s take ~16 % of the server's core
# during the storm; a storm of 10,000 logins that lasts 0.8 s or more gives a
# run 2,000 REST samples, enough for its own p99 (the script says when a run
# has fewer). A lighter probe: REST_INTERVAL_US=12000 REST_BURST=1.
#
# The probe runs at real-time priority (PROBE_PRIO, default `chrt -f 50`):
# it shares core 1 with the load generator, which saturates that core, and
# without it the probe's figures include its own wait for the core.
# SERVER_ARGS (environment) adds server options (e.g. SERVER_ARGS="--ws-login-turn-us 500").
# SHIELD=1 (environment): every other thread that may move leaves core 0 for
# the run (bench/shield.sh; the masks come back at the end).
# PRIO (default none) prefixes the server and the load generator (e.g.
# PRIO="chrt -f 1" on a box loaded by other work). LG_PROCS (default 1)
# spreads the load generator over that many processes; LG_ARGS adds
# generator options (e.g. "--concurrency 1024").
#
# Per run it prints the storm's logins/s, the load generator's CPU
# (loadgen_cpu_ms: near elapsed_ms means the load generator is the
# bottleneck), the server's CPU for the storm (server_cpu_ms, and
# server_cpu_pct of the storm's elapsed time), server_us_per_login (the
# probe's requests included) and server_ceiling_logins_per_s (= 1e6 /
# server_us_per_login), loop_wait_ms (the loop thread's time runnable but
# off the core, from the storm's start until its last login reply:
# schedstat run_delay; what preemption cost it) and loop_invol (its
# involuntary switches meanwhile), the probe's line (requests, errors,
# late, p50, p99, max) and the load average. At the end: "per-storm rest p99_ms:" the runs'
# p99s side by side; "per-storm steal_ms cpu0/cpu1:" the time the hypervisor
# kept each core from this VM during each storm (/proc/stat steal, from the
# watch below; docs/BENCHMARKS.md, "Issue 11 and 13, wave 15", for how it lines up with the
# p99s); and "all runs:" p50/p99/max over the REST requests of every run
# together.
#
# What tells a storm slowed by the machine from one slowed by the server
# (the probe's --watch, bench/proc_watch.h; over the probe's counted window,
# the storm's first connect to its last login reply), on each storm's line
# after "watch:": per CPU the /proc/stat columns in ms (cpu0 the server's
# core, cpu1 the load's; steal: time the hypervisor ran something else), per
# server thread (loop = the main thread; threads of one name summed) its
# run time and run delay (schedstat, ms), involuntary switches, minor page
# faults, and KiB read and written through system calls; fdsize (the
# server's descriptor table at the storm's end, FDSize); then loop_us_per_login (the loop
# thread's run time / logins; the probe's requests included), and from GET
# /healthz before and after the storm: writer_jobs and writer_commits
# (batches), syncs, paced (the writer's waits for the pace), ckpt_runs, and
# ckpt_max_ms / ckpt_blocking_max_ms when the storm raised the server's
# maximum (else "-"). DIAG=DIR keeps, per storm r, DIR/timed.r (the probe's
# --timed: each request's due time and latency, CLOCK_MONOTONIC µs, for
# matching with `perf record -k mono`), DIR/timeline.r (the probe's
# --timeline: the watch figures for every 2 ms step of the storm), and the
# storm's "slow" lines (each stretch of REST requests over 5 ms, with the
# watch figures over it and loop_at: where the loop thread was at the 2 ms
# snapshots, kernel function @ system call number, e.g.
# do_epoll_wait@232 = waiting for input, 0 = on a CPU or runnable) printed
# after its line, and at the end of its line "slow:" their sum (stretches,
# requests, span_ms; the loop's run and run delay, the other server
# threads' run time, cpu0 busy / steal / idle in ms (10 ms ticks), and how
# many 2 ms snapshots found the loop on a CPU or runnable, waiting for
# input, or blocked elsewhere in the kernel: run delay with cpu0 busy
# beyond the server's threads is the machine; the loop blocked is a
# mechanism of the server or of the kernel it calls); DIR/threads.r (each server thread's
# CPU in ticks before and after the storm) and DIR/healthz.r (GET /healthz
# after it: the writer's stages, checkpoints, syncs); DIR/server.pid holds the
# server's pid; DIR/turnlog is the server's turn log (--turn-log: each loop
# turn's time per phase, each HTTP request's read, queued and written
# times), and after the last storm DIR/split.r and one "split run=r" line per
# storm (bench/turn_split.sh: each slow request's time split into the probe's
# send, the wait before the server read it, the server's read, handler and
# write-out, and the probe's receive, with the turns it waited and the
# phases of those turns). IMCLOUD_BIN / LOADGEN override the binaries (the
# generator must take --cpu-of: bench/loadgen.c from 2026-12-02 on). The
# script itself runs on core 1 (taskset -p), so its polling never runs on
# the server's core.
set -e
[ -z "$SHIELD" ] || [ -n "$SHIELD_ON" ] || exec sh "$(dirname "$0")/shield.sh" run sh "$0" "$@" # SHIELD=1: bench/shield.sh
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
# the loop thread's (the server's main thread) time runnable but waiting for
# its core, in µs (schedstat's run_delay), and its involuntary switches
loop_wait_us() { awk '{print int($2 / 1000)}' /proc/$1/task/$1/schedstat 2>/dev/null || echo 0; }
# each server thread: tid comm utime+stime (ticks)
threads() { for t in /proc/$1/task/*; do awk '{ c = $2; sub(/^.*\) /, ""); print FILENAME, c, $12 + $13 }' "$t/stat"; done 2>/dev/null | sed 's,^/proc/[0-9]*/task/\([0-9]*\)/stat,\1,'; }
# one integer of a GET /healthz body: hz_int BODY SECTION FIELD
hz_int() { echo "$1" | sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9]*\).*/\1/p" | head -1; }
# the writer's counters and the loop's turns (all, busier than 2 and 5 ms)
# over a storm: hz_diff BEFORE AFTER
hz_diff() {
  for f in writer:jobs writer:batches sync:syncs sync:paced ckpt:runs; do
    a=$(hz_int "$1" "${f%%:*}" "${f#*:}"); b=$(hz_int "$2" "${f%%:*}" "${f#*:}")
    case $f in writer:batches) n=writer_commits ;; *) n=$(echo "$f" | sed 's/writer:/writer_/; s/.*://') ;; esac
    case $f in ckpt:runs) n=ckpt_runs ;; esac
    printf ' %s=%s' "$n" $(( ${b:-0} - ${a:-0} ))
  done
  for f in turns turns_over_2ms turns_over_5ms; do
    a=$(hz_int "$1" loop "$f"); b=$(hz_int "$2" loop "$f")
    printf ' loop_%s=%s' "$f" $(( ${b:-0} - ${a:-0} ))
  done
  for f in max_us:ckpt_max_ms blocking_max_us:ckpt_blocking_max_ms; do
    a=$(hz_int "$1" ckpt "${f%%:*}"); b=$(hz_int "$2" ckpt "${f%%:*}")
    if [ "${b:-0}" -gt "${a:-0}" ]; then printf ' %s=%d.%03d' "${f#*:}" $(( b / 1000 )) $(( b % 1000 )); else printf ' %s=-' "${f#*:}"; fi
  done
}
loop_invol() { sed -n 's/^nonvoluntary_ctxt_switches:[^0-9]*//p' /proc/$1/task/$1/status 2>/dev/null || echo 0; }
echo "start: $(uptime)"
dir=$(mktemp -d /tmp/imcloud-storm-XXXXXX)
cid=$($BIN customer create --name bench --json --data "$dir" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
out=$($BIN app create --customer "$cid" --name bench --region china --scheme s2022 --json --data "$dir")
app=$(echo "$out" | sed -n 's/.*"sdkappid":\([0-9]*\).*/\1/p')
key=$(echo "$out" | sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p')
# a trial app is capped at its free DAU (72000): buy pro (overage, no cap)
$BIN wallet topup --customer "$cid" --amount-fen 100000000 --data "$dir" >/dev/null
$BIN app upgrade --sdkappid "$app" --edition pro --data "$dir" >/dev/null
apps=
i=0
while [ $i -lt "${REST_APPS:-48}" ]; do
  i=$((i + 1))
  o=$($BIN app create --customer "$cid" --name "probe$i" --region china --scheme s2022 --json --data "$dir")
  apps="$apps --app $(echo "$o" | sed -n 's/.*"sdkappid":\([0-9]*\).*/\1/p'):$(echo "$o" | sed -n 's/.*"key":"\([0-9a-f]*\)".*/\1/p')"
done
$PRIO taskset -c 0 $BIN serve --listen 127.0.0.1:0 --port-file "$dir/port" --data "$dir" --log-level warn ${DIAG:+--turn-log "$DIAG/turnlog"} $SERVER_ARGS 2>"$dir/server.log" &
spid=$!
# a failing step (set -e) must not leave the server running or its data behind
ppid= lpid=
trap 'kill -TERM $ppid $lpid $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$dir"' EXIT
while [ ! -s "$dir/port" ]; do sleep 0.05; done
port=$(cat "$dir/port")
[ -z "$DIAG" ] || { mkdir -p "$DIAG"; echo $spid > "$DIAG/server.pid"; }
sleep 0.5
r=0
p99s=
steals=
while [ $r -lt "$RUNS" ]; do
  r=$((r + 1))
  $PROBE_PRIO taskset -c 1 $PROBE --port "$port" $apps --interval-us "${REST_INTERVAL_US:-400}" \
    --burst "${REST_BURST:-4}" --samples "$dir/samples" ${DIAG:+--timed "$DIAG/timed.$r" --timeline "$DIAG/timeline.$r"} --watch $spid > "$dir/probe.out" &
  ppid=$!
  while ! grep -q '^ready' "$dir/probe.out" 2>/dev/null; do sleep 0.05; done
  # each run logs in new users (user prefix per run): account import + usage event per login
  w0=$(loop_wait_us $spid); v0=$(loop_invol $spid)
  hz0=$(curl -s "http://127.0.0.1:$port/healthz")
  [ -z "$DIAG" ] || threads $spid > "$DIAG/threads.$r.before"
  $PRIO taskset -c 1 $LG --port "$port" --sdkappid "$app" --key "$key" --conns "$N" --procs "${LG_PROCS:-1}" $LG_ARGS \
    --user-prefix "r${r}u" --notify $ppid --cpu-of $spid --hold > "$dir/lg.out" &
  lpid=$!
  while ! grep -q '^ready' "$dir/lg.out" 2>/dev/null; do kill -0 $lpid 2>/dev/null || break; sleep 0.02; done
  w1=$(loop_wait_us $spid); v1=$(loop_invol $spid)
  hz1=$(curl -s "http://127.0.0.1:$port/healthz")
  [ -z "$DIAG" ] || { threads $spid > "$DIAG/threads.$r.after"; echo "$hz1" > "$DIAG/healthz.$r"; }
  kill -TERM $ppid 2>/dev/null || true; wait $ppid || true
  kill -TERM $lpid 2>/dev/null || true; wait $lpid || true # it may have exited (failed)
  ppid= lpid=
  lg=$(grep '^conns=' "$dir/lg.out")
  ok=$(echo "$lg" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
  scpu=$(echo "$lg" | sed -n 's/.* target_cpu_ms=\([0-9]*\).*/\1/p')
  us=$(( ${scpu:-0} * 1000 / (${ok:-0} > 0 ? ok : 1) ))
  el=$(echo "$lg" | sed -n 's/.* elapsed_ms=\([0-9]*\).*/\1/p')
  rest=$(grep '^requests=' "$dir/probe.out" || echo "requests=0")
  nreq=$(echo "$rest" | sed -n 's/^requests=\([0-9]*\).*/\1/p')
  watch=$(sed -n 's/^watch //p' "$dir/probe.out")
  lpl=$(echo "$watch" | sed -n 's/.* loop=run:\([0-9.]*\),.*/\1/p' | awk -v ok="${ok:-0}" '{ printf "%.1f", (ok > 0) ? $1 * 1000 / ok : 0 }')
  few=; [ "${nreq:-0}" -ge 2000 ] || few=" (fewer than 2000 REST samples: this run's p99 rests on its 20 slowest or fewer)"
  p99s="$p99s $(echo "$rest" | sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p')"
  steals="$steals $(echo "$watch" | sed -n 's/.*cpu0_ms=[^ ]*steal:\([0-9]*\).*cpu1_ms=[^ ]*steal:\([0-9]*\).*/\1\/\2/p')"
  echo "run=$r $lg server_cpu_ms=${scpu:-0} server_cpu_pct=$(( ${el:-0} > 0 ? ${scpu:-0} * 100 / el : 0 )) server_us_per_login=$us server_ceiling_logins_per_s=$(( us > 0 ? 1000000 / us : 0 )) loop_wait_ms=$(( (w1 - w0) / 1000 )) loop_invol=$(( v1 - v0 )) rest: $rest$few load=$(cut -d' ' -f1 /proc/loadavg) watch: $watch loop_us_per_login=$lpl$(hz_diff "$hz0" "$hz1")$(sed -n 's/^slow_sum / slow:/p' "$dir/probe.out")"
  grep '^slow ' "$dir/probe.out" || true
  sleep 1 # the held connections close before the next storm
done
kill -TERM $spid; wait $spid || true
trap - EXIT
if [ -n "$DIAG" ] && [ -s "$DIAG/turnlog" ]; then
  r=0
  while [ $r -lt "$RUNS" ]; do
    r=$((r + 1))
    sh bench/turn_split.sh "$DIAG/turnlog" "$DIAG/timed.$r" > "$DIAG/split.$r" || true
    echo "split run=$r $(grep -v '^slow ' "$DIAG/split.$r" | tr '\n' ' ')"
  done
fi
echo "per-storm rest p99_ms:$p99s"
echo "per-storm steal_ms cpu0/cpu1:$steals"
sort -n "$dir/samples" | awk '{ v[NR] = $1 } END { if (NR) printf "all runs: rest requests=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", NR, v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, v[NR] / 1000 }'
echo "end: $(uptime)"
rm -rf "$dir"
