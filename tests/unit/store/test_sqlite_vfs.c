/* Unit tests of the write-coalescing VFS (src/store/sqlite_vfs.h), through
 * SQLite itself: a database written through it (synchronous=NORMAL, as the
 * server's writer) with small and large transactions, checkpoints, and a
 * rolled-back transaction that spilled pages into the WAL; after every
 * COMMIT a reader connection on the default VFS sees every committed row,
 * and so does a copy of the files as the kernel holds them right then (what
 * kill -9 would leave: the copy is opened with no -shm, so SQLite recovers
 * it from the WAL alone), which passes integrity_check. And the VFS does
 * coalesce: far fewer write calls reach the default VFS than SQLite made;
 * and a large checkpoint starts the database file's write-back as it copies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite_vfs.h"
#include "tmpdir.h"

static char dir[64], img[64];
static char db_path[128];

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "vfs") || test_tmpdir_make(img, sizeof img, "vfsimg")) return -1;
  return 0;
}
static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir) | test_tmpdir_remove(img);
}

static void exec(sqlite3 *db, const char *sql)
{
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  assert_int_equal(rc, SQLITE_OK);
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
  assert_int_equal(rc, SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void integrity_ok(sqlite3 *db)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
}

/* IMC_TEST_VFS=unix runs the same tests on the default VFS (the coalescing
 * check then fails: nothing counts) */
static sqlite3 *open_writer(void)
{
  const char *vfs = getenv("IMC_TEST_VFS") ? getenv("IMC_TEST_VFS") : sq__vfs_name();
  assert_non_null(vfs);
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
  exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
           " CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v BLOB NOT NULL);"
           " CREATE INDEX IF NOT EXISTS t_v ON t(v);");
  return db;
}

static sqlite3 *open_reader(const char *path)
{
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  return db;
}

/* each test its own database (t<n>.db) */
static void use_db(int n) { snprintf(db_path, sizeof db_path, "%s/t%d.db", dir, n); }

static void copy_file(const char *from, const char *to)
{
  int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(out >= 0);
  char buf[65536];
  ssize_t n;
  while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0) assert_int_equal(write(out, buf, (size_t)n), n);
  if (in >= 0) close(in);
  close(out);
}

/* The files as they are in the kernel now, copied and opened apart (no -shm:
 * SQLite rebuilds the index from the WAL): rows counted, integrity checked. */
