/* Unit tests for the priorities of the store's threads (store_writer.h,
 * "Priority"): the writer thread runs STORE_WRITER_NICE nice steps below
 * the loop thread, and the helper threads keep a real-time loop's
 * priority. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "writer_test.h"

/* The nice value of this process's one thread named name (Linux:
 * /proc/self/task/TID/comm); -100 if there is none or more than one. A
 * thread names itself when it starts running (store__helper_start), which
 * may be after the test looks: one missing is looked for again, for up to
 * 5 s. */
static pid_t named_tid;     /* the thread named_thread_nice found */
static int named_thread_nice_once(const char *name, int *found_out);
static int named_thread_nice(const char *name)
{
  int found = 0, nice = -100;
  for (int i = 0; i < 500; i++) {
    nice = named_thread_nice_once(name, &found);
    if (found) break;
    usleep(10000);
  }
  return nice;
}

/* The nice value of the one thread called name once it is want, or what it
 * is after 5 s. A helper names itself first and lowers its priority next
 * (store__helper_start; the checkpoint round thread then goes
 * STORE_CKPT_ROUND_NICE lower still), so a thread found by its name may not
 * have lowered itself yet: reading its nice value once raced with that (seen
 * under ASan on a loaded box: imc-ckpt at the writer's level, 5 for 10). */
static int named_thread_nice_becomes(const char *name, int want)
{
  int nice = -100;
  for (int i = 0; i < 500; i++) {
    if ((nice = named_thread_nice(name)) == want) break;
    usleep(10000);
  }
  return nice;
}

static int named_thread_nice_once(const char *name, int *found_out)
{
  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  int found = 0, nice = -100;
  named_tid = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[300], comm[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
    fclose(f);
    comm[strcspn(comm, "\n")] = 0;
    if (strcmp(comm, name)) continue;
    found++;
    named_tid = (pid_t)atoi(e->d_name);
    errno = 0;
    nice = getpriority(PRIO_PROCESS, (id_t)atoi(e->d_name));
    if (errno) nice = -100;
  }
  closedir(d);
  *found_out = found;
  return found == 1 ? nice : -100;
}

/* The writer thread runs STORE_WRITER_NICE nice steps below the thread that
 * started it (store_writer.h, "Priority"): a job reads its own thread's nice
 * value. Before, it inherited the loop thread's. The sync thread keeps the
 * loop's (lowering it did not pay: store_writer.h); both are named. */
static int job_nice;
static int nice_run(store_t *s, void *arg)
{
  (void)s; (void)arg;
  errno = 0;
  job_nice = getpriority(PRIO_PROCESS, (id_t)gettid()); /* Linux: this thread's */
  return errno ? IMC_E_INTERNAL : 0;
}

static void test_writer_below_loop_priority(void **st)
{
  (void)st;
  uv_loop_t loop;
  store_writer_t *w;
  uv_loop_init(&loop);
  int loop_nice = getpriority(PRIO_PROCESS, (id_t)gettid());
  assert_int_equal(store_writer_start(&loop, dir, 16, &w), 0);
  store_job_t job = { .run = nice_run, .done = count_done, .arg = NULL };
  ndone = 0;
  job_nice = -100;
  assert_int_equal(store_writer_submit(w, &job), 0);
  while (!ndone) uv_run(&loop, UV_RUN_ONCE);
  int want = loop_nice + STORE_WRITER_NICE > 19 ? 19 : loop_nice + STORE_WRITER_NICE;
  assert_int_equal(job_nice, want);
  assert_int_equal(getpriority(PRIO_PROCESS, (id_t)gettid()), loop_nice); /* the loop thread's is unchanged */
  /* the sync thread (named by store__helper_start): it does not run jobs */
  /* never changed; waited for, as the thread names itself when it first runs
   * (store__helper_start): on a loaded box (CI niced) it may not have run yet */
  assert_int_equal(named_thread_nice_becomes("imc-sync", loop_nice), loop_nice);
  assert_int_equal(named_thread_nice("imc-writer"), want);    /* it ran the job: lowered before */
  /* the checkpoint round thread, started from this (the loop's) thread too:
   * the writer's level, then STORE_CKPT_ROUND_NICE more (store_ckpt.h) */
  int round = want + STORE_CKPT_ROUND_NICE > 19 ? 19 : want + STORE_CKPT_ROUND_NICE;
  assert_int_equal(named_thread_nice_becomes("imc-ckpt", round), round);
  stop(&loop, w);
}

/* With a real-time loop thread (SCHED_FIFO 1, the lowest), the writer
 * leaves the real-time class (one priority below the lowest) and the sync
 * thread keeps the loop's priority (store_writer.h, "Priority": in the
 * normal class it waited for every real-time task on the core). Skipped
 * where real-time scheduling is refused. */
static void test_helpers_under_rt_loop(void **st)
{
  (void)st;
  struct sched_param rt = { .sched_priority = 1 }, other = { .sched_priority = 0 };
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt)) { skip(); return; }
  uv_loop_t loop;
  store_writer_t *w;
  uv_loop_init(&loop);
  int rc = store_writer_start(&loop, dir, 16, &w);
  store_job_t job = { .run = nice_run, .done = count_done, .arg = NULL };
  ndone = 0;
  if (!rc) rc = store_writer_submit(w, &job);
  while (!rc && !ndone) uv_run(&loop, UV_RUN_ONCE);
  int sync_policy = -1, writer_policy = -1;
  struct sched_param sync_sp = { 0 };
  for (int i = 0; !rc && i < 500 && named_thread_nice("imc-sync") == -100; i++) usleep(10000); /* named once it first ran */
  if (!rc && named_thread_nice("imc-sync") != -100) {
    sync_policy = sched_getscheduler(named_tid);
    sched_getparam(named_tid, &sync_sp);
  }
  if (!rc && named_thread_nice("imc-writer") != -100) writer_policy = sched_getscheduler(named_tid); /* ran the job: lowered */
  pthread_setschedparam(pthread_self(), SCHED_OTHER, &other); /* before any assert */
  assert_int_equal(rc, 0);
  assert_int_equal(sync_policy, SCHED_FIFO);
  assert_int_equal(sync_sp.sched_priority, 1);
  assert_int_equal(writer_policy, SCHED_OTHER);
  stop(&loop, w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_writer_below_loop_priority, setup, teardown),
    cmocka_unit_test_setup_teardown(test_helpers_under_rt_loop, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
