/* sqlite_msg.c — the SQLite backend of store_msg.h.
 *
 * Tables (migration 10 in sqlite_schema.c): c2c_msg (rowid order ≈ time
 * order; the retention purge reads it once per pass for every app; UNIQUE(conv,
 * sdkappid, seq) for history and sync, migration 27; an index on (conv,
 * sdkappid, time_s, seq) for imported rows only, migrations 30 and 47: live
 * messages are found by sqlite_msg_live.c without one, imported ones read
 * by time in sqlite_msg_imp.c), c2c_inbox (per-user
 * event log clustered on (user_no, sdkappid, useq), migrations 21 and 23,
 * written through the small c2c_inbox_log, keyed the same, and its merge,
 * migrations 31 and 32: sqlite_msg_log.c) and c2c_recent (one row per user
 * and peer, keyed (user_no, sdkappid, peer_no); its last message is derived
 * from c2c_msg when read, sqlite_msg_list.c; a new conversation's rows are
 * written through the small c2c_recent_log, keyed the same, and its merge,
 * migration 32). Keys lead with the user or conversation number, not the
 * app (migrations 26, 27): every lookup names both, and neighbours that
 * differ in the first column compare on it alone.
 *
 * Next sequences: the connection caches the next seq per (app, conv) (with
 * the conversation's newest time, live or imported, sqlite_msg_live.c) and the next
 * useq per (app, user); a miss reads max() once through the unique
 * index, except for a conversation the connection's filter knows to have
 * no message (sqlite_msg_nf.c: next seq 1); it also remembers the conversation rows it made sure exist
 * (recent_add). Any ROLLBACK on the connection clears all of it
 * (sq__msg_rollback) because a rolled-back append may have advanced or
 * created them. The caches are
 * bounded: past CACHE_MAX entries they are cleared and refilled on demand.
 * Only the writer's connection appends, so the cache is the truth.
 *
 * Held rows: an append's rows (the message, its inbox events, new
 * conversation rows; inside a transaction every other inbox event too) are
 * held by sqlite_msg_pend.c and written in multi-row statements; stmt()
 * writes them before any other statement of this file runs (stmt_unheld:
 * the statements that read none of them), sq_exec before every transaction
 * statement. A held row is always in the caches, so a cache miss's max()
 * needs none of them written.
 */
#include "store/sqlite_msg_int.h"
#include "util/err.h"
#include "util/u64map.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAX 1000000

static const char *const mstmt_sql[M__COUNT] = {
#define X(name, sql) sql,
  MSTMTS(X)
#undef X
};


static void app_cache_free(void *v)
{
  app_cache_t *a = v;
  u64map_free(&a->conv);
  u64map_free(&a->user);
  u64map_free(&a->recent);
  u64map_free_each(&a->win, free);
  free(a);
}

static void cache_clear(struct sqmsg *m)
{
  u64map_free_each(&m->apps, app_cache_free);
  m->entries = 0;
}

void sq__msg_free(struct sqmsg *m)
{
  if (!m) return;
  for (int i = 0; i < M__COUNT; i++) sqlite3_finalize(m->st[i]);
  sq__pend_free(&m->pend);
  sq__trim_free(m);
  sq__nf_free(&m->nf);
  cache_clear(m);
  free(m->purge_ids);
  free(m->purge_apps);
  free(m);
}

void sq__msg_rollback(struct sqmsg *m)
{
  if (!m) return;
  sq__pend_drop(&m->pend); /* made after the last transaction statement: undone by any rollback */
  sq__trim_reset(m, 0, 0); /* its deletes may be undone */
  cache_clear(m);
}

struct sqmsg *sq__msg_state(store_t *s)
{
  struct sqmsg **slot = sq__msg_slot(s);
  if (!*slot && (*slot = calloc(1, sizeof **slot))) {
    (*slot)->pend.log_cap = LOG_ON_CAP_INBOX; /* both on (sqlite_msg_int.h) */
    (*slot)->pend.rlog_cap = LOG_ON_CAP_RECENT;
    (*slot)->sweep[SQ_LOG_INBOX][0] = (*slot)->sweep[SQ_LOG_RECENT][0] = -1; /* from the first key */
  }
  return *slot;
}

int sq__msg_log_caps(store_t *s, int64_t inbox, int64_t recent)
{
  struct sqmsg *m = sq__msg_state(s);
  if (!m) return IMC_E_NOMEM;
  m->pend.log_cap = inbox < 0 ? 0 : inbox > LOG_CAP_ROWS ? LOG_CAP_ROWS : inbox;
  m->pend.rlog_cap = recent < 0 ? 0 : recent > LOG_CAP_ROWS ? LOG_CAP_ROWS : recent;
  return 0;
}

