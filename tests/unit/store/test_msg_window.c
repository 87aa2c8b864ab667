/* Dedupe and MsgKey lookups without a MsgRandom index on live messages
 * (sqlite_msg.c, sqlite_msg_win.c; docs/decisions/messaging-c2c-storage.md
 * §15): a property test against a model that answers every rule by brute
 * force over the committed and pending messages — sends with a clock that
 * sometimes steps back, with or without the caller's MsgSeq (which then
 * tells sends apart), imports at any time (future ones too), transactions
 * that commit or roll back, restarts, bodies of the same or another
 * content (a resend is the same content too: messaging-c2c-checks2.md §69)
 * — and a conversation with more messages in the window than the window
 * holds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "store/sqlite_int.h"
#include "store/sqlite_msg_int.h"
#include "store_rows.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000001u
#define T0 1700000000
#define WINDOW_S 20
#define USERS 4
#define MAXM 20000

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgwin");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

/* caller: the message's cseq is the caller's MsgSeq (STORE_MSG_CALLER_SEQ); content: its body's content (the
 * bodies of one content differ in OfflinePushInfo only) */
typedef struct mm { uint64_t conv; uint32_t seq, from, random, cseq, imported, caller, content; int64_t time_s; } mm_t;
static mm_t msgs[MAXM];
static int nmsgs, ncommitted;

/* The bodies an append stores (cur_body: the next one's index) and their contents. */
static const struct { const char *text; uint32_t content; } bodies[] = {
  { "{}", 0 },
  { "{\"MsgBody\":[1]}", 1 },
  { "{\"MsgBody\":[1],\"CloudCustomData\":\"x\"}", 2 },
  { "{\"MsgBody\":[1],\"OfflinePushInfo\":{\"Desc\":\"p\"}}", 1 },
  { "{\"MsgBody\":[2],\"CloudCustomData\":\"x\",\"OfflinePushInfo\":{}}", 3 },
};
static uint32_t cur_body;

static uint64_t rng = 0x243F6A8885A308D3ULL;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng % n); }

static uint32_t next_seq(uint64_t conv)
{
  uint32_t s = 0;
  for (int i = 0; i < nmsgs; i++) if (msgs[i].conv == conv && msgs[i].seq > s) s = msgs[i].seq;
  return s + 1;
}

/* the conversation's newest time, live or imported: a live append is clamped to it (§15, §45) */
static int64_t newest_time(uint64_t conv)
{
  int64_t t = 0;
  for (int i = 0; i < nmsgs; i++) if (msgs[i].conv == conv && msgs[i].time_s > t) t = msgs[i].time_s;
  return t;
}

/* The first message (lowest seq) of conv matching a send (a live message: from, random, time >= since, and
 * cseq when both the send (caller) and the message carry the caller's MsgSeq; never an imported one, §66) or
 * a key (random, cseq, time exactly). */
static const mm_t *model_find_send(uint64_t conv, int key, uint32_t from, uint32_t random, uint32_t cseq, int64_t t,
                                   uint32_t caller)
{
  const mm_t *best = NULL;
  for (int i = 0; i < nmsgs; i++) {
    const mm_t *m = &msgs[i];
    if (m->conv != conv || m->random != random) continue;
    if (key ? m->cseq != cseq || m->time_s != t
            : m->imported || m->from != from || m->time_s < t || m->content != bodies[cur_body].content)
      continue;
    if (!key && caller && m->caller && m->cseq != cseq) continue;
    if (!best || m->seq < best->seq) best = m;
  }
  return best;
}

static const mm_t *model_find(uint64_t conv, int key, uint32_t from, uint32_t random, uint32_t cseq, int64_t t)
{
  return model_find_send(conv, key, from, random, cseq, t, 0);
}

