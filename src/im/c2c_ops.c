/* c2c_ops.c — changes to existing messages and conversations (recall,
 * modify, read, pin, delete), typing notices and the retention pass. Each
 * change is one writer job that appends the events it causes to the users'
 * inboxes; done() delivers them to live devices, then answers the caller. */
#include "im/c2c_int.h"
#include "im/msgbody.h"
#include "store/store_grp.h"
#include "store/store_rel.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum { OP_RECALL, OP_MODIFY, OP_READ, OP_PIN, OP_DELETE, OP_TYPING };

typedef struct op_ev { im_ev_kind_t kind; uint32_t user, useq, seq; } op_ev_t;

typedef struct op_job {
  c2c_job_t base;
  int op;
  uint32_t app, actor, a, b;   /* recall/modify: a sender, b recipient; others: a the user, b the peer */
  uint32_t k_cseq, k_random;   /* recall/modify: the MsgKey, parsed whole when the job is made */
  int64_t k_time;
  int k_bad;                   /* the MsgKey did not parse: IMC_E_MSG_KEY */
  uint32_t upto;               /* read: the position; pin: the bound on pinned conversations */
  int64_t upto_t, now, window;
  int64_t since;               /* recall/modify/read: messages before it are past retention (c2c__since), as if gone */
  int flag;
  char *body;                  /* modify: the fields to replace, packed (im_msg_pack's members) */
  size_t len, max_bytes;
  store_msg_t *m;              /* the message concerned (copy) */
  char a_id[33], b_id[33];
  uint32_t except_sid;         /* typing: the session not told (the sender's, when typing to oneself) */
  op_ev_t ev[2];
  int nev;
  im_done_cb cb;
  void *ud;
} op_job_t;

static void take_msg(void *ud, const store_msg_t *m)
{
  op_job_t *j = ud;
  free(j->m);
  j->m = c2c__msg_copy(m);
}

/* The message of the job's MsgKey in conversation (a, b), sent by a: the peer may
 * have sent a message with the same key (MsgSeq and MsgRandom are the
 * callers'), which is not the one meant. A user (actor) naming only the
 * peer's message is told it is not theirs. A message past the app's
 * retention is not found, as no read shows it (the purge may not have run
 * yet). */
static int find(store_t *s, op_job_t *j)
{
  uint32_t cseq = j->k_cseq, random = j->k_random;
  int64_t t = j->k_time;
  uint64_t conv = store_c2c_conv(j->a, j->b);
  if (j->k_bad) return IMC_E_MSG_KEY;
  int rc = store_msg_find_key_from(s, j->app, conv, j->a, cseq, random, t, take_msg, j);
  if (rc == IMC_E_NOTFOUND && j->actor && !(rc = store_msg_find_key(s, j->app, conv, cseq, random, t, take_msg, j)))
    rc = IMC_E_MSG_NOT_SENDER;
  if ((!rc || rc == IMC_E_MSG_NOT_SENDER) && j->m && j->m->time_s < j->since) rc = IMC_E_NOTFOUND;
  if (rc == IMC_E_NOTFOUND) return IMC_E_MSG_NOT_FOUND;
  if (rc) return rc;
  if (!j->m) return IMC_E_NOMEM;
  assert(j->m->from_no == j->a);
  return 0;
}

static int add_ev(store_t *s, op_job_t *j, im_ev_kind_t kind, uint32_t user, uint32_t seq)
{
  op_ev_t *e = &j->ev[j->nev];
  e->kind = kind;
  e->user = user;
  e->seq = seq;
  int rc = store_msg_inbox_add(s, j->app, user, (store_ev_kind_t)kind, store_c2c_conv(j->a, j->b), seq, j->now, &e->useq);
  if (!rc) j->nev++;
  return rc;
}

/* *yes: user still has the message (j->m) in its history: not a sender's
 * message sent with SyncOtherMachine 2 (never the sender's), not cleared
 * by the user (ClearRamble, conv_delete clear). */
