/* The query plans of the store's hot statements, pinned (docs/decisions/store-query-plans.md). The
 * server never runs ANALYZE, so SQLite plans every statement from the schema alone; a statement that
 * reads "the app's rows" where it meant "the user's" or "the group's" costs the same on an empty
 * database and grows with every app's use. Each case below calls a store function on a freshly
 * migrated database, catches every statement it ran (a profile trace), asks SQLite for its plan
 * (EXPLAIN QUERY PLAN) and checks:
 *  - no statement scans a table (a SCAN of a real table, not of a subquery, a CTE or a JSON array;
 *    the one exception, the first entry of the imported-messages index, is named);
 *  - no statement searches a table by its app alone (PRIMARY KEY (sdkappid=?)), unless the case
 *    says that reading the app's rows is the statement's job;
 *  - the case's statement uses the index named in the table (`want`).
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
#include "store/sqlite_msg_int.h"
#include "store/store.h"
#include "store/store_grp.h"
#include "store/store_msg.h"
#include "store_rows.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000009u
#define T0 1700000000
#define MAX_SEEN 64

static char dir[64];
static char *seen[MAX_SEEN]; /* the statements run by the current case (copies: some are finalized after use) */
static int nseen;

static int on_profile(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)x;
  const char *sql = sqlite3_sql(p);
  if (!sql || !strncmp(sql, "EXPLAIN", 7)) return 0; /* the test's own */
  for (int i = 0; i < nseen; i++)
    if (!strcmp(seen[i], sql)) return 0;
  if (nseen < MAX_SEEN && (seen[nseen] = strdup(sql))) nseen++;
  return 0;
}

static void noop_member(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *m) { (void)ud; (void)app; (void)gno; (void)m; }
static void noop_login(void *ud, uint32_t app, int32_t day, uint32_t user) { (void)ud; (void)app; (void)day; (void)user; }
static void noop_bill(void *ud, const store_bill_t *b) { (void)ud; (void)b; }
static void noop_gmsg(void *ud, const store_grp_msg_t *m) { (void)ud; (void)m; }
static void noop_msg(void *ud, const store_msg_t *m) { (void)ud; (void)m; }
static void noop_inbox(void *ud, const store_inbox_ev_t *e) { (void)ud; (void)e; }
static void noop_recent(void *ud, const store_recent_t *r) { (void)ud; (void)r; }
static void noop_day(void *ud, int32_t day, const char *metric, int64_t n) { (void)ud; (void)day; (void)metric; (void)n; }

