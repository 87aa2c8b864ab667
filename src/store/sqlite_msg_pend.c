/* sqlite_msg_pend.c — the rows of C2C appends held back and written
 * together.
 *
 * A send used to run one INSERT statement per table it writes (the message,
 * its two inbox events, a new conversation's two rows): each statement's
 * fixed cost (step, cursors opened and freed, halt, reset) was about a third
 * of the writer's instructions per message. Here sqlite_msg.c hands the
 * rows to this buffer, which writes them with one INSERT … SELECT per table
 * from the held rows themselves (imc_pend, below) when it is full (PEND_MSGS
 * messages, or PEND_BODY_BYTES of bodies), before any other statement of
 * sqlite_msg.c on the connection (every read sees them), before every
 * transaction statement (sq_exec: a
 * SAVEPOINT, RELEASE or COMMIT writes them into the scope they were made in)
 * and at once outside a transaction. A ROLLBACK or ROLLBACK TO forgets them:
 * every held row was made after the last transaction statement, so any
 * rollback undoes it. The statements are OR FAIL / OR IGNORE, which need no
 * statement journal for several rows (docs/decisions/messaging-c2c-storage.md
 * §13). Inbox events go to the inbox log up to its cap, the rest straight
 * to c2c_inbox; conversation rows to the conversation log up to its cap,
 * the rest straight to c2c_recent (sqlite_msg_log.c; both logs are on, at
 * LOG_CAP_ROWS, since wave 12's A/B, sqlite_msg_int.h). A
 * relationship event's payload row (rel_event) is held with its inbox event
 * (sqlite_rel.c ev_put, inside a transaction), its text in the bodies'
 * buffer, once for a run of equal payloads. A failing flush
 * fails whoever triggered it (the append's job, the RELEASE, the COMMIT),
 * and the writer rolls that back.
 *
 * Each held message is on its conversation's chain (a bucket by app and
 * conversation: first, last, next), which the send dedupe and the window
 * load walk instead of every held message (messaging-c2c-commit.md §24).
 *
 * State: one sqpend_t per connection (in struct sqmsg), used by the
 * connection's thread only. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_MSG, T_EV, T_RECENT, T_EV_DIRECT, T_RECENT_DIRECT, T_REL, T__COUNT };

static const struct { const char *head; int cols; } tables[] = {
  [T_MSG] = { "INSERT OR FAIL INTO c2c_msg(sdkappid,conv,seq,from_no,to_no,time_s,cseq,random,flags,life_s,body,run_lo,max_t)", 13 },
  [T_EV] = { "INSERT OR FAIL INTO c2c_inbox_log(sdkappid,user_no,useq,kind,conv,seq,at)", 7 },
  [T_RECENT] = { "INSERT OR IGNORE INTO c2c_recent_log(sdkappid,user_no,peer_no,read_seq)", 4 },
  /* a log at its cap: straight into the inbox, the conversation rows (sqlite_msg_log.c) */
  [T_EV_DIRECT] = { "INSERT OR FAIL INTO c2c_inbox(sdkappid,user_no,useq,kind,conv,seq,at)", 7 },
  [T_RECENT_DIRECT] = { "INSERT OR IGNORE INTO c2c_recent(sdkappid,user_no,peer_no,read_seq)", 4 },
  /* the payloads of relationship events (sqlite_rel.c ev_put), held with their inbox events */
  [T_REL] = { "INSERT OR FAIL INTO rel_event(sdkappid,user_no,useq,at,payload)", 5 },
};
_Static_assert(T__COUNT == sizeof ((sqpend_t *)0)->st / sizeof ((sqpend_t *)0)->st[0], "one statement per table");

/* ---- the held rows as a table: imc_pend(feed) ------------------------------------------------
 * A flush runs one INSERT … SELECT c0, c1, … FROM imc_pend(?1) per table, ?1 a pointer to a
 * feed_t (sqlite3_bind_pointer): an eponymous virtual table on the connection whose rows are held
 * rows lo … hi-1 of one table, read straight from the buffer. Bound one value per column (a
 * multi-row VALUES of 1 … 64 rows), each value cost a bind (~86 instructions) and a copy into
 * the statement's register; a column read here costs less, and a flush runs one statement per
 * table instead of one per 64 rows (docs/decisions/messaging-c2c-writer.md §49). */
