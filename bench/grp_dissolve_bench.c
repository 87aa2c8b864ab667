/* grp_dissolve_bench — the writer work of dissolving one group of --members
 * members, alone: no network, no event loop, one thread. The group and its
 * members' accounts are written directly through the store, then one
 * transaction does what the dissolve job does (src/im/group_ops.c
 * run_dissolve): store_grp_del (the group row, its members, history), then
 * for each member its account lookup and its group_dissolved inbox event
 * (store_msg_account_id + im_c2c_rel_append, src/im/group_apply.c), then
 * COMMIT. --chunk N writes the events N members per transaction instead,
 * after the one that deletes the group, as the server does for a group of
 * more than group_event_chunk members (src/im/group_due.c): the dissolve's
 * transaction then records the members as due, N per grp_events_due row
 * (store_grp_due_put, due_pass), and each later transaction appends one
 * row's events.
 *
 *   grp_dissolve_bench [--members 10000] [--chunk 0] [--dir DIR]
 *
 * Prints the CPU time of each part. For numbers that do not depend on the
 * machine's load, count instructions with callgrind, each part apart (its
 * functions are not inlined):
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='del_pass*' build/bench/grp_dissolve_bench
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='events_pass*' build/bench/grp_dissolve_bench
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='due_pass*' build/bench/grp_dissolve_bench --chunk 200
 * Measured (10,000 members): del_pass 55.7 M instructions; events_pass 628.8 M in one transaction; with
 * --chunk 200, due_pass 2.4 M (50 rows and the commit), events_pass 638.4 M in 50 transactions. With the
 * relationship statements cached (sqlite_rel.c), --members 2000: events_pass 121.6 M -> 62.7 M (60,800 ->
 * 31,300 per member); inbox events and payloads held (sqlite_msg_pend.c): 46.6 M (23,300 per member). */
#include "bench_store.h"
#include "im/c2c.h"
#include "store/store.h"
#include "store/store_grp.h"
#include "store/store_msg.h"

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

static int die(const char *what, int rc)
{
  fprintf(stderr, "grp_dissolve_bench: %s failed (%d)\n", what, rc);
  return 1;
}

/* The group's rows go (the transaction is left open). */
__attribute__((noinline)) static int del_pass(store_t *s, uint32_t app, uint32_t gno, long chunk)
{
  int rc = store_exec(s, "BEGIN IMMEDIATE");
  if (!rc) rc = store_grp_del(s, app, gno);
  (void)chunk;
  return rc;
}

/* The members recorded as due, chunk per row, in the dissolve's open transaction. */
__attribute__((noinline)) static int due_pass(store_t *s, uint32_t app, const uint32_t *no, long members, long chunk,
                                              int64_t t_s)
{
  static const char payload[] = "{\"type\":\"group_dissolved\",\"group_id\":\"bench\",\"group_type\":\"Public\"}";
  for (long i = 0; i < members; i += chunk) {
    int rc = store_grp_due_put(s, app, t_s, payload, no + i, (size_t)(members - i < chunk ? members - i : chunk));
    if (rc) return rc;
  }
  return store_exec(s, "COMMIT");
}

/* One group_dissolved event per member, chunk members per transaction (0: all in the open one). */
__attribute__((noinline)) static int events_pass(store_t *s, uint32_t app, const uint32_t *no, long members,
                                                 long chunk, int64_t t_s)
{
  static const char payload[] = "{\"type\":\"group_dissolved\",\"group_id\":\"bench\",\"group_type\":\"Public\"}";
  char id[64];
  uint32_t useq;
  int rc;
  for (long i = 0; i < members; i++) {
    if (chunk && i % chunk == 0 && (rc = store_exec(s, "BEGIN IMMEDIATE"))) return rc;
    if ((rc = store_msg_account_id(s, app, no[i], id, sizeof id))) return rc;
    if ((rc = im_c2c_rel_append(s, app, no[i], t_s, payload, &useq))) return rc;
    if (chunk && ((i + 1) % chunk == 0 || i + 1 == members) && (rc = store_exec(s, "COMMIT"))) return rc;
  }
  return chunk ? 0 : store_exec(s, "COMMIT");
}

int main(int argc, char **argv)
{
  long members = 10000, chunk = 0;
  const char *dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--members")) members = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--chunk")) chunk = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (members < 1 || chunk < 0) {
    fprintf(stderr, "usage: grp_dissolve_bench [--members N] [--chunk N] [--dir DIR]\n");
    return 2;
  }
  char tmp[] = "/tmp/imcloud-grpdissolve-XXXXXX";
  if (!dir && !(dir = mkdtemp(tmp))) return die("mkdtemp", 0);
  store_t *s;
  int rc;
  uint32_t app, *no;
  const char *what;
  int64_t t_s = (int64_t)time(NULL);
  const uint32_t gno = 1;
  if ((rc = bench_store_group(dir, members, "gd", gno, t_s, &s, &app, &no, &what))) return die(what, rc);

  double c0 = cpu_s();
  if ((rc = del_pass(s, app, gno, chunk))) return die("delete", rc);
  if (chunk && (rc = due_pass(s, app, no, members, chunk, t_s))) return die("due", rc);
  double c1 = cpu_s();
  if ((rc = events_pass(s, app, no, members, chunk, t_s))) return die("events", rc);
  double c2 = cpu_s();
  printf("members %ld  chunk %ld\n", members, chunk);
  printf("delete %.2f ms CPU; events %.2f ms CPU (%.2f us per member)\n", (c1 - c0) * 1e3, (c2 - c1) * 1e3,
         (c2 - c1) / members * 1e6);
  store_close(s);
  free(no);
  return 0;
}