/* ---- the calls ---------------------------------------------------------------------------- */
static void call_grp_joined(store_t *s) { assert_int_equal(store_grp_joined(s, APP, 7, noop_member, NULL), 0); }
static void call_login_app(store_t *s) { assert_int_equal(store_usage_login_each(s, APP, 20240101, 20240131, noop_login, NULL), 0); }
static void call_login_all(store_t *s) { assert_int_equal(store_usage_login_each(s, 0, 20240101, 20240131, noop_login, NULL), 0); }
static void call_bill_corr(store_t *s) { assert_int_equal(store_bill_corrections(s, 1, noop_bill, NULL), 0); }
static void call_grp_user_gone(store_t *s) { assert_int_equal(store_grp_user_gone(s, APP, 99), 0); }
static void call_grp_member_get(store_t *s) { store_grp_member_get(s, APP, 1, 7, noop_member, NULL); }
static void call_grp_convs(store_t *s)
{
  store_grp_conv_t *c;
  size_t n;
  assert_int_equal(store_grp_convs(s, APP, 7, &c, &n), 0);
  free(c);
}
static void call_grp_pinned(store_t *s)
{
  int64_t n;
  assert_int_equal(store_grp_pinned_count(s, APP, 7, 0, &n), 0);
}
static void call_grp_send(store_t *s)
{
  store_grp_msg_t m = { .sdkappid = APP, .group_no = 1, .from_no = 7, .time_s = T0 + 50, .random = 99,
                        .body = "{\"MsgBody\":[]}", .body_len = 14 };
  int dup;
  assert_int_equal(store_grp_msg_append(s, &m, T0 - 300, &dup), 0);
}
static void call_grp_unread(store_t *s)
{
  int64_t n;
  assert_int_equal(store_grp_msg_unread(s, APP, 1, 8, 0, UINT32_MAX, T0 - 300, &n), 0);
}
static void call_grp_history(store_t *s)
{
  assert_int_equal(store_grp_msg_history_as(s, APP, 1, 0, 100, 0, 1, 20, 8, noop_gmsg, NULL), 0);
}
static void call_reg_days(store_t *s)
{
  assert_int_equal(store_usage_registrations(s, APP, T0 - 30 * 86400, T0, 8 * 3600, noop_day, NULL), 0);
}
static void call_reg_before(store_t *s)
{
  int64_t n;
  assert_int_equal(store_usage_registered(s, APP, T0, &n), 0);
}
static void call_grp_last(store_t *s)
{
  int64_t t;
  assert_int_equal(store_usage_group_last(s, APP, "g1", &t), 0);
}
static void call_c2c_send(store_t *s) { rows_send(s, APP, T0, 7, 8, 4242); }
static void call_c2c_get(store_t *s) { assert_int_equal(store_msg_get(s, APP, store_c2c_conv(7, 8), 1, noop_msg, NULL), 0); }
static void call_c2c_inbox(store_t *s)
{
  uint32_t max;
  assert_int_equal(store_msg_inbox_page(s, APP, 8, 0, 20, 0, noop_inbox, NULL, &max), 0);
}
static void call_c2c_recent(store_t *s) { assert_int_equal(store_msg_recent_list(s, APP, 8, noop_recent, NULL), 0); }
static void call_c2c_pinned(store_t *s)
{
  int64_t n;
  assert_int_equal(store_msg_recent_pinned(s, APP, 8, 0, &n), 0);
}
static void call_c2c_roam(store_t *s)
{
  assert_int_equal(store_msg_roam(s, APP, store_c2c_conv(7, 8), 8, 0, 0, INT64_MAX, INT64_MAX, UINT32_MAX, 20,
                                  noop_msg, NULL), 0);
}
/* the same under a purge floor above every message (the imports below it: IMP_BELOW in turn with the rows
 * stored since the pass, SINCE_DOWN; §53); the floor is taken away after */
static void call_c2c_roam_floor(store_t *s)
{
  assert_int_equal(store_exec(s, "INSERT INTO c2c_purge_floor(sdkappid,before_s,upto_id) VALUES(1400000009,"
                                 "1700000000+100000,0)"), 0);
  call_c2c_roam(s);
  assert_int_equal(store_exec(s, "DELETE FROM c2c_purge_floor WHERE sdkappid=1400000009"), 0);
}
/* two imports into the conversation (7, 8): the second's dedupe reads the imports of its second (the first
 * finds none: the connection knows there is no import yet); the list then takes the last message by time
 * (the newest import, the newest live message below it) */
static void call_c2c_import(store_t *s)
{
  static uint32_t random = 9;
  for (int i = 0; i < 2; i++) {
    store_msg_append_t a;
    memset(&a, 0, sizeof a);
    random++;
    a.m = (store_msg_t){ APP, store_c2c_conv(7, 8), 0, 7, 8, T0 - 100, random, random, STORE_MSG_IMPORTED, 604800,
                         "{}", 2, NULL, NULL };
    a.import_dedupe = 1;
    a.inbox_to = a.recent_from = a.recent_to = 1;
    assert_int_equal(store_msg_append(s, &a), 0);
  }
  assert_int_equal(store_msg_recent_list(s, APP, 8, noop_recent, NULL), 0);
}
/* a read mark by time in the conversation (7, 8): the imports newer than the time between two live messages */
static void call_c2c_read_mark(store_t *s)
{
  uint32_t mark;
  assert_int_equal(store_msg_read_mark(s, APP, store_c2c_conv(7, 8), 0, 1, T0 - 200, &mark), 0);
}
/* the same from a read position at or above a message newer than the time (its max_t passes the time): the
 * §47 search, the imports newer than the time through the partial index */
