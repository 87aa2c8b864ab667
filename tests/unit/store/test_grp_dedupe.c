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
#include "step_count.h"
#include "tmpdir.h"
#include "store_tmpl.h"

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

/* An append of text (its body {"MsgBody":["text"]}) with Random 0 from user `from` (0: by name, the App admin
 * `name`) to group 1 at time t with flags, deduped from since (0: no dedupe); its seq, and *dup (may be NULL). */
static uint32_t append(store_t *s, uint32_t from, const char *name, const char *text, int64_t t, int64_t since,
                       uint32_t flags, int *dup)
{
  char body[64];
  int n = snprintf(body, sizeof body, "{\"MsgBody\":[\"%s\"]}", text), d;
  store_grp_msg_t m = { .sdkappid = APP, .group_no = 1, .from_no = from, .time_s = t, .random = 0, .flags = flags,
                        .body = body, .body_len = (size_t)n, .from_id = name };
  assert_int_equal(store_grp_msg_append(s, &m, since, &d), 0);
  if (dup) *dup = d;
  return m.seq;
}

/* A send of user `from` (append without flags). */
static uint32_t send(store_t *s, uint32_t from, const char *text, int64_t t, int64_t since, int *dup)
{
  return append(s, from, NULL, text, t, since, 0, dup);
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
  assert_int_equal(test_store_open(data, &s), 0);
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
                                 " ALTER TABLE c2c_msg DROP COLUMN orig_hash; DROP TABLE c2c_trimmed; PRAGMA user_version=53"), 0);
  store_close(s);
  char data[96];
  snprintf(data, sizeof data, "%s/b", dir);
  assert_int_equal(test_store_open(data, &s), 0);
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

/* An imported message is no send's original (§20): stored without a hash; a live send of its sender, Random and
 * content within the window is stored, and that send's resend is the send. One imported before §20 (its hash
 * written by migration 54) is passed as well. */
static void test_import_is_no_original(void **st)
{
  (void)st;
  store_t *s = open_at("c");
  int dup;
  assert_int_equal(append(s, 4, NULL, "a", 1000, 0, STORE_GMSG_IMPORTED, NULL), 1);
  assert_int_equal(count(s, "SELECT count(*) FROM grp_msg WHERE seq=1 AND chash IS NULL"), 1);
  assert_int_equal(send(s, 4, "a", 1010, 710, &dup), 2); /* answered with the import's seq 1 before §20 */
  assert_false(dup);
  assert_int_equal(send(s, 4, "a", 1020, 720, &dup), 2);
  assert_true(dup);
  assert_int_equal(append(s, 4, NULL, "b", 1030, 0, STORE_GMSG_IMPORTED, NULL), 3);
  assert_int_equal(store_exec(s, "UPDATE grp_msg SET chash=imc_content_hash(body) WHERE seq=3"), 0);
  assert_int_equal(send(s, 4, "b", 1040, 740, &dup), 4);
  assert_false(dup);
  store_close(s);
}

/* The dedupe statement's steps only. */
static int not_dedupe(const char *sql) { return strncmp(sql, "SELECT seq,time_s,flags&16,", 27) != 0; }

/* The steps of the dedupe of one append (its *dup into dup). */
static int64_t dedupe_steps(store_t *s, uint32_t from, const char *name, const char *text, int64_t t, int *dup)
{
  step_skip = not_dedupe;
  step_trace(s, 1);
  append(s, from, name, text, t, t - 300, 0, dup);
  step_trace(s, 0);
  return steps;
}

/* The walk is bounded whatever the key holds (§20): imports of the sender's Random and content are in no key
 * (before §20 each was read: their times follow no order, and these, older than the window, were no original
 * either: 3,924 steps after 300 of them, 50 after 2), and the App admin's messages by name (from_no 0)
 * end the walk as an account's do: the first of its name older than the window. A send's dedupe takes as many
 * steps after 300 such rows as after 2. */
static void test_walk_bounded(void **st)
{
  (void)st;
  store_t *s = open_at("d");
  int dup;
  int64_t few, many;
  for (int i = 0; i < 2; i++) append(s, 4, NULL, "i2", 600, 0, STORE_GMSG_IMPORTED, NULL);
  few = dedupe_steps(s, 4, NULL, "i2", 1010, &dup);
  assert_false(dup);
  for (int i = 0; i < 300; i++) append(s, 4, NULL, "i300", 600, 0, STORE_GMSG_IMPORTED, NULL);
  many = dedupe_steps(s, 4, NULL, "i300", 1010, &dup);
  assert_false(dup);
  assert_int_equal(many, few);
  int64_t t = 10000, fresh[2], again[2];
  static const char *const texts[2] = { "a2", "a300" };
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < (k ? 300 : 2); i++, t += 301) { /* each older than the window of the next: all stored */
      append(s, 0, "administrator", texts[k], t, t - 300, 0, &dup);
      assert_false(dup);
    }
    fresh[k] = dedupe_steps(s, 0, "administrator", texts[k], t, &dup); /* a new message: the walk ends at once */
    assert_false(dup);
    again[k] = dedupe_steps(s, 0, "administrator", texts[k], t + 1, &dup); /* its resend: the original */
    assert_true(dup);
  }
  assert_true(fresh[0] > 0);
  assert_int_equal(fresh[1], fresh[0]);
  assert_int_equal(again[1], again[0]);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_modify_and_clock_back),
                                      cmocka_unit_test(test_upgrade_hashes_old_rows),
                                      cmocka_unit_test(test_import_is_no_original),
                                      cmocka_unit_test(test_walk_bounded) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
