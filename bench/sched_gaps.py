#!/usr/bin/env python3
"""sched_gaps.py PERF_SCRIPT_TXT LOOP_TID [MIN_MS] — who had the server's
core while its event loop waited for it.

Record the scheduler on every CPU beside a benchmark (the server pinned to
core 0), then feed this the text of the trace:

    taskset -c 1 perf record -k mono -a -e sched:sched_switch,sched:sched_wakeup -o perf.data &
    DIAG=DIR SHIELD=1 sh bench/login_storm_rest.sh 10000 3      # DIR/server.pid: the loop's tid
    # then stop perf with SIGINT
    perf script -i perf.data -F comm,pid,tid,cpu,time,event,trace > perf.txt
    python3 bench/sched_gaps.py perf.txt "$(cat DIR/server.pid)" 2

Each stretch in which the loop thread was runnable but not running on CPU
0 (from its preemption, or from its wake-up, until it ran again) of at
least MIN_MS (default 2) is printed with its start (perf's clock: with -k
mono it matches rest_probe --timed), its length and the threads that ran on
CPU 0 meanwhile (ms each; swapper = the CPU idle: the VM waking the vCPU),
then how many there were (docs/BENCHMARKS.md, "Issue 11, wave 19").
"""
import collections
import re
import sys

path, loop = sys.argv[1], sys.argv[2]
minms = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
sw = re.compile(r'\[000\]\s+(\d+\.\d+):\s+sched:sched_switch: prev_comm=(.*?) prev_pid=(\d+) prev_prio=(-?\d+) '
                r'prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+) ')
wk = re.compile(r'\s(\d+\.\d+):\s+sched:sched_wakeup: comm=(.*?) pid=(\d+) ')
waiting = None  # when the loop became runnable but off the CPU
cur = cur_t = None
ran = collections.Counter()
out = []
for line in open(path):
    m = sw.search(line)
    if m:
        t = float(m.group(1))
        ppid, pst, nxt, npid = m.group(3), m.group(5), m.group(6), m.group(7)
        if cur is not None and waiting is not None:
            ran[cur] += t - max(cur_t, waiting)
        if ppid == loop and pst.startswith('R'):
            waiting, ran = t, collections.Counter()
        if npid == loop and waiting is not None:
            if (t - waiting) * 1000 >= minms:
                out.append((waiting, (t - waiting) * 1000, ran.most_common(6)))
            waiting = None
        cur, cur_t = '%s/%s' % (nxt, npid), t
        continue
    m = wk.search(line)
    if m and m.group(3) == loop and waiting is None:
        waiting, ran = float(m.group(1)), collections.Counter()
for w, d, r in out:
    print('%.6f off %.2f ms: %s' % (w, d, ', '.join('%s %.2f' % (k, v * 1000) for k, v in r)))
print('stretches >= %.1f ms: %d' % (minms, len(out)))
