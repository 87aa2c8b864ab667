/* Messages imported out of time order (importmsg: the conversation's next
 * seq, the caller's older time) cost a read what it returns, not how many
 * were imported (docs/decisions/messaging-c2c-imports.md §45). A REST
 * roaming page (store_msg_roam, with the find_key of its cursor as the
 * server runs it) over a conversation of 3,000 imports between live
 * messages lists every message once in (time, seq) order and each page
 * steps a bounded number of virtual machine steps (SQLITE_STMTSTATUS_VM_STEP
 * summed over every statement, read in a profile trace callback: a count of
 * work, not a time); a conversation row's last message is the newest by time
 * past 64 imports in a row; a live message sent while the clock is behind an
 * import takes the import's time; migration 48 finds the runs of imports
 * already stored. Fails before §45: every page read every import (up to
 * 229,278 steps), and the last message was an older import. The store is
 * used directly (no writer thread). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/sqlite_msg_int.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "step_count.h"
#include "tmpdir.h"
#include "store_tmpl.h"
#include "store_rows.h"

#define APP 1400000011u
#define T0 1700000000
#define LIVE 40      /* live messages before the imports, and as many after */
#define IMPORTS 3000 /* imported messages, older than every live one, two per second */
#define LATE 20      /* imports last, with times among the first live messages' */
#define TOTAL (2 * LIVE + IMPORTS + LATE)
#define PAGE 20
#define PAGE_STEPS 12000 /* the most steps a page may take (4,264 measured; 229,278 before) */

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgimp");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

/* A message with flags (STORE_MSG_IMPORTED: imported, with the caller's seq); its seq and stored time out. */
static void append_flags(store_t *s, uint32_t from, uint32_t to, int64_t t, uint32_t key, uint32_t flags,
                         uint32_t *seq, int64_t *time_s)
{
  store_msg_append_t a;
  int import = (flags & STORE_MSG_IMPORTED) != 0;
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(from, to), 0, from, to, t, key, key,
                       import ? flags | STORE_MSG_CALLER_SEQ : flags, 604800, "{}", 2, NULL, NULL };
  if (import) a.import_dedupe = 1;
  else a.dedupe_since_s = t - 300;
  a.inbox_from = a.inbox_to = a.recent_from = a.recent_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.dup, 0);
  if (seq) *seq = a.m.seq;
  if (time_s) *time_s = a.m.time_s;
}

static void append(store_t *s, uint32_t from, uint32_t to, int64_t t, uint32_t key, int import, uint32_t *seq,
                   int64_t *time_s)
{
  append_flags(s, from, to, t, key, import ? STORE_MSG_IMPORTED : 0, seq, time_s);
}

typedef struct mrow { uint32_t seq, key; int64_t time_s; } mrow_t;
static mrow_t want[TOTAL];

static int newest_first(const void *a, const void *b)
{
  const mrow_t *x = a, *y = b;
  if (x->time_s != y->time_s) return x->time_s > y->time_s ? -1 : 1;
  return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/* Conversation (1, 2): LIVE live messages, IMPORTS older imports, LIVE live ones, LATE imports among the
 * first live ones' times; want[] in the roaming order. */
static store_t *fill(void)
{
  store_t *s;
  int n = 0;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < LIVE; i++, n++) append(s, 1 + i % 2, 2 - i % 2, T0 + 2 * i, 100000 + n, 0, &want[n].seq, &want[n].time_s);
  for (int i = 0; i < IMPORTS; i++, n++) append(s, 1 + i % 2, 2 - i % 2, T0 - 100000 + i / 2, 100000 + n, 1, &want[n].seq, &want[n].time_s);
  for (int i = 0; i < LIVE; i++, n++) append(s, 1, 2, T0 + 1000 + i, 100000 + n, 0, &want[n].seq, &want[n].time_s);
  for (int i = 0; i < LATE; i++, n++) append(s, 2, 1, T0 + 2 * i + 1, 100000 + n, 1, &want[n].seq, &want[n].time_s);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(n, TOTAL);
  for (int i = 0; i < n; i++) want[i].key = 100000 + (uint32_t)i;
  qsort(want, TOTAL, sizeof want[0], newest_first);
  return s;
}

typedef struct page { mrow_t r[PAGE]; int n; } page_t;

static void on_msg(void *ud, const store_msg_t *m)
{
  page_t *p = ud;
  assert_true(p->n < PAGE);
  p->r[p->n++] = (mrow_t){ m->seq, m->random, m->time_s };
}

