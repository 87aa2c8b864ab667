/* The conversation lists' last message and the retention purge's "last
 * listed message" over a user's own SyncOtherMachine 2 messages
 * (docs/decisions/messaging-c2c-conversations.md §54), counted in SQLite
 * virtual machine steps (SQLITE_STMTSTATUS_VM_STEP summed over every
 * statement, read in a profile trace callback: tests/lib/step_count.h;
 * every statement's count is reset before a measure):
 *
 * - A sends one message to B, then N SyncOtherMachine 2 messages, which A's
 *   list does not show: A's conversation row (store_msg_recent_list,
 *   store_msg_recent_get) still names the first one, and a retention pass
 *   that judges it expired keeps it. The cost of both must not follow N:
 *   steps at N = 5,000 below twice those at N = 50;
 * - the lookup's answer equals the SQL it replaced over randomised
 *   conversations (normal, NoLastMsg, SyncOtherMachine 2 of both users,
 *   imported, recalled messages; held and written rows; some purged).
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
#include <sys/stat.h>

#include "store/sqlite_msg_int.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "msg_kinds.h"
#include "step_count.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000012u
#define T0 1700000000
#define DAY 86400

static char dir[64];

/* the window's reads of a purge pass (every row of the window, whatever it holds): left out of its count */
static int window_read(const char *sql)
{
  return !strncmp(sql, "SELECT max(id),count(*) FROM (SELECT id FROM c2c_msg", 52) ||
         !strncmp(sql, "SELECT id,sdkappid,time_s FROM c2c_msg WHERE id>", 48);
}

