/* ws_status.c — user status (docs/protocol.md "User status"): Online /
 * PushOnline / Offline from presence plus a custom status text per user
 * (REL_K_META "status_text", durable), subscriptions to other users' status
 * over WebSocket with `status` pushes on every change, and PushOnline
 * windows made durable (REL_K_META "push_until.<platform>") so that a
 * restart keeps them (REST query_online_status reads presence).
 *
 * Subscriptions belong to a login and live in the registry of
 * ws_status_subs.c (capped per user and per process, freed when the
 * session ends). The edition gate user_status (72001) guards the four ops
 * (their rows' gate column in client_ws.c, enforced by the dispatcher) and
 * the pushes (here).
 * Loop thread only. */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/faultsim.h"
#include "util/log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define reply cws_reply

int ws_status_init(api_srv_t *srv) { return ws_status_subs_init(srv); }

void ws_status_free(api_srv_t *srv) { ws_status_subs_free(srv); }

static int enabled(api_srv_t *srv, uint32_t app) { return rel_plan(srv, app, PLAN_F_USER_STATUS, 0, 0, NULL, 0) == 0; }

static json_t *status_json(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *user_id)
{
  const rel_user_t *u = rel_user(srv->rel, app, user_no);
  json_t *text = rel_json(rel_val(u, REL_K_META, "status_text"));
  im_status_t st = im_presence_status(srv->presence, app, user_no, imc_clock_now_s(), NULL);
  json_t *o = json_pack("{s:s,s:s,s:s}", "user", user_id, "status", im_status_name(st), "custom_status",
                        json_is_string(text) ? json_string_value(text) : "");
  json_decref(text);
  return o;
}

/* Queue frame f (NULL: the push could not be made) on one device due a status push. A device it cannot be
 * queued on is cut with 1011 (decisions §82): it reconnects and reads the current status, never keeps a
 * stale one with nothing telling it (a send refused over the queue cap has closed it with 1008 already). */
static void status_send(net_ws_t *ws, net_frame_t *f)
{
  /* a test's out of memory (util/faultsim.h): the frame is not queued */
  if (f && !imc_fault(IMC_FAULT_STATUS_PUSH_SEND) && !net_ws_send_frame(ws, f)) return;
  net_ws_close(ws, 1011, "a status push was lost (out of memory): read the status again");
}

typedef struct status_push { api_srv_t *srv; uint32_t app; net_frame_t *frame; } status_push_t;

static void send_to_sub(void *ud, uint32_t user_no, uint32_t sid)
{
  status_push_t *p = ud;
  im_session_t *s = im_presence_find(p->srv->presence, p->app, user_no, sid);
  net_ws_t *ws = s && s->conn ? cws_usable(cws_of_session(s)) : NULL;
  if (ws) status_send(ws, p->frame);
}

/* Push user's status to its live subscribers and, when own is set, to the
 * user's own devices; each device it cannot be made or queued for is cut
 * (status_send). */
static void push_status(api_srv_t *srv, uint32_t app, uint32_t user_no, int own)
{
  const rel_user_t *u = rel_user(srv->rel, app, user_no);
  if (!u || !u->id[0] || !enabled(srv, app)) return;
  json_t *st = status_json(srv, app, user_no, u->id);
  status_push_t p = { srv, app, NULL };
  char *text = st && !json_object_set_new(st, "type", json_string("status")) ? json_dumps(st, JSON_COMPACT) : NULL;
  json_decref(st);
  if (text) p.frame = net_frame_new_text(text, strlen(text)); /* encoded once, shared by every device */
  free(text);
  if (!p.frame) IMC_WARN("status", "msg=\"status push not made (out of memory): its devices are cut\" app=%u", app);
  ws_status_subs_each(srv, app, user_no, send_to_sub, &p); /* closing a device leaves the registry as it is */
  for (im_session_t *s = own ? im_presence_first(srv->presence, app, user_no) : NULL; s; s = s->next) {
    net_ws_t *ws = s->conn ? cws_usable(cws_of_session(s)) : NULL;
    if (ws) status_send(ws, p.frame);
  }
  if (p.frame) net_frame_unref(p.frame);
}

/* A login: while a deletion in flight names the user, its record is the purge's emptied one, not durable: the
 * push waits (rel_gate_status, §103). */
void ws_status_changed(api_srv_t *srv, uint32_t app, uint32_t user_no)
{
  if (!rel_gate_status(srv, app, user_no, NULL, 0, 0)) push_status(srv, app, user_no, 0);
}

