/* ws_rel.c — the relationship ops of the client WebSocket protocol
 * (docs/protocol.md): `pending` lists the user's friend requests (received
 * and sent) and `friend_response` answers a received one — agree (the
 * requester gets the user as a friend), agree_and_add (both ways) or
 * reject. Any of the user's devices may answer; every device of both users
 * learns the outcome by push. The answer is acknowledged once durable.
 * Loop thread only. */
#include "api/rel_api.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#define reply cws_reply

/* The user's requests of one kind, each with its peer under peer_field; NULL when one could not be made (out
 * of memory: never a list with a request left out). A stored row that is not an object is skipped. */
static json_t *pending_json(const rel_user_t *u, rel_kind_t kind, const char *peer_field)
{
  size_t n;
  const rel_row_t *rows = rel_rows(u, kind, &n);
  json_t *arr = json_array();
  for (size_t i = 0; i < n && arr; i++) {
    json_t *o = rel_json(rows[i].val);
    if (o && !json_is_object(o)) { json_decref(o); continue; }
    if (!o || json_object_set_new(o, peer_field, json_string(rows[i].key))) { json_decref(o); o = NULL; }
    if (json_array_append_new(arr, o)) { json_decref(arr); arr = NULL; } /* takes o; -1 for NULL */
  }
  return arr;
}

void cws_op_pending(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  (void)req;
  const im_session_t *s = cws_session(c);
  const rel_user_t *u = rel_user(srv->rel, s->sdkappid, s->user_no);
  json_t *in = pending_json(u, REL_K_PEND_IN, "from"), *out = pending_json(u, REL_K_PEND_OUT, "to");
  json_t *extra = in && out ? json_pack("{s:o,s:o}", "incoming", in, "outgoing", out) : NULL;
  if (!extra && (!in || !out)) { json_decref(in); json_decref(out); }
  reply(ws, id, "pending", extra ? 0 : IMC_E_NOMEM, NULL, extra);
}

typedef struct resp_wait { cws_conn_t *c; uint32_t sid; json_t *id; } resp_wait_t;

static void resp_done(relreq_t *rr, int rc)
{
  resp_wait_t *w = rr->ud;
  net_ws_t *ws = cws_usable(w->c);
  if (ws && cws_state(w->c) == CWS_ONLINE && cws_session(w->c)->sid == w->sid) reply(ws, w->id, "friend_response", rc, NULL, NULL);
  cws_release_req(rr->srv, w->c);
  json_decref(w->id);
  free(w);
  relreq_free(rr); /* undoes the changes unless they are durable */
}

/* req's field k (new reference), or dflt (new) when absent. */
static json_t *field_or(json_t *req, const char *k, json_t *dflt)
{
  json_t *v = json_object_get(req, k);
  if (!v) return dflt;
  json_decref(dflt);
  return json_incref(v);
}

