/* Unit tests for src/store: migrations, every operation, the writer thread's
 * group commit and per-job rollback, durability across reopen, change
 * detection from a second connection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <string.h>
#include <uv.h>

#include "store/store.h"
#include "store/store_grp.h"
#include "store/store_writer.h"
#include "util/err.h"
#include "tmpdir.h"

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "store");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static uint32_t make_app(store_t *s, int64_t cust)
{
  store_app_t a = { 0 };
  assert_int_equal(store_app_next_sdkappid(s, &a.sdkappid), 0);
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, "s2022"); strcpy(a.edition, "trial");
  a.created_at_s = 1700000000;
  a.n_admins = 2; strcpy(a.admins[0], "administrator"); strcpy(a.admins[1], "ops,with\"quote");
  assert_int_equal(store_app_insert(s, &a), 0);
  return a.sdkappid;
}

static void test_operations(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(store_open(dir, &s), 0);
  char buf[64];
  assert_int_equal(store_meta_get(s, "k", buf, sizeof buf), IMC_E_NOTFOUND);
  assert_int_equal(store_meta_set(s, "k", "v1"), 0);
  assert_int_equal(store_meta_set(s, "k", "v2"), 0);
  assert_int_equal(store_meta_get(s, "k", buf, sizeof buf), 0);
  assert_string_equal(buf, "v2");
  assert_int_equal(store_meta_get(s, "k", buf, 2), IMC_E_TOOBIG);
  int64_t cust, first;
  assert_int_equal(store_customer_create(s, "acme", 100, &cust), 0);
  assert_int_equal(store_customer_first_app_created(s, cust, &first), 0);
  assert_true(first == INT64_MAX);
  uint32_t app = make_app(s, cust);
  assert_int_equal(app, 1400000001);
  assert_int_equal(make_app(s, cust), 1400000002);
  assert_int_equal(store_customer_first_app_created(s, cust, &first), 0);
  assert_int_equal(first, 1700000000);
  store_app_t a;
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_int_equal(a.n_admins, 2);
  assert_string_equal(a.admins[1], "ops,with\"quote");
  assert_string_equal(a.status, "active");
  assert_int_equal(store_app_insert(s, &a), IMC_E_EXISTS);
  assert_int_equal(store_app_set(s, app, "status", "suspended"), 0);
  assert_int_equal(store_app_set(s, app, "bogus", "x"), IMC_E_INVAL);
  assert_int_equal(store_app_set(s, 1, "status", "x"), IMC_E_NOTFOUND);
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_string_equal(a.status, "suspended");
  assert_int_equal(store_app_get(s, 5, &a), IMC_E_NOTFOUND);
  /* accounts: dense numbers, idempotent import, never reused */
  uint32_t no;
  assert_int_equal(store_account_import(s, app, "alice", "A", NULL, 1, &no), 0); assert_int_equal(no, 1);
  assert_int_equal(store_account_import(s, app, "bob", NULL, NULL, 1, &no), 0); assert_int_equal(no, 2);
  assert_int_equal(store_account_import(s, app, "alice", NULL, "f", 2, &no), 0); assert_int_equal(no, 1);
  assert_int_equal(store_account_import(s, 1400000002, "alice", NULL, NULL, 1, &no), 0); assert_int_equal(no, 1);
  assert_int_equal(store_account_import(s, 999, "x", NULL, NULL, 1, &no), IMC_E_NOTFOUND);
  assert_int_equal(store_account_delete(s, app, "bob"), 0);
  assert_int_equal(store_account_delete(s, app, "bob"), IMC_E_NOTFOUND);
  assert_int_equal(store_account_get(s, app, "bob", &no), IMC_E_NOTFOUND);
  assert_int_equal(store_account_import(s, app, "bob", NULL, NULL, 3, &no), 0); assert_int_equal(no, 3);
  int64_t n;
  assert_int_equal(store_account_count(s, app, &n), 0); assert_int_equal(n, 2);
  /* usage: idempotent per (app, day, user) */
  assert_int_equal(store_usage_login(s, app, 20261123, 1), 0);
  assert_int_equal(store_usage_login(s, app, 20261123, 1), 0);
  assert_int_equal(store_usage_login(s, app, 20261123, 3), 0);
  assert_int_equal(store_usage_login(s, app, 20261124, 1), 0);
  assert_int_equal(store_usage_dau(s, app, 20261123, &n), 0); assert_int_equal(n, 2);
  assert_int_equal(store_usage_dau(s, app, 20261124, &n), 0); assert_int_equal(n, 1);
  /* a second connection's commit changes data_version */
  uint64_t v1, v2;
  store_t *s2;
  assert_int_equal(store_open(dir, &s2), 0);
  assert_int_equal(store_data_version(s, &v1), 0);
  assert_int_equal(store_meta_set(s2, "other", "1"), 0);
  assert_int_equal(store_data_version(s, &v2), 0);
  assert_true(v1 != v2);
  store_close(s2);
  store_close(s);
  /* durable across reopen */
  assert_int_equal(store_open(dir, &s), 0);
  assert_int_equal(store_account_get(s, app, "alice", &no), 0);
  assert_int_equal(no, 1);
  store_close(s);
}

