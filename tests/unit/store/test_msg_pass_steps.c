/* Reads that pass over rows they do not return cost what they return
 * (docs/decisions/messaging-c2c-imports.md §51), counted in SQLite virtual
 * machine steps (SQLITE_STMTSTATUS_VM_STEP summed over every statement, read
 * in a profile trace callback: a count of work, not a time):
 *
 * - a sender's own SyncOtherMachine 2 messages (it does not see them): the
 *   WebSocket history page (store_msg_history_seen) and the REST roaming
 *   page (store_msg_roam) pass a run of them in one seek. Before, 5,000 of
 *   them cost every page of their sender 5,000 rows. Their results equal a
 *   filter over every message, for pages of several sizes, both viewers, runs
 *   broken by the peer's messages, NoLastMsg messages, imports, held and
 *   written rows;
 * - imports under the purge floor: a roaming page of a conversation with
 *   nothing stored since the pass began stops its imports at the floor's
 *   time. Before, it stepped over every covered import. An import stored
 *   after the pass, older than the floor, is still listed.
 *
 * The store is used directly (no writer thread). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "msg_kinds.h"
#include "step_count.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000011u
#define T0 1700000000
#define HIDDEN 5000      /* SyncOtherMachine 2 messages of one sender in a row */
#define HIDDEN_STEPS 3000 /* the most a page over them may take */
#define MAXN 1200        /* messages of the mixed conversation */

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgpass");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

/* kind: msg_kinds.h */
#define append(s, from, to, t, key, kind) msg_append_kind(s, APP, from, to, t, key, kind)

typedef struct page { uint32_t seq[64]; int64_t t[64]; int n; } page_t;

static void on_msg(void *ud, const store_msg_t *m)
{
  page_t *p = ud;
  assert_true(p->n < 64);
  p->seq[p->n] = m->seq;
  p->t[p->n++] = m->time_s;
}

/* 5 messages, HIDDEN SyncOtherMachine 2 messages from 61 (in transactions of 700: held and written rows), 5
 * messages: 61's history page and roaming page list the 10 it sees within HIDDEN_STEPS; 62 sees them all. */
static void test_own_hidden_run_in_one_seek(void **st)
{
  (void)st;
  store_t *s;
  uint64_t conv = store_c2c_conv(61, 62);
  uint32_t seen[10];
  int k = 0;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < 5; i++) seen[k++] = append(s, 61 + i % 2, 62 - i % 2, T0 + i, 1 + (uint32_t)i, 0);
  for (int i = 0; i < HIDDEN; i++) {
    if (i % 700 == 699) {
      assert_int_equal(store_exec(s, "COMMIT"), 0);
      assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
    }
    append(s, 61, 62, T0 + 10 + i, 100 + (uint32_t)i, 1);
  }
  for (int i = 0; i < 5; i++) seen[k++] = append(s, 61 + i % 2, 62 - i % 2, T0 + 9000 + i, 20000 + (uint32_t)i, 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);

  page_t p = { .n = 0 };
  step_trace(s, 1); /* a first page unmeasured: a statement's count holds its steps since it last finished while traced */
  assert_int_equal(store_msg_history_seen(s, APP, conv, 61, 0, 0, 0, INT64_MAX, 20, on_msg, &p), 0);
  p.n = 0;
  steps = 0;
  assert_int_equal(store_msg_history_seen(s, APP, conv, 61, 0, 0, 0, INT64_MAX, 20, on_msg, &p), 0);
  int64_t hist = steps;
  step_trace(s, 0);
  assert_int_equal(p.n, 10);
  for (int i = 0; i < 10; i++) assert_int_equal(p.seq[i], seen[9 - i]);

  p.n = 0;
  step_trace(s, 1);
  assert_int_equal(store_msg_roam(s, APP, conv, 61, 0, 0, INT64_MAX, INT64_MAX, 0, 20, on_msg, &p), 0);
  p.n = 0;
  steps = 0;
  assert_int_equal(store_msg_roam(s, APP, conv, 61, 0, 0, INT64_MAX, INT64_MAX, 0, 20, on_msg, &p), 0);
  int64_t roam = steps;
  step_trace(s, 0);
  assert_int_equal(p.n, 10);
  for (int i = 0; i < 10; i++) assert_int_equal(p.seq[i], seen[9 - i]);

  p.n = 0; /* the peer sees them: the newest 20 by seq */
  assert_int_equal(store_msg_history_seen(s, APP, conv, 62, 0, 0, 0, INT64_MAX, 20, on_msg, &p), 0);
  assert_int_equal(p.n, 20);
  for (int i = 0; i < 20; i++) assert_int_equal(p.seq[i], HIDDEN + 10 - (uint32_t)i);
  print_message("a page over %d of the viewer's SyncOtherMachine 2 messages: history %lld steps, roaming %lld\n",
                HIDDEN, (long long)hist, (long long)roam);
  if (hist > HIDDEN_STEPS || roam > HIDDEN_STEPS)
    fail_msg("history %lld, roaming %lld steps (at most %d)", (long long)hist, (long long)roam, HIDDEN_STEPS);
  store_close(s);
}