static int has_msg(store_t *s, op_job_t *j, uint32_t user, int *yes)
{
  store_recent_t r;
  *yes = 0;
  if (user == j->m->from_no && j->m->to_no != j->m->from_no && (j->m->flags & STORE_MSG_NOT_FROM)) return 0;
  int rc = store_msg_recent_get(s, j->app, user, user == j->a ? j->b : j->a, &r);
  if (rc && rc != IMC_E_NOTFOUND) return rc;
  *yes = rc || !r.cleared_seq || j->m->seq > r.cleared_seq;
  return 0;
}

/* Both users of a message get kind about it — each only while the message
 * is in its history: the change of a message a user cleared (or never had)
 * would hand its devices content it deleted, which sync leaves out too. */
static int both(store_t *s, op_job_t *j, im_ev_kind_t kind)
{
  int rc, yes;
  if ((rc = has_msg(s, j, j->a, &yes)) || (yes && (rc = add_ev(s, j, kind, j->a, j->m->seq)))) return rc;
  if (j->b == j->a) return 0;
  if ((rc = has_msg(s, j, j->b, &yes)) || (yes && (rc = add_ev(s, j, kind, j->b, j->m->seq)))) return rc;
  return 0;
}

static int ids(store_t *s, op_job_t *j)
{
  int rc = 0;
  if (!j->a_id[0]) rc = store_msg_account_id(s, j->app, j->a, j->a_id, sizeof j->a_id);
  if (!rc && !j->b_id[0]) rc = store_msg_account_id(s, j->app, j->b, j->b_id, sizeof j->b_id);
  return rc;
}

static void newest(void *ud, const store_msg_t *m) { *(uint32_t *)ud = m->seq; }

/* The read mark of "read up to time upto_t" above read_seq, given the
 * newest message at or before it (*upto): the largest seq s such that no
 * message with seq <= s is newer than upto_t, so an import older than live
 * messages before it (it took a higher seq) does not mark them read
 * (messaging-c2c-imports.md §34; found without reading the imports in
 * between, §47). */
static int read_mark_by_time(store_t *s, op_job_t *j, uint64_t conv, uint32_t read_seq, uint32_t *upto)
{
  return store_msg_read_mark(s, j->app, conv, read_seq, *upto, j->upto_t, upto);
}

int im_c2c_pinned_count(store_t *s, uint32_t app, uint32_t user, uint32_t except_peer, uint32_t except_group, uint32_t *n)
{
  int64_t c2c = 0, groups = 0;
  int rc = store_msg_recent_pinned(s, app, user, except_peer, &c2c);
  if (!rc) rc = store_grp_pinned_count(s, app, user, except_group, &groups);
  *n = (uint32_t)(c2c + groups);
  return rc;
}

