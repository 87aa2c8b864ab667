#!/bin/sh
# shield.sh on|off — keep core 0 for the server under test.
#
#   sh bench/shield.sh on     # every other thread that may move leaves core 0
#   sh bench/shield.sh off    # each thread gets back the CPU mask it had
#   sh bench/shield.sh run CMD [ARG...]   # on, CMD (with SHIELD_ON=1), off
#
# `on` saves every thread's CPU mask to $SHIELD_FILE (default
# /tmp/imcloud-shield.masks) and sets every thread that may move to the
# other cores (per-CPU kernel threads refuse and stay). Processes started
# afterwards inherit their parent's mask, so a server started with
# `taskset -c 0` is then alone on core 0 apart from per-CPU kernel threads
# and interrupts. `off` restores the saved masks (threads gone since are
# skipped) and removes the file; without a file it gives every thread all
# CPUs.
#
# Why: on this VM the sandbox's agent (PID 1, nice -10, threads
# tokio-rt-worker) runs every ~0.5-1 s on whichever core it finds and took
# core 0 from the server's event loop for up to 5.5 ms at a time (21 ms
# once), invisible to
# /proc/stat's steal (docs/BENCHMARKS.md, "Issue 11, wave 19").
# login_storm_rest.sh, login_bench.sh and msg_bench.sh call it when SHIELD=1
# is in their environment (through `run`; the masks come back when the
# script ends or is interrupted; after a kill -9, run `sh bench/shield.sh off`).
set -e
FILE=${SHIELD_FILE:-/tmp/imcloud-shield.masks}
last=$(( $(getconf _NPROCESSORS_ONLN) - 1 ))
[ "$last" -ge 1 ] || { echo "shield.sh: one CPU, nothing to do" >&2; exit 0; }
case $1 in
on)
  [ ! -e "$FILE" ] || { echo "shield.sh: $FILE exists (shield already on? run: sh bench/shield.sh off)" >&2; exit 1; }
  for t in /proc/[0-9]*/task/[0-9]*; do
    tid=${t##*/}
    m=$(taskset -p "$tid" 2>/dev/null | sed -n 's/.*: //p') || continue
    [ -n "$m" ] || continue
    echo "$tid $m" >> "$FILE"
    taskset -p -c "1-$last" "$tid" >/dev/null 2>&1 || true
  done
  echo "shield: core 0 cleared ($(wc -l < "$FILE") threads saved in $FILE)" >&2 ;;
off)
  if [ -e "$FILE" ]; then
    while read -r tid m; do taskset -p "$m" "$tid" >/dev/null 2>&1 || true; done < "$FILE"
    rm -f "$FILE"
  else
    for t in /proc/[0-9]*/task/[0-9]*; do taskset -p -c "0-$last" "${t##*/}" >/dev/null 2>&1 || true; done
  fi
  echo "shield: masks restored" >&2 ;;
run)
  shift
  sh "$0" on
  trap 'sh "$0" off; exit 130' INT TERM
  rc=0
  SHIELD_ON=1 "$@" || rc=$?
  trap - INT TERM
  sh "$0" off
  exit $rc ;;
*) echo "usage: sh bench/shield.sh on|off|run CMD [ARG...]" >&2; exit 2 ;;
esac
