/* c2c_store_bench — the storage cost of one-to-one messages alone: no
 * network, no event loop, one thread. Appends messages the way the writer
 * thread runs WebSocket sends (store_msg_append with the dedupe check, both
 * inbox events and both conversation rows; BEGIN IMMEDIATE … COMMIT per
 * batch, the batch's sends being one group of rerun_safe writer jobs that
 * starts its transaction, which the writer runs without a SAVEPOINT
 * (store_writer.h; --savepoint 1: inside one, as before 2026-12-02 wave 9);
 * WAL, synchronous=FULL) to random peers, or to
 * one of --peers fixed contacts per user (conversations that already exist).
 * --meter 1 also counts each message in c2c_msgs as the send job does
 * (store_usage_add_at_commit: one upsert per batch). --merge 1 runs the
 * inbox log's merge after every COMMIT until the log is empty, as an idle
 * writer does (store_msg_merge; --merge 0: one STORE_MERGE_BUSY call per
 * COMMIT, as a writer with jobs waiting makes, which merges nothing and
 * runs a step of the scan of conversations with a message, sqlite_msg_nf.c:
 * the acknowledgement path alone), and prints the merge
 * chunks' count, rows and longest time (a chunk is the stop a send that
 * arrives meanwhile waits behind). Before the first message it runs the
 * idle writer's housekeeping once (store_msg_merge IDLE until done), as a
 * server's writer does before a load arrives.
 * --inbox 0 / --recent 0 leave out the two inbox events / the two
 * conversation rows of every message: the difference to a full run is what
 * that part costs (a measurement only; no send does that).
 *
 *   c2c_store_bench [--users 10000] [--msgs 200000] [--batch 2000] [--peers 0] [--meter 0] [--savepoint 0] [--merge 1]
 *                   [--inbox 1] [--recent 1] [--dir DIR]
 *
 * Prints one line per quarter of the run and one for the whole: messages/s
 * (wall clock), CPU microseconds per message (user + system of the process:
 * less disturbed by other load than wall time; the total line also gives the
 * system part alone) and bytes passed to write
 * calls per message (/proc/self/io wchar: WAL frames plus checkpoints).
 * Then a line "passes": the wall time of the first step of the retention
 * purge (store_msg_purge_msgs, nothing expired) and of the conversation trim's
 * walk (store_msg_recent_users), each in a transaction of its own, with
 * the logs as the run left them (after a checkpoint, so that neither
 * COMMIT runs one): the stop an hourly pass's step makes (each merges the
 * log rows it reads first; until wave 16 a whole log). The data directory is a fresh
 * temporary one unless --dir is given.
 */
#include "bench_store.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) { return (double)imc_clock_mono_ms() / 1e3; }

/* user + system CPU of the process */
static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_usec / 1e6;
}

/* system CPU of the process (the kernel's share of cpu_s) */
static double sys_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static unsigned long long wchar(void)
{
  FILE *f = fopen("/proc/self/io", "r");
  char line[128];
  unsigned long long v = 0;
  while (f && fgets(line, sizeof line, f)) if (sscanf(line, "wchar: %llu", &v) == 1) break;
  if (f) fclose(f);
  return v;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng % n); }

static int die(const char *what, int rc)
{
  fprintf(stderr, "c2c_store_bench: %s failed (%d)\n", what, rc);
  return 1;
}

static void no_account(void *ud, const char *id, uint32_t user_no) { (void)ud; (void)id; (void)user_no; }

