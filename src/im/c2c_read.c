/* c2c_read.c — the C2C reads: sync pages, history pages, the conversation
 * list with unread counts. Each is one store job whose run() copies what it
 * reads (the store's strings live only during its callbacks) and whose
 * done() hands the copies to the caller on the loop thread. */
#include "im/c2c_int.h"
#include "store/store_rel.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* ---- a growable array of copied events (each owns its message and peer id) ---- */
typedef struct evbuf {
  im_event_t *evs;
  size_t n, cap;
  int oom;
} evbuf_t;

static void evbuf_add(evbuf_t *b, const im_event_t *ev)
{
  if (b->oom) return;
  if (b->n == b->cap) {
    size_t nc = b->cap ? b->cap * 2 : 32;
    im_event_t *e = realloc(b->evs, nc * sizeof *e);
    if (!e) { b->oom = 1; return; }
    b->evs = e;
    b->cap = nc;
  }
  store_msg_t *m = ev->msg ? c2c__msg_copy(ev->msg) : NULL;
  char *peer = strdup(ev->peer_id ? ev->peer_id : "");
  if ((ev->msg && !m) || !peer) { free(m); free(peer); b->oom = 1; return; }
  b->evs[b->n] = *ev;
  b->evs[b->n].msg = m;
  b->evs[b->n].peer_id = peer;
  b->n++;
}

static void evbuf_free_all(evbuf_t *b)
{
  for (size_t i = 0; i < b->n; i++) {
    free((void *)b->evs[i].msg);
    free((void *)b->evs[i].peer_id);
    free((void *)b->evs[i].payload);
  }
  free(b->evs);
}

/* ---- sync ------------------------------------------------------------------------- */
typedef struct sync_job {
  c2c_job_t base;
  uint32_t app, user, sid, after, max_useq;
  uint32_t rows, last_useq;    /* inbox rows read (kept or skipped) and the last one's useq */
  int limit;
  int cut;                     /* the page stopped at its byte budget: more follow */
  int was_live;                /* the session was live when the page was asked for (a refusal puts it back) */
  size_t bytes, max_bytes;     /* im_page_ev_bytes of the kept events; IM_LIMIT_PAGE_BYTES */
  int64_t since, now;
  evbuf_t buf;
  im_sync_cb cb;
  void *ud;
} sync_job_t;

static void sync_ev(void *ud, const store_inbox_ev_t *e)
{
  sync_job_t *j = ud;
  if (j->cut) return;
  /* MsgLifeTime: a message whose offline lifetime has passed is not
   * delivered by sync (online delivery and history are unchanged); one
   * without its own (IM_LIFE_RETENTION, < 0) goes while retention keeps it */
  int expired = e->kind == STORE_EV_MSG && e->msg && e->msg->life_s > 0 && j->now > e->msg->time_s + e->msg->life_s;
  size_t cost = im_page_ev_bytes(e->msg && !expired ? e->msg->body_len : 0);
  /* the byte budget (the first event always goes): the rest from the cursor on the next page */
  if (!expired && j->buf.n && j->bytes + cost > j->max_bytes) { j->cut = 1; return; }
  j->rows++;
  j->last_useq = e->useq;
  if (expired) return;
  j->bytes += cost;
  im_event_t ev = { (im_ev_kind_t)e->kind, j->app, j->user, e->useq, e->conv, e->seq, e->at_s, e->peer_id, e->msg, NULL };
  evbuf_add(&j->buf, &ev);
}

/* Attach a REL event's payload (the page's events are in useq order, so are
 * the payloads: one forward walk). */
typedef struct rel_walk { evbuf_t *b; size_t at; } rel_walk_t;

static void rel_payload(void *ud, uint32_t useq, const char *payload)
{
  rel_walk_t *w = ud;
  while (w->at < w->b->n && (w->b->evs[w->at].useq < useq || w->b->evs[w->at].kind != IM_EV_REL)) w->at++;
  if (w->at == w->b->n || w->b->evs[w->at].useq != useq || w->b->oom) return;
  if (!(w->b->evs[w->at].payload = strdup(payload))) w->b->oom = 1;
}

