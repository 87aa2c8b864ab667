/* conv_list.c — a page of a user's conversation list of both kinds (conv.h).
 *
 * One reader job reads, in its one transaction, the user's C2C
 * conversations (c2c__convs_read) and its group member rows
 * (store_grp_convs); so a pin, an unpin, a delete or a message committed
 * while a page is made is in both reads or in neither, and a page is never
 * made of a C2C list from before a change and group rows from after it.
 * On the loop thread the group rows are completed from memory
 * (im_group_conv_rows: the last message, the membership), the rows of both
 * kinds are merged and sorted, and the page is cut at the cursor. The
 * first job counts no unread message: with IM_CONV_UNREAD a second reader
 * job counts the unread messages of the page's C2C conversations (from the
 * read position the first read) and reads the read position and unread
 * count of the page's groups, for the page's items only, each up to the
 * newest message the item's conversation had at the first read, NoLastMsg
 * ones included (C2C: read with the rows; groups: the group's last seq in
 * memory when the page is cut, which only a committed message raises), so
 * a message stored between the two reads is never counted and a NoLastMsg
 * one stored before is (docs/decisions/messaging-c2c-storage.md §46, §47);
 * without it (REST get_list) nothing is counted. With IM_CONV_UNREAD_WAIT a
 * second read the reader queue refuses is handed to the caller to queue again
 * later (im_conv_page_again), the first read's rows kept (§124).
 * Loop thread but the run functions (reader threads).
 */
#include "im/c2c_int.h"
#include "im/conv.h"
#include "im/group_int.h"
#include "store/store_msg.h"
#include "util/err.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct row {
  int64_t time, pinned_at, key, pin_seq;
  const char *id;              /* C2C: owned by the C2C list; group: the group's, valid during list_done */
  uint32_t no, last_seq, read_seq;
  uint32_t top_seq;            /* the unread count's bound: the newest message stored at the first read */
  int64_t unread;
  uint8_t group, counts_unread;
} row_t;

typedef struct im_conv_again { /* a page; its own `again` handle when its second read waits (conv.h) */
  store_job_t job;
  im_groups_t *G;
  uint32_t app, user;
  int flags;
  int64_t limit;
  im_conv_cursor_t cur;
  c2c_convs_t l;               /* reader: the C2C rows */
  store_grp_conv_t *g;         /* reader: the group member rows */
  size_t ng;
  /* the page */
  im_conv_item_t *items;
  size_t n;
  int complete;
  uint8_t *counts;             /* per item: a group whose type keeps unread counts */
  uint32_t *tops;              /* per item: its row's top_seq */
  int64_t since;               /* the group retention horizon (unread counts; the C2C one is l.since) */
  im_conv_page_cb cb;
  void *ud;
  uint8_t kept;                /* its second read was refused once and kept (IM_CONV_UNREAD_WAIT) */
} clist_t;

static void clist_free(clist_t *j)
{
  for (size_t i = 0; i < j->n; i++) free((char *)j->items[i].id);
  free(j->items);
  free(j->counts);
  free(j->tops);
  c2c__convs_free(&j->l);
  free(j->g);
  free(j);
}

static void finish(clist_t *j, int rc)
{
  im_conv_page_t p = { j->items, j->n, j->complete, j->cur, NULL };
  j->cb(j->ud, rc, rc ? NULL : &p);
  clist_free(j);
}

static void submit(clist_t *j, int (*run)(store_t *, void *), void (*done)(void *, int))
{
  j->job.run = run;
  j->job.done = done;
  j->job.arg = j;
  j->G->in_flight++;
  if (store_reader_submit(j->G->r, &j->job)) done(j, IMC_E_OVERLOADED);
}

/* A pinned item's place among the pins of its second (the pinned cursor): its
 * pin order above its peer number, the order the list sorts them in (the
 * higher pin order first, then the lower key: C2C by peer, then groups by
 * number; pin_cmp). A group's place is its pin order above UINT32_MAX (no
 * peer's number): pinned rows share an order only when they are C2C pins
 * made before migration 38 (order 0) — every later pin takes one above the
 * highest — so a group's order alone names it. A C2C item's place is what
 * it was before groups could be pinned, and a place stays below 2^53 (the
 * integers a JavaScript client keeps exactly) while pin orders stay below
 * 2^21. */
