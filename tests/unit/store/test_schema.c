/* The migrations at open (sqlite_schema.c sq__migrate): the scripts a
 * database has not run yet run in one transaction. A new database gets its
 * whole schema in one commit (one sync: each script used to commit, and
 * sync, on its own — 46 of them for every new data directory); an upgrade
 * whose script fails leaves the database at the version it had, none of the
 * scripts before the failing one applied. An upgrade says what it does on
 * the log (start, each script with its time, the end; a failure with the
 * script and SQLite's message; messaging-c2c-checks4.md §94); a new
 * database's schema is made without a line at level info. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite_int.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
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

/* The log lines (stderr) of what runs between log_start and log_end, into log (NUL-terminated). */
static char logbuf[8192];
static int saved_fd = -1;
static void log_start(void)
{
  char path[96];
  snprintf(path, sizeof path, "%s/log", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  saved_fd = dup(2);
  assert_true(saved_fd >= 0);
  assert_int_equal(dup2(fd, 2), 2);
  close(fd);
  imc_log_level = IMC_LOG_INFO;
}
static void log_end(void)
{
  off_t n = lseek(2, 0, SEEK_CUR);
  assert_true(n >= 0 && (size_t)n < sizeof logbuf);
  assert_int_equal(pread(2, logbuf, (size_t)n, 0), n);
  logbuf[n] = 0;
  assert_int_equal(dup2(saved_fd, 2), 2);
  close(saved_fd);
}

/* a database at version `old` in data (made with the first `old` scripts) */
static void make_at(const char *data, int old)
{
  char path[128];
  assert_int_equal(mkdir(data, 0700), 0);
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sq__content_fn(db), 0); /* migration 54's function */
  for (int v = 0; v < old; v++) assert_int_equal(sqlite3_exec(db, sq__migrations[v], NULL, NULL, NULL), SQLITE_OK);
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", old);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_new_database_one_commit(void **st)
{
  (void)st;
  char data[96];
  snprintf(data, sizeof data, "%s/new", dir);
  assert_int_equal(mkdir(data, 0700), 0);
  store_t *s;
  log_start();
  assert_int_equal(store_open(data, &s), 0);
  log_end();
  assert_string_equal(logbuf, ""); /* no line at level info for a new data directory's schema */
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
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  sqlite3 *db;
  const int old = 44; /* scripts 44 (grp_events_due) and 45 (grp_owner) pending, and every later one */
  make_at(data, old);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  /* script 45 creates the index grp_owner: a table of that name makes it fail */
  assert_non_null(strstr(sq__migrations[45], "CREATE INDEX grp_owner "));
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE grp_owner(x)", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);

  store_t *s = NULL;
  log_start();
  assert_int_not_equal(store_open(data, &s), 0);
  log_end();
  /* the operator is told which script failed, why, and the version the database stays at */
  assert_non_null(strstr(logbuf, "level=info mod=store msg=\"migrating schema\" from=44 to="));
  assert_non_null(strstr(logbuf, "msg=\"schema migration\" version=45 ms="));
  assert_non_null(strstr(logbuf, "level=error mod=store msg=\"schema migration failed\" step=46 err=\"there is already a table named grp_owner\" kept=44"));
  assert_null(strstr(logbuf, "schema migrated"));
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

/* an upgrade: a line when it starts, one per script, one at the end; the next open says nothing */
static void test_upgrade_logged(void **st)
{
  (void)st;
  char data[96], want[128];
  snprintf(data, sizeof data, "%s/up", dir);
  const int old = sq__schema_version - 2;
  make_at(data, old);
  store_t *s;
  log_start();
  assert_int_equal(store_open(data, &s), 0);
  log_end();
  assert_int_equal(user_version(store__sqlite_db(s)), sq__schema_version);
  store_close(s);
  snprintf(want, sizeof want, "level=info mod=store msg=\"migrating schema\" from=%d to=%d\n", old, sq__schema_version);
  const char *start = strstr(logbuf, want);
  assert_non_null(start);
  const char *prev = start;
  for (int v = old + 1; v <= sq__schema_version; v++) { /* in order, each with its time */
    snprintf(want, sizeof want, "level=info mod=store msg=\"schema migration\" version=%d ms=", v);
    const char *l = strstr(logbuf, want);
    assert_non_null(l);
    assert_true(l > prev);
    prev = l;
  }
  snprintf(want, sizeof want, "level=info mod=store msg=\"schema migrated\" from=%d to=%d ms=", old, sq__schema_version);
  const char *end = strstr(logbuf, want);
  assert_non_null(end);
  assert_true(end > prev);
  assert_non_null(strstr(end, " commit_ms="));
  log_start();
  assert_int_equal(store_open(data, &s), 0); /* migrated: nothing to say */
  log_end();
  store_close(s);
  assert_string_equal(logbuf, "");
}

/* a database newer than the binary is refused and named */
static void test_newer_refused(void **st)
{
  (void)st;
  char data[96], want[128];
  snprintf(data, sizeof data, "%s/newer", dir);
  make_at(data, sq__schema_version);
  char path[128];
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  snprintf(want, sizeof want, "PRAGMA user_version=%d", sq__schema_version + 1);
  assert_int_equal(sqlite3_exec(db, want, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
  store_t *s = NULL;
  log_start();
  assert_int_equal(store_open(data, &s), IMC_E_CONFIG);
  log_end();
  snprintf(want, sizeof want, "level=error mod=store msg=\"database schema newer than this binary\" version=%d binary=%d\n",
           sq__schema_version + 1, sq__schema_version);
  assert_non_null(strstr(logbuf, want));
}

/* Every file SQLite opens through the default VFS for temporary data (statement journals, sorts, temporary
 * databases) counted: the store's VFS wraps the default one, and passes these through. */
static sqlite3_vfs counting, *base_vfs;
static int temp_opens;
static int counting_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
  (void)v;
  if (flags & (SQLITE_OPEN_SUBJOURNAL | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TRANSIENT_DB)) temp_opens++;
  return base_vfs->xOpen(base_vfs, name, f, flags, out);
}

/* While an upgrade's scripts run, SQLite's temporary data is in files, not in memory (the writing connection's
 * temp_store, MEMORY, is put back after): migration 54's UPDATE of every group message keeps the original of
 * each page it changes in a statement journal, which goes to a file past 64 KiB; in memory it grew with the
 * table (3 M group messages: +290 MB of RSS, docs/BENCHMARKS.md "upgrading a big store"). */
static void test_upgrade_temp_on_disk(void **st)
{
  (void)st;
  char data[96], path[128];
  snprintf(data, sizeof data, "%s/big", dir);
  make_at(data, 53);
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000)"
                                    " INSERT INTO grp_msg(sdkappid,group_no,seq,from_no,time_s,random,flags,priority,body)"
                                    " SELECT 1400000001, 1, i, 1, 1700000000+i, i, 0, 0, printf('{\"MsgBody\":\"%0400d\"}', i) FROM n",
                                    NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
  temp_opens = 0;
  store_t *s;
  assert_int_equal(store_open(data, &s), 0);
  assert_true(temp_opens > 0);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "PRAGMA temp_store", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 2); /* MEMORY again for the connection's own work */
  sqlite3_finalize(q);
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "SELECT count(*) FROM grp_msg WHERE chash IS NULL", -1, &q, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 0); /* the script did its work */
  sqlite3_finalize(q);
  store_close(s);
}

int main(void)
{
  base_vfs = sqlite3_vfs_find(NULL);
  counting = *base_vfs;
  counting.zName = "counting";
  counting.xOpen = counting_open;
  sqlite3_vfs_register(&counting, 1);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_new_database_one_commit),
    cmocka_unit_test(test_failed_upgrade_keeps_version),
    cmocka_unit_test(test_upgrade_logged),
    cmocka_unit_test(test_newer_refused),
    cmocka_unit_test(test_upgrade_temp_on_disk),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