/* An append (caller: with STORE_MSG_CALLER_SEQ) checked against the model. */
static void check_append_c(store_t *s, int import, uint32_t caller, uint32_t from, uint32_t to, uint32_t random,
                           uint32_t cseq, int64_t t, int64_t since)
{
  store_msg_append_t a;
  uint64_t conv = store_c2c_conv(from, to);
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, conv, 0, from, to, t, cseq, random,
                       (import ? STORE_MSG_IMPORTED : 0) | (caller ? STORE_MSG_CALLER_SEQ : 0), 604800,
                       bodies[cur_body].text, strlen(bodies[cur_body].text), NULL, NULL };
  if (import) a.import_dedupe = 1;
  else a.dedupe_since_s = since;
  a.inbox_to = a.recent_from = a.recent_to = 1;
  const mm_t *want = import ? model_find(conv, 1, 0, random, cseq, t)
                            : model_find_send(conv, 0, from, random, cseq, since, caller);
  uint32_t seq = next_seq(conv);
  int64_t live_t = newest_time(conv);
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.dup, want != NULL);
  if (want) {
    assert_int_equal(a.m.seq, want->seq);
    assert_int_equal(a.m.time_s, want->time_s);
    assert_int_equal(a.m.cseq, want->cseq);
    return;
  }
  assert_int_equal(a.m.seq, seq);
  /* a live time is the clock's, raised to the conversation's newest time (live or imported) when the clock
   * went back */
  assert_int_equal(a.m.time_s, import || t >= live_t ? t : live_t);
  assert_true(nmsgs < MAXM);
  msgs[nmsgs++] = (mm_t){ conv, seq, from, random, cseq, (uint32_t)import, caller, bodies[cur_body].content,
                          a.m.time_s };
}

static void check_append(store_t *s, int import, uint32_t from, uint32_t to, uint32_t random, uint32_t cseq, int64_t t,
                         int64_t since)
{
  check_append_c(s, import, 0, from, to, random, cseq, t, since);
}

static void take_seq(void *ud, const store_msg_t *m) { *(uint32_t *)ud = m->seq; }

static void check_keys(store_t *s, int n)
{
  for (int k = 0; k < n && ncommitted; k++) {
    const mm_t *m = &msgs[rnd((uint32_t)ncommitted)];
    const mm_t *want = model_find(m->conv, 1, 0, m->random, m->cseq, m->time_s);
    uint32_t seq = 0;
    assert_int_equal(store_msg_find_key(s, APP, m->conv, m->cseq, m->random, m->time_s, take_seq, &seq), 0);
    assert_int_equal(seq, want->seq);
  }
  uint32_t seq = 0; /* a key nobody sent */
  assert_int_equal(store_msg_find_key(s, APP, store_c2c_conv(1, 2), 99999, 99999, T0, take_seq, &seq), IMC_E_NOTFOUND);
}

static void test_against_model(void **st)
{
  (void)st;
  store_t *s;
  int64_t now = T0;
  assert_int_equal(test_store_open(dir, &s), 0);
  for (int round = 0; round < 400; round++) {
    assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
    int ops = 1 + (int)rnd(30);
    for (int i = 0; i < ops; i++) {
      uint32_t from = 1 + rnd(USERS), to = 1 + rnd(USERS - 1);
      if (to >= from) to++;
      now += rnd(100) < 3 ? -(int64_t)rnd(60) : (int64_t)rnd(3);
      cur_body = rnd(sizeof bodies / sizeof bodies[0]); /* a resend of another content is another message */
      /* half the sends carry the caller's MsgSeq (issue 13: then it tells sends apart), most imports too */
      if (rnd(10) == 0) /* an import: any time, the future too */
        check_append_c(s, 1, rnd(4) != 0, from, to, rnd(6), rnd(3), now - 500 + (int64_t)rnd(1000), 0);
      else
        check_append_c(s, 0, rnd(2), from, to, rnd(6), rnd(3), now, now - WINDOW_S);
    }
    if (rnd(8) == 0) {
      assert_int_equal(store_exec(s, "ROLLBACK"), 0);
      nmsgs = ncommitted;
    } else {
      assert_int_equal(store_exec(s, "COMMIT"), 0);
      ncommitted = nmsgs;
    }
    if (round % 10 == 9) check_keys(s, 20);
    if (round % 50 == 49) { store_close(s); assert_int_equal(test_store_open(dir, &s), 0); } /* a restart: caches empty */
  }
  assert_true(ncommitted > 300);
  cur_body = 0;
  store_close(s);
}

