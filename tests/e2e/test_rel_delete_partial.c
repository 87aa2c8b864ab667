/* End-to-end: one account_delete of [a, b] whose first item fails (its group
 * rows: a storage error, IMCLOUD_TEST_FAIL=account_groups:1) while the second
 * commits (decisions §116). Each item's relationship purge is a change set
 * applied in memory before the job (§96), the second one built on top of the
 * first; the first is then undone in memory and rolled back in storage,
 * while the second's write is durable.
 *
 * c, a friend of both, keeps a's friendship and a friend sequence that
 * matches storage: the sequence the second item committed is never set back
 * by the first item's undo, and the next change of c's friends gets a new
 * number (in memory and after a restart alike). This held before §116 too.
 *
 * Until §116 a row b held naming a (b's friendship with a) was removed from
 * memory by a's purge, so b's own purge did not name it: a's item rolled
 * back, b's deletion committed, and the row stayed in storage for good — a
 * relationship row of a deleted account, loaded again at every start.
 *
 * A row of another user naming b that an earlier item's purge removed (a's
 * friendship with b, c's row naming b in [b, b]) goes with b's write (§117);
 * since §119 its holder's change — the sequence bump and the event an
 * incremental sync returns — is written in the same transaction when that
 * earlier item rolled back, so a kill right after the reply leaves no device
 * behind, and delete_after's second purge does not announce it again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_damage.h"
#include "e2e_msg.h"
#include "e2e_rel.h"
#include "e2e_race.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)
#define expect_ok rel_expect_ok
#define befriend(x, y) rel_befriend(srv.port, app, key, x, y)
#define friends_of(user, out, cap) rel_friends_of(srv.port, app, key, user, out, cap)
#define blocked_by(user, out, cap) rel_blocked_by(srv.port, app, key, user, out, cap)

/* A server (args: more options, or NULL) whose first account_delete item's group step fails, with a, b, c, d; c a
 * friend of a and of b. */
static void start_with(const char *const *args)
{
  setenv("IMCLOUD_TEST_FAIL", "account_groups:1", 1);
  int rc = e2e_start(&srv, "singapore", &app, key, args);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
  import_users(srv.port, app, key, (const char *const[]){ "a", "b", "c", "d", NULL });
  befriend("c", "a");
  befriend("c", "b");
}

static void start(void) { start_with(NULL); }

/* COMMITs paced 100 ms apart: the write after a deletion's (delete_after's second purge) commits no sooner than
 * 100 ms after it, so a kill right after the deletion's reply lands before it (as test_crash_prop.c's). */
static const char *const paced[] = { "--writer-pace-us", "100000", "--rest-rate-limit", "100000", NULL };

static int stop(void **st)
{
  (void)st;
  return !srv.pid || e2e_finish(&srv) == 0 ? 0 : -1;
}

/* A fresh device of user synced from cursor until a page is complete (e2e_msg.h wsc_device_sync). */
#define sync_from(user, cursor, end) wsc_device_sync(srv.port, app, key, user, cursor, end)

/* The events of evs of type that name peer. */
static int count_peer(json_t *evs, const char *type, const char *peer)
{
  size_t i;
  json_t *e;
  int n = 0;
  json_array_foreach(evs, i, e) n += !strcmp(jstr(e, "type"), type) && !strcmp(jstr(e, "peer"), peer);
  return n;
}

/* The deletion of [a, b]: a's item fails (70500), b's commits. */
static void delete_a_b(void)
{
  json_t *r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"a\"},{\"UserID\":\"b\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *items = json_object_get(r, "ResultItem");
  assert_int_equal(jint(json_array_get(items, 0), "ResultCode"), 70500);
  assert_int_equal(jint(json_array_get(items, 1), "ResultCode"), 0);
  json_decref(r);
}

/* Stored relationship rows of the deleted account b (its number kept in accounts_gone). */
static long long rows_of_deleted_b(void)
{
  char q[256];
  snprintf(q, sizeof q, "SELECT count(*) FROM rel WHERE sdkappid=%u AND user_no IN (SELECT user_no FROM accounts_gone"
           " WHERE sdkappid=%u AND user_id='b')", app, app);
  return e2e_db_int(&srv, q);
}

