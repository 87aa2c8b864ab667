/* End-to-end: the server asks the kernel for a short time slice for its
 * event-loop thread when it starts listening (src/net/loopslice.c, option
 * net_loop_slice_us, default 100 µs), so the loop, woken by input or by the
 * writer's completions, preempts the storage threads at once instead of
 * after their slice (docs/decisions/store-pipeline-tail.md, "The half-rate
 * tail: the load generator and the core's share"). Observable from
 * outside: se.slice of the loop thread (its id is the process id) in
 * /proc/PID/task/PID/sched; the storage threads keep the kernel's default.
 * With --net-loop-slice-us 0 the loop keeps the default too. Skipped on a
 * kernel that does not take a thread's own slice (before 6.12: a forked
 * child asks for 100 µs and reads back its se.slice). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

static e2e_server_t srv;

/* se.slice (ns) of thread tid of pid, -1 when the kernel does not show it. */
static long long slice_of(pid_t pid, long tid)
{
  char path[96], line[256];
  long long ns = -1;
  snprintf(path, sizeof path, "/proc/%d/task/%ld/sched", (int)pid, tid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!strncmp(line, "se.slice", 8) && colon) ns = strtoll(colon + 1, NULL, 10);
  }
  fclose(f);
  return ns;
}

/* The kernel's default slice: this test process's own (nothing set it). */
static long long default_slice(void) { return slice_of(getpid(), (long)getpid()); }

/* 1 when the kernel takes a thread's own slice: a child asks for 100 µs
 * (sched_setattr, SCHED_OTHER, its nice kept) and reports what it got. */
static int custom_slice_supported(void)
{
  pid_t pid = fork();
  if (pid == 0) {
    struct { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t prio; uint64_t runtime, deadline, period; } a = {
      sizeof a, 0, 0, getpriority(PRIO_PROCESS, 0), 0, 100000, 0, 0 };
    _exit(syscall(SYS_sched_setattr, 0, &a, 0) == 0 && slice_of(getpid(), (long)getpid()) == 100000 ? 0 : 1);
  }
  int status = 1;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return 0;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int setup(void **st) { (void)st; return e2e_start(&srv, NULL, NULL, NULL, NULL); }

static int setup_off(void **st)
{
  (void)st;
  static const char *const args[] = { "--net-loop-slice-us", "0", NULL };
  return e2e_start(&srv, NULL, NULL, NULL, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void test_loop_slice_short(void **st)
{
  (void)st;
  long long def = default_slice();
  if (def < 0 || !custom_slice_supported()) skip();
  assert_int_equal(slice_of(srv.pid, (long)srv.pid), 100000);
  /* every other thread (writer, sync, readers) keeps the default */
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)srv.pid);
  DIR *d = opendir(path);
  assert_non_null(d);
  int others = 0;
  for (struct dirent *e; (e = readdir(d));) {
    long tid = strtol(e->d_name, NULL, 10);
    if (tid <= 0 || tid == (long)srv.pid) continue;
    assert_int_equal(slice_of(srv.pid, tid), def);
    others++;
  }
  closedir(d);
  assert_true(others >= 2); /* the writer and the sync thread at least */
}

static void test_zero_keeps_default(void **st)
{
  (void)st;
  long long def = default_slice();
  if (def < 0 || !custom_slice_supported()) skip();
  assert_int_equal(slice_of(srv.pid, (long)srv.pid), def);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_loop_slice_short, setup, teardown),
    cmocka_unit_test_setup_teardown(test_zero_keeps_default, setup_off, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