/* Give the page's relationship events their push frames; an event whose
 * frame is gone (retention) is left out, like an expired message. */
static int rel_payloads(store_t *s, sync_job_t *j)
{
  evbuf_t *b = &j->buf;
  uint32_t lo = 0, hi = 0;
  for (size_t i = 0; i < b->n; i++)
    if (b->evs[i].kind == IM_EV_REL) { if (!lo) lo = b->evs[i].useq; hi = b->evs[i].useq; }
  if (!lo) return 0;
  rel_walk_t w = { b, 0 };
  int rc = store_rel_event_range(s, j->app, j->user, lo - 1, hi, rel_payload, &w);
  if (rc) return rc;
  if (b->oom) return IMC_E_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < b->n; i++) {
    if (b->evs[i].kind == IM_EV_REL && !b->evs[i].payload) { free((void *)b->evs[i].peer_id); continue; }
    b->evs[k++] = b->evs[i];
  }
  b->n = k;
  return 0;
}

/* Now that relationship events carry their frames, hold the page to its
 * byte budget again counting those frames (sync_ev counted them as fixed
 * size); the events cut go back behind the cursor. */
static void sync_trim(sync_job_t *j)
{
  evbuf_t *b = &j->buf;
  size_t bytes = 0, i;
  for (i = 0; i < b->n; i++) {
    const im_event_t *e = &b->evs[i];
    bytes += im_page_ev_bytes(e->msg ? e->msg->body_len : e->payload ? strlen(e->payload) : 0);
    if (i && bytes > j->max_bytes) break;
  }
  if (i == b->n) return;
  j->cut = 1;
  j->last_useq = b->evs[i - 1].useq;
  for (size_t k = i; k < b->n; k++) {
    free((void *)b->evs[k].msg);
    free((void *)b->evs[k].peer_id);
    free((void *)b->evs[k].payload);
  }
  b->n = i;
}

/* Leave out the events of messages the user cleared (ClearRamble,
 * conv_delete clear): a device syncing from an old cursor must not get the
 * content the user deleted. They stay behind the cursor, as expired ones.
 * One conversation row read per conversation of the page (the last few
 * remembered); every read comes before any event is dropped, so a failed
 * read leaves the page whole for its owner to free. */
static int sync_cleared(store_t *s, sync_job_t *j)
{
  struct { uint64_t conv; uint32_t cleared; } seen[8];
  size_t nseen = 0, next = 0, k = 0;
  evbuf_t *b = &j->buf;
  if (!b->n) return 0;
  uint32_t *cleared = calloc(b->n, sizeof *cleared); /* per event: its conversation's cleared_seq */
  if (!cleared) return IMC_E_NOMEM;
  for (size_t i = 0; i < b->n; i++) {
    const im_event_t *e = &b->evs[i];
    if (e->kind != IM_EV_MSG && e->kind != IM_EV_MODIFY && e->kind != IM_EV_RECALL) continue;
    size_t f = 0;
    while (f < nseen && seen[f].conv != e->conv) f++;
    if (f == nseen) {
      uint32_t hi = (uint32_t)(e->conv >> 32), lo = (uint32_t)e->conv, peer = hi == j->user ? lo : hi;
      store_recent_t r;
      int rc = store_msg_recent_get(s, j->app, j->user, peer, &r);
      if (rc && rc != IMC_E_NOTFOUND) { free(cleared); return rc; }
      f = next;
      next = (next + 1) % (sizeof seen / sizeof seen[0]);
      if (nseen < sizeof seen / sizeof seen[0]) nseen++;
      seen[f].conv = e->conv;
      seen[f].cleared = rc ? 0 : r.cleared_seq;
    }
    cleared[i] = seen[f].cleared;
  }
  for (size_t i = 0; i < b->n; i++) {
    im_event_t *e = &b->evs[i];
    if (cleared[i] && e->seq <= cleared[i]) { /* 0: not about a message, or nothing cleared */
      free((void *)e->msg);
      free((void *)e->peer_id);
      free((void *)e->payload);
      continue;
    }
    b->evs[k++] = *e;
  }
  free(cleared);
  b->n = k;
  return 0;
}