static int setup(void **st)
{
  (void)st;
  step_skip = window_read;
  return test_tmpdir_make(dir, sizeof dir, "msglist");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

/* kind: msg_kinds.h */
#define append(s, from, to, t, key, kind) msg_append_kind(s, APP, from, to, t, key, kind)

static store_recent_t got;
static int nrows;
static void on_row(void *ud, const store_recent_t *r) { (void)ud; got = *r; nrows++; }

typedef struct cost { int64_t list, get, purge, trim; } cost_t;

/* 91 sends one message to 92 ten days ago, then n messages of kind now (in transactions of 700: held and
 * written rows): 1, its SyncOtherMachine 2 messages (91's list does not show them: its row names the first
 * message, 92's the newest); 2, NoLastMsg messages of either user in turn (neither list shows them: both rows
 * name the first). A pass with a horizon of a day judges the first one expired and keeps it (a list shows
 * it). The cost of viewer's list, get and trim, and of the pass. */
static cost_t hidden_costs(int n, int kind, uint32_t viewer)
{
  char sub[96];
  store_t *s;
  cost_t c;
  uint32_t peer = 183 - viewer;
  snprintf(sub, sizeof sub, "%s/k%d-v%u-n%d", dir, kind, viewer, n);
  assert_int_equal(mkdir(sub, 0700), 0);
  assert_int_equal(test_store_open(sub, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  append(s, 91, 92, T0 - 10 * DAY, 1, 0);
  for (int i = 0; i < n; i++) {
    if (i % 700 == 699) {
      assert_int_equal(store_exec(s, "COMMIT"), 0);
      assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
    }
    uint32_t from = kind == 2 && i % 2 ? 92 : 91;
    append(s, from, 183 - from, T0 + i, 100 + (uint32_t)i, kind);
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_msg_recent_list(s, APP, viewer, on_row, NULL), 0); /* the log's rows merged, statements made */

  nrows = 0;
  step_trace(s, 1);
  assert_int_equal(store_msg_recent_list(s, APP, viewer, on_row, NULL), 0);
  c.list = steps;
  step_trace(s, 0);
  assert_int_equal(nrows, 1);
  assert_int_equal(got.peer_no, peer);
  assert_int_equal(got.last_seq, 1);
  assert_int_equal(got.last_time_s, T0 - 10 * DAY);

  store_recent_t r;
  step_trace(s, 1);
  assert_int_equal(store_msg_recent_get(s, APP, viewer, peer, &r), 0);
  c.get = steps;
  step_trace(s, 0);
  assert_int_equal(r.last_seq, 1);
  assert_int_equal(store_msg_recent_get(s, APP, peer, viewer, &r), 0);
  assert_int_equal(r.last_seq, kind == 1 && peer == 92 ? (uint32_t)n + 1 : 1);

  const store_msg_cut_t cut = { APP, T0 - DAY, 0 };
  int64_t cursor = 0, deleted = 0, total = 0;
  int more;
  step_trace(s, 1);
  do {
    assert_int_equal(store_msg_purge_msgs(s, &cut, 1, 2000, &cursor, &deleted, &more), 0);
    total += deleted;
  } while (more);
  c.purge = steps;
  step_trace(s, 0);
  assert_int_equal(total, 0); /* the first message: a listed one */
  assert_int_equal(store_msg_recent_get(s, APP, viewer, peer, &r), 0);
  assert_int_equal(r.last_seq, 1);

  int64_t trimmed;
  step_trace(s, 1); /* a whole trim of the viewer's rows (keep 10: its one row stays), both phases */
  assert_int_equal(store_msg_recent_trim(s, APP, viewer, 10, INT64_MIN, 100, &trimmed, &more), 0);
  c.trim = steps;
  step_trace(s, 0);
  assert_int_equal(trimmed, 0);
  assert_int_equal(more, 0);
  store_close(s);
  return c;
}

/* The costs at N = 50 and N = 5,000: those at 5,000 below twice those at 50. */
static void costs_flat(int kind, uint32_t viewer)
{
  cost_t a = hidden_costs(50, kind, viewer), b = hidden_costs(5000, kind, viewer);
  print_message("kind %d viewer %u: list %lld / %lld steps, get %lld / %lld, purge pass %lld / %lld, trim %lld / %lld"
                " (N = 50 / 5,000)\n", kind, viewer, (long long)a.list, (long long)b.list, (long long)a.get,
                (long long)b.get, (long long)a.purge, (long long)b.purge, (long long)a.trim, (long long)b.trim);
  if (b.list >= 2 * a.list || b.get >= 2 * a.get || b.purge >= 2 * a.purge || b.trim >= 2 * a.trim)
    fail_msg("kind %d viewer %u: the steps follow N: list %lld/%lld, get %lld/%lld, purge %lld/%lld, trim %lld/%lld",
             kind, viewer, (long long)b.list, (long long)a.list, (long long)b.get, (long long)a.get,
             (long long)b.purge, (long long)a.purge, (long long)b.trim, (long long)a.trim);
}

static void test_own_hidden_run_costs_no_step_each(void **st)
{
  (void)st;
  costs_flat(1, 91);
}

/* N NoLastMsg messages of both users in turn: neither user's list, get, trim nor the pass reads them one by one
 * (§57) */
static void test_no_last_run_costs_no_step_each(void **st)
{
  (void)st;
  costs_flat(2, 91);
  costs_flat(2, 92);
}

/* The SQL the lookup replaced (RECENT_LASTJOIN's and PURGE_LISTED's filter, row by row): the newest message
 * below ?3 that user ?4's list shows; and PURGE_MSG's rule, for a pass with horizon ?2 and upto_id ?3: the
 * expired messages it deletes. */
#define OLD_LISTED "SELECT m.seq,m.time_s,m.flags FROM c2c_msg m WHERE m.sdkappid=?1 AND m.conv=?2 AND m.seq<?3" \
  " AND (m.flags&4)=0 AND NOT ((m.flags&64)!=0 AND m.from_no=?4) ORDER BY m.seq DESC LIMIT 1"
#define OLD_PURGE_LISTED(who) "(SELECT m3.seq FROM c2c_msg m3 WHERE m3.sdkappid=c2c_msg.sdkappid" \
  " AND m3.conv=c2c_msg.conv AND (m3.flags&4)=0 AND NOT ((m3.flags&64)!=0 AND m3.from_no=c2c_msg." who ")" \
  " ORDER BY m3.seq DESC LIMIT 1)"
#define OLD_PURGED "SELECT id FROM c2c_msg WHERE sdkappid=?1 AND time_s<?2 AND seq<(SELECT max(seq) FROM c2c_msg m2" \
  " WHERE m2.sdkappid=c2c_msg.sdkappid AND m2.conv=c2c_msg.conv) AND ((flags&4)!=0 OR" \
  " (((flags&64)!=0 OR seq<" OLD_PURGE_LISTED("from_no") ") AND seq<" OLD_PURGE_LISTED("to_no") ")) ORDER BY id"
#define MIXN 700
/* the by-time rule (§34, §45) over every row: the newest message user ?3's list shows by (time, seq) among the
 * imports and the newest live one by seq below ?4 */
#define OLD_LISTS(m) " AND (" m ".flags&4)=0 AND NOT ((" m ".flags&64)!=0 AND " m ".from_no=?3)"
#define OLD_BY_TIME "SELECT seq,time_s FROM (SELECT * FROM (SELECT seq,time_s FROM c2c_msg i WHERE i.sdkappid=?1" \
  " AND i.conv=?2 AND (i.flags&32)!=0" OLD_LISTS("i") " ORDER BY time_s DESC,seq DESC LIMIT 1) UNION ALL" \
  " SELECT * FROM (SELECT seq,time_s FROM c2c_msg l WHERE l.sdkappid=?1 AND l.conv=?2 AND l.seq<?4 AND (l.flags&32)=0" \
  OLD_LISTS("l") " ORDER BY seq DESC LIMIT 1)) ORDER BY time_s DESC,seq DESC LIMIT 1"

static sqlite3_stmt *prep(store_t *s, const char *sql)
{
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), sql, -1, &st, NULL), SQLITE_OK);
  return st;
}