#define state sq__msg_state

/* Write the held rows. Outside a transaction nothing can be held (an append
 * there writes at once), so held rows then belong to a transaction SQLite
 * rolled back by itself: they are dropped with the caches. */
static int flush(store_t *s, struct sqmsg *m)
{
  if (!sq__pend_any(&m->pend)) return 0;
  if (sqlite3_get_autocommit(sq__db(s))) { sq__msg_rollback(m); return 0; }
  int rc = sq__pend_flush(s, &m->pend);
  if (rc) cache_clear(m); /* partly written: the caller rolls back */
  return rc;
}

int sq__msg_rel_hold(store_t *s, uint32_t app, uint32_t user, uint32_t useq, int64_t at_s, const char *payload)
{
  struct sqmsg *m = state(s);
  return m ? sq__pend_rel(s, &m->pend, app, user, useq, at_s, payload) : IMC_E_NOMEM;
}

int sq__msg_flush(store_t *s)
{
  struct sqmsg *m = *sq__msg_slot(s);
  return m ? flush(s, m) : 0;
}

sqlite3_stmt *sq__msg_stmt(store_t *s, int id)
{
  struct sqmsg *m = state(s);
  if (!m || (!m->appending && flush(s, m))) return NULL; /* every other statement sees the held rows */
  if (!m->st[id] && sqlite3_prepare_v3(sq__db(s), mstmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &m->st[id], NULL) != SQLITE_OK)
    return NULL;
  sqlite3_reset(m->st[id]); /* no sqlite3_clear_bindings: every caller binds every parameter before stepping */
  return m->st[id];
}

/* The statement id without writing the held rows first, for a statement that reads no held row: the accounts, or a
 * cache miss's max() (a held row is always in the caches). Events held across many users (a group change's
 * relationship events, each after its member's account lookup and next useq) then stay one multi-row statement. */
static sqlite3_stmt *stmt_unheld(store_t *s, int id)
{
  struct sqmsg *m = state(s);
  if (!m || (!m->st[id] && sqlite3_prepare_v3(sq__db(s), mstmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &m->st[id],
                                               NULL) != SQLITE_OK))
    return NULL;
  sqlite3_reset(m->st[id]);
  return m->st[id];
}


static int run(sqlite3_stmt *st)
{
  if (!st) return IMC_E_IO;
  int r = sq__map_rc(sqlite3_step(st));
  sqlite3_reset(st);
  return r;
}


#define stmt sq__msg_stmt

/* ---- next-sequence caches ----------------------------------------------------- */
static app_cache_t *app_cache(store_t *s, struct sqmsg *m, uint32_t sdkappid)
{
  /* held rows are in the caches; a conversation or user missing there has none held (next_seq) */
  if (m->entries > CACHE_MAX) { if (flush(s, m)) return NULL; cache_clear(m); }
  app_cache_t *a = u64map_get(&m->apps, sdkappid);
  if (a) return a;
  if (!(a = calloc(1, sizeof *a))) return NULL;
  if (u64map_put(&m->apps, sdkappid, a)) { free(a); return NULL; }
  return a;
}

/* Next sequence for key in map: cached, else max()+1 from query q. */
static int next_seq(store_t *s, u64map_t *map, uint64_t key, int q, uint32_t sdkappid, int64_t arg, uint32_t *out)
{
  uintptr_t v = (uintptr_t)u64map_get(map, key);
  if (!v) {
    int64_t max;
    sqlite3_stmt *st = stmt_unheld(s, q); /* a miss: none of the key's rows is held */
    if (!st) return IMC_E_IO;
    BIND(st, sdkappid, arg);
    int rc = scalar(st, &max);
    if (rc) return rc;
    v = (uintptr_t)max + 1;
  }
  if (v > UINT32_MAX) return IMC_E_RANGE;
  *out = (uint32_t)v;
  return 0;
}

/* put, counting a new key in entries (by the map's length: one probe, not a get and a put) */
static int put_counted(struct sqmsg *m, u64map_t *map, uint64_t key, uintptr_t v)
{
  size_t n = map->len;
  int rc = u64map_put(map, key, (void *)v);
  m->entries += map->len - n;
  return rc;
}

static int set_next(struct sqmsg *m, u64map_t *map, uint64_t key, uint32_t used)
{
  return put_counted(m, map, key, (uintptr_t)used + 1);
}

