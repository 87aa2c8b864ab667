#!/bin/sh
# run-lanes.sh KIND LANES BIN... [-- KIND LANES BIN...]...: scripts/run-tests.sh
# over the BINs in LANES parallel lanes. Each lane takes the next program from
# its group's queue (the slow ones first, so the lanes end together) and runs
# it alone, so each program's output stays whole; the lanes' outputs are
# printed when all are done, lane by lane. Several groups ("--" between them)
# run at the same time, each with its own KIND, queue and lanes: CPU-bound
# unit tests beside end-to-end tests that mostly wait on sockets and clocks.
# Totals: added to $TEST_TOTALS as run-tests.sh does, or printed as "N
# passed, M failed" when it is unset. Exit status 0 iff none failed. The
# programs must not share ports or directories (the end-to-end tests take
# ephemeral ports and their own temporary directories, the unit tests their
# own temporary directories).
# When all are done each group prints one line, "== KIND lanes ended (at N s;
# last: PROG, in lane I)", N seconds since $CHECK_T0 (scripts/check.sh's start,
# epoch seconds) or else since this script began: several groups run at once
# and their outputs come only at the end, so this says which group held the
# phase and what ran last in it.
here=$(dirname "$0")
dir=$(mktemp -d)
T0=${CHECK_T0:-$(date +%s)}
# The slowest, longest first ("-- … N s" lines of run-tests.sh), so that no
# long test starts last and the lanes end together. Ordered 2026-12-06 (wave
# 37; earlier orders and their figures: git log of this file).
# End-to-end tests by their ASan time in CI on a quiet box (wave 36's run,
# 877 s): cli_minor 37 s, write_durability and c2c_ws_audit 33 (c2c_ws_audit
# was 17th: it started mid-phase), msg_sync 31, group_live 30, cli_h4 and
# cli 27 (19th and 20th before), keepalive_slow_reader and clock_corr 20,
# ws_admit 19, races and http_bad 18, http_deadline 17, msg_pages 16,
# ws_login_hold, run_script, retention_review, push_lost (not listed
# before), keepalive_deadline, group_push_lost and ack_after_sync 15; then
# the rest of the former order. Then unit tests by their
# ASan time (scripts/check.sh's environment, 2 lanes, busy box, about 3x a
# quiet one): msg_list_steps 66 s, msg_imp_steps 46, msg_purge 36,
# msg_newconv 31, msg_window 30, msg_held 20, sqlite_vfs and meter_store
# 19, msg_trim_steps and msg_recent_log 18, schema 15, msg_log and
# writer_sync 13, msg_pass_steps 12, net_turns 11, jsonr 10, writer_ckpt
# and writer 9, net_server and meter_bills 8, writer_turns 7.
slow="test_cli_minor test_write_durability test_c2c_ws_audit test_msg_sync test_group_live test_cli_h4 test_cli test_keepalive_slow_reader test_clock_corr test_ws_admit test_races test_http_bad test_http_deadline test_msg_pages test_ws_login_hold test_run_script test_retention_review test_push_lost test_keepalive_deadline test_group_push_lost test_ack_after_sync test_ws_msg_review test_turn_budgets test_live_walk_members test_reply_whole test_msg_durability test_gates_review test_group_dissolve_chunks test_bill_kill test_clock_life test_clock_bill test_ws_paused_gone test_msg_trim test_ws test_retention_addons test_ws_pace test_store_pipeline test_msg_list_steps test_msg_imp_steps test_msg_purge test_msg_newconv test_msg_window test_msg_held test_sqlite_vfs test_meter_store test_msg_trim_steps test_msg_recent_log test_schema test_msg_log test_writer_sync test_msg_pass_steps test_net_turns test_jsonr test_writer_ckpt test_writer test_net_server test_meter_bills test_writer_turns"
# queue G BIN...: group G's queue, the listed slow ones first, in order
queue() {
  g=$1; shift
  for t in "$@"; do
    [ -x "$t" ] || continue
    rank=1; n=0; b=${t##*/}
    for s in $slow; do n=$((n + 1)); [ "$b" = "$s" ] && rank=0$(printf %03d $n); done # 0001 … 0999 before 1, in order
    echo "$rank $t"
  done | sort -s -k1,1 | cut -d' ' -f2- > "$dir/queue.$g"
}

# lane G KIND I: lane I of group G, until G's queue is empty; then
# "$dir/end.G.I" holds "END LAST" (END: seconds since T0; LAST: its last program)
lane() {
  TEST_TOTALS=$dir/totals.$1.$3; export TEST_TOTALS; echo "0 0" > "$TEST_TOTALS"
  last=-
  while :; do
    while ! mkdir "$dir/lock.$1" 2>/dev/null; do sleep 0.05; done
    t=$(head -n 1 "$dir/queue.$1")
    [ -z "$t" ] || sed -i 1d "$dir/queue.$1"
    rmdir "$dir/lock.$1"
    [ -n "$t" ] || break
    sh "$here/run-tests.sh" "$2" "$t" >> "$dir/out.$1.$3" 2>&1
    last=$t
  done
  echo "$(( $(date +%s) - T0 )) $last" > "$dir/end.$1.$3"
}

# every group's lanes, started together; "G LANES" per group in $dir/groups
g=0; : > "$dir/groups"
while [ $# -ge 2 ]; do
  g=$((g + 1)); kind=$1; lanes=$2; shift 2
  n=0; for a in "$@"; do [ "$a" = -- ] && break; n=$((n + 1)); done
  queue $g $(i=0; for a in "$@"; do [ $i -lt $n ] || break; echo "$a"; i=$((i + 1)); done)
  shift $n; [ $# -eq 0 ] || shift # the "--"
  echo "$g $lanes $kind" >> "$dir/groups"
  i=1
  while [ $i -le "$lanes" ]; do lane $g "$kind" $i & i=$((i + 1)); done
done
wait

p=0; f=0
while read g lanes kind; do
  i=1; end=-1; last=-; li=-
  while [ $i -le "$lanes" ]; do
    [ ! -f "$dir/out.$g.$i" ] || cat "$dir/out.$g.$i"
    read lp lf < "$dir/totals.$g.$i"; p=$((p + lp)); f=$((f + lf))
    read le ll < "$dir/end.$g.$i"; [ "$le" -le "$end" ] || { end=$le; last=$ll; li=$i; }
    i=$((i + 1))
  done
  echo "== $kind lanes ended (at $end s; last: $last, in lane $li)"
done < "$dir/groups"
rm -rf "$dir"
if [ -n "$TEST_TOTALS" ]; then
  [ -f "$TEST_TOTALS" ] || echo "0 0" > "$TEST_TOTALS"
  read tp tf < "$TEST_TOTALS"; echo "$((tp + p)) $((tf + f))" > "$TEST_TOTALS"
else
  echo "$p passed, $f failed"
fi
[ "$f" = 0 ]