static int op_run(store_t *s, c2c_job_t *jj)
{
  op_job_t *j = (op_job_t *)jj;
  uint64_t conv = store_c2c_conv(j->a, j->b);
  int rc;
  switch (j->op) {
  case OP_RECALL:
    if ((rc = find(s, j))) return rc;
    if (j->m->flags & STORE_MSG_RECALLED) return IMC_E_MSG_RECALLED;
    if (j->actor && j->now - j->m->time_s > j->window) return IMC_E_MSG_RECALL_LATE;
    if ((rc = store_msg_set_flags(s, j->app, conv, j->m->seq, STORE_MSG_RECALLED))) return rc;
    j->m->flags |= STORE_MSG_RECALLED;
    return both(s, j, IM_EV_RECALL);
  case OP_MODIFY: {
    char *merged;
    size_t mlen;
    if ((rc = find(s, j))) return rc;
    /* a recalled message stays as it was recalled: its change would push new content to both users */
    if (j->m->flags & STORE_MSG_RECALLED) return IMC_E_MSG_RECALLED;
    if ((rc = im_msg_merge(j->m->body, j->m->body_len, j->body, j->len, j->max_bytes, &merged, &mlen))) return rc;
    rc = store_msg_set_body(s, j->app, conv, j->m->seq, merged, mlen);
    free(merged);
    if (rc) return rc;
    if ((rc = store_msg_get(s, j->app, conv, j->m->seq, take_msg, j))) return rc;
    return j->m ? both(s, j, IM_EV_MODIFY) : IMC_E_NOMEM;
  }
  case OP_READ: {
    store_recent_t r;
    uint32_t upto = 0;
    if (j->upto_t == IM_READ_NOTHING) return 0; /* a read of seq 0: answered in its turn among the writes (§80) */
    /* the newest message the user can see (within retention: c2c__since) at or below the reported seq
     * (at or before upto_t): a seq beyond it is clamped, so messages that do not exist yet never count as
     * read, and one past retention (the purge keeps a list's last message) is no read position */
    if ((rc = store_msg_newest_at(s, j->app, conv, j->upto ? j->upto + 1 : 0, j->since,
                                  j->upto_t > 0 ? j->upto_t : INT64_MAX, &upto)))
      return rc;
    rc = store_msg_recent_get(s, j->app, j->a, j->b, &r);
    if (rc == IMC_E_NOTFOUND) r = (store_recent_t){ 0 };
    else if (rc) return rc;
    if (!j->upto && j->upto_t > 0 && upto > r.read_seq && (rc = read_mark_by_time(s, j, conv, r.read_seq, &upto)))
      return rc;
    /* the read position the lists show: the later of the read, the clear and the delete (c2c_read.c
     * conv_row). Read positions never move back, nor below it (§80): a read at or below it changes nothing
     * and makes no event, which would name a seq below the list's read_seq */
    uint32_t from = r.read_seq > r.cleared_seq ? r.read_seq : r.cleared_seq;
    if (r.hidden_seq > from) from = r.hidden_seq;
    if (!upto || upto <= from) return 0;
    if ((rc = ids(s, j)) || (rc = store_msg_recent_set(s, j->app, j->a, j->b, "read_seq", upto)) ||
        (rc = add_ev(s, j, IM_EV_READ, j->a, upto)))
      return rc;
    /* newly read: after from; what a delete forgot was not read, so it asks no receipt */
    int want = 0;
    if ((rc = store_msg_receipt_wanted(s, j->app, conv, j->b, from, upto, j->since, &want))) return rc;
    return want && j->b != j->a ? add_ev(s, j, IM_EV_RECEIPT, j->b, upto) : 0;
  }
  case OP_PIN:
    if (j->flag && j->upto) { /* upto: the bound on pinned conversations of both kinds */
      uint32_t n;
      if ((rc = im_c2c_pinned_count(s, j->app, j->a, j->b, 0, &n))) return rc;
      if (n >= j->upto) return IMC_E_CONV_PINNED;
    }
    if (!j->flag) { /* an unpin of what is not pinned changes nothing: no row made, no event */
      store_recent_t r;
      rc = store_msg_recent_get(s, j->app, j->a, j->b, &r);
      if (rc == IMC_E_NOTFOUND || (!rc && !r.pinned_at_s)) return 0;
      if (rc) return rc;
    }
    if ((rc = store_msg_recent_set(s, j->app, j->a, j->b, "pinned_at_s", j->flag ? j->now : 0))) return rc;
    return add_ev(s, j, IM_EV_CONV_PIN, j->a, (uint32_t)j->flag);
  case OP_DELETE: {
    /* Everything up to the conversation's newest message is hidden (and
     * cleared): NoLastMsg messages too, which do not move last_seq. With no
     * message yet nothing is hidden, so the first message shows the
     * conversation again (a row kept only by a pin is unpinned below). */
    store_recent_t r;
    uint32_t upto = 0;
    if ((rc = store_msg_history(s, j->app, conv, 0, 0, 0, INT64_MAX, 1, newest, &upto))) return rc;
    rc = store_msg_recent_get(s, j->app, j->a, j->b, &r);
    if (rc == IMC_E_NOTFOUND && !(j->flag && upto)) return 0; /* nothing listed, nothing to clear */
    if (rc && rc != IMC_E_NOTFOUND) return rc;
    if (rc) r = (store_recent_t){ 0 };
    /* deleted already (and cleared, when this one clears), not pinned: nothing changes, no event (as an unpin
     * of what is not pinned) */
    else if (r.hidden_seq >= upto && !r.pinned_at_s && (!j->flag || r.cleared_seq >= upto)) return 0;
    if ((rc = store_msg_recent_set(s, j->app, j->a, j->b, "hidden_seq", upto)) ||
        (j->flag && (rc = store_msg_recent_set(s, j->app, j->a, j->b, "cleared_seq", upto))))
      return rc;
    if ((j->flag || r.pinned_at_s) && (rc = store_msg_recent_set(s, j->app, j->a, j->b, "pinned_at_s", 0))) return rc;
    return add_ev(s, j, IM_EV_CONV_DEL, j->a, j->flag ? STORE_CONV_DEL_CLEARED : 0);
  }
  case OP_TYPING:
    return ids(s, j);
  }
  return IMC_E_INTERNAL;
}

