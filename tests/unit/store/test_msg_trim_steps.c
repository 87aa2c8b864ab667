/* One user's conversation trim in bounded steps (store_msg_recent_trim,
 * sqlite_msg_trim.c): a step reads at most max_rows of the user's rows and
 * deletes at most as many, so a user with many rows takes many steps; the
 * rows left are exactly the pinned ones and the `keep` most recent unpinned
 * ones (time, then seq, then peer number), also when messages arrive or a
 * row is pinned between steps. Fails when one call trims everything, when
 * a step reads more than max_rows, or when a pin between steps does not
 * start the trim over. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_msg.h"
#include "store/sqlite_msg_int.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"
#include "store_rows.h"

#define APP 1400000001u
#define T0 1700000000
#define PEERS 600

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgtrim");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

typedef struct row { uint32_t peer, seq; int64_t time_s, pinned; } row_t;
typedef struct rows { row_t r[PEERS + 8]; int n; } rows_t;

static void on_row(void *ud, const store_recent_t *r)
{
  rows_t *L = ud;
  assert_true(L->n < PEERS + 8);
  L->r[L->n++] = (row_t){ r->peer_no, r->last_seq, r->last_time_s, r->pinned_at_s };
}

static void list(store_t *s, rows_t *L)
{
  L->n = 0;
  assert_int_equal(store_msg_recent_list(s, APP, 1, on_row, L), 0);
}

static int more_recent(const void *a, const void *b) /* most recent first */
{
  const row_t *x = a, *y = b;
  if (x->time_s != y->time_s) return x->time_s > y->time_s ? -1 : 1;
  if (x->seq != y->seq) return x->seq > y->seq ? -1 : 1;
  return x->peer > y->peer ? -1 : x->peer < y->peer;
}

/* The peers a trim to keep should leave: every pinned row and the keep most recent unpinned. */
static void expect(const rows_t *now, int keep, uint8_t *want)
{
  rows_t u = { .n = 0 };
  memset(want, 0, PEERS + 8);
  for (int i = 0; i < now->n; i++) {
    if (now->r[i].pinned) want[now->r[i].peer] = 1;
    else u.r[u.n++] = now->r[i];
  }
  qsort(u.r, (size_t)u.n, sizeof u.r[0], more_recent);
  for (int i = 0; i < u.n && i < keep; i++) want[u.r[i].peer] = 1;
}

static void check(store_t *s, const uint8_t *want)
{
  rows_t L;
  uint8_t seen[PEERS + 8] = { 0 };
  int n = 0;
  list(s, &L);
  for (int i = 0; i < L.n; i++) {
    if (!want[L.r[i].peer]) fail_msg("peer %u kept", L.r[i].peer);
    seen[L.r[i].peer] = 1;
  }
  for (int p = 0; p < PEERS + 8; p++) {
    if (want[p] && !seen[p]) fail_msg("peer %d trimmed", p);
    n += want[p];
  }
  assert_int_equal(L.n, n);
}

/* User 1 talks to peers 2 … PEERS + 1, times with many ties (50 distinct
 * seconds), every 37th row pinned. */
static store_t *fill(void)
{
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t p = 2; p < PEERS + 2; p++) rows_send(s, APP, T0, 1, p, p % 50);
  for (uint32_t p = 2; p < PEERS + 2; p += 37) assert_int_equal(store_msg_recent_set(s, APP, 1, p, "pinned_at_s", T0), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  return s;
}

/* One step of at most max_rows: returns more. */
static int step(store_t *s, int keep, int max_rows, int64_t *total)
{
  int64_t n = -1;
  int more = -1;
  assert_int_equal(store_msg_recent_trim(s, APP, 1, keep, INT64_MIN, max_rows, &n, &more), 0);
  assert_true(n >= 0 && n <= max_rows && (more == 0 || more == 1));
  *total += n;
  return more;
}