static void on_key(void *ud, const store_msg_t *m) { *(uint32_t *)ud = m->seq; }

/* Every page of PAGE as the server reads them (the cursor's MsgKey found, then the page below it): the
 * messages in want[]'s order, each page within PAGE_STEPS. Returns the most steps a page took. */
static int64_t read_pages(store_t *s)
{
  uint64_t conv = store_c2c_conv(1, 2);
  int got = 0;
  int64_t most = 0, total = 0;
  page_t warm = { .n = 0 };
  step_trace(s, 1);
  /* a first page unmeasured: a statement's count holds its steps since it last finished while traced */
  assert_int_equal(store_msg_roam(s, APP, conv, 1, 0, 0, INT64_MAX, INT64_MAX, 0, PAGE, on_msg, &warm), 0);
  uint32_t seq = 0;
  assert_int_equal(store_msg_find_key(s, APP, conv, want[0].key, want[0].key, want[0].time_s, on_key, &seq), 0);
  while (got < TOTAL) {
    page_t p = { .n = 0 };
    int64_t below_t = INT64_MAX;
    uint32_t below_seq = 0;
    steps = 0;
    if (got) {
      const mrow_t *c = &want[got - 1];
      assert_int_equal(store_msg_find_key(s, APP, conv, c->key, c->key, c->time_s, on_key, &below_seq), 0);
      assert_int_equal(below_seq, c->seq);
      below_t = c->time_s;
    }
    assert_int_equal(store_msg_roam(s, APP, conv, 1, 0, 0, INT64_MAX, below_t, below_seq, PAGE, on_msg, &p), 0);
    if (steps > most) most = steps;
    total += steps;
    assert_int_equal(p.n, TOTAL - got < PAGE ? TOTAL - got : PAGE);
    for (int i = 0; i < p.n; i++, got++)
      if (p.r[i].seq != want[got].seq || p.r[i].time_s != want[got].time_s)
        fail_msg("message %d: seq %u at %lld, want seq %u at %lld", got, p.r[i].seq, (long long)p.r[i].time_s,
                 want[got].seq, (long long)want[got].time_s);
  }
  step_trace(s, 0);
  print_message("%d pages: at most %lld steps a page, %lld in all\n", (TOTAL + PAGE - 1) / PAGE, (long long)most,
                (long long)total);
  if (most > PAGE_STEPS) fail_msg("a page took %lld steps (at most %d)", (long long)most, PAGE_STEPS);
  return most;
}

static void test_roam_pages_bounded(void **st)
{
  (void)st;
  store_t *s = fill();
  read_pages(s);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0); /* the same from a cold connection */
  read_pages(s);
  store_close(s);
}

/* Migration 48 on a store whose imports were stored before it: their runs are found, and pages stay bounded. */
static void test_upgrade_finds_runs(void **st)
{
  (void)st;
  store_t *s = fill();
  assert_int_equal(store_exec(s, "DROP INDEX c2c_msg_imported;"
                                 "CREATE INDEX c2c_msg_imported ON c2c_msg(conv, sdkappid, random) WHERE (flags&32)!=0;"
                                 "ALTER TABLE c2c_msg DROP COLUMN run_lo; DROP TABLE usage_reg_day;"
                                 "ALTER TABLE grp_member DROP COLUMN apply_seq; ALTER TABLE c2c_msg DROP COLUMN max_t;"
                                 "DROP TABLE grp_apply_mark; DROP INDEX grp_msg_chg; ALTER TABLE grp_msg DROP COLUMN chg; DROP TABLE grp_chg; DROP INDEX grp_msg_dedupe; ALTER TABLE grp_msg DROP COLUMN chash;"
  " CREATE INDEX grp_msg_random ON grp_msg(sdkappid, group_no, random); ALTER TABLE c2c_msg DROP COLUMN orig_hash; DROP TABLE c2c_trimmed; PRAGMA user_version=47"),
                   0);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "SELECT count(*), sum(run_lo=?1), sum(run_lo=?2)"
                                      " FROM c2c_msg WHERE (flags&32)!=0", -1, &q, NULL), SQLITE_OK);
  sqlite3_bind_int(q, 1, LIVE + 1);           /* the first run: seqs LIVE + 1 … LIVE + IMPORTS */
  sqlite3_bind_int(q, 2, 2 * LIVE + IMPORTS + 1); /* the last: the LATE imports */
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), IMPORTS + LATE);
  assert_int_equal(sqlite3_column_int(q, 1), IMPORTS);
  assert_int_equal(sqlite3_column_int(q, 2), LATE);
  sqlite3_finalize(q);
  read_pages(s);
  store_close(s);
}