/* The old filter's answer for user below seq below: its seq (0: none), time and flags. */
static void old_listed(sqlite3_stmt *st, uint64_t conv, uint32_t user, int64_t below, sqlisted_t *o)
{
  *o = (sqlisted_t){ 0, 0, 0, 0 };
  sqlite3_reset(st);
  sqlite3_bind_int64(st, 1, APP);
  sqlite3_bind_int64(st, 2, (int64_t)conv);
  sqlite3_bind_int64(st, 3, below);
  sqlite3_bind_int64(st, 4, user);
  if (sqlite3_step(st) == SQLITE_ROW)
    *o = (sqlisted_t){ (uint32_t)sqlite3_column_int64(st, 0), 0, sqlite3_column_int64(st, 1),
                       sqlite3_column_int64(st, 2) };
  sqlite3_reset(st);
}

/* The trim's rows as TRIM_ROWS read them before (the old filter in SQL, the newest message's time for a row
 * with none listed or hidden), for user ?2 from peer ?3 on */
#define OLD_LASTJOIN " LEFT JOIN c2c_msg l ON l.id=(SELECT m.id FROM c2c_msg m WHERE m.sdkappid=r.sdkappid" \
  " AND m.conv=" RECENT_CONV " AND (m.flags&4)=0 AND NOT ((m.flags&64)!=0 AND m.from_no=r.user_no)" \
  " ORDER BY m.seq DESC LIMIT 1)"
#define OLD_TRIM_ROWS "SELECT r.peer_no,r.pinned_at,CASE WHEN l.seq IS NULL OR (r.hidden_seq>0 AND l.seq<=r.hidden_seq)" \
  " THEN coalesce((SELECT x.time_s FROM c2c_msg x WHERE x.sdkappid=r.sdkappid AND x.conv=" RECENT_CONV \
  " ORDER BY x.seq DESC LIMIT 1),0) ELSE l.time_s END,coalesce(l.seq,0)," \
  "r.hidden_seq>0 AND coalesce(l.seq,0)<=r.hidden_seq,coalesce(l.flags,0),r.hidden_seq FROM c2c_recent r" \
  OLD_LASTJOIN " WHERE r.sdkappid=?1 AND r.user_no=?2 AND r.peer_no>?3 ORDER BY r.peer_no LIMIT ?4"

/* Each user's trim key of its row (sq__trim_row_key on TRIM_ROWS) against the old TRIM_ROWS and its by-time
 * step, with the row not hidden and hidden at several seqs. */
