/* c2c.c — the C2C core's state, delivery and send (see c2c.h).
 *
 * Invariants: done() callbacks run in commit order, so each user's events
 * reach c2c__deliver in useq order. A live session's cursor is the last
 * useq it was handed (by push, by the send reply, or by the sync page that
 * made it live).
 *
 * c->committed[user] (the last committed useq) exists only while one of the
 * user's sessions has a sync page being read: it tells that page's done()
 * whether a commit landed after the read (then the page is not the end).
 * A sync page submitted later sees those commits itself, so nothing else
 * needs the value and it is re-derived from the store (the page's max
 * useq) by every page that reaches the end. Entries are dropped when that
 * page completes, when a commit finds no page in flight, and when the
 * user's last session ends: the map holds at most one entry per session
 * with a page in flight (healthz: c2c.committed_users).
 */
#include "im/c2c_int.h"
#include "meter/meter.h"
#include "util/clock.h"
#include "util/err.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t ukey(uint32_t app, uint32_t user) { return (uint64_t)app << 32 | user; }

int im_c2c_create(store_writer_t *w, store_reader_t *r, im_presence_t *p, const im_limits_t *lim,
                  const im_c2c_hooks_t *h, im_c2c_t **out)
{
  im_c2c_t *c = calloc(1, sizeof *c);
  if (!c) return IMC_E_NOMEM;
  c->w = w;
  c->r = r;
  c->p = p;
  c->lim = lim;
  c->h = *h;
  u64map_init(&c->committed);
  u64map_init(&c->floor);
  c->rng = (uint64_t)imc_clock_mono_ms() * 0x9E3779B97F4A7C15ULL | 1;
  *out = c;
  return 0;
}

void im_c2c_free(im_c2c_t *c)
{
  if (!c) return;
  u64map_free(&c->committed);
  u64map_free(&c->floor);
  free(c);
  c2c__send_pool_drain();
}

size_t im_c2c_in_flight(const im_c2c_t *c) { return c->in_flight; }

void im_c2c_stop(im_c2c_t *c) { c->stopping = 1; }

/* ---- jobs ---------------------------------------------------------------------- */
static int job_run(store_t *s, void *arg)
{
  c2c_job_t *j = arg;
  return j->run(s, j);
}

static void job_done(void *arg, int rc)
{
  c2c_job_t *j = arg;
  j->c->in_flight--;
  j->done(j, rc);
}

void c2c__submit(im_c2c_t *c, c2c_job_t *j, int readonly)
{
  j->c = c;
  j->job.run = job_run;
  j->job.done = job_done;
  j->job.arg = j;
  c->in_flight++;
  int rc = readonly ? store_reader_submit(c->r, &j->job) : store_writer_submit(c->w, &j->job);
  if (rc) job_done(j, rc); /* queue full: the caller answers "busy, retry" (60018) */
}

/* 1 if a session of the list (a user's, from im_presence_first) has a sync page being read. */
static int syncing_in(const im_session_t *s)
{
  for (; s; s = s->next)
    if (s->sync_busy) return 1;
  return 0;
}

static int syncing(const im_c2c_t *c, uint32_t app, uint32_t user)
{
  return syncing_in(im_presence_first(c->p, app, user));
}

/* Record that a user's inbox reached useq (committed), for a sync page of
 * the user being read; sessions: the user's, from im_presence_first. */
static void committed_in(im_c2c_t *c, const im_session_t *sessions, uint32_t app, uint32_t user, uint32_t useq)
{
  if (!useq) return;
  if (!syncing_in(sessions)) { /* nobody needs it (the map is empty unless a page is being read) */
    if (c->committed.len) u64map_del(&c->committed, ukey(app, user));
    return;
  }
  uintptr_t cur = (uintptr_t)u64map_get(&c->committed, ukey(app, user));
  if (useq > cur) u64map_put(&c->committed, ukey(app, user), (void *)(uintptr_t)useq); /* OOM: a commit racing the
    page may go unseen; the device gets it at its next sync */
}