/* One conversation with 5,000 messages inside the dedupe window: more than
 * a window held until 2026-12-04 (4,096; the table answered then, walking
 * back 4,096 rows per send); now inside WIN_MAX (65,536), so the window
 * answers, exactly. */
static void test_past_the_window_cap(void **st)
{
  (void)st;
  store_t *s;
  nmsgs = ncommitted = 0;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t r = 0; r < 5000; r++) check_append(s, 0, 1 + (r & 1), 2 - (r & 1), r, r, T0, T0 - WINDOW_S);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  ncommitted = nmsgs;
  check_append(s, 0, 1, 2, 0, 0, T0, T0 - WINDOW_S);       /* the first message: a duplicate */
  check_append(s, 0, 2, 1, 4999, 0, T0, T0 - WINDOW_S);    /* the last */
  check_append(s, 0, 1, 2, 4999, 0, T0, T0 - WINDOW_S);    /* the other sender's random: new */
  check_append(s, 0, 1, 2, 10, 0, T0 + 1, T0 + 1);         /* since after everything: new */
  ncommitted = nmsgs;
  check_keys(s, 50);
  store_close(s);
}

/* Sends of one MsgRandom told apart by the caller's MsgSeq in a window
 * looked up by hash (64 entries or more: every entry of a MsgRandom in one
 * chain), held, written and after a restart (the window loaded from the
 * rows' flags): 400 sends of 8 MsgRandoms with their own MsgSeqs are all
 * stored; a resend with a MsgSeq is its message; one without is the first
 * of its MsgRandom, and a send with a MsgSeq matches a message that had
 * none. Fails when a window entry, a held row or a loaded row forgets
 * whether its MsgSeq was the caller's. */
static void test_caller_seq(void **st)
{
  (void)st;
  store_t *s;
  nmsgs = ncommitted = 0;
  assert_int_equal(test_store_open(dir, &s), 0);
  for (int pass = 0; pass < 3; pass++) {
    assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
    for (uint32_t r = 0; r < 200; r++) { /* new messages: another MsgSeq each (pass 2: one without, MsgRandom 8) */
      int drawn = pass == 2 && r == 5;
      check_append_c(s, 0, !drawn, 1, 2, drawn ? 8 : r & 7, 1000 * (uint32_t)pass + r, T0, T0 - WINDOW_S);
    }
    for (uint32_t r = 0; r < 200; r += 7) { /* resends, with and without MsgSeq, while the rows are held */
      check_append_c(s, 0, 1, 1, 2, r & 7, 1000 * (uint32_t)pass + r, T0, T0 - WINDOW_S);
      check_append_c(s, 0, 0, 1, 2, r & 7, 77777, T0, T0 - WINDOW_S);
    }
    assert_int_equal(store_exec(s, "COMMIT"), 0);
    ncommitted = nmsgs;
    for (uint32_t r = 0; r < 200; r += 3) check_append_c(s, 0, 1, 1, 2, r & 7, 1000 * (uint32_t)pass + r, T0,
                                                           T0 - WINDOW_S);
    store_close(s); /* a restart: the next pass loads the window from the table */
    assert_int_equal(test_store_open(dir, &s), 0);
  }
  assert_int_equal(nmsgs, 600);
  for (uint32_t r = 0; r < 600; r += 11) /* a resend of the 600 after the restart */
    check_append_c(s, 0, 1, 1, 2, r % 200 & 7, 1000 * (r / 200) + r % 200, T0, T0 - WINDOW_S);
  check_append_c(s, 0, 1, 1, 2, 8, 99999, T0, T0 - WINDOW_S); /* pass 2's send without MsgSeq matches any */
  assert_int_equal(nmsgs, 600);
  store_close(s);
}

