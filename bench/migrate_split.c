/* migrate_split.c — what each piece of the server's open sequence costs the
 * schema migrations (docs/decisions/messaging-c2c-checks5.md §111).
 *
 *   migrate_split DB [--vfs imc|default] [--pcache wrap|default]
 *                 [--memstatus on|off] [--trim BYTES] [--upto N] [--commit]
 *   migrate_split --print N      (script N's SQL, for the sqlite3 shell)
 *
 * Opens DB (a store at some older schema; use a copy) as the server's
 * writing connection does (sqlite.c open_db: the same pragmas, the content
 * hash function), with the server's VFS (imc, the default) or SQLite's,
 * the server's page cache wrapper (wrap, the default) or SQLite's own, and
 * SQLite's allocation statistics off (the server's) or on (the sqlite3
 * shell's), and glibc's M_TRIM_THRESHOLD set to BYTES as api_serve sets
 * it (0, the default: not set, as the shell). Then, as sq__migrate does (temp_store=FILE, BEGIN IMMEDIATE),
 * runs the pending scripts one by one up to version N (default: all) and
 * prints per script its wall time, CPU time (user, system), the user-space
 * instructions it took (perf_event_open; 0 where not permitted) and the
 * read and write system calls it made (/proc/self/io). Rolls back unless
 * --commit: the same copy serves the next run. */
#include "store/sqlite_int.h"
#include "store/sqlite_pcache.h"
#include "store/sqlite_vfs.h"

#include <linux/perf_event.h>
#include <malloc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct sample { double wall, user, sys; long long ins, rd, wr, minflt; } sample_t;

static int ins_fd = -1;

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void io_calls(long long *rd, long long *wr)
{
  FILE *f = fopen("/proc/self/io", "r");
  char line[128];
  *rd = *wr = 0;
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    sscanf(line, "syscr: %lld", rd);
    sscanf(line, "syscw: %lld", wr);
  }
  fclose(f);
}

static void take(sample_t *s)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  s->wall = now_s();
  s->user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  s->sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  s->minflt = ru.ru_minflt;
  s->ins = 0;
  if (ins_fd >= 0 && read(ins_fd, &s->ins, sizeof s->ins) != sizeof s->ins) s->ins = 0;
  io_calls(&s->rd, &s->wr);
}

static void print(const char *what, const sample_t *a, const sample_t *b)
{
  printf("%s wall_s=%.2f user_s=%.2f sys_s=%.2f Minstr=%lld read_calls=%lld write_calls=%lld minflt=%lld\n",
         what, b->wall - a->wall, b->user - a->user, b->sys - a->sys, (b->ins - a->ins) / 1000000, b->rd - a->rd,
         b->wr - a->wr, b->minflt - a->minflt);
  fflush(stdout);
}

static void ins_open(void)
{
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.type = PERF_TYPE_HARDWARE;
  a.size = sizeof a;
  a.config = PERF_COUNT_HW_INSTRUCTIONS;
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  ins_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static int ex(sqlite3 *db, const char *sql)
{
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK) return 0;
  fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
  sqlite3_free(err);
  return -1;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: migrate_split DB [--vfs imc|default] [--pcache wrap|default] [--memstatus on|off]"
                    " [--trim BYTES] [--upto N] [--commit]\n");
    return 2;
  }
  if (!strcmp(argv[1], "--print") && argc > 2) {
    int n = atoi(argv[2]);
    if (n < 1 || n > sq__schema_version) return 2;
    printf("%s\n", sq__migrations[n - 1]);
    return 0;
  }
  const char *path = argv[1];
  int vfs = 1, pcache = 1, memstatus = 0, upto = sq__schema_version, commit = 0;
  long trim = 0;
  for (int i = 2; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(argv[i], "--vfs")) vfs = !strcmp(v, "imc"), i++;
    else if (!strcmp(argv[i], "--pcache")) pcache = !strcmp(v, "wrap"), i++;
    else if (!strcmp(argv[i], "--memstatus")) memstatus = !strcmp(v, "on"), i++;
    else if (!strcmp(argv[i], "--trim")) trim = atol(v), i++;
    else if (!strcmp(argv[i], "--upto")) upto = atoi(v), i++;
    else if (!strcmp(argv[i], "--commit")) commit = 1;
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (upto > sq__schema_version) upto = sq__schema_version;
  if (trim > 0) mallopt(M_TRIM_THRESHOLD, (int)trim);
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, memstatus);
  if (pcache && sq__pcache_install()) return fprintf(stderr, "pcache wrapper not installed\n"), 1;
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, vfs ? sq__vfs_name() : NULL) != SQLITE_OK) {
    fprintf(stderr, "open %s: %s\n", path, sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_busy_timeout(db, 5000);
  /* sqlite.c open_db's writing connection, then sq__migrate's setting */
  if (ex(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
             " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=16384;") ||
      sq__content_fn(db) || ex(db, "PRAGMA temp_store=FILE"))
    return 1;
  int from = 0;
  if (sq__schema_read(db, &from)) return 1;
  printf("vfs=%s pcache=%s memstatus=%s trim=%ld from=%d upto=%d\n", vfs ? "imc" : "default",
         pcache ? "wrap" : "default", memstatus ? "on" : "off", trim, from, upto);
  ins_open();
  if (ins_fd >= 0) ioctl(ins_fd, PERF_EVENT_IOC_ENABLE, 0);
  sample_t t0, a, b;
  take(&t0);
  if (ex(db, "BEGIN IMMEDIATE")) return 1;
  for (int v = from; v < upto; v++) {
    take(&a);
    if (ex(db, sq__migrations[v])) { ex(db, "ROLLBACK"); return 1; }
    take(&b);
    char what[32];
    snprintf(what, sizeof what, "script=%d", v + 1);
    print(what, &a, &b);
  }
  take(&a);
  if (commit) {
    char set[64];
    snprintf(set, sizeof set, "PRAGMA user_version=%d", upto);
    if (ex(db, set) || ex(db, "COMMIT")) return 1;
  } else if (ex(db, "ROLLBACK")) return 1;
  take(&b);
  print(commit ? "commit" : "rollback", &a, &b);
  print("whole", &t0, &b);
  sqlite3_close(db);
  return 0;
}