uint32_t c2c__committed_get(const im_c2c_t *c, uint32_t app, uint32_t user)
{
  return (uint32_t)(uintptr_t)u64map_get(&c->committed, ukey(app, user));
}

void c2c__committed_done(im_c2c_t *c, uint32_t app, uint32_t user)
{
  if (!syncing(c, app, user)) u64map_del(&c->committed, ukey(app, user));
}

void im_c2c_session_gone(im_c2c_t *c, uint32_t app, uint32_t user)
{
  if (user) c2c__committed_done(c, app, user);
}

size_t im_c2c_committed_users(const im_c2c_t *c) { return c->committed.len; }

int64_t c2c__since(const im_c2c_t *c, uint32_t app, int64_t now_s)
{
  /* the purge floor is not taken here: it covers only the messages stored when its pass began, which the
   * store's reads leave out themselves (sqlite_msg_int.h FLOOR_SHOWS); a message imported since, however
   * old, is judged by the retention in force (messaging-c2c-retention.md §40) */
  return now_s - im_limit(c->lim, app, IM_LIMIT_RETENTION_S);
}

int64_t c2c__floor(const im_c2c_t *c, uint32_t app)
{
  void *v = u64map_get(&c->floor, app);
  return v ? (int64_t)(intptr_t)v : INT64_MIN;
}

int c2c__floor_raise(im_c2c_t *c, uint32_t app, int64_t before_s, int64_t now_s)
{
  int64_t floor = (int64_t)(intptr_t)u64map_get(&c->floor, app);
  if (now_s && floor > now_s) { /* the clock stepped back past it: the pass's horizon replaces it */
    if (before_s > 0) return u64map_put(&c->floor, app, (void *)(intptr_t)before_s);
    u64map_del(&c->floor, app);
    return 0;
  }
  if (before_s <= floor) return 0;
  return u64map_put(&c->floor, app, (void *)(intptr_t)before_s);
}

int im_c2c_floor_set(im_c2c_t *c, uint32_t sdkappid, int64_t before_s)
{
  return c2c__floor_raise(c, sdkappid, before_s, 0);
}

/* A live session that was due a stored event it cannot get (its frame could not be made or queued): pushing it the
 * next events would hand the device a gap, so it stops being live and its connection is cut; the device's
 * next sync (from its own cursor, after it reconnects) fills the gap, as after a slow consumer's close. */
static void miss(im_c2c_t *c, im_session_t *s)
{
  s->live = 0;
  if (c->h.cut) c->h.cut(c->h.ud, s);
}

/* c2c__deliver to the sessions of a list (ev->user_no's, from im_presence_first). The frame is encoded
 * once, for the first session that needs it; if that fails (out of memory), a lossy event (no useq) is lost
 * for every session, and a stored one is missed (miss) by each session that was due it, never silently by
 * some only; so is it by a session whose connection could not queue it. */
static void deliver_in(im_c2c_t *c, im_session_t *sessions, const im_event_t *ev, uint32_t except_sid)
{
  void *frame = NULL;
  int failed = 0;
  for (im_session_t *s = sessions; s; s = s->next) {
    if (!s->live) continue;
    if (ev->useq) {
      if (ev->useq <= s->cursor) continue; /* the device got it from the sync page that made it live */
      s->cursor = ev->useq;
    }
    if (s->sid == except_sid) continue;
    /* lossy: typing and online-only messages (never stored) skip a connection that is behind (c2c.h); the
     * frame's bound: a notice is under 128 bytes, a message's push its packed message and a few hundred */
    if ((ev->kind == IM_EV_TYPING || ev->kind == IM_EV_ONLINE_MSG) && c->h.backlogged &&
        c->h.backlogged(c->h.ud, s, ev->kind == IM_EV_TYPING ? 128 : ev->msg->body_len + 1024))
      continue;
    if (!frame && !failed && !(frame = c->h.encode(c->h.ud, ev))) failed = 1;
    if ((!frame || c->h.send(c->h.ud, s, frame) == IMC_E_NOMEM) && ev->useq) miss(c, s);
  }
  if (frame) c->h.release(c->h.ud, frame);
}

