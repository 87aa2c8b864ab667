/* sqlite_msg_int.h — what sqlite_msg.c and sqlite_msg_pend.c share: the
 * rows of C2C appends held back and written together (sqlite_msg_pend.c).
 *
 * Ownership: a sqpend_t lives in the connection's struct sqmsg and is used
 * by the connection's thread only. */
#ifndef IMC_STORE_SQLITE_MSG_INT_H
#define IMC_STORE_SQLITE_MSG_INT_H

#include "store/sqlite_int.h"
#include "store/store_msg.h"

#define PEND_MSGS 32                  /* messages held before they are written (a cap, then a flush) */
#define PEND_ROWS (2 * PEND_MSGS)     /* inbox events / conversation rows held */
#define PEND_SIZES 7                  /* multi-row statements of 1, 2, 4 … 64 rows */

typedef struct pend_msg { store_msg_t m; size_t body_off; } pend_msg_t;
typedef struct pend_ev { uint32_t app, user, useq, seq; int kind; uint64_t conv; int64_t at; } pend_ev_t;
typedef struct pend_recent { uint32_t app, user, peer; } pend_recent_t;

typedef struct sqpend {
  pend_msg_t msg[PEND_MSGS];
  pend_ev_t ev[PEND_ROWS];
  pend_recent_t recent[PEND_ROWS];
  int nmsg, nev, nrecent;
  char *body;                        /* the held messages' bodies, back to back */
  size_t body_len, body_cap;
  sqlite3_stmt *st[3][PEND_SIZES];   /* [table][log2 rows], prepared on first use */
} sqpend_t;

/* Hold a c2c_msg row (the body is copied), an inbox event, a conversation
 * row (INSERT OR IGNORE). A full buffer is written first. Returns 0,
 * IMC_E_NOMEM, or a flush error (the caller's job fails and rolls back). */
int sq__pend_msg(store_t *s, sqpend_t *p, const store_msg_t *m);
int sq__pend_ev(store_t *s, sqpend_t *p, const pend_ev_t *e);
int sq__pend_recent(store_t *s, sqpend_t *p, uint32_t app, uint32_t user, uint32_t peer);

/* Write every held row, in multi-row statements, into the innermost open
 * savepoint; the buffer is empty afterwards either way. On an error the
 * rows may be partly written: the caller must roll back (the writer does,
 * for a failing job, RELEASE or COMMIT). */
int sq__pend_flush(store_t *s, sqpend_t *p);

/* Forget every held row (ROLLBACK, ROLLBACK TO: they were all made after
 * the last savepoint statement, which flushed). */
void sq__pend_drop(sqpend_t *p);

static inline int sq__pend_any(const sqpend_t *p) { return p->nmsg || p->nev || p->nrecent; }

/* The held message of (app, conv) that matches a send's dedupe (same
 * sender and random, time_s >= since_s) or importmsg's (same cseq, random
 * and time_s), lowest seq first; NULL when none. */
const store_msg_t *sq__pend_dup(const sqpend_t *p, const store_msg_append_t *a);

void sq__pend_free(sqpend_t *p);

/* ---- the send dedupe window of a conversation (sqlite_msg_win.c) ---- */
#define WIN_MAX 4096 /* entries per conversation; past it the table answers (a walk back) */

typedef struct sqwin_ent { uint32_t seq, random, from_no, cseq; int64_t time_s; } sqwin_ent_t;
/* Every live message of the conversation with time_s >= lo, ascending seq. */
typedef struct sqwin { int64_t lo; uint32_t n, cap; sqwin_ent_t e[]; } sqwin_t;

/* An empty window complete from lo (INT64_MIN: the conversation has no
 * message). NULL: out of memory. Free with free(). */
sqwin_t *sq__win_new(int64_t lo);
/* The first (lowest seq) entry of sender from_no with random and
 * time_s >= since_s, NULL when none. Exact only for since_s >= w->lo. */
const sqwin_ent_t *sq__win_find(const sqwin_t *w, uint32_t random, uint32_t from_no, int64_t since_s);
/* Add a live message (its seq above every entry's; one older than lo is
 * not kept). since_s: the current send's since, used to prune when full.
 * *w may move (realloc). -1: full at WIN_MAX, or out of memory (*w
 * unchanged); the caller frees it and answers from the table. */
int sq__win_push(sqwin_t **w, const sqwin_ent_t *e, int64_t since_s);

#endif