static void op_done(c2c_job_t *jj, int rc)
{
  op_job_t *j = (op_job_t *)jj;
  im_c2c_t *c = jj->c;
  if (!rc && j->op == OP_TYPING) {
    im_event_t ev = { IM_EV_TYPING, j->app, j->b, 0, store_c2c_conv(j->a, j->b), 0, j->now, j->a_id, NULL, NULL };
    c2c__deliver(c, &ev, j->except_sid);
  }
  for (int i = 0; !rc && i < j->nev; i++) {
    const op_ev_t *e = &j->ev[i];
    const char *peer = e->user == j->a ? j->b_id : j->a_id;
    if (j->m && !peer[0]) peer = e->user == j->m->from_no ? j->m->to_id : j->m->from_id;
    im_event_t ev = { e->kind, j->app, e->user, e->useq, store_c2c_conv(j->a, j->b), e->seq, j->now, peer, j->m, NULL };
    c2c__publish(c, &ev, 0);
  }
  if (j->cb) j->cb(j->ud, rc);
  free(j->m);
  free(j->body);
  free(j);
}

static op_job_t *op_new(im_c2c_t *c, int op, uint32_t app, uint32_t a, uint32_t b, im_done_cb cb, void *ud)
{
  op_job_t *j = calloc(1, sizeof *j);
  if (!j) { if (cb) cb(ud, IMC_E_NOMEM); return NULL; }
  j->op = op;
  j->app = app;
  j->a = a;
  j->b = b;
  j->now = imc_clock_now_s();
  j->window = im_limit(c->lim, app, IM_LIMIT_RECALL_WINDOW_S);
  j->since = c2c__since(c, app, j->now);
  j->cb = cb;
  j->ud = ud;
  j->base.c = c;
  j->base.run = op_run;
  j->base.done = op_done;
  return j;
}

void im_c2c_recall(im_c2c_t *c, uint32_t app, uint32_t actor, uint32_t from_no, uint32_t to_no, const char *key,
                   im_done_cb cb, void *ud)
{
  op_job_t *j = op_new(c, OP_RECALL, app, from_no, to_no, cb, ud);
  if (!j) return;
  j->actor = actor;
  /* parsed here, whole: a copy into a fixed buffer cut a key padded with zeros into another key */
  j->k_bad = im_msg_key_parse(key, &j->k_cseq, &j->k_random, &j->k_time) != 0;
  c2c__submit(c, &j->base, 0);
}

void im_c2c_modify(im_c2c_t *c, uint32_t app, uint32_t from_no, uint32_t to_no, const char *key, char *body,
                   size_t len, size_t max_bytes, im_done_cb cb, void *ud)
{
  op_job_t *j = op_new(c, OP_MODIFY, app, from_no, to_no, cb, ud);
  if (!j) { free(body); return; }
  j->k_bad = im_msg_key_parse(key, &j->k_cseq, &j->k_random, &j->k_time) != 0;
  j->body = body;
  j->len = len;
  j->max_bytes = max_bytes;
  c2c__submit(c, &j->base, 0);
}

void im_c2c_read(im_c2c_t *c, uint32_t app, uint32_t user, uint32_t peer, uint32_t upto_seq, int64_t upto_t,
                 im_done_cb cb, void *ud)
{
  op_job_t *j = op_new(c, OP_READ, app, user, peer, cb, ud);
  if (!j) return;
  j->upto = upto_seq;
  j->upto_t = upto_t;
  c2c__submit(c, &j->base, 0);
}

void im_c2c_pin(im_c2c_t *c, uint32_t app, uint32_t user, uint32_t peer, int pin, uint32_t max_pinned,
                const char *peer_id, im_done_cb cb, void *ud)
{
  op_job_t *j = op_new(c, OP_PIN, app, user, peer, cb, ud);
  if (!j) return;
  j->flag = pin ? 1 : 0;
  j->upto = max_pinned;
  snprintf(j->b_id, sizeof j->b_id, "%s", peer_id);
  c2c__submit(c, &j->base, 0);
}