/* ---- appends ------------------------------------------------------------------------ */
/* An inbox event for user_no with the next useq, into the log
 * (sqlite_msg_log.c). Inside a transaction it is held with the append's
 * rows (an append's own, or a relationship event, a recall, a read position:
 * store_msg_vtab_t), written by the next flush in one multi-row statement;
 * outside one it is written at once. Written one statement per event (and
 * its payload row another), a group change's relationship events to its
 * members cost 31,300 instructions each, 23,300 held (docs/BENCHMARKS.md,
 * "Relationship events held"). */
static int inbox_ev(store_t *s, uint32_t sdkappid, uint32_t user_no, store_ev_kind_t kind, uint64_t conv, uint32_t seq,
                    int64_t at_s, uint32_t *useq)
{
  struct sqmsg *m = state(s);
  app_cache_t *a = m ? app_cache(s, m, sdkappid) : NULL;
  if (!a) return IMC_E_NOMEM;
  uint32_t u;
  int rc = next_seq(s, &a->user, user_no, M_MAX_USEQ, sdkappid, user_no, &u); /* a miss: the inbox and its log */
  if (rc) return rc;
  if (m->appending || !sqlite3_get_autocommit(sq__db(s))) {
    rc = sq__pend_ev(s, &m->pend, &(pend_ev_t){ sdkappid, user_no, u, seq, (int)kind, conv, at_s });
  } else {
    int direct = m->pend.log_rows >= m->pend.log_cap;
    sqlite3_stmt *st = stmt(s, direct ? M_INBOX_INS_DIRECT : M_INBOX_INS);
    if (!st) return IMC_E_IO;
    m->pend.log_rows += !direct;
    BIND(st, sdkappid, user_no, u, kind, (int64_t)conv, seq, at_s);
    rc = run(st);
  }
  if (rc || (rc = set_next(m, &a->user, user_no, u))) return rc;
  *useq = u;
  return 0;
}

static int inbox_add(store_t *s, uint32_t sdkappid, uint32_t user_no, store_ev_kind_t kind, uint64_t conv, uint32_t seq,
                     int64_t at_s, uint32_t *useq)
{
  return inbox_ev(s, sdkappid, user_no, kind, conv, seq, at_s, useq);
}

/* Make sure the user has a conversation row for peer (INSERT OR IGNORE,
 * held with the append's other rows) for the message seq. A row made now
 * starts read up to seq - 1: a conversation the trim forgot (its row
 * deleted) comes back with the message that brings it, not with every
 * older message of the peer's unread (a new conversation's first message
 * has seq 1: nothing before it). An existing row is not rewritten (the
 * last seq and time come from the log), and a row this connection already
 * made sure of is not even looked up: only this connection deletes rows
 * (recent_trim, which forgets the app's set). both: the peer's row for user
 * too. The set is keyed by conversation, one entry for both rows (bit 1: the
 * lower-numbered user's row, bit 2: the other's): one lookup per message. */
static int recent_add(store_t *s, uint32_t sdkappid, uint32_t user, uint32_t peer, uint32_t seq, int both)
{
  struct sqmsg *m = state(s);
  app_cache_t *a = m ? app_cache(s, m, sdkappid) : NULL;
  if (!a) return IMC_E_NOMEM;
  uint64_t conv = store_c2c_conv(user, peer);
  uintptr_t mine = user <= peer ? 1u : 2u, theirs = both ? mine ^ 3u : 0;
  uintptr_t have = (uintptr_t)u64map_get(&a->recent, conv);
  int rc;
  assert(seq >= 1);
  if (!(have & mine) && (rc = sq__pend_recent(s, &m->pend, sdkappid, user, peer, seq - 1))) return rc;
  if ((theirs & ~have) && (rc = sq__pend_recent(s, &m->pend, sdkappid, peer, user, seq - 1))) return rc;
  return (have | mine | theirs) == have ? 0 : put_counted(m, &a->recent, conv, have | mine | theirs);
}