/* A conversation row's last message past 64 imports in a row: peer 4's live message is newer than the 100
 * imports after it; peer 6's newest message by time is its first import, 100 rows below the top. */
static void test_last_message_past_64_imports(void **st)
{
  (void)st;
  store_t *s;
  store_recent_t r;
  uint32_t seq;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  append(s, 4, 3, T0 + 50, 1, 0, NULL, NULL);
  for (uint32_t i = 0; i < 100; i++) append(s, 3, 4, T0 - 1000 + i, 10 + i, 1, NULL, NULL);
  append(s, 6, 5, T0, 1, 0, NULL, NULL);
  append(s, 5, 6, T0 + 30, 2, 1, &seq, NULL);
  for (uint32_t i = 0; i < 100; i++) append(s, 5, 6, T0 - 1000 + i, 10 + i, 1, NULL, NULL);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  for (int round = 0; round < 2; round++) {
    assert_int_equal(store_msg_recent_get(s, APP, 3, 4, &r), 0);
    assert_int_equal(r.last_seq, 1);
    assert_int_equal(r.last_time_s, T0 + 50);
    assert_int_equal(store_msg_recent_get(s, APP, 5, 6, &r), 0);
    assert_int_equal(r.last_seq, seq);
    assert_int_equal(r.last_time_s, T0 + 30);
    store_close(s);
    assert_int_equal(test_store_open(dir, &s), 0);
  }
  store_close(s);
}

/* The clock stepped back between an import and a later live message: the live message takes the import's
 * time (below a live message nothing is newer), in the same connection and after a restart (the cached
 * newest time read again). */
static void test_live_after_newer_import(void **st)
{
  (void)st;
  store_t *s;
  store_recent_t r;
  uint32_t seq;
  int64_t t;
  assert_int_equal(test_store_open(dir, &s), 0);
  append(s, 7, 8, T0, 1, 0, NULL, NULL);
  append(s, 8, 7, T0 + 500, 2, 1, NULL, NULL);
  append(s, 7, 8, T0 + 100, 3, 0, &seq, &t);
  assert_int_equal(seq, 3);
  assert_int_equal(t, T0 + 500);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  append(s, 8, 7, T0 + 600, 4, 1, NULL, NULL);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  append(s, 7, 8, T0 + 200, 5, 0, &seq, &t);
  assert_int_equal(seq, 5);
  assert_int_equal(t, T0 + 600);
  assert_int_equal(store_msg_recent_get(s, APP, 7, 8, &r), 0);
  assert_int_equal(r.last_seq, 5);
  assert_int_equal(r.last_time_s, T0 + 600);
  store_close(s);
}

/* The mark of "read up to time t" above after, as the definition says: the largest s <= the newest seq at
 * or before t such that no message of want[] in (after, s] is newer than t (0: nothing at or before t). */
static uint32_t mark_by_scan(uint32_t after, int64_t t)
{
  uint32_t upto = 0, mark;
  for (int i = 0; i < TOTAL; i++)
    if (want[i].time_s <= t && want[i].seq > upto) upto = want[i].seq;
  mark = upto;
  for (int i = 0; i < TOTAL; i++)
    if (want[i].seq > after && want[i].seq <= mark && want[i].time_s > t) mark = want[i].seq - 1;
  return mark;
}

/* store_msg_read_mark against the definition over the conversation of fill() (imports older than every
 * live message, then late imports among the first live messages' times), from several read positions and
 * times. */
#define READ_STEPS 3000 /* the most steps a read mark may take past 10,000 imports older than its time */
static void test_read_mark_by_time(void **st)
{
  (void)st;
  store_t *s = fill();
  uint64_t conv = store_c2c_conv(1, 2);
  const uint32_t afters[] = { 0, 10, LIVE, LIVE + 1500, LIVE + IMPORTS, 2 * LIVE + IMPORTS };
  const int64_t times[] = { T0 - 100000, T0 - 100000 + 700, T0 - 1, T0, T0 + 1, T0 + 7, T0 + 38, T0 + 79,
                            T0 + 999, T0 + 1000, T0 + 1020, T0 + 5000 };
  int64_t most = 0;
  step_trace(s, 1);
  for (size_t a = 0; a < sizeof afters / sizeof afters[0]; a++)
    for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
      uint32_t upto = 0, mark = 0, want_mark = mark_by_scan(afters[a], times[k]);
      for (int i = 0; i < TOTAL; i++)
        if (want[i].time_s <= times[k] && want[i].seq > upto) upto = want[i].seq;
      steps = 0;
      assert_int_equal(store_msg_read_mark(s, APP, conv, afters[a], upto, times[k], &mark), 0);
      if (steps > most) most = steps;
      if (upto > afters[a] && mark != want_mark)
        fail_msg("after %u, time %lld: mark %u, want %u", afters[a], (long long)times[k], mark, want_mark);
    }
  step_trace(s, 0);
  print_message("read marks: at most %lld steps\n", (long long)most);
  store_close(s);
}