/* c's friend sequence after the partial deletion, and after c's next change (d befriended), is what storage holds:
 * the same list and sequence after a restart; each change a new number. */
static void test_common_friend_sequence(void **st)
{
  (void)st;
  char list[128], again[128];
  start();
  long long seq0 = friends_of("c", list, sizeof list);
  assert_string_equal(list, "a,b,");
  delete_a_b();
  long long seq1 = friends_of("c", list, sizeof list);
  assert_string_equal(list, "a,"); /* a stayed, and so did its friendship */
  assert_true(seq1 > seq0);
  befriend("c", "d");
  long long seq2 = friends_of("c", list, sizeof list);
  assert_string_equal(list, "a,d,");
  assert_true(seq2 > seq1);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(friends_of("c", again, sizeof again), seq2);
  assert_string_equal(again, "a,d,");
  assert_int_equal(friends_of("a", again, sizeof again) > 0, 1);
  assert_string_equal(again, "c,");
}

/* a and b friends of each other too: after the partial deletion nothing of b is stored, now or after a restart; a's
 * friends are c only, and b imported again has none. On main b's friendship with a stayed stored. */
static void test_rows_naming_each_other(void **st)
{
  (void)st;
  char list[128];
  start();
  befriend("a", "b");
  delete_a_b();
  friends_of("a", list, sizeof list);
  assert_string_equal(list, "c,");
  assert_int_equal(rows_of_deleted_b(), 0);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(rows_of_deleted_b(), 0);
  friends_of("a", list, sizeof list);
  assert_string_equal(list, "c,");
  friends_of("c", list, sizeof list);
  assert_string_equal(list, "a,");
  /* b again: a new account with no relations */
  import_users(srv.port, app, key, (const char *const[]){ "b", NULL });
  friends_of("b", list, sizeof list);
  assert_string_equal(list, "");
}

/* b named twice: the first item fails, the second deletes b. Nothing of b is stored, now or after a restart, and c's
 * friends are a only. On main the second purge had nothing left in memory to name: all of b's rows stayed stored. */
static void test_same_account_twice(void **st)
{
  (void)st;
  char list[128];
  start();
  json_t *r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"},{\"UserID\":\"b\"}]}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 70500);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 1), "ResultCode"), 0);
  json_decref(r);
  friends_of("c", list, sizeof list);
  assert_string_equal(list, "a,");
  assert_int_equal(rows_of_deleted_b(), 0);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(rows_of_deleted_b(), 0);
  friends_of("c", list, sizeof list);
  assert_string_equal(list, "a,");
}

/* a and b friends: a's own row naming b (removed by a's purge as a's row, back in memory after a's item rolled
 * back) is deleted in b's write, with b's deletion, not only by the write after it (delete_after's second purge of
 * b). The server killed right after the reply, before that write (paced): after the restart a's friends are c only,
 * and b imported again is nobody's friend. Before §117 a's row naming b stayed stored, and the new b was a's
 * friend. */
static void test_row_naming_b_with_bs_write(void **st)
{
  (void)st;
  char list[128];
  start_with(paced);
  befriend("a", "b");
  delete_a_b();
  e2e_server_kill(&srv); /* right after the acknowledgement */
  assert_int_equal(e2e_server_start(&srv, paced), 0);
  friends_of("a", list, sizeof list);
  assert_string_equal(list, "c,");
  import_users(srv.port, app, key, (const char *const[]){ "b", NULL });
  friends_of("b", list, sizeof list);
  assert_string_equal(list, "");
  friends_of("a", list, sizeof list);
  assert_string_equal(list, "c,");
}

/* [b, b], the first item failing: c's row naming b, removed from memory by the first purge (and back after its
 * undo), goes with the second item's write. Killed right after the reply: c's friends are a only after the
 * restart. Before §117 c kept b until delete_after's second purge, so a kill before it kept it for good; before
 * §119 c's sequence and its friend_deleted were still left to that purge (a device of c synced from before kept
 * b). */