static void test_steps(void **st)
{
  (void)st;
  store_t *s = fill();
  rows_t before;
  uint8_t want[PEERS + 8];
  int64_t total = 0;
  int calls = 1;
  list(s, &before);
  assert_int_equal(before.n, PEERS);
  expect(&before, 100, want);
  while (step(s, 100, 50, &total)) calls++;
  /* two walks over 600 rows, at most 50 rows read per call */
  assert_true(calls >= 2 * PEERS / 50);
  assert_int_equal(total, PEERS - 100 - (PEERS + 36) / 37);
  check(s, want);
  /* nothing over the limit: one walk, nothing deleted */
  total = 0;
  for (calls = 1; step(s, 100, 50, &total); calls++) {}
  assert_int_equal(total, 0);
  assert_true(calls <= PEERS / 50 + 1);
  /* keep 0: every unpinned row goes */
  while (step(s, 0, 1000, &total)) {}
  expect(&before, 0, want);
  check(s, want);
  store_close(s);
}

/* Between steps: a message on an old conversation makes it one of the most
 * recent (it stays), and pins of rows among the most recent start the trim
 * over (without that the old bar would leave keep - 2 + 1 unpinned rows). */
static void test_changes_between_steps(void **st)
{
  (void)st;
  store_t *s = fill();
  rows_t now;
  uint8_t want[PEERS + 8];
  int64_t total = 0;
  int calls = 0;
  while (calls < 5 && step(s, 100, 50, &total)) calls++; /* inside the first walk */
  rows_send(s, APP, T0, 1, 51, 1000);                      /* peer 51 (read at time 1): now the most recent */
  while (calls < 16 && step(s, 100, 50, &total)) calls++; /* the second walk has begun deleting */
  assert_true(calls == 16 && total > 0);
  list(s, &now);
  qsort(now.r, (size_t)now.n, sizeof now.r[0], more_recent);
  int pinned = 0;
  for (int i = 0; i < now.n && pinned < 2; i++)
    if (!now.r[i].pinned && now.r[i].peer != 51) {
      assert_int_equal(store_msg_recent_set(s, APP, 1, now.r[i].peer, "pinned_at_s", T0 + 1), 0);
      pinned++;
    }
  assert_int_equal(pinned, 2);
  list(s, &now);
  expect(&now, 100, want); /* the pinned rows and the 100 most recent of what is there now */
  assert_int_equal(want[51], 1);
  while (step(s, 100, 50, &total)) {}
  check(s, want);
  store_close(s);
}

/* Peer from sends user 1 a NoLastMsg message at time t (inside a transaction). */
static void nolast_send(store_t *s, uint32_t from, int64_t t)
{
  store_msg_append_t a;
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(from, 1), 0, from, 1, t, 7, 7, STORE_MSG_NO_LAST, 604800, "{}", 2, NULL, NULL };
  a.inbox_to = a.recent_from = a.recent_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
}

/* A row whose history the user cleared (ClearRamble) is hidden by the trim,
 * not deleted: deleted, a later message would make it again without its
 * cleared_seq and show the cleared history. A conversation holding only
 * NoLastMsg messages ranks by its newest message, not as the oldest (its row
 * carries the unread count). Fails when the trim deletes cleared rows or
 * ranks NoLastMsg-only rows at time 0. */
static void test_cleared_and_nolast_rows(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t p = 2; p < 12; p++) rows_send(s, APP, T0, 1, p, p); /* peer p at time T0 + p */
  assert_int_equal(store_msg_recent_set(s, APP, 1, 2, "cleared_seq", 1), 0); /* the oldest: cleared */
  nolast_send(s, 20, T0 + 100); /* peer 20's only message, NoLastMsg, the newest of all */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  int64_t total = 0;
  while (step(s, 3, 50, &total)) {}
  store_recent_t r;
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), 0); /* kept, hidden, still cleared */
  assert_int_equal(r.cleared_seq, 1);
  assert_true(r.hidden_seq >= r.last_seq && r.last_seq == 1);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 20, &r), 0); /* among the 3 most recent */
  assert_int_equal(store_msg_recent_get(s, APP, 1, 11, &r), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 10, &r), 0);
  for (uint32_t p = 3; p < 10; p++) assert_int_equal(store_msg_recent_get(s, APP, 1, p, &r), IMC_E_NOTFOUND);
  store_close(s);
}

/* A trimmed cleared row is deleted, not kept hidden, once every message
 * it cleared is older than the horizon given (the app's purge floor); one
 * that cleared a message at or above the horizon is still hidden; with
 * INT64_MIN (no floor) every cleared row stays. */