/* One live message, then 10,000 imports older than it: "read up to the live message's time" marks every
 * one read without reading them (the newest at or before that time is the last import). Before §47 the
 * mark walked down from the last import to the live message, 64 rows a page: all 10,000. */
static void test_read_mark_over_imports(void **st)
{
  (void)st;
  store_t *s;
  uint32_t seq, mark = 0;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  append(s, 21, 22, T0, 1, 0, NULL, NULL);
  for (uint32_t i = 0; i < 10000; i++) append(s, 22, 21, T0 - 20000 + i, 10 + i, 1, &seq, NULL);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(seq, 10001);
  step_trace(s, 1);
  assert_int_equal(store_msg_read_mark(s, APP, store_c2c_conv(21, 22), 0, seq, T0 - 1, &mark), 0); /* warm */
  steps = 0;
  assert_int_equal(store_msg_read_mark(s, APP, store_c2c_conv(21, 22), 0, seq, T0, &mark), 0);
  step_trace(s, 0);
  assert_int_equal(mark, 10001);
  print_message("a read mark over 10,000 imports: %lld steps\n", (long long)steps);
  if (steps > READ_STEPS) fail_msg("the read mark took %lld steps (at most %d)", (long long)steps, READ_STEPS);
  store_close(s);
}

/* The mark by its definition over rows r[0..n) of one conversation (as mark_by_scan over want[]). */
static uint32_t mark_of(const mrow_t *r, int n, uint32_t after, int64_t t, uint32_t *upto)
{
  uint32_t mark = 0;
  for (int i = 0; i < n; i++)
    if (r[i].time_s <= t && r[i].seq > mark) mark = r[i].seq;
  *upto = mark;
  for (int i = 0; i < n; i++)
    if (r[i].seq > after && r[i].seq <= mark && r[i].time_s > t) mark = r[i].seq - 1;
  return mark;
}

#define HIST 3000      /* a history imported in time order, one message a second */
#define MARK_STEPS 1500 /* the most steps a read mark in its middle may take (21,452 before §48) */
static mrow_t hist[20 + HIST + 40 + 20];

/* Conversation (31, 32): 20 old live messages, HIST imports in time order after them, 40 live messages,
 * then 20 imports older than all (their seqs are the top, the newest at or before most read times). Every
 * mark over times and read positions against the definition; the steps of the marks in the history's
 * middle. */
static int64_t check_hist_marks(store_t *s, int n)
{
  uint64_t conv = store_c2c_conv(31, 32);
  const uint32_t afters[] = { 0, 10, 20, 21, 1000, 20 + HIST, 20 + HIST + 40, 20 + HIST + 50 };
  int64_t most = 0;
  step_trace(s, 1);
  for (size_t a = 0; a < sizeof afters / sizeof afters[0]; a++)
    for (int64_t t = T0 - 60010; t <= T0 + 50; t += 997) {
      int64_t tt = t > T0 - 39000 && t < T0 - 2000 ? T0 - 40000 + (t - T0 + 40000) % HIST : t;
      uint32_t upto, mark = 0, want_mark = mark_of(hist, n, afters[a], tt, &upto);
      if (upto <= afters[a]) continue;
      steps = 0;
      assert_int_equal(store_msg_read_mark(s, APP, conv, afters[a], upto, tt, &mark), 0);
      if (afters[a] <= 20 && tt > T0 - 40000 + 100 && tt < T0 - 40000 + HIST - 100 && steps > most) most = steps;
      if (mark != want_mark)
        fail_msg("after %u, time %lld: mark %u, want %u", afters[a], (long long)tt, mark, want_mark);
    }
  step_trace(s, 0);
  print_message("read marks in an imported history: at most %lld steps\n", (long long)most);
  if (most > MARK_STEPS) fail_msg("a read mark took %lld steps (at most %d)", (long long)most, MARK_STEPS);
  return most;
}

