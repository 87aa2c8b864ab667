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
# while it migrated, the server's CPU time, the migration lines of its log); then for each KILL_AT_S
# (default 2 and 6) a start killed with SIGKILL that many seconds in, the
# user_version and WAL it left, and the restart (seconds to listen, the
# version and row counts it ends with). Each upgraded store is compared with
# the old one (the rows of every table the old store has, counted per table)
# and PRAGMA quick_check'ed; after the clean upgrade the server is started
# once more and three messages of the old store (the first, middle and last
# one-to-one) are read back through REST admin_getroammsg.
#
# An old store of a schema before 48 (e.g. 44: c89455326, with bench tools of
# the same arguments) has no imported or modified messages from these benches;
# IMPORTED=PCT (default 0), when the old store is written, marks PCT % of its
# one-to-one messages imported (flags|32) and PCT % of its group messages
# modified (flags|8), so that migrations 48 and 51 (imports' run_lo and max_t)
# and 53 (changes numbered) have rows to fill. The benches' app key ("k") is
# replaced by a 64-digit one there so that the read back can sign.
# PEERS=K (default 0: random peers among the 20,000 users, nearly one message
# per conversation) gives each user K fixed contacts (c2c_store_bench
# --peers): 20,000 × K conversations of MSGS / (20,000 × K) messages each,
# written in random order, so that neighbouring rows are in different
# conversations (migrations 48 and 51 read per conversation; §106).
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
KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
# the rows of each table of the old store (its names: a table a migration rebuilds keeps its name), but meta,
# changes and bills: a server's first start on a benches' store writes three meta rows (operator token,
# billing_tz, pricebooks_dir), their change log rows, and may bill the benches' apps (its jobs)
counts() {
  tabs=$(q "$DIR/old" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'
    AND name NOT IN ('meta','changes','bills') ORDER BY name")
  sql=""
  for t in $tabs; do sql="$sql${sql:+||' '}||'$t='||(SELECT count(*) FROM \"$t\")"; done
  q "$1" "SELECT ''$sql"
}

if [ ! -s "$DIR/old/imcloud.db" ]; then
  rm -rf "$DIR/old"; mkdir -p "$DIR/old"
  echo "writing the old store ($OLD): $MSGS messages (peers ${PEERS:-0}), $GMSGS group messages" >&2
  "$OLD/bench/c2c_store_bench" --users 20000 --peers "${PEERS:-0}" --msgs "$MSGS" --batch 2000 --dir "$DIR/old" >/dev/null
  "$OLD/bench/grp_store_bench" --members 200 --msgs "$GMSGS" --batch 2000 --reads 0 --dir "$DIR/old" >/dev/null
  q "$DIR/old" "UPDATE apps SET secret_key='$KEY'"
  if [ "${IMPORTED:-0}" -gt 0 ]; then
    q "$DIR/old" "UPDATE c2c_msg SET flags=flags|32 WHERE id%100<$IMPORTED; UPDATE grp_msg SET flags=flags|8 WHERE id%100<$IMPORTED"
  fi
  q "$DIR/old" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
fi
echo "old store: user_version $(q "$DIR/old" 'PRAGMA user_version'), $(du -m "$DIR/old/imcloud.db" | cut -f1) MB," \
  "$(q "$DIR/old" 'SELECT count(*) FROM (SELECT DISTINCT sdkappid, conv FROM c2c_msg)') conversations," \
  "$(q "$DIR/old" 'SELECT count(*) FROM c2c_msg WHERE flags&32') imported, $(q "$DIR/old" 'SELECT count(*) FROM grp_msg WHERE flags&8') modified"
want=$(counts "$DIR/old")
echo "  rows: $want"
# three one-to-one messages (first, middle, last): sender, recipient, time, text
picks=$(q "$DIR/old" "SELECT f.user_id||' '||t.user_id||' '||m.time_s||' '||json_extract(m.body,'\$.MsgBody[0].MsgContent.Text')
  FROM c2c_msg m JOIN accounts f ON f.sdkappid=m.sdkappid AND f.user_no=m.from_no
  JOIN accounts t ON t.sdkappid=m.sdkappid AND t.user_no=m.to_no
  WHERE m.id IN ((SELECT min(id) FROM c2c_msg), (SELECT max(id)/2 FROM c2c_msg), (SELECT max(id) FROM c2c_msg))" | tr ' ' '|')
app=$(q "$DIR/old" 'SELECT sdkappid FROM apps ORDER BY sdkappid LIMIT 1')

# start NEW on $1 (a copy of the old store); $2: seconds before a SIGKILL (0: none); $3: a function run on $1
# once it listens.
# Sets took (seconds to the port file, or to the kill), rss_kb (peak), cpu_s (user + system to its exit), wal_mb
# (largest seen), killed.
run() {
  d=$1; rm -f "$d/port" "$d/wal.max"; killed=0
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M %U %S' -o "$d/rss" "$NEW" serve --listen 127.0.0.1:0 --port-file "$d/port" --data "$d" \
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
  if [ "$killed" = 0 ] && [ -n "${3:-}" ]; then "$3" "$d"; fi # e.g. readback, while it listens
  [ "$killed" = 1 ] || kill -TERM "$(pgrep -P "$tpid")"
  wait "$tpid" || true
  rss_kb=$(tail -n 1 "$d/rss" | cut -d' ' -f1)
  cpu_s=$(tail -n 1 "$d/rss" | awk '{ print $2 + $3 }')
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

# the three messages read back through REST from the listening server in $1
readback() {
  sig=$("$NEW" usersig gen --sdkappid "$app" --key "$KEY" --identifier administrator)
  port=$(cat "$1/port")
  for p in $picks; do
    f=${p%%|*}; r=${p#*|}; t=${r%%|*}; r=${r#*|}; ts=${r%%|*}; text=$(echo "${r#*|}" | tr '|' ' ')
    out=$(curl -s -X POST "http://127.0.0.1:$port/v4/openim/admin_getroammsg?sdkappid=$app&identifier=administrator&usersig=$sig&random=1&contenttype=json" \
      -d "{\"Operator_Account\":\"$f\",\"Peer_Account\":\"$t\",\"MaxCnt\":100,\"MinTime\":$ts,\"MaxTime\":$ts}")
    case $out in *"\"$text\""*) echo "  read back: $f -> $t \"$text\"" ;; *) echo "  READ BACK FAILED: $f -> $t \"$text\": $out" ;; esac
  done
}

rm -rf "$DIR/run"; cp -r "$DIR/old" "$DIR/run"
run "$DIR/run" 0
echo "clean upgrade: listening after ${took} s, CPU ${cpu_s} s (user + system, to its exit), peak RSS $((rss_kb / 1024)) MB, largest WAL seen ${wal_mb} MB"
grep -E 'schema' "$DIR/run/server.log" | sed 's/^/  /'
check "$DIR/run"
run "$DIR/run" 0 readback

for k in $KILLS; do
  rm -rf "$DIR/run"; cp -r "$DIR/old" "$DIR/run"
  run "$DIR/run" "$k"
  walf=$(stat -c %s "$DIR/run/imcloud.db-wal" 2>/dev/null || echo 0) # before sqlite3 opens it (its close removes it)
  left="user_version $(q "$DIR/run" 'PRAGMA user_version' 2>&1)"
  [ "$killed" = 1 ] && echo "SIGKILL at ${k} s: left $left, WAL file $walf bytes (largest seen ${wal_mb} MB)" ||
    echo "SIGKILL at ${k} s: the server listened first (${took} s)"
  grep -E 'schema' "$DIR/run/server.log" | sed 's/^/  killed run: /' # the scripts it had finished
  : >"$DIR/run/server.log"
  run "$DIR/run" 0
  echo "  restart: listening after ${took} s, peak RSS $((rss_kb / 1024)) MB, largest WAL seen ${wal_mb} MB"
  grep -E 'schema' "$DIR/run/server.log" | sed 's/^/  /'
  check "$DIR/run"
done
rm -rf "$DIR/run"
