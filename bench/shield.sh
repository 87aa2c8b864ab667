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
#
# STEER=1 (environment, with `on` or `run`): loopback's receive work leaves
# core 0 too. On `lo` a packet's receive path (the receiving socket's TCP
# input, its wake-up, the ACK it sends back) runs on the core that sent it,
# so every reply and push the server writes ran the load generator's
# receive path on the server's core (~17 % of core 0 at half rate,
# docs/BENCHMARKS.md wave 41). `on` saves `lo`'s rps_cpus (in $FILE.rps)
# and steers the device's receive processing to the other cores; `off`
# puts the saved mask back. What it also moves: the server's own receive of
# the generator's ACKs, which a real network card would deliver on the
# server's cores (the generator's data already arrived on core 1 without
# it: its sends run the server's receive path there). So a STEER run shows
# the server without the generator's receive path and slightly without its
# own ACK input; the generator's core then carries both sides' receive
# work (loadgen_cpu_wait_ms says how much it waited). Needs root.
set -e
FILE=${SHIELD_FILE:-/tmp/imcloud-shield.masks}
RPS=/sys/class/net/lo/queues/rx-0/rps_cpus
last=$(( $(getconf _NPROCESSORS_ONLN) - 1 ))
[ "$last" -ge 1 ] || { echo "shield.sh: one CPU, nothing to do" >&2; exit 0; }
# the hexadecimal mask of cores 1..last
rest_mask() { printf '%x\n' $(( (1 << (last + 1)) - 2 )); }
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
  echo "shield: core 0 cleared ($(wc -l < "$FILE") threads saved in $FILE)" >&2
  if [ -n "$STEER" ]; then
    cat "$RPS" > "$FILE.rps"
    rest_mask > "$RPS"
    echo "shield: lo's receive steered to cores 1-$last (rps_cpus $(cat "$RPS"), was $(cat "$FILE.rps"))" >&2
  fi ;;
off)
  if [ -e "$FILE.rps" ]; then
    cat "$FILE.rps" > "$RPS"
    rm -f "$FILE.rps"
    echo "shield: lo's rps_cpus back to $(cat "$RPS")" >&2
  fi
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
