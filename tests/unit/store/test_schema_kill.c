/* An upgrade killed while its scripts' pages are in the WAL (messaging-c2c-checks5.md §105). The scripts run
 * in one transaction (sqlite_migrate.c, §94); once the page cache is full, SQLite writes the transaction's
 * dirty pages into the WAL before the COMMIT (frames without a commit mark), which a SIGKILL leaves in the
 * file. The next open must ignore them: the database at the version it had, every row as before, and the
 * upgrade done again from the start with the result of an uninterrupted one. A kill after the COMMIT's frame
 * is in the WAL (synced), before any checkpoint, must leave the upgraded database.
 *
 * The migrating process is a child running the store's own open sequence on its own connection (the pragmas
 * of sqlite.c open_db, the store's VFS) with a 16-page cache, so that the big UPDATEs spill; the child kills
 * itself (SIGKILL) at a point chosen by the test, deterministically: a VFS under the store's (the default
 * one, wrapped) sees the writes and syncs of the WAL, and a statement trace names the script running. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "schema_test.h"
#include "store/sqlite_vfs.h"

enum { PAGE = 4096 }; /* the databases' page size (SQLite's default; checked) */

/* ---- the killing VFS: the default one, with the WAL's xWrite and xSync watched --------------------------- */
enum { KILL_NONE, KILL_SPILL, KILL_COMMIT };
static sqlite3_vfs killer, *base_vfs;
static sqlite3_io_methods wal_methods;
static const sqlite3_io_methods *real_wal_methods;
static int kill_mode;         /* in the child only */
static const char *kill_at;   /* KILL_SPILL: armed when a statement starting with this begins */
static int armed, commit_written;

/* 1 if the bytes p written at off hold a frame header marking a commit ("database size after commit", bytes
 * 4-7, non-zero; https://sqlite.org/fileformat2.html#walformat); the store's VFS writes many frames per call */
static int has_commit(const unsigned char *p, int amt, sqlite3_int64 off)
{
  const sqlite3_int64 frame = 24 + PAGE;
  sqlite3_int64 k = off > 32 + frame ? (off - 32) / frame - 1 : 0;
  for (sqlite3_int64 h = 32 + k * frame; h + 4 < off + amt; h += frame)
    for (sqlite3_int64 b = h + 4; b < h + 8; b++) /* a header's bytes may come in two calls */
      if (b >= off && b < off + amt && p[b - off]) return 1;
  return 0;
}

static int kill_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
  int rc = real_wal_methods->xWrite(f, p, amt, off);
  /* past the WAL header: a frame of the transaction, written (in the file, not synced) */
  if (kill_mode == KILL_SPILL && armed && off + amt > 32) raise(SIGKILL);
  if (kill_mode == KILL_COMMIT && has_commit(p, amt, off)) commit_written = 1;
  return rc;
}

static int kill_sync(sqlite3_file *f, int flags)
{
  int rc = real_wal_methods->xSync(f, flags);
  /* the WAL's header is synced too (its first frame's, synchronous=FULL): the COMMIT's sync is the one after
   * its commit frame */
  if (kill_mode == KILL_COMMIT && commit_written) raise(SIGKILL);
  return rc;
}

/* the file is the default VFS's own (same size); a WAL gets a copy of its methods with xWrite and xSync watched */
static int kill_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
  (void)v;
  int rc = base_vfs->xOpen(base_vfs, name, f, flags, out);
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && f->pMethods) {
    if (!real_wal_methods) {
      real_wal_methods = f->pMethods;
      wal_methods = *f->pMethods;
      wal_methods.xWrite = kill_write;
      wal_methods.xSync = kill_sync;
    }
    if (f->pMethods == real_wal_methods) f->pMethods = &wal_methods;
  }
  return rc;
}

static int trace(unsigned type, void *ctx, void *p, void *x)
{
  (void)ctx;
  (void)p;
  if (type == SQLITE_TRACE_STMT && kill_at && !strncmp((const char *)x, kill_at, strlen(kill_at))) armed = 1;
  return 0;
}

/* ---- the old store -------------------------------------------------------------------------------------- */
enum { OLD = 47, MSGS = 4000, CONVS = 400, GMSGS = 4000, GROUPS = 200, CACHE = 16 };
static char old_dir[96], ref_dir[96];

static void db_path(char *out, size_t cap, const char *data) { snprintf(out, cap, "%s/imcloud.db", data); }

/* at schema 47 (scripts 48-55 pending): one-to-one messages of interleaved conversations, four in five
 * imported (48's run_lo, 51's max_t); group messages of interleaved groups, modified, recalled, deleted
 * placeholders by turns (53's chg; 54's chash); bodies of 300 bytes: the tables are ~700 pages */
