/* The migrations at open (sqlite_schema.c sq__migrate): the scripts a
 * database has not run yet run in one transaction. A new database gets its
 * whole schema in one commit (one sync: each script used to commit, and
 * sync, on its own — 46 of them for every new data directory); an upgrade
 * whose script fails leaves the database at the version it had, none of the
 * scripts before the failing one applied. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/sqlite_int.h"
#include "store/store.h"
#include "tmpdir.h"

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "schema");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Commit frames in the data directory's WAL (frames whose "database size
 * after commit" is set: https://sqlite.org/fileformat2.html#walformat). */
static int wal_commits(const char *data)
{
  char path[128];
  snprintf(path, sizeof path, "%s/imcloud.db-wal", data);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  unsigned char hdr[32], fh[24];
  assert_int_equal(fread(hdr, 1, sizeof hdr, f), sizeof hdr);
  uint32_t page = be32(hdr + 8);
  assert_true(page >= 512);
  int commits = 0;
  while (fread(fh, 1, sizeof fh, f) == sizeof fh) {
    if (be32(fh + 4)) commits++;
    if (fseek(f, (long)page, SEEK_CUR)) break;
  }
  fclose(f);
  return commits;
}

static int user_version(sqlite3 *db)
{
  int v = -1;
  assert_int_equal(sq__schema_read(db, &v), 0);
  return v;
}

static void test_new_database_one_commit(void **st)
{
  (void)st;
  char data[96];
  snprintf(data, sizeof data, "%s/new", dir);
  assert_int_equal(mkdir(data, 0700), 0);
  store_t *s;
  assert_int_equal(store_open(data, &s), 0);
  assert_int_equal(user_version(store__sqlite_db(s)), sq__schema_version);
  assert_int_equal(wal_commits(data), 1);
  store_close(s);
  assert_int_equal(store_open(data, &s), 0); /* migrated: nothing more to run */
  assert_int_equal(user_version(store__sqlite_db(s)), sq__schema_version);
  store_close(s);
}

static void test_failed_upgrade_keeps_version(void **st)
{
  (void)st;
  char data[96], path[128];
  snprintf(data, sizeof data, "%s/old", dir);
  assert_int_equal(mkdir(data, 0700), 0);
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  sqlite3 *db;
  const int old = 44; /* scripts 44 (grp_events_due) and 45 (grp_owner) pending, and every later one */
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  for (int v = 0; v < old; v++) assert_int_equal(sqlite3_exec(db, sq__migrations[v], NULL, NULL, NULL), SQLITE_OK);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", old);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  /* script 45 creates the index grp_owner: a table of that name makes it fail */
  assert_non_null(strstr(sq__migrations[45], "CREATE INDEX grp_owner "));
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE grp_owner(x)", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);

  store_t *s = NULL;
  assert_int_not_equal(store_open(data, &s), 0);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(user_version(db), old);
  /* the script before the failing one (grp_events_due) was rolled back with it */
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema WHERE name='grp_events_due'", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 0);
  sqlite3_finalize(q);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_new_database_one_commit),
    cmocka_unit_test(test_failed_upgrade_keeps_version),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