static int sync_run(store_t *s, c2c_job_t *jj)
{
  sync_job_t *j = (sync_job_t *)jj;
  int rc = store_msg_inbox_page(s, j->app, j->user, j->after, j->limit, j->since, sync_ev, j, &j->max_useq);
  if (rc) return rc;
  if (j->buf.oom) return IMC_E_NOMEM;
  if ((rc = rel_payloads(s, j)) || (rc = sync_cleared(s, j))) return rc;
  sync_trim(j);
  return j->after > j->max_useq ? IMC_E_INVAL : 0;
}

static void sync_done(c2c_job_t *jj, int rc)
{
  sync_job_t *j = (sync_job_t *)jj;
  im_c2c_t *c = jj->c;
  /* the last useq committed for the user while this page was read (0: none) */
  uint32_t seen = c2c__committed_get(c, j->app, j->user);
  im_session_t *s = im_presence_find(c->p, j->app, j->user, j->sid);
  if (s) s->sync_busy = 0;
  c2c__committed_done(c, j->app, j->user); /* kept only for another page of the user in flight */
  if (!s) { j->cb(j->ud, rc, NULL, NULL); goto out; }
  if (rc) {
    /* a refused page changes nothing: a session that was live goes on receiving pushes, unless an event
     * of the user committed while it was quiet (pushed to nobody here): then it stays quiet, and the
     * next sync that completes brings it (docs/protocol.md "sync") */
    if (j->was_live && seen <= s->cursor) s->live = 1;
    j->cb(j->ud, rc, s, NULL);
    goto out;
  }
  im_sync_page_t page = { j->buf.evs, j->buf.n, j->after, 0 };
  if (j->cut || j->rows == (uint32_t)j->limit) {
    page.cursor = j->last_useq; /* a full page (expired messages skipped) or its byte budget: more may follow */
  } else {
    /* the read reached the user's last event at that moment; events it
     * skipped (past retention) are behind the cursor too; a commit that
     * landed after the read means this is not the end yet */
    page.cursor = j->max_useq > j->after ? j->max_useq : j->after;
    page.complete = seen <= page.cursor;
  }
  if (page.complete) { s->live = 1; s->cursor = page.cursor; }
  j->cb(j->ud, 0, s, &page);
out:
  evbuf_free_all(&j->buf);
  free(j);
}

int im_c2c_sync(im_c2c_t *c, im_session_t *s, uint32_t cursor, int limit, im_sync_cb cb, void *ud)
{
  if (s->sync_busy) return IMC_E_BUSY;
  int64_t max = im_limit(c->lim, s->sdkappid, IM_LIMIT_SYNC_PAGE);
  sync_job_t *j = calloc(1, sizeof *j);
  if (!j) return IMC_E_NOMEM;
  j->app = s->sdkappid;
  j->user = s->user_no;
  j->sid = s->sid;
  j->after = cursor;
  j->limit = (int)(limit > 0 && limit < max ? limit : max);
  j->max_bytes = (size_t)im_limit(c->lim, s->sdkappid, IM_LIMIT_PAGE_BYTES);
  j->now = imc_clock_now_s();
  j->since = c2c__since(c, s->sdkappid, j->now);
  j->cb = cb;
  j->ud = ud;
  j->base.run = sync_run;
  j->base.done = sync_done;
  j->was_live = s->live;
  s->live = 0;     /* quiet until a page completes: no push can overtake the pages */
  s->sync_busy = 1;
  c2c__submit(c, &j->base, 1);
  return 0;
}

