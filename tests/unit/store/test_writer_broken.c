/* Unit tests for a failed database sync after a checkpoint's copy
 * (store_ckpt.h: db_sync_broke, store_db_keep_wal), injected with the fault
 * site db_sync (src/util/faultsim.h): the first database sync of each test
 * fails as EIO would. Checkpoints stop, writes are still acknowledged, and
 * the writer's stop leaves the WAL whole: no connection checkpoints at its
 * close. The test then plays the failure's worst case, every page the
 * failed copy wrote to the database file lost (the file put back as it was
 * before the writer started), and reopens: every acknowledged row is there,
 * read through the recovered WAL, and a checkpoint after the reopen copies
 * the whole WAL again (the database file alone then holds them all).
 * Without store_db_keep_wal the stop's last close checkpoints, syncs and
 * deletes the WAL, and the rows the lost pages held are gone. Once with
 * pinned rounds (the round thread's sync fails), once without (the split
 * blocking round's sync beside the next transaction fails). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "writer_test.h"

static int blob_run(store_t *s, void *arg)
{
  (void)arg;
  return store_exec(s, "INSERT INTO scratch(b) VALUES(randomblob(131072))"); /* 32 pages of data */
}

static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

/* The whole database file (*len bytes), malloc'ed. */
static char *db_read(size_t *len)
{
  char path[128];
  path_of(path, sizeof path, "imcloud.db");
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  struct stat sb;
  assert_int_equal(fstat(fd, &sb), 0);
  char *buf = malloc((size_t)sb.st_size);
  assert_non_null(buf);
  assert_int_equal(pread(fd, buf, (size_t)sb.st_size, 0), sb.st_size);
  close(fd);
  *len = (size_t)sb.st_size;
  return buf;
}

/* Put the database file back to buf: whatever was written to it since is lost. */
static void db_put_back(const char *buf, size_t len)
{
  char path[128];
  path_of(path, sizeof path, "imcloud.db");
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)len), 0);
  assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
  close(fd);
}

/* A fresh store's connection runs sql, which returns one text (or no) row: "ok" / the text expected. */
static void assert_sql_text(const char *sql, const char *want)
{
  store_t *s = NULL;
  sqlite3_stmt *st;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
  sqlite3_finalize(st);
  store_close(s);
}

/* A fresh store's connection checkpoints the whole WAL and truncates it. */
static void checkpoint_all(void)
{
  store_t *s = NULL;
  int log = -1, ckpt = -1;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sqlite3_wal_checkpoint_v2(store__sqlite_db(s), NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt),
                   SQLITE_OK);
  assert_int_equal(log, 0);
  store_close(s);
}

static void failed_db_sync_keeps_wal(int pinned)
{
  enum { N = 200, AFTER = 5 };
  make_scratch();
  size_t len;
  char *before = db_read(&len); /* what the file holds before any checkpoint of this writer */
  uv_loop_t loop;
  uv_loop_init(&loop);
  store_writer_t *w;
  assert_int_equal(store_writer_start(&loop, dir, 1000, &w), 0);
  store_writer_set_ckpt_pages(w, 64);
  store_writer_set_ckpt_pinned(w, pinned);
  static tjob_t jobs[N];
  store_ckpt_stats_t cs = { 0 };
  int acked = 0, after = 0;
  for (int i = 0; i < N && after < AFTER; i++) {
    jobs[i] = (tjob_t){ .job = { .run = blob_run, .done = tdone, .arg = &jobs[i] } };
    ndone = 0;
    assert_int_equal(store_writer_submit(w, &jobs[i].job), 0);
    while (!ndone) uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(jobs[i].done_rc, 0); /* acknowledged before and after the failure */
    acked++;
    store_writer_ckpt_stats(w, &cs);
    if (cs.db_sync_failed) after++;
  }
  assert_int_equal(after, AFTER);
  assert_int_equal(cs.db_sync_failed, 1);
  if (pinned) assert_true(cs.pinned >= 1);
  else assert_int_equal(cs.pinned, 0);
  uint64_t runs = cs.runs;
  stop(&loop, w);
  assert_true(runs >= 1);
  assert_true(file_size("imcloud.db-wal") > 0); /* the stop left it: no checkpoint at close */
  db_put_back(before, len);                     /* every page the copies wrote is lost */
  free(before);
  char want[32];
  snprintf(want, sizeof want, "%d", acked);
  assert_sql_text("SELECT count(*) FROM scratch", want); /* recovered from the WAL */
  assert_sql_text("PRAGMA integrity_check", "ok");
  /* the recovery counts nothing as copied: a checkpoint copies every frame, and the file alone holds the rows */
  checkpoint_all();
  assert_int_equal(file_size("imcloud.db-wal"), 0);
  assert_sql_text("SELECT count(*) FROM scratch", want);
  assert_sql_text("PRAGMA integrity_check", "ok");
}

static void test_pinned_round_sync_fails(void **st)
{
  (void)st;
  failed_db_sync_keeps_wal(1);
}

static void test_final_sync_fails(void **st)
{
  (void)st;
  failed_db_sync_keeps_wal(0);
}

int main(void)
{
  /* the first database sync of each test fails: each test's failure stops its checkpoints (no second call) */
  setenv("IMCLOUD_TEST_FAIL", "db_sync:1,db_sync:2", 1);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_pinned_round_sync_fails, setup, teardown),
    cmocka_unit_test_setup_teardown(test_final_sync_fails, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