static void test_cleared_rows_past_the_floor(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t p = 2; p < 12; p++) rows_send(s, APP, T0, 1, p, p); /* peer p at time T0 + p, seq 1 */
  rows_send(s, APP, T0, 1, 3, 5);                                     /* peer 3: a second message, T0 + 5 */
  for (uint32_t p = 2; p < 5; p++) assert_int_equal(store_msg_recent_set(s, APP, 1, p, "cleared_seq", p == 3 ? 2 : 1), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  int64_t n, total = 0;
  int more;
  do assert_int_equal(store_msg_recent_trim(s, APP, 1, 3, INT64_MIN, 50, &n, &more), 0); while (more);
  store_recent_t r;
  for (uint32_t p = 2; p < 5; p++) assert_int_equal(store_msg_recent_get(s, APP, 1, p, &r), 0); /* no floor: hidden */
  /* the floor at T0 + 4: peers 2 and 4 cleared only older messages (T0 + 2, T0 + 4 is not older), peer 3
   * cleared one at T0 + 5 */
  do {
    assert_int_equal(store_msg_recent_trim(s, APP, 1, 3, T0 + 4, 50, &n, &more), 0);
    total += n;
  } while (more);
  assert_int_equal(total, 1);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), IMC_E_NOTFOUND);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 3, &r), 0);
  assert_int_equal(r.cleared_seq, 2);
  assert_true(r.hidden_seq >= r.last_seq);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 4, &r), 0);
  assert_int_equal(r.cleared_seq, 1);
  /* a later floor: peer 4's goes too */
  total = 0;
  do {
    assert_int_equal(store_msg_recent_trim(s, APP, 1, 3, T0 + 5, 50, &n, &more), 0);
    total += n;
  } while (more);
  assert_int_equal(total, 1);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 4, &r), IMC_E_NOTFOUND);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 3, &r), 0);
  store_close(s);
}

/* A conversation the user deleted (hidden: no message since its
 * hidden_seq) takes none of the keep places: the keep most recent listed
 * conversations stay; a hidden row more recent than the keep-th listed one
 * stays too (deleted, a read report or NoLastMsg message would make it
 * again, listed with its old messages), an older one goes; with fewer
 * listed rows than keep nothing goes. Fails when the most recent
 * conversations, deleted, push listed ones out of the list. */
static void test_hidden_rows_take_no_place(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t p = 2; p < 12; p++) rows_send(s, APP, T0, 1, p, p); /* peer p at time T0 + p, seq 1 */
  for (uint32_t p = 9; p < 12; p++) assert_int_equal(store_msg_recent_set(s, APP, 1, p, "hidden_seq", 1), 0);
  assert_int_equal(store_msg_recent_set(s, APP, 1, 2, "hidden_seq", 1), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  int64_t total = 0;
  while (step(s, 7, 50, &total)) {} /* 6 listed, fewer than 7: nothing goes */
  assert_int_equal(total, 0);
  while (step(s, 3, 50, &total)) {}
  store_recent_t r;
  for (uint32_t p = 6; p < 12; p++) assert_int_equal(store_msg_recent_get(s, APP, 1, p, &r), 0);
  for (uint32_t p = 2; p < 6; p++) assert_int_equal(store_msg_recent_get(s, APP, 1, p, &r), IMC_E_NOTFOUND);
  assert_int_equal(total, 4);
  rows_t L;
  list(s, &L);
  int listed = 0;
  for (int i = 0; i < L.n; i++) listed += L.r[i].peer >= 6 && L.r[i].peer <= 8;
  assert_int_equal(listed, 3);
  store_close(s);
}

/* A deleted conversation that got a NoLastMsg message since the delete
 * (unread, still hidden: it lists nothing) ranks by that message, as a
 * NoLastMsg-only conversation does: deleted, the row would lose that unread
 * count and, made again by the next such message, its delete. Fails when
 * the trim ranks a hidden row by its last listed message. */
static void test_hidden_row_with_news_stays(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t p = 2; p < 7; p++) rows_send(s, APP, T0, 1, p, p); /* peer p at time T0 + p */
  assert_int_equal(store_msg_recent_set(s, APP, 1, 2, "hidden_seq", 1), 0);
  nolast_send(s, 2, T0 + 100); /* then peer 2 sends a NoLastMsg message, the newest of all */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  int64_t total = 0;
  while (step(s, 3, 50, &total)) {}
  store_recent_t r;
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), 0); /* kept, still deleted */
  assert_int_equal(r.hidden_seq, 1);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 3, &r), IMC_E_NOTFOUND); /* the oldest listed one went */
  for (uint32_t p = 4; p < 7; p++) assert_int_equal(store_msg_recent_get(s, APP, 1, p, &r), 0);
  assert_int_equal(total, 1);
  store_close(s);
}