#define FEED_PTR "imc_pend_feed"
#define FEED_COLS 13 /* the widest table's (c2c_msg) */
typedef struct col col_t;
/* rows: table t's first held row, stride bytes apart; cols: where its first nint columns are (integers) */
typedef struct feed { const sqpend_t *p; int t, lo, hi, nint; const char *rows; size_t stride; const col_t *cols; } feed_t;
typedef struct feed_cur { sqlite3_vtab_cursor base; const feed_t *f; int i; } feed_cur_t;

static int feed_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
  (void)aux; (void)argc; (void)argv; (void)err;
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,feed HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  if (!(*out = sqlite3_malloc(sizeof **out))) return SQLITE_NOMEM;
  memset(*out, 0, sizeof **out);
  return SQLITE_OK;
}

static int feed_disconnect(sqlite3_vtab *v) { sqlite3_free(v); return SQLITE_OK; }

/* The feed argument is required: without it the table has no rows to name. */
static int feed_best_index(sqlite3_vtab *v, sqlite3_index_info *ix)
{
  (void)v;
  for (int c = 0; c < ix->nConstraint; c++)
    if (ix->aConstraint[c].iColumn == FEED_COLS && ix->aConstraint[c].op == SQLITE_INDEX_CONSTRAINT_EQ &&
        ix->aConstraint[c].usable) {
      ix->aConstraintUsage[c].argvIndex = 1;
      ix->aConstraintUsage[c].omit = 1;
      ix->estimatedCost = 1;
      return SQLITE_OK;
    }
  return SQLITE_CONSTRAINT;
}

static int feed_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
  (void)v;
  feed_cur_t *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static int feed_close(sqlite3_vtab_cursor *cur) { sqlite3_free(cur); return SQLITE_OK; }

static int feed_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxs, int argc, sqlite3_value **argv)
{
  (void)idx; (void)idxs;
  feed_cur_t *c = (feed_cur_t *)cur;
  c->f = argc == 1 ? sqlite3_value_pointer(argv[0], FEED_PTR) : NULL;
  c->i = c->f ? c->f->lo : 0;
  return SQLITE_OK;
}

static int feed_next(sqlite3_vtab_cursor *cur) { ((feed_cur_t *)cur)->i++; return SQLITE_OK; }
static int feed_eof(sqlite3_vtab_cursor *cur) { feed_cur_t *c = (feed_cur_t *)cur; return !c->f || c->i >= c->f->hi; }
static int feed_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) { *rowid = ((feed_cur_t *)cur)->i; return SQLITE_OK; }

/* Where each column of a table's held row is: its offset in the row's struct and its width
 * (4: uint32_t or int, never negative; 8: int64_t or uint64_t). The body, run_lo and max_t of c2c_msg
 * and the payload of rel_event are the exceptions (feed_column). */
struct col { uint16_t off, wide; };
#define C32(type, f) { offsetof(type, f), 0 }
#define C64(type, f) { offsetof(type, f), 1 }
static const col_t msg_cols[] = { C32(pend_msg_t, m.sdkappid), C64(pend_msg_t, m.conv), C32(pend_msg_t, m.seq),
                                  C32(pend_msg_t, m.from_no), C32(pend_msg_t, m.to_no), C64(pend_msg_t, m.time_s),
                                  C32(pend_msg_t, m.cseq), C32(pend_msg_t, m.random), C32(pend_msg_t, m.flags),
                                  C64(pend_msg_t, m.life_s) };
static const col_t ev_cols[] = { C32(pend_ev_t, app), C32(pend_ev_t, user), C32(pend_ev_t, useq), C32(pend_ev_t, kind),
                                 C64(pend_ev_t, conv), C32(pend_ev_t, seq), C64(pend_ev_t, at) };
static const col_t recent_cols[] = { C32(pend_recent_t, app), C32(pend_recent_t, user), C32(pend_recent_t, peer),
                                     C32(pend_recent_t, read_seq) };
static const col_t rel_cols[] = { C32(pend_rel_t, app), C32(pend_rel_t, user), C32(pend_rel_t, useq), C64(pend_rel_t, at) };
_Static_assert(sizeof ((store_msg_t *)0)->seq == 4 && sizeof ((store_msg_t *)0)->time_s == 8 &&
               sizeof ((store_msg_t *)0)->life_s == 8 && sizeof ((pend_ev_t *)0)->kind == 4 &&
               sizeof ((pend_rel_t *)0)->at == 8, "the column widths above");