/* The mixed conversation: seq → (from, time, kind), its times in seq order (imports older) */
typedef struct mrow { uint32_t seq, from; int64_t t; int kind; } mrow_t;
static mrow_t rows[MAXN + 1];

static int sees(const mrow_t *r, uint32_t viewer) { return !(r->kind == 1 && r->from == viewer); }

/* History pages of size lim for viewer, from the top, against the rows it sees by seq. */
static void check_history(store_t *s, uint64_t conv, int n, uint32_t viewer, int lim)
{
  uint32_t before = 0;
  int want = n;
  for (;;) {
    page_t p = { .n = 0 };
    assert_int_equal(store_msg_history_seen(s, APP, conv, viewer, before, 0, 0, INT64_MAX, lim, on_msg, &p), 0);
    for (int i = 0; i < p.n; i++) {
      while (want >= 1 && !sees(&rows[want], viewer)) want--;
      if (want < 1 || p.seq[i] != rows[want].seq)
        fail_msg("viewer %u, pages of %d: seq %u, want %u", viewer, lim, p.seq[i], want >= 1 ? rows[want].seq : 0);
      want--;
    }
    if (p.n < lim) break;
    before = p.seq[p.n - 1];
  }
  while (want >= 1 && !sees(&rows[want], viewer)) want--;
  if (want >= 1) fail_msg("viewer %u, pages of %d: seq %u not listed", viewer, lim, rows[want].seq);
}

