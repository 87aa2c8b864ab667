/* purge_pass — what one hourly retention pass of the C2C store costs when
 * one deployment holds many apps: one big app (--big-users users, --big-msgs
 * messages to random peers) and --apps - 1 small ones (--small-users users,
 * --small-msgs messages each). Nothing has expired (every horizon is 0), so
 * the pass deletes nothing and measures what it reads: the steady state of a
 * pass an hour after the last one, less that hour's deletions.
 *
 * The pass runs as the retention chain runs it (src/im/c2c_ops.c), each step
 * in a transaction of its own on one connection and one thread: the
 * messages of every app (store_msg_purge_msgs), then per app its inbox walk
 * (store_msg_purge_inbox) and its conversation-list walk
 * (store_msg_recent_users, 100 kept). The relationship and group purges of
 * the chain are left out (indexed per app; not this bench's subject).
 * Prints the steps of each kind, the pass's thread CPU and wall time, and
 * its longest step (wall).
 *
 *   purge_pass [--apps 50] [--big-users 10000] [--big-msgs 500000]
 *              [--small-users 100] [--small-msgs 1000] [--dir DIR] [--fill 0|1]
 *
 * --dir DIR --fill 1 fills DIR and runs the pass; --fill 0 runs the pass on
 * what DIR holds (so binaries can be compared on one database).
 */
#include "bench_store.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double wall_ms(void) { return (double)imc_clock_mono_ms(); }

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng % n); }

static int die(const char *what, int rc)
{
  fprintf(stderr, "purge_pass: %s failed (%d)\n", what, rc);
  return 1;
}

static uint32_t apps[4096];
static size_t napps;
static void app_row(void *ud, const store_app_t *a)
{
  (void)ud;
  if (napps < sizeof apps / sizeof apps[0]) apps[napps++] = a->sdkappid;
}
static void no_user(void *ud, const char *id, uint32_t user_no) { (void)ud; (void)id; (void)user_no; }

static int fill_app(store_t *s, int64_t cust, long users, long msgs)
{
  store_app_t a = { 0 };
  uint32_t *no;
  const char *what;
  int rc;
  if ((rc = bench_store_app(s, cust, users, "u", &a.sdkappid, &no, &what))) return die(what, rc);
  int64_t t_s = (int64_t)time(NULL);
  for (long done = 0; done < msgs;) {
    if ((rc = store_exec(s, "BEGIN IMMEDIATE"))) return die("BEGIN", rc);
    for (long k = 0; k < 10000 && done < msgs; k++, done++) {
      uint32_t from = rnd((uint32_t)users), to;
      if ((to = rnd((uint32_t)users - 1)) >= from) to++;
      static const char body[] = "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"purge pass\"}}]}";
      store_msg_append_t ap = { 0 };
      ap.m = (store_msg_t){ a.sdkappid, store_c2c_conv(no[from], no[to]), 0, no[from], no[to], t_s, (uint32_t)done,
                            (uint32_t)done, 0, 604800, body, sizeof body - 1, NULL, NULL };
      ap.dedupe_since_s = t_s - 300;
      ap.inbox_from = ap.inbox_to = ap.recent_from = ap.recent_to = 1;
      if ((rc = store_msg_append(s, &ap))) return die("append", rc);
    }
    if ((rc = store_exec(s, "COMMIT"))) return die("COMMIT", rc);
    for (int more = 1; more;)
      if ((rc = store_msg_merge(s, STORE_MERGE_IDLE, &more))) return die("merge", rc);
  }
  free(no);
  return 0;
}

static double longest;
static long steps[3];
/* one step in a transaction of its own, timed */
#define STEP(kind, call)                                                                     \
  do {                                                                                       \
    double w = wall_ms();                                                                    \
    if ((rc = store_exec(s, "BEGIN IMMEDIATE")) || (rc = (call)) || (rc = store_exec(s, "COMMIT"))) \
      return die("step", rc);                                                                \
    if ((w = wall_ms() - w) > longest) longest = w;                                          \
    steps[kind]++;                                                                           \
  } while (0)

int main(int argc, char **argv)
{
  long nap = 50, big_users = 10000, big_msgs = 500000, small_users = 100, small_msgs = 1000, fill = 1;
  const char *dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--apps")) nap = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--big-users")) big_users = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--big-msgs")) big_msgs = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--small-users")) small_users = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--small-msgs")) small_msgs = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else if (!strcmp(argv[i], "--fill")) fill = atol(argv[i + 1]);
    else { fprintf(stderr, "purge_pass: unknown option %s\n", argv[i]); return 2; }
  }
  if (nap < 1 || nap > 4096 || big_users < 2 || small_users < 2 || big_msgs < 0 || small_msgs < 0) {
    fprintf(stderr, "usage: purge_pass [--apps 1..4096] [--big-users N>=2] [--big-msgs N] [--small-users N>=2]"
                    " [--small-msgs N] [--dir DIR] [--fill 0|1]\n");
    return 2;
  }
  char tmp[] = "/tmp/imcloud-purgepass-XXXXXX";
  if (!dir && !(dir = mkdtemp(tmp))) return die("mkdtemp", 0);
  store_t *s;
  int rc;
  if ((rc = store_open(dir, &s))) return die("store_open", rc);
  if (fill) {
    int64_t cust;
    if ((rc = store_customer_create(s, "bench", 1, &cust))) return die("customer", rc);
    for (long k = 0; k < nap; k++)
      if (fill_app(s, cust, k ? small_users : big_users, k ? small_msgs : big_msgs)) return 1;
    if ((rc = store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)"))) return die("checkpoint", rc);
  }
  if ((rc = store_app_list(s, 0, app_row, NULL))) return die("app list", rc);
  store_msg_cut_t *cuts = calloc(napps, sizeof *cuts);
  if (!cuts) return die("calloc", 0);
  for (size_t i = 0; i < napps; i++) cuts[i] = (store_msg_cut_t){ apps[i], 0, 0 };
  double c0 = cpu_ms(), w0 = wall_ms();
  int64_t deleted, mcursor = 0;
  int more;
  do STEP(0, store_msg_purge_msgs(s, cuts, napps, 2000, &mcursor, &deleted, &more)); while (more);
  for (size_t i = 0; i < napps; i++) {
    uint32_t ucursor = 0, next = 0;
    do STEP(1, store_msg_purge_inbox(s, apps[i], 0, 2000, &ucursor, &deleted, &more)); while (more);
    do STEP(2, store_msg_recent_users(s, apps[i], 100, next, 2000 / 102, no_user, NULL, &next)); while (next);
  }
  printf("pass apps=%zu msg_steps=%ld inbox_steps=%ld recent_steps=%ld cpu_ms=%.1f wall_ms=%.1f longest_step_ms=%.2f\n",
         napps, steps[0], steps[1], steps[2], cpu_ms() - c0, wall_ms() - w0, longest);
  free(cuts);
  store_close(s);
  return 0;
}