static void test_same_account_twice_killed(void **st)
{
  (void)st;
  char list[128];
  uint32_t cursor;
  start_with(paced);
  long long seq0 = friends_of("c", list, sizeof list);
  json_decref(sync_from("c", 0, &cursor));
  json_t *r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"},{\"UserID\":\"b\"}]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 1), "ResultCode"), 0);
  json_decref(r);
  e2e_server_kill(&srv);
  assert_int_equal(e2e_server_start(&srv, paced), 0);
  /* §119: c's change stored with the row's removal, with the sequence the second purge reserved (the first
   * purge's bump rolled back with it: a gap) */
  assert_int_equal(friends_of("c", list, sizeof list), seq0 + 2);
  assert_string_equal(list, "a,");
  assert_int_equal(rows_of_deleted_b(), 0);
  json_t *evs = sync_from("c", cursor, NULL);
  assert_int_equal(count_peer(evs, "friend_deleted", "b"), 1);
  json_decref(evs);
}

/* a and b friends; a device of a synced its friend list and events (sequence and cursor kept). [a, b] with a
 * failing, killed right after the reply (COMMITs paced, before delete_after's second purge): after the restart a's
 * friend sequence is past the device's and an incremental sync from its cursor returns b's friend_deleted — stored
 * with the commit that removed a's row naming b (§119). Before §119 the row was gone with no bump and no event: the
 * device kept b. */
static void test_device_of_a_learns_after_kill(void **st)
{
  (void)st;
  char list[128];
  uint32_t cursor;
  start_with(paced);
  befriend("a", "b");
  long long seq0 = friends_of("a", list, sizeof list);
  assert_string_equal(list, "b,c,");
  json_decref(sync_from("a", 0, &cursor));
  delete_a_b();
  e2e_server_kill(&srv); /* right after the acknowledgement */
  assert_int_equal(e2e_server_start(&srv, paced), 0);
  long long seq1 = friends_of("a", list, sizeof list);
  assert_string_equal(list, "c,");
  assert_int_equal(seq1, seq0 + 1);
  json_t *evs = sync_from("a", cursor, NULL);
  assert_int_equal(count_peer(evs, "friend_deleted", "b"), 1);
  json_decref(evs);
}

/* The same without a kill: a's live device gets b's friend_deleted once (a later change of a's friends, d added,
 * comes after anything delete_after's second purge would push), a's sequence grows by one, and after a restart the
 * sequence and the stored events are the same: nothing bumped or announced twice. */
static void test_no_kill_announced_once(void **st)
{
  (void)st;
  char list[128];
  uint32_t cursor;
  wsc_t d;
  start();
  befriend("a", "b");
  long long seq0 = friends_of("a", list, sizeof list);
  json_decref(sync_from("a", 0, &cursor));
  assert_int_equal(wsc_login(&d, srv.port, app, key, "a", "Web"), 0);
  json_decref(wsc_sync_live(&d));
  delete_a_b();
  assert_int_equal(friends_of("a", list, sizeof list), seq0 + 1);
  assert_string_equal(list, "c,");
  befriend("a", "d");
  json_t *live = json_array();
  for (;;) { /* the pushes up to d's friend_added */
    json_t *e = wsc_take(&d, match_push, NULL, 5000);
    if (!e) fail_msg("no friend_added push for d");
    int done = !strcmp(jstr(e, "type"), "friend_added") && !strcmp(jstr(e, "peer"), "d");
    json_array_append_new(live, e);
    if (done) break;
  }
  wsc_close(&d);
  assert_int_equal(count_peer(live, "friend_deleted", "b"), 1);
  json_decref(live);
  long long seq2 = friends_of("a", list, sizeof list);
  assert_int_equal(seq2, seq0 + 2); /* b's removal, d's addition */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(friends_of("a", list, sizeof list), seq2);
  assert_string_equal(list, "c,d,");
  json_t *evs = sync_from("a", cursor, NULL);
  assert_int_equal(count_peer(evs, "friend_deleted", "b"), 1);
  json_decref(evs);
}

