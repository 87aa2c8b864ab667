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

#include <stdlib.h>

#include "schema_test.h"

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

/* Migrations 48 and 51 fill new columns of the imports stored before (run_lo, max_t) from window functions
 * over each conversation in seq order, and 53 a changed group message's chg over each group: the values of
 * their definition. The rows of 48's and 51's UPDATEs are read in rowid order (messaging-c2c-checks4.md §102): in
 * the windows' conversation order each row was on another page of the table than the one before, and a big
 * store's pages left the page cache between two reads of them (500,000 imports among 1 M messages: the two
 * UPDATEs 13–15 s, 7–8 s in rowid order). Here the conversations interleave (neighbouring ids in different
 * ones) and the connection's cache holds 16 pages: the pages read from the file are counted. */
enum { UPG_MSGS = 3000, UPG_CONVS = 300, UPG_GMSGS = 60, UPG_GROUPS = 3, UPG_CACHE = 16 };
static int64_t upg_value(sqlite3 *db, const char *sql, int id, int *null)
{
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
  sqlite3_bind_int(q, 1, id);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  *null = sqlite3_column_type(q, 0) == SQLITE_NULL;
  int64_t v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}
/* Group messages for 53 (chg): message i in group i % groups + 1 (neighbouring ids in different groups),
 * modified (8), recalled (1; with an empty body: a deletion's, not numbered) or a deleted message's placeholder
 * (256) by turns; bodies of `pad` (at most 400) more bytes but the deletions'. Inside the caller's transaction. */
static int grp_kind(int i)
{
  static const int kinds[] = { 0, 8, 1, 0, 9, 256, 1, 8 };
  return kinds[i * 5 % 8];
}
static void grp_fill(sqlite3 *db, int msgs, int groups, int pad)
{
  char sql[512];
  for (int i = 0; i < msgs; i++) {
    int f = grp_kind(i);
    snprintf(sql, sizeof sql, "INSERT INTO grp_msg(id,sdkappid,group_no,seq,from_no,time_s,random,flags,priority,body)"
                              " VALUES(%d,1400000001,%d,%d,1,%d,%d,%d,0,'%s'||substr(printf('%%0400d',0),1,%d))", i + 1, i % groups + 1,
             i / groups + 1, 1700000000 + i, i, f, f == 1 && i % 2 ? "{\"MsgBody\":[]}" : "{\"MsgBody\":[1]}",
             f == 1 && i % 2 ? 0 : pad);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  }
}
/* chg and grp_chg after the upgrade: each group's counted messages numbered 1, 2, ... in seq order; returns
 * how many */