/* One sender that gives every message one MsgRandom and tells them apart by
 * the caller's MsgSeq alone, through the store against the model: with
 * and without MsgSeq, held and written, resends after a restart (the
 * window loaded from the table), a second sender with the same MsgRandom,
 * and time passing the first sends so that a send without MsgSeq matches
 * the first one still within the dedupe window. */
static void test_one_random_many_seqs(void **st)
{
  (void)st;
  store_t *s;
  nmsgs = ncommitted = 0;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t i = 0; i < 3000; i++) { /* 30 a second over 100 s; every 7th has no MsgSeq */
    int64_t t = T0 + i / 30;
    check_append_c(s, 0, i % 7 != 3, 1, 2, 5, 10 + i, t, t - WINDOW_S);
    if (i % 11 == 0) check_append_c(s, 0, 1, 1, 2, 5, 10 + i - i % 3, t, t - WINDOW_S); /* a resend (or not) */
    if (i % 13 == 0) check_append_c(s, 0, 0, 1, 2, 5, 99999, t, t - WINDOW_S);     /* without MsgSeq */
    if (i % 17 == 0) check_append_c(s, 0, 1, 2, 1, 5, 10 + i, t, t - WINDOW_S);     /* the peer, same both */
    if (i % 500 == 499) {
      assert_int_equal(store_exec(s, "COMMIT"), 0);
      ncommitted = nmsgs;
      assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
    }
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  ncommitted = nmsgs;
  store_close(s); /* a restart: the window is loaded from the table */
  assert_int_equal(test_store_open(dir, &s), 0);
  int64_t t = T0 + 99;
  for (uint32_t i = 2000; i < 3000; i += 37) check_append_c(s, 0, 1, 1, 2, 5, 10 + i, t, t - WINDOW_S);
  check_append_c(s, 0, 0, 1, 2, 5, 1, t, t - WINDOW_S);
  check_append_c(s, 0, 0, 1, 2, 5, 1, t + 30, t + 30 - WINDOW_S); /* all but the newest older than since */
  check_append_c(s, 0, 1, 1, 2, 5, 10 + 2999, t + 30, t + 30 - WINDOW_S);
  store_close(s);
}

/* The same sender's lookups in a window cost a bounded number of entries
 * (sqwin_t.probes), not one per message of its MsgRandom: 20,000 sends of
 * one MsgRandom, each its own MsgSeq, each looked up before it is added;
 * a resend with its MsgSeq; a send without MsgSeq (the first message);
 * then, the dedupe window past the first 15,000, a send without MsgSeq
 * (the first newer one) and another right after it. With the hash keyed
 * by (MsgRandom, sender) alone, the 20,000th lookup compared 20,000. */
