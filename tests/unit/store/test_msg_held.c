/* The rows of C2C appends held back (sqlite_msg_pend.c; messaging-c2c-storage.md
 * §24): thousands of messages held in one transaction, over thousands of
 * conversations (their chains share buckets), answer the send dedupe
 * exactly — the held match with the lowest seq, never one of another
 * conversation of the same bucket — across the flush of a full buffer; and
 * the held bodies stay under their byte cap: big messages are flushed on
 * the way, every one is stored whole; an import held in one conversation
 * adds nothing to the held messages a send to another visits; inbox events
 * added outside an append inside a transaction (a group change's
 * relationship events to its members, each after its member's account
 * lookup) and their payload rows are held too and written a few multi-row
 * statements for all, read back in the transaction, and forgotten by a
 * rollback; a flush writes each table's held rows with one statement and
 * stores every field as appended. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_msg.h"
#include "store/store_rel.h"
#include "store/sqlite_int.h"
#include "store/sqlite_msg_int.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000001u
#define T0 1700000000

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgheld");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng % n); }

/* The model: per conversation (index by user pair), each message's random and sender in seq order. */
#define USERS 60
#define NEW (PEND_MSGS + PEND_MSGS / 2) /* new messages: one full buffer flushed on the way, half a buffer held at the end */
typedef struct mm { uint32_t from, random; } mm_t;
static mm_t *conv_msgs[USERS][USERS];
static uint32_t conv_n[USERS][USERS];

/* User numbers spread over 31 bits: the conversations' keys land in
 * buckets at random, so chains are shared (small consecutive numbers are
 * spread evenly by the bucket hash, and would share none). */
static uint32_t user_no[USERS + 1];

