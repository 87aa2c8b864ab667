/* Unit tests of the page-cache wrapper (src/store/sqlite_pcache.h), through
 * a store's own connection: in transactions whose inserts split B-tree
 * pages (random keys: balances that reorder siblings park a page at the
 * pending-byte page's number), the end-of-transaction truncate of the
 * default cache is skipped (it would sweep the whole cache and free
 * nothing), and the data stays right: a transaction that grew the
 * database and rolled back, whose pages past the restored end must leave
 * the cache, runs the default truncate, and every read afterwards sees the
 * committed rows only (integrity_check, counts, a rewrite of the rolled
 * back range). It fails when the wrapper is not installed (no truncate is
 * ever skipped). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/sqlite_pcache.h"
#include "store/store.h"
#include "tmpdir.h"
#include "store_tmpl.h"

sqlite3 *store__sqlite_db(store_t *s);

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "pcache");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static void exec(sqlite3 *db, const char *sql) { assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK); }

static int64_t one(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

static void insert_random(sqlite3 *db, int n, int64_t tag)
{
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t(k, tag, pad) VALUES(?, ?, zeroblob(40))", -1, &q, NULL), SQLITE_OK);
  for (int i = 0; i < n; i++) {
    sqlite3_bind_int64(q, 1, (int64_t)(rnd() >> 2));
    sqlite3_bind_int64(q, 2, tag);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
}

static void test_commits_skip_sweep_and_rollback_truncates(void **st)
{
  (void)st;
  store_t *s;
  sq_pcache_stats_t a, b, c;
  assert_int_equal(test_store_open(dir, &s), 0);
  sqlite3 *db = store__sqlite_db(s);
  exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, tag INTEGER NOT NULL, pad BLOB) WITHOUT ROWID");
  sq__pcache_stats(&a);
  for (int t = 0; t < 200; t++) { /* 200 commits of 50 random keys: splits in most of them */
    exec(db, "BEGIN IMMEDIATE");
    insert_random(db, 50, 1);
    exec(db, "COMMIT");
  }
  sq__pcache_stats(&b);
  uint64_t skipped = b.skipped - a.skipped, ran = b.truncates - a.truncates;
  assert_true(skipped >= 150); /* the default cache would have swept at each of them */
  assert_true(ran < skipped / 4);
  int64_t pages = one(db, "PRAGMA page_count");

  /* grow the database by far more than the cache held past its end, then roll back */
  exec(db, "BEGIN IMMEDIATE");
  insert_random(db, 20000, 2);
  assert_true(one(db, "PRAGMA page_count") > pages + 100);
  exec(db, "ROLLBACK");
  sq__pcache_stats(&c);
  assert_true(c.truncates > b.truncates); /* pages past the restored end: dropped by the default cache */
  assert_int_equal(one(db, "PRAGMA page_count"), pages);
  assert_int_equal(one(db, "SELECT count(*) FROM t WHERE tag=2"), 0);
  assert_int_equal(one(db, "SELECT count(*) FROM t"), 10000);

  /* the same page numbers used again, committed: what is read is what was written */
  exec(db, "BEGIN IMMEDIATE");
  insert_random(db, 5000, 3);
  exec(db, "COMMIT");
  assert_int_equal(one(db, "SELECT count(*) FROM t WHERE tag=3"), 5000);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
  sqlite3_finalize(q);
  store_close(s);

  /* and from the file, by a fresh connection */
  assert_int_equal(test_store_open(dir, &s), 0);
  db = store__sqlite_db(s);
  assert_int_equal(one(db, "SELECT count(*) FROM t"), 15000);
  assert_int_equal(one(db, "SELECT count(*) FROM t WHERE tag=2"), 0);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_commits_skip_sweep_and_rollback_truncates, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
