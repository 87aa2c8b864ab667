/* sqlite_msg_trim.c — one user's conversation trim (store_msg_recent_trim)
 * in bounded steps.
 *
 * Keeping a user's `keep` most recent unpinned conversation rows needs every
 * row's recency (its conversation's last message: a seek per row), and a
 * user may have any number of rows. Until 2026-12-03 one DELETE ranked them
 * all in one writer job, however many there were. Here a call reads at most
 * max_rows of the user's rows (in key order, from where the previous call
 * stopped) and deletes at most as many:
 *
 *   phase 1  walks every row once, keeping the `keep` most recent unpinned
 *            listed ones seen so far in a min-heap; at the end its root is
 *            the bar. A row the user deleted (hidden: no message since its
 *            hidden_seq) takes no place: it is not in the list, and counted
 *            among the kept it pushed listed conversations out;
 *   phase 2  walks every row again and deletes the unpinned rows below the
 *            bar, each by its key (still unpinned). A row whose history the
 *            user cleared (ClearRamble: cleared_seq) is hidden instead, as a
 *            conversation delete hides it: the clear must outlive the list
 *            (a row made again by a later message would show the history),
 *            until every message it cleared is older than the app's
 *            retention horizon (before_s, with the app's purge floor: no
 *            read shows them again, whatever the retention becomes): then it
 *            is deleted as well (messaging-c2c-retention.md §30).
 *
 * Between calls other writer jobs run. A row's recency only rises (a new
 * message), so the heap's rows stay at or above the bar: a row below it has
 * at least `keep` unpinned rows more recent than itself and goes, as the
 * one-statement trim would have deleted it. A row that gained a message, or
 * was created with one, meanwhile is compared by its recency at the time of
 * the delete, so it stays when it is among the most recent (the list may
 * then hold a row or two more than keep until the next pass; readers cap
 * it). What could lower a recency or take a heap row out of the count — a
 * pin or unpin of the user's rows, a purge of the app's messages, a
 * rollback of the trim's own deletes — resets the trim (sq__trim_reset),
 * which starts over at its next call.
 *
 * A row user->peer deleted is noted in c2c_trimmed (migration 55) when the
 * peer's row peer->user is there: the deletion of the user's account finds
 * that peer through it (SQ_ACC_PEERS_OF), as through the user's own rows
 * (messaging-c2c-checks3.md §87). The peer's note of its row peer->user, if
 * any, goes: that row is the one deleted. So a pair (u, p) stays only while
 * the row p->u it names is there (an account deletion removes such rows with
 * the pairs naming the account: sqlite.c): the table holds at most one pair
 * per conversation row. Two key seeks and a write per deleted row, in this
 * background pass.
 *
 * State: struct sqmsg's sqtrim_t, one trim in progress per connection (the
 * writer's); a call for another user, app or keep starts over. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#include <stdlib.h>

static int key_less(const sqtrim_key_t *a, const sqtrim_key_t *b)
{
  if (a->time_s != b->time_s) return a->time_s < b->time_s;
  if (a->seq != b->seq) return a->seq < b->seq;
  return a->peer < b->peer;
}

static void sift_down(sqtrim_key_t *h, uint32_t n, uint32_t i)
{
  for (;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && key_less(&h[l], &h[m])) m = l;
    if (r < n && key_less(&h[r], &h[m])) m = r;
    if (m == i) return;
    sqtrim_key_t t = h[i]; h[i] = h[m]; h[m] = t;
    i = m;
  }
}

/* Phase 1: an unpinned row joins the keep most recent listed ones seen so far. */
static void offer(sqtrim_t *t, const sqtrim_key_t *k, int hidden)
{
  t->unpinned++;
  if (!t->keep || hidden) return;
  if (t->n < (uint32_t)t->keep) {
    uint32_t i = t->n++;
    t->heap[i] = *k;
    while (i && key_less(&t->heap[i], &t->heap[(i - 1) / 2])) {
      sqtrim_key_t x = t->heap[i]; t->heap[i] = t->heap[(i - 1) / 2]; t->heap[(i - 1) / 2] = x;
      i = (i - 1) / 2;
    }
  } else if (key_less(&t->heap[0], k)) {
    t->heap[0] = *k;
    sift_down(t->heap, t->n, 0);
  }
}

