/* sqlite_msg_pend.c — the rows of C2C appends held back and written
 * together.
 *
 * A send used to run one INSERT statement per table it writes (the message,
 * its two inbox events, a new conversation's two rows): each statement's
 * fixed cost (step, cursors opened and freed, halt, reset) was about a third
 * of the writer's instructions per message. Here sqlite_msg.c hands the
 * rows to this buffer, which writes them with one multi-row statement per
 * table and power of two (1, 2, 4 … 64 rows) when it is full (PEND_MSGS
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
 * the rest straight to c2c_recent (sqlite_msg_log.c; both caps are 0 on a
 * new connection since wave 12: every row goes straight to its table). A
 * relationship event's payload row (rel_event) is held with its inbox event
 * (sqlite_rel.c ev_put, inside a transaction), its text in the bodies'
 * buffer, once for a run of equal payloads. A failing flush
 * fails whoever triggered it (the append's job, the RELEASE, the COMMIT),
 * and the writer rolls that back.
 *
 * Each held message is on its conversation's chain (a bucket by app and
 * conversation: first, last, next), which the send dedupe and the window
 * load walk instead of every held message (messaging-c2c-storage.md §24).
 *
 * State: one sqpend_t per connection (in struct sqmsg), used by the
 * connection's thread only. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_MSG, T_EV, T_RECENT, T_EV_DIRECT, T_RECENT_DIRECT, T_REL, T__COUNT };

static const struct { const char *head, *row; int cols; } tables[] = {
  [T_MSG] = { "INSERT OR FAIL INTO c2c_msg(sdkappid,conv,seq,from_no,to_no,time_s,cseq,random,flags,life_s,body,"
              "run_lo,max_t) VALUES", "(?,?,?,?,?,?,?,?,?,?,?,?,?)", 13 },
  [T_EV] = { "INSERT OR FAIL INTO c2c_inbox_log(sdkappid,user_no,useq,kind,conv,seq,at) VALUES", "(?,?,?,?,?,?,?)", 7 },
  [T_RECENT] = { "INSERT OR IGNORE INTO c2c_recent_log(sdkappid,user_no,peer_no,read_seq) VALUES", "(?,?,?,?)", 4 },
  /* a log at its cap: straight into the inbox, the conversation rows (sqlite_msg_log.c) */
  [T_EV_DIRECT] = { "INSERT OR FAIL INTO c2c_inbox(sdkappid,user_no,useq,kind,conv,seq,at) VALUES", "(?,?,?,?,?,?,?)", 7 },
  [T_RECENT_DIRECT] = { "INSERT OR IGNORE INTO c2c_recent(sdkappid,user_no,peer_no,read_seq) VALUES", "(?,?,?,?)", 4 },
  /* the payloads of relationship events (sqlite_rel.c ev_put), held with their inbox events */
  [T_REL] = { "INSERT OR FAIL INTO rel_event(sdkappid,user_no,useq,at,payload) VALUES", "(?,?,?,?,?)", 5 },
};
_Static_assert(T__COUNT == sizeof ((sqpend_t *)0)->st / sizeof ((sqpend_t *)0)->st[0], "one statement row per table");

/* The statement writing 2^k rows of table t, prepared on first use. */
static sqlite3_stmt *chunk_stmt(store_t *s, sqpend_t *p, int t, int k)
{
  if (p->st[t][k]) return p->st[t][k];
  size_t rows = (size_t)1 << k, hl = strlen(tables[t].head), rl = strlen(tables[t].row);
  char *sql = malloc(hl + rows * (rl + 1) + 1), *w = sql;
  if (!sql) return NULL;
  memcpy(w, tables[t].head, hl); w += hl;
  for (size_t r = 0; r < rows; r++) { if (r) *w++ = ','; memcpy(w, tables[t].row, rl); w += rl; }
  *w = 0;
  if (sqlite3_prepare_v3(sq__db(s), sql, -1, SQLITE_PREPARE_PERSISTENT, &p->st[t][k], NULL) != SQLITE_OK)
    p->st[t][k] = NULL;
  free(sql);
  return p->st[t][k];
}