static int64_t crash_image_rows(void)
{
  char from[160], to[160];
  snprintf(to, sizeof to, "%s/c.db-shm", img);
  unlink(to);
  snprintf(from, sizeof from, "%s-wal", db_path);
  snprintf(to, sizeof to, "%s/c.db-wal", img);
  copy_file(from, to);
  snprintf(to, sizeof to, "%s/c.db", img);
  copy_file(db_path, to);
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(to, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  int64_t n = one_int(db, "SELECT count(*) FROM t");
  integrity_ok(db);
  sqlite3_close(db);
  return n;
}

/* n rows of vlen random bytes with keys from k0, in one transaction */
static void insert(sqlite3 *db, int64_t k0, int n, int vlen)
{
  char sql[256];
  snprintf(sql, sizeof sql,
           "BEGIN IMMEDIATE; WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i+1<%d)"
           " INSERT INTO t SELECT %lld+i, randomblob(%d) FROM c; COMMIT;", n, (long long)k0, vlen);
  exec(db, sql);
}

static void committed_visible(sqlite3 *w, sqlite3 *r, int64_t rows)
{
  assert_int_equal(one_int(w, "SELECT count(*) FROM t"), rows);
  assert_int_equal(one_int(r, "SELECT count(*) FROM t"), rows);
  assert_int_equal(crash_image_rows(), rows);
}

/* Small commits (one row), medium ones, one larger than the VFS's buffer cap,
 * checkpoints of each kind in between: every commit is in the files when
 * COMMIT returns, seen by a reader on another connection and by a copy. */
static void test_commits_and_checkpoints(void **st)
{
  (void)st;
  use_db(1);
  sqlite3 *w = open_writer(), *r = open_reader(db_path);
  int64_t rows = 0;
  for (int i = 0; i < 20; i++) {
    insert(w, rows, 1, 100);
    committed_visible(w, r, ++rows);
  }
  insert(w, rows, 2000, 300);
  committed_visible(w, r, rows += 2000);
  exec(w, "PRAGMA wal_checkpoint(PASSIVE)");
  committed_visible(w, r, rows);
  insert(w, rows, 30000, 200); /* ~9 MB of pages: more than SQ_VFS_BUF_MAX */
  committed_visible(w, r, rows += 30000);
  exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
  committed_visible(w, r, rows);
  for (int i = 0; i < 10; i++) {
    insert(w, rows, 50, 500);
    committed_visible(w, r, rows += 50);
  }
  exec(w, "PRAGMA wal_checkpoint(RESTART)");
  insert(w, rows, 10, 100);
  committed_visible(w, r, rows += 10);
  integrity_ok(w);
  integrity_ok(r);
  sqlite3_close(r);
  sqlite3_close(w);
}

/* A transaction larger than a tiny page cache spills pages into the WAL
 * before its COMMIT; rolled back, none of it is seen, the next commit (over
 * the same WAL offsets) is, and a reader whose snapshot is older keeps it. */
static void test_rollback_after_spill(void **st)
{
  (void)st;
  use_db(2);
  sqlite3 *w = open_writer(), *r = open_reader(db_path);
  insert(w, 0, 2000, 300);
  int64_t rows = 2000;
  exec(w, "PRAGMA cache_size=5");
  exec(r, "BEGIN");
  assert_int_equal(one_int(r, "SELECT count(*) FROM t"), rows);
  exec(w, "BEGIN IMMEDIATE; WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i+1<3000)"
          " INSERT INTO t SELECT 1000000+i, randomblob(400) FROM c;");
  assert_int_equal(one_int(w, "SELECT count(*) FROM t"), rows + 3000);
  exec(w, "ROLLBACK");
  assert_int_equal(one_int(r, "SELECT count(*) FROM t"), rows);
  exec(r, "COMMIT");
  committed_visible(w, r, rows);
  insert(w, 2000000, 700, 300);
  committed_visible(w, r, rows += 700);
  /* a savepoint rolled back inside a committed transaction that spilled */
  exec(w, "BEGIN IMMEDIATE; INSERT INTO t VALUES (3000000, x'01'); SAVEPOINT s;"
          " WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i+1<3000)"
          " INSERT INTO t SELECT 3000001+i, randomblob(400) FROM c; ROLLBACK TO s; RELEASE s; COMMIT;");
  committed_visible(w, r, rows += 1);
  exec(w, "PRAGMA cache_size=-2000; PRAGMA wal_checkpoint(TRUNCATE)");
  committed_visible(w, r, rows);
  integrity_ok(w);
  sqlite3_close(r);
  sqlite3_close(w);
}

/* The VFS writes a commit's frames with few calls: a commit of ~100 pages
 * reaches the default VFS as at most a handful of writes (31 pages per call),
 * not the ~200 SQLite makes (a header and a page per frame). */
static void test_coalesces(void **st)
{
  (void)st;
  use_db(3);
  sqlite3 *w = open_writer();
  exec(w, "PRAGMA cache_size=-65536");
  int64_t k0 = 4000000;
  insert(w, k0, 1, 10); /* the WAL exists, its header is written */
  sq_vfs_stats_t a, b;
  sq__vfs_stats(&a);
  insert(w, k0 + 1, 300, 1000); /* ~100 table pages and a few index pages */
  sq__vfs_stats(&b);
  uint64_t in = b.writes_in - a.writes_in, out = b.writes_out - a.writes_out;
  fprintf(stderr, "commit: %llu writes from SQLite, %llu to the default VFS\n", (unsigned long long)in,
          (unsigned long long)out);
  assert_true(in >= 150);
  assert_true(out >= 1 && out * 20 <= in);
  /* the bytes: the ~100 table pages' frames (each a page and its 24-byte header) to the WAL, none to the database */
  assert_true(b.wal_bytes - a.wal_bytes >= 100 * (4096 + 24));
  assert_int_equal(b.db_bytes, a.db_bytes);
  /* a checkpoint of adjacent pages: fewer writes to the database file than pages */
  sq__vfs_stats(&a);
  int log = 0, done = 0;
  assert_int_equal(sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done), SQLITE_OK);
  sq__vfs_stats(&b);
  in = b.writes_in - a.writes_in;
  out = b.writes_out - a.writes_out;
  fprintf(stderr, "checkpoint (%d frames): %llu writes from SQLite, %llu to the default VFS\n", log,
          (unsigned long long)in, (unsigned long long)out);
  assert_true(out < in);
  assert_true(b.db_bytes - a.db_bytes >= 100 * 4096); /* the ~100 table pages copied */
  assert_int_equal(b.wal_bytes, a.wal_bytes);
  integrity_ok(w);
  sqlite3_close(w);
}

