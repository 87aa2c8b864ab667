/* loopslice.c — the event-loop thread's time slice under the kernel's fair
 * scheduler (net.h, net_cfg_t loop_slice_us).
 *
 * The loop shares one core with the writer thread (nice +5) and the sync
 * thread. Linux's fair scheduler (EEVDF, 6.6 on) lets a woken task take
 * the core only once its virtual deadline is earlier than the running
 * one's, and the deadline lies one slice (default 0.7 ms x (1 + log2
 * CPUs): 1.4 ms on 2 cores) ahead: so a loop woken by a reply's bytes or
 * by the writer's completions may wait for the writer or the sync thread
 * to finish a slice first (not traced per wake-up). Since 6.12 a thread may ask for its own
 * slice (sched_setattr, sched_runtime for SCHED_OTHER, 100 µs to 100 ms),
 * and a woken thread with a shorter slice preempts the running one. A
 * short slice gives the loop no larger share of the core (that is its
 * weight, its nice value): it runs sooner and more often, in shorter
 * stretches. Measured (docs/decisions/store-pipeline-tail.md, "The half-rate
 * tail: the load generator and the core's share"): at 12,000 and 15,000
 * msgs/s on the shared VM the ack p99 fell in nine of twelve alternated
 * pairs; saturated, the throughput moved -3.5 to +1.3 % (four pairs, inside
 * the drift between pairs); an idle-box A/B has to confirm it.
 *
 * Only the calling thread is changed; threads it creates later may
 * inherit the slice (the storage threads exist before the server listens).
 * Before 6.12 sched_runtime means nothing for SCHED_OTHER: the slice the
 * kernel reports afterwards is logged, so a kernel that kept its default
 * shows it. */
#include "net/net_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* struct sched_attr (include/uapi/linux/sched/types.h; glibc has no wrapper) */
typedef struct {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
} slice_attr_t;

/* se.slice of the calling thread in ns (/proc/thread-self/sched), 0 if not shown. */
static uint64_t slice_now(void)
{
  char line[256];
  unsigned long long ns = 0;
  FILE *f = fopen("/proc/thread-self/sched", "r");
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "se.slice", 8) && sscanf(strchr(line, ':') ? strchr(line, ':') + 1 : line, "%llu", &ns) == 1) break;
  fclose(f);
  return ns;
}

uint64_t net__loop_slice_set(unsigned us)
{
  if (!us) return 0;
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, (id_t)gettid());
  if (nice == -1 && errno) return 0;
  /* SCHED_OTHER (policy 0); the nice value is part of the attributes, so it is passed back unchanged */
  slice_attr_t a = { .size = sizeof a, .policy = 0, .nice = nice, .runtime = (uint64_t)us * 1000u };
  if (syscall(SYS_sched_setattr, gettid(), &a, 0)) return 0;
  return slice_now();
}