/* ---- history ------------------------------------------------------------------------ */
typedef struct hist_job {
  c2c_job_t base;
  uint32_t app, user, peer, before, peer_read;
  int64_t min_t, max_t;
  int64_t since;               /* the app's retention floor (c2c__since) */
  int limit;
  int has_key, k_bad;          /* a LastMsgKey was given; it did not parse (IMC_E_MSG_KEY) */
  uint32_t k_cseq, k_random;   /* that key, parsed whole when the job is made */
  int64_t k_time;
  store_msg_t **msgs;
  size_t n, cap;
  int oom;
  int cut;                     /* the page stopped at its byte budget: not complete */
  size_t bytes, max_bytes;     /* im_page_ev_bytes of the kept messages; IM_LIMIT_PAGE_BYTES */
  int keyed;                   /* continued by LastMsgKey (REST): see hist_page_end */
  size_t page;                 /* messages of the page (hist_page_end); the rest of msgs[] are not sent */
  int more;                    /* something older is left: Complete 0 */
  im_msgs_cb cb;
  void *ud;
} hist_job_t;

/* Append a copy of m to the page (j->oom on failure). */
static void hist_keep(hist_job_t *j, const store_msg_t *m)
{
  if (j->n == j->cap) {
    size_t nc = j->cap ? j->cap * 2 : 16;
    store_msg_t **a = realloc(j->msgs, nc * sizeof *a);
    if (!a) { j->oom = 1; return; }
    j->msgs = a;
    j->cap = nc;
  }
  if (!(j->msgs[j->n] = c2c__msg_copy(m))) { j->oom = 1; return; }
  j->n++;
}

static void hist_msg(void *ud, const store_msg_t *m)
{
  hist_job_t *j = ud;
  if (j->oom || j->cut) return;
  size_t cost = im_page_ev_bytes(m->body_len);
  if (j->n && j->bytes + cost > j->max_bytes) { j->cut = 1; return; } /* the byte budget; the first always goes */
  j->bytes += cost;
  hist_keep(j, m);
}

static void key_seq(void *ud, const store_msg_t *m) { *(uint32_t *)ud = m->seq; }

/* *yes: m is the oldest message of its MsgKey in the conversation (any
 * sender, seen or not), the one a LastMsgKey continues below
 * (store_msg_find_key answers the oldest). */
static int oldest_of_key(store_t *s, hist_job_t *j, uint64_t conv, const store_msg_t *m, int *yes)
{
  uint32_t seq = 0;
  int rc = store_msg_find_key(s, j->app, conv, m->cseq, m->random, m->time_s, key_seq, &seq);
  if (rc && rc != IMC_E_NOTFOUND) return rc;
  *yes = !seq || seq >= m->seq;
  return 0;
}

static void ext_msg(void *ud, const store_msg_t *m)
{
  hist_job_t *j = ud;
  if (!j->oom) hist_keep(j, m);
}

/* Where a REST page ends (keyed). Two users may send the same MsgKey (the
 * same MsgSeq and MsgRandom in one second), and a LastMsgKey continues
 * below the oldest message of that key: a page ending at a newer one would
 * make the next page skip everything down to the oldest. So the page ends
 * at its last message that is the oldest of its key; when none is, older
 * messages join the page until one is (messages of one key share their
 * second, so this ends within it; at most 64 rounds of 16). */
static int hist_page_end(store_t *s, hist_job_t *j, uint64_t conv, uint32_t after)
{
  size_t lim = (size_t)j->limit;
  int rc, yes = 0;
  j->page = j->n < lim ? j->n : lim;
  j->more = j->cut || j->n > lim;
  if (!j->keyed || !j->more || !j->page) return 0;
  for (size_t e = j->page; e > 0; e--) {
    if ((rc = oldest_of_key(s, j, conv, j->msgs[e - 1], &yes))) return rc;
    if (yes) { j->page = e; return 0; }
  }
  for (size_t i = 1; i < j->n; i++) free(j->msgs[i]); /* none is: from the first message on */
  j->n = 1;
  for (int rounds = 0; !yes && rounds < 64; rounds++) {
    size_t from = j->n;
    const store_msg_t *last = j->msgs[j->n - 1];
    rc = store_msg_roam(s, j->app, conv, j->user, after, j->min_t, j->max_t, last->time_s, last->seq, 16, ext_msg, j);
    if (rc) return rc;
    if (j->oom) return IMC_E_NOMEM;
    size_t got = j->n - from, e = from;
    for (; e < j->n && !yes; e++)
      if ((rc = oldest_of_key(s, j, conv, j->msgs[e], &yes))) return rc;
    for (size_t i = e; i < j->n; i++) free(j->msgs[i]); /* past the one that is */
    if (yes) {
      j->n = e;
      j->more = e < from + got || got == 16; /* what was read past it, or a full round: maybe more */
    } else if (got < 16) {
      j->more = 0; /* the oldest reached */
      break;
    }
  }
  j->page = j->n;
  return 0;
}