static int append(store_t *s, struct sqmsg *m, store_msg_append_t *a)
{
  store_msg_t *in = &a->m;
  app_cache_t *ac = app_cache(s, m, in->sdkappid);
  int rc;
  int64_t newest;
  uint32_t run_lo = 0;
  int live = !(in->flags & STORE_MSG_IMPORTED);
  if (!ac) return IMC_E_NOMEM;
  if ((rc = sq__live_conv_next(s, ac, in->sdkappid, in->conv, &in->seq, &newest))) return rc;
  /* live times never decrease along seq and are never older than an import below them (a clock stepped back
   * keeps the conversation's newest time, live or imported: §15, §45): sqlite_msg_live.c relies on it */
  if (live && in->time_s < newest) in->time_s = newest;
  /* an empty conversation (next seq 1: the purge always keeps a conversation's newest row) holds no
   * duplicate; its window is made by its second send (most conversations of a random-peer load have one) */
  /* a live message's content hash, for its send dedupe and its window (§69); a first message needs neither */
  uint64_t chash = live && in->seq > 1 ? store_content_hash(in->body, in->body_len) : 0;
  if (in->seq > 1 && (a->dedupe_since_s || a->import_dedupe) &&
      ((rc = sq__live_find_dup(s, m, ac, a, newest, chash)) || a->dup))
    return rc;
  /* an import's run start; a SyncOtherMachine 2 message's, the start of its sender's run of them, so that
   * the sender's reads pass the run in one seek (§51); a NoLastMsg one's, the start of its run of NoLastMsg
   * messages, which both lists pass in one seek (§57); any other live send reads nothing more */
  if ((in->flags & (STORE_MSG_IMPORTED | STORE_MSG_NOT_FROM | STORE_MSG_NO_LAST)) &&
      (rc = live ? sq__live_hidden_lo(s, m, in, &run_lo)
                 : sq__live_run_lo(s, m, in->sdkappid, in->conv, in->seq, &run_lo)))
    return rc;
  /* an import's max_t: the conversation's newest time with it (what the cache keeps next); a live one's
   * is its own time (clamped above), so it stores none */
  int64_t top = in->time_s > newest ? in->time_s : newest;
  if ((rc = sq__pend_msg(s, &m->pend, in, run_lo, (uint32_t)(top < 0 ? 0 : top > UINT32_MAX ? UINT32_MAX : top))) ||
      (rc = sq__live_conv_set(m, ac, in->conv, in->seq, top)))
    return rc;
  if (in->seq == 1) sq__nf_add(&m->nf, in->sdkappid, in->conv); /* the conversation has a message now */
  if (live) sq__live_win_add(m, ac, in, chash, a->dedupe_since_s);
  else m->imported = 2;
  int pair = in->to_no != in->from_no;
  if (a->inbox_from &&
      (rc = inbox_ev(s, in->sdkappid, in->from_no, STORE_EV_MSG, in->conv, in->seq, in->time_s, &a->useq_from)))
    return rc;
  if (a->inbox_to && pair &&
      (rc = inbox_ev(s, in->sdkappid, in->to_no, STORE_EV_MSG, in->conv, in->seq, in->time_s, &a->useq_to)))
    return rc;
  if (a->recent_from && (rc = recent_add(s, in->sdkappid, in->from_no, in->to_no, in->seq, a->recent_to && pair)))
    return rc;
  if (!a->recent_from && a->recent_to && pair && (rc = recent_add(s, in->sdkappid, in->to_no, in->from_no, in->seq, 0)))
    return rc;
  return 0;
}

/* Append with the rows held (sqlite_msg_pend.c): the statements it runs
 * meanwhile (max() on a cache miss, the dedupe lookup, read_seq) need none
 * of them written — a conversation or user missing from the caches has no
 * held row, the dedupe also searches the held rows. Outside a transaction
 * the rows are written at once. */
static int sqm_append(store_t *s, store_msg_append_t *a)
{
  struct sqmsg *m = state(s);
  a->dup = 0;
  a->useq_from = a->useq_to = 0;
  if (!m) return IMC_E_NOMEM;
  m->appends = 1;
  m->appending = 1;
  int rc = append(s, m, a);
  m->appending = 0;
  if (sqlite3_get_autocommit(sq__db(s))) { /* outside a transaction: written at once, or not at all */
    if (!rc) rc = sq__pend_flush(s, &m->pend);
    if (rc) sq__msg_rollback(m);
  }
  return rc;
}

/* ---- reads --------------------------------------------------------------------------- */
static void row_msg(sqlite3_stmt *st, int c, store_msg_t *m)
{
  m->sdkappid = (uint32_t)sqlite3_column_int64(st, c + 0);
  m->conv = (uint64_t)sqlite3_column_int64(st, c + 1);
  m->seq = (uint32_t)sqlite3_column_int64(st, c + 2);
  m->from_no = (uint32_t)sqlite3_column_int64(st, c + 3);
  m->to_no = (uint32_t)sqlite3_column_int64(st, c + 4);
  m->time_s = sqlite3_column_int64(st, c + 5);
  m->cseq = (uint32_t)sqlite3_column_int64(st, c + 6);
  m->random = (uint32_t)sqlite3_column_int64(st, c + 7);
  m->flags = (uint32_t)sqlite3_column_int64(st, c + 8);
  m->life_s = sqlite3_column_int64(st, c + 9);
  m->body = (const char *)sqlite3_column_text(st, c + 10);
  m->body_len = (size_t)sqlite3_column_bytes(st, c + 10);
  if (!m->body) m->body = "";
  m->from_id = (const char *)sqlite3_column_text(st, c + 11);
  m->to_id = (const char *)sqlite3_column_text(st, c + 12);
  if (!m->from_id) m->from_id = "";
  if (!m->to_id) m->to_id = "";
}

