#!/bin/sh
# run-tests.sh KIND BIN...: run each test program, print its output, and add its
# cases to the totals in $TEST_TOTALS (a file "passed failed"), creating it if
# needed. Case counts come from cmocka's summary lines or a final line
# "tests: N passed, M failed"; a program with neither counts as one case by its
# exit status, and a program that exits non-zero with no failure counted adds one
# failure (a crash is a failure). When $TEST_FAILED names a file, each failing
# program appends a few lines to it (its name, cmocka's failed cases and their
# messages), so that scripts/check.sh can repeat them just above its last line.
kind=$1; shift
totals=${TEST_TOTALS:-/tmp/imcloud-test-totals.$$}
[ -f "$totals" ] || echo "0 0" > "$totals"
for t in "$@"; do
  [ -x "$t" ] || continue
  log=$(mktemp)
  t0=$(date +%s)
  echo "== $kind: $t"
  if [ "$kind" = fuzz ]; then
    n=$(basename "$t"); dir=tests/fuzz/corpus/$n
    if [ -d "$dir" ] && [ -n "$(ls "$dir")" ]; then
      "$t" -runs=0 "$dir"/* > "$log" 2>&1; rc=$?
    else
      "$t" -runs=1000 > "$log" 2>&1; rc=$?
    fi
    tail -n 3 "$log"
  else
    timeout ${TEST_TIMEOUT:-300} "$t" > "$log" 2>&1; rc=$?
    cat "$log"
  fi
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END{print s+0}')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END{print s+0}')
  if [ "$p" = 0 ] && [ "$f" = 0 ]; then
    line=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
      p=$(echo "$line" | sed 's/^tests: \([0-9]*\) passed.*/\1/')
      f=$(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')
    elif [ $rc = 0 ]; then p=1; else f=1; echo "!! $t exited with status $rc and no summary (124: the ${TEST_TIMEOUT:-300} s timeout)"; fi
  fi
  if [ $rc != 0 ] && [ "$f" = 0 ]; then f=1; echo "!! $t exited with status $rc"; fi
  if [ "$f" != 0 ] && [ -n "$TEST_FAILED" ]; then
    { echo "$kind: $t ($f failed)"
      grep -E '^\[  (FAILED|ERROR) +\] |[Ff]ailure|error:|^!! |ERROR: AddressSanitizer|runtime error' "$log" | grep -v '^\[  FAILED  \] [0-9]' | awk '!seen[$0]++' | head -n 8 | sed 's/^/  /'
    } >> "$TEST_FAILED"
  fi
  rm -f "$log"
  echo "-- $kind: $t: $(( $(date +%s) - t0 )) s"
  read tp tf < "$totals"
  echo "$((tp + p)) $((tf + f))" > "$totals"
done
[ -n "$TEST_TOTALS" ] || { read tp tf < "$totals"; echo "$tp passed, $tf failed"; rm -f "$totals"; [ "$tf" = 0 ]; }