typedef struct wjob { store_job_t job; int fail; int done_rc; int *done_count; uint32_t app; int i; } wjob_t;

static int wrun(store_t *s, void *arg)
{
  wjob_t *j = arg;
  char uid[32];
  uint32_t no;
  snprintf(uid, sizeof uid, "w%d", j->i);
  int rc = store_account_import(s, j->app, uid, NULL, NULL, 1, &no);
  return rc ? rc : j->fail ? IMC_E_INVAL : 0;
}

static void wdone(void *arg, int rc)
{
  wjob_t *j = arg;
  j->done_rc = rc;
  (*j->done_count)++;
}

static int stopped_flag;
static void on_stopped(void *arg) { (void)arg; stopped_flag = 1; }

/* An app row's admins column, read with jsonr or (when jsonr cannot
 * decide) jansson: the same admins either way — the first STORE_ADMINS_MAX
 * strings, each cut to 32 bytes, other values skipped; a column that is not
 * an array gives none. */
static void test_app_admins_read(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(store_open(dir, &s), 0);
  int64_t cust;
  assert_int_equal(store_customer_create(s, "admins", 100, &cust), 0);
  uint32_t app = make_app(s, cust);
  static const struct { const char *col; int n; const char *first, *last; } rows[] = {
    { "[\"a\\u00e9\\n\", 1, [\"x\"], {\"k\":\"y\"}, \"b\"]", 2, "a\xc3\xa9\n", "b" },
    /* 12 strings: the first 10 kept */
    { "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\"]", 10, "1", "10" },
    /* 50 values: more than jsonr's tokens here, jansson reads them */
    { "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\"p\",\"q\"]",
      2, "p", "q" },
    { "{\"a\":\"b\"}", 0, NULL, NULL },
    { "\"a\"", 0, NULL, NULL },
    { "[\"a\",", 0, NULL, NULL },
  };
  char sql[512];
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char *q = sqlite3_mprintf("UPDATE apps SET admins=%Q WHERE sdkappid=%u", rows[i].col, app);
    snprintf(sql, sizeof sql, "%s", q);
    sqlite3_free(q);
    assert_int_equal(store_exec(s, sql), 0);
    store_app_t a;
    assert_int_equal(store_app_get(s, app, &a), 0);
    assert_int_equal(a.n_admins, rows[i].n);
    if (!rows[i].n) continue;
    assert_string_equal(a.admins[0], rows[i].first);
    assert_string_equal(a.admins[a.n_admins - 1], rows[i].last);
  }
  /* a long string (300 bytes: jansson's path) and a 40-byte one (jsonr's): both cut to 32 */
  char col[400] = "[\"", *p = col + 2;
  for (int i = 0; i < 300; i++) *p++ = (char)('a' + i % 26);
  strcpy(p, "\"]");
  char *q = sqlite3_mprintf("UPDATE apps SET admins=%Q WHERE sdkappid=%u", col, app);
  assert_int_equal(store_exec(s, q), 0);
  sqlite3_free(q);
  store_app_t a;
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_int_equal(a.n_admins, 1);
  assert_int_equal(strlen(a.admins[0]), 32);
  assert_memory_equal(a.admins[0], col + 2, 32);
  col[2 + 40] = 0;
  strcat(col, "\"]");
  q = sqlite3_mprintf("UPDATE apps SET admins=%Q WHERE sdkappid=%u", col, app);
  assert_int_equal(store_exec(s, q), 0);
  sqlite3_free(q);
  assert_int_equal(store_app_get(s, app, &a), 0);
  assert_int_equal(a.n_admins, 1);
  assert_int_equal(strlen(a.admins[0]), 32);
  assert_memory_equal(a.admins[0], col + 2, 32);
  store_close(s);
}