static int each_msg(sqlite3_stmt *st, store_msg_cb cb, void *ud, int *n)
{
  int rc;
  *n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_msg_t m;
    row_msg(st, 0, &m);
    cb(ud, &m);
    (*n)++;
  }
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

static int sqm_inbox_page(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t after, int limit, int64_t since_s,
                          store_inbox_cb cb, void *ud, uint32_t *max_useq)
{
  int64_t max;
  sqlite3_stmt *st = stmt(s, M_MAX_USEQ);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, user_no);
  int rc = scalar(st, &max);
  if (rc) return rc;
  *max_useq = (uint32_t)max;
  if (!(st = stmt(s, M_INBOX_PAGE))) return IMC_E_IO;
  BIND(st, sdkappid, user_no, after, since_s, limit);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_inbox_ev_t e;
    store_msg_t m;
    e.useq = (uint32_t)sqlite3_column_int64(st, 0);
    e.kind = (store_ev_kind_t)sqlite3_column_int(st, 1);
    e.conv = (uint64_t)sqlite3_column_int64(st, 2);
    e.seq = (uint32_t)sqlite3_column_int64(st, 3);
    e.at_s = sqlite3_column_int64(st, 4);
    e.peer_id = (const char *)sqlite3_column_text(st, 18);
    if (!e.peer_id) e.peer_id = "";
    e.msg = NULL;
    if (sqlite3_column_type(st, 5) != SQLITE_NULL) { row_msg(st, 5, &m); e.msg = &m; }
    cb(ud, &e);
  }
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int sq__msg_get(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t seq, store_msg_cb cb, void *ud)
{
  sqlite3_stmt *st = stmt(s, M_GET);
  int n;
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, seq);
  int rc = each_msg(st, cb, ud, &n);
  return rc ? rc : n ? 0 : IMC_E_NOTFOUND;
}

static int sqm_find_key(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t cseq, uint32_t random,
                        int64_t time_s, store_msg_cb cb, void *ud)
{
  struct sqmsg *m = state(s);
  uint32_t seq = 0;
  int rc = m ? flush(s, m) : IMC_E_NOMEM;
  if (!rc) rc = sq__live_find_key(s, m, sdkappid, conv, from_no, cseq, random, time_s, &seq);
  if (rc) return rc;
  return seq ? sq__msg_get(s, sdkappid, conv, seq, cb, ud) : IMC_E_NOTFOUND;
}

static int sqm_history(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t viewer_no, uint32_t before_seq,
                       uint32_t after_seq, int64_t min_t, int64_t max_t, int limit, store_msg_cb cb, void *ud)
{
  sqlite3_stmt *st = stmt(s, M_HISTORY);
  int64_t below = before_seq ? (int64_t)before_seq : INT64_MAX;
  int n = 0, rc, again;
  if (!st) return IMC_E_IO;
  do { /* HISTORY returns a viewer's SyncOtherMachine 2 message only when its run goes on below: seek past it (§51) */
    again = 0;
    BIND(st, sdkappid, (int64_t)conv, below, after_seq, min_t, max_t, limit - n, viewer_no);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if ((sqlite3_column_int64(st, 8) & STORE_MSG_NOT_FROM) && (uint32_t)sqlite3_column_int64(st, 3) == viewer_no) {
        below = sqlite3_column_int64(st, 13);
        again = 1;
        break;
      }
      store_msg_t msg;
      row_msg(st, 0, &msg);
      cb(ud, &msg);
      n++;
    }
    sqlite3_reset(st);
  } while (again);
  return sq__map_rc(rc);
}

static int changed_one(store_t *s, int rc) { return rc ? rc : sqlite3_changes(sq__db(s)) ? 0 : IMC_E_NOTFOUND; }

static int sqm_set_flags(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t seq, uint32_t bits)
{
  sqlite3_stmt *st = stmt(s, M_SET_FLAGS);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, seq, bits);
  return changed_one(s, run(st));
}

static int sqm_set_body(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t seq, const char *body, size_t len)
{
  sqlite3_stmt *st = stmt(s, M_SET_BODY);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, seq);
  sqlite3_bind_text(st, 4, body, (int)len, SQLITE_TRANSIENT);
  /* the window keeps the entry's hash, the original content's, as the row's orig_hash does (§78) */
  return changed_one(s, run(st));
}