static void call_c2c_read_mark_split(store_t *s)
{
  uint32_t mark;
  assert_int_equal(store_msg_read_mark(s, APP, store_c2c_conv(7, 8), 1, 3, T0 - 200, &mark), 0);
}
/* the newest message at or before a time in the conversation (7, 8): above the first newer one, the walk down
 * and the imports of those times through the partial index, in turn */
static void call_c2c_newest_at(store_t *s)
{
  uint32_t seq;
  assert_int_equal(store_msg_newest_at(s, APP, store_c2c_conv(7, 8), 0, 0, T0 - 200, &seq), 0);
}
static void call_c2c_unread(store_t *s)
{
  int64_t n;
  assert_int_equal(store_msg_unread(s, APP, store_c2c_conv(7, 8), 7, 0, UINT32_MAX, 0, &n), 0);
}

/* call: runs the statement; sql: the start of its text; want: a line its plan must have (NULL, both: only the
 * rules that apply to every statement); wide: a line of its plans that reads an app's or every app's rows on
 * purpose, allowed (NULL: none) */
typedef struct pcase {
  const char *name;
  void (*call)(store_t *s);
  const char *sql, *want, *wide;
} pcase_t;

static const pcase_t cases[] = {
  /* fixed in this audit: each failed before */
  { "grp_joined", call_grp_joined, "SELECT m.sdkappid,m.group_no", "SEARCH m USING INDEX grp_member_user (sdkappid=? AND user_no=?)", NULL },
  { "login_each app", call_login_app, "SELECT sdkappid,day,user_no FROM usage_login",
    "SEARCH usage_login USING PRIMARY KEY (sdkappid=? AND day>? AND day<?)", NULL },
  { "login_each all", call_login_all, "SELECT a.sdkappid,u.day,u.user_no FROM apps a",
    "SEARCH u USING PRIMARY KEY (sdkappid=? AND day>? AND day<?)", "SCAN a" /* every app: the apps table's rows */ },
  { "bill corrections", call_bill_corr, "SELECT b.seq", "SEARCH b USING INDEX bills_corrects (corrects=?)", NULL },
  { "grp user_gone", call_grp_user_gone, "UPDATE grp", "SEARCH grp USING COVERING INDEX grp_owner (sdkappid=? AND owner_no=?)", NULL },
  { "registrations", call_reg_days, "SELECT CAST(strftime(",
    "SEARCH usage_reg USING PRIMARY KEY (sdkappid=? AND created_at>? AND created_at<?)", NULL },
  { "registered", call_reg_before, "SELECT coalesce((SELECT sum(n) FROM usage_reg_day",
    "SEARCH usage_reg_day USING PRIMARY KEY (sdkappid=? AND day<?)", NULL },
  /* a group's creation and dissolution: the latest life of the id (docs/decisions/groups-events.md) */
  { "grp life last", call_grp_last, "SELECT coalesce(max(created_at),0) FROM usage_group",
    "SEARCH usage_group USING PRIMARY KEY (sdkappid=? AND group_id=?)", NULL },
  /* already right */
  { "grp member_get", call_grp_member_get, "SELECT m.sdkappid", "SEARCH m USING PRIMARY KEY (sdkappid=? AND group_no=? AND user_no=?)", NULL },
  { "grp convs", call_grp_convs, "SELECT group_no FROM grp_member", "SEARCH grp_member USING COVERING INDEX grp_member_user (sdkappid=? AND user_no=?)", NULL },
  { "grp pinned", call_grp_pinned, "SELECT count(*) FROM grp_member", "SEARCH grp_member USING INDEX grp_member_pinned (sdkappid=? AND user_no=?)", NULL },
  { "grp send dedupe", call_grp_send, "SELECT seq,time_s,flags&16,", "SEARCH grp_msg USING INDEX grp_msg_dedupe (sdkappid=? AND group_no=? AND random=? AND chash=? AND from_no=?)", NULL },
  { "grp unread", call_grp_unread, "SELECT count(*) FROM grp_msg", "SEARCH grp_msg USING INDEX sqlite_autoindex_grp_msg_1 (sdkappid=? AND group_no=? AND seq>? AND seq<?)", NULL },
  { "grp history", call_grp_history, "SELECT m.seq", "SEARCH m USING INDEX sqlite_autoindex_grp_msg_1 (sdkappid=? AND group_no=? AND seq>? AND seq<?)", NULL },
  { "c2c send", call_c2c_send, NULL, NULL, NULL }, /* a known conversation: only the held rows' inserts */
  { "c2c get", call_c2c_get, "SELECT m.sdkappid", "SEARCH m USING INDEX sqlite_autoindex_c2c_msg_1 (conv=? AND sdkappid=? AND seq=?)", NULL },
  { "c2c inbox", call_c2c_inbox, "SELECT i.useq", "SEARCH c2c_inbox USING PRIMARY KEY (user_no=? AND sdkappid=? AND useq>?)", NULL },
  { "c2c recent", call_c2c_recent, "SELECT r.peer_no", "SEARCH c2c_recent USING PRIMARY KEY (user_no=? AND sdkappid=?)", NULL },
  { "c2c pinned", call_c2c_pinned, "SELECT count(*) FROM c2c_recent", "SEARCH r USING INDEX c2c_recent_pinned (user_no=? AND sdkappid=?)", NULL },
  { "c2c roam", call_c2c_roam, "SELECT seq,time_s FROM c2c_msg INDEXED BY", "SEARCH c2c_msg USING INDEX c2c_msg_imported (conv=? AND sdkappid=? AND time_s>? AND (time_s,seq)<(?,?))", NULL },
  { "c2c roam below floor", call_c2c_roam_floor, "SELECT seq,time_s,id<=", "SEARCH c2c_msg USING INDEX c2c_msg_imported (conv=? AND sdkappid=? AND time_s>? AND (time_s,seq)<(?,?))", NULL },
  { "c2c roam since pass", call_c2c_roam_floor, "SELECT seq,time_s,id,flags", "SEARCH c2c_msg USING INDEX sqlite_autoindex_c2c_msg_1 (conv=? AND sdkappid=?)", NULL },
  { "c2c roam live", call_c2c_roam, "SELECT seq,random", "SEARCH c2c_msg USING INDEX sqlite_autoindex_c2c_msg_1 (conv=? AND sdkappid=? AND seq<?)", NULL },
  { "c2c import dedupe", call_c2c_import, "SELECT min(seq),time_s,cseq", "SEARCH c2c_msg USING INDEX c2c_msg_imported (conv=? AND sdkappid=? AND time_s=?)", NULL },
  { "c2c last import", call_c2c_import, "SELECT seq,time_s FROM c2c_msg INDEXED BY", "SEARCH c2c_msg USING INDEX c2c_msg_imported (conv=? AND sdkappid=?)", NULL },
  { "c2c read mark", call_c2c_read_mark, "SELECT seq,coalesce(max_t,time_s)", "SEARCH c2c_msg USING INDEX sqlite_autoindex_c2c_msg_1 (conv=? AND sdkappid=? AND seq<?)", NULL },
  { "c2c read mark split", call_c2c_read_mark_split, "SELECT coalesce(min(seq),0)", "SEARCH c2c_msg USING INDEX c2c_msg_imported (conv=? AND sdkappid=? AND time_s>?)", NULL },
  { "c2c newest at", call_c2c_newest_at, "SELECT seq,time_s,id FROM c2c_msg INDEXED BY", "SEARCH c2c_msg USING INDEX c2c_msg_imported (conv=? AND sdkappid=? AND time_s>? AND time_s<?)", NULL },
  { "c2c newest at walk", call_c2c_newest_at, "SELECT seq,time_s,id FROM c2c_msg WHERE", "SEARCH c2c_msg USING INDEX sqlite_autoindex_c2c_msg_1 (conv=? AND sdkappid=? AND seq>? AND seq<?)", NULL },
  { "c2c unread", call_c2c_unread, "SELECT count(*) FROM c2c_msg", "SEARCH c2c_msg USING INDEX sqlite_autoindex_c2c_msg_1 (conv=? AND sdkappid=? AND seq>? AND seq<?)", NULL },
};

