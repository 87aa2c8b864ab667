/* grp_store_bench — the storage cost of group messages alone: no network,
 * no event loop, one thread. One group of --members members takes --msgs
 * messages from random members the way the writer runs group_send jobs
 * (store_grp_msg_append with the dedupe check, which also writes the
 * sender's LastSendMsgTime and the group's LastMsgTime; BEGIN IMMEDIATE …
 * COMMIT per --batch), then --reads reads as a member's devices make them:
 * its member row (store_grp_member_get), its unread count
 * (store_grp_msg_unread) and the newest 20 messages it may see
 * (store_grp_msg_history_as).
 *
 *   grp_store_bench [--members 200] [--msgs 4000] [--batch 100] [--reads 2000] [--one-random 0|1] [--dir DIR]
 *
 * --one-random 1: every message from one member with Random 0, each its own text, all within the dedupe
 * window — a backend that gives every message one Random (the dedupe's worst case before migration 54 read
 * every one of them at each send: docs/decisions/groups-messages.md §18).
 *
 * Prints the CPU microseconds per message and per read. For numbers that do
 * not depend on the machine's load, count instructions with callgrind, each
 * pass apart (its functions are not inlined):
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='append_pass*' build/bench/grp_store_bench
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='read_pass*' build/bench/grp_store_bench
 * and divide the total Ir by --msgs / --reads. */
#include "bench_store.h"
#include "store/store.h"
#include "store/store_grp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng % n); }

static int die(const char *what, int rc)
{
  fprintf(stderr, "grp_store_bench: %s failed (%d)\n", what, rc);
  return 1;
}

static void member_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *m)
{
  (void)app; (void)gno;
  *(uint32_t *)ud += m->read_seq;
}

static void msg_row(void *ud, const store_grp_msg_t *m) { *(uint32_t *)ud += m->seq; }

/* The appends, batch messages per transaction: 0 or the first error. */
__attribute__((noinline)) static int append_pass(store_t *s, uint32_t app, uint32_t gno, const uint32_t *no,
                                                 long members, long msgs, long batch, int64_t t_s, int one_random)
{
  static const char body[] = "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"hello group\"}}]}";
  char own[96];
  int rc;
  for (long i = 0; i < msgs; i++) {
    if (i % batch == 0 && (rc = store_exec(s, "BEGIN IMMEDIATE"))) return rc;
    int len = one_random ? snprintf(own, sizeof own, "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
                                    "{\"Text\":\"hello group %ld\"}}]}", i) : 0;
    store_grp_msg_t m = { .sdkappid = app, .group_no = gno, .from_no = one_random ? no[0] : no[rnd((uint32_t)members)],
                          .time_s = t_s + i / 50, .random = one_random ? 0 : (uint32_t)i,
                          .body = one_random ? own : body, .body_len = one_random ? (size_t)len : sizeof body - 1 };
    int dup;
    if ((rc = store_grp_msg_append(s, &m, t_s - 60, &dup))) return rc;
    if ((i + 1) % batch == 0 || i + 1 == msgs) {
      if ((rc = store_exec(s, "COMMIT"))) return rc;
    }
  }
  return 0;
}

/* The reads (autocommit, as a reader connection makes them): 0 or the first error. */
__attribute__((noinline)) static int read_pass(store_t *s, uint32_t app, uint32_t gno, const uint32_t *no,
                                               long members, long reads, uint32_t last, int64_t t_s, uint32_t *sum)
{
  int rc;
  for (long i = 0; i < reads; i++) {
    uint32_t u = no[rnd((uint32_t)members)];
    int64_t n;
    if ((rc = store_grp_member_get(s, app, gno, u, member_row, sum))) return rc;
    if ((rc = store_grp_msg_unread(s, app, gno, u, last > 50 ? last - 50 : 0, UINT32_MAX, t_s - 60, &n))) return rc;
    *sum += (uint32_t)n;
    if ((rc = store_grp_msg_history_as(s, app, gno, 0, 0, t_s - 60, 1, 20, u, msg_row, sum))) return rc;
  }
  return 0;
}

int main(int argc, char **argv)
{
  long members = 200, msgs = 4000, batch = 100, reads = 2000, one_random = 0;
  const char *dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--members")) members = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--msgs")) msgs = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--reads")) reads = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--one-random")) one_random = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (members < 1 || msgs < 1 || batch < 1 || reads < 0) {
    fprintf(stderr, "usage: grp_store_bench [--members N] [--msgs N] [--batch N] [--reads N] [--dir DIR]\n");
    return 2;
  }
  char tmp[] = "/tmp/imcloud-grpstore-XXXXXX";
  if (!dir && !(dir = mkdtemp(tmp))) return die("mkdtemp", 0);
  store_t *s;
  int rc;
  uint32_t app, *no;
  const char *what;
  int64_t t_s = (int64_t)time(NULL);
  const uint32_t gno = 1;
  if ((rc = bench_store_group(dir, members, "gb", gno, t_s, &s, &app, &no, &what))) return die(what, rc);

  double c0 = cpu_s();
  if ((rc = append_pass(s, app, gno, no, members, msgs, batch, t_s, one_random != 0))) return die("append", rc);
  double c1 = cpu_s();
  uint32_t last = 0, sum = 0;
  if ((rc = store_grp_msg_last_seq(s, app, gno, &last))) return die("last_seq", rc);
  if ((rc = read_pass(s, app, gno, no, members, reads, last, t_s, &sum))) return die("read", rc);
  double c2 = cpu_s();
  printf("members %ld  msgs %ld  batch %ld  reads %ld  last_seq %u  (checksum %u)\n", members, msgs, batch, reads,
         last, sum);
  printf("append %.2f us CPU per message; read %.2f us CPU per read (member row + unread + 20 newest)\n",
         (c1 - c0) / msgs * 1e6, reads ? (c2 - c1) / reads * 1e6 : 0.0);
  store_close(s);
  free(no);
  return 0;
}