int main(int argc, char **argv)
{
  long users = 10000, msgs = 200000, batch = 2000, peers = 0, meter = 0, savepoint = 0, merge = 1;
  long chunks = 0, inbox = 1, recent = 1;
  double chunk_max_ms = 0, chunk_sum_ms = 0;
  const char *dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--users")) users = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--msgs")) msgs = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--peers")) peers = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--meter")) meter = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--savepoint")) savepoint = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--merge")) merge = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--inbox")) inbox = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--recent")) recent = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (users < 2 || msgs < 4 || batch < 1 || peers < 0 || peers >= users) {
    fprintf(stderr, "usage: c2c_store_bench [--users N] [--msgs N] [--batch N] [--peers K] [--meter 0/1] [--savepoint 0/1]"
                    " [--dir DIR]\n");
    return 2;
  }
  char tmp[] = "/tmp/imcloud-c2cstore-XXXXXX";
  if (!dir && !(dir = mkdtemp(tmp))) return die("mkdtemp", 0);
  store_t *s;
  int64_t cust;
  int rc;
  store_app_t a = { 0 };
  uint32_t *no;
  const char *what;
  if ((rc = store_open(dir, &s))) return die("store_open", rc);
  if ((rc = store_customer_create(s, "bench", 1, &cust))) return die("customer", rc);
  if ((rc = bench_store_app(s, cust, users, "sb", &a.sdkappid, &no, &what))) return die(what, rc);

  for (int more = 1; more;) /* the writer idles before the load, as a server's does after start */
    if ((rc = store_msg_merge(s, STORE_MERGE_IDLE, &more))) return die("merge", rc);
  int64_t t_s = (int64_t)time(NULL);
  double w0 = now_s(), c0 = cpu_s(), k0 = sys_s(), qw = w0, qc = c0;
  unsigned long long b0 = wchar(), qb = b0;
  long quarter = msgs / 4, done = 0;
  char body[160];
  while (done < msgs) {
    if ((rc = store_exec(s, "BEGIN IMMEDIATE")) || (savepoint && (rc = store_exec(s, "SAVEPOINT jobs"))))
      return die("BEGIN", rc);
    for (long k = 0; k < batch && done < msgs; k++, done++) {
      uint32_t from = rnd((uint32_t)users), to;
      if (peers) to = (uint32_t)((from + 1 + rnd((uint32_t)peers)) % (uint32_t)users);
      else if ((to = rnd((uint32_t)users - 1)) >= from) to++;
      int n = snprintf(body, sizeof body, "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":"
                       "\"benchmark message %ld\"}}]}", done);
      store_msg_append_t ap = { 0 };
      ap.m = (store_msg_t){ a.sdkappid, store_c2c_conv(no[from], no[to]), 0, no[from], no[to], t_s, (uint32_t)done,
                            (uint32_t)done, 0, 604800, body, (size_t)n, NULL, NULL };
      ap.dedupe_since_s = t_s - 300;
      ap.inbox_from = ap.inbox_to = inbox != 0;
      ap.recent_from = ap.recent_to = recent != 0;
      if ((rc = store_msg_append(s, &ap)) ||
          (meter && !ap.dup && (rc = store_usage_add_at_commit(s, a.sdkappid, 20261202, "c2c_msgs", 1))))
        return die("append", rc);
      if (quarter && (done + 1) % quarter == 0) {
        double w = now_s(), c = cpu_s();
        unsigned long long b = wchar();
        printf("quarter=%ld msgs=%ld msgs_per_s=%.0f cpu_us_per_msg=%.1f write_bytes_per_msg=%.0f\n", (done + 1) / quarter,
               quarter, quarter / (w - qw), (c - qc) * 1e6 / quarter, (double)(b - qb) / quarter);
        qw = w; qc = c; qb = b;
      }
    }
    if ((savepoint && (rc = store_exec(s, "RELEASE jobs"))) || (rc = store_exec(s, "COMMIT"))) return die("COMMIT", rc);
    if (!merge) {
      int more;
      if ((rc = store_msg_merge(s, STORE_MERGE_BUSY, &more))) return die("merge", rc);
    }
    for (int more = merge; more;) {
      struct timespec a0, a1;
      clock_gettime(CLOCK_MONOTONIC, &a0);
      if ((rc = store_msg_merge(s, STORE_MERGE_IDLE, &more))) return die("merge", rc);
      clock_gettime(CLOCK_MONOTONIC, &a1);
      double ms = (double)(a1.tv_sec - a0.tv_sec) * 1e3 + (double)(a1.tv_nsec - a0.tv_nsec) / 1e6;
      chunks++;
      chunk_sum_ms += ms;
      if (ms > chunk_max_ms) chunk_max_ms = ms;
    }
  }
  double w1 = now_s(), c1 = cpu_s(), k1 = sys_s();
  unsigned long long b1 = wchar();
  printf("total users=%ld peers=%ld meter=%ld savepoint=%ld batch=%ld msgs=%ld msgs_per_s=%.0f cpu_us_per_msg=%.1f sys_us_per_msg=%.1f"
         " write_bytes_per_msg=%.0f merge=%ld merge_calls=%ld merge_call_avg_ms=%.2f merge_call_max_ms=%.2f\n", users, peers,
         meter, savepoint, batch, msgs, msgs / (w1 - w0), (c1 - c0) * 1e6 / msgs, (k1 - k0) * 1e6 / msgs,
         (double)(b1 - b0) / msgs, merge, chunks, chunks ? chunk_sum_ms / chunks : 0, chunk_max_ms);
  /* the hourly passes' first steps: the stop each makes (store_msg.h) */
  int64_t deleted, cursor = 0;
  const store_msg_cut_t cut = { a.sdkappid, 0, 0 };
  int pmore;
  uint32_t next;
  if ((rc = store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)"))) return die("checkpoint", rc); /* no checkpoint inside the steps' COMMITs */
  double t0 = now_s();
  if ((rc = store_exec(s, "BEGIN IMMEDIATE")) || (rc = store_msg_purge_msgs(s, &cut, 1, 1000, &cursor, &deleted, &pmore)) ||
      (rc = store_exec(s, "COMMIT")))
    return die("purge step", rc);
  double t1 = now_s();
  if ((rc = store_exec(s, "BEGIN IMMEDIATE")) ||
      (rc = store_msg_recent_users(s, a.sdkappid, 100, 0, 20, no_account, NULL, &next)) || (rc = store_exec(s, "COMMIT")))
    return die("recent walk step", rc);
  printf("passes purge_step_ms=%.2f recent_walk_step_ms=%.2f\n", (t1 - t0) * 1e3, (now_s() - t1) * 1e3);
  store_close(s);
  free(no);
  if (dir == tmp) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd)) return 1;
  }
  return 0;
}