/* The plan of sql as its detail lines, one per line (buf, cap). */
static void plan_of(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
  char *eqp = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
  sqlite3_stmt *st;
  assert_non_null(eqp);
  if (sqlite3_prepare_v2(db, eqp, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_free(eqp);
  size_t len = 0;
  buf[0] = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    int n = snprintf(buf + len, cap - len, "%s\n", (const char *)sqlite3_column_text(st, 3));
    if (n < 0 || (size_t)n >= cap - len) fail_msg("plan too long: %s", sql);
    len += (size_t)n;
  }
  sqlite3_finalize(st);
}

/* The first line of plan that scans a table or searches one by app alone, NULL when none (a line equal to wide
 * is allowed). A scan is "SCAN x" where x is no co-routine (a subquery or a CTE, shown as "CO-ROUTINE x"), no
 * JSON array (VIRTUAL TABLE) and no constant rows (VALUES). */
static const char *bad_line(const char *plan, const char *wide, char *line, size_t cap)
{
  for (const char *p = plan; *p; p = strchr(p, '\n') + 1) {
    size_t n = (size_t)(strchr(p, '\n') - p);
    if (n >= cap) n = cap - 1;
    memcpy(line, p, n);
    line[n] = 0;
    if (wide && !strcmp(line, wide)) continue;
    if (strstr(line, "PRIMARY KEY (sdkappid=?)")) return line;
    if (strncmp(line, "SCAN ", 5) || strstr(line, " CONSTANT ROW") || !strncmp(line, "SCAN (subquery-", 15) ||
        strstr(line, " VIRTUAL TABLE "))
      continue;
    /* the first entry of the partial index of imported messages (ANY_IMP: LIMIT 1) */
    if (!strcmp(line, "SCAN c2c_msg USING INDEX c2c_msg_imported")) continue;
    char name[64], co[80];
    if (sscanf(line + 5, "%63s", name) != 1) return line;
    snprintf(co, sizeof co, "CO-ROUTINE %s\n", name);
    if (strstr(plan, co)) continue;
    return line;
  }
  return NULL;
}

static store_t *db_store; /* the group's store: seeded once, every case runs on it */

/* One case: its call, then the rules on every statement it ran. */
static void test_case(void **state)
{
  const pcase_t *c = *state;
  sqlite3 *db = store__sqlite_db(db_store);
  char plan[8192], line[256];
  while (nseen) free(seen[--nseen]); /* a failed case's */
  assert_int_equal(sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, on_profile, NULL), SQLITE_OK);
  assert_int_equal(store_exec(db_store, "BEGIN IMMEDIATE"), 0);
  c->call(db_store);
  assert_int_equal(store_exec(db_store, "COMMIT"), 0);
  sqlite3_trace_v2(db, 0, NULL, NULL);
  int found = 0;
  for (int k = 0; k < nseen; k++) {
    if (!strncmp(seen[k], "BEGIN", 5) || !strncmp(seen[k], "COMMIT", 6)) continue;
    plan_of(db, seen[k], plan, sizeof plan);
    const char *bad = bad_line(plan, c->wide, line, sizeof line);
    if (bad) fail_msg("%s: %s\n  in %s\n%s", c->name, bad, seen[k], plan);
    if (!c->sql || strncmp(seen[k], c->sql, strlen(c->sql))) continue;
    if (!strstr(plan, c->want)) fail_msg("%s: plan without \"%s\"\n  of %s\n%s", c->name, c->want, seen[k], plan);
    found = 1;
  }
  if (!found && c->sql) fail_msg("%s: no statement starting \"%s\" ran (%d ran)", c->name, c->sql, nseen);
  while (nseen) free(seen[--nseen]);
}

