/* sqlite_msg_live.c — the lookups of live C2C messages by MsgRandom
 * without an index on them (migration 30; docs/decisions/
 * messaging-c2c-append.md §15): the send dedupe from the conversation's
 * window (sqlite_msg_win.c) or a walk back, MsgKey and importmsg lookups by
 * a binary search over seq for the key's second, imported messages through
 * their partial index by time (the imports of the key's second); the walk
 * down the seqs that passes a run of imports in one seek (run_lo,
 * migration 48: §45); and the per-conversation cache value they rely on
 * (next seq and the newest time: live times never decrease along seq, the
 * append clamps them to the conversation's newest live or imported time).
 *
 * State: the connection's struct sqmsg (sqlite_msg_int.h), one thread. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#include <assert.h>
#include <stdlib.h>

#define stmt sq__msg_stmt

/* Whether imported messages exist (the partial index has a row). With
 * none, a MsgKey lookup and importmsg's dedupe skip the partial index. "Some" is
 * remembered; "none" only on the connection that appends (the writer's:
 * every later import is its own, which raises it). A reader asks every
 * time: the writer may import after it looked. */
static int any_imported(store_t *s, struct sqmsg *m)
{
  if (!m->imported) {
    int64_t one;
    sqlite3_stmt *st = stmt(s, M_ANY_IMP);
    if (!st || scalar(st, &one)) return 1; /* unknown: look */
    if (one) m->imported = 2;
    else if (m->appends) m->imported = 1;
    return one != 0;
  }
  return m->imported == 2;
}

int sq__live_down(store_t *s, uint32_t sdkappid, uint64_t conv, int64_t below, int shown,
                  int (*each)(void *, sqlite3_stmt *), void *ud)
{
  static const int walk[] = { [SQ_WALK_PLAIN] = M_WALK, [SQ_WALK_SHOWN] = M_WALK_SHOWN, [SQ_WALK_BODY] = M_WALK_BODY };
  assert(shown >= SQ_WALK_PLAIN && shown <= SQ_WALK_BODY);
  sqlite3_stmt *st = stmt(s, walk[shown]);
  int rc;
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, below);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_int64(st, 5) & STORE_MSG_IMPORTED) {
      int64_t lo = sqlite3_column_int64(st, 6);
      if (lo < sqlite3_column_int64(st, 0)) { /* the run below it is imported too: past it in one seek */
        sqlite3_reset(st);
        BIND(st, sdkappid, (int64_t)conv, lo);
      }
      continue;
    }
    int r = each(ud, st);
    if (r < 0) { /* hidden from the reader: a SyncOtherMachine 2 run of its own (§51) or a run of NoLastMsg
                  * messages (§57), past it in one seek */
      int64_t lo = sqlite3_column_int64(st, 6);
      if (lo < sqlite3_column_int64(st, 0)) {
        sqlite3_reset(st);
        BIND(st, sdkappid, (int64_t)conv, lo);
      }
      continue;
    }
    if (r) { rc = SQLITE_DONE; break; }
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* The first live row of a walk: its seq and time. */
typedef struct first { uint32_t seq; int64_t time_s; } first_t;

static int first_row(void *ud, sqlite3_stmt *st)
{
  first_t *f = ud;
  f->seq = (uint32_t)sqlite3_column_int64(st, 0);
  f->time_s = sqlite3_column_int64(st, 4);
  return 1;
}

/* A probe of a split: the first live row of a walk, and whether it is in the low part. */
typedef struct probe {
  uint32_t seq;
  int low;
  int (*is_low)(void *, sqlite3_stmt *);
  void *ud;
} probe_t;

static int probe_row(void *ud, sqlite3_stmt *st)
{
  probe_t *p = ud;
  p->seq = (uint32_t)sqlite3_column_int64(st, 0);
  p->low = p->is_low(p->ud, st);
  return 1;
}

