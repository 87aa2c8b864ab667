#!/bin/sh
# bigstore.sh [USERS] [MSGS] — the one-to-one paths when the server's data
# does not fit in its memory (issue 13). Needs root and cgroup v1
# (/sys/fs/cgroup/memory): the server runs in a memory cgroup of its own,
# whose limit (memory.limit_in_bytes) counts the page cache it reads the
# database through as well as its own memory.
#
# 1. The store, built once per run: `imcloud customer create` / `app create`
#    (a legacy-scheme app, no account cap) in a fresh data directory, then
#    bench/bigstore_fill writes into it, the server stopped, two old
#    conversations of OLD (default 1000) messages each (sb_sender → sb_reader,
#    rm_a → rm_b: the store's first rows), the accounts mb0 … mbUSERS-1 and
#    MSGS messages between random pairs of them, through the writer's own
#    store_msg_append (bigstore_fill.c says what it leaves out). Defaults:
#    USERS 100000, MSGS 12000000 (~270 bytes on disk each: a store of
#    ~3.2 GB; PAD=N in the environment adds N characters to every text).
#    Prints the store's size on disk (du of the data directory) and the
#    build time. The fill runs outside the cgroup (no limit).
# 2. Two passes over the same store, first with the cgroup's limit at
#    1/FRACTION (default 8) of the store's size on disk (LIMIT_MB=N in the
#    environment sets it in MiB instead), then without a limit (the same
#    cgroup, limit -1, for its peak usage). Before each phase the cgroup's
#    peak usage and failcnt are reset and, but for the two warm ones, the
#    page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches); each
#    phase prints one line with the server's RSS at
#    its end (server_rss_kb), the cgroup's memory.max_usage_in_bytes over the
#    phase (cg_max_usage_kb), its memory.failcnt (cg_failcnt: times the limit
#    was hit) and the bytes the server read from the disk over the phase
#    (read_kb: /proc/PID/io read_bytes). Phases:
#    startup   the server started (in the cgroup, `taskset -c 0`) until its
#              first /healthz answer: everything it loads at start (the
#              registry, the maps) read from a cold disk;
#    login     loadgen logs LOGINS users in (default min(USERS, 19000): one
#              server process holds at most ~19,990 sockets on this box, its
#              hard limit of open files being 20,000; past it the server
#              pauses accepting and the rest wait) (`taskset -c 1`, one process
#              per 9,500; the connections close when it exits; loadgen.c);
#    c2c       msg_bench: CONNS (default min(USERS, 10000)) of the users
#              connect, log in, sync from the cursor their device would hold
#              (the file bigstore_fill wrote: no backlog) and send to random
#              peers, one message per write, window 4, for SECS (default 10)
#              seconds, as msg_bench.sh's first run (msgs_per_s, p50/p99 send
#              → acknowledgement). The pairs are random, so mostly new
#              conversations, but both users' inbox and conversation rows lie
#              among the store's old rows, not at a fresh store's end;
#    sync_cold / sync_warm   the server restarted (an empty SQLite cache, the
#              page cache dropped), sb_reader syncs its OLD old messages from
#              cursor 0 (bench/sync_bench read, pages of 1000), then again;
#    roam_cold / roam_warm   the page cache dropped, REST admin_getroammsg
#              of rm_b with rm_a (MaxCnt 100, the newest page of the other
#              old conversation), then again (curl's time_total).
#    Each pass's c2c phase adds its messages to the store (a few hundred
#    thousand at most): the unlimited pass runs on a store that much bigger.
#    A server the OOM killer ends (the limit counts its own memory too:
#    ~150 MiB at 10,000 connections in msg_bench.sh's runs) gives a line
#    "… server_gone=1 cg_oom_kills=N cg_failcnt=N" instead; the phases after
#    it until the next start are skipped (startup's loss skips login and
#    c2c, login's c2c; the reads start a server of their own).
# Environment: OLD, PAD, FRACTION, LIMIT_MB, CONNS, LOGINS, SECS as above;
# KEEP=1 keeps the data directory (printed) instead of removing it;
# STORE=DIR starts from a copy of such a kept directory (its database, WAL,
# cursors file and bigstore.app: the app's id and key) instead of building
# the store (USERS and MSGS must be the ones it was built with: they are
# printed, not checked); every load generator is ended after PHASE_SECS
# (default 1200) seconds, its phase line then carrying what it printed;
# SERVER_ARGS adds server options (e.g. "--writer-cache-mb 512"), MSG_ARGS
# msg_bench's (e.g. "--contacts 5": each sender keeps to 5 peers); IMCLOUD_BIN
# picks another server binary. The cgroup (imcloud-bigstore-PID) is removed
# at the end, also when the script fails or is interrupted, after the
# server and the load generator it started are stopped.
# Time: on a shared 2-core box the fill wrote 1,100,000 messages among
# 10,000 users (a 300 MB store) in 24–43 s, and 3,000,000 among 2,000 in
# 158 s (progress on stderr): a full-size fill takes several minutes. Each
# pass adds two server starts, LOGINS logins, CONNS logins and SECS of sends.
set -e
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bigstore.sh: needs root (cgroup, drop_caches)" >&2; exit 1; }
CGROOT=/sys/fs/cgroup/memory
[ -w "$CGROOT" ] || { echo "bigstore.sh: no cgroup v1 memory controller at $CGROOT" >&2; exit 1; }
make -s all build/bench/bigstore_fill build/bench/loadgen build/bench/msg_bench build/bench/sync_bench >/dev/null
BIN=${IMCLOUD_BIN:-$PWD/build/imcloud}
USERS=${1:-100000}
MSGS=${2:-12000000}
OLD=${OLD:-1000}
CONNS=${CONNS:-$(( USERS < 10000 ? USERS : 10000 ))}
LOGINS=${LOGINS:-$(( USERS < 19000 ? USERS : 19000 ))}
SECS=${SECS:-10}
ulimit -n $(( USERS + 20000 )) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. bench/bench_lib.sh