/* A read time in the middle of a history imported in time order: the first import newer than it is found
 * by a binary search over max_t (migration 51), not by reading the imports newer than it (§47: 21,452 steps
 * for 3,000). The same after migration 51 on imports stored without max_t. */
static int fill_hist(store_t *s)
{
  int n = 0;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < 20; i++, n++) append(s, 31, 32, T0 - 50000 + i, 1 + n, 0, &hist[n].seq, &hist[n].time_s);
  for (int i = 0; i < HIST; i++, n++) append(s, 32, 31, T0 - 40000 + i, 1 + n, 1, &hist[n].seq, &hist[n].time_s);
  for (int i = 0; i < 40; i++, n++) append(s, 31, 32, T0 + i, 1 + n, 0, &hist[n].seq, &hist[n].time_s);
  for (int i = 0; i < 20; i++, n++) append(s, 32, 31, T0 - 60000 + i, 1 + n, 1, &hist[n].seq, &hist[n].time_s);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  return n;
}

static void test_read_mark_in_history(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  int n = fill_hist(s);
  check_hist_marks(s, n);
  assert_int_equal(store_exec(s, "ALTER TABLE c2c_msg DROP COLUMN max_t; DROP TABLE grp_apply_mark;"
                                 "DROP INDEX grp_msg_chg; ALTER TABLE grp_msg DROP COLUMN chg; DROP TABLE grp_chg; DROP INDEX grp_msg_dedupe; ALTER TABLE grp_msg DROP COLUMN chash;"
  " CREATE INDEX grp_msg_random ON grp_msg(sdkappid, group_no, random); ALTER TABLE c2c_msg DROP COLUMN orig_hash; DROP TABLE c2c_trimmed; PRAGMA user_version=50"), 0);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  check_hist_marks(s, n);
  store_close(s);
}

static void on_seq(void *ud, const store_msg_t *m) { *(uint32_t *)ud = m->seq; }

/* store_msg_newest_at against store_msg_history's first message (the walk down from before_seq it
 * replaces) over conversation conv for several bounds; returns the most steps newest_at took. */
static int64_t check_newest(store_t *s, uint64_t conv, const int64_t *times, size_t nt, const uint32_t *befores,
                            size_t nb)
{
  int64_t most = 0;
  const int64_t mins[] = { 0, T0 - 45000, T0 - 39500, T0 + 5 };
  for (size_t b = 0; b < nb; b++)
    for (size_t m = 0; m < sizeof mins / sizeof mins[0]; m++)
      for (size_t k = 0; k < nt; k++) {
        uint32_t want = 0, got = 99;
        steps = 0;
        assert_int_equal(store_msg_history(s, APP, conv, befores[b], 0, mins[m], times[k], 1, on_seq, &want), 0);
        int64_t walk = steps;
        steps = 0;
        assert_int_equal(store_msg_newest_at(s, APP, conv, befores[b], mins[m], times[k], &got), 0);
        if (steps > most) most = steps;
        if (steps > 2 * walk + 1000) /* the imports read in turn with the walk: never more than twice it */
          fail_msg("before %u, times [%lld, %lld]: %lld steps, the walk %lld", befores[b], (long long)mins[m],
                   (long long)times[k], (long long)steps, (long long)walk);
        if (got != want)
          fail_msg("before %u, times [%lld, %lld]: seq %u, want %u", befores[b], (long long)mins[m],
                   (long long)times[k], got, want);
      }
  return most;
}

/* The newest message at or before a read time (the step before a time read mark): 10,000 live messages
 * and a time at the 100th. store_msg_history (what the read ran) walked down from the top over every
 * newer message; newest_at is a binary search. The same answers as store_msg_history over the
 * conversations of fill() and fill_hist(), with and without a purge floor. */