static void check_trim_keys(store_t *s, int seed)
{
  sqlite3_stmt *old = prep(s, OLD_TRIM_ROWS);
  static const int64_t hides[] = { 0, 1, 150, 351, 600, 699 };
  for (uint32_t u = 71; u <= 72; u++)
    for (size_t h = 0; h < sizeof hides / sizeof hides[0]; h++) {
      assert_int_equal(store_msg_recent_set(s, APP, u, 143 - u, "hidden_seq", hides[h]), 0);
      sqlite3_bind_int64(old, 1, APP);
      sqlite3_bind_int64(old, 2, u);
      sqlite3_bind_int64(old, 3, 0);
      sqlite3_bind_int64(old, 4, 10);
      assert_int_equal(sqlite3_step(old), SQLITE_ROW);
      sqtrim_key_t want = { sqlite3_column_int64(old, 2), (uint32_t)sqlite3_column_int64(old, 3),
                            (uint32_t)sqlite3_column_int64(old, 0) }, have;
      int want_hidden = sqlite3_column_int64(old, 4) != 0, have_hidden;
      if (!want_hidden && want.seq && (sqlite3_column_int64(old, 5) & STORE_MSG_IMPORTED)) {
        assert_int_equal(sq__last_by_time(s, APP, u, want.peer, &want.seq, &want.time_s), 0);
        want_hidden = want.seq <= (uint32_t)sqlite3_column_int64(old, 6);
      }
      sqlite3_reset(old);
      sqlite3_stmt *st = sq__msg_stmt(s, M_TRIM_ROWS);
      assert_non_null(st);
      BIND(st, APP, u, 0, 10);
      assert_int_equal(sqlite3_step(st), SQLITE_ROW);
      int rc = sq__trim_row_key(s, APP, u, st, &have, &have_hidden);
      sqlite3_reset(st);
      assert_int_equal(rc, 0);
      if (have.seq != want.seq || have.time_s != want.time_s || have.peer != want.peer || have_hidden != want_hidden)
        fail_msg("seed %d user %u hidden_seq %lld: trim key %u %lld hidden %d, the old one's %u %lld %d", seed, u,
                 (long long)hides[h], have.seq, (long long)have.time_s, have_hidden, want.seq,
                 (long long)want.time_s, want_hidden);
    }
  sqlite3_finalize(old);
}

/* The by-time step (sq__last_by_time) from seq top (its live half: the newest listed live message below top)
 * against OLD_BY_TIME, prepared once by the caller as st (reset here: it was prepared anew for each of the
 * ~50,000 calls: 45% of this test's CPU time, checking nothing). */
static void by_time(store_t *s, sqlite3_stmt *st, uint64_t conv, uint32_t u, uint32_t top, int seed)
{
  uint32_t seq = top;
  int64_t t = 0;
  assert_int_equal(sq__last_by_time(s, APP, u, 143 - u, &seq, &t), 0);
  sqlite3_reset(st);
  sqlite3_bind_int64(st, 1, APP);
  sqlite3_bind_int64(st, 2, (int64_t)conv);
  sqlite3_bind_int64(st, 3, u);
  sqlite3_bind_int64(st, 4, top);
  if (sqlite3_step(st) != SQLITE_ROW) { /* nothing listed: top stays */
    assert_int_equal(seq, top);
    sqlite3_reset(st);
    return;
  }
  if (seq != (uint32_t)sqlite3_column_int64(st, 0) || t != sqlite3_column_int64(st, 1))
    fail_msg("seed %d user %u from %u: by time %u %lld, the SQL's %lld %lld", seed, u, top, seq, (long long)t,
             (long long)sqlite3_column_int64(st, 0), (long long)sqlite3_column_int64(st, 1));
  sqlite3_reset(st);
}

/* The new lookup against the old filter, for both users below every seq up to the top (and the by-time step
 * from there against the rule in SQL); and each user's
 * conversation row (get and list) against the old filter's newest with the by-time rule and the floor. */