/* ---- PushOnline windows: durable, restored at start ----------------------------------------- */
static void window_written(relreq_t *rr, int rc)
{
  if (rc) IMC_WARN("status", "msg=\"PushOnline window not stored\" app=%u err=%s", rr->app, imc_err_name(rc));
  relreq_free(rr);
}

void ws_status_session_end(api_srv_t *srv, const im_session_t *s, const char *user_id, int logout, int64_t until_s)
{
  char key[40];
  /* a deletion in flight names the user: its window and push wait, made only if the account stays (§103); a
   * later end of its platform supersedes this one in place (§114: its window is the last end's) */
  if (rel_gate_status(srv, s->sdkappid, s->user_no, s, logout, until_s)) return;
  if (im_platform_mobile((im_platform_t)s->platform)) {
    /* a logout deletes a stored window (none without a record); a close stores one */
    rel_user_t *u = logout || !user_id ? rel_user(srv->rel, s->sdkappid, s->user_no)
                                    : rel_user_ensure(srv->rel, s->sdkappid, s->user_no, user_id);
    relreq_t *rr = u ? relreq_alloc(srv, s->sdkappid) : NULL;
    if (rr) {
      snprintf(key, sizeof key, "push_until.%s", im_platform_name((im_platform_t)s->platform));
      char val[24];
      snprintf(val, sizeof val, "%lld", (long long)until_s);
      int rc = logout ? rel_txn_del(&rr->txn, u, REL_K_META, key) : rel_txn_put(&rr->txn, u, REL_K_META, key, val);
      if (rc) relreq_free(rr);
      else relreq_submit(rr, window_written, NULL);
    }
  }
  push_status(srv, s->sdkappid, s->user_no, 0);
}

static void restore_one(void *ud, rel_user_t *u)
{
  api_srv_t *srv = ud;
  size_t n;
  const rel_row_t *rows = rel_rows(u, REL_K_META, &n);
  for (size_t i = 0; i < n; i++) {
    im_platform_t plat;
    if (strncmp(rows[i].key, "push_until.", 11) || im_platform_parse(rows[i].key + 11, &plat)) continue;
    if (im_presence_restore_push(srv->presence, u->sdkappid, u->user_no, plat, strtoll(rows[i].val, NULL, 10)))
      srv->exit_status = 1; /* OOM at start: refuse to start */
  }
}

int ws_status_restore(api_srv_t *srv)
{
  rel_each_user(srv->rel, restore_one, srv);
  return srv->exit_status ? IMC_E_NOMEM : 0;
}

/* ---- ops ------------------------------------------------------------------------------------- */
/* The users array of a request (1..REL_SUBSCRIBE_MAX UserIDs); replies on error. */
static int users_of(net_ws_t *ws, json_t *id, const char *op, json_t *req, json_t **users)
{
  *users = json_object_get(req, "users");
  if (!json_is_array(*users) || json_array_size(*users) == 0 || json_array_size(*users) > REL_SUBSCRIBE_MAX) {
    reply(ws, id, op, IMC_E_INVAL, "users must be an array of 1-100 UserIDs", NULL);
    return IMC_E_INVAL;
  }
  return 0;
}

/* The statuses of users (unknown ones: code 70107); with subscribe, the
 * session is then subscribed to every known one; with unsubscribe, the
 * session's subscriptions to them end and only codes are listed. All or
 * nothing: the list is made whole first, and only then are subscriptions
 * added (a cap or memory refuses: nothing added) or ended (which cannot
 * fail); NULL with *err set when refused, IMC_E_NOMEM when the list could not
 * be made whole (nothing changed). */