static void test_writer(void **st)
{
  (void)st;
  store_t *s;
  int64_t cust;
  assert_int_equal(store_open(dir, &s), 0);
  assert_int_equal(store_customer_create(s, "w", 1, &cust), 0);
  uint32_t app = make_app(s, cust);
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 4096, &w), 0);
  enum { N = 2000 };
  static wjob_t jobs[N];
  int count = 0;
  for (int i = 0; i < N; i++) {
    jobs[i] = (wjob_t){ .job = { .run = wrun, .done = wdone, .arg = &jobs[i] }, .fail = i % 7 == 3, .done_count = &count, .app = app, .i = i };
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
  }
  while (count < N) uv_run(&loop, UV_RUN_ONCE);
  store_writer_stats_t stats;
  store_writer_stats(w, &stats);
  print_message("writer: %llu jobs in %llu batches\n", (unsigned long long)stats.jobs, (unsigned long long)stats.batches);
  assert_true(stats.batches < N); /* group commit happened */
  store_writer_stop(w, on_stopped, NULL);
  while (!stopped_flag) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(uv_loop_close(&loop), 0);
  int64_t n;
  assert_int_equal(store_account_count(s, app, &n), 0);
  int expect = 0;
  for (int i = 0; i < N; i++) {
    assert_int_equal(jobs[i].done_rc, jobs[i].fail ? IMC_E_INVAL : 0);
    if (!jobs[i].fail) expect++;
  }
  assert_int_equal(n, expect); /* failed jobs rolled back alone */
  uint32_t no;
  assert_int_equal(store_account_get(s, app, "w3", &no), IMC_E_NOTFOUND);
  assert_int_equal(store_account_get(s, app, "w4", &no), 0);
  store_close(s);
}

static void msg_at(store_t *s, uint32_t app, uint32_t gno, uint32_t from, int64_t t, uint32_t want_seq)
{
  store_grp_msg_t m = { .sdkappid = app, .group_no = gno, .from_no = from, .time_s = t, .random = (uint32_t)t,
                        .body = "{}", .body_len = 2 };
  int dup;
  assert_int_equal(store_grp_msg_append(s, &m, 0, &dup), 0);
  assert_int_equal(m.seq, want_seq);
}

static int expired(store_t *s, uint32_t app, uint32_t gno, uint32_t seq, int64_t since)
{
  int e = -1;
  assert_int_equal(store_grp_msg_expired(s, app, gno, seq, since, &e), 0);
  return e;
}

static void count_row(void *ud, const store_grp_msg_t *m)
{
  (void)m;
  (*(int64_t *)ud)++;
}

/* The retention purge's mark: a group whose every message was purged goes
 * on from its last seq; "expired" tells purged or old from deleted by sender;
 * dissolving forgets the mark. */