static void fill(const char *data)
{
  char path[128], sql[1024];
  db_path(path, sizeof path, data);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  snprintf(sql, sizeof sql,
           "BEGIN;"
           "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i<%d-1)"
           " INSERT INTO c2c_msg(id,sdkappid,conv,seq,from_no,to_no,time_s,cseq,random,flags,life_s,body)"
           " SELECT i+1, 1400000001, i%%%d+10, i/%d+1, 1, 2, 1700000000+i*37%%50, i, i, CASE WHEN i%%5 THEN 32 ELSE 0 END,"
           " 0, printf('%%0300d', i) FROM n;"
           "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i<%d-1)"
           " INSERT INTO grp_msg(id,sdkappid,group_no,seq,from_no,time_s,random,flags,priority,body)"
           " SELECT i+1, 1400000001, i%%%d+1, i/%d+1, 1, 1700000000+i, i, CASE i*5%%8 WHEN 1 THEN 8 WHEN 2 THEN 1"
           " WHEN 4 THEN 9 WHEN 5 THEN 256 WHEN 6 THEN 1 WHEN 7 THEN 8 ELSE 0 END, 0,"
           " CASE WHEN i*5%%8 IN (2,6) AND i%%2 THEN '{\"MsgBody\":[]}' ELSE printf('{\"MsgBody\":\"%%0300d\"}', i) END FROM n;"
           "COMMIT;",
           MSGS, CONVS, CONVS, GMSGS, GROUPS, GROUPS);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void copy_store(const char *from, const char *to)
{
  char a[128], b[128], cmd[512];
  db_path(a, sizeof a, from);
  db_path(b, sizeof b, to);
  assert_int_equal(mkdir(to, 0700), 0);
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", a, b);
  assert_int_equal(system(cmd), 0);
}

/* one value of a query on db */
static int64_t value(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

static void quick_check(sqlite3 *db)
{
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
  sqlite3_finalize(q);
}

/* The database of data and that of other the same: version, schema, and every table's rows (counted, and
 * none of one missing from the other). */
static void assert_same(const char *data, const char *other)
{
  char path[128], sql[512];
  db_path(path, sizeof path, data);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  quick_check(db);
  db_path(path, sizeof path, other);
  snprintf(sql, sizeof sql, "ATTACH '%s' AS o", path);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(value(db, "PRAGMA main.user_version"), value(db, "PRAGMA o.user_version"));
  assert_int_equal(value(db, "SELECT count(*) FROM (SELECT type,name,tbl_name,sql FROM main.sqlite_schema EXCEPT"
                             " SELECT type,name,tbl_name,sql FROM o.sqlite_schema)"), 0);
  assert_int_equal(value(db, "SELECT count(*) FROM (SELECT type,name,tbl_name,sql FROM o.sqlite_schema EXCEPT"
                             " SELECT type,name,tbl_name,sql FROM main.sqlite_schema)"), 0);
  sqlite3_stmt *t;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM main.sqlite_schema WHERE type='table'", -1, &t, NULL), SQLITE_OK);
  int tables = 0;
  while (sqlite3_step(t) == SQLITE_ROW) {
    const char *n = (const char *)sqlite3_column_text(t, 0);
    snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM main.\"%s\") - (SELECT count(*) FROM o.\"%s\")", n, n);
    assert_int_equal(value(db, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT * FROM main.\"%s\" EXCEPT SELECT * FROM o.\"%s\")", n, n);
    assert_int_equal(value(db, sql), 0);
    tables++;
  }
  sqlite3_finalize(t);
  assert_true(tables > 30);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ---- the migrating child ---------------------------------------------------------------------------------- */
/* Upgrades data's database in a child as the store's open does, with a CACHE-page cache; its log into
 * data/log. Returns the child's wait status. */
static int upgrade_in_child(const char *data, int mode, const char *at)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char path[128];
    snprintf(path, sizeof path, "%s/log", data);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 2) != 2) _exit(3);
    imc_log_level = IMC_LOG_INFO;
    db_path(path, sizeof path, data);
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, sq__vfs_name()) != SQLITE_OK) _exit(4);
    char sql[256];
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                              " PRAGMA temp_store=MEMORY; PRAGMA cache_size=%d; PRAGMA wal_autocheckpoint=16384;", CACHE);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK || sq__content_fn(db)) _exit(5);
    sqlite3_trace_v2(db, SQLITE_TRACE_STMT, trace, NULL);
    kill_mode = mode;
    kill_at = at;
    int rc = sq__migrate(db);
    kill_mode = KILL_NONE;
    sqlite3_close(db);
    _exit(rc ? 6 : 0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static off_t wal_size(const char *data)
{
  char path[160];
  struct stat sb;
  snprintf(path, sizeof path, "%s/imcloud.db-wal", data);
  return stat(path, &sb) ? -1 : sb.st_size;
}

static void read_log(const char *data)
{
  char path[128];
  snprintf(path, sizeof path, "%s/log", data);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(logbuf, 1, sizeof logbuf - 1, f);
  logbuf[n] = 0;
  fclose(f);
}

/* ---- the cases -------------------------------------------------------------------------------------------- */
typedef struct kcase {
  const char *name;
  int mode;
  const char *at;     /* KILL_SPILL: the statement the kill falls in */
  int done;           /* the last script whose "schema migration" line the killed child logged */
} kcase_t;

static const kcase_t cases[] = {
  { "48", KILL_SPILL, "UPDATE c2c_msg SET run_lo", 47 },
  { "53", KILL_SPILL, "UPDATE grp_msg SET chg", 52 },
  { "54", KILL_SPILL, "UPDATE grp_msg SET chash", 53 },
  { "commit", KILL_COMMIT, NULL, 55 },
};

static int kill_setup(void **st)
{
  if (setup(st)) return -1;
  snprintf(old_dir, sizeof old_dir, "%s/old", dir);
  snprintf(ref_dir, sizeof ref_dir, "%s/ref", dir);
  make_at(old_dir, OLD);
  fill(old_dir);
  char path[128];
  db_path(path, sizeof path, old_dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(value(db, "PRAGMA page_size"), PAGE);
  assert_true(value(db, "PRAGMA page_count") > 600);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
  /* the uninterrupted upgrade, as the server opens it */
  copy_store(old_dir, ref_dir);
  store_t *s;
  if (store_open(ref_dir, &s)) return -1;
  store_close(s);
  return 0;
}

static void test_killed_upgrade(void **st)
{
  const kcase_t *c = *st;
  char data[128], want[96];
  snprintf(data, sizeof data, "%s/kill-%s", dir, c->name);
  copy_store(old_dir, data);
  int status = upgrade_in_child(data, c->mode, c->at);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);
  /* where it was: the scripts it had finished, and frames of the transaction in the WAL */
  read_log(data);
  snprintf(want, sizeof want, "msg=\"schema migration\" version=%d ms=", c->done);
  assert_true(c->done == OLD || strstr(logbuf, want));
  snprintf(want, sizeof want, "msg=\"schema migration\" version=%d ms=", c->done + 1);
  assert_null(strstr(logbuf, want));
  assert_null(strstr(logbuf, "schema migrated"));
  off_t wal = wal_size(data);
  print_message("killed at %s: WAL %lld bytes, %d commit frames\n", c->name, (long long)wal, wal_commits(data));
  assert_true(wal > 32 + 4 * (PAGE + 24));
  if (c->mode == KILL_SPILL) {
    assert_int_equal(wal_commits(data), 0); /* the frames of an unfinished transaction only */
    assert_same(data, old_dir);             /* opened: at 47, every row as it was */
  } else {
    assert_int_equal(wal_commits(data), 1); /* the COMMIT's frame, not checkpointed */
    assert_same(data, ref_dir);             /* opened: upgraded */
  }
  /* the next start: the upgrade done (again), the same database as the uninterrupted one */
  store_t *s;
  assert_int_equal(store_open(data, &s), 0);
  assert_int_equal(user_version(store__sqlite_db(s)), sq__schema_version);
  store_close(s);
  assert_same(data, ref_dir);
}

/* the child with no kill: the small cache's upgrade spills and ends as the server's */
static void test_spilling_upgrade(void **st)
{
  (void)st;
  char data[128];
  snprintf(data, sizeof data, "%s/spill", dir);
  copy_store(old_dir, data);
  int status = upgrade_in_child(data, KILL_NONE, NULL);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  read_log(data);
  assert_non_null(strstr(logbuf, "schema migrated"));
  assert_same(data, ref_dir);
}

int main(void)
{
  base_vfs = sqlite3_vfs_find(NULL);
  killer = *base_vfs;
  killer.zName = "killer";
  killer.xOpen = kill_open;
  sqlite3_vfs_register(&killer, 1); /* the default: the store's VFS wraps it */
  imc_log_level = IMC_LOG_WARN;      /* the parent's opens: quiet */
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_spilling_upgrade),
    cmocka_unit_test_prestate(test_killed_upgrade, (void *)&cases[0]),
    cmocka_unit_test_prestate(test_killed_upgrade, (void *)&cases[1]),
    cmocka_unit_test_prestate(test_killed_upgrade, (void *)&cases[2]),
    cmocka_unit_test_prestate(test_killed_upgrade, (void *)&cases[3]),
  };
  return cmocka_run_group_tests(tests, kill_setup, teardown);
}