static int hist_run(store_t *s, c2c_job_t *jj)
{
  hist_job_t *j = (hist_job_t *)jj;
  uint64_t conv = store_c2c_conv(j->user, j->peer);
  store_recent_t r;
  int rc = store_msg_recent_get(s, j->app, j->user, j->peer, &r);
  if (rc == IMC_E_NOTFOUND) r.cleared_seq = 0;
  else if (rc) return rc;
  store_recent_t pr;
  rc = store_msg_recent_get(s, j->app, j->peer, j->user, &pr);
  if (rc && rc != IMC_E_NOTFOUND) return rc;
  j->peer_read = rc ? 0 : pr.read_seq;
  int64_t below_t = INT64_MAX; /* keyed: the cursor (time, seq) of the page before, none on the first */
  uint32_t below_seq = 0;
  if (j->has_key) {
    uint32_t seq = 0;
    if (j->k_bad) return IMC_E_MSG_KEY;
    rc = store_msg_find_key(s, j->app, conv, j->k_cseq, j->k_random, j->k_time, key_seq, &seq);
    /* a key older than the retention names a message the purge may have removed already: nothing is below it
     * either way, so the walk ends (Complete 1), whether or not the purge ran (§92) */
    if (rc == IMC_E_NOTFOUND && j->k_time < j->since) return 0;
    if (rc == IMC_E_NOTFOUND) return IMC_E_MSG_KEY;
    if (rc) return rc;
    below_t = j->k_time;
    below_seq = seq;
  }
  /* REST (keyed) pages go by time, newest first, an imported message at its time; WebSocket pages by seq
   * (messaging-c2c-imports.md §34) */
  if (j->keyed)
    rc = store_msg_roam(s, j->app, conv, j->user, r.cleared_seq, j->min_t, j->max_t, below_t, below_seq, j->limit + 1,
                        hist_msg, j);
  else
    rc = store_msg_history_seen(s, j->app, conv, j->user, j->before, r.cleared_seq, j->min_t, j->max_t, j->limit + 1,
                                hist_msg, j);
  if (!rc && j->oom) rc = IMC_E_NOMEM;
  return rc ? rc : hist_page_end(s, j, conv, r.cleared_seq);
}

static void hist_done(c2c_job_t *jj, int rc)
{
  hist_job_t *j = (hist_job_t *)jj;
  im_msg_list_t l = { NULL, 0, 1, j->peer_read };
  store_msg_t *arr = NULL;
  if (!rc) {
    l.complete = !j->more;
    l.n = j->page;
    if (l.n && !(arr = malloc(l.n * sizeof *arr))) rc = IMC_E_NOMEM;
    for (size_t i = 0; arr && i < l.n; i++) arr[i] = *j->msgs[i];
    l.msgs = arr;
  }
  j->cb(j->ud, rc, rc ? NULL : &l);
  free(arr);
  for (size_t i = 0; i < j->n; i++) free(j->msgs[i]);
  free(j->msgs);
  free(j);
}