static void test_one_random_probes(void **st)
{
  (void)st;
  enum { N = 20000, BOUND = 48 };
  const uint32_t C = STORE_MSG_CALLER_SEQ;
  sqwin_t *w = sq__win_new(T0 - 1000);
  uint32_t worst = 0, total = 0;
  assert_non_null(w);
  for (uint32_t i = 0; i < N; i++) {
    int64_t t = T0 + i / 100;
    sqwin_ent_t e = { .seq = i + 1, .random = 7, .from_no = 1, .cseq = 1000 + i, .time_s = t, .caller = C };
    assert_null(sq__win_find(w, 7, 1, 0, C, 1000 + i, T0 - 1000));
    if (w->probes > worst) worst = w->probes;
    total += w->probes;
    assert_int_equal(sq__win_push(&w, &e, T0 - 1000), 0);
  }
  assert_int_equal(w->n, N);
  if (worst > BOUND || total > 5u * N) fail_msg("probes: worst %u, %u in all for %u lookups", worst, total, N);
  const sqwin_ent_t *e = sq__win_find(w, 7, 1, 0, C, 1000 + 12345, T0 - 1000); /* a resend */
  assert_non_null(e);
  assert_int_equal(e->seq, 12346);
  assert_true(w->probes <= BOUND);
  e = sq__win_find(w, 7, 1, 0, 0, 0, T0 - 1000); /* without MsgSeq: the first */
  assert_non_null(e);
  assert_int_equal(e->seq, 1);
  assert_true(w->probes <= BOUND);
  assert_null(sq__win_find(w, 7, 2, 0, 0, 0, T0 - 1000)); /* the other sender */
  assert_true(w->probes <= BOUND);
  e = sq__win_find(w, 7, 1, 0, 0, 0, T0 + 150); /* the first 15,000 past: passes them once */
  assert_non_null(e);
  assert_int_equal(e->seq, 15001);
  assert_true(w->lo >= T0 + 150);
  e = sq__win_find(w, 7, 1, 0, 0, 0, T0 + 150); /* and not again */
  assert_non_null(e);
  assert_int_equal(e->seq, 15001);
  assert_true(w->probes <= BOUND);
  e = sq__win_find(w, 7, 1, 0, C, 1000 + 14999, T0 + 150); /* a resend past the window: new */
  assert_null(e);
  e = sq__win_find(w, 7, 1, 0, 0, 0, T0 + 200); /* nothing within since */
  assert_null(e);
  /* the window is full (32,768 slots for 20,000 entries after growth): pushes up to it, then one more
   * with the since the lookup raised lo to, drops what the lookup unlinked instead of growing */
  uint32_t cap = w->cap;
  for (uint32_t i = N; w->n < cap; i++) {
    sqwin_ent_t f = { .seq = i + 1, .random = 8, .from_no = 1, .cseq = i, .time_s = T0 + 200, .caller = C };
    assert_int_equal(sq__win_push(&w, &f, T0 + 200), 0);
  }
  sqwin_ent_t f = { .seq = 99999, .random = 9, .from_no = 1, .cseq = 1, .time_s = T0 + 200, .caller = C };
  assert_int_equal(sq__win_push(&w, &f, T0 + 200), 0);
  assert_int_equal(w->cap, cap);
  assert_int_equal(w->n, cap - N + 1 + 0u);
  free(w);
}

/* One sender that gives every message one MsgRandom and no MsgSeq, told
 * apart by content alone (§69): 20,000 sends of 20,000 contents, each
 * looked up before it is added, cost a bounded number of entries (with
 * the hash keyed by (MsgRandom, sender), each lookup compared every entry
 * of the chain); a resend is its message, the first of its content. */
static void test_one_random_contents_probes(void **st)
{
  (void)st;
  enum { N = 20000, BOUND = 48 };
  sqwin_t *w = sq__win_new(T0 - 1000);
  uint32_t worst = 0, total = 0;
  assert_non_null(w);
  for (uint32_t i = 0; i < N; i++) {
    uint64_t h = store_content_hash((const char *)&i, sizeof i);
    sqwin_ent_t e = { .seq = i + 1, .random = 0, .from_no = 1, .cseq = 5000 + i, .time_s = T0, .chash = h };
    assert_null(sq__win_find(w, 0, 1, h, 0, 0, T0 - 1000));
    if (w->probes > worst) worst = w->probes;
    total += w->probes;
    assert_int_equal(sq__win_push(&w, &e, T0 - 1000), 0);
  }
  if (worst > BOUND || total > 5u * N) fail_msg("probes: worst %u, %u in all for %u lookups", worst, total, N);
  uint32_t i = 12345;
  const sqwin_ent_t *e = sq__win_find(w, 0, 1, store_content_hash((const char *)&i, sizeof i), 0, 0, T0 - 1000);
  assert_non_null(e);
  assert_int_equal(e->seq, i + 1);
  assert_true(w->probes <= BOUND);
  free(w);
}

/* A send of one conversation with random r from sender 1 + (r & 1); the
 * seq it got, *dup whether it was a duplicate. */