static int64_t col_value(const char *row, col_t c)
{
  if (c.wide) { int64_t v; memcpy(&v, row + c.off, 8); return v; }
  uint32_t v;
  memcpy(&v, row + c.off, 4);
  return v;
}

/* Column col of held row c->i of the feed's table: what the VALUES row bound. */
static int feed_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
  const feed_cur_t *c = (const feed_cur_t *)cur;
  const feed_t *f = c->f;
  const char *row = f->rows + (size_t)c->i * f->stride;
  if (col < f->nint) {
    sqlite3_result_int64(ctx, col_value(row, f->cols[col]));
  } else if (f->t == T_MSG) {
    const pend_msg_t *h = (const pend_msg_t *)(const void *)row;
    if (col == 10) /* f->p->body is NULL while only empty bodies came; valid until flushed */
      sqlite3_result_text(ctx, h->m.body_len ? f->p->body + h->body_off : "", (int)h->m.body_len, SQLITE_STATIC);
    else if (h->run_lo) /* imported: its run's start (col 11) and the newest time up to it (12); a SyncOtherMachine
                         * 2 or NoLastMsg message in a run (§51, §57): the run's start and its own time (live:
                         * clamped); else NULL */
      sqlite3_result_int64(ctx, col == 11 ? h->run_lo : h->max_t);
  } else { /* T_REL's payload */
    const pend_rel_t *e = (const pend_rel_t *)(const void *)row;
    sqlite3_result_text(ctx, e->len ? f->p->body + e->off : "", (int)e->len, SQLITE_STATIC); /* valid until flushed */
  }
  return SQLITE_OK;
}

static const sqlite3_module feed_module = {
  .iVersion = 0, .xConnect = feed_connect, .xBestIndex = feed_best_index, .xDisconnect = feed_disconnect,
  .xOpen = feed_open, .xClose = feed_close, .xFilter = feed_filter, .xNext = feed_next, .xEof = feed_eof,
  .xColumn = feed_column, .xRowid = feed_rowid,
};

/* The statement writing table t's held rows, prepared on first use (the module registered then). */
static sqlite3_stmt *feed_stmt(store_t *s, sqpend_t *p, int t)
{
  if (p->st[t]) return p->st[t];
  sqlite3 *db = sq__db(s);
  if (!p->feed_module) {
    if (sqlite3_create_module(db, "imc_pend", &feed_module, NULL) != SQLITE_OK) return NULL;
    p->feed_module = 1;
  }
  char sql[512];
  int w = snprintf(sql, sizeof sql, "%s SELECT ", tables[t].head);
  for (int c = 0; c < tables[t].cols; c++) w += snprintf(sql + w, sizeof sql - (size_t)w, "%sc%d", c ? "," : "", c);
  snprintf(sql + w, sizeof sql - (size_t)w, " FROM imc_pend(?1)");
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &p->st[t], NULL) != SQLITE_OK) p->st[t] = NULL;
  return p->st[t];
}

/* Write held rows i … n-1 of table t: one statement. */
static int write_rows(store_t *s, sqpend_t *p, int t, int i, int n)
{
  if (i >= n) return 0;
  sqlite3_stmt *st = feed_stmt(s, p, t);
  if (!st) return IMC_E_IO;
  feed_t f = { p, t, i, n, 0, NULL, 0, NULL };
  switch (t) {
  case T_MSG: f = (feed_t){ p, t, i, n, 10, (const char *)p->msg, sizeof *p->msg, msg_cols }; break;
  case T_EV: case T_EV_DIRECT: f = (feed_t){ p, t, i, n, 7, (const char *)p->ev, sizeof *p->ev, ev_cols }; break;
  case T_REL: f = (feed_t){ p, t, i, n, 4, (const char *)p->rel, sizeof *p->rel, rel_cols }; break;
  default: f = (feed_t){ p, t, i, n, 4, (const char *)p->recent, sizeof *p->recent, recent_cols };
  }
  sqlite3_bind_pointer(st, 1, &f, FEED_PTR, NULL); /* valid until the step returns */
  int rc = sq__map_rc(sqlite3_step(st));
  sqlite3_reset(st);
  return rc;
}