void im_c2c_history(im_c2c_t *c, uint32_t app, uint32_t user, uint32_t peer, uint32_t before_seq, int64_t min_t,
                    int64_t max_t, const char *last_key, int keyed, int limit, im_msgs_cb cb, void *ud)
{
  hist_job_t *j = calloc(1, sizeof *j);
  if (!j) { cb(ud, IMC_E_NOMEM, NULL); return; }
  int64_t since = c2c__since(c, app, imc_clock_now_s());
  j->app = app;
  j->user = user;
  j->peer = peer;
  j->before = before_seq;
  j->since = since;
  j->min_t = min_t > since ? min_t : since;
  j->max_t = max_t > 0 ? max_t : INT64_MAX;
  j->limit = limit > 0 ? limit : 1;
  j->max_bytes = (size_t)im_limit(c->lim, app, IM_LIMIT_PAGE_BYTES);
  if (last_key && last_key[0]) { /* parsed whole: a copy into a fixed buffer cut a key padded with zeros */
    j->has_key = 1;
    j->k_bad = im_msg_key_parse(last_key, &j->k_cseq, &j->k_random, &j->k_time) != 0;
  }
  j->keyed = keyed;
  j->cb = cb;
  j->ud = ud;
  j->base.run = hist_run;
  j->base.done = hist_done;
  c2c__submit(c, &j->base, 1);
}

/* ---- conversations --------------------------------------------------------------------- */
typedef struct conv_job {
  c2c_job_t base;
  c2c_convs_t l;
  im_convs_cb cb;
  void *ud;
} conv_job_t;

static void conv_row(void *ud, const store_recent_t *r)
{
  c2c_convs_t *j = ud;
  if (j->oom || (j->peer && r->peer_no != j->peer)) return;
  if (!r->peer_id || !r->peer_id[0]) return; /* the peer's account was deleted: a conversation no call could name (it showed as "") */
  /* a deleted conversation is not listed; unread counts (unlisted) count its
   * messages since the delete, which only NoLastMsg ones can be (and once a
   * listed message shows it again, still only those since the delete) */
  /* a delete unpins; a pin after it brings the conversation back (it was pinned, counted in the 50, and
   * shown nowhere) */
  int hidden = r->hidden_seq && r->last_seq <= r->hidden_seq && !r->pinned_at_s;
  /* a last message past the retention, or covered by the purge floor (which every read takes too, §40: a
   * longer retention bought after a pass does not show it again), is no message: the conversation is empty,
   * as a group's (docs/decisions/messaging-c2c-storage.md §46, §47): listed when pinned, or among the empty
   * ones (j->empty); the unread counts (unlisted) keep every row as it is */
  int expired = !j->unlisted && r->last_seq && (r->last_time_s < j->since || r->last_covered);
  if (hidden && !j->unlisted) return;
  if (!j->unlisted && !r->pinned_at_s && (!r->last_seq || expired) && !(expired && j->empty)) return;
  if (j->n == j->cap) {
    size_t nc = j->cap ? j->cap * 2 : 16;
    im_conv_t *a = realloc(j->convs, nc * sizeof *a);
    if (a) j->convs = a;
    char **ids = a ? realloc(j->ids, nc * sizeof *ids) : NULL;
    if (ids) j->ids = ids;
    if (!a || !ids) { j->oom = 1; return; }
    j->cap = nc;
  }
  if (!(j->ids[j->nids] = strdup(r->peer_id ? r->peer_id : ""))) { j->oom = 1; return; }
  /* unread counts what came after the read position, the clear and the delete: a conversation a
   * message brought back after a delete counts only what came since the delete */
  uint32_t read = r->read_seq > r->cleared_seq ? r->read_seq : r->cleared_seq;
  if (r->hidden_seq > read) read = r->hidden_seq;
  /* a hidden row takes no list's place (last_seq 0: conv_run's cap skips it) */
  j->convs[j->n] = (im_conv_t){ r->peer_no, j->ids[j->nids++], hidden || expired ? 0 : r->last_seq,
                                expired ? 0 : r->last_time_s, read, 0, hidden ? 0 : r->pinned_at_s,
                                hidden ? 0 : r->pin_seq, 0 };
  j->n++;
}

static int conv_cmp(const void *a, const void *b)
{
  const im_conv_t *x = a, *y = b;
  if ((x->pinned_at_s != 0) != (y->pinned_at_s != 0)) return x->pinned_at_s ? -1 : 1;
  if (x->pinned_at_s != y->pinned_at_s) return x->pinned_at_s > y->pinned_at_s ? -1 : 1;
  if (x->pin_seq != y->pin_seq) return x->pin_seq > y->pin_seq ? -1 : 1; /* pins of one second: latest first */
  /* pinned rows of one second and pin order (0: pinned before migration 38) go by peer: the REST pinned cursor
   * names a row by (second, pin order, peer) */
  if (!x->pinned_at_s && x->last_time_s != y->last_time_s) return x->last_time_s > y->last_time_s ? -1 : 1;
  return x->peer_no < y->peer_no ? -1 : x->peer_no > y->peer_no;
}