static uint32_t send_hot_at(store_t *s, uint32_t r, int64_t now, int *dup)
{
  store_msg_append_t a;
  uint32_t from = 1 + (r & 1);
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(1, 2), 0, from, 3 - from, now, r, r, 0, 604800, "{}", 2, NULL, NULL };
  a.dedupe_since_s = now - WINDOW_S;
  a.inbox_to = a.recent_from = a.recent_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  *dup = a.dup;
  return a.m.seq;
}

static uint32_t send_hot(store_t *s, uint32_t r, int *dup) { return send_hot_at(s, r, T0, dup); }

static const sqwin_t *hot_window(store_t *s)
{
  struct sqmsg *m = sq__msg_state(s);
  app_cache_t *ac = m ? u64map_get(&m->apps, APP) : NULL;
  return ac ? u64map_get(&ac->win, store_c2c_conv(1, 2)) : NULL;
}

/* More sends in the dedupe window than a window holds (WIN_MAX): the
 * window drops its oldest half and stays (capped), answering from memory;
 * the dedupe then covers the newest sends only (§29). After a restart the
 * window is loaded from the newest WIN_MAX rows, not the whole window. */
static void test_window_capped(void **st)
{
  (void)st;
  enum { HOT = WIN_MAX + WIN_MAX / 2 + 1000 };
  store_t *s;
  int dup;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t r = 0; r < HOT; r++) {
    assert_int_equal(send_hot(s, r, &dup), r + 1);
    assert_false(dup);
    if (r % 10000 == 9999) { assert_int_equal(store_exec(s, "COMMIT"), 0); assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0); }
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  const sqwin_t *w = hot_window(s);
  assert_non_null(w); /* kept, not given up */
  assert_true(w->capped);
  assert_true(w->n >= WIN_MAX / 2 && w->n <= WIN_MAX);
  assert_int_equal(w->e[w->n - 1].seq, HOT);
  assert_int_equal(send_hot(s, HOT - 1, &dup), HOT); /* the newest: a duplicate */
  assert_true(dup);
  assert_int_equal(send_hot(s, HOT - WIN_MAX / 4, &dup), HOT - WIN_MAX / 4 + 1);
  assert_true(dup);
  assert_int_equal(send_hot(s, 2, &dup), HOT + 1); /* past what the window keeps: stored again */
  assert_false(dup);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0); /* no window: the first send loads the newest WIN_MAX rows */
  assert_int_equal(send_hot(s, HOT - 2, &dup), HOT - 1);
  assert_true(dup);
  w = hot_window(s);
  assert_non_null(w);
  assert_true(w->capped && w->n <= WIN_MAX);
  assert_int_equal(send_hot(s, 4, &dup), HOT + 2);
  assert_false(dup);
  assert_int_equal(send_hot(s, 2, &dup), HOT + 1); /* the earlier resend is among the newest */
  assert_true(dup);
  store_close(s);
}

/* Resend each of the sends r in [lo, hi) (send_hot's r; stored at seq r + 1): every one is
 * recognised as its original, in one transaction. */
static void resends_recognised(store_t *s, uint32_t lo, uint32_t hi)
{
  int dup;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t r = lo; r < hi; r++) {
    uint32_t seq = send_hot(s, r, &dup);
    if (!dup || seq != r + 1) fail_msg("resend of send %u: seq %u dup %d (newest %u)", r, seq, dup, hi);
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
}

/* The bound docs/delivery.md states (messaging-c2c-commit.md §29), at its
 * edges, both users sending: up to WIN_MAX (65,536) sends inside the dedupe
 * window every resend is recognised; one send more and a resend of any of
 * the newest WIN_MAX / 2 (32,768) is still recognised — right after the
 * window dropped its oldest half, when it holds the fewest — while one
 * older than the newest WIN_MAX is stored again. The same after a restart,
 * with the window loaded from the table. */