/* A checkpoint that copies more than SQ_VFS_WRITEBACK_BYTES starts the
 * kernel's write-back of the database file while it copies (one start per
 * SQ_VFS_WRITEBACK_BYTES written), one of less starts none, one as large
 * with the hint switched off starts none, and every time the database is
 * whole. */
static void test_checkpoint_writeback(void **st)
{
  (void)st;
  use_db(4);
  sqlite3 *w = open_writer();
  exec(w, "PRAGMA cache_size=-65536");
  insert(w, 5000000, 20, 1000); /* ~60 KB of table and index pages: under SQ_VFS_WRITEBACK_BYTES */
  sq_vfs_stats_t a, b;
  int log = 0, done = 0;
  sq__vfs_stats(&a);
  assert_int_equal(sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done), SQLITE_OK);
  sq__vfs_stats(&b);
  assert_int_equal(b.writebacks - a.writebacks, 0);
  insert(w, 6000000, 6000, 1000); /* ~15 MB of table and index pages */
  sq__vfs_stats(&a);
  assert_int_equal(sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done), SQLITE_OK);
  sq__vfs_stats(&b);
  uint64_t wb = b.writebacks - a.writebacks;
  /* at most one per SQ_VFS_WRITEBACK_BYTES that the checkpoint can have written: the whole file */
  uint64_t bytes = (uint64_t)one_int(w, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size");
  fprintf(stderr, "checkpoint into a %llu-byte file: %llu write-backs started\n", (unsigned long long)bytes,
          (unsigned long long)wb);
  assert_true(wb >= 1 && wb <= bytes / SQ_VFS_WRITEBACK_BYTES);
  assert_int_equal(one_int(w, "SELECT count(*) FROM t"), 6020);
  /* with the hint off (sq__vfs_writeback(0), what bench/ckpt_stop.c --writeback 0 compares against), the
   * same size of checkpoint starts none: the hint, not the file system, started the ones above */
  insert(w, 7000000, 6000, 1000);
  sq__vfs_writeback(0);
  sq__vfs_stats(&a);
  assert_int_equal(sqlite3_wal_checkpoint_v2(w, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done), SQLITE_OK);
  sq__vfs_stats(&b);
  sq__vfs_writeback(1);
  assert_int_equal(b.writebacks - a.writebacks, 0);
  assert_int_equal(one_int(w, "SELECT count(*) FROM t"), 12020);
  integrity_ok(w);
  sqlite3_close(w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_commits_and_checkpoints),
    cmocka_unit_test(test_rollback_after_spill),
    cmocka_unit_test(test_coalesces),
    cmocka_unit_test(test_checkpoint_writeback),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