static int roam_order(const void *a, const void *b)
{
  const mrow_t *x = a, *y = b;
  if (x->t != y->t) return x->t > y->t ? -1 : 1;
  return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/* Roaming pages of size lim for viewer (cursor: the last message's time and seq) against the rows it sees
 * in (time, seq) order. */
static void check_roam(store_t *s, uint64_t conv, int n, uint32_t viewer, int lim)
{
  static mrow_t want[MAXN];
  int nw = 0, got = 0;
  for (int i = 1; i <= n; i++)
    if (sees(&rows[i], viewer)) want[nw++] = rows[i];
  qsort(want, (size_t)nw, sizeof want[0], roam_order);
  int64_t below_t = INT64_MAX;
  uint32_t below_seq = 0;
  for (;;) {
    page_t p = { .n = 0 };
    assert_int_equal(store_msg_roam(s, APP, conv, viewer, 0, 0, INT64_MAX, below_t, below_seq, lim, on_msg, &p), 0);
    for (int i = 0; i < p.n; i++, got++)
      if (got >= nw || p.seq[i] != want[got].seq)
        fail_msg("viewer %u, roaming pages of %d: message %d seq %u, want %u", viewer, lim, got, p.seq[i],
                 got < nw ? want[got].seq : 0);
    if (p.n < lim) break;
    below_t = p.t[p.n - 1];
    below_seq = p.seq[p.n - 1];
  }
  assert_int_equal(got, nw);
}

/* Runs of SyncOtherMachine 2 messages of both users, broken by the other's messages, NoLastMsg messages and
 * imports, in transactions of varied sizes (a run continued from a held and from a written row, and across
 * another conversation's sends): every history and roaming page of 1, 3, 7 and 20 for either user lists what
 * a filter over every message lists. */
static void test_hidden_runs_same_pages(void **st)
{
  (void)st;
  store_t *s;
  uint64_t conv = store_c2c_conv(71, 72);
  int n = 0;
  uint32_t rnd = 12345;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  while (n < MAXN) {
    rnd = rnd * 1103515245u + 12345u;
    uint32_t r = rnd >> 16;
    int len = 1 + (int)(r % 40), kind = (r >> 6) % 8 < 5 ? 1 : (int)((r >> 9) % 4);
    uint32_t from = (r >> 11) & 1 ? 71 : 72;
    for (int i = 0; i < len && n < MAXN; i++) {
      n++;
      int64_t t = kind == 3 ? T0 - 50000 + n : T0 + n;
      uint32_t seq = append(s, from, 143 - from, t, 1000 + (uint32_t)n, kind);
      assert_int_equal(seq, n);
      rows[n] = (mrow_t){ seq, from, t, kind };
      if ((r >> 13) % 5 == 0) append(s, 73, 74, T0 + n, 1000 + (uint32_t)n, 0); /* another conversation */
      if ((rnd >> 20) % 97 == 0) {
        assert_int_equal(store_exec(s, "COMMIT"), 0);
        assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
      }
    }
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  static const int lims[] = { 1, 3, 7, 20 };
  for (uint32_t v = 71; v <= 72; v++)
    for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
      check_history(s, conv, n, v, lims[i]);
      check_roam(s, conv, n, v, lims[i]);
    }
  store_close(s);
}

/* 10 live messages and 5,000 older imports, a floor over the 4,990 oldest imports (raised when a pass began;
 * the pass deletes them after) and a retention that reaches below it: a roaming page lists the 10 live and
 * 10 shown imports and stops its imports at the floor (nothing was stored since the pass began), within
 * FLOOR_STEPS; before, it read all 4,990 covered imports. An import of an old time stored after the pass is
 * shown (the retention alone judges it): the next page lists it too. */
#define FLOOR_STEPS 3000
static void test_roam_imports_stop_at_the_floor(void **st)
{
  (void)st;
  store_t *s;
  uint64_t conv = store_c2c_conv(81, 82);
  page_t p = { .n = 0 };
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < 10; i++) append(s, 81, 82, T0 + i, 1 + (uint32_t)i, 0);
  for (int i = 0; i < 5000; i++) append(s, 82, 81, T0 - 100000 + i, 100 + (uint32_t)i, 3);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_exec(s, "INSERT INTO c2c_purge_floor(sdkappid,before_s,upto_id) VALUES(1400000011,"
                                 "1700000000-100000+4990,(SELECT max(id) FROM c2c_msg))"), 0);
  step_trace(s, 1);
  assert_int_equal(store_msg_roam(s, APP, conv, 81, 0, 0, INT64_MAX, INT64_MAX, 0, 30, on_msg, &p), 0);
  p.n = 0;
  steps = 0;
  assert_int_equal(store_msg_roam(s, APP, conv, 81, 0, 0, INT64_MAX, INT64_MAX, 0, 30, on_msg, &p), 0);
  int64_t page = steps;
  step_trace(s, 0);
  assert_int_equal(p.n, 20);
  for (int i = 0; i < 10; i++) assert_int_equal(p.seq[i], 10 - (uint32_t)i);
  for (int i = 10; i < 20; i++) assert_int_equal(p.seq[i], 5010 - (uint32_t)(i - 10));
  print_message("a page over 4,990 imports under the floor: %lld steps\n", (long long)page);
  if (page > FLOOR_STEPS) fail_msg("the page took %lld steps (at most %d)", (long long)page, FLOOR_STEPS);

  assert_int_equal(append(s, 82, 81, T0 - 100000 + 5, 99999, 3), 5011); /* stored after the pass began */
  p.n = 0;
  assert_int_equal(store_msg_roam(s, APP, conv, 81, 0, 0, INT64_MAX, INT64_MAX, 0, 30, on_msg, &p), 0);
  assert_int_equal(p.n, 21);
  for (int i = 10; i < 20; i++) assert_int_equal(p.seq[i], 5010 - (uint32_t)(i - 10));
  assert_int_equal(p.seq[20], 5011);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_own_hidden_run_in_one_seek, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hidden_runs_same_pages, setup, teardown),
    cmocka_unit_test_setup_teardown(test_roam_imports_stop_at_the_floor, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
