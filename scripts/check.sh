#!/bin/sh
# The whole test suite, as CI runs it (`make check` after scripts/deps.sh):
# 1. normal build: unit tests, end-to-end tests (real server, real sockets);
#    in $TEST_LANES (default 2) and $TEST_E2E_LANES (default 4) parallel lanes
# 2. interop tests (Node: npm tls-sig-api-v2 tokens, `ws` and headless Chromium
#    clients against the real server)
# 3. ASan+UBSan build of the unit, end-to-end and interop tests
# 4. libFuzzer targets replaying their seed corpora (clang)
# The builds of 3 and 4 run in the background during 1's end-to-end tests;
# 4's corpus replay runs as soon as its build ends, beside 3's tests.
# Each phase prints "== NAME (at N s)" when it starts, each group of lanes
# "== KIND lanes ended (at N s; last: PROG, in lane I)" (scripts/run-lanes.sh)
# and the replay phase when the fuzz build and replay ended: a run's log says
# which group held the phase it ended. 2026-12-07 (wave 39): the last CI run's
# replay phase began exactly when the fuzz build ended (704 s), the ASan tests
# having printed no end; the fuzz build was niced all through the ASan tests,
# its replay ran after them. Now it is niced only while the normal tests run,
# and replays in the background. Three quiet runs since (777, 747, 741 s in
# all): the fuzz build and replay ended at 547, 521, 498 s, the ASan e2e
# lanes at 769, 740, 733 s — those lanes, not the fuzz build, end the phase.
# Whether the un-niced fuzz build slows them was not measured apart.
# Ends with exactly one line "N passed, N failed"; exit status 0 iff none failed.
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
# unit tests run in this many parallel lanes (scripts/run-lanes.sh), end-to-end
# tests in E2E_LANES: they wait on sockets and clocks much of the time, so more
# lanes than cores shortens their phases (2026-12-05, quiet box: normal build
# 130 s with 3 lanes, ASan 239 s; with 2, their summed test times halved are
# 158 s and 288 s. 2026-12-06, quiet box, 116 end-to-end tests: normal 192 s
# with 3 lanes, 156 s with 4; ASan 315 s and 269 s, all passing)
LANES=${TEST_LANES:-2}
E2E_LANES=${TEST_E2E_LANES:-4}
# The sanitizer unit tests (CPU-bound) run in ASAN_UNIT_LANES lanes of their
# own beside the sanitizer end-to-end lanes, not in a phase before them
# (2026-12-06, wave 38, quiet box: the two phases took 151 + 324 = 475 s one
# after the other, 404 s together; the tests' summed times grew from 230 to
# 350 s (unit) and 1,068 to 1,511 s (end-to-end) with the cores shared, all
# passing. The fuzz build, niced, now ends in that phase instead of before it)
ASAN_UNIT_LANES=${TEST_ASAN_UNIT_LANES:-1}
TEST_TOTALS=$(mktemp); echo "0 0" > "$TEST_TOTALS"; export TEST_TOTALS
# what failed, repeated just above the last line (CI shows only the tail)
TEST_FAILED=$(mktemp); export TEST_FAILED
failed_list() { [ ! -s "$TEST_FAILED" ] || { echo "== what failed"; cat "$TEST_FAILED"; }; rm -f "$TEST_FAILED"; }
fail_build() { read tp tf < "$TEST_TOTALS"; failed_list; echo "$tp passed, $((tf + 1)) failed"; exit 1; }

# every phase's start, in seconds since this script began (where CI's time goes)
T0=$(date +%s); CHECK_T0=$T0; export CHECK_T0 # scripts/run-lanes.sh says when its lanes end, from it
phase() { echo "== $1 (at $(( $(date +%s) - T0 )) s)"; }