/* b answers a's request; a refusal's own text into msg ("" for the code's). */
static int respond(api_srv_t *srv, relreq_t *rr, rel_user_t *b, rel_user_t *a, const char *action, json_t *remark,
                   char *msg, size_t msg_cap)
{
  int rc;
  msg[0] = 0;
  json_t *req = rel_json(rel_val(a, REL_K_PEND_OUT, b->id));
  if (!req) req = json_object(); /* the requester's side was dropped; answer with defaults */
  int agree = strcmp(action, "reject") != 0, back = !strcmp(action, "agree_and_add");
  int need_a = agree && !rel_get(a, REL_K_FRIEND, b->id), need_b = back && !rel_get(b, REL_K_FRIEND, a->id);
  if ((need_a && (rc = rel_plan(srv, rr->app, PLAN_L_FRIENDS_PEER, (int64_t)rel_count(a, REL_K_FRIEND), 1, msg, msg_cap))) ||
      (need_b && (rc = rel_plan(srv, rr->app, PLAN_L_FRIENDS, (int64_t)rel_count(b, REL_K_FRIEND), 1, msg, msg_cap)))) {
    json_decref(req);
    return rc;
  }
  int64_t now = imc_clock_now_s();
  rc = rel_pending_drop(rr, a, b, NULL); /* announced by friend_response */
  if (!rc && need_a) {
    json_t *groups = json_deep_copy(json_object_get(req, "Group")); /* the lists the requester named: made now */
    if (!json_is_array(groups)) { json_decref(groups); groups = json_array(); }
    rc = groups ? rel_groups_keep(rr, a, groups) : IMC_E_NOMEM;
    json_t *va = rc ? NULL : json_pack("{s:I,s:o,s:o,s:o,s:o}", "AddTime", (json_int_t)now, "AddSource", field_or(req, "AddSource", json_string("")),
                           "AddWording", field_or(req, "AddWording", json_string("")), "Remark", field_or(req, "Remark", json_string("")),
                           "Group", groups);
    if (rc) json_decref(groups);
    else rc = va ? rel_friend_link(rr, a, b, va) : IMC_E_NOMEM;
    json_decref(va);
  }
  if (!rc && need_b) {
    json_t *vb = json_pack("{s:I,s:o,s:s,s:s,s:[]}", "AddTime", (json_int_t)now, "AddSource", field_or(req, "AddSource", json_string("")),
                           "AddWording", "", "Remark", remark ? json_string_value(remark) : "", "Group");
    rc = vb ? rel_friend_link(rr, b, a, vb) : IMC_E_NOMEM;
    json_decref(vb);
  }
  json_decref(req);
  if (rc) return rc;
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "type", "friend_response", "from", a->id, "to", b->id, "action", action);
  relreq_push(rr, a->user_no, json_incref(ev));
  relreq_push(rr, b->user_no, ev);
  return 0;
}

void cws_op_friend_response(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const im_session_t *s = cws_session(c);
  json_t *peer = json_object_get(req, "peer"), *action = json_object_get(req, "action"), *remark = json_object_get(req, "remark");
  const char *act = json_string_value(action), *peer_id;
  uint32_t peer_no;
  if (!act || (strcmp(act, "agree") && strcmp(act, "agree_and_add") && strcmp(act, "reject"))) {
    reply(ws, id, "friend_response", IMC_E_REL_PARAM, "action is agree, agree_and_add or reject", NULL);
    return;
  }
  if (remark && (!json_is_string(remark) || json_string_length(remark) > REL_REMARK_MAX_BYTES)) {
    reply(ws, id, "friend_response", IMC_E_REL_PARAM, "remark is a string of at most 96 bytes", NULL);
    return;
  }
  if (rel_peer(srv, s->sdkappid, peer, &peer_id, &peer_no)) { reply(ws, id, "friend_response", IMC_E_REL_USER, NULL, NULL); return; }
  rel_user_t *b = rel_user(srv->rel, s->sdkappid, s->user_no);
  if (!b || !rel_get(b, REL_K_PEND_IN, peer_id)) { reply(ws, id, "friend_response", IMC_E_REL_NO_PENDING, NULL, NULL); return; }
  rel_user_t *a = rel_peer_rec(srv, s->sdkappid, peer_no, peer_id);
  relreq_t *rr = relreq_alloc(srv, s->sdkappid);
  resp_wait_t *w = calloc(1, sizeof *w);
  if (!a || !rr || !w) { relreq_free(rr); free(w); reply(ws, id, "friend_response", IMC_E_NOMEM, NULL, NULL); return; }
  char why[320];
  int rc = respond(srv, rr, b, a, act, remark, why, sizeof why);
  if (rc) { relreq_free(rr); free(w); reply(ws, id, "friend_response", rc, why[0] ? why : NULL, NULL); return; }
  w->c = cws_hold(c);
  w->sid = s->sid;
  w->id = json_incref(id);
  relreq_submit(rr, resp_done, w);
}