static void test_many_conversations_held(void **st)
{
  (void)st;
  store_t *s;
  for (int u = 1; u <= USERS; u++) user_no[u] = 1 + rnd(1u << 30) * 2 + (uint32_t)(u & 1);
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  int dups = 0, news = 0, i = 0;
  for (; news < NEW; i++) {
    uint32_t from = 1 + rnd(USERS), to = 1 + rnd(USERS - 1);
    if (to >= from) to++;
    uint32_t lo = from < to ? from : to, hi = from < to ? to : from, random = rnd(4);
    store_msg_append_t a;
    memset(&a, 0, sizeof a);
    a.m = (store_msg_t){ APP, store_c2c_conv(user_no[from], user_no[to]), 0, user_no[from], user_no[to], T0, 0, random, 0,
                         604800, "{}", 2, NULL, NULL };
    a.dedupe_since_s = T0 - 60;
    a.inbox_from = a.inbox_to = a.recent_from = a.recent_to = 1;
    uint32_t want = 0, n = conv_n[lo - 1][hi - 1];
    for (uint32_t k = 0; k < n && !want; k++)
      if (conv_msgs[lo - 1][hi - 1][k].random == random && conv_msgs[lo - 1][hi - 1][k].from == from) want = k + 1;
    assert_int_equal(store_msg_append(s, &a), 0);
    if (want) {
      if (!a.dup || a.m.seq != want) fail_msg("append %d: dup %d seq %u, want the duplicate of seq %u", i, a.dup, a.m.seq, want);
      dups++;
      continue;
    }
    if (a.dup || a.m.seq != n + 1) fail_msg("append %d: dup %d seq %u, want a new seq %u", i, a.dup, a.m.seq, n + 1);
    mm_t **v = &conv_msgs[lo - 1][hi - 1];
    assert_non_null(*v = realloc(*v, (n + 1) * sizeof **v));
    (*v)[n] = (mm_t){ from, random };
    conv_n[lo - 1][hi - 1] = n + 1;
    news++;
  }
  /* the held messages' chains: each conversation's, in seq order, and together every held message once */
  struct sqmsg *m = sq__msg_state(s);
  int held = 0, shared = 0;
  for (uint32_t lo = 1; lo <= USERS; lo++)
    for (uint32_t hi = lo + 1; hi <= USERS; hi++) {
      uint64_t conv = store_c2c_conv(user_no[lo], user_no[hi]);
      uint32_t last = 0;
      for (int k = sq__pend_conv_next(&m->pend, -1, APP, conv); k >= 0; k = sq__pend_conv_next(&m->pend, k, APP, conv)) {
        const pend_msg_t *h = &m->pend.msg[k];
        if (h->m.conv != conv) fail_msg("conversation %u-%u's chain holds another's message", lo, hi);
        shared += h->next && m->pend.msg[h->next - 1].m.conv != conv; /* its bucket's next is another's */
        assert_true(h->m.seq > last);
        last = h->m.seq;
        held++;
      }
    }
  assert_int_equal(held, m->pend.nmsg);
  assert_int_equal(held, NEW - PEND_MSGS);
  assert_true(shared > 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  print_message("%d appends, %d of them resends; %d messages held at the end, %d followed in their chain by another "
                "conversation's\n", i, dups, held, shared);
  assert_true(dups > i / 8); /* 8 (sender, random) pairs per conversation: many resends */
  for (int a = 0; a < USERS; a++)
    for (int b = 0; b < USERS; b++) free(conv_msgs[a][b]);
  store_close(s);
}

static void append(store_t *s, uint32_t from, uint32_t to, uint32_t random, uint32_t flags, store_msg_append_t *a)
{
  memset(a, 0, sizeof *a);
  a->m = (store_msg_t){ APP, store_c2c_conv(from, to), 0, from, to, T0, 0, random, flags, 604800, "{}", 2, NULL, NULL };
  a->dedupe_since_s = T0 - 60;
  a->import_dedupe = (flags & STORE_MSG_IMPORTED) != 0;
  a->inbox_from = a->inbox_to = a->recent_from = a->recent_to = 1;
  assert_int_equal(store_msg_append(s, a), 0);
}

/* A send to a busy conversation whose window answers looks at no held
 * message: 4,000 sends held in conversation 1-2 and one import held in
 * 3-4, the next send of 1-2 visits none (it visited all 4,000 while any
 * import was held anywhere until §42, and the bucket's held imports until
 * §66). A send repeating the MsgRandom of an import held in its own
 * conversation is not its duplicate (§66: an import is no send's
 * original); a resend of that send is. */
static void test_held_import_elsewhere_costs_nothing(void **st)
{
  (void)st;
  store_t *s;
  store_msg_append_t a;
  assert_int_equal(test_store_open(dir, &s), 0);
  struct sqmsg *m = sq__msg_state(s);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t i = 0; i < 4000; i++) append(s, 1, 2, 1000 + i, 0, &a);
  append(s, 3, 4, 7, STORE_MSG_IMPORTED, &a);
  int64_t before = m->pend.dup_visits;
  append(s, 1, 2, 9000, 0, &a);
  assert_false(a.dup);
  int64_t visits = m->pend.dup_visits - before;
  print_message("held messages visited by one send: %lld\n", (long long)visits);
  assert_int_equal(visits, 0);
  append(s, 1, 2, 77, STORE_MSG_IMPORTED, &a);
  uint32_t imported = a.m.seq;
  append(s, 1, 2, 77, 0, &a); /* the window answers: the held import is not the send's original */
  assert_false(a.dup);
  assert_int_equal(a.m.seq, imported + 1);
  append(s, 1, 2, 77, 0, &a); /* the send's resend is */
  assert_true(a.dup);
  assert_int_equal(a.m.seq, imported + 1);
  assert_int_equal(m->pend.nmsg, 4004); /* the resend holds nothing */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);
}

/* Messages of 12 KB, more than PEND_BODY_BYTES of them in one transaction. */
static size_t got_len;
static void take_len(void *ud, const store_msg_t *m) { (void)ud; got_len = m->body_len; }

static void test_held_bodies_capped(void **st)
{
  (void)st;
  enum { BODY = 12 * 1024, M = (int)(PEND_BODY_BYTES / BODY) * 2 + 3 };
  char *body = malloc(BODY);
  assert_non_null(body);
  memset(body, 'x', BODY);
  body[0] = '{';
  body[BODY - 1] = '}';
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < M; i++) {
    store_msg_append_t a;
    memset(&a, 0, sizeof a);
    a.m = (store_msg_t){ APP, store_c2c_conv(1, 2), 0, 1, 2, T0, 0, (uint32_t)i, 0, 604800, body, BODY, NULL, NULL };
    a.inbox_from = a.inbox_to = 1;
    assert_int_equal(store_msg_append(s, &a), 0);
    assert_int_equal(a.m.seq, i + 1);
    struct sqmsg *m = sq__msg_state(s);
    assert_true(m->pend.body_len <= PEND_BODY_BYTES); /* the cap, on the way */
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  for (int i = 0; i < M; i++) {
    got_len = 0;
    assert_int_equal(store_msg_get(s, APP, store_c2c_conv(1, 2), (uint32_t)i + 1, take_len, NULL), 0);
    assert_int_equal(got_len, BODY);
  }
  store_close(s);
  free(body);
}