void c2c__deliver(im_c2c_t *c, const im_event_t *ev, uint32_t except_sid)
{
  deliver_in(c, im_presence_first(c->p, ev->sdkappid, ev->user_no), ev, except_sid);
}

void c2c__publish(im_c2c_t *c, const im_event_t *ev, uint32_t except_sid)
{
  im_session_t *sessions = im_presence_first(c->p, ev->sdkappid, ev->user_no); /* one lookup for both steps */
  committed_in(c, sessions, ev->sdkappid, ev->user_no, ev->useq);
  deliver_in(c, sessions, ev, except_sid);
}

store_msg_t *c2c__msg_copy(const store_msg_t *m)
{
  size_t fl = strlen(m->from_id ? m->from_id : "") + 1, tl = strlen(m->to_id ? m->to_id : "") + 1;
  store_msg_t *r = malloc(sizeof *r + m->body_len + 1 + fl + tl);
  if (!r) return NULL;
  *r = *m;
  char *p = (char *)(r + 1);
  memcpy(p, m->body, m->body_len);
  p[m->body_len] = 0;
  r->body = p;
  p += m->body_len + 1;
  memcpy(p, m->from_id ? m->from_id : "", fl);
  r->from_id = p;
  p += fl;
  memcpy(p, m->to_id ? m->to_id : "", tl);
  r->to_id = p;
  return r;
}

/* ---- MsgKey ------------------------------------------------------------------------ */
void im_msg_key(uint32_t cseq, uint32_t random, int64_t time_s, char *buf, size_t cap)
{
  snprintf(buf, cap, "%" PRIu32 "_%" PRIu32 "_%" PRId64, cseq, random, time_s);
}

static int parse_u(const char **p, uint64_t max, uint64_t *out)
{
  const char *s = *p;
  uint64_t v = 0;
  if (*s < '0' || *s > '9') return -1;
  for (; *s >= '0' && *s <= '9'; s++) {
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > max) return -1;
  }
  *p = s;
  *out = v;
  return 0;
}

int im_msg_key_parse(const char *key, uint32_t *cseq, uint32_t *random, int64_t *time_s)
{
  uint64_t a, b, t;
  const char *p = key;
  if (!p || parse_u(&p, UINT32_MAX, &a) || *p++ != '_' || parse_u(&p, UINT32_MAX, &b) || *p++ != '_' ||
      parse_u(&p, INT64_MAX / 2, &t) || *p)
    return IMC_E_MSG_KEY;
  *cseq = (uint32_t)a;
  *random = (uint32_t)b;
  *time_s = (int64_t)t;
  return 0;
}

/* ---- send ---------------------------------------------------------------------------- */
typedef struct send_job {
  c2c_job_t base;
  im_send_t in;
  store_msg_append_t a;
  im_sent_cb cb;
  void *ud;
  int online;          /* online-only: the job only names the sender */
  int32_t day;         /* billing day the stored message is counted in (0: not metered) */
} send_job_t;

static void send_online(im_c2c_t *c, im_send_t *in, int64_t now, im_sent_cb cb, void *ud);

/* Send jobs freed on the loop thread, kept for the next sends (one per
 * message): linked through base.c, at most SEND_POOL_MAX (416 bytes each),
 * released by im_c2c_free. Per thread: c2c state is the loop thread's. */
/* 16,384: about the messages in flight at saturation (see FRAME_POOL_MAX,
 * src/net/ws.c); kept after such a burst: at most 6.5 MiB. */
#define SEND_POOL_MAX 16384
static __thread struct { send_job_t *head; unsigned n; } send_pool;