void sq__trim_reset(struct sqmsg *m, uint32_t app, uint32_t user)
{
  if (!m || !m->trim.phase) return;
  if ((app && app != m->trim.app) || (user && user != m->trim.user)) return;
  m->trim.phase = 0;
}

void sq__trim_free(struct sqmsg *m)
{
  free(m->trim.heap);
  m->trim.heap = NULL;
  m->trim.phase = 0;
}

static int start(store_t *s, struct sqmsg *m, uint32_t app, uint32_t user, int keep)
{
  sqtrim_t *t = &m->trim;
  /* the walk reads c2c_recent alone: the user's rows still in the conversation log count too */
  int rc = sq__log_merge_user(s, SQ_LOG_RECENT, app, user);
  if (rc) return rc;
  free(t->heap);
  t->heap = keep ? malloc((size_t)keep * sizeof *t->heap) : NULL;
  if (keep && !t->heap) return IMC_E_NOMEM;
  t->app = app; t->user = user; t->keep = keep;
  t->phase = 1; t->after = 0; t->unpinned = 0; t->n = 0;
  return 0;
}

int sq__trim_row_key(store_t *s, uint32_t app, uint32_t user, sqlite3_stmt *row, sqtrim_key_t *k, int *hidden)
{
  int64_t flags = sqlite3_column_int64(row, 5), top_s = sqlite3_column_int64(row, 2);
  uint32_t hidden_seq = (uint32_t)sqlite3_column_int64(row, 6);
  int rc;
  *k = (sqtrim_key_t){ top_s, (uint32_t)sqlite3_column_int64(row, 3), (uint32_t)sqlite3_column_int64(row, 0) };
  if (k->seq && !sq__msg_lists(flags, (uint32_t)sqlite3_column_int64(row, 4), user)) {
    sqlisted_t l;
    if ((rc = sq__msg_listed(s, app, store_c2c_conv(user, k->peer), user, k->seq, 0, &l))) return rc;
    k->seq = l.seq;
    k->time_s = l.seq && !(hidden_seq > 0 && l.seq <= hidden_seq) ? l.time_s : top_s;
    flags = l.flags;
  }
  *hidden = hidden_seq > 0 && k->seq <= hidden_seq;
  /* ranked by its last message as the lists show it: the newest by time when the newest by seq is
   * imported (a hidden row ranks by its newest message of any kind, as before); by that one, a row the
   * user deleted stays hidden (an older import since the delete does not show it) */
  if (!*hidden && k->seq && (flags & STORE_MSG_IMPORTED)) {
    if ((rc = sq__last_by_time(s, app, user, k->peer, &k->seq, &k->time_s))) return rc;
    *hidden = k->seq <= hidden_seq;
  }
  return 0;
}

/* The row user->peer was deleted: note it for the peer's row, forget the peer's note of it. */
static int noted(store_t *s, uint32_t app, uint32_t user, uint32_t peer)
{
  static const int ids[] = { M_TRIM_NOTE, M_TRIM_PRUNE };
  int rc = 0;
  for (size_t i = 0; i < sizeof ids / sizeof ids[0] && !rc; i++) {
    sqlite3_stmt *st = sq__msg_stmt(s, ids[i]);
    if (!st) return IMC_E_IO;
    BIND(st, app, user, peer);
    rc = sq__map_rc(sqlite3_step(st));
    sqlite3_reset(st);
  }
  return rc;
}

/* Read up to lim rows after t->after; phase 1 ranks them, phase 2 collects
 * those to delete into del (*ndel). *got: rows read. */