int sq__live_split(store_t *s, uint32_t sdkappid, uint64_t conv, int64_t hi, int shown,
                   int (*is_low)(void *, sqlite3_stmt *), void *ud, uint32_t *below, uint32_t *above)
{
  int64_t max, lo = 0;
  sqlite3_stmt *st = stmt(s, M_MAX_SEQ);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv);
  int rc = scalar(st, &max);
  if (rc) return rc;
  if (hi > max + 1) hi = max + 1;
  *below = *above = 0;
  /* invariant: every live seq <= lo is low, *below the highest of them; no live seq >= hi is, *above the
   * lowest live seq found high (hi then: none in between is left once hi = lo + 1) */
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    probe_t p = { 0, 0, is_low, ud };
    if ((rc = sq__live_down(s, sdkappid, conv, mid + 1, shown, probe_row, &p))) return rc;
    if (p.seq <= lo) lo = mid; /* none in (lo, mid] */
    else if (p.low) { lo = mid; *below = p.seq; }
    else hi = *above = p.seq;
  }
  return 0;
}

/* (time_s, seq) below the bound (ct, cs) */
typedef struct bound { int64_t ct, cs; } bound_t;

static int below_bound(void *ud, sqlite3_stmt *st)
{
  const bound_t *b = ud;
  int64_t t = sqlite3_column_int64(st, 4), seq = sqlite3_column_int64(st, 0);
  return t < b->ct || (t == b->ct && seq < b->cs);
}

int sq__live_before(store_t *s, uint32_t sdkappid, uint64_t conv, int64_t hi, int64_t ct, int64_t cs, uint32_t *seq)
{
  bound_t b = { ct, cs };
  uint32_t above;
  return sq__live_split(s, sdkappid, conv, hi, 0, below_bound, &b, seq, &above);
}

int sq__live_run_lo(store_t *s, struct sqmsg *m, uint32_t sdkappid, uint64_t conv, uint32_t seq, uint32_t *run_lo)
{
  int64_t v[2] = { 0, 0 };
  *run_lo = seq;
  if (seq <= 1) return 0;
  uint32_t held = sq__pend_run_lo(&m->pend, sdkappid, conv, seq - 1);
  if (held) { *run_lo = held; return 0; }
  sqlite3_stmt *st = stmt(s, M_RUN_OF); /* inside an append: a held seq - 1 (live) has no row here */
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, seq - 1);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) { v[0] = sqlite3_column_int64(st, 0); v[1] = sqlite3_column_int64(st, 1); }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sq__map_rc(rc);
  if ((v[0] & STORE_MSG_IMPORTED) && v[1] > 0 && v[1] < seq) *run_lo = (uint32_t)v[1];
  return 0;
}

/* The start of the run that a live message of flags (STORE_MSG_NOT_FROM or STORE_MSG_NO_LAST set) from from_no
 * appended after seq - 1 ends, given seq - 1's flags, sender and run start (lo: seq - 1 for a run of one), 0
 * for a run of one (§51, §57). A SyncOtherMachine 2 message continues its sender's run of live such messages; a
 * NoLastMsg one that is not SyncOtherMachine 2 continues a run of NoLastMsg messages: through seq - 1's own run
 * when that is one of these (every row of it NoLastMsg), else seq - 1 alone when it is NoLastMsg otherwise (a
 * SyncOtherMachine 2 one, whose run is its sender's, or an import, whose run is of imports). */
static uint32_t run_after(uint32_t flags, uint32_t from_no, int64_t pflags, uint32_t pfrom, uint32_t seq, int64_t lo)
{
  const int64_t kind = STORE_MSG_NOT_FROM | STORE_MSG_NO_LAST | STORE_MSG_IMPORTED;
  if (lo <= 0 || lo >= seq) lo = seq - 1;
  if (flags & STORE_MSG_NOT_FROM)
    return (pflags & (STORE_MSG_NOT_FROM | STORE_MSG_IMPORTED)) == STORE_MSG_NOT_FROM && pfrom == from_no
               ? (uint32_t)lo
               : 0;
  if (!(pflags & STORE_MSG_NO_LAST)) return 0;
  return (pflags & kind) == STORE_MSG_NO_LAST ? (uint32_t)lo : seq - 1;
}