static void test_grp_purge_mark(void **st)
{
  (void)st;
  store_t *s;
  uint32_t seq;
  int64_t n;
  assert_int_equal(store_open(dir, &s), 0);
  store_grp_t g = { .sdkappid = 7, .group_no = 1, .group_id = "g1", .info = "{}", .created_s = 100 };
  assert_int_equal(store_grp_put(s, &g), 0);
  for (uint32_t i = 1; i <= 4; i++) msg_at(s, 7, 1, i == 3 ? 9 : 8, 100 * i, i); /* seq 3 from user 9 */
  msg_at(s, 7, 2, 8, 50, 1);                                                    /* another group */
  assert_int_equal(expired(s, 7, 1, 2, 250), 1);   /* stored, older than since */
  assert_int_equal(expired(s, 7, 1, 3, 250), 0);
  n = 0;
  assert_int_equal(store_grp_msg_del_sender(s, 7, 1, 9, 0, UINT32_MAX, 100, count_row, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(expired(s, 7, 1, 3, 250), 0);   /* deleted by its sender: not expired */
  /* purge in chunks of 1 below t=250: seqs 1, 2 and the other group's 1 */
  int64_t total = 0;
  do { assert_int_equal(store_grp_msg_purge(s, 7, 250, 1, &n), 0); total += n; } while (n == 1);
  assert_int_equal(total, 3);
  assert_int_equal(expired(s, 7, 1, 2, 0), 1);     /* at or below the mark: expired whatever since says */
  assert_int_equal(expired(s, 7, 1, 1, 0), 1);
  assert_int_equal(expired(s, 7, 1, 3, 0), 0);
  /* every message of the group purged: the sequence goes on */
  assert_int_equal(store_grp_msg_purge(s, 7, 1000, 100, &n), 0);
  assert_int_equal(n, 2);                          /* seq 4 and seq 3's placeholder (deleted by its sender) */
  assert_int_equal(store_grp_msg_last_seq(s, 7, 1, &seq), 0);
  assert_int_equal(seq, 4);
  msg_at(s, 7, 1, 8, 2000, 5);
  assert_int_equal(store_grp_msg_last_seq(s, 7, 2, &seq), 0);
  assert_int_equal(seq, 1);
  msg_at(s, 7, 2, 8, 2000, 2);
  /* dissolve forgets the mark (a group number may be used again after a restart) */
  assert_int_equal(store_grp_del(s, 7, 1), 0);
  assert_int_equal(store_grp_msg_last_seq(s, 7, 1, &seq), 0);
  assert_int_equal(seq, 0);
  assert_int_equal(expired(s, 7, 1, 2, 0), 0);
  store_close(s);
}

static int64_t rows_in(sqlite3 *db)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM spill", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* A transaction that rolls back to a savepoint after more dirty pages than
 * the page cache holds, then commits (the writer's batch with a failed job):
 * the commit must survive a crash. The files are copied as they stand while
 * the connection is open (what kill -9 leaves) and opened elsewhere, which
 * runs WAL recovery. With spilling allowed, SQLite 3.40 writes the
 * savepoint's pages into the WAL, and after the rollback the WAL's checksum
 * chain is broken: recovery drops the commit (and every later one). */
static void test_no_spill_loss(void **st)
{
  (void)st;
  char sub[128], copy[128], cmd[512], path[160];
  snprintf(sub, sizeof sub, "%s/spill", dir);
  snprintf(copy, sizeof copy, "%s/spill-copy", dir);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s'", sub, copy);
  assert_int_equal(system(cmd), 0);
  store_t *s;
  assert_int_equal(store_open(sub, &s), 0);
  assert_int_equal(store_exec(s, "CREATE TABLE spill(k INTEGER PRIMARY KEY, v BLOB NOT NULL); CREATE INDEX spill_v ON spill(v)"), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_exec(s, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<30000)"
                                 " INSERT INTO spill(v) SELECT randomblob(200) FROM c"), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_exec(s, "PRAGMA cache_size=5"), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_exec(s, "INSERT INTO spill(v) VALUES(randomblob(200))"), 0);
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(store_exec(s, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<3000)"
                                 " INSERT INTO spill(v) SELECT randomblob(200) FROM c"), 0);
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  snprintf(cmd, sizeof cmd, "cp '%s/imcloud.db' '%s/imcloud.db-wal' '%s/'", sub, sub, copy);
  assert_int_equal(system(cmd), 0);
  sqlite3 *db;
  snprintf(path, sizeof path, "%s/imcloud.db", copy);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(rows_in(db), 30001);
  sqlite3_close(db);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_operations), cmocka_unit_test(test_app_admins_read), cmocka_unit_test(test_writer),
                                      cmocka_unit_test(test_grp_purge_mark), cmocka_unit_test(test_no_spill_loss) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
