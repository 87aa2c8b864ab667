/* Changes of stored group messages (store_grp.h store_grp_msg_change / _changes / _last_change, migration 53;
 * docs/decisions/groups-messages.md §17): each change takes its group's next number, stamped on the message
 * (a message changed again keeps only its last); the read returns the changed messages in change order, up to
 * a seq, within retention, as a member sees the group; the retention purge deletes a change with its message
 * and never lowers the counter; a dissolution deletes the counter (a new group of the number starts over).
 * Migration 53 on a store of schema 52 numbers the messages recalled or modified before, in seq order per
 * group, placeholders of deleted messages excepted. delete_group_msg_by_sender numbers each message it deletes
 * (§19). The store is used directly (no writer thread). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/sqlite_int.h"
#include "store/store.h"
#include "store/store_grp.h"
#include "tmpdir.h"
#include "store_tmpl.h"
#include "util/err.h"

#define APP 1400000009u

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "grpchg");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static uint32_t append(store_t *s, uint32_t gno, uint32_t from, int64_t t, const uint32_t *to, size_t n_to)
{
  store_grp_msg_t m = { .sdkappid = APP, .group_no = gno, .from_no = from, .time_s = t, .random = (uint32_t)t,
                        .body = "{\"MsgBody\":[1]}", .body_len = 15, .flags = n_to ? STORE_GMSG_TARGETED : 0,
                        .to = to, .n_to = n_to };
  int dup;
  assert_int_equal(store_grp_msg_append(s, &m, 0, &dup), 0);
  return m.seq;
}

static uint32_t change(store_t *s, uint32_t gno, uint32_t seq)
{
  uint32_t c = 0;
  assert_int_equal(store_grp_msg_change(s, APP, gno, seq, &c), 0);
  return c;
}

/* "seq@change" of the rows read, joined by "," */
static char got[512];
static void row(void *ud, const store_grp_msg_t *m)
{
  (void)ud;
  snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u@%u", got[0] ? "," : "", m->seq, m->change);
}

static const char *changes(store_t *s, uint32_t gno, uint32_t after, uint32_t upto, int64_t since, int limit,
                           uint32_t viewer)
{
  got[0] = 0;
  assert_int_equal(store_grp_msg_changes(s, APP, gno, after, upto, since, limit, viewer, row, NULL), 0);
  return got;
}

/* store_grp_msg_del_sender's rows, as "seq@change" */
static const char *del_sender(store_t *s, uint32_t gno, uint32_t from, uint32_t after, uint32_t upto, int limit)
{
  got[0] = 0;
  assert_int_equal(store_grp_msg_del_sender(s, APP, gno, from, after, upto, limit, row, NULL), 0);
  return got;
}

static const char *history(store_t *s, uint32_t gno, uint32_t viewer)
{
  got[0] = 0;
  assert_int_equal(store_grp_msg_history_as(s, APP, gno, 0, 0, 0, 0, 100, viewer, row, NULL), 0);
  return got;
}

static uint32_t last_change(store_t *s, uint32_t gno)
{
  uint32_t c = 99;
  assert_int_equal(store_grp_msg_last_change(s, APP, gno, &c), 0);
  return c;
}

static void test_numbers_reads_purge_dissolve(void **st)
{
  (void)st;
  store_t *s;
  char data[96];
  snprintf(data, sizeof data, "%s/a", dir);
  assert_int_equal(mkdir(data, 0700), 0);
  assert_int_equal(test_store_open(data, &s), 0);
  store_grp_t g = { .sdkappid = APP, .group_no = 1, .group_id = "g1", .info = "{}", .created_s = 100 };
  assert_int_equal(store_grp_put(s, &g), 0);
  const uint32_t to5[] = { 5 };
  for (int i = 1; i <= 5; i++) append(s, 1, 4, 100 * i, i == 4 ? to5 : NULL, i == 4); /* seq 4: to user 5 */
  append(s, 2, 4, 100, NULL, 0);
  assert_int_equal(last_change(s, 1), 0);
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 0), "");
  assert_int_equal(change(s, 1, 2), 1);
  assert_int_equal(change(s, 1, 3), 2);
  assert_int_equal(change(s, 1, 2), 3); /* seq 2 again: its last change */
  assert_int_equal(change(s, 1, 4), 4);
  assert_int_equal(change(s, 1, 1), 5);
  assert_int_equal(change(s, 2, 1), 1); /* per group */
  uint32_t c = 0;
  assert_int_equal(store_grp_msg_change(s, APP, 1, 77, &c), IMC_E_NOTFOUND);
  assert_int_equal(last_change(s, 1), 5); /* no such message: nothing counted */
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 0), "3@2,2@3,4@4,1@5");
  assert_string_equal(changes(s, 1, 2, 100, 0, 100, 0), "2@3,4@4,1@5");
  assert_string_equal(changes(s, 1, 0, 2, 0, 100, 0), "2@3,1@5");         /* up to seq 2 */
  assert_string_equal(changes(s, 1, 0, 100, 0, 2, 0), "3@2,2@3");         /* limit */
  assert_string_equal(changes(s, 1, 0, 100, 250, 100, 0), "3@2,4@4");     /* within retention */
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 6), "3@2,2@3,1@5");   /* user 6 does not see seq 4 */
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 5), "3@2,2@3,4@4,1@5"); /* its recipient does */
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 4), "3@2,2@3,4@4,1@5"); /* its sender too */
  /* the purge deletes the changes of the messages it deletes, never the counter */
  int64_t n;
  assert_int_equal(store_grp_msg_purge(s, APP, 250, 100, &n), 0);
  assert_int_equal(n, 3); /* seqs 1, 2 and the other group's */
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 0), "3@2,4@4");
  assert_int_equal(change(s, 1, 5), 6);
  /* a dissolution deletes the counter: the group number starts over */
  assert_int_equal(store_grp_del(s, APP, 1), 0);
  assert_int_equal(last_change(s, 1), 0);
  assert_int_equal(store_grp_put(s, &g), 0);
  uint32_t seq = append(s, 1, 4, 1000, NULL, 0);
  assert_int_equal(change(s, 1, seq), 1);
  store_close(s);
}