int sq__live_hidden_lo(store_t *s, struct sqmsg *m, const store_msg_t *in, uint32_t *run_lo)
{
  int64_t v[3] = { 0, 0, 0 };
  *run_lo = 0;
  if (in->seq <= 1) return 0;
  const pend_msg_t *h = sq__pend_last(&m->pend, in->sdkappid, in->conv);
  if (h) { /* seq - 1 is held (the conversation's newest held message): its run, when it continues */
    if (h->m.seq == in->seq - 1)
      *run_lo = run_after(in->flags, in->from_no, h->m.flags, h->m.from_no, in->seq, h->run_lo);
    return 0;
  }
  sqlite3_stmt *st = stmt(s, M_RUN_OF); /* held elsewhere in its bucket: no row here, a run of one (never wrong) */
  if (!st) return IMC_E_IO;
  BIND(st, in->sdkappid, (int64_t)in->conv, in->seq - 1);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) for (int c = 0; c < 3; c++) v[c] = sqlite3_column_int64(st, c);
  sqlite3_reset(st);
  if (rc == SQLITE_ROW) *run_lo = run_after(in->flags, in->from_no, v[0], (uint32_t)v[2], in->seq, v[1]);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* The conversation's next seq and its newest time: cached, else read
 * (max(seq); the newest live row and the newest import when there is one). */
int sq__live_conv_next(store_t *s, app_cache_t *ac, uint32_t sdkappid, uint64_t conv, uint32_t *next, int64_t *newest_s)
{
  uint64_t v = (uint64_t)(uintptr_t)u64map_get(&ac->conv, conv);
  struct sqmsg *m = *sq__msg_slot(s);
  if (!v && m && m->nf.ready && !sq__nf_maybe(&m->nf, sdkappid, conv)) v = 1; /* no message: no max() (sqlite_msg_nf.c) */
  if (!v) {
    int64_t max, t = 0;
    sqlite3_stmt *st = stmt(s, M_MAX_SEQ);
    if (!st) return IMC_E_IO;
    BIND(st, sdkappid, (int64_t)conv);
    int rc = scalar(st, &max);
    if (!rc && max) {
      first_t f = { 0, 0 };
      int64_t ti = 0;
      rc = sq__live_down(s, sdkappid, conv, max + 1, 0, first_row, &f);
      if (!rc && (!m || any_imported(s, m))) { /* none: the send path reads no more than before */
        if (!(st = stmt(s, M_IMP_MAX_TIME))) rc = IMC_E_IO;
        else { BIND(st, sdkappid, (int64_t)conv); rc = scalar(st, &ti); }
      }
      t = f.time_s > ti ? f.time_s : ti;
    }
    if (rc) return rc;
    if (max + 1 > UINT32_MAX) return IMC_E_RANGE;
    v = (uint64_t)(max + 1) | (uint64_t)(t < 0 ? 0 : t > UINT32_MAX ? UINT32_MAX : t) << 32;
  }
  *next = (uint32_t)v;
  *newest_s = (int64_t)(v >> 32);
  return 0;
}

int sq__live_conv_set(struct sqmsg *m, app_cache_t *ac, uint64_t conv, uint32_t used, int64_t newest_s)
{
  if (used == UINT32_MAX) return IMC_E_RANGE;
  uint64_t t = newest_s < 0 ? 0 : newest_s > UINT32_MAX ? UINT32_MAX : (uint64_t)newest_s;
  size_t n = ac->conv.len; /* a new key counts in entries (the length, not a second probe) */
  int rc = u64map_put(&ac->conv, conv, (void *)(uintptr_t)((uint64_t)(used + 1) | t << 32));
  m->entries += ac->conv.len - n;
  return rc;
}

/* A window entry from a WALK row (seq, random, from_no, cseq, time_s, flags), with its content's hash from a
 * WALK_BODY row (body): the hash its first modification kept of its original content (§78), else its body's;
 * else 0 (a MsgKey lookup compares no content). */