static int sqm_recent_set(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, const char *field,
                          int64_t value)
{
  static const struct { const char *field; int stmt; } fields[] = {
    { "read_seq", M_RECENT_READ }, { "pinned_at_s", M_RECENT_PIN },
    { "hidden_seq", M_RECENT_HIDE }, { "cleared_seq", M_RECENT_CLEAR },
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (strcmp(field, fields[i].field)) continue;
    int64_t order = 0; /* a pin's order (sqlite_pin.c); an unpin clears it */
    if (fields[i].stmt == M_RECENT_PIN) {
      sq__trim_reset(*sq__msg_slot(s), sdkappid, user_no); /* sqlite_msg_trim.c */
      int rc = value > 0 ? sq__pin_take(s, sdkappid, user_no, &order) : 0;
      if (rc) return rc;
    }
    sqlite3_stmt *st = stmt(s, fields[i].stmt);
    if (!st) return IMC_E_IO;
    if (fields[i].stmt == M_RECENT_PIN) BIND(st, sdkappid, user_no, peer_no, value, order);
    else BIND(st, sdkappid, user_no, peer_no, value);
    return run(st);
  }
  return IMC_E_INVAL;
}

static int sqm_unread(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq,
                      uint32_t upto_seq, int64_t since_s, int64_t *n)
{
  sqlite3_stmt *st = stmt(s, M_UNREAD);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, after_seq, from_no, since_s, upto_seq);
  return scalar(st, n);
}

static int sqm_receipt_wanted(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq,
                              uint32_t upto_seq, int64_t since_s, int *yes)
{
  sqlite3_stmt *st = stmt(s, M_RECEIPT);
  int64_t v;
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, after_seq, upto_seq, from_no, since_s);
  int rc = scalar(st, &v);
  *yes = v != 0;
  return rc;
}

/* The app's user numbers are below this one (sq__app_next_user); an app
 * without a row (a store used without apps, as some tests do) is not bounded. */
static int user_end(store_t *s, uint32_t sdkappid, int64_t *end)
{
  int rc = sq__app_next_user(s, sdkappid, end);
  if (rc == IMC_E_NOTFOUND) *end = INT64_MAX, rc = 0;
  return rc;
}

/* store_msg.h: the inbox walk of one app. The inbox leads with user_no
 * (migration 26), so each step is a seek to the next number with events in
 * any app (apps share numbers) below the app's end; a number without events
 * of this app deletes nothing. */
static int sqm_purge_inbox(store_t *s, uint32_t sdkappid, int64_t before_s, int limit, uint32_t *cursor,
                           int64_t *deleted, int *more)
{
  int64_t user, end, left = limit;
  int rc;
  *deleted = 0;
  *more = 0;
  if (limit < 1) return IMC_E_INVAL;
  if ((rc = user_end(s, sdkappid, &end))) return rc;
  for (int visited = 0;; visited++) {
    if (visited == STORE_PURGE_WALK_USERS) { *more = 1; return 0; } /* a bounded stop: the next call goes on */
    sqlite3_stmt *st = stmt(s, M_INBOX_NEXT_USER);
    if (!st) return IMC_E_IO;
    BIND(st, *cursor, end);
    if ((rc = scalar(st, &user))) return rc;
    if (!user) { *cursor = 0; return 0; } /* the walk is done */
    assert(user > *cursor && user < end);
    if ((rc = sq__log_merge_user(s, SQ_LOG_INBOX, sdkappid, (uint32_t)user))) return rc; /* its logged events too */
    if (!(st = stmt(s, M_PURGE_INBOX))) return IMC_E_IO;
    BIND(st, sdkappid, user, before_s, left);
    if ((rc = run(st))) return rc;
    int n = sqlite3_changes(sq__db(s));
    *deleted += n;
    if (n == left) { *cursor = (uint32_t)user - 1; *more = 1; return 0; } /* this user may have more: it again */
    left -= n;
    *cursor = (uint32_t)user;
  }
}

static const store_msg_cut_t *cut_of(const store_msg_cut_t *cuts, size_t n, uint32_t sdkappid)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cuts[mid].sdkappid < sdkappid) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && cuts[lo].sdkappid == sdkappid ? &cuts[lo] : NULL;
}

/* *keep = 1 when the purge keeps the expired message id (or it is gone): its conversation's newest (the seq
 * goes on), or the last message either user's list shows (sq__msg_listed: the list keeps the conversation and
 * its place whether a pass has run or not, §36); a NoLastMsg message, and a SyncOtherMachine 2 one for its
 * sender, is none of the latter. The walks pass a user's own SyncOtherMachine 2 runs in one seek (§54). */