static int64_t place(int64_t pin_seq, int group, int64_t key)
{
  return pin_seq << 32 | (group ? UINT32_MAX : (uint32_t)key);
}

/* Skip the rows of [0, to) already returned by a cursor (key, idx): those
 * with a larger key, then those with an equal key that were returned:
 * pinned, those up to the place idx; the others (in key order within a
 * second), those up to idx. */
static size_t skip(const row_t *cv, size_t to, int pinned, int64_t key, int64_t idx)
{
  size_t i = 0;
  if (!key && !idx) return 0;
  while (i < to && (pinned ? cv[i].pinned_at : cv[i].time) > key) i++;
  if (!pinned) {
    while (i < to && cv[i].time == key && cv[i].key <= idx) i++;
    return i;
  }
  int64_t seq = idx >> 32, at = (uint32_t)idx == UINT32_MAX ? INT64_MAX : (uint32_t)idx; /* a group: its whole order */
  while (i < to && cv[i].pinned_at == key && (cv[i].pin_seq > seq || (cv[i].pin_seq == seq && cv[i].key <= at))) i++;
  return i;
}

/* Pinned rows of both kinds: latest pin first (the pin order within a second), then by key. */
static int pin_cmp(const void *a, const void *b)
{
  const row_t *x = a, *y = b;
  if (x->pinned_at != y->pinned_at) return x->pinned_at > y->pinned_at ? -1 : 1;
  if (x->pin_seq != y->pin_seq) return x->pin_seq > y->pin_seq ? -1 : 1;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* Newest first; one second's in key order. */
static int row_cmp(const void *a, const void *b)
{
  const row_t *x = a, *y = b;
  if (x->time != y->time) return x->time > y->time ? -1 : 1;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* Take rows [start, ...) of one run into the page while room is left; the cursor moves to the last one. */
static int take(clist_t *j, const row_t *r, size_t start, size_t to, int pinned, int64_t *left)
{
  size_t end = start;
  for (; end < to && *left > 0; end++, (*left)--) {
    const row_t *x = &r[end];
    char *id = strdup(x->id);
    if (!id) return IMC_E_NOMEM;
    j->counts[j->n] = x->counts_unread;
    j->tops[j->n] = x->top_seq;
    j->items[j->n++] = (im_conv_item_t){ x->group, id, x->no, x->last_seq, x->time, x->pinned_at, x->pin_seq, pinned,
                                         x->read_seq, x->unread };
  }
  if (end > start) {
    if (pinned) {
      j->cur.pin_s = r[end - 1].pinned_at;
      j->cur.pin_place = place(r[end - 1].pin_seq, r[end - 1].group, r[end - 1].key);
    } else {
      j->cur.time_s = r[end - 1].time;
      j->cur.key = r[end - 1].key;
    }
  }
  if (end < to) j->complete = 0;
  return 0;
}

/* The rows of both kinds, merged, ordered and cut to the page. */
static int make_page(clist_t *j, row_t *rows, size_t n)
{
  int pinned_first = j->flags & IM_CONV_PINNED_FIRST;
  /* A cursor past an empty pinned run (no pinned item returned, an other one returned): every pin was made
   * since, and its conversation either was returned among the others before it was pinned or was not. It is
   * listed where its last message puts it among the others: after the cursor (not yet returned) once, before
   * it never again (messaging-c2c-conversations.md §58). */
  if (pinned_first && !j->cur.pin_s && !j->cur.pin_place && (j->cur.time_s || j->cur.key)) pinned_first = 0;
  size_t np = 0;
  /* the pinned run first (each run is sorted after) */
  if (pinned_first) {
    for (size_t i = 0; i < n; i++)
      if (rows[i].pinned_at) {
        row_t t = rows[i];
        rows[i] = rows[np];
        rows[np++] = t;
      }
  }
  row_t *rest = n ? rows + np : rows; /* rows is NULL when the list is empty (no offset on NULL) */
  size_t nrest = n - np;
  if (np > 1) qsort(rows, np, sizeof *rows, pin_cmp);
  if (nrest > 1) qsort(rest, nrest, sizeof *rest, row_cmp);
  /* every pinned one and the newest `kept` others with a message, of both kinds together (the C2C read kept its
   * own); an empty one (time 0, listed only with IM_CONV_EMPTY) is not counted (messaging-c2c-conversations.md §46) */
  int64_t kept = im_limit(j->G->lim, j->app, IM_LIMIT_RECENT_KEPT), others = 0;
  size_t out = 0;
  for (size_t i = 0; i < nrest; i++) {
    if (!rest[i].pinned_at && rest[i].time && others++ >= kept) continue;
    rest[out++] = rest[i];
  }
  nrest = out;
  /* The pinned run not paged (IM_CONV_PINNED_WHOLE, messaging-c2c-conversations.md §64): the first page holds
   * every pin, whatever the limit, and the others fill what the limit leaves; its pinned cursor names the last
   * pin. A later page lists no pinned run at all: not even a pinned row the first page left out (empty, without
   * IM_CONV_EMPTY) that got a message since, which would sort below that cursor. */
  int whole = pinned_first && (j->flags & IM_CONV_PINNED_WHOLE);
  int first = !j->cur.time_s && !j->cur.key && !j->cur.pin_s && !j->cur.pin_place;
  int64_t left = whole && first && (int64_t)np > j->limit ? (int64_t)np : j->limit;
  size_t cap = (size_t)(left < (int64_t)(np + nrest) ? left : (int64_t)(np + nrest));
  if (cap && (!(j->items = calloc(cap, sizeof *j->items)) || !(j->counts = calloc(cap, 1)) ||
              !(j->tops = calloc(cap, sizeof *j->tops))))
    return IMC_E_NOMEM;
  int rc;
  j->complete = 1;
  size_t pin_from = whole && !first ? np : skip(rows, np, 1, j->cur.pin_s, j->cur.pin_place);
  if (np && (rc = take(j, rows, pin_from, np, 1, &left))) return rc;
  return take(j, rest, skip(rest, nrest, 0, j->cur.time_s, j->cur.key), nrest, 0, &left);
}

/* ---- the unread counts of the page's items (IM_CONV_UNREAD) ------------------------------------- */
static void member_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *m)
{
  (void)app;
  (void)gno;
  im_conv_item_t *it = ud;
  it->read_seq = m->read_seq;
  it->unread = m->msg_flag == 2 ? -1 : 0; /* MsgFlag Discard: no count (run_unread) */
}

static int run_unread(store_t *s, void *arg)
{
  clist_t *j = arg;
  for (size_t i = 0; i < j->n; i++) {
    im_conv_item_t *it = &j->items[i];
    int rc;
    if (!it->group) { /* with oneself: 0 (c2c__convs_read) */
      if (it->no != j->user && j->tops[i] > it->read_seq &&
          (rc = store_msg_unread(s, j->app, store_c2c_conv(j->user, it->no), it->no, it->read_seq, j->tops[i],
                                 j->l.since, &it->unread)))
        return rc;
      continue;
    }
    rc = store_grp_member_get(s, j->app, it->no, j->user, member_row, it);
    if (rc == IMC_E_NOTFOUND) continue; /* left after the page was made: nothing to count */
    if (rc) return rc;
    if (it->unread < 0 || !j->counts[i] || j->tops[i] <= it->read_seq) { it->unread = 0; continue; }
    if ((rc = store_grp_msg_unread(s, j->app, it->no, j->user, it->read_seq, j->tops[i], j->since, &it->unread)))
      return rc;
  }
  return 0;
}

static void done_unread(void *arg, int rc)
{
  clist_t *j = arg;
  j->G->in_flight--;
  /* refused by the reader queue (submit: the job not taken): with IM_CONV_UNREAD_WAIT the page is kept, its rows
   * and bounds as the first read left them, and the caller queues this read again (im_conv_page_again, §124) */
  if (rc == IMC_E_OVERLOADED && (j->flags & IM_CONV_UNREAD_WAIT) && !j->kept) {
    j->kept = 1;
    im_conv_page_t p = { NULL, 0, 0, j->cur, j };
    j->cb(j->ud, rc, &p); /* the caller owns j until im_conv_page_again */
    return;
  }
  finish(j, rc);
}

void im_conv_page_again(im_conv_again_t *again, int rc)
{
  clist_t *j = again;
  assert(j->kept && j->n);
  if (rc) finish(j, rc);
  else submit(j, run_unread, done_unread); /* refused again: done_unread finishes it (kept is set) */
}

/* ---- the list ------------------------------------------------------------------------------------------ */
static int run_list(store_t *s, void *arg)
{
  clist_t *j = arg;
  int rc = c2c__convs_read(s, &j->l);
  return rc ? rc : store_grp_convs(s, j->app, j->user, &j->g, &j->ng);
}

static int listed(const clist_t *j, uint32_t last_seq, int64_t pinned_at)
{
  return last_seq || (j->flags & IM_CONV_EMPTY) || (pinned_at && (j->flags & IM_CONV_EMPTY_PINNED));
}

static void done_list(void *arg, int rc)
{
  clist_t *j = arg;
  j->G->in_flight--;
  row_t *rows = NULL;
  im_gconv_t *gv = NULL;
  size_t n = 0, ng = 0;
  if (!rc && j->l.n + j->ng && !(rows = malloc((j->l.n + j->ng) * sizeof *rows))) rc = IMC_E_NOMEM;
  if (!rc && j->ng && !(gv = malloc(j->ng * sizeof *gv))) rc = IMC_E_NOMEM;
  if (!rc) ng = im_group_conv_rows(j->G, j->app, j->user, j->g, j->ng, gv);
  for (size_t i = 0; !rc && i < j->l.n; i++) {
    const im_conv_t *cv = &j->l.convs[i];
    if (!listed(j, cv->last_seq, cv->pinned_at_s)) continue;
    rows[n++] = (row_t){ cv->last_time_s, cv->pinned_at_s, cv->peer_no, cv->pin_seq, cv->peer_id, cv->peer_no,
                         cv->last_seq, cv->read_seq, cv->top_seq, cv->unread, 0, 0 };
  }
  for (size_t i = 0; !rc && i < ng; i++) {
    if (!listed(j, gv[i].last_seq, gv[i].pinned_at_s)) continue;
    rows[n++] = (row_t){ gv[i].last_time_s, gv[i].pinned_at_s, IM_CONV_GROUP_KEY + gv[i].group_no, gv[i].pin_seq,
                         gv[i].group_id, gv[i].group_no, gv[i].last_seq, 0, gv[i].top_seq, 0, 1,
                         (uint8_t)(gv[i].counts_unread != 0) };
  }
  if (!rc) rc = make_page(j, rows, n);
  free(rows);
  free(gv);
  if (!rc && j->n && (j->flags & IM_CONV_UNREAD)) {
    j->since = im_group_since(j->G, j->app);
    submit(j, run_unread, done_unread);
    return;
  }
  finish(j, rc);
}

void im_conv_page(im_c2c_t *c, im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const im_conv_cursor_t *from,
                  int flags, int64_t limit, im_conv_page_cb cb, void *ud)
{
  clist_t *j = calloc(1, sizeof *j);
  if (!j) { cb(ud, IMC_E_NOMEM, NULL); return; }
  j->G = G;
  j->app = sdkappid;
  j->user = user_no;
  j->flags = flags;
  j->limit = limit > 0 ? limit : 1;
  j->cur = *from;
  j->cb = cb;
  j->ud = ud;
  c2c__convs_init(c, &j->l, sdkappid, user_no, 0, 0);
  j->l.no_unread = 1; /* the page's only, after it (run_unread) */
  j->l.tops = (flags & IM_CONV_UNREAD) != 0; /* their bounds, read with the rows */
  j->l.empty = (flags & IM_CONV_EMPTY) != 0;
  submit(j, run_list, done_list);
}