static void test_window_bound_as_documented(void **st)
{
  (void)st;
  store_t *s;
  int dup;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t r = 0; r < WIN_MAX; r++) {
    assert_int_equal(send_hot(s, r, &dup), r + 1);
    if (r % 16384 == 16383) { assert_int_equal(store_exec(s, "COMMIT"), 0); assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0); }
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  resends_recognised(s, 0, WIN_MAX); /* 65,536 sends: exact */
  assert_int_equal(send_hot(s, WIN_MAX, &dup), WIN_MAX + 1); /* one more */
  assert_false(dup);
  assert_true(hot_window(s)->capped);
  resends_recognised(s, WIN_MAX + 1 - WIN_MAX / 2, WIN_MAX + 1); /* the newest 32,768 */
  assert_int_equal(send_hot(s, 0, &dup), WIN_MAX + 2); /* behind 65,536 newer sends: stored again */
  assert_false(dup);
  store_close(s);
  /* restarted: the first send, a resend of the oldest of the newest 32,768, loads the window from the table */
  assert_int_equal(test_store_open(dir, &s), 0);
  resends_recognised(s, WIN_MAX + 2 - WIN_MAX / 2, WIN_MAX + 1);
  assert_int_equal(send_hot(s, 0, &dup), WIN_MAX + 2); /* the newest: the resend stored again */
  assert_true(dup);
  assert_int_equal(send_hot(s, 1, &dup), WIN_MAX + 3); /* behind 65,537 newer sends: stored again */
  assert_false(dup);
  store_close(s);
}

/* A capped window pruned by a clock that jumped past the dedupe window is
 * complete from the new since, no longer capped: when the clock comes back,
 * a resend of a message it pruned is found by the walk over the table
 * (found by review: the capped window answered alone and the message was
 * stored twice). */
static void test_capped_clock_steps(void **st)
{
  (void)st;
  enum { HOT = WIN_MAX + WIN_MAX / 2 - 1 };
  store_t *s;
  int dup;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t r = 0; r < HOT; r++) {
    send_hot(s, r, &dup);
    if (r % 10000 == 9999) { assert_int_equal(store_exec(s, "COMMIT"), 0); assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0); }
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_true(hot_window(s)->capped);
  send_hot_at(s, 1000001, T0 + 100, &dup); /* the clock jumped forward past the window */
  send_hot_at(s, 1000003, T0 + 100, &dup);
  assert_false(hot_window(s)->capped);
  assert_int_equal(send_hot_at(s, HOT - 1, T0 + 1, &dup), HOT); /* back: within 20 s of the original */
  assert_true(dup);
  store_close(s);
}

/* A second connection (a reader's) that looked for imported messages
 * before the writer imported one still finds it by its MsgKey. */
static void test_reader_sees_later_import(void **st)
{
  (void)st;
  store_t *w, *r;
  uint32_t seq = 0;
  nmsgs = ncommitted = 0;
  assert_int_equal(test_store_open(dir, &w), 0);
  assert_int_equal(test_store_open(dir, &r), 0);
  check_append(w, 0, 1, 2, 1, 1, T0, T0 - WINDOW_S);
  assert_int_equal(store_msg_find_key(r, APP, store_c2c_conv(1, 2), 7, 7, T0 - 1000, take_seq, &seq), IMC_E_NOTFOUND);
  check_append(w, 1, 1, 2, 7, 7, T0 - 1000, 0);
  assert_int_equal(store_msg_find_key(r, APP, store_c2c_conv(1, 2), 7, 7, T0 - 1000, take_seq, &seq), 0);
  assert_int_equal(seq, 2);
  store_close(r);
  store_close(w);
}

/* MsgKey lookups by the key's second (sqlite_msg_live.c walk_second: a
 * binary search over seq, not a walk over every newer message), exact for
 * every message of a deep conversation: runs of messages in one second,
 * a clock that steps back (live times clamped), imports at any time among
 * them (and a run of 300), recalled messages, seq gaps left by the retention purge, and keys
 * of seconds nobody sent in. Also importmsg's dedupe on the same path. */