/* delete_group_msg_by_sender (§19): each message deleted takes the group's next number, in seq order, a
 * step at most limit of (after, upto]; the placeholders come in the changes read (a targeted one to its
 * recipients and sender only), never in history; a message deleted already is not deleted again. */
static void test_del_sender_numbers(void **st)
{
  (void)st;
  store_t *s;
  char data[96];
  snprintf(data, sizeof data, "%s/c", dir);
  assert_int_equal(mkdir(data, 0700), 0);
  assert_int_equal(test_store_open(data, &s), 0);
  store_grp_t g = { .sdkappid = APP, .group_no = 1, .group_id = "g1", .info = "{}", .created_s = 100 };
  assert_int_equal(store_grp_put(s, &g), 0);
  const uint32_t to5[] = { 5 };
  for (int i = 1; i <= 7; i++) append(s, 1, i % 2 ? 9 : 4, 100 * i, i == 5 ? to5 : NULL, i == 5); /* 9: 1 3 5 7 */
  assert_int_equal(change(s, 1, 2), 1);
  assert_int_equal(change(s, 1, 3), 2);
  assert_string_equal(del_sender(s, 1, 9, 0, 7, 2), "1@3,3@4");     /* a step of 2; seq 3 changed again */
  assert_int_equal(last_change(s, 1), 4);
  assert_string_equal(del_sender(s, 1, 9, 0, 4, 100), "");          /* done already: nothing, no number */
  assert_int_equal(last_change(s, 1), 4);
  assert_string_equal(del_sender(s, 1, 9, 3, 6, 100), "5@5");       /* (3, 6]: seq 7 is not in it */
  assert_string_equal(history(s, 1, 0), "2@1,4@0,6@0,7@0");
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 0), "2@1,1@3,3@4,5@5");
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 6), "2@1,1@3,3@4");  /* seq 5 was to user 5 */
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 5), "2@1,1@3,3@4,5@5");
  assert_string_equal(del_sender(s, 1, 9, 5, 7, 100), "7@6");
  assert_string_equal(history(s, 1, 0), "2@1,4@0,6@0");
  uint32_t seq = 0;
  assert_int_equal(store_grp_msg_last_seq(s, APP, 1, &seq), 0);
  assert_int_equal(seq, 7);
  int64_t n = 0;
  assert_int_equal(store_grp_msg_unread(s, APP, 1, 4, 0, UINT32_MAX, 0, &n), 0);
  assert_int_equal(n, 0); /* user 4's own are left: nothing unread of a placeholder */
  assert_int_equal(store_grp_msg_change(s, APP, 1, 2, &seq), 0);
  assert_int_equal(seq, 7); /* the counter goes on */
  store_close(s);
}

/* Migration 53 on a store of schema 52: the recalled or modified messages numbered in seq order per group. */
static void test_upgrade_numbers_old_changes(void **st)
{
  (void)st;
  store_t *s;
  char data[96];
  snprintf(data, sizeof data, "%s/b", dir);
  assert_int_equal(mkdir(data, 0700), 0);
  assert_int_equal(test_store_open(data, &s), 0);
  for (int i = 1; i <= 6; i++) append(s, 1, i == 6 ? 9 : 4, 100 * i, NULL, 0); /* seq 6 from user 9 */
  for (int i = 1; i <= 2; i++) append(s, 2, 4, 100 * i, NULL, 0);
  assert_int_equal(store_grp_msg_set_flags(s, APP, 1, 5, STORE_GMSG_RECALLED), 0);
  assert_int_equal(store_grp_msg_set_body(s, APP, 1, 2, "{\"MsgBody\":[2]}", 15), 0);
  assert_int_equal(store_grp_msg_set_flags(s, APP, 2, 2, STORE_GMSG_RECALLED), 0);
  /* user 9's only message is the group's last: deleted, it stays as a placeholder (no read returns it) */
  assert_string_equal(del_sender(s, 1, 9, 0, 100, 100), "6@1");
  assert_int_equal(store_exec(s, "DROP INDEX grp_msg_chg; ALTER TABLE grp_msg DROP COLUMN chg; DROP TABLE grp_chg; DROP INDEX grp_msg_dedupe; ALTER TABLE grp_msg DROP COLUMN chash;"
  " CREATE INDEX grp_msg_random ON grp_msg(sdkappid, group_no, random); ALTER TABLE c2c_msg DROP COLUMN orig_hash; DROP TABLE c2c_trimmed;"
                                 " PRAGMA user_version=52"), 0);
  store_close(s);
  assert_int_equal(test_store_open(data, &s), 0);
  assert_string_equal(changes(s, 1, 0, 100, 0, 100, 0), "2@1,5@2");
  assert_int_equal(last_change(s, 1), 2);
  assert_string_equal(changes(s, 2, 0, 100, 0, 100, 0), "2@1");
  assert_int_equal(last_change(s, 2), 1);
  assert_int_equal(change(s, 1, 3), 3); /* the counter goes on */
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_numbers_reads_purge_dissolve),
                                      cmocka_unit_test(test_upgrade_numbers_old_changes),
                                      cmocka_unit_test(test_del_sender_numbers) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