void im_c2c_conv_delete(im_c2c_t *c, uint32_t app, uint32_t user, uint32_t peer, int clear, const char *peer_id,
                        im_done_cb cb, void *ud)
{
  op_job_t *j = op_new(c, OP_DELETE, app, user, peer, cb, ud);
  if (!j) return;
  j->flag = clear ? 1 : 0;
  snprintf(j->b_id, sizeof j->b_id, "%s", peer_id);
  c2c__submit(c, &j->base, 0);
}

void im_c2c_typing(im_c2c_t *c, uint32_t app, uint32_t user, const char *user_id, uint32_t peer, uint32_t from_sid)
{
  if (!im_presence_first(c->p, app, peer)) return; /* nobody to tell: typing is never stored */
  op_job_t *j = op_new(c, OP_TYPING, app, user, peer, NULL, NULL);
  if (!j) return;
  j->except_sid = user == peer ? from_sid : 0; /* a session id names a session of the user, not of a peer */
  if (user_id) snprintf(j->a_id, sizeof j->a_id, "%s", user_id);
  snprintf(j->b_id, sizeof j->b_id, "-"); /* the peer's own id is not needed */
  if (user_id && user_id[0]) { op_done(&j->base, 0); return; }
  c2c__submit(c, &j->base, 1);
}

/* ---- retention pass ------------------------------------------------------------------ */
#define PURGE_CHUNK 2000

/* The pass, in steps of one writer job each (a step never runs a statement
 * over a whole table, app or user):
 * 1. the C2C messages of every app, in one read of the message table
 *    (store_msg_purge_msgs: a window of its rows per step), each app with
 *    the horizon it had when the pass started;
 * 2. per app, its inbox events (store_msg_purge_inbox: a bounded walk over
 *    the app's user numbers) with its relationship event payloads and group
 *    messages, steps while the walk says more or the others delete anything;
 * 3. per app, the conversation-list trim: a step of the walk over the app's
 *    user numbers reads at most PURGE_CHUNK rows (a user costs a seek and at
 *    most kept + 1 rows); then each user it found over the limit is trimmed
 *    in steps of at most PURGE_CHUNK rows read (store_msg_recent_trim),
 *    however many rows the user has. */
static int trim_users_per_step(int64_t kept)
{
  int64_t n = PURGE_CHUNK / (kept + 2);
  return n < 1 ? 1 : (int)n;
}

enum { PURGE_APPS, PURGE_MSGS, PURGE_APP, PURGE_TRIM };

typedef struct purge_job {
  c2c_job_t base;
  int phase;                   /* PURGE_*: the step the job runs next */
  uint32_t *apps;              /* the apps listed by PURGE_APPS; apps[cur] is the one PURGE_APP and PURGE_TRIM work on */
  size_t napps, capps, cur;
  store_msg_cut_t *cuts;       /* PURGE_MSGS: the C2C horizon of every app whose edition is known, by sdkappid
                                * (ncuts entries; each also the app's floor from then on) */
  size_t ncuts;
  int64_t msg_cursor;          /* PURGE_MSGS: where the next window starts (store_msg_purge_msgs) */
  uint32_t inbox_cursor;       /* PURGE_APP: where the app's inbox walk goes on (store_msg_purge_inbox) */
  int inbox_done;              /* PURGE_APP: the app's inbox walk has ended; later steps purge the rest only */
  int more;                    /* the last step's walk or scan stopped at its bound */
  int64_t before, gbefore, deleted, others, total, kept; /* gbefore: the app's group horizon; others: the
                                                          * relationship and group rows the last step deleted */
  int64_t floor;               /* PURGE_TRIM: the app's purge floor (INT64_MIN: none): cleared rows whose history is
                                * all below it go (store_msg_recent_trim) */
  uint32_t walk_user;          /* PURGE_TRIM: the user numbers up to this one are done (0: start; back to 0: end) */
  uint32_t *users;
  size_t nusers, cusers, ui;   /* PURGE_TRIM: the users found by the last walk step; users[ui] is the next to trim */
  int oom;
  void (*done)(void *, int, int64_t);
  void *ud;
} purge_job_t;