static void test_key_by_second(void **st)
{
  (void)st;
  store_t *s;
  int64_t now = T0;
  uint64_t conv = store_c2c_conv(1, 2);
  nmsgs = ncommitted = 0;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < 3000; i++) {
    uint32_t from = 1 + (uint32_t)(i & 1);
    if (rnd(4) == 0) now += 1 + (int64_t)rnd(3);
    if (rnd(50) == 0) now -= (int64_t)rnd(40); /* the clock stepped back */
    if (rnd(12) == 0 || (i >= 1000 && i < 1300)) /* imports, and one run of 300 */
      check_append(s, 1, from, 3 - from, rnd(4), rnd(3), now - 200 + (int64_t)rnd(400), 0);
    else check_append(s, 0, from, 3 - from, rnd(4), rnd(3), now, now - WINDOW_S);
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  ncommitted = nmsgs;
  /* recall some: flags do not move a message */
  for (int i = 0; i < nmsgs; i += 7) assert_int_equal(store_msg_set_flags(s, APP, conv, msgs[i].seq, 1), 0);
  /* purge the oldest: seq gaps below the survivors (the newest stays) */
  int64_t before = T0 + (now - T0) / 3, deleted;
  uint32_t max = 0;
  for (int i = 0; i < nmsgs; i++) if (msgs[i].seq > max) max = msgs[i].seq;
  rows_purge_app(s, APP, before, 500, &deleted);
  int kept = 0;
  for (int i = 0; i < nmsgs; i++)
    if (msgs[i].time_s >= before || msgs[i].seq == max) msgs[kept++] = msgs[i];
  assert_true(nmsgs - kept > 100);
  assert_int_equal(deleted, nmsgs - kept);
  nmsgs = ncommitted = kept;
  for (int pass = 0; pass < 2; pass++) { /* the second after a restart: caches empty */
    for (int i = 0; i < nmsgs; i++) {
      const mm_t *m = &msgs[i], *want = model_find(conv, 1, 0, m->random, m->cseq, m->time_s);
      uint32_t seq = 0;
      assert_int_equal(store_msg_find_key(s, APP, conv, m->cseq, m->random, m->time_s, take_seq, &seq), 0);
      assert_int_equal(seq, want->seq);
    }
    for (int64_t t = T0 - 300; t <= now + 300; t += 1 + (int64_t)rnd(5)) { /* every second, sent in or not */
      uint32_t random = rnd(4), cseq = rnd(3), seq = 0;
      const mm_t *want = model_find(conv, 1, 0, random, cseq, t);
      int rc = store_msg_find_key(s, APP, conv, cseq, random, t, take_seq, &seq);
      assert_int_equal(rc, want ? 0 : IMC_E_NOTFOUND);
      if (want) assert_int_equal(seq, want->seq);
    }
    store_close(s);
    assert_int_equal(test_store_open(dir, &s), 0);
  }
  /* importmsg's dedupe at surviving live times and at purged ones */
  for (int i = 0; i < 200; i++) {
    const mm_t *m = &msgs[rnd((uint32_t)nmsgs)];
    check_append(s, 1, 1, 2, m->random, m->cseq, rnd(2) ? m->time_s : before - 1 - (int64_t)rnd(100), 0);
    ncommitted = nmsgs;
  }
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_against_model, setup, teardown),
    cmocka_unit_test_setup_teardown(test_past_the_window_cap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_caller_seq, setup, teardown),
    cmocka_unit_test_setup_teardown(test_one_random_many_seqs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_one_random_probes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_one_random_contents_probes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reader_sees_later_import, setup, teardown),
    cmocka_unit_test_setup_teardown(test_window_capped, setup, teardown),
    cmocka_unit_test_setup_teardown(test_window_bound_as_documented, setup, teardown),
    cmocka_unit_test_setup_teardown(test_capped_clock_steps, setup, teardown),
    cmocka_unit_test_setup_teardown(test_key_by_second, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