#define NEWEST_STEPS 1000 /* the most steps newest_at may take past 9,900 newer live messages */
static void test_newest_at(void **st)
{
  (void)st;
  store_t *s = fill();
  int n = fill_hist(s);
  uint64_t conv = store_c2c_conv(41, 42);
  uint32_t seq = 0;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < 10000; i++) append(s, 41, 42, T0 + i, 1 + (uint32_t)i, 0, NULL, NULL);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  step_trace(s, 1);
  /* warm: a statement's count holds its steps since it last finished while traced */
  assert_int_equal(store_msg_history(s, APP, conv, 0, 0, 0, T0 + 99, 1, on_seq, &seq), 0);
  assert_int_equal(store_msg_newest_at(s, APP, conv, 0, 0, T0 + 99, &seq), 0);
  steps = 0;
  assert_int_equal(store_msg_history(s, APP, conv, 0, 0, 0, T0 + 99, 1, on_seq, &seq), 0);
  int64_t walk = steps;
  assert_int_equal(seq, 100);
  steps = 0;
  assert_int_equal(store_msg_newest_at(s, APP, conv, 0, 0, T0 + 99, &seq), 0);
  print_message("the newest at or before the 100th of 10,000 live messages: %lld steps (the walk: %lld)\n",
                (long long)steps, (long long)walk);
  assert_int_equal(seq, 100);
  if (steps > NEWEST_STEPS) fail_msg("newest_at took %lld steps (at most %d)", (long long)steps, NEWEST_STEPS);

  const int64_t times[] = { T0 - 100000, T0 - 100000 + 700, T0 - 60000 + 5, T0 - 49990, T0 - 40000 + 1500,
                            T0 - 38001, T0 - 1, T0, T0 + 7, T0 + 38, T0 + 1000, T0 + 1020, T0 + 5000 };
  const uint32_t befores[] = { 0, 15, LIVE + 1, LIVE + 1500, 2 * LIVE + IMPORTS + 5, 21, 20 + HIST + 30 };
  for (int floor = 0; floor < 2; floor++) {
    int64_t most = check_newest(s, store_c2c_conv(1, 2), times, sizeof times / sizeof times[0], befores, 5);
    int64_t most_h = check_newest(s, store_c2c_conv(31, 32), times, sizeof times / sizeof times[0], befores, 7);
    print_message("newest_at%s: at most %lld steps (fill), %lld (an imported history of %d)\n",
                  floor ? " under a floor" : "", (long long)most, (long long)most_h, n);
    /* a floor over everything stored so far older than the history's middle */
    if (!floor) assert_int_equal(store_exec(s, "INSERT INTO c2c_purge_floor(sdkappid,before_s,upto_id) VALUES(1400000011,"
                                   "1700000000-38500,(SELECT max(id) FROM c2c_msg))"), 0);
  }
  step_trace(s, 0);
  store_close(s);
}

/* A roaming page over live messages the purge floor covers (the floor is raised when a pass begins; the
 * pass deletes them after): 10,000 live messages, a floor over the first 9,990. The page lists the 10
 * others and stops at the first covered one (every live message below it is covered too); it stepped
 * over all 9,990 before. */
#define FLOOR_PAGE_STEPS 2000
static void test_roam_stops_at_the_floor(void **st)
{
  (void)st;
  store_t *s;
  uint64_t conv = store_c2c_conv(51, 52);
  page_t p = { .n = 0 };
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < 10000; i++) append(s, 51, 52, T0 + i, 1 + (uint32_t)i, 0, NULL, NULL);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_exec(s, "INSERT INTO c2c_purge_floor(sdkappid,before_s,upto_id) VALUES(1400000011,"
                                 "1700000000+9990,(SELECT max(id) FROM c2c_msg))"), 0);
  step_trace(s, 1);
  assert_int_equal(store_msg_roam(s, APP, conv, 51, 0, 0, INT64_MAX, INT64_MAX, 0, PAGE, on_msg, &p), 0); /* warm */
  p.n = 0;
  steps = 0;
  assert_int_equal(store_msg_roam(s, APP, conv, 51, 0, 0, INT64_MAX, INT64_MAX, 0, PAGE, on_msg, &p), 0);
  step_trace(s, 0);
  assert_int_equal(p.n, 10);
  for (int i = 0; i < p.n; i++) assert_int_equal(p.r[i].seq, 10000 - (uint32_t)i);
  print_message("a page over 9,990 messages under the floor: %lld steps\n", (long long)steps);
  if (steps > FLOOR_PAGE_STEPS) fail_msg("the page took %lld steps (at most %d)", (long long)steps, FLOOR_PAGE_STEPS);
  store_close(s);
}

/* §53: a roaming page's imports stop at the floor though messages were stored in the conversation since
 * its pass: 10 live messages, 5,000 imports, a floor over the first 4,990 imports, then 20 live messages.
 * The page below the first live message lists the 10 shown imports within SINCE_PAGE_STEPS; before, it
 * stepped over the 4,990 covered ones (the floor's bound was used only when nothing was stored since).
 * An old import stored since is listed at its time, in as few steps. */