/* The inbox INSERT statements run (a profile trace: one call per execution, a multi-row one counts once). */
static int inbox_inserts, payload_inserts;
static int on_profile(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)x;
  const char *sql = sqlite3_sql(p);
  if (sql && strstr(sql, "INTO c2c_inbox")) inbox_inserts++;
  if (sql && strstr(sql, "INTO rel_event")) payload_inserts++;
  return 0;
}

typedef struct { int n; uint32_t useq; char payload[64]; } pays_t;
static void on_payload(void *ud, uint32_t useq, const char *payload)
{
  pays_t *v = ud;
  v->n++;
  v->useq = useq;
  snprintf(v->payload, sizeof v->payload, "%s", payload);
}

typedef struct { int n; uint32_t useq; store_ev_kind_t kind; } evs_t;
static void on_ev(void *ud, const store_inbox_ev_t *e)
{
  evs_t *v = ud;
  v->n++;
  v->useq = e->useq;
  v->kind = e->kind;
}

#define MEMBERS 100
static void test_rel_events_held(void **st)
{
  (void)st;
  store_t *s;
  int64_t cust;
  uint32_t no[MEMBERS], useq, max;
  char id[64];
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_customer_create(s, "held", T0, &cust), 0);
  store_app_t app = { .sdkappid = APP, .customer_id = cust, .name = "x", .secret_key = "k", .region = "china",
                      .created_at_s = T0, .scheme = "s2022", .edition = "pro" };
  assert_int_equal(store_app_insert(s, &app), 0);
  for (int i = 0; i < MEMBERS; i++) {
    snprintf(id, sizeof id, "m%d", i);
    assert_int_equal(store_account_import(s, APP, id, NULL, NULL, T0, &no[i]), 0);
  }
  assert_int_equal(sqlite3_trace_v2(store__sqlite_db(s), SQLITE_TRACE_PROFILE, on_profile, NULL), SQLITE_OK);
  /* a group change's events, as src/im/group_apply.c writes them: lookup, inbox event, payload */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < MEMBERS; i++) {
    assert_int_equal(store_msg_account_id(s, APP, no[i], id, sizeof id), 0);
    assert_int_equal(store_msg_inbox_add(s, APP, no[i], STORE_EV_REL, 0, 0, T0, &useq), 0);
    assert_int_equal(useq, 1);
    assert_int_equal(store_rel_event_put(s, APP, no[i], useq, T0, i < MEMBERS - 1 ? "{\"type\":\"group_dissolved\"}"
                                                                                 : "{\"type\":\"last\"}"), 0);
  }
  /* one statement per table (three, one per power of two in 100, before §49), not one per event */
  if (inbox_inserts > 3 || payload_inserts > 3)
    fail_msg("%d inbox INSERTs, %d payload INSERTs for %d events", inbox_inserts, payload_inserts, MEMBERS);
  pays_t pv = { 0 };
  assert_int_equal(store_rel_event_range(s, APP, no[MEMBERS - 2], 0, 10, on_payload, &pv), 0); /* written first */
  assert_int_equal(pv.n, 1);
  assert_int_equal(pv.useq, 1);
  assert_string_equal(pv.payload, "{\"type\":\"group_dissolved\"}");
  pv = (pays_t){ 0 };
  assert_int_equal(store_rel_event_range(s, APP, no[MEMBERS - 1], 0, 10, on_payload, &pv), 0);
  assert_string_equal(pv.payload, "{\"type\":\"last\"}");
  evs_t v = { 0 };
  assert_int_equal(store_msg_inbox_page(s, APP, no[MEMBERS - 1], 0, 20, 0, on_ev, &v, &max), 0); /* held: written first */
  assert_int_equal(v.n, 1);
  assert_int_equal(v.useq, 1);
  assert_int_equal(v.kind, STORE_EV_REL);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  /* a held event rolled back is forgotten with its useq */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_msg_inbox_add(s, APP, no[0], STORE_EV_REL, 0, 0, T0 + 1, &useq), 0);
  assert_int_equal(useq, 2);
  assert_int_equal(store_rel_event_put(s, APP, no[0], useq, T0 + 1, "{\"type\":\"undone\"}"), 0);
  assert_int_equal(store_exec(s, "ROLLBACK"), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_msg_inbox_add(s, APP, no[0], STORE_EV_REL, 0, 0, T0 + 2, &useq), 0);
  assert_int_equal(useq, 2);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  sqlite3_trace_v2(store__sqlite_db(s), 0, NULL, NULL);
  v = (evs_t){ 0 };
  assert_int_equal(store_msg_inbox_page(s, APP, no[0], 0, 20, 0, on_ev, &v, &max), 0);
  assert_int_equal(v.n, 2);
  assert_int_equal(v.useq, 2);
  assert_int_equal(max, 2);
  pv = (pays_t){ 0 };
  assert_int_equal(store_rel_event_range(s, APP, no[0], 0, 10, on_payload, &pv), 0); /* the rolled-back one is gone */
  assert_int_equal(pv.n, 1);
  assert_int_equal(pv.useq, 1);
  store_close(s);
}