/* An order's trigger (bill_recheck_orders_INSERT, migration 35) queues its app's billed months from the month
 * its period starts: it reads the app's bills, not every app's bills of those months. A trigger's statements
 * are no statement of their own to a profile trace, so this counts the virtual machine steps of the order's
 * INSERT (they include its triggers'): a few per bill read. Through bills_month_app (month, sdkappid) the
 * trigger walked the OTHERS bills of the other apps (4,245 steps in all); through bills_app (migration 47), APP's
 * two from the start month on (244). */
#define OTHERS 800
static int64_t order_steps;

static int on_order_profile(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)x;
  const char *sql = sqlite3_sql(p);
  if (sql && !strncmp(sql, "INSERT INTO orders", 18)) order_steps = sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 0);
  return 0;
}

static void bill(store_t *s, uint32_t app, int64_t customer, int32_t month)
{
  store_bill_t in = { .sdkappid = app, .customer_id = customer, .month = month, .issued_at_s = T0, .body = "{}" }, out;
  assert_int_equal(store_bill_insert(s, &in, &out), 0);
}

typedef struct { int n; uint32_t app[4]; int32_t month[4]; } queued_t;
static void on_queued(void *ud, uint32_t app, int32_t month)
{
  queued_t *q = ud;
  if (q->n < 4) { q->app[q->n] = app; q->month[q->n] = month; }
  q->n++;
}

