#!/bin/sh
# upgrade_bench.sh — what upgrading a big store costs: the new binary's start
# on a copy of a store written by an older build (its schema migrations run
# at open, before the server listens; src/store/sqlite_migrate.c).
#
#   sh bench/upgrade_bench.sh OLD_BUILD [NEW_BIN] [MSGS] [GROUP_MSGS] [KILL_AT_S…]
#
# OLD_BUILD: the build directory of an older head (its bench/c2c_store_bench
# and bench/grp_store_bench write the store in that head's schema), e.g.
#   git worktree add /tmp/old f0394c6b && make -C /tmp/old -j2 all bench
# NEW_BIN: the binary to upgrade with (default build/imcloud). MSGS one-to-one
# messages among 20,000 users (default 1,000,000) and GROUP_MSGS messages of
# one 200-member group (default 300,000). The old store is written once into
# $DIR/old (DIR default /tmp/upgrade-bench; kept for the next run, delete it
# when done) and every run starts on a fresh copy of it.
#
# Prints: the old store (user_version, rows, size); one clean upgrade (the
# seconds until the server listens, its peak RSS, the largest WAL file seen
# while it migrated, the migration lines of its log); then for each KILL_AT_S
# (default 2 and 6) a start killed with SIGKILL that many seconds in, the
# user_version and WAL it left, and the restart (seconds to listen, the
# version and row counts it ends with). Each upgraded store is compared with
# the old one (row counts of the message tables) and PRAGMA quick_check'ed.
set -e
OLD=${1:?usage: upgrade_bench.sh OLD_BUILD [NEW_BIN] [MSGS] [GROUP_MSGS] [KILL_AT_S...]}
NEW=${2:-build/imcloud}
MSGS=${3:-1000000}
GMSGS=${4:-300000}
[ $# -gt 4 ] && shift 4 || set --
KILLS=${*:-2 6}
[ "$KILLS" = none ] && KILLS=
DIR=${DIR:-/tmp/upgrade-bench}
mkdir -p "$DIR"
q() { sqlite3 "$1/imcloud.db" "$2"; }
counts() {
  q "$1" "SELECT (SELECT count(*) FROM c2c_msg)||' c2c_msg, '||((SELECT count(*) FROM c2c_inbox)+(SELECT count(*) FROM c2c_inbox_log))
    ||' inbox events, '||(SELECT count(*) FROM c2c_recent)||' conversation rows, '||(SELECT count(*) FROM grp_msg)||' grp_msg'"
}

if [ ! -s "$DIR/old/imcloud.db" ]; then
  rm -rf "$DIR/old"; mkdir -p "$DIR/old"
  echo "writing the old store ($OLD): $MSGS messages, $GMSGS group messages" >&2
  "$OLD/bench/c2c_store_bench" --users 20000 --msgs "$MSGS" --batch 2000 --dir "$DIR/old" >/dev/null
  "$OLD/bench/grp_store_bench" --members 200 --msgs "$GMSGS" --batch 2000 --reads 0 --dir "$DIR/old" >/dev/null
  q "$DIR/old" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
fi
echo "old store: user_version $(q "$DIR/old" 'PRAGMA user_version'), $(counts "$DIR/old"), $(du -m "$DIR/old/imcloud.db" | cut -f1) MB"
want=$(counts "$DIR/old")

# start NEW on $1 (a copy of the old store); $2: seconds before a SIGKILL (0: none).
# Sets took (seconds to the port file, or to the kill), rss_kb (peak), wal_mb (largest seen), killed.
run() {
  d=$1; rm -f "$d/port" "$d/wal.max"; killed=0
  t0=$(date +%s.%N)
  /usr/bin/time -f %M -o "$d/rss" "$NEW" serve --listen 127.0.0.1:0 --port-file "$d/port" --data "$d" \
    --log-level info >/dev/null 2>>"$d/server.log" &
  tpid=$!
  wal=0
  while [ ! -s "$d/port" ]; do
    w=$(stat -c %s "$d/imcloud.db-wal" 2>/dev/null || echo 0)
    [ "$w" -gt "$wal" ] && wal=$w
    now=$(date +%s.%N)
    if [ "$2" != 0 ] && [ "$(echo "$now - $t0 >= $2" | bc)" = 1 ]; then
      spid=$(pgrep -P "$tpid" || true)
      [ -n "$spid" ] && kill -9 "$spid" && killed=1
      break
    fi
    kill -0 "$tpid" 2>/dev/null || { echo "server exited:" >&2; cat "$d/server.log" >&2; exit 1; }
    sleep 0.05
  done
  took=$(echo "$(date +%s.%N) - $t0" | bc)
  [ "$killed" = 1 ] || kill -TERM "$(pgrep -P "$tpid")"
  wait "$tpid" || true
  rss_kb=$(tail -n 1 "$d/rss")
  wal_mb=$(echo "scale=1; $wal / 1048576" | bc)
}
check() {
  got=$(counts "$1")
  [ "$got" = "$want" ] && same="rows as before" || same="ROWS DIFFER: $got"
  # SQLite 3.40's quick_check reports "NULL value in usage_reg.user_no" for every row of a WITHOUT ROWID table
  # whose key orders its columns otherwise than the table (migration 47): that table gets integrity_check instead
  qc=$(q "$1" 'PRAGMA quick_check' | grep -v '^NULL value in usage_reg\.' || true)
  echo "  user_version $(q "$1" 'PRAGMA user_version'), quick_check ${qc:-ok (usage_reg: $(q "$1" 'PRAGMA integrity_check(usage_reg)'))}, $same"
}

rm -rf "$DIR/run"; cp -r "$DIR/old" "$DIR/run"
run "$DIR/run" 0
echo "clean upgrade: listening after ${took} s, peak RSS $((rss_kb / 1024)) MB, largest WAL seen ${wal_mb} MB"
grep -E 'schema' "$DIR/run/server.log" | sed 's/^/  /'
check "$DIR/run"

for k in $KILLS; do
  rm -rf "$DIR/run"; cp -r "$DIR/old" "$DIR/run"
  run "$DIR/run" "$k"
  walf=$(stat -c %s "$DIR/run/imcloud.db-wal" 2>/dev/null || echo 0) # before sqlite3 opens it (its close removes it)
  left="user_version $(q "$DIR/run" 'PRAGMA user_version' 2>&1)"
  [ "$killed" = 1 ] && echo "SIGKILL at ${k} s: left $left, WAL file $walf bytes (largest seen ${wal_mb} MB)" ||
    echo "SIGKILL at ${k} s: the server listened first (${took} s)"
  : >"$DIR/run/server.log"
  run "$DIR/run" 0
  echo "  restart: listening after ${took} s, peak RSS $((rss_kb / 1024)) MB, largest WAL seen ${wal_mb} MB"
  grep -E 'schema' "$DIR/run/server.log" | sed 's/^/  /'
  check "$DIR/run"
done
rm -rf "$DIR/run"