static void check_listed(store_t *s, uint64_t conv, uint32_t top, int seed)
{
  sqlite3_stmt *old = prep(s, OLD_LISTED), *bt = prep(s, OLD_BY_TIME);
  sqlite3_stmt *cov = prep(s, "SELECT NOT" FLOOR_SHOWS("time_s", "id", "?1") " FROM c2c_msg WHERE sdkappid=?1"
                              " AND conv=?2 AND seq=?3");
  for (uint32_t u = 71; u <= 72; u++) {
    for (int64_t below = 1; below <= (int64_t)top + 1; below++) {
      sqlisted_t want, have;
      old_listed(old, conv, u, below, &want);
      assert_int_equal(sq__msg_listed(s, APP, conv, u, below, below % 2, &have), 0);
      if (have.seq != want.seq || have.time_s != want.time_s || have.flags != want.flags)
        fail_msg("seed %d user %u below %lld: seq %u time %lld flags %lld, the old filter's %u %lld %lld", seed, u,
                 (long long)below, have.seq, (long long)have.time_s, (long long)have.flags, want.seq,
                 (long long)want.time_s, (long long)want.flags);
      by_time(s, bt, conv, u, (uint32_t)below, seed);
    }
    sqlisted_t want;
    int64_t covered = 0;
    old_listed(old, conv, u, (int64_t)top + 1, &want);
    uint32_t seq = want.seq;
    int64_t t = want.time_s;
    if (seq && (want.flags & STORE_MSG_IMPORTED)) by_time(s, bt, conv, u, seq, seed);
    if (seq && (want.flags & STORE_MSG_IMPORTED)) assert_int_equal(sq__last_by_time(s, APP, u, 143 - u, &seq, &t), 0);
    if (seq) {
      sqlite3_bind_int64(cov, 1, APP);
      sqlite3_bind_int64(cov, 2, (int64_t)conv);
      sqlite3_bind_int64(cov, 3, seq);
      assert_int_equal(sqlite3_step(cov), SQLITE_ROW);
      covered = sqlite3_column_int64(cov, 0);
      sqlite3_reset(cov);
    }
    store_recent_t r;
    assert_int_equal(store_msg_recent_get(s, APP, u, 143 - u, &r), 0);
    nrows = 0;
    assert_int_equal(store_msg_recent_list(s, APP, u, on_row, NULL), 0);
    assert_int_equal(nrows, 1);
    if (r.last_seq != seq || r.last_time_s != t || r.last_covered != (covered != 0) || got.last_seq != seq ||
        got.last_time_s != t || got.last_covered != r.last_covered)
      fail_msg("seed %d user %u: get %u %lld %d, list %u %lld %d, want %u %lld %d", seed, u, r.last_seq,
               (long long)r.last_time_s, r.last_covered, got.last_seq, (long long)got.last_time_s, got.last_covered,
               seq, (long long)t, (int)covered);
  }
  sqlite3_finalize(old);
  sqlite3_finalize(bt);
  sqlite3_finalize(cov);
  check_trim_keys(s, seed);
}

/* A pass with horizon before_s (in one transaction, steps of 97 deletions) deletes exactly what PURGE_MSG's rule
 * deleted. */