static void test_order_recheck(void **state)
{
  (void)state;
  store_t *s = db_store;
  int64_t cust;
  assert_int_equal(store_customer_create(s, "plans", T0, &cust), 0);
  store_app_t a = { .sdkappid = APP, .customer_id = cust, .name = "x", .secret_key = "k", .region = "china",
                    .created_at_s = T0, .scheme = "s2022", .edition = "pro" };
  assert_int_equal(store_app_insert(s, &a), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  bill(s, APP, cust, 202312); /* before the period: not queued */
  bill(s, APP, cust, 202401);
  bill(s, APP, cust, 202402);
  for (uint32_t i = 1; i <= OTHERS; i++) bill(s, APP + i, cust, 202401 + (int32_t)(i % 2));
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_order_t o = { .sdkappid = APP, .customer_id = cust, .at_s = T0, .kind = "addon", .item = "local_audit",
                      .anchor_day = 19737, .start_day = 19737 /* 2024-01-15 */, .end_day = 19767, .book = "s2022",
                      .pay = "included", .reference = "plans-1" };
  int64_t oid;
  assert_int_equal(sqlite3_trace_v2(store__sqlite_db(s), SQLITE_TRACE_PROFILE, on_order_profile, NULL), SQLITE_OK);
  assert_int_equal(store_order_insert(s, &o, &oid), 0);
  sqlite3_trace_v2(store__sqlite_db(s), 0, NULL, NULL);
  queued_t q = { 0 };
  assert_int_equal(store_bill_recheck_each(s, 16, on_queued, &q), 0);
  assert_int_equal(q.n, 2);
  assert_int_equal(q.app[0], APP);
  assert_int_equal(q.month[0], 202401);
  assert_int_equal(q.app[1], APP);
  assert_int_equal(q.month[1], 202402);
  if (order_steps <= 0 || order_steps > 400) fail_msg("an order's INSERT ran %lld steps", (long long)order_steps);
}

/* App info's running total (store_usage_registered) adds the app's registrations per day (usage_reg_day, migration
 * 49) and counts those of at most half a day at the window's edge: its steps do not grow with the app's earlier
 * accounts. A count(*) over usage_reg's key before the window took a few steps per registration (9,000 here). */
#define REG_APP 1400009999u
#define REG_OLD 3000
static int64_t reg_steps;

static int on_reg_profile(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)x;
  reg_steps += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 0);
  return 0;
}

