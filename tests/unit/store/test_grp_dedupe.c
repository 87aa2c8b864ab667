/* The group send dedupe by the original content's hash (store_grp_msg_append; grp_msg.chash and the index
 * grp_msg_dedupe, migration 54; docs/decisions/groups-messages.md §18): a modification keeps the hash of the
 * content the message was sent with; a clock stepped back between two sends of one Random loses no resend
 * (the walk reads one sender's messages of one Random and content, whose times rise along seq); a deleted
 * message's placeholder is no original. Migration 54 on a store of schema 53 hashes the rows stored before
 * (a message modified before: its new content), moves the index and adds c2c_msg.orig_hash (NULL). The store
 * is used directly (no writer thread). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/sqlite_int.h"
#include "store/store.h"
#include "store/store_grp.h"
#include "tmpdir.h"

#define APP 1400000011u

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "grpdup");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

/* A send of text (its body {"MsgBody":["text"]}) with Random 0 from user `from` to group 1 at time t, deduped
 * from since (0: no dedupe); its seq, and *dup (may be NULL). */
static uint32_t send(store_t *s, uint32_t from, const char *text, int64_t t, int64_t since, int *dup)
{
  char body[64];
  int n = snprintf(body, sizeof body, "{\"MsgBody\":[\"%s\"]}", text), d;
  store_grp_msg_t m = { .sdkappid = APP, .group_no = 1, .from_no = from, .time_s = t, .random = 0,
                        .body = body, .body_len = (size_t)n };
  assert_int_equal(store_grp_msg_append(s, &m, since, &d), 0);
  if (dup) *dup = d;
  return m.seq;
}

static void modify(store_t *s, uint32_t seq, const char *text)
{
  char body[64];
  int n = snprintf(body, sizeof body, "{\"MsgBody\":[\"%s\"]}", text);
  assert_int_equal(store_grp_msg_set_body(s, APP, 1, seq, body, (size_t)n), 0);
}

static int64_t count(store_t *s, const char *sql)
{
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static store_t *open_at(const char *name)
{
  char data[96];
  store_t *s;
  snprintf(data, sizeof data, "%s/%s", dir, name);
  assert_int_equal(mkdir(data, 0700), 0);
  assert_int_equal(store_open(data, &s), 0);
  return s;
}

/* A modification keeps the original content's hash: a resend of the original is the message, the modified
 * content is another; after a clock stepped back the walk still reaches the original. */
/* store_grp_msg_del_sender's rows: not looked at here */
static void deleted(void *ud, const store_grp_msg_t *m)
{
  (void)ud;
  (void)m;
}

static void test_modify_and_clock_back(void **st)
{
  (void)st;
  store_t *s = open_at("a");
  int dup;
  assert_int_equal(send(s, 4, "a", 1000, 0, NULL), 1);
  modify(s, 1, "a2");
  assert_int_equal(send(s, 4, "a", 1010, 710, &dup), 1); /* a new message before §18 */
  assert_true(dup);
  assert_int_equal(send(s, 4, "a2", 1010, 710, &dup), 2); /* the new content was never sent */
  assert_false(dup);
  /* the clock stepped back from 1030 to 100: "d" sent then, and 400 s later a retry of "c" (1030, within the
   * window of 500): before §18 the walk over the Random's messages stopped at "d" (100) and stored it again */
  assert_int_equal(send(s, 4, "c", 1030, 730, NULL), 3);
  assert_int_equal(send(s, 4, "d", 100, -200, &dup), 4);
  assert_false(dup);
  assert_int_equal(send(s, 4, "c", 500, 200, &dup), 3);
  assert_true(dup);
  assert_int_equal(send(s, 5, "c", 500, 200, &dup), 5); /* another sender's own message */
  assert_false(dup);
  /* a deleted message's placeholder is no original (groups-messages.md §19: every deleted message is one) */
  assert_int_equal(store_grp_msg_del_sender(s, APP, 1, 5, 0, UINT32_MAX, 1000, deleted, NULL), 0);
  assert_int_equal(send(s, 5, "c", 501, 201, &dup), 6);
  assert_false(dup);
  store_close(s);
}

/* Migration 54 on a store of schema 53. */
static void test_upgrade_hashes_old_rows(void **st)
{
  (void)st;
  store_t *s = open_at("b");
  int dup;
  assert_int_equal(send(s, 4, "a", 1000, 0, NULL), 1);
  assert_int_equal(send(s, 4, "b", 1001, 0, NULL), 2);
  assert_int_equal(send(s, 9, "c", 1002, 0, NULL), 3);
  modify(s, 1, "a2");
  assert_int_equal(store_grp_msg_del_sender(s, APP, 1, 9, 0, UINT32_MAX, 1000, deleted, NULL), 0); /* 3: a placeholder */
  assert_int_equal(store_exec(s, "DROP INDEX grp_msg_dedupe; ALTER TABLE grp_msg DROP COLUMN chash;"
                                 " CREATE INDEX grp_msg_random ON grp_msg(sdkappid, group_no, random);"
                                 " ALTER TABLE c2c_msg DROP COLUMN orig_hash; PRAGMA user_version=53"), 0);
  store_close(s);
  char data[96];
  snprintf(data, sizeof data, "%s/b", dir);
  assert_int_equal(store_open(data, &s), 0);
  assert_int_equal(count(s, "SELECT count(*) FROM grp_msg WHERE chash IS imc_content_hash(body)"), 2);
  assert_int_equal(count(s, "SELECT count(*) FROM grp_msg WHERE seq=3 AND chash IS NULL"), 1);
  assert_int_equal(count(s, "SELECT count(*) FROM sqlite_master WHERE name='grp_msg_dedupe'"), 1);
  assert_int_equal(count(s, "SELECT count(*) FROM sqlite_master WHERE name='grp_msg_random'"), 0);
  assert_int_equal(count(s, "SELECT count(orig_hash) FROM c2c_msg"), 0);
  assert_int_equal(send(s, 4, "b", 1100, 800, &dup), 2);
  assert_true(dup);
  assert_int_equal(send(s, 4, "a2", 1100, 800, &dup), 1); /* modified before: its new content's hash */
  assert_true(dup);
  assert_int_equal(send(s, 9, "c", 1100, 800, &dup), 4);
  assert_false(dup);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_modify_and_clock_back),
                                      cmocka_unit_test(test_upgrade_hashes_old_rows) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