CG=$CGROOT/imcloud-bigstore-$$
spid=
gpid=
cleanup() {
  set +e # every step runs, whatever failed before
  [ -z "$gpid" ] || { kill -TERM "-$gpid" 2>/dev/null; wait "$gpid" 2>/dev/null; } # (it may be inside an fsync)
  [ -z "$spid" ] || { kill -TERM "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; }
  spid=
  if [ -d "$CG" ]; then
    for p in $(cat "$CG/cgroup.procs"); do kill -KILL "$p" 2>/dev/null; done # none left but a stray child
    rmdir "$CG" 2>/dev/null || sleep 0.5
    [ ! -d "$CG" ] || rmdir "$CG" || echo "bigstore.sh: could not remove $CG" >&2
  fi
  if [ -n "$dir" ] && [ -z "$KEEP" ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
ms_now() { date +%s%3N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/$1/status; }
read_b() { awk '/^read_bytes:/ {print $2}' /proc/$1/io; }
phase_mark() { # the cgroup's peak, its failcnt and the server's disk reads from here
  echo 0 > "$CG/memory.max_usage_in_bytes"
  echo 0 > "$CG/memory.failcnt"
  rb0=$(read_b $spid)
}
phase_start() { drop; phase_mark; } # the same, the page cache dropped first
oom_kills() { awk '$1 == "oom_kill" {print $2}' "$CG/memory.oom_control"; }
# label result…: one line of the phase that just ended; a server gone (the
# OOM killer) is said so, and sets dead: the phases until the next start are skipped
phase_line() {
  label=$1; shift
  if [ "$(awk '{print $3}' /proc/$spid/stat 2>/dev/null)" = Z ] || ! rb1=$(read_b $spid 2>/dev/null); then
    wait "$spid" || true
    spid=; dead=1
    echo "$pass $label server_gone=1 cg_oom_kills=$(oom_kills) cg_failcnt=$(cat "$CG/memory.failcnt") $*"
    return 0
  fi
  echo "$pass $label $* server_rss_kb=$(rss_kb $spid) cg_max_usage_kb=$(( $(cat "$CG/memory.max_usage_in_bytes") / 1024 ))" \
       "cg_failcnt=$(cat "$CG/memory.failcnt") read_kb=$(( (rb1 - rb0) / 1024 ))"
}
stop() { kill -TERM $spid; wait $spid || true; spid=; }
# command…: a load generator (or the fill), in the background in a process
# group of its own, so that a signal to the script ends the run at once (the
# shell runs its trap only between foreground commands) and cleanup stops
# all of the generator's processes; sets res to its output
gen() {
  setsid timeout "${PHASE_SECS:-1200}" "$@" >"$dir/gen.out" &
  gpid=$!
  wait "$gpid" || true
  gpid=
  res=$(cat "$dir/gen.out")
}
# The server in the cgroup (pinned to core 0), as bench_lib's start_server;
# sets spid, port and start_ms (until its first /healthz answer); a server
# gone before it listens sets dead (its line printed).
start_cg() {
  rm -f "$dir/port"
  t0=$(ms_now)
  sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$CG" taskset -c 0 "$BIN" serve --listen 127.0.0.1:0 \
    --port-file "$dir/port" --data "$dir" --log-level warn --rest-rate-limit 1000000 --writer-max-jobs 262144 \
    --msg-sync-page 1000 $SERVER_ARGS >>"$dir/server.log" 2>&1 &
  spid=$!
  while [ ! -s "$dir/port" ]; do
    kill -0 "$spid" 2>/dev/null || { wait "$spid" || true; spid=; dead=1
      echo "$pass startup server_gone=1 cg_oom_kills=$(oom_kills) cg_failcnt=$(cat "$CG/memory.failcnt") (server.log:" \
        "$(tail -3 "$dir/server.log" | tr '\n' ' '))"; return 0; }
    sleep 0.01
  done
  port=$(cat "$dir/port")
  curl -s -o /dev/null --max-time 600 "http://127.0.0.1:$port/healthz" || true # a server gone meanwhile: the phase line says so
  start_ms=$(( $(ms_now) - t0 ))
}
roam() { # label: one admin_getroammsg page of rm_b with rm_a
  r=$(curl --max-time 600 -s -w ' time_total=%{time_total}' -X POST \
      "http://127.0.0.1:$port/v4/openim/admin_getroammsg?sdkappid=$app&identifier=administrator&usersig=$asig&random=$$&contenttype=json" \
      -d '{"Operator_Account":"rm_b","Peer_Account":"rm_a","MaxCnt":100,"MinTime":0,"MaxTime":0}')
  case "$r" in *'"ActionStatus":"OK"'*) ;; *) phase_line "$1" "failed=1 reply=$r"; [ -n "$dead" ] || exit 1; return 0 ;; esac
  n=$(echo "$r" | grep -o '"MsgSeq"' | wc -l)
  phase_line "$1" "msgs=$n ms=$(echo "$r" | sed -n 's/.*time_total=\([0-9.]*\).*/\1/p' | awk '{printf "%.1f", $1 * 1000}')"
}

# 1. the store: built, or a kept one copied (STORE)
t0=$(ms_now)
if [ -n "$STORE" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/imcloud-bigstore-XXXXXX")
  cp "$STORE"/imcloud.db* "$STORE/cursors" "$STORE/bigstore.app" "$dir/"
  read app key < "$dir/bigstore.app"
else
  new_app bigstore
  echo "$app $key" > "$dir/bigstore.app"
  gen build/bench/bigstore_fill --dir "$dir" --sdkappid "$app" --users "$USERS" --msgs "$MSGS" --old "$OLD" \
    --pad "${PAD:-0}" --cursors "$dir/cursors"
  case "$res" in filled*) ;; *) echo "bigstore.sh: bigstore_fill failed" >&2; exit 1 ;; esac