static int purge_keeps(store_t *s, int64_t id, int *keep)
{
  sqlite3_stmt *st = stmt(s, M_PURGE_ROW);
  int64_t v[7];
  sqlisted_t l;
  *keep = 1;
  if (!st) return IMC_E_IO;
  BIND(st, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) for (int c = 0; c < 7; c++) v[c] = sqlite3_column_int64(st, c);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
  if (v[2] >= v[6]) return 0;
  if (!(v[5] & STORE_MSG_NO_LAST)) {
    for (int who = 4; who >= 3; who--) { /* the recipient's, then (unless it is hidden from it) the sender's */
      if (who == 3 && (v[5] & STORE_MSG_NOT_FROM)) break;
      if ((rc = sq__msg_listed(s, (uint32_t)v[0], (uint64_t)v[1], (uint32_t)v[who], v[6] + 1, 0, &l))) return rc;
      if (l.seq <= v[2]) return 0; /* it, or one below it, is the last that user's list shows (or none is) */
    }
  }
  *keep = 0;
  return 0;
}

/* store_msg.h: one window of the pass over every app's messages. The
 * window's rows older than the latest horizon are read first (rowid, app,
 * time: the row's first columns, never a body's overflow pages) and those
 * past their own app's horizon remembered; then each is deleted unless it
 * is its conversation's newest,
 * at most limit. A deletion drops its app's dedupe windows and trims in
 * progress (a deleted message may sit in a window when a retention is
 * shorter than it; a conversation's last message may be gone). */
static int sqm_purge_msgs(store_t *s, const store_msg_cut_t *cuts, size_t n, int limit, int64_t *cursor,
                          int64_t *deleted, int *more)
{
  struct sqmsg *m = state(s);
  int rc;
  *deleted = 0;
  *more = 0;
  if (n < 1 || limit < 1) return IMC_E_INVAL;
  for (size_t i = 1; i < n; i++)
    if (cuts[i].sdkappid <= cuts[i - 1].sdkappid) return IMC_E_INVAL;
  if (!m) return IMC_E_NOMEM;
  if (!m->purge_ids && !(m->purge_ids = malloc(STORE_PURGE_SCAN_ROWS * sizeof *m->purge_ids))) return IMC_E_NOMEM;
  if (!m->purge_apps && !(m->purge_apps = malloc(STORE_PURGE_SCAN_ROWS * sizeof *m->purge_apps))) return IMC_E_NOMEM;
  int64_t end = 0, rows = 0, latest = INT64_MIN; /* the window: rowids (*cursor, end], rows of them */
  for (size_t k = 0; k < n; k++) if (cuts[k].before_s > latest) latest = cuts[k].before_s;
  sqlite3_stmt *st;
  if (!*cursor) /* a pass begins: the horizons become floors first (in the transaction of the first deletes) */
    for (size_t k = 0; k < n; k++) {
      if (!(st = stmt(s, M_FLOOR_RAISE))) return IMC_E_IO;
      BIND(st, cuts[k].sdkappid, cuts[k].before_s, cuts[k].now_s);
      if ((rc = run(st))) return rc;
    }
  if (!(st = stmt(s, M_PURGE_WINDOW))) return IMC_E_IO;
  BIND(st, *cursor, STORE_PURGE_SCAN_ROWS);
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) end = sqlite3_column_int64(st, 0), rows = sqlite3_column_int64(st, 1);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return sq__map_rc(rc);
  if (!rows) { *cursor = 0; return 0; } /* past the last row: the pass is done */
  /* the window's rows older than the latest horizon (the SQL filters, so a window with nothing expired yields
   * nothing), then each app's own horizon */
  if (!(st = stmt(s, M_PURGE_SCAN))) return IMC_E_IO;
  BIND(st, *cursor, end, latest);
  int nids = 0, i;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(st, 0);
    uint32_t app = (uint32_t)sqlite3_column_int64(st, 1);
    const store_msg_cut_t *c = cut_of(cuts, n, app);
    assert(nids < STORE_PURGE_SCAN_ROWS && id > *cursor && id <= end);
    if (c && sqlite3_column_int64(st, 2) < c->before_s) m->purge_ids[nids] = id, m->purge_apps[nids++] = app;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__map_rc(rc);
  assert(rows <= STORE_PURGE_SCAN_ROWS);
  rc = 0;
  for (i = 0; i < nids && *deleted < limit; i++) {
    int keep;
    if ((rc = purge_keeps(s, m->purge_ids[i], &keep))) break;
    if (keep) { m->purge_apps[i] = 0; continue; } /* its conversation's newest, or a listed one: kept */
    if (!(st = stmt(s, M_PURGE_MSG))) { rc = IMC_E_IO; break; }
    BIND(st, m->purge_ids[i]);
    if ((rc = run(st))) break;
    (*deleted)++;
  }
  uint32_t cleared = 0;
  for (int k = 0; k < i; k++)
    if (m->purge_apps[k] && m->purge_apps[k] != cleared) {
      cleared = m->purge_apps[k];
      sq__live_win_clear(m, cleared);
      sq__trim_reset(m, cleared, 0);
    }
  if (rc) return rc;
  if (i < nids) { *cursor = m->purge_ids[i] - 1; *more = 1; return 0; } /* at the limit: the rest of the window again */
  *cursor = rows < STORE_PURGE_SCAN_ROWS ? 0 : end;
  *more = rows == STORE_PURGE_SCAN_ROWS;
  return 0;
}