static void pass(store_t *s, int64_t before_s, int seed)
{
  const store_msg_cut_t cut = { APP, before_s, 0 };
  sqlite3_stmt *st = prep(s, OLD_PURGED);
  static int64_t gone[2 * MIXN];
  int64_t ngone = 0, cursor = 0, deleted, total = 0;
  int more;
  sqlite3_bind_int64(st, 1, APP);
  sqlite3_bind_int64(st, 2, before_s);
  while (sqlite3_step(st) == SQLITE_ROW) gone[ngone++] = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  do {
    assert_int_equal(store_msg_purge_msgs(s, &cut, 1, 97, &cursor, &deleted, &more), 0);
    total += deleted;
  } while (more);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  if (!ngone || total != ngone) fail_msg("seed %d: the pass deleted %lld, the old rule %lld", seed, (long long)total,
                                         (long long)ngone);
  st = prep(s, "SELECT 1 FROM c2c_msg WHERE id=?1");
  for (int64_t i = 0; i < ngone; i++) {
    sqlite3_bind_int64(st, 1, gone[i]);
    if (sqlite3_step(st) != SQLITE_DONE) fail_msg("seed %d: row %lld kept", seed, (long long)gone[i]);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
}

/* A randomised conversation of 71 and 72 (runs of normal, NoLastMsg and SyncOtherMachine 2 messages of
 * either user, some of the latter NoLastMsg too; imports older than the live ones, some NoLastMsg; some
 * recalled; another conversation's sends between; transactions of varied sizes: runs continued from held and
 * written rows), checked half-way inside a transaction and at the end; then a pass with a horizon in the
 * middle, and one past every message, each deletes exactly what PURGE_MSG's rule deleted, and the rows are
 * checked again (under the floor it raised). */
static void mixed(int seed)
{
  /* seeds above 6: long runs (up to 150) of NoLastMsg messages and of mixes, each message of the latter
   * NoLastMsg, SyncOtherMachine 2, both or (rarely) normal or an imported NoLastMsg one, of either user; imports
   * of any time up to the clock (the by-time rule's live half then decides) */
  int longer = seed > 6;
  char sub[96];
  store_t *s;
  uint64_t conv = store_c2c_conv(71, 72);
  uint32_t rnd = (uint32_t)seed * 2654435761u + 1, n = 0;
  snprintf(sub, sizeof sub, "%s/seed%d", dir, seed);
  assert_int_equal(mkdir(sub, 0700), 0);
  assert_int_equal(test_store_open(sub, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  while (n < MIXN) {
    rnd = rnd * 1103515245u + 12345u;
    uint32_t r = rnd >> 16;
    int len = 1 + (int)(r % (longer ? 150 : 30)), pick = (int)((r >> 5) % 11);
    int kind = pick < 4 ? 1 : pick < 6 ? 0 : pick < 8 ? 2 : pick == 8 ? 3 : pick == 9 ? 4 : 5;
    int mix = longer && pick < 6; /* seeds above 6: a mixed run instead of a SyncOtherMachine 2 or normal one */
    uint32_t from = (r >> 9) & 1 ? 71 : 72;
    if (longer && pick >= 6 && pick < 8 && (r >> 10) % 2) len = 1 + (int)(r % 20); /* a short NoLastMsg run */
    if (longer && (kind == 3 || kind == 4)) len = 1 + len % 10;
    for (int i = 0; i < len && n < MIXN; i++) {
      n++;
      if (mix) {
        static const int kinds[] = { 2, 2, 2, 1, 1, 5, 5, 2, 1, 5, 0, 4, 2, 1, 5, 2 };
        rnd = rnd * 1103515245u + 12345u;
        kind = kinds[(rnd >> 16) % 16];
        from = (rnd >> 21) % 3 ? from : 143 - from;
      }
      int64_t t = kind == 3 || kind == 4 ? T0 - 50000 + (int64_t)((rnd >> 3) % 40000) + i : T0 + n;
      if (longer && (kind == 3 || kind == 4)) t = T0 - 100 + (int64_t)((rnd >> 3) % (n + 100)); /* up to the clock */
      assert_int_equal(append(s, from, 143 - from, t, 1000 + n, kind), n);
      if ((r >> 12) % 7 == 0) append(s, 73, 74, T0 + n, 1000 + n, 0);
      rnd = rnd * 1103515245u + 12345u;
      if ((rnd >> 20) % 89 == 0) {
        assert_int_equal(store_exec(s, "COMMIT"), 0);
        assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
      }
      if ((rnd >> 12) % 13 == 0) assert_int_equal(store_msg_set_flags(s, APP, conv, n, STORE_MSG_RECALLED), 0);
    }
    if (n >= MIXN / 2 && n - len < MIXN / 2) check_listed(s, conv, n, seed); /* inside the transaction */
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  check_listed(s, conv, n, seed);

  pass(s, T0 + MIXN / 2, seed);  /* a horizon at the middle of the live messages (above every import) */
  check_listed(s, conv, n, seed);
  pass(s, T0 + MIXN + 1, seed);  /* every message expired: what either list shows and the newest stay */
  check_listed(s, conv, n, seed);
  store_close(s);
}

static void test_listed_equals_the_old_filter(void **st)
{
  (void)st;
  for (int seed = 1; seed <= 10; seed++) mixed(seed);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_own_hidden_run_costs_no_step_each, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_last_run_costs_no_step_each, setup, teardown),
    cmocka_unit_test_setup_teardown(test_listed_equals_the_old_filter, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