#define SINCE_PAGE_STEPS 3000
static void test_roam_floor_after_new_messages(void **st)
{
  (void)st;
  store_t *s;
  uint64_t conv = store_c2c_conv(61, 62);
  page_t p = { .n = 0 };
  uint32_t seq;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < 10; i++) append(s, 61, 62, T0 + i, 1 + (uint32_t)i, 0, NULL, NULL);
  for (int i = 0; i < 5000; i++) append(s, 62, 61, T0 - 100000 + i, 100 + (uint32_t)i, 1, NULL, NULL);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_exec(s, "INSERT INTO c2c_purge_floor(sdkappid,before_s,upto_id) VALUES(1400000011,"
                                 "1700000000-100000+4990,(SELECT max(id) FROM c2c_msg))"), 0);
  for (int i = 0; i < 20; i++) append(s, 61, 62, T0 + 100 + i, 10000 + (uint32_t)i, 0, NULL, NULL);
  for (int round = 0; round < 2; round++) {
    step_trace(s, 1);
    p.n = 0;
    assert_int_equal(store_msg_roam(s, APP, conv, 61, 0, 0, INT64_MAX, T0, 1, PAGE, on_msg, &p), 0); /* warm */
    p.n = 0;
    steps = 0;
    assert_int_equal(store_msg_roam(s, APP, conv, 61, 0, 0, INT64_MAX, T0, 1, PAGE, on_msg, &p), 0);
    step_trace(s, 0);
    print_message("a page over 4,990 imports under the floor, 20 messages since%s: %lld steps\n",
                  round ? " and an old import" : "", (long long)steps);
    if (steps > SINCE_PAGE_STEPS) fail_msg("the page took %lld steps (at most %d)", (long long)steps, SINCE_PAGE_STEPS);
    assert_int_equal(p.n, 10 + round);
    for (int i = 0; i < 10; i++) assert_int_equal(p.r[i].seq, 5010 - (uint32_t)i);
    if (round) assert_int_equal(p.r[10].seq, seq);
    if (round) break;
    append(s, 62, 61, T0 - 100000 + 5, 99999, 1, &seq, NULL); /* stored after the pass began: shown */
    assert_int_equal(seq, 5031);
  }
  store_close(s);
}

static uint32_t rnd_state;
static uint32_t rnd(void)
{
  rnd_state = rnd_state * 1103515245u + 12345u;
  return rnd_state >> 8;
}

/* The roaming page by its definition: the messages below (bt, bs) in (time, seq) order, from min_t, after
 * the clear, but the viewer's SyncOtherMachine 2 ones, that the floor shows; one statement over every row. */
static int roam_by_scan(store_t *s, uint64_t conv, uint32_t viewer, uint32_t after, int64_t min_t, int64_t bt,
                        int64_t bs, int limit, mrow_t *out)
{
  sqlite3_stmt *q;
  int n = 0;
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), "SELECT seq,time_s FROM c2c_msg WHERE sdkappid=?1"
                                      " AND conv=?2 AND (time_s,seq)<(?3,?4) AND time_s>=?5 AND seq>?6"
                                      " AND NOT ((flags&64)!=0 AND from_no=?7) AND (time_s>=coalesce((SELECT before_s FROM c2c_purge_floor WHERE"
                                      " sdkappid=?1),-9223372036854775807-1) OR id>coalesce((SELECT upto_id FROM"
                                      " c2c_purge_floor WHERE sdkappid=?1),0)) ORDER BY time_s DESC,seq DESC LIMIT ?8",
                                      -1, &q, NULL), SQLITE_OK);
  int64_t v[] = { APP, (int64_t)conv, bt, bs, min_t, after, viewer, limit };
  for (int i = 0; i < 8; i++) sqlite3_bind_int64(q, i + 1, v[i]);
  while (sqlite3_step(q) == SQLITE_ROW)
    out[n++] = (mrow_t){ (uint32_t)sqlite3_column_int64(q, 0), 0, sqlite3_column_int64(q, 1) };
  sqlite3_finalize(q);
  return n;
}

/* Every roaming page equals the definition's over random conversations: live and imported messages mixed
 * (imports of any time up to the clock), SyncOtherMachine 2 and NoLastMsg messages of either side, recalls,
 * and a floor raised in the middle or near the end (what was stored since, imports of old times included,
 * is shown: either of the page's two readers of the imports under the floor finishes first), for
 * pages of 1, 3, 7 and 20, either viewer, from a clear and from a lower time. */