static json_t *statuses(api_srv_t *srv, const im_session_t *s, json_t *users, int subscribe, int unsubscribe, int *err)
{
  uint32_t nos[REL_SUBSCRIBE_MAX];
  const char *ids[REL_SUBSCRIBE_MAX];
  size_t n = json_array_size(users), i;
  json_t *v;
  *err = 0;
  assert(n <= REL_SUBSCRIBE_MAX);
  json_array_foreach(users, i, v) if (rel_peer(srv, s->sdkappid, v, &ids[i], &nos[i])) { ids[i] = NULL; nos[i] = 0; }
  uint32_t known[REL_SUBSCRIBE_MAX];
  size_t nk = 0;
  for (i = 0; i < n; i++) {
    if (!ids[i]) continue;
    /* a watched user's pushes name it by its record's UserID (a login makes no record) */
    if (subscribe && !rel_peer_rec(srv, s->sdkappid, nos[i], ids[i])) { *err = IMC_E_NOMEM; return NULL; }
    known[nk++] = nos[i];
  }
  json_t *out = json_array();
  int bad = !out;
  json_array_foreach(users, i, v) {
    if (bad) break;
    json_t *e;
    if (imc_fault(IMC_FAULT_STATUS_LIST_JSON)) e = NULL; /* a test's out of memory (util/faultsim.h) */
    else if (!ids[i]) e = json_pack("{s:O,s:i}", "user", v, "code", imc_err_compat(IMC_E_USER_NOT_FOUND));
    else if (unsubscribe) e = json_pack("{s:s,s:i}", "user", ids[i], "code", 0);
    else if ((e = status_json(srv, s->sdkappid, nos[i], ids[i])) && json_object_set_new(e, "code", json_integer(0))) {
      json_decref(e);
      e = NULL;
    }
    bad = json_array_append_new(out, e); /* takes e; -1 for NULL */
  }
  if (!bad && subscribe) bad = *err = ws_status_subs_add(srv, s, known, nk);
  if (!bad && unsubscribe)
    for (i = 0; i < nk; i++) ws_status_subs_del(srv, s, known[i]);
  if (!bad) return out;
  json_decref(out); /* never a list with a user left out; nothing subscribed or unsubscribed */
  if (!*err) *err = IMC_E_NOMEM;
  return NULL;
}

/* Reply to a status op with its list under key, or with err when it could not be made. */
static void reply_list(net_ws_t *ws, json_t *id, const char *op, const char *key, json_t *list, int err)
{
  json_t *extra = list ? json_pack("{s:o}", key, list) : NULL;
  reply(ws, id, op, extra ? 0 : err ? err : IMC_E_NOMEM, NULL, extra);
}

void cws_op_status_get(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  json_t *users;
  if (users_of(ws, id, "status_get", req, &users)) return;
  int rc;
  json_t *out = statuses(srv, cws_session(c), users, 0, 0, &rc);
  reply_list(ws, id, "status_get", "statuses", out, rc);
}

void cws_op_status_subscribe(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  json_t *users;
  if (users_of(ws, id, "status_subscribe", req, &users)) return;
  int rc;
  json_t *out = statuses(srv, cws_session(c), users, 1, 0, &rc);
  reply_list(ws, id, "status_subscribe", "statuses", out, rc);
}

void cws_op_status_unsubscribe(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  json_t *users;
  if (users_of(ws, id, "status_unsubscribe", req, &users)) return;
  int rc;
  json_t *out = statuses(srv, cws_session(c), users, 0, 1, &rc);
  reply_list(ws, id, "status_unsubscribe", "results", out, rc);
}

typedef struct set_wait { cws_conn_t *c; uint32_t sid; json_t *id; } set_wait_t;

static void set_done(relreq_t *rr, int rc)
{
  set_wait_t *w = rr->ud;
  const im_session_t *s = cws_session(w->c);
  net_ws_t *ws = cws_usable(w->c);
  if (!rc) push_status(rr->srv, rr->app, s->user_no, 1);
  if (ws && cws_state(w->c) == CWS_ONLINE && s->sid == w->sid) reply(ws, w->id, "status_set", rc, NULL, NULL);
  cws_release_req(rr->srv, w->c);
  json_decref(w->id);
  free(w);
  relreq_free(rr);
}

void cws_op_status_set(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const im_session_t *s = cws_session(c);
  json_t *text = json_object_get(req, "custom_status");
  if (!json_is_string(text) || json_string_length(text) > REL_STATUS_TEXT_MAX_BYTES) {
    reply(ws, id, "status_set", IMC_E_INVAL, "custom_status is a string of at most 100 bytes (\"\" clears it)", NULL);
    return;
  }
  rel_user_t *u = rel_user_ensure(srv->rel, s->sdkappid, s->user_no, cws_user_id(srv, c));
  relreq_t *rr = u ? relreq_alloc(srv, s->sdkappid) : NULL;
  set_wait_t *w = rr ? calloc(1, sizeof *w) : NULL;
  char *val = rel_text(text);
  if (!w || !val) { free(val); free(w); relreq_free(rr); reply(ws, id, "status_set", IMC_E_NOMEM, NULL, NULL); return; }
  int rc = json_string_length(text) ? rel_txn_put(&rr->txn, u, REL_K_META, "status_text", val) : rel_txn_del(&rr->txn, u, REL_K_META, "status_text");
  free(val);
  if (rc) { free(w); relreq_free(rr); reply(ws, id, "status_set", rc, NULL, NULL); return; }
  w->c = cws_hold(c);
  w->sid = s->sid;
  w->id = json_incref(id);
  relreq_submit(rr, set_done, w);
}