static sqwin_ent_t row_ent(sqlite3_stmt *st, int body)
{
  uint64_t chash = 0;
  if (body && sqlite3_column_type(st, 8) != SQLITE_NULL) {
    chash = (uint64_t)sqlite3_column_int64(st, 8);
  } else if (body) {
    const char *b = (const char *)sqlite3_column_blob(st, 7); /* the text's bytes, no conversion */
    chash = store_content_hash(b ? b : "", (size_t)sqlite3_column_bytes(st, 7));
  }
  return (sqwin_ent_t){ (uint32_t)sqlite3_column_int64(st, 0), (uint32_t)sqlite3_column_int64(st, 1),
                        (uint32_t)sqlite3_column_int64(st, 2), (uint32_t)sqlite3_column_int64(st, 3),
                        sqlite3_column_int64(st, 4), chash,
                        (uint32_t)sqlite3_column_int64(st, 5) & STORE_MSG_CALLER_SEQ, 0 };
}

/* A window entry for a message whose content hashes to chash. */
static sqwin_ent_t msg_ent(const store_msg_t *m, uint64_t chash)
{
  return (sqwin_ent_t){ m->seq, m->random, m->from_no, m->cseq, m->time_s, chash, m->flags & STORE_MSG_CALLER_SEQ, 0 };
}

/* An each of sq__live_down over sqwin_ent_t: stops at the first live row
 * older than bound_s (when stop_older), skips rows of another second (when
 * only_second), calls each(ud, entry); body: the walk reads WALK_BODY rows
 * and the entries carry their content's hash. */
typedef struct ent_walk {
  int64_t bound_s;
  int only_second, body;
  int (*each)(void *, const sqwin_ent_t *);
  void *ud;
} ent_walk_t;

static int ent_row(void *ud, sqlite3_stmt *st)
{
  ent_walk_t *w = ud;
  sqwin_ent_t e = row_ent(st, w->body);
  if (e.time_s < w->bound_s) return 1;
  if (w->only_second && e.time_s != w->bound_s) return 0;
  return w->each(w->ud, &e);
}

/* Walk the conversation's written live messages back from seq below_seq,
 * calling each(ud, row) for every one with time_s >= bound_s and stopping
 * at the first one older: live times never decrease along seq (append
 * clamps them), so no older live message has time_s >= bound_s. Imported
 * messages, whose times follow no order, are passed a run at a time
 * (sq__live_down; the partial index answers for them). each returns
 * nonzero to stop early. */
static int walk_live(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t below_seq, int64_t bound_s,
                     int (*each)(void *, const sqwin_ent_t *), void *ud)
{
  ent_walk_t w = { bound_s, 0, 1, each, ud };
  return sq__live_down(s, sdkappid, conv, below_seq, SQ_WALK_BODY, ent_row, &w);
}

/* Call each(ud, row) for every live message of the conversation below
 * below_seq whose time is exactly time_s, newest first. Live times never
 * decrease along seq (the append clamps a live message's time to the
 * conversation's newest time, whatever the clock did), so the highest live
 * seq with a time <= time_s is found by a binary search over seq
 * (sq__live_before: each probe one seek, a run of imports passed in one
 * more), and only that second's messages are read down from it: log2(seqs)
 * probes plus the second's messages, not every newer message nor every
 * imported one. */
static int walk_second(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t below_seq, int64_t time_s,
                       int (*each)(void *, const sqwin_ent_t *), void *ud)
{
  uint32_t top;
  int rc = sq__live_before(s, sdkappid, conv, below_seq, time_s + 1, 0, &top);
  if (rc || !top) return rc;
  ent_walk_t w = { time_s, 1, 0, each, ud };
  return sq__live_down(s, sdkappid, conv, (int64_t)top + 1, 0, ent_row, &w);
}

/* A match: the lowest seq seen so far. */
typedef struct match {
  uint32_t random, from_no, cseq, seq, out_cseq;
  int64_t time_s, out_time;
  int key;
  uint32_t key_from; /* key: only this sender's messages (0: any; importmsg's dedupe matches either side) */
  uint32_t caller;   /* send: its STORE_MSG_CALLER_SEQ bit (store_msg_same_seq with cseq) */
  uint64_t chash;    /* send: its content's hash (store_content_hash, §69) */
} match_t;

static void match_take(match_t *k, uint32_t seq, int64_t time_s, uint32_t cseq)
{
  if (k->seq && k->seq < seq) return;
  k->seq = seq;
  k->out_time = time_s;
  k->out_cseq = cseq;
}

/* key: MsgKey (random, cseq, time exactly); else the send's (random, sender, time >= time_s, cseq when both
 * are the callers', content) */
