/* ckpt_stop — how long a checkpoint stops its connection, through the
 * server's VFS (src/store/sqlite_vfs.h): a table of --rows rows of 400
 * bytes (WAL, synchronous=FULL, as the writer's WAL is synced per COMMIT),
 * then --rounds times: --dirty random rows rewritten in one transaction (so
 * about that many distinct pages in the WAL, as the C2C tables' random
 * leaves are at moderate load), then one blocking checkpoint
 * (SQLITE_CHECKPOINT_RESTART, as the writer's), timed. Prints the
 * checkpoint's wall time (p50 and max over the rounds, ms), the calling
 * thread's CPU time for it (p50, ms), the frames it copied and the
 * write-backs the VFS started. --writeback 0 turns the VFS's write-back
 * hint off (sq__vfs_writeback), for a before/after on the same build.
 *
 *   ckpt_stop [--dir DIR] [--rows 100000] [--dirty 4000] [--rounds 12] [--writeback 1]
 *
 * DIR (default: a new directory under /tmp, removed at the end) should be on
 * the data directory's file system. */
#include "store/sqlite_vfs.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t ns(clockid_t c)
{
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void must(sqlite3 *db, const char *sql)
{
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "ckpt_stop: %s: %s\n", sql, err ? err : "?");
    exit(1);
  }
}

int main(int argc, char **argv)
{
  const char *dir = NULL;
  int rows = 100000, dirty = 4000, rounds = 12, wb = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else if (!strcmp(argv[i], "--rows")) rows = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--dirty")) dirty = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--writeback")) wb = atoi(argv[i + 1]);
    else { fprintf(stderr, "usage: ckpt_stop [--dir DIR] [--rows N] [--dirty N] [--rounds N] [--writeback 0|1]\n"); return 2; }
  }
  if (rows < 1 || dirty < 1 || rounds < 1 || rounds > 1000) { fprintf(stderr, "ckpt_stop: bad counts\n"); return 2; }
  char tmp[] = "/tmp/ckpt_stop-XXXXXX", path[512];
  if (!dir && !(dir = mkdtemp(tmp))) { perror("mkdtemp"); return 1; }
  snprintf(path, sizeof path, "%s/ckpt.db", dir);
  const char *vfs = sq__vfs_name();
  if (!vfs) { fprintf(stderr, "ckpt_stop: the VFS could not be registered\n"); return 1; }
  sq__vfs_writeback(wb);
  sqlite3 *db;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) != SQLITE_OK) {
    fprintf(stderr, "ckpt_stop: cannot open %s\n", path);
    return 1;
  }
  must(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-262144;"
           " CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB NOT NULL)");
  char sql[256];
  snprintf(sql, sizeof sql, "BEGIN; WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i+1<%d)"
           " INSERT INTO t SELECT i, randomblob(400) FROM c; COMMIT", rows);
  must(db, sql);
  must(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_stmt *up;
  if (sqlite3_prepare_v2(db, "UPDATE t SET v=randomblob(400) WHERE k=?", -1, &up, NULL) != SQLITE_OK) return 1;
  uint64_t *wall = calloc((size_t)rounds, sizeof *wall), *cpu = calloc((size_t)rounds, sizeof *cpu);
  if (!wall || !cpu) { fprintf(stderr, "ckpt_stop: out of memory\n"); return 1; }
  uint64_t frames = 0, wbs = 0;
  srand(1);
  for (int r = 0; r < rounds; r++) {
    must(db, "BEGIN");
    for (int i = 0; i < dirty; i++) {
      sqlite3_bind_int64(up, 1, rand() % rows);
      int src = sqlite3_step(up);
      sqlite3_reset(up);
      if (src != SQLITE_DONE) { fprintf(stderr, "ckpt_stop: update: %s\n", sqlite3_errstr(src)); return 1; }
    }
    must(db, "COMMIT");
    sq_vfs_stats_t a, b;
    sq__vfs_stats(&a);
    int log = 0, done = 0;
    uint64_t w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_THREAD_CPUTIME_ID);
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
    cpu[r] = ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    wall[r] = ns(CLOCK_MONOTONIC) - w0;
    sq__vfs_stats(&b);
    if (rc != SQLITE_OK) { fprintf(stderr, "ckpt_stop: checkpoint: %s\n", sqlite3_errstr(rc)); return 1; }
    frames += (uint64_t)done;
    wbs += b.writebacks - a.writebacks;
  }
  sqlite3_finalize(up);
  sqlite3_close(db);
  if (dir == tmp) { /* the database, its WAL and its index; a leftover file only leaves the directory behind */
    static const char *const suffix[] = { "", "-wal", "-shm" };
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
      char f[600];
      snprintf(f, sizeof f, "%s%s", path, suffix[i]);
      unlink(f);
    }
    rmdir(tmp);
  }
  qsort(wall, (size_t)rounds, sizeof *wall, cmp_u64);
  qsort(cpu, (size_t)rounds, sizeof *cpu, cmp_u64);
  printf("writeback=%d rows=%d dirty=%d rounds=%d ckpt_wall_p50_ms=%.2f ckpt_wall_max_ms=%.2f ckpt_cpu_p50_ms=%.2f"
         " frames_per_ckpt=%llu writebacks_per_ckpt=%.1f\n",
         wb, rows, dirty, rounds, wall[rounds / 2] / 1e6, wall[rounds - 1] / 1e6, cpu[rounds / 2] / 1e6,
         (unsigned long long)(frames / (uint64_t)rounds), (double)wbs / rounds);
  free(wall);
  free(cpu);
  return 0;
}