/* A zeroed send job, or NULL (out of memory). */
static send_job_t *send_job_new(void)
{
  send_job_t *j = send_pool.head;
  if (!j) return calloc(1, sizeof *j);
  send_pool.head = (send_job_t *)(void *)j->base.c;
  send_pool.n--;
  memset(j, 0, sizeof *j);
  return j;
}

static void send_job_free(send_job_t *j)
{
  if (send_pool.n >= SEND_POOL_MAX) { free(j); return; }
  j->base.c = (im_c2c_t *)(void *)send_pool.head;
  send_pool.head = j;
  send_pool.n++;
}

void c2c__send_pool_drain(void)
{
  while (send_pool.head) {
    send_job_t *j = send_pool.head;
    send_pool.head = (send_job_t *)(void *)j->base.c;
    free(j);
  }
  send_pool.n = 0;
}

static int send_run(store_t *s, c2c_job_t *jj)
{
  send_job_t *j = (send_job_t *)jj;
  int rc;
  /* a device knows its user by number only: name the sender for the pushes */
  if (!j->in.from_id[0] &&
      (rc = store_msg_account_id(s, j->in.sdkappid, j->in.from_no, j->in.from_id, sizeof j->in.from_id)))
    return rc;
  if (j->online) return 0;
  if ((rc = store_msg_append(s, &j->a)) || j->a.dup || !j->day) return rc;
  /* docs/metering.md: c2c_msgs; summed per batch and written with its COMMIT (store.h) */
  return store_usage_add_at_commit(s, j->in.sdkappid, j->day, METER_M_C2C_MSGS, 1);
}

static void send_done(c2c_job_t *jj, int rc)
{
  send_job_t *j = (send_job_t *)jj;
  im_c2c_t *c = jj->c;
  if (j->online) {
    if (rc) { free(j->in.body); j->cb(j->ud, rc, NULL); }
    else send_online(c, &j->in, j->a.m.time_s, j->cb, j->ud);
    send_job_free(j);
    return;
  }
  store_msg_t m = j->a.m;
  im_sent_t r = { j->a.dup, m.seq, j->a.useq_from, m.time_s, m.cseq, m.random };
  if (!rc && !j->a.dup) {
    m.from_id = j->in.from_id;
    m.to_id = j->in.to_id;
    im_event_t ev = { IM_EV_MSG, m.sdkappid, m.to_no, j->a.useq_to, m.conv, m.seq, m.time_s, j->in.from_id, &m, NULL };
    if (j->a.useq_to) c2c__publish(c, &ev, 0);
    if (j->a.useq_from) {
      ev.user_no = m.from_no;
      ev.useq = j->a.useq_from;
      ev.peer_id = j->in.to_id;
      c2c__publish(c, &ev, j->in.from_sid);
    }
  }
  if (rc) r = (im_sent_t){ 0 };
  j->cb(j->ud, rc, &r);
  free(j->in.body);
  send_job_free(j);
}