/* An import older than the conversation's live messages (it took the
 * higher seq) does not make the conversation look older: the list and the
 * trim take its last message by time (messaging-c2c-imports.md §34). Peer 2
 * has the newest live message and then an import older than every other
 * row; a trim to 3 keeps it and deletes the two oldest (peers 3 and 4).
 * Fails when either ranks peer 2 by the import. */
static void test_old_import_keeps_its_place(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t p = 3; p < 7; p++) rows_send(s, APP, T0, 1, p, p); /* peer p at time T0 + p */
  rows_send(s, APP, T0, 2, 1, 50);                                 /* peer 2 at T0 + 50, seq 1 */
  store_msg_append_t a;
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(2, 1), 0, 2, 1, T0 - 100, 9, 9, STORE_MSG_IMPORTED, 604800, "{}", 2,
                       NULL, NULL };
  a.import_dedupe = 1;
  a.inbox_to = a.recent_from = a.recent_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.m.seq, 2);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_recent_t r;
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), 0);
  assert_int_equal(r.last_seq, 1);
  assert_int_equal(r.last_time_s, T0 + 50);
  int64_t total = 0;
  while (step(s, 3, 50, &total)) {}
  assert_int_equal(total, 2);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), 0);
  for (uint32_t p = 3; p < 5; p++) assert_int_equal(store_msg_recent_get(s, APP, 1, p, &r), IMC_E_NOTFOUND);
  for (uint32_t p = 5; p < 7; p++) assert_int_equal(store_msg_recent_get(s, APP, 1, p, &r), 0);
  store_close(s);
}

/* The whole trim of user u's list to keep. */
static void trim_user(store_t *s, uint32_t u, int keep)
{
  int64_t n;
  int more;
  do assert_int_equal(store_msg_recent_trim(s, APP, u, keep, INT64_MIN, 50, &n, &more), 0);
  while (more);
}

/* A row the trim deletes while the peer's row with the user is there is noted (c2c_trimmed: the user's
 * account deletion finds the peer by it, §87); the note goes when the peer's own trim deletes that row,
 * which notes nothing when the user's row is gone, and a pair whose row came back is noted by the peer's
 * trim as well. Fails without the notes (none), or without the prune (pairs of rows gone stay). */
static void test_trim_notes_peer_rows(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t p = 2; p < 12; p++) rows_send(s, APP, T0, 1, p, p); /* peer p at time T0 + p: 2 the oldest */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  trim_user(s, 1, 7); /* 1->2, 1->3, 1->4 go; 2->1, 3->1, 4->1 stay */
  assert_int_equal(rows_count(s, "c2c_trimmed"), 3);
  assert_int_equal(rows_count(s, "c2c_trimmed WHERE sdkappid=1400000001 AND user_no=1 AND peer_no IN (2,3,4)"), 3);
  trim_user(s, 2, 0); /* 2->1 goes: its note (1, 2) with it; 1->2 is gone: nothing noted */
  assert_int_equal(rows_count(s, "c2c_trimmed"), 2);
  assert_int_equal(rows_count(s, "c2c_trimmed WHERE user_no=1 AND peer_no IN (3,4)"), 2);
  rows_send(s, APP, T0, 1, 3, 100); /* 1->3 again: (1, 3) stays, redundant */
  trim_user(s, 3, 0); /* 3->1 goes while 1->3 is there: (3, 1) noted, (1, 3) gone */
  assert_int_equal(rows_count(s, "c2c_trimmed"), 2);
  assert_int_equal(rows_count(s, "c2c_trimmed WHERE (user_no=1 AND peer_no=4) OR (user_no=3 AND peer_no=1)"), 2);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_changes_between_steps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cleared_and_nolast_rows, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cleared_rows_past_the_floor, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hidden_rows_take_no_place, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hidden_row_with_news_stays, setup, teardown),
    cmocka_unit_test_setup_teardown(test_old_import_keeps_its_place, setup, teardown),
    cmocka_unit_test_setup_teardown(test_trim_notes_peer_rows, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