int sq__pend_flush(store_t *s, sqpend_t *p)
{
  int rc = 0;
  if (!sq__pend_any(p)) return 0;
  int64_t room = p->log_rows < p->log_cap ? p->log_cap - p->log_rows : 0; /* logs off (cap 0): all direct */
  int to_log = room < p->nev ? (int)room : p->nev;
  int64_t rroom = p->rlog_rows < p->rlog_cap ? p->rlog_cap - p->rlog_rows : 0;
  int to_rlog = rroom < p->nrecent ? (int)rroom : p->nrecent;
  if (!rc) rc = write_rows(s, p, T_MSG, 0, p->nmsg);
  if (!rc) rc = write_rows(s, p, T_EV, 0, to_log);      /* the log up to its cap (sqlite_msg_log.c) */
  if (!rc) rc = write_rows(s, p, T_EV_DIRECT, to_log, p->nev);
  if (!rc) rc = write_rows(s, p, T_RECENT, 0, to_rlog); /* the conversation log up to its cap */
  if (!rc) rc = write_rows(s, p, T_RECENT_DIRECT, to_rlog, p->nrecent);
  if (!rc) rc = write_rows(s, p, T_REL, 0, p->nrel);
  if (!rc) { p->log_rows += to_log; p->rlog_rows += to_rlog; }
  sq__pend_drop(p);
  return rc;
}

_Static_assert((PEND_HASH & (PEND_HASH - 1)) == 0, "PEND_HASH is a power of two");

/* The bucket of (app, conv) (Fibonacci hashing: consecutive user numbers spread evenly). */
static uint32_t bucket(uint32_t app, uint64_t conv)
{
  uint64_t h = (conv ^ ((uint64_t)app << 32 | app)) * 0x9E3779B97F4A7C15ull;
  return (uint32_t)(h >> 32) & (PEND_HASH - 1);
}

void sq__pend_drop(sqpend_t *p)
{
  for (int i = 0; i < p->nmsg; i++) { /* the chains' buckets: only those the held messages used */
    uint32_t b = bucket(p->msg[i].m.sdkappid, p->msg[i].m.conv);
    p->head[b] = p->tail[b] = p->ihead[b] = 0;
  }
  p->nmsg = p->nev = p->nrecent = p->nrel = 0;
  p->body_len = 0;
}

/* Room for len more bytes in p->body (it may move). */
static int body_room(sqpend_t *p, size_t len)
{
  if (p->body_len + len <= p->body_cap) return 0;
  size_t cap = p->body_cap ? p->body_cap : 8192;
  while (cap < p->body_len + len) cap *= 2;
  char *b = realloc(p->body, cap);
  if (!b) return IMC_E_NOMEM;
  p->body = b;
  p->body_cap = cap;
  return 0;
}

int sq__pend_msg(store_t *s, sqpend_t *p, const store_msg_t *m, uint32_t run_lo, uint32_t max_t)
{
  int rc;
  if ((p->nmsg == PEND_MSGS || (sq__pend_any(p) && p->body_len + m->body_len > PEND_BODY_BYTES)) &&
      (rc = sq__pend_flush(s, p)))
    return rc;
  if ((rc = body_room(p, m->body_len))) return rc;
  int i = p->nmsg++;
  pend_msg_t *h = &p->msg[i];
  uint32_t b = bucket(m->sdkappid, m->conv);
  if (p->tail[b]) p->msg[p->tail[b] - 1].next = i + 1;
  else p->head[b] = i + 1;
  p->tail[b] = i + 1;
  h->next = 0;
  h->inext = 0;
  if (m->flags & STORE_MSG_IMPORTED) { /* the bucket's imported chain, newest first */
    h->inext = p->ihead[b];
    p->ihead[b] = i + 1;
  }
  h->m = *m;
  h->run_lo = run_lo;
  h->max_t = max_t;
  h->m.from_id = h->m.to_id = NULL;
  h->body_off = p->body_len;
  if (m->body_len) memcpy(p->body + p->body_len, m->body, m->body_len);
  p->body_len += m->body_len;
  h->m.body = NULL; /* p->body moves when it grows: the offset is what holds */
  return 0;
}

int sq__pend_ev(store_t *s, sqpend_t *p, const pend_ev_t *e)
{
  int rc;
  if (p->nev == PEND_ROWS && (rc = sq__pend_flush(s, p))) return rc;
  p->ev[p->nev++] = *e;
  return 0;
}

