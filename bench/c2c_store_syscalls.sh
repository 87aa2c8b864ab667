#!/bin/sh
# c2c_store_syscalls.sh — system calls and CPU per message of the C2C storage
# path alone (build/bench/c2c_store_bench), by batch (messages per COMMIT).
#
#   sh bench/c2c_store_syscalls.sh [MSGS] [BATCH...]     (defaults: 60000; 30 120 1000 10000)
#
# For each batch size: one run under `perf stat` with the syscall tracepoints
# (counts only, no per-call tracing cost), minus a run that only sets up the
# database (--msgs 4), divided by MSGS. Prints one line per batch: CPU and
# system CPU per message (the bench's own getrusage figures, from the counted
# run), all syscalls, pwrite64, pwritev, pread64, fdatasync+fsync, fcntl
# (locks) per message. Pinned to CPU 0 (taskset -c 0) like the server.
# Needs perf with access to tracepoints (perf_event_paranoid <= 2 as root).
set -eu
BIN=${BIN:-build/bench/c2c_store_bench}
MSGS=${1:-60000}
[ $# -gt 0 ] && shift
BATCHES=${*:-30 120 1000 10000}
EV=raw_syscalls:sys_enter,syscalls:sys_enter_pwrite64,syscalls:sys_enter_pwritev,syscalls:sys_enter_pread64
EV=$EV,syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_fcntl
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# counts FILE EVENT: the count perf stat -x, wrote for EVENT
counts() { awk -F, -v e="$2" '$3 == e { print $1 }' "$1"; }

perf stat -x, -e "$EV" -o "$T/base" taskset -c 0 "$BIN" --msgs 4 --batch 4 > /dev/null
for b in $BATCHES; do
  taskset -c 0 perf stat -x, -e "$EV" -o "$T/run" "$BIN" --msgs "$MSGS" --batch "$b" > "$T/out"
  line=$(grep '^total' "$T/out")
  cpu=$(echo "$line" | sed 's/.*cpu_us_per_msg=\([0-9.]*\).*/\1/')
  sys=$(echo "$line" | sed 's/.*sys_us_per_msg=\([0-9.]*\).*/\1/')
  out="batch=$b msgs=$MSGS cpu_us_per_msg=$cpu sys_us_per_msg=$sys"
  for e in raw_syscalls:sys_enter syscalls:sys_enter_pwrite64 syscalls:sys_enter_pwritev syscalls:sys_enter_pread64 \
           syscalls:sys_enter_fdatasync syscalls:sys_enter_fsync syscalls:sys_enter_fcntl; do
    r=$(counts "$T/run" "$e"); z=$(counts "$T/base" "$e")
    name=$(echo "$e" | sed 's/.*sys_enter_\{0,1\}//; s/^$/all/')
    out="$out ${name:-all}_per_msg=$(awk -v r="$r" -v z="$z" -v m="$MSGS" 'BEGIN { printf "%.2f", (r - z) / m }')"
  done
  echo "$out"
done
