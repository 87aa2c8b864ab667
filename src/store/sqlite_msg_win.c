/* sqlite_msg_win.c — the send dedupe window of one conversation, in memory
 * on the writer's connection.
 *
 * A window holds every live (not imported) message of its conversation with
 * time_s >= lo: seq, random, sender, cseq, time. The send dedupe rule (same
 * sender and random, time_s >= since) is answered from it whenever
 * since >= lo, without an index on the message table
 * (docs/decisions/messaging-c2c-storage.md §15). sqlite_msg.c creates a
 * window empty for a new conversation, or loads it by walking the
 * conversation back from its newest message (live times never decrease
 * along seq: the append clamps them), pushes every live append of the
 * conversation, and frees every window with the other caches on any
 * ROLLBACK. Entries older than the current since are pruned when the window
 * is full; a window that still holds WIN_MAX entries is given up (the
 * caller then answers from the table, exactly, walking back).
 *
 * State: owned by the connection's caches (struct sqmsg), one thread. */
#include "store/sqlite_msg_int.h"

#include <stdlib.h>

const sqwin_ent_t *sq__win_find(const sqwin_t *w, uint32_t random, uint32_t from_no, int64_t since_s)
{
  for (uint32_t i = 0; i < w->n; i++) { /* ascending seq: the first match is the original */
    const sqwin_ent_t *e = &w->e[i];
    if (e->random == random && e->from_no == from_no && e->time_s >= since_s) return e;
  }
  return NULL;
}

sqwin_t *sq__win_new(int64_t lo)
{
  sqwin_t *w = malloc(sizeof *w + 8 * sizeof w->e[0]);
  if (!w) return NULL;
  w->lo = lo;
  w->n = 0;
  w->cap = 8;
  return w;
}

/* Drop the entries older than since_s (they can match no later send with
 * a since at least as large) and raise lo to it. */
static void prune(sqwin_t *w, int64_t since_s)
{
  if (since_s <= w->lo) return;
  uint32_t k = 0;
  for (uint32_t i = 0; i < w->n; i++)
    if (w->e[i].time_s >= since_s) w->e[k++] = w->e[i];
  w->n = k;
  w->lo = since_s;
}

int sq__win_push(sqwin_t **wp, const sqwin_ent_t *e, int64_t since_s)
{
  sqwin_t *w = *wp;
  if (e->time_s < w->lo) return 0; /* below the window: a later since >= lo cannot match it */
  if (w->n == w->cap) prune(w, since_s);
  if (w->n == w->cap) {
    if (w->cap >= WIN_MAX) return -1;
    uint32_t cap = w->cap * 2;
    sqwin_t *g = realloc(w, sizeof *g + cap * sizeof g->e[0]);
    if (!g) return -1;
    *wp = w = g;
    w->cap = cap;
  }
  w->e[w->n++] = *e;
  return 0;
}