/* The other kinds: d blocked b, a sent b a friend request (pending). [b, b] with the first item failing, killed
 * right after the reply: after the restart d's blocklist is empty with the sequence the second purge reserved (two
 * past the one before: the first purge's, rolled back, is a gap) and an incremental sync of d returns one
 * black_changed with it; a's sync returns the request's friend_request_ended. */
static void test_blocklist_and_request_after_kill(void **st)
{
  (void)st;
  char list[128];
  uint32_t cur_a, cur_d;
  start_with(paced);
  expect_ok(V4("sns/black_list_add", "{\"From_Account\":\"d\",\"To_Account\":[\"b\"]}"));
  expect_ok(V4("sns/friend_add", "{\"From_Account\":\"a\",\"AddFriendItem\":[{\"To_Account\":\"b\",\"AddSource\":"
                                 "\"AddSource_Type_Web\"}]}"));
  long long seq0 = blocked_by("d", list, sizeof list);
  assert_string_equal(list, "b,");
  json_decref(sync_from("a", 0, &cur_a));
  json_decref(sync_from("d", 0, &cur_d));
  json_t *r = V4("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"b\"},{\"UserID\":\"b\"}]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 1), "ResultCode"), 0);
  json_decref(r);
  e2e_server_kill(&srv);
  assert_int_equal(e2e_server_start(&srv, paced), 0);
  assert_int_equal(blocked_by("d", list, sizeof list), seq0 + 2);
  assert_string_equal(list, "");
  json_t *evs = sync_from("d", cur_d, NULL);
  assert_int_equal(json_array_size(evs), 1);
  assert_string_equal(jstr(json_array_get(evs, 0), "type"), "black_changed");
  assert_int_equal(jint(json_array_get(evs, 0), "seq"), seq0 + 2);
  json_decref(evs);
  evs = sync_from("a", cur_a, NULL);
  int ended = 0;
  size_t i;
  json_t *e;
  json_array_foreach(evs, i, e)
    ended += !strcmp(jstr(e, "type"), "friend_request_ended") && !strcmp(jstr(e, "from"), "a") &&
             !strcmp(jstr(e, "to"), "b") && !strcmp(jstr(e, "reason"), "account_deleted");
  assert_int_equal(ended, 1);
  json_decref(evs);
}

/* The black_changed seqs in evs, in order, into seq (at most cap); their number. */
static size_t black_seqs(json_t *evs, long long *seq, size_t cap)
{
  size_t i, n = 0;
  json_t *e;
  json_array_foreach(evs, i, e)
    if (!strcmp(jstr(e, "type"), "black_changed") && n < cap) seq[n++] = jint(e, "seq");
  return n;
}

/* c (a friend of a, b and d) and a (blocking b and d) are no accounts of either call, so nothing of theirs waits
 * for them. They change while [b, b] (the first item failing) is queued in the writer: a second account_delete, of
 * d, purges their rows naming d in memory at once, with c's next friend sequence and a's next blocklist sequence.
 * Each change gets its own sequence, the final one is the latest change's, memory and storage agree (a restart
 * changes nothing) and each holder's device gets each event once. Before §119 was made memory-first, the deletion
 * of b wrote their sequences as the stored value plus one — the value memory had given d's purge — and then set
 * memory back to it: memory below storage until a restart, and the next change given a value already used. */
static void test_holder_changed_while_queued(void **st)
{
  (void)st;
  char list[128];
  uint32_t cur_a, cur_c;
  wsc_t dev_a, dev_c;
  long long seqs[4];
  start();
  befriend("c", "d");
  expect_ok(V4("sns/black_list_add", "{\"From_Account\":\"a\",\"To_Account\":[\"b\",\"d\"]}"));
  long long fseq0 = friends_of("c", list, sizeof list);
  assert_string_equal(list, "a,b,d,");
  long long bseq0 = blocked_by("a", list, sizeof list);
  assert_string_equal(list, "b,d,");
  json_decref(sync_from("a", 0, &cur_a));
  json_decref(sync_from("c", 0, &cur_c));
  assert_int_equal(wsc_login(&dev_a, srv.port, app, key, "a", "Web"), 0);
  json_decref(wsc_sync_live(&dev_a));
  assert_int_equal(wsc_login(&dev_c, srv.port, app, key, "c", "Web"), 0);
  json_decref(wsc_sync_live(&dev_c));
  sqlite3 *lock = race_lock(&srv); /* the writer's jobs queue behind it */
  int del_b = race_send(&srv, app, key, "im_open_login_svc/account_delete",
                        "{\"DeleteItem\":[{\"UserID\":\"b\"},{\"UserID\":\"b\"}]}");
  race_inflight(&srv, 1); /* b's purges are in memory, the job queued */
  int del_d = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"d\"}]}");
  race_inflight(&srv, 2); /* d's purge made a's and c's next changes in memory, its job queued behind b's */
  race_unlock(lock);
  json_t *r = race_read(del_b);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 70500);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 1), "ResultCode"), 0);
  json_decref(r);
  r = race_read(del_d);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
  json_t *live = json_array();
  while (count_peer(live, "friend_deleted", "b") + count_peer(live, "friend_deleted", "d") < 2) { /* c's device */
    json_t *e = wsc_take(&dev_c, match_push, NULL, 5000);
    if (!e) fail_msg("c's device lacks a push: %s", json_dumps(live, JSON_COMPACT));
    json_array_append_new(live, e);
  }
  assert_int_equal(count_peer(live, "friend_deleted", "b"), 1);
  json_array_clear(live);
  while (black_seqs(live, seqs, 4) < 2) { /* a's device: two blocklist changes */
    json_t *e = wsc_take(&dev_a, match_push, NULL, 5000);
    if (!e) fail_msg("a's device lacks a push: %s", json_dumps(live, JSON_COMPACT));
    json_array_append_new(live, e);
  }
  json_decref(live);
  wsc_close(&dev_a);
  wsc_close(&dev_c);
  assert_true(seqs[0] > bseq0 && seqs[1] > bseq0);
  assert_true(seqs[0] != seqs[1]); /* two blocklist states, two sequences */
  long long last = seqs[0] > seqs[1] ? seqs[0] : seqs[1];
  assert_int_equal(blocked_by("a", list, sizeof list), last); /* the latest change's, never set back */
  assert_string_equal(list, "");
  long long fseq = friends_of("c", list, sizeof list);
  assert_string_equal(list, "a,");
  assert_true(fseq >= fseq0 + 2); /* two changes of c's friends */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(friends_of("c", list, sizeof list), fseq); /* storage holds what memory held */
  assert_string_equal(list, "a,");
  assert_int_equal(blocked_by("a", list, sizeof list), last);
  assert_string_equal(list, "");
  json_t *evs = sync_from("c", cur_c, NULL);
  assert_int_equal(count_peer(evs, "friend_deleted", "b"), 1);
  assert_int_equal(count_peer(evs, "friend_deleted", "d"), 1);
  json_decref(evs);
  evs = sync_from("a", cur_a, NULL);
  long long stored[4];
  assert_int_equal(black_seqs(evs, stored, 4), 2);
  assert_true(stored[0] != stored[1] && (stored[0] == last || stored[1] == last));
  json_decref(evs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_common_friend_sequence, stop),
    cmocka_unit_test_teardown(test_rows_naming_each_other, stop),
    cmocka_unit_test_teardown(test_same_account_twice, stop),
    cmocka_unit_test_teardown(test_row_naming_b_with_bs_write, stop),
    cmocka_unit_test_teardown(test_same_account_twice_killed, stop),
    cmocka_unit_test_teardown(test_device_of_a_learns_after_kill, stop),
    cmocka_unit_test_teardown(test_no_kill_announced_once, stop),
    cmocka_unit_test_teardown(test_blocklist_and_request_after_kill, stop),
    cmocka_unit_test_teardown(test_holder_changed_while_queued, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