static int match_ent(void *ud, const sqwin_ent_t *e)
{
  match_t *k = ud;
  if (e->random == k->random &&
      (k->key ? e->cseq == k->cseq && e->time_s == k->time_s && (!k->key_from || e->from_no == k->key_from)
              : e->from_no == k->from_no && e->time_s >= k->time_s && e->chash == k->chash &&
                    store_msg_same_seq(e->caller, e->cseq, k->caller, k->cseq)))
    match_take(k, e->seq, e->time_s, e->cseq);
  return 0;
}

/* The imported messages' match of a key (MsgKey, importmsg's dedupe), through the partial index. */
static int match_imported(store_t *s, struct sqmsg *m, uint32_t sdkappid, uint64_t conv, match_t *k)
{
  assert(k->key); /* a send never matches an import (§66) */
  if (!any_imported(s, m)) return 0;
  sqlite3_stmt *st = stmt(s, M_DEDUPE_IMPORT);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, k->random, k->cseq, k->time_s, k->key_from);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    match_take(k, (uint32_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
               (uint32_t)sqlite3_column_int64(st, 2));
  sqlite3_reset(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* Loading a window: the walk's rows, newest first, into a buffer of at most
 * WIN_MAX entries; the walk stops there (full: the window starts capped,
 * and the match is taken among those rows, as a capped window's is). */
typedef struct load { match_t *k; sqwin_ent_t *e; uint32_t n; int full; } load_t;

static int load_ent(void *ud, const sqwin_ent_t *e)
{
  load_t *l = ud;
  if (l->n == WIN_MAX) { l->full = 1; return 1; }
  match_ent(l->k, e);
  l->e[l->n++] = *e;
  return 0;
}

/* Forget every window of an app (they are reloaded on demand). */
void sq__live_win_clear(struct sqmsg *m, uint32_t sdkappid)
{
  app_cache_t *a = u64map_get(&m->apps, sdkappid);
  if (!a) return;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&a->win, &it); u64map_next(&a->win, &it, NULL, &v);) m->entries -= ((sqwin_t *)v)->n + 1;
  u64map_free_each(&a->win, free);
}

static void win_drop(struct sqmsg *m, app_cache_t *ac, uint64_t conv)
{
  sqwin_t *w = u64map_del(&ac->win, conv);
  if (w) { m->entries -= w->n + 1; free(w); }
}

/* Add a live message to its conversation's window, if it has one. A window
 * that cannot grow (out of memory) is dropped: the next send walks back. */
void sq__live_win_add(struct sqmsg *m, app_cache_t *ac, const store_msg_t *in, uint64_t chash, int64_t since_s)
{
  sqwin_t *w = u64map_get(&ac->win, in->conv), *was = w;
  if (!w) return;
  uint32_t n0 = w->n;
  sqwin_ent_t e = msg_ent(in, chash);
  if (sq__win_push(&w, &e, since_s)) {
    win_drop(m, ac, in->conv);
    return;
  }
  if (w != was && u64map_put(&ac->win, in->conv, w)) { /* the map holds the moved-from pointer: take it out */
    u64map_del(&ac->win, in->conv);
    m->entries -= n0 + 1;
    free(w);
    return;
  }
  m->entries = m->entries + w->n - (size_t)n0; /* size_t: a prune may have shrunk it */
}

/* The send dedupe among live messages: from the conversation's window
 * (*from_window = 1: it holds the conversation's held live rows too, pushed
 * as they were appended), or (no window, or one starting after since) a
 * walk back over the written messages, which also loads the window: the
 * written rows (newest first from the walk) and the conversation's held
 * live rows (newer than every written one, in seq order). The held rows'
 * own match is then sq__pend_dup's. */
static int match_live_send(store_t *s, struct sqmsg *m, app_cache_t *ac, const store_msg_t *in, match_t *k,
                           int *from_window)
{
  sqwin_t *w = u64map_get(&ac->win, in->conv);
  *from_window = 0;
  if (w && (k->time_s >= w->lo || w->capped)) {
    const sqwin_ent_t *e = sq__win_find(w, k->random, k->from_no, k->chash, k->caller, k->cseq, k->time_s);
    if (e) match_take(k, e->seq, e->time_s, e->cseq);
    *from_window = 1;
    return 0;
  }
  win_drop(m, ac, in->conv);
  load_t l = { k, malloc(WIN_MAX * sizeof(sqwin_ent_t)), 0, 0 };
  if (!l.e) return IMC_E_NOMEM;
  int rc = walk_live(s, in->sdkappid, in->conv, in->seq, k->time_s, load_ent, &l);
  /* full: complete from just above the oldest row loaded (older ones were left in the table; times never
   * decrease along seq), and capped */
  if (!rc && (w = sq__win_new(l.full ? l.e[l.n - 1].time_s + 1 : k->time_s))) {
    int ok = 1;
    w->capped = l.full;
    for (uint32_t i = l.n; i-- > 0 && ok;) ok = !sq__win_push(&w, &l.e[i], k->time_s);
    for (int i = sq__pend_conv_next(&m->pend, -1, in->sdkappid, in->conv); i >= 0 && ok;
         i = sq__pend_conv_next(&m->pend, i, in->sdkappid, in->conv)) {
      const store_msg_t *h = &m->pend.msg[i].m;
      if (h->flags & STORE_MSG_IMPORTED) continue;
      sqwin_ent_t e = msg_ent(h, store_content_hash(sq__pend_body(&m->pend, i), h->body_len));
      ok = !sq__win_push(&w, &e, k->time_s);
    }
    if (ok && !u64map_put(&ac->win, in->conv, w)) m->entries += w->n + 1;
    else free(w);
  }
  free(l.e);
  return rc;
}

/* The first match of the send's or importmsg's dedupe rule. A send's
 * (§66): live messages only — from the window, or a walk back that loads
 * it, and the held live rows the window does not have yet; an imported
 * message is never a send's original; one of other content neither (§69:
 * the window's and the walk's rows by their content hash, the walk reading
 * each row's body, the held rows byte for byte). importmsg's: imported messages
 * through the partial index, live ones among the messages of the imported
 * time's second (walk_second: only when the conversation's newest time is
 * as new as the imported time), held ones of either kind from the buffer. */
int sq__live_find_dup(store_t *s, struct sqmsg *m, app_cache_t *ac, store_msg_append_t *a, int64_t newest_s,
                      uint64_t chash)
{
  const store_msg_t *in = &a->m;
  match_t k = { in->random, in->from_no, in->cseq, 0, 0, a->import_dedupe ? in->time_s : a->dedupe_since_s, 0,
                a->import_dedupe, 0, in->flags & STORE_MSG_CALLER_SEQ, chash };
  int from_window = 0, rc;
  if (!k.key) rc = match_live_send(s, m, ac, in, &k, &from_window);
  else if (!(rc = match_imported(s, m, in->sdkappid, in->conv, &k)) && in->time_s <= newest_s)
    rc = walk_second(s, in->sdkappid, in->conv, in->seq, in->time_s, match_ent, &k);
  if (rc) return rc;
  /* the held rows, unless a window answered: it has every held live row of its conversation already (a hot
   * conversation's chain would be walked whole by every send) */
  const store_msg_t *h = from_window ? NULL : sq__pend_dup(&m->pend, a);
  if (h) match_take(&k, h->seq, h->time_s, h->cseq);
  if (k.seq) {
    a->dup = 1;
    a->m.seq = k.seq;
    a->m.time_s = k.out_time;
    a->m.cseq = k.out_cseq;
  }
  return 0;
}

/* MsgKey (cseq, random, time_s): imported messages through the partial
 * index, live ones among the messages of second time_s (walk_second: a
 * binary search over seq, not a walk over every newer message). */
int sq__live_find_key(store_t *s, struct sqmsg *m, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t cseq,
                      uint32_t random, int64_t time_s, uint32_t *seq)
{
  match_t k = { random, 0, cseq, 0, 0, time_s, 0, 1, from_no, 0, 0 };
  int rc = match_imported(s, m, sdkappid, conv, &k);
  if (!rc) rc = walk_second(s, sdkappid, conv, UINT32_MAX, time_s, match_ent, &k);
  *seq = k.seq;
  return rc;
}