static void top_seq(void *ud, const store_msg_t *m) { *(uint32_t *)ud = m->seq; }

int c2c__convs_read(store_t *s, c2c_convs_t *j)
{
  int rc = store_msg_recent_list(s, j->app, j->user, conv_row, j);
  if (rc) return rc;
  if (j->oom) return IMC_E_NOMEM;
  if (j->n > 1) qsort(j->convs, j->n, sizeof *j->convs, conv_cmp); /* convs is NULL when there are none */
  /* keep every pinned conversation and the `kept` most recent others */
  size_t out = 0;
  int64_t others = 0;
  for (size_t i = 0; i < j->n; i++) {
    /* rows no list shows (unlisted: only NoLastMsg messages) do not take a list's place */
    if (!j->convs[i].pinned_at_s && j->convs[i].last_seq && others++ >= j->kept) continue;
    j->convs[out++] = j->convs[i];
  }
  j->n = out; /* the ids array still owns every string */
  for (size_t i = 0; i < j->n; i++) {
    im_conv_t *cv = &j->convs[i];
    /* the conversation with oneself holds only the user's own messages: none is unread (as a group's
     * unread count leaves the user's own out), so all are read: read_seq is its last seq */
    if (cv->peer_no == j->user) {
      if (cv->last_seq > cv->read_seq) cv->read_seq = cv->last_seq;
      cv->unread = 0;
      continue;
    }
    /* the newest message stored now, whatever it is: a later count stops there (conv_list.c) */
    if (j->tops && (rc = store_msg_history(s, j->app, store_c2c_conv(j->user, cv->peer_no), 0, 0, 0, INT64_MAX, 1,
                                           top_seq, &cv->top_seq)))
      return rc;
    if (j->no_unread) continue; /* unread 0 (conv_row) */
    rc = store_msg_unread(s, j->app, store_c2c_conv(j->user, cv->peer_no), cv->peer_no, cv->read_seq, UINT32_MAX, j->since,
                          &cv->unread);
    if (rc) return rc;
  }
  return 0;
}

static int conv_run(store_t *s, c2c_job_t *jj) { return c2c__convs_read(s, &((conv_job_t *)jj)->l); }

void c2c__convs_free(c2c_convs_t *l)
{
  for (size_t i = 0; i < l->nids; i++) free(l->ids[i]);
  free(l->ids);
  free(l->convs);
}

static void conv_done(c2c_job_t *jj, int rc)
{
  conv_job_t *j = (conv_job_t *)jj;
  im_conv_list_t l = { j->l.convs, j->l.n };
  j->cb(j->ud, rc, rc ? NULL : &l);
  c2c__convs_free(&j->l);
  free(j);
}

void c2c__convs_init(im_c2c_t *c, c2c_convs_t *l, uint32_t app, uint32_t user, uint32_t peer, int unlisted)
{
  *l = (c2c_convs_t){ .app = app, .user = user, .peer = peer, .unlisted = unlisted };
  l->since = c2c__since(c, app, imc_clock_now_s());
  l->kept = im_limit(c->lim, app, IM_LIMIT_RECENT_KEPT);
}

void im_c2c_conversations(im_c2c_t *c, uint32_t app, uint32_t user, uint32_t peer, int unlisted, im_convs_cb cb,
                          void *ud)
{
  conv_job_t *j = calloc(1, sizeof *j);
  if (!j) { cb(ud, IMC_E_NOMEM, NULL); return; }
  c2c__convs_init(c, &j->l, app, user, peer, unlisted);
  j->cb = cb;
  j->ud = ud;
  j->base.run = conv_run;
  j->base.done = conv_done;
  c2c__submit(c, &j->base, 1);
}