phase build
make -j"$JOBS" tests-build bench-build || { echo "!! build failed"; fail_build; } # benches built, not run
UNIT=$(ls build/tests/unit/*/test_* 2>/dev/null | grep -v '\.d$')
E2E=$(ls build/tests/e2e/test_* 2>/dev/null | grep -v '\.d$')
phase "unit tests"
sh scripts/run-lanes.sh unit "$LANES" $UNIT
# The sanitizer and fuzz trees are built in the background, niced, while the
# normal end-to-end and interop tests run: those mostly wait on sockets and
# clocks, and no test asserts a timing. On a quiet box that takes the ASan
# build (131 s) and the fuzz build (~40 s) out of the sum of the phases. On
# a box loaded by other work (2026-12-06, load average 7-14 on 2 cores) the
# niced build got little CPU and the tests waited for it; test_bill_kill,
# which must catch a day job part-way, failed once there (the job ran all
# its 15 steps before the test took the lock). Each build's output goes to a
# log, printed when it fails; "== … (at N s)" says when each starts and ends.
# "$log.rc" holds "STATUS END" (END: seconds since T0), written when it ends.
# The fuzz build is niced only while the normal tests run ("$blog.fg" exists
# once they are done; a build already running is reniced then, with the
# sanitizer build), and its corpus replay runs as soon as it ends, beside the
# sanitizer tests ("$flog.out" its output, "$flog.totals" its counts, printed
# and added in the replay phase), not after them.
blog=$(mktemp); flog=$(mktemp)
built() { echo "$1 $(( $(date +%s) - T0 ))" > "$2.tmp"; mv "$2.tmp" "$2.rc"; }
# renice_tree PID: PID's descendants back at the default priority (lowering a
# nice value needs privilege; without it they just stay niced)
renice_tree() { for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do renice -n 0 -p "$c" >/dev/null 2>&1; renice_tree "$c"; done; }
phase "sanitizer build (ASan+UBSan), then fuzz build and its corpus replay, in the background"
(
  nice -n 10 make -j"$JOBS" BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" tests-build >"$blog" 2>&1
  built $? "$blog"
  if ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
    n=10; [ ! -f "$blog.fg" ] || n=0
    nice -n $n make -j"$JOBS" fuzz-build >"$flog" 2>&1; rc=$?
    echo "0 0" > "$flog.totals"
    [ $rc != 0 ] || ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      TEST_TOTALS=$flog.totals sh scripts/run-tests.sh fuzz build-fuzz/fuzz_* >"$flog.out" 2>&1
    built $rc "$flog"
  fi
) &
builds=$!
phase "end-to-end tests"
IMCLOUD_BIN=$PWD/build/imcloud sh scripts/run-lanes.sh e2e "$E2E_LANES" $E2E

if [ -f tests/interop/run.sh ]; then
  phase interop
  IMCLOUD_BIN=$PWD/build/imcloud sh scripts/run-tests.sh interop tests/interop/run.sh
fi

phase "waiting for the sanitizer build"
# nothing else runs now: the builds back at the default priority
: > "$blog.fg"; renice_tree $builds
while [ ! -f "$blog.rc" ] && kill -0 $builds 2>/dev/null; do sleep 1; done
rc=1; end=?; [ ! -f "$blog.rc" ] || read rc end < "$blog.rc"
phase "sanitizer build done (it ended at $end s)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ "$rc" = 0 ]; then
  UNIT=$(ls build-asan/tests/unit/*/test_* 2>/dev/null | grep -v '\.d$')
  export IMC_PROPERTY_BILLS=200000
  E2E=$(ls build-asan/tests/e2e/test_* 2>/dev/null | grep -v '\.d$')
  # the unit tests (CPU-bound) in $ASAN_UNIT_LANES lanes of their own beside
  # the end-to-end tests' lanes (mostly waiting on sockets and clocks),
  # rather than in a phase before them: see ASAN_UNIT_LANES above
  phase "sanitizer unit and end-to-end tests, at the same time"
  IMCLOUD_BIN=$PWD/build-asan/imcloud sh scripts/run-lanes.sh asan-e2e "$E2E_LANES" $E2E -- asan-unit "$ASAN_UNIT_LANES" $UNIT
  # the interop clients (a browser's frames among them) against the sanitized server too
  [ ! -f tests/interop/run.sh ] || IMCLOUD_BIN=$PWD/build-asan/imcloud sh scripts/run-tests.sh asan-interop tests/interop/run.sh
else
  grep -E 'error|Error' "$blog" | head -n 20
  echo "!! sanitizer build failed"; read tp tf < "$TEST_TOTALS"; echo "$tp $((tf + 1))" > "$TEST_TOTALS"
  echo "sanitizer build failed" >> "$TEST_FAILED"
fi

wait $builds
if ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
  rc=1; end=?; [ ! -f "$flog.rc" ] || read rc end < "$flog.rc"
  phase "fuzz corpus replay (the fuzz build and the replay after it ended at $end s)"
  if [ "$rc" = 0 ]; then
    cat "$flog.out"
    read fp ff < "$flog.totals"; read tp tf < "$TEST_TOTALS"; echo "$((tp + fp)) $((tf + ff))" > "$TEST_TOTALS"
  else
    grep -E 'error|Error' "$flog" | head -n 20
    echo "!! fuzz build failed"; read tp tf < "$TEST_TOTALS"; echo "$tp $((tf + 1))" > "$TEST_TOTALS"
    echo "fuzz build failed" >> "$TEST_FAILED"
  fi
fi

read tp tf < "$TEST_TOTALS"; rm -f "$TEST_TOTALS" "$blog" "$blog.rc" "$blog.fg" "$flog" "$flog.rc" "$flog.out" "$flog.totals"
phase done
failed_list
echo "$tp passed, $tf failed"
[ "$tf" = 0 ]
