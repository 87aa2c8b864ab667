/* purge_trim_step — how long the retention pass's conversation-list trim
 * holds the writer thread on a big app: one app with --users users of
 * --rows conversation rows each (--over of them over the limit by 5),
 * --kept rows kept. Measures, on one connection, one thread:
 *   before: the statement the writer ran until 2026-12-03, over the whole
 *           app in one go ("SELECT user_no FROM c2c_recent WHERE sdkappid=?1
 *           GROUP BY user_no HAVING count(*)>?2"): one stop;
 *   after:  the walk in steps (store_msg_recent_users, as c2c_ops.c calls
 *           it: 2,000 / (kept + 2) user numbers a step): its longest step,
 *           the steps and their sum.
 * Times are thread CPU (CLOCK_THREAD_CPUTIME_ID: less disturbed by other
 * load than wall time); the trims themselves (the same in both) are not run.
 *
 *   purge_trim_step [--users 200000] [--rows 10] [--over 100] [--kept 100] [--dir DIR]
 */
#include "store/store.h"
#include "store/store_msg.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APP 1400000001u

static double cpu_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long found;
static void count_user(void *ud, const char *uid, uint32_t user_no) { (void)ud; (void)uid; (void)user_no; found++; }

int main(int argc, char **argv)
{
  long users = 200000, rows = 10, over = 100, kept = 100;
  const char *dir = NULL;
  char tmp[] = "/tmp/purge_trim_step.XXXXXX";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--users")) users = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--rows")) rows = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--over")) over = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--kept")) kept = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else { fprintf(stderr, "usage: purge_trim_step [--users N] [--rows N] [--over N] [--kept N] [--dir DIR]\n"); return 2; }
  }
  if (users < 1 || rows < 0 || over < 0 || kept < 0) { fprintf(stderr, "purge_trim_step: bad numbers\n"); return 2; }
  if (!dir && !(dir = mkdtemp(tmp))) { perror("mkdtemp"); return 1; }
  store_t *s;
  if (store_open(dir, &s)) { fprintf(stderr, "purge_trim_step: open\n"); return 1; }
  sqlite3 *db;
  char path[512];
  snprintf(path, sizeof path, "%s/imcloud.db", dir);
  if (sqlite3_open(path, &db)) { fprintf(stderr, "purge_trim_step: open db\n"); return 1; }
  sqlite3_stmt *ins;
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  sqlite3_prepare_v2(db, "INSERT INTO c2c_recent(sdkappid,user_no,peer_no) VALUES(?1,?2,?3)", -1, &ins, NULL);
  for (long u = 1; u <= users; u++) {
    long n = u % (users / (over ? over : 1) + 1) == 0 && over ? kept + 5 : rows;
    for (long p = 0; p < n; p++) {
      sqlite3_bind_int64(ins, 1, APP);
      sqlite3_bind_int64(ins, 2, u);
      sqlite3_bind_int64(ins, 3, 1000000 + p);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
  }
  sqlite3_finalize(ins);
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) { fprintf(stderr, "purge_trim_step: fill\n"); return 1; }

  /* before: one statement over the app */
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "SELECT user_no FROM c2c_recent WHERE sdkappid=?1 GROUP BY user_no HAVING count(*)>?2", -1, &st,
                     NULL);
  sqlite3_bind_int64(st, 1, APP);
  sqlite3_bind_int64(st, 2, kept);
  double t0 = cpu_ms();
  long before_found = 0;
  while (sqlite3_step(st) == SQLITE_ROW) before_found++;
  double before_ms = cpu_ms() - t0;
  sqlite3_finalize(st);
  sqlite3_close(db);

  /* after: the walk in steps */
  int per_step = (int)(2000 / (kept + 2));
  if (per_step < 1) per_step = 1;
  uint32_t after = 0, next;
  long steps = 0;
  double max_ms = 0, sum_ms = 0;
  do {
    double a = cpu_ms();
    if (store_msg_recent_users(s, APP, (int)kept, after, per_step, count_user, NULL, &next)) {
      fprintf(stderr, "purge_trim_step: step\n");
      return 1;
    }
    double d = cpu_ms() - a;
    if (d > max_ms) max_ms = d;
    sum_ms += d;
    steps++;
    after = next;
  } while (next);
  printf("users=%ld rows=%ld kept=%ld over_limit=%ld\n", users, rows, kept, before_found);
  printf("before: one statement %.1f ms CPU (users found %ld)\n", before_ms, before_found);
  printf("after: %ld steps of %d users, longest %.3f ms CPU, sum %.1f ms (users found %ld)\n", steps, per_step, max_ms,
         sum_ms, found);
  store_close(s);
  if (dir == tmp) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd)) return 1;
  }
  return found == before_found ? 0 : 1;
}