static int grp_chg_check(sqlite3 *db, int msgs, int groups)
{
  int changed = 0, null_chg, *n = calloc((size_t)groups, sizeof *n);
  assert_non_null(n);
  for (int i = 0; i < msgs; i++) {
    int64_t chg = upg_value(db, "SELECT chg FROM grp_msg WHERE id=?1", i + 1, &null_chg);
    int f = grp_kind(i), counted = (f & 9) && !(f & 256) && !(f == 1 && i % 2);
    changed += counted;
    assert_int_equal(chg, counted ? ++n[i % groups] : 0);
  }
  for (int g = 0; g < groups; g++) {
    int64_t last = upg_value(db, "SELECT coalesce((SELECT chg FROM grp_chg WHERE sdkappid=1400000001 AND group_no=?1),0)",
                             g + 1, &null_chg);
    assert_int_equal(last, n[g]);
  }
  free(n);
  return changed;
}
static void test_upgrade_fills_in_rowid_order(void **st)
{
  (void)st;
  char data[96], path[128], sql[512];
  snprintf(data, sizeof data, "%s/fill", dir);
  make_at(data, 47);
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  /* one-to-one: message i in conversation i % 300 (neighbours in different ones), imported but for runs of
   * live ones, times going back and forth; expected run_lo and max_t from their definition */
  int conv[UPG_MSGS], seq[UPG_MSGS], t[UPG_MSGS], imp[UPG_MSGS], nseq[UPG_CONVS] = { 0 };
  for (int i = 0; i < UPG_MSGS; i++) {
    conv[i] = i % UPG_CONVS;
    seq[i] = ++nseq[conv[i]];
    t[i] = 1700000000 + i * 37 % 50;
    imp[i] = i % 5 != 0 && i / 7 % 3 != 1;
    snprintf(sql, sizeof sql, "INSERT INTO c2c_msg(id,sdkappid,conv,seq,from_no,to_no,time_s,cseq,random,flags,life_s,body)"
                              " VALUES(%d,1400000001,%d,%d,1,2,%d,%d,%d,%d,0,printf('%%0200d',0))", i + 1, conv[i] + 10, seq[i], t[i], i, i,
             imp[i] ? 32 : 0);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  }
  grp_fill(db, UPG_GMSGS, UPG_GROUPS, 0);
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  /* the upgrade as the store runs it (sqlite.c open_db), with a small page cache */
  snprintf(sql, sizeof sql, "PRAGMA cache_size=%d", UPG_CACHE);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sq__content_fn(db), 0);
  int miss, hw;
  assert_int_equal(sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &miss, &hw, 1), SQLITE_OK);
  log_start();
  assert_int_equal(sq__migrate(db), 0);
  log_end();
  assert_int_equal(sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &miss, &hw, 0), SQLITE_OK);
  assert_int_equal(user_version(db), sq__schema_version);

  int imports = 0;
  for (int i = 0; i < UPG_MSGS; i++) {
    int null_lo, null_t;
    int64_t lo = upg_value(db, "SELECT run_lo FROM c2c_msg WHERE id=?1", i + 1, &null_lo);
    int64_t mt = upg_value(db, "SELECT max_t FROM c2c_msg WHERE id=?1", i + 1, &null_t);
    if (!imp[i]) {
      assert_true(null_lo && null_t);
      continue;
    }
    imports++;
    int want_lo = seq[i], want_t = 0;
    for (int j = i - 1; j >= 0; j--) /* the run of imports this one ends: lower seqs of its conversation */
      if (conv[j] == conv[i] && seq[j] == want_lo - 1) {
        if (!imp[j]) break;
        want_lo = seq[j];
      }
    for (int j = 0; j <= i; j++)
      if (conv[j] == conv[i] && t[j] > want_t) want_t = t[j];
    assert_false(null_lo || null_t);
    assert_int_equal(lo, want_lo);
    assert_int_equal(mt, want_t);
  }
  int changed = grp_chg_check(db, UPG_GMSGS, UPG_GROUPS);
  assert_true(imports > 30 && changed > 20);
  /* 51's windows read the rows of the conversations with an import in conversation order (a page each: ~one
   * per message here) and the scripts scan tables and indexes; 48's and 51's UPDATEs then read each import
   * again, in their source's order, one more page each (6,122 here before §102), or page after page (3,305) */
  assert_true(miss < UPG_MSGS + imports);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Migration 53 on a store whose group messages interleave many groups (messaging-c2c-checks5.md §105): its
 * window read the changed rows through grp_msg's (sdkappid, group_no, seq) index, a table row by rowid per
 * index entry, and its UPDATE then read each changed row again in that group order: a page of the table per
 * message once the table is bigger than the cache (1 M messages of 1,000 groups: 51 s). It reads the table
 * page after page (NOT INDEXED; the window's sort is a temporary file), and its UPDATE's rows in rowid order.
 * 3,000 messages of 300 groups, a 16-page cache: the chg values of their definition, and the pages read. */
enum { G53_MSGS = 3000, G53_GROUPS = 300, G53_PAD = 300 };
static void test_upgrade_53_interleaved_groups(void **st)
{
  (void)st;
  char data[96], path[128], sql[64];
  snprintf(data, sizeof data, "%s/g53", dir);
  make_at(data, 52);
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
  grp_fill(db, G53_MSGS, G53_GROUPS, G53_PAD);
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  int null_pages;
  int64_t pages = upg_value(db, "SELECT ?1 + (SELECT page_count FROM pragma_page_count())", 0, &null_pages);
  snprintf(sql, sizeof sql, "PRAGMA cache_size=%d", UPG_CACHE);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sq__content_fn(db), 0);
  int miss, hw;
  assert_int_equal(sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &miss, &hw, 1), SQLITE_OK);
  log_start();
  assert_int_equal(sq__migrate(db), 0);
  log_end();
  assert_int_equal(sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &miss, &hw, 0), SQLITE_OK);
  assert_int_equal(user_version(db), sq__schema_version);
  assert_true(grp_chg_check(db, G53_MSGS, G53_GROUPS) > G53_MSGS / 2);
  /* 53's scan and UPDATE, 54's UPDATE and index build: a few passes over the table's pages, not a page per
     message (4,934 pages read before §105, 1,752 after) */
  print_message("pages %lld, read %d\n", (long long)pages, miss);
  assert_true(miss < G53_MSGS);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
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
    cmocka_unit_test(test_upgrade_fills_in_rowid_order),
    cmocka_unit_test(test_upgrade_53_interleaved_groups),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