static int walk(store_t *s, sqtrim_t *t, int lim, sqtrim_key_t *del, int *ndel, int *got)
{
  sqlite3_stmt *st = sq__msg_stmt(s, M_TRIM_ROWS);
  int rc;
  *got = *ndel = 0;
  if (!st) return IMC_E_IO;
  BIND(st, t->app, t->user, t->after, lim);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sqtrim_key_t k;
    int hidden;
    t->after = (uint32_t)sqlite3_column_int64(st, 0);
    (*got)++;
    if (sqlite3_column_int64(st, 1)) continue; /* pinned */
    if ((rc = sq__trim_row_key(s, t->app, t->user, st, &k, &hidden))) {
      sqlite3_reset(st);
      return rc;
    }
    if (t->phase == 1) offer(t, &k, hidden);
    else if (!t->keep || key_less(&k, &t->bar)) del[(*ndel)++] = k;
  }
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int sq__trim_step(store_t *s, uint32_t app, uint32_t user, int keep, int64_t before_s, int max_rows, int64_t *deleted,
                  int *more)
{
  struct sqmsg *m = sq__msg_state(s);
  sqtrim_t *t = m ? &m->trim : NULL;
  int rc = 0, budget = max_rows;
  sqtrim_key_t *del = NULL;
  *deleted = 0;
  *more = 0;
  if (!m) return IMC_E_NOMEM;
  if (keep < 0 || max_rows < 1) return IMC_E_INVAL;
  if (!t->phase || t->app != app || t->user != user || t->keep != keep)
    if ((rc = start(s, m, app, user, keep))) return rc;
  while (!rc && t->phase && budget > 0) {
    int got, ndel = 0;
    if (t->phase == 2 && !del && !(del = malloc((size_t)budget * sizeof *del))) { rc = IMC_E_NOMEM; break; }
    if ((rc = walk(s, t, budget, del, &ndel, &got))) break;
    for (int i = 0; i < ndel && !rc; i++) { /* unpinned and uncleared: deleted; cleared: deleted or hidden */
      sqlite3_stmt *st = sq__msg_stmt(s, M_TRIM_DEL), *gone = sq__msg_stmt(s, M_TRIM_GONE),
                   *hide = sq__msg_stmt(s, M_TRIM_HIDE);
      if (!st || !gone || !hide) { rc = IMC_E_IO; break; }
      BIND(st, app, user, del[i].peer);
      rc = sq__map_rc(sqlite3_step(st));
      sqlite3_reset(st);
      if (rc) break;
      int n = sqlite3_changes(sq__db(s));
      if (!n && before_s != INT64_MIN) {
        BIND(gone, app, user, del[i].peer, before_s, (int64_t)store_c2c_conv(user, del[i].peer));
        rc = sq__map_rc(sqlite3_step(gone));
        sqlite3_reset(gone);
        if (rc) break;
        n = sqlite3_changes(sq__db(s));
      }
      *deleted += n;
      if (n) { rc = noted(s, app, user, del[i].peer); continue; }
      BIND(hide, app, user, del[i].peer, del[i].seq);
      rc = sq__map_rc(sqlite3_step(hide));
      sqlite3_reset(hide);
    }
    budget -= got;
    if (!rc && budget > 0) { /* fewer rows than asked for: the phase's walk reached the user's last row */
      /* a heap short of keep: fewer listed rows than kept, none goes (a hidden row
       * deleted could come back listed with its old messages: its last message is derived from the log) */
      if (t->phase == 1 && t->unpinned > keep && (!keep || t->n == (uint32_t)keep)) {
        t->bar = keep ? t->heap[0] : (sqtrim_key_t){ 0, 0, 0 };
        t->phase = 2;
        t->after = 0;
      } else {
        t->phase = 0; /* nothing over the limit, or the deletes done */
      }
    }
  }
  free(del);
  if (rc) t->phase = 0; /* start over next time */
  *more = t->phase != 0;
  app_cache_t *a = *deleted ? u64map_get(&m->apps, app) : NULL;
  if (a) { m->entries -= a->recent.len; u64map_free(&a->recent); } /* rows gone: make sure again */
  return rc;
}