#define RND_MSGS 700
static void test_roam_pages_random(void **st)
{
  (void)st;
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  for (uint32_t seed = 1; seed <= 4; seed++) {
    uint32_t a = 100 + 2 * seed, b = a + 1, seq;
    uint64_t conv = store_c2c_conv(a, b);
    int64_t now = T0, t;
    rnd_state = seed;
    assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
    for (int i = 0; i < RND_MSGS; i++) {
      uint32_t r = rnd() % 100, from = rnd() % 2 ? a : b, flags = 0;
      if (r < 45) flags = STORE_MSG_IMPORTED;
      if (r % 10 == 1) flags |= STORE_MSG_NOT_FROM;
      if (r % 10 == 2) flags |= STORE_MSG_NO_LAST;
      if (flags & STORE_MSG_IMPORTED) t = now - (rnd() % 3 ? (int64_t)(rnd() % 3000) : (int64_t)(rnd() % 20));
      else t = now += rnd() % 4;
      append_flags(s, from, from == a ? b : a, t, 1000 + (uint32_t)i, flags, &seq, NULL);
      /* a pass: its floor covers what is stored now older than its horizon */
      if (i == (seed % 2 ? RND_MSGS / 2 : RND_MSGS - 6 * (int)seed)) {
        assert_int_equal(store_exec(s, "COMMIT"), 0);
        char sql[256];
        snprintf(sql, sizeof sql, "INSERT INTO c2c_purge_floor(sdkappid,before_s,upto_id) VALUES(1400000011,%lld,"
                 "(SELECT max(id) FROM c2c_msg)) ON CONFLICT DO UPDATE SET before_s=excluded.before_s,"
                 "upto_id=excluded.upto_id", (long long)(now - 2000 + (int64_t)(rnd() % 2500)));
        assert_int_equal(store_exec(s, sql), 0);
        assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
      }
    }
    assert_int_equal(store_exec(s, "COMMIT"), 0);
    for (int i = 0; i < RND_MSGS / 20; i++)
      assert_int_equal(store_msg_set_flags(s, APP, conv, 1 + rnd() % RND_MSGS, STORE_MSG_RECALLED), 0);
    const int limits[] = { 1, 3, 7, 20 };
    const uint32_t afters[] = { 0, RND_MSGS / 3 };
    const int64_t mins[] = { 0, now - 1500 };
    for (int v = 0; v < 2; v++)
      for (size_t l = 0; l < 4; l++)
        for (size_t k = 0; k < 2; k++)
          for (size_t m = 0; m < 2; m++) {
            int64_t bt = INT64_MAX, bs = (int64_t)UINT32_MAX + 1;
            for (int pages = 0;; pages++) {
              page_t p = { .n = 0 };
              mrow_t want_p[PAGE];
              int n = roam_by_scan(s, conv, v ? b : a, afters[k], mins[m], bt, bs, limits[l], want_p);
              int64_t below_t = pages ? bt : INT64_MAX;
              uint32_t below_seq = pages ? (uint32_t)bs : 0;
              assert_int_equal(store_msg_roam(s, APP, conv, v ? b : a, afters[k], mins[m], INT64_MAX, below_t,
                                              below_seq, limits[l], on_msg, &p), 0);
              if (p.n != n) fail_msg("seed %u page %d of %d: %d messages, want %d", seed, pages, limits[l], p.n, n);
              for (int i = 0; i < n; i++)
                if (p.r[i].seq != want_p[i].seq)
                  fail_msg("seed %u page %d of %d: seq %u, want %u", seed, pages, limits[l], p.r[i].seq, want_p[i].seq);
              if (n < limits[l]) break;
              bt = want_p[n - 1].time_s;
              bs = want_p[n - 1].seq;
            }
          }
  }
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_roam_pages_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_upgrade_finds_runs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_last_message_past_64_imports, setup, teardown),
    cmocka_unit_test_setup_teardown(test_live_after_newer_import, setup, teardown),
    cmocka_unit_test_setup_teardown(test_read_mark_by_time, setup, teardown),
    cmocka_unit_test_setup_teardown(test_read_mark_over_imports, setup, teardown),
    cmocka_unit_test_setup_teardown(test_read_mark_in_history, setup, teardown),
    cmocka_unit_test_setup_teardown(test_newest_at, setup, teardown),
    cmocka_unit_test_setup_teardown(test_roam_stops_at_the_floor, setup, teardown),
    cmocka_unit_test_setup_teardown(test_roam_floor_after_new_messages, setup, teardown),
    cmocka_unit_test_setup_teardown(test_roam_pages_random, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