int sq__pend_recent(store_t *s, sqpend_t *p, uint32_t app, uint32_t user, uint32_t peer, uint32_t read_seq)
{
  int rc;
  if (p->nrecent == PEND_ROWS && (rc = sq__pend_flush(s, p))) return rc;
  p->recent[p->nrecent++] = (pend_recent_t){ app, user, peer, read_seq };
  return 0;
}

int sq__pend_rel(store_t *s, sqpend_t *p, uint32_t app, uint32_t user, uint32_t useq, int64_t at, const char *payload)
{
  int rc;
  size_t len = strlen(payload);
  if (!p->rel && !(p->rel = malloc(PEND_ROWS * sizeof *p->rel))) return IMC_E_NOMEM;
  if ((p->nrel == PEND_ROWS || (sq__pend_any(p) && p->body_len + len > PEND_BODY_BYTES)) && (rc = sq__pend_flush(s, p)))
    return rc;
  const pend_rel_t *last = p->nrel ? &p->rel[p->nrel - 1] : NULL;
  pend_rel_t *e = &p->rel[p->nrel];
  *e = (pend_rel_t){ app, user, useq, at, p->body_len, len };
  if (last && last->len == len && !memcmp(p->body + last->off, payload, len)) {
    e->off = last->off; /* the same text: held once */
  } else {
    if ((rc = body_room(p, len))) return rc;
    memcpy(p->body + p->body_len, payload, len);
    p->body_len += len;
  }
  p->nrel++;
  return 0;
}

int sq__pend_conv_next(const sqpend_t *p, int i, uint32_t app, uint64_t conv)
{
  int32_t n = i < 0 ? p->head[bucket(app, conv)] : p->msg[i].next;
  for (; n; n = p->msg[n - 1].next) {
    assert(n <= p->nmsg);
    const store_msg_t *m = &p->msg[n - 1].m;
    if (m->sdkappid == app && m->conv == conv) return n - 1;
  }
  return -1;
}

/* Held message i against the append's rule; a send's compares the content last (§69), byte for byte. */
static int dup_match(const sqpend_t *p, int i, const store_msg_append_t *a)
{
  const store_msg_t *m = &p->msg[i].m, *in = &a->m;
  if (m->sdkappid != in->sdkappid || m->conv != in->conv || m->random != in->random) return 0;
  return a->import_dedupe ? m->cseq == in->cseq && m->time_s == in->time_s
                          : !(m->flags & STORE_MSG_IMPORTED) && m->from_no == in->from_no &&
                                m->time_s >= a->dedupe_since_s &&
                                store_msg_same_seq(m->flags, m->cseq, in->flags, in->cseq) &&
                                store_content_same(sq__pend_body(p, i), m->body_len, in->body, in->body_len);
}

const store_msg_t *sq__pend_dup(sqpend_t *p, const store_msg_append_t *a)
{
  const store_msg_t *in = &a->m;
  uint32_t b = bucket(in->sdkappid, in->conv);
  for (int32_t n = p->head[b]; n; n = p->msg[n - 1].next) { /* append order: seq ascending per conversation */
    assert(n <= p->nmsg);
    p->dup_visits++;
    if (dup_match(p, n - 1, a)) return &p->msg[n - 1].m;
  }
  return NULL;
}

uint32_t sq__pend_run_lo(const sqpend_t *p, uint32_t app, uint64_t conv, uint32_t seq)
{
  for (int32_t n = p->ihead[bucket(app, conv)]; n; n = p->msg[n - 1].inext) { /* newest first */
    const pend_msg_t *h = &p->msg[n - 1];
    if (h->m.sdkappid == app && h->m.conv == conv) return h->m.seq == seq ? h->run_lo : 0;
  }
  return 0;
}

const pend_msg_t *sq__pend_last(const sqpend_t *p, uint32_t app, uint64_t conv)
{
  int32_t n = p->tail[bucket(app, conv)];
  const pend_msg_t *h = n ? &p->msg[n - 1] : NULL;
  return h && h->m.sdkappid == app && h->m.conv == conv ? h : NULL;
}

void sq__pend_free(sqpend_t *p)
{
  for (int t = 0; t < T__COUNT; t++) sqlite3_finalize(p->st[t]);
  free(p->body);
  free(p->rel);
}