static void bind_row(sqlite3_stmt *st, int t, int first, const sqpend_t *p, int i)
{
  int c = first;
  if (t == T_MSG) {
    const store_msg_t *m = &p->msg[i].m;
    int64_t v[] = { m->sdkappid, (int64_t)m->conv, m->seq, m->from_no, m->to_no, m->time_s, m->cseq, m->random,
                    m->flags, m->life_s };
    for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) sqlite3_bind_int64(st, c++, v[j]);
    const char *body = m->body_len ? p->body + p->msg[i].body_off : ""; /* p->body is NULL while only empty bodies came */
    sqlite3_bind_text(st, c, body, (int)m->body_len, SQLITE_STATIC);     /* valid until flushed */
    if (p->msg[i].run_lo) { /* imported: its run's start and the newest time up to it */
      sqlite3_bind_int64(st, c + 1, p->msg[i].run_lo);
      sqlite3_bind_int64(st, c + 2, p->msg[i].max_t);
    } else {
      sqlite3_bind_null(st, c + 1);
      sqlite3_bind_null(st, c + 2);
    }
  } else if (t == T_EV || t == T_EV_DIRECT) {
    const pend_ev_t *e = &p->ev[i];
    int64_t v[] = { e->app, e->user, e->useq, e->kind, (int64_t)e->conv, e->seq, e->at };
    for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) sqlite3_bind_int64(st, c++, v[j]);
  } else if (t == T_REL) {
    const pend_rel_t *e = &p->rel[i];
    int64_t v[] = { e->app, e->user, e->useq, e->at };
    for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) sqlite3_bind_int64(st, c++, v[j]);
    sqlite3_bind_text(st, c, e->len ? p->body + e->off : "", (int)e->len, SQLITE_STATIC); /* valid until flushed */
  } else {
    const pend_recent_t *r = &p->recent[i];
    sqlite3_bind_int64(st, c, r->app);
    sqlite3_bind_int64(st, c + 1, r->user);
    sqlite3_bind_int64(st, c + 2, r->peer);
    sqlite3_bind_int64(st, c + 3, r->read_seq);
  }
}

/* Write held rows i … n-1 of table t: the largest power of two first. */
static int write_rows(store_t *s, sqpend_t *p, int t, int i, int n)
{
  while (i < n) {
    int k = PEND_SIZES - 1;
    while ((1 << k) > n - i) k--;
    sqlite3_stmt *st = chunk_stmt(s, p, t, k);
    if (!st) return IMC_E_IO;
    for (int r = 0; r < 1 << k; r++) bind_row(st, t, r * tables[t].cols + 1, p, i + r);
    int rc = sq__map_rc(sqlite3_step(st));
    sqlite3_reset(st);
    if (rc) return rc;
    i += 1 << k;
  }
  return 0;
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

static int dup_match(const store_msg_t *m, const store_msg_append_t *a)
{
  const store_msg_t *in = &a->m;
  if (m->sdkappid != in->sdkappid || m->conv != in->conv || m->random != in->random) return 0;
  return a->import_dedupe ? m->cseq == in->cseq && m->time_s == in->time_s
                          : m->from_no == in->from_no && m->time_s >= a->dedupe_since_s &&
                                store_msg_same_seq(m->flags, m->cseq, in->flags, in->cseq);
}

const store_msg_t *sq__pend_dup(sqpend_t *p, const store_msg_append_t *a, int imported_only)
{
  const store_msg_t *in = &a->m, *best = NULL;
  uint32_t b = bucket(in->sdkappid, in->conv);
  if (imported_only) { /* newest first: the lowest seq is the last match */
    for (int32_t n = p->ihead[b]; n; n = p->msg[n - 1].inext) {
      assert(n <= p->nmsg);
      p->dup_visits++;
      if (dup_match(&p->msg[n - 1].m, a)) best = &p->msg[n - 1].m;
    }
    return best;
  }
  for (int32_t n = p->head[b]; n; n = p->msg[n - 1].next) { /* append order: seq ascending per conversation */
    assert(n <= p->nmsg);
    p->dup_visits++;
    if (dup_match(&p->msg[n - 1].m, a)) return &p->msg[n - 1].m;
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

void sq__pend_free(sqpend_t *p)
{
  for (int t = 0; t < T__COUNT; t++)
    for (int k = 0; k < PEND_SIZES; k++) sqlite3_finalize(p->st[t][k]);
  free(p->body);
  free(p->rel);
}