static int64_t registered(store_t *s, int64_t before_s)
{
  int64_t n = -1;
  reg_steps = 0;
  assert_int_equal(sqlite3_trace_v2(store__sqlite_db(s), SQLITE_TRACE_PROFILE, on_reg_profile, NULL), SQLITE_OK);
  assert_int_equal(store_usage_registered(s, REG_APP, before_s, &n), 0);
  sqlite3_trace_v2(store__sqlite_db(s), 0, NULL, NULL);
  return n;
}

static void test_registered_steps(void **state)
{
  (void)state;
  store_t *s = db_store;
  int64_t cust;
  assert_int_equal(store_customer_create(s, "reg", T0, &cust), 0);
  store_app_t a = { .sdkappid = REG_APP, .customer_id = cust, .name = "r", .secret_key = "k", .region = "china",
                    .created_at_s = T0, .scheme = "s2022", .edition = "pro" };
  assert_int_equal(store_app_insert(s, &a), 0);
  const int64_t old0 = T0 - 40 * 86400; /* 3,000 registrations 30 s apart from here (25 hours: two UTC days) */
  char id[32];
  uint32_t no;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < REG_OLD; i++) {
    snprintf(id, sizeof id, "old%d", i);
    assert_int_equal(store_account_import(s, REG_APP, id, NULL, NULL, old0 + 30 * i, &no), 0);
  }
  for (int i = 0; i < 8; i++) { /* 5 an hour before T0, 3 just after it (T0 is 22:13 UTC: the midnight after it
                                 * is the nearest, so those 3 are counted to it and taken away again) */
    snprintf(id, sizeof id, "new%d", i);
    assert_int_equal(store_account_import(s, REG_APP, id, NULL, NULL, i < 5 ? T0 - 3600 : T0 + 100, &no), 0);
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(registered(s, T0), REG_OLD + 5);
  if (reg_steps <= 0 || reg_steps > 200) fail_msg("the running total before T0 ran %lld steps", (long long)reg_steps);
  /* inside the old registrations' first day (10:43 UTC: the midnight before it is the nearest) */
  assert_int_equal(registered(s, old0 + 30 * 1500), 1500);
  assert_int_equal(registered(s, old0 + 30 * 1500 + 1), 1501);
  assert_int_equal(registered(s, old0), 0);
  assert_int_equal(registered(s, T0 + 101), REG_OLD + 8);
  /* inside the transaction that registers an account, the total counts it (the day's sum is kept in memory until
   * the COMMIT, written before the read) */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_account_import(s, REG_APP, "late", NULL, NULL, T0 - 86400, &no), 0);
  assert_int_equal(registered(s, T0), REG_OLD + 6);
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0); /* a writer job undone: its registration is not counted */
  assert_int_equal(store_account_import(s, REG_APP, "undone", NULL, NULL, T0 - 86400, &no), 0);
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(registered(s, T0), REG_OLD + 6);
}

/* A freshly migrated store (no ANALYZE, as the server's) with a little of everything, so that no read is
 * skipped for want of rows. */
static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "qplans") || test_store_open(dir, &db_store)) return -1;
  store_t *s = db_store;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  rows_send(s, APP, T0, 7, 8, 1);
  store_grp_member_t mem = { .user_no = 7, .role = 0, .join_s = T0, .name_card = "", .data = "" };
  assert_int_equal(store_grp_member_put(s, APP, 1, &mem), 0);
  mem.user_no = 8;
  assert_int_equal(store_grp_member_put(s, APP, 1, &mem), 0);
  assert_int_equal(store_usage_login(s, APP, 20240105, 7), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  store_close(db_store);
  return test_tmpdir_remove(dir);
}

int main(void)
{
  enum { N = sizeof cases / sizeof cases[0] };
  struct CMUnitTest tests[N + 2];
  for (size_t i = 0; i < N; i++)
    tests[i] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, (void *)&cases[i] };
  tests[N] = (struct CMUnitTest){ "order recheck", test_order_recheck, NULL, NULL, NULL };
  tests[N + 1] = (struct CMUnitTest){ "registered steps", test_registered_steps, NULL, NULL, NULL };
  return cmocka_run_group_tests(tests, setup, teardown);
}