static void app_row(void *ud, const store_app_t *a)
{
  purge_job_t *j = ud;
  if (j->napps == j->capps) {
    size_t nc = j->capps ? j->capps * 2 : 16;
    uint32_t *n = realloc(j->apps, nc * sizeof *n);
    if (!n) { j->oom = 1; return; }
    j->apps = n;
    j->capps = nc;
  }
  j->apps[j->napps++] = a->sdkappid;
}

static void user_row(void *ud, const char *uid, uint32_t user_no)
{
  purge_job_t *j = ud;
  (void)uid;
  if (j->nusers == j->cusers) {
    size_t nc = j->cusers ? j->cusers * 2 : 16;
    uint32_t *n = realloc(j->users, nc * sizeof *n);
    if (!n) { j->oom = 1; return; }
    j->users = n;
    j->cusers = nc;
  }
  j->users[j->nusers++] = user_no;
}

static int purge_run(store_t *s, c2c_job_t *jj)
{
  purge_job_t *j = (purge_job_t *)jj;
  int rc;
  j->deleted = j->others = 0;
  j->more = 0;
  switch (j->phase) {
  case PURGE_APPS:
    rc = store_app_list(s, 0, app_row, j);
    return rc ? rc : j->oom ? IMC_E_NOMEM : 0;
  case PURGE_MSGS:
    return store_msg_purge_msgs(s, j->cuts, j->ncuts, PURGE_CHUNK, &j->msg_cursor, &j->deleted, &j->more);
  case PURGE_APP: {
    int64_t rel = 0, grp = 0; /* relationship event payloads (c2c_rel.c) go with their inbox events */
    uint32_t app = j->apps[j->cur];
    if ((!j->inbox_done &&
         (rc = store_msg_purge_inbox(s, app, j->before, PURGE_CHUNK, &j->inbox_cursor, &j->deleted, &j->more))) ||
        (rc = store_rel_event_purge(s, app, j->before, PURGE_CHUNK, &rel)) ||
        (rc = store_grp_msg_purge(s, app, j->gbefore, PURGE_CHUNK, &grp)))
      return rc;
    j->others = rel + grp;
    return 0;
  }
  default:
    if (j->ui < j->nusers) { /* a step of the next user's trim */
      int more;
      if ((rc = store_msg_recent_trim(s, j->apps[j->cur], j->users[j->ui], (int)j->kept, j->floor, PURGE_CHUNK, &j->deleted,
                                      &more)))
        return rc;
      if (!more) j->ui++;
      return 0;
    }
    j->nusers = j->ui = 0;
    if ((rc = store_msg_recent_users(s, j->apps[j->cur], (int)j->kept, j->walk_user, trim_users_per_step(j->kept),
                                     user_row, j, &j->walk_user)))
      return rc;
    return j->oom ? IMC_E_NOMEM : 0;
  }
}

static void purge_done(c2c_job_t *jj, int rc);

static void purge_end(im_c2c_t *c, purge_job_t *j, int rc)
{
  c->purging = 0;
  if (j->done) j->done(j->ud, rc, j->total);
  free(j->apps);
  free(j->cuts);
  free(j->users);
  free(j);
}

static int cut_cmp(const void *a, const void *b)
{
  uint32_t x = ((const store_msg_cut_t *)a)->sdkappid, y = ((const store_msg_cut_t *)b)->sdkappid;
  return (x > y) - (x < y);
}

/* The pass's C2C horizons, once: only apps whose edition is known (an app
 * whose edition could not be read is not purged or trimmed by guesses at
 * its retention), each raised into the app's floor before the store is
 * asked to delete anything older (c2c__since: the retention alone; the store
 * records the floor with the messages it covers, FLOOR_RAISE). */