/* store_msg.h: every app's purge floor, in sdkappid order. */
static int sqm_floors(store_t *s, void (*cb)(void *, const store_msg_cut_t *), void *ud)
{
  sqlite3_stmt *st = stmt(s, M_FLOOR_LIST);
  if (!st) return IMC_E_IO;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, &(store_msg_cut_t){ (uint32_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), 0 });
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

static int sqm_account_id(store_t *s, uint32_t sdkappid, uint32_t user_no, char *buf, size_t cap)
{
  sqlite3_stmt *st = stmt_unheld(s, M_ACCOUNT_ID); /* accounts: no held row */
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, user_no);
  int rc = sqlite3_step(st), r;
  if (rc == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const unsigned char *t = sqlite3_column_text(st, 0);
    r = n + 1 > cap ? IMC_E_TOOBIG : 0;
    if (!r) { memcpy(buf, t ? (const char *)t : "", n); buf[n] = 0; }
  } else {
    r = rc == SQLITE_DONE ? IMC_E_NOTFOUND : sq__map_rc(rc);
  }
  sqlite3_reset(st);
  return r;
}

/* A bounded step (store_msg.h): the user numbers are reached by a seek
 * each (a recursive CTE, skip-scanning the (user_no, sdkappid, peer_no)
 * key), a user's count stops at more_than + 1 rows (OFFSET). */
static int sqm_recent_users(store_t *s, uint32_t sdkappid, int more_than, uint32_t after_user, int max_users,
                            store_account_cb cb, void *ud, uint32_t *next_user)
{
  int rc = 0, n = 0;
  *next_user = 0;
  if (max_users < 1 || more_than < 0) return IMC_E_INVAL;
  /* the step counts c2c_recent's rows: first merge the conversation log's rows of the users it will reach
   * (those up to the max_users-th user number after after_user in the table, or all past after_user when
   * the table has fewer), as the trim merges its user's (sqlite_msg_trim.c) */
  int64_t last = 0, end;
  if ((rc = user_end(s, sdkappid, &end))) return rc;
  sqlite3_stmt *st = stmt(s, M_RECENT_USERS);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, after_user, more_than, max_users, end);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) { last = sqlite3_column_int64(st, 0); n++; }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__map_rc(rc);
  const int64_t lo[3] = { after_user, INT64_MAX, 0 }, hi[3] = { n < max_users ? end - 1 : last, INT64_MAX, 0 };
  if ((rc = sq__log_merge_keys(s, SQ_LOG_RECENT, lo, hi))) return rc;
  if (!(st = stmt(s, M_RECENT_USERS))) return IMC_E_IO;
  n = 0;
  BIND(st, sdkappid, after_user, more_than, max_users, end);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint32_t u = (uint32_t)sqlite3_column_int64(st, 0);
    if (sqlite3_column_int(st, 1)) cb(ud, NULL, u);
    *next_user = u;
    n++;
  }
  sqlite3_reset(st);
  if (n < max_users) *next_user = 0; /* fewer numbers than asked for: the end */
  return sq__map_rc(rc);
}

const store_msg_vtab_t sq__msg_vtab = {
  10, sqm_append, inbox_add, sqm_inbox_page, sq__msg_get, sqm_find_key, sqm_history, sqm_set_flags, sqm_set_body,
  sq__msg_recent_list, sq__msg_recent_get, sqm_recent_set, sqm_unread, sqm_receipt_wanted, sqm_purge_msgs, sqm_purge_inbox,
  sq__trim_step,
  sqm_account_id, sqm_recent_users, sq__log_merge_step, sqm_floors, sq__msg_roam, sq__pin_count_c2c,
  sq__msg_read_mark, sq__msg_newest_at, sq__gone_peers,
};