static uint32_t rand32(im_c2c_t *c)
{
  c->rng ^= c->rng >> 12;
  c->rng ^= c->rng << 25;
  c->rng ^= c->rng >> 27;
  return (uint32_t)((c->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static void send_online(im_c2c_t *c, im_send_t *in, int64_t now, im_sent_cb cb, void *ud)
{
  store_msg_t m = { in->sdkappid, store_c2c_conv(in->from_no, in->to_no), 0, in->from_no, in->to_no, now, in->cseq,
                    in->random, in->flags, 0, in->body, in->body_len, in->from_id, in->to_id };
  im_event_t ev = { IM_EV_ONLINE_MSG, in->sdkappid, in->to_no, 0, m.conv, 0, now, in->from_id, &m, NULL };
  c2c__deliver(c, &ev, in->to_no == in->from_no ? in->from_sid : 0); /* the sending device has the reply */
  if (in->sync_other == IM_SYNC_YES && in->to_no != in->from_no) {
    ev.user_no = in->from_no;
    ev.peer_id = in->to_id;
    c2c__deliver(c, &ev, in->from_sid);
  }
  im_sent_t r = { 0, 0, 0, now, in->cseq, in->random };
  cb(ud, 0, &r);
  free(in->body);
}

void im_c2c_send(im_c2c_t *c, im_send_t *in, im_sent_cb cb, void *ud)
{
  int64_t now = imc_clock_now_s();
  assert(in->from_no && in->to_no && in->body);
  int online = !in->import_mode && in->life_s == 0;
  if (online && in->from_id[0]) { send_online(c, in, now, cb, ud); return; }
  send_job_t *j = send_job_new();
  if (!j) { free(in->body); cb(ud, IMC_E_NOMEM, NULL); return; }
  j->in = *in;
  j->cb = cb;
  j->ud = ud;
  j->online = online;
  if (!online && !in->import_mode && c->h.day_of) j->day = c->h.day_of(c->h.ud, in->sdkappid, now);
  store_msg_append_t *a = &j->a;
  a->m = (store_msg_t){ in->sdkappid, store_c2c_conv(in->from_no, in->to_no), 0, in->from_no, in->to_no,
                        in->import_mode ? in->time_s : now, in->cseq, in->random, in->flags, in->life_s,
                        j->in.body, in->body_len, NULL, NULL };
  switch (in->import_mode) {
  case 2: /* history: read, not pushed (the message alone: earlier unread messages stay unread) */
    a->m.flags |= STORE_MSG_IMPORTED | STORE_MSG_READ_IMPORT;
    a->import_dedupe = 1;
    a->recent_from = a->recent_to = 1;
    break;
  case 5: /* realtime: unread, pushed */
    a->m.flags |= STORE_MSG_IMPORTED;
    a->import_dedupe = 1;
    a->recent_from = a->recent_to = 1;
    /* a message already past retention makes no event: no sync would hand it over (the event has the message's
     * time), so a push would give live devices what no read returns */
    if (in->time_s < c2c__since(c, in->sdkappid, now)) break;
    a->inbox_to = 1;
    a->inbox_from = in->to_no == in->from_no; /* to oneself: the recipient's event is the user's (append: one user) */
    break;
  default:
    /* a resend (same sender, peer, MsgRandom and content, messaging-c2c-checks2.md §69; the same MsgSeq when both
     * sends gave one: STORE_MSG_CALLER_SEQ, store_msg_same_seq) within the window is answered with the original,
     * a sent message (an imported one carries the old system's MsgRandom: it is no send's original, §66) */
    a->dedupe_since_s = now - im_limit(c->lim, in->sdkappid, IM_LIMIT_DEDUPE_WINDOW_S);
    if (a->dedupe_since_s <= 0) a->dedupe_since_s = 1;
    a->inbox_to = 1;
    /* a message to oneself is the recipient's: its devices get it whatever SyncOtherMachine says (that names the
     * sender's other devices); append() makes one event for the pair (inbox_to counts only for two users) */
    a->inbox_from = in->sync_other == IM_SYNC_YES || in->to_no == in->from_no;
    /* NoLastMsg messages make the rows too: their unread counts need one;
     * the lists' last message leaves them out (sq__msg_lists) */
    a->recent_from = a->recent_to = 1;
    if (in->sync_other == IM_SYNC_NO && in->to_no != in->from_no) { /* §2.2: not synced to From_Account at all */
      a->m.flags |= STORE_MSG_NOT_FROM;
      a->recent_from = 0;
    }
  }
  j->base.run = send_run;
  j->base.done = send_done;
  j->base.job.rerun_safe = 1; /* send_run recomputes every output; its count follows the rollback (store_writer.h) */
  j->base.job.bytes = (uint32_t)in->body_len; /* admission weighs it (store_job_t.bytes) */
  c2c__submit(c, &j->base, j->online); /* an online-only message only reads the sender's name */
}

uint32_t im_c2c_random32(im_c2c_t *c) { return rand32(c); }