static int purge_cuts(im_c2c_t *c, purge_job_t *j, int64_t now)
{
  if (!(j->cuts = malloc(j->napps * sizeof *j->cuts))) return IMC_E_NOMEM;
  for (size_t i = 0; i < j->napps; i++) {
    if (!im_limit_known(c->lim, j->apps[i])) continue; /* not purged this pass; its phases log the skip if still unknown */
    int64_t before = c2c__since(c, j->apps[i], now);
    if (c2c__floor_raise(c, j->apps[i], before, now)) continue; /* not remembered on the loop: not purged this pass */
    j->cuts[j->ncuts++] = (store_msg_cut_t){ j->apps[i], before, now }; /* a floor above now is replaced (FLOOR_RAISE) */
  }
  qsort(j->cuts, j->ncuts, sizeof *j->cuts, cut_cmp);
  for (size_t i = 1; i < j->ncuts; i++) assert(j->cuts[i].sdkappid > j->cuts[i - 1].sdkappid); /* apps are listed once */
  return 0;
}

/* The per-app phases go past an app whose edition is not known (now: it
 * may have become so since the pass began). */
static void purge_skip_unknown(im_c2c_t *c, purge_job_t *j)
{
  while (j->phase != PURGE_MSGS && j->cur < j->napps && !im_limit_known(c->lim, j->apps[j->cur])) {
    IMC_WARN("c2c", "msg=\"retention pass skips an app whose edition is not known\" app=%u", j->apps[j->cur]);
    j->phase = PURGE_APP;
    j->cur++;
    j->inbox_cursor = 0;
    j->inbox_done = 0;
    j->walk_user = 0;
    j->nusers = j->ui = 0;
  }
}

static void purge_next(im_c2c_t *c, purge_job_t *j)
{
  int64_t now = imc_clock_now_s();
  if (c->stopping || !j->napps) { purge_end(c, j, 0); return; }
  if (j->phase == PURGE_MSGS && !j->cuts) {
    int rc = purge_cuts(c, j, now);
    if (rc) { purge_end(c, j, rc); return; }
    if (!j->ncuts) { j->phase = PURGE_APP; j->cur = 0; }
  }
  purge_skip_unknown(c, j);
  if (j->cur >= j->napps) { purge_end(c, j, 0); return; }
  uint32_t app = j->apps[j->cur];
  if (j->phase == PURGE_APP) {
    j->before = c2c__since(c, app, now);
    j->gbefore = now - im_limit(c->lim, app, IM_LIMIT_GROUP_RETENTION_S); /* im_group_since */
  }
  j->kept = im_limit(c->lim, app, IM_LIMIT_RECENT_KEPT);
  j->floor = c2c__floor(c, app);
  if (j->floor > now) j->floor = INT64_MIN; /* the clock is behind the floor (this pass could not replace it): the next
                                             * pass's floor may show what is below it again, so no clear may go */
  c2c__submit(c, &j->base, 0);
}

static void purge_done(c2c_job_t *jj, int rc)
{
  purge_job_t *j = (purge_job_t *)jj;
  im_c2c_t *c = jj->c;
  if (rc) { purge_end(c, j, rc); return; }
  j->total += j->deleted + j->others;
  switch (j->phase) {
  case PURGE_APPS:
    j->phase = PURGE_MSGS;
    break;
  case PURGE_MSGS:
    if (!j->more) { j->phase = PURGE_APP; j->cur = 0; j->inbox_cursor = 0; j->inbox_done = 0; }
    break;
  case PURGE_APP:
    if (!j->inbox_done && !j->more) j->inbox_done = 1;
    if (j->inbox_done && !j->others) j->phase = PURGE_TRIM; /* nothing older left: trim the conversation lists */
    break;
  default:
    if (!j->walk_user && j->ui >= j->nusers) { /* the walk over the app's users and their trims are done: the next app */
      j->phase = PURGE_APP;
      j->cur++;
      j->inbox_cursor = 0;
      j->inbox_done = 0;
    }
  }
  purge_next(c, j);
}

void im_c2c_purge(im_c2c_t *c, void (*done)(void *ud, int rc, int64_t deleted), void *ud)
{
  if (c->purging || c->stopping) return;
  purge_job_t *j = calloc(1, sizeof *j); /* phase PURGE_APPS */
  if (!j) { if (done) done(ud, IMC_E_NOMEM, 0); return; }
  c->purging = 1;
  j->done = done;
  j->ud = ud;
  j->base.run = purge_run;
  j->base.done = purge_done;
  c2c__submit(c, &j->base, 0);
}