fi
store_kb=$(du -sk "$dir" | cut -f1)
echo "store users=$USERS msgs=$MSGS old=$OLD pad=${PAD:-0} size_kb=$store_kb build_s=$(( ($(ms_now) - t0) / 1000 ))${STORE:+ copied_from=$STORE} dir=$dir"
asig=$($BIN usersig gen --sdkappid "$app" --key "$key" --identifier administrator)
limit=$(( ${LIMIT_MB:-0} * 1048576 ))
[ "$limit" -gt 0 ] || limit=$(( store_kb * 1024 / ${FRACTION:-8} ))
mkdir "$CG"
echo 0 > "$CG/memory.swappiness" 2>/dev/null || true # the limit is met by dropping cache, not by swapping

# 2. the passes
for lim in "$limit" -1; do
  pass="limit_kb=$([ "$lim" = -1 ] && echo none || echo $(( lim / 1024 )))"
  echo "$lim" > "$CG/memory.limit_in_bytes"
  drop
  echo 0 > "$CG/memory.max_usage_in_bytes"
  echo 0 > "$CG/memory.failcnt"
  dead=
  start_cg
  if [ -z "$dead" ]; then
    rb0=0
    phase_line startup "ms=$start_ms"

    phase_start
    lp=$(( (LOGINS + 9499) / 9500 ))
    gen taskset -c 1 build/bench/loadgen --port "$port" --sdkappid "$app" --key "$key" --conns "$LOGINS" --procs "$lp" \
      --user-prefix mb
    phase_line login "$res"
  fi
  if [ -z "$dead" ]; then
    phase_start
    gen taskset -c 1 build/bench/msg_bench --port "$port" --sdkappid "$app" --key "$key" --conns "$CONNS" \
      --procs $(( (CONNS + 4999) / 5000 )) --window 4 --batch 1 --seconds "$SECS" --server-pid "$spid" \
      --cursors "$dir/cursors" $MSG_ARGS
    phase_line c2c "$res"
  fi
  [ -n "$dead" ] || stop

  # the reads of old conversations: a server of their own (a lost one is restarted)
  dead=
  drop
  start_cg
  [ -z "$dead" ] || continue
  phase_start
  gen build/bench/sync_bench read --port "$port" --sdkappid "$app" --key "$key" --count "$OLD" --runs 1
  phase_line sync_cold "$res"
  [ -z "$dead" ] || continue
  phase_mark
  gen build/bench/sync_bench read --port "$port" --sdkappid "$app" --key "$key" --count "$OLD" --runs 1
  phase_line sync_warm "$(echo "$res" | sed 's/ (first after start: cold)//')"
  [ -z "$dead" ] || continue
  phase_start
  roam roam_cold
  [ -z "$dead" ] || continue
  phase_mark
  roam roam_warm
  [ -z "$dead" ] || continue
  stop
done