/* A flush writes each table's held rows with one statement (an INSERT … SELECT from the held
 * rows, sqlite_msg_pend.c), and what it stores is what was appended: 1,000 appends held in one
 * transaction (live and imported, empty and longer bodies, conversations with several messages)
 * are written at the COMMIT by one INSERT into c2c_msg, one into the inbox log and one into the
 * conversation log (1, 2, 4 … 64-row statements before: 17 each), every field of every row
 * read back; and no held statement's program sorts into a temporary table or halts with
 * OE_Abort (which would give it a statement journal, messaging-c2c-append.md §13). */
static int msg_inserts, ev_inserts, recent_inserts;
static int count_inserts(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)x;
  const char *sql = sqlite3_sql(p);
  msg_inserts += sql && strstr(sql, "INTO c2c_msg(") != NULL;
  ev_inserts += sql && strstr(sql, "INTO c2c_inbox_log(") != NULL;
  recent_inserts += sql && strstr(sql, "INTO c2c_recent_log(") != NULL;
  return 0;
}

#define FLUSHED 1000
static void test_flush_one_statement_per_table(void **st)
{
  (void)st;
  static store_msg_append_t in[FLUSHED];
  static char bodies[FLUSHED][48];
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  sqlite3 *db = store__sqlite_db(s);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < FLUSHED; i++) {
    uint32_t from = 1 + (uint32_t)i % 50, to = 51 + (uint32_t)(i * 7) % 30, imp = i % 10 == 3 ? STORE_MSG_IMPORTED : 0;
    int n = i % 5 ? snprintf(bodies[i], sizeof bodies[i], "{\"n\":%d,\"pad\":\"%.*s\"}", i, i % 17, "xxxxxxxxxxxxxxxxx") : 0;
    store_msg_append_t *a = &in[i];
    memset(a, 0, sizeof *a);
    a->m = (store_msg_t){ APP, store_c2c_conv(from, to), 0, from, to, imp ? T0 - 1000 + i : T0 + i / 100, (uint32_t)i * 3,
                          5000u + (uint32_t)i, imp, 86400 + (uint32_t)i, bodies[i], (size_t)n, NULL, NULL };
    a->dedupe_since_s = T0 - 60;
    a->import_dedupe = imp != 0;
    a->inbox_from = a->inbox_to = !imp;
    a->recent_from = a->recent_to = 1;
    assert_int_equal(store_msg_append(s, a), 0);
    assert_false(a->dup);
  }
  assert_int_equal(sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, count_inserts, NULL), SQLITE_OK);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  sqlite3_trace_v2(db, 0, NULL, NULL);
  print_message("INSERTs for %d held messages: c2c_msg %d, inbox log %d, conversation log %d\n", FLUSHED, msg_inserts,
                ev_inserts, recent_inserts);
  assert_int_equal(msg_inserts, 1);
  assert_int_equal(ev_inserts, 1);
  assert_int_equal(recent_inserts, 1);

  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT sdkappid,conv,seq,from_no,to_no,time_s,cseq,random,flags,life_s,body,"
                                          "run_lo,typeof(body) FROM c2c_msg ORDER BY id", -1, &q, NULL), SQLITE_OK);
  int rows = 0, ev_want = 0;
  for (; sqlite3_step(q) == SQLITE_ROW; rows++) {
    assert_true(rows < FLUSHED);
    const store_msg_t *m = &in[rows].m;
    ev_want += !(m->flags & STORE_MSG_IMPORTED) * 2;
    const int64_t want[] = { m->sdkappid, (int64_t)m->conv, m->seq, m->from_no, m->to_no, m->time_s, m->cseq, m->random,
                             m->flags, m->life_s };
    for (int c = 0; c < 10; c++)
      if (sqlite3_column_int64(q, c) != want[c]) fail_msg("message %d column %d: %lld, want %lld", rows, c,
                                                          (long long)sqlite3_column_int64(q, c), (long long)want[c]);
    assert_string_equal((const char *)sqlite3_column_text(q, 12), "text");
    assert_int_equal(sqlite3_column_bytes(q, 10), m->body_len);
    assert_memory_equal(sqlite3_column_blob(q, 10) ? sqlite3_column_blob(q, 10) : "", bodies[rows], m->body_len);
    assert_int_equal(sqlite3_column_type(q, 11) == SQLITE_NULL, !(m->flags & STORE_MSG_IMPORTED));
  }
  sqlite3_finalize(q);
  assert_int_equal(rows, FLUSHED);
  /* every inbox event, as the append numbered it */
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM c2c_inbox_log WHERE user_no=?1 AND sdkappid=?2 AND useq=?3"
                                          " AND kind=?4 AND conv=?5 AND seq=?6 AND at=?7", -1, &q, NULL), SQLITE_OK);
  int ev_found = 0;
  for (int i = 0; i < FLUSHED; i++)
    for (int side = 0; side < 2 && !(in[i].m.flags & STORE_MSG_IMPORTED); side++) {
      const store_msg_t *m = &in[i].m;
      const int64_t v[] = { side ? m->to_no : m->from_no, m->sdkappid, side ? in[i].useq_to : in[i].useq_from, STORE_EV_MSG,
                            (int64_t)m->conv, m->seq, m->time_s };
      for (int c = 0; c < 7; c++) sqlite3_bind_int64(q, c + 1, v[c]);
      assert_int_equal(sqlite3_step(q), SQLITE_ROW);
      ev_found += sqlite3_column_int(q, 0);
      sqlite3_reset(q);
    }
  sqlite3_finalize(q);
  assert_int_equal(ev_found, ev_want);
  int64_t n_ev, n_recent, read_sum;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM c2c_inbox_log), (SELECT count(*) FROM c2c_recent_log),"
                                          " (SELECT total(read_seq) FROM c2c_recent_log)", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  n_ev = sqlite3_column_int64(q, 0);
  n_recent = sqlite3_column_int64(q, 1);
  read_sum = sqlite3_column_int64(q, 2);
  sqlite3_finalize(q);
  assert_int_equal(n_ev, ev_want);
  assert_int_equal(n_recent, 2 * 150); /* 150 conversations (i % 50 and i * 7 % 30 repeat every 150), two rows each */
  assert_int_equal(read_sum, 0);                            /* each made by its conversation's first message */

  /* the held statements' programs (the connection's prepared INSERTs of the three tables) */
  int checked = 0;
  for (sqlite3_stmt *h = sqlite3_next_stmt(db, NULL); h; h = sqlite3_next_stmt(db, h)) {
    const char *hs = sqlite3_sql(h);
    if (!hs || strncmp(hs, "INSERT OR", 9) ||
        !(strstr(hs, "INTO c2c_msg(") || strstr(hs, "INTO c2c_inbox_log(") || strstr(hs, "INTO c2c_recent_log(")))
      continue;
    char sql[8192];
    if (snprintf(sql, sizeof sql, "EXPLAIN %s", hs) >= (int)sizeof sql) continue; /* 64-row statements: the 1-row ones stand for them */
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
      const char *op = (const char *)sqlite3_column_text(q, 1);
      if (!strcmp(op, "OpenEphemeral") || (!strncmp(op, "Halt", 4) && sqlite3_column_int(q, 3) == 2))
        fail_msg("%s: %s with P2 %d", hs, op, sqlite3_column_int(q, 3));
    }
    sqlite3_finalize(q);
    checked++;
  }
  assert_true(checked >= 3);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_many_conversations_held, setup, teardown),
    cmocka_unit_test_setup_teardown(test_held_bodies_capped, setup, teardown),
    cmocka_unit_test_setup_teardown(test_held_import_elsewhere_costs_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rel_events_held, setup, teardown),
    cmocka_unit_test_setup_teardown(test_flush_one_statement_per_table, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
