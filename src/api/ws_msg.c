/* ws_msg.c — the messaging ops and pushes of the client WebSocket protocol
 * (docs/protocol.md): send, sync, history, recall, read, conversations, pin,
 * conv_delete, typing. Only the wire format lives here; the semantics are
 * src/im/c2c.h. Loop thread only.
 *
 * A reply that waits for a store job finds its connection again by (app,
 * user, session id) in the presence registry: if the session logged out,
 * was kicked or closed meanwhile, the reply is dropped (the effect of a send
 * is durable all the same and reaches the user's devices by sync).
 */
#include "api/rel_api.h"
#include "im/msgbody.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#define reply cws_reply

/* The connection's session (cws_conn_t embeds it; the core needs it mutable). */
static im_session_t *sess(cws_conn_t *c) { return (im_session_t *)cws_session(c); }

/* A pending reply: a hold on the connection and what to echo. */
typedef struct pending {
  api_srv_t *srv;
  cws_conn_t *c;               /* held */
  uint32_t sid;                /* the login the request came from */
  json_t *id;
  const char *op;
} pending_t;

static pending_t *pending_new(api_srv_t *srv, cws_conn_t *c, json_t *id, const char *op)
{
  pending_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->srv = srv;
  p->c = cws_hold(c);
  p->sid = sess(c)->sid;
  p->id = json_incref(id);
  p->op = op;
  return p;
}

/* Reply if the connection is still open and still the same login; release. */
static void pending_reply(pending_t *p, int rc, json_t *extra)
{
  net_ws_t *ws = cws_usable(p->c);
  if (ws && cws_state(p->c) == CWS_ONLINE && sess(p->c)->sid == p->sid) reply(ws, p->id, p->op, rc, NULL, extra);
  else json_decref(extra);
  cws_release(p->c);
  json_decref(p->id);
  free(p);
}

static void done_reply(void *ud, int rc) { pending_reply(ud, rc, NULL); }

/* ---- request fields --------------------------------------------------------------- */
static int opt_u32(json_t *req, const char *name, uint32_t *out, int *present)
{
  json_t *v = json_object_get(req, name);
  if (present) *present = v != NULL;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) return IMC_E_INVAL;
  *out = (uint32_t)json_integer_value(v);
  return 0;
}

static int opt_bool(json_t *req, const char *name, int *out)
{
  json_t *v = json_object_get(req, name);
  *out = 0;
  if (!v) return 0;
  if (!json_is_boolean(v)) return IMC_E_INVAL;
  *out = json_is_true(v);
  return 0;
}

/* The peer named by "peer" (or "to"): its user number. */
static int peer_of(api_srv_t *srv, cws_conn_t *c, json_t *req, const char *name, const char **id, uint32_t *no)
{
  json_t *v = json_object_get(req, name);
  if (!json_is_string(v) || !tenant_user_id_valid(json_string_value(v))) return IMC_E_MSG_TO;
  *id = json_string_value(v);
  if (tenant_registry_account_find(srv->reg, sess(c)->sdkappid, *id, no)) return IMC_E_MSG_TO_UNKNOWN;
  return 0;
}

/* ---- JSON of messages and events -------------------------------------------------- */
static json_t *wsm_msg_json(const store_msg_t *m)
{
  char key[48];
  im_msg_key(m->cseq, m->random, m->time_s, key, sizeof key);
  json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:I,s:I}", "from", m->from_id ? m->from_id : "", "to",
                        m->to_id ? m->to_id : "", "seq", (json_int_t)m->seq, "time", (json_int_t)m->time_s,
                        "msg_key", key, "msg_seq", (json_int_t)m->cseq, "random", (json_int_t)m->random);
  if (!o) return NULL;
  json_t *content = json_loadb(m->body, m->body_len, 0, NULL);
  if (content) {
    json_object_set(o, "body", json_object_get(content, "MsgBody"));
    json_t *cc = json_object_get(content, "CloudCustomData");
    if (cc) json_object_set(o, "cloud_custom_data", cc);
    json_t *pi = json_object_get(content, "OfflinePushInfo");
    if (pi) json_object_set(o, "offline_push_info", pi);
    json_decref(content);
  }
  if (m->flags & STORE_MSG_RECALLED) json_object_set_new(o, "recalled", json_true());
  if (m->flags & STORE_MSG_MODIFIED) json_object_set_new(o, "modified", json_true());
  if (m->flags & STORE_MSG_NEED_RECEIPT) json_object_set_new(o, "need_receipt", json_true());
  if (m->flags & STORE_MSG_NO_UNREAD) json_object_set_new(o, "no_unread", json_true());
  return o;
}

static const char *const ev_names[] = {
  [IM_EV_MSG] = "msg", [IM_EV_RECALL] = "recall", [IM_EV_READ] = "read", [IM_EV_RECEIPT] = "receipt",
  [IM_EV_MODIFY] = "modify", [IM_EV_CONV_DEL] = "conv_delete", [IM_EV_CONV_PIN] = "conv_pin",
};

static json_t *event_json(const im_event_t *ev)
{
  if (ev->kind == IM_EV_REL) { /* the relationship push frame (rel_common.c), with its useq */
    json_t *f = ev->payload ? json_loads(ev->payload, 0, NULL) : NULL;
    if (json_is_object(f)) json_object_set_new(f, "useq", json_integer(ev->useq));
    else { json_decref(f); f = NULL; }
    return f;
  }
  const char *type = ev->kind == IM_EV_ONLINE_MSG ? "online_msg" : ev->kind == IM_EV_TYPING ? "typing"
                     : (size_t)ev->kind < sizeof ev_names / sizeof ev_names[0] && ev_names[ev->kind] ? ev_names[ev->kind]
                     : "unknown";
  json_t *o = json_pack("{s:s}", "type", type);
  if (!o) return NULL;
  if (ev->useq) json_object_set_new(o, "useq", json_integer(ev->useq));
  json_object_set_new(o, "peer", json_string(ev->peer_id ? ev->peer_id : ""));
  switch (ev->kind) {
  case IM_EV_MSG: case IM_EV_ONLINE_MSG: case IM_EV_MODIFY:
    if (ev->msg) json_object_set_new(o, "msg", wsm_msg_json(ev->msg));
    else json_object_set_new(o, "expired", json_true()); /* past retention: the slot is kept, the content gone */
    break;
  case IM_EV_RECALL: {
    json_object_set_new(o, "seq", json_integer(ev->seq));
    if (ev->msg) {
      char key[48];
      im_msg_key(ev->msg->cseq, ev->msg->random, ev->msg->time_s, key, sizeof key);
      json_object_set_new(o, "msg_key", json_string(key));
    }
    break;
  }
  case IM_EV_READ: case IM_EV_RECEIPT:
    json_object_set_new(o, "seq", json_integer(ev->seq));
    break;
  case IM_EV_CONV_DEL:
    json_object_set_new(o, "cleared", json_boolean(ev->seq));
    break;
  case IM_EV_CONV_PIN:
    json_object_set_new(o, "pinned", json_boolean(ev->seq));
    break;
  case IM_EV_TYPING: case IM_EV_REL:
    break;
  }
  return o;
}

/* ---- delivery hooks: one encoded frame per user, shared by their devices ------- */
static void *hook_encode(void *ud, const im_event_t *ev)
{
  (void)ud;
  json_t *o = event_json(ev);
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!text) return NULL;
  net_frame_t *f = net_frame_new_text(text, strlen(text));
  free(text);
  return f;
}

static void hook_send(void *ud, im_session_t *s, void *frame)
{
  (void)ud;
  net_ws_send_frame(s->conn, frame);
}

static void hook_release(void *ud, void *frame)
{
  (void)ud;
  net_frame_unref(frame);
}

void cws_msg_hooks(api_srv_t *srv, im_c2c_hooks_t *out)
{
  *out = (im_c2c_hooks_t){ srv, hook_encode, hook_send, hook_release, api_meter_day_of };
}

/* ---- send --------------------------------------------------------------------------------- */
static void sent(void *ud, int rc, const im_sent_t *r)
{
  pending_t *p = ud;
  json_t *extra = NULL;
  if (!rc) {
    char key[48];
    im_msg_key(r->cseq, r->random, r->time_s, key, sizeof key);
    extra = json_pack("{s:I,s:I,s:I,s:s,s:b}", "seq", (json_int_t)r->seq, "useq", (json_int_t)r->useq, "time",
                      (json_int_t)r->time_s, "msg_key", key, "dup", r->dup);
  }
  pending_reply(p, rc, extra);
}

void cws_op_send(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  im_session_t *s = sess(c);
  im_send_t in;
  char why[256] = "";
  const char *to_id;
  int rc, has_seq = 0, has_random = 0, online = 0, no_unread = 0, no_last = 0, receipt = 0;
  memset(&in, 0, sizeof in);
  if ((rc = peer_of(srv, c, req, "to", &to_id, &in.to_no))) { reply(ws, id, "send", rc, NULL, NULL); return; }
  /* profile forbid, blocklist, the app's friendship rule (REST sendmsg skips these) */
  const char *from_id = cws_user_id(srv, c);
  if (!from_id) { reply(ws, id, "send", IMC_E_USER_NOT_FOUND, "the sender's account is gone", NULL); return; }
  if ((rc = rel_c2c_check(srv, s->sdkappid, s->user_no, from_id, in.to_no, to_id))) { reply(ws, id, "send", rc, NULL, NULL); return; }
  if (opt_u32(req, "msg_seq", &in.cseq, &has_seq)) { reply(ws, id, "send", IMC_E_MSG_SEQ, NULL, NULL); return; }
  if (opt_u32(req, "random", &in.random, &has_random)) { reply(ws, id, "send", IMC_E_MSG_RANDOM, NULL, NULL); return; }
  if (opt_bool(req, "online_only", &online) || opt_bool(req, "no_unread", &no_unread) ||
      opt_bool(req, "no_last_msg", &no_last) || opt_bool(req, "need_receipt", &receipt)) {
    reply(ws, id, "send", IMC_E_INVAL, "online_only, no_unread, no_last_msg and need_receipt are booleans", NULL);
    return;
  }
  rc = im_msg_pack(json_object_get(req, "body"), json_object_get(req, "cloud_custom_data"),
                   json_object_get(req, "offline_push_info"),
                   (size_t)im_limit(&srv->limits, s->sdkappid, IM_LIMIT_MSG_MAX_BYTES), &in.body, &in.body_len, why,
                   sizeof why);
  if (rc) { reply(ws, id, "send", rc, why, NULL); return; }
  pending_t *p = pending_new(srv, c, id, "send");
  if (!p) { free(in.body); reply(ws, id, "send", IMC_E_NOMEM, NULL, NULL); return; }
  in.sdkappid = s->sdkappid;
  in.from_no = s->user_no;
  snprintf(in.from_id, sizeof in.from_id, "%s", from_id); /* the registry knows it: the writer need not look it up */
  snprintf(in.to_id, sizeof in.to_id, "%s", to_id);
  if (!has_seq) in.cseq = im_c2c_random32(srv->c2c);
  if (!has_random) in.random = im_c2c_random32(srv->c2c);
  in.flags = (no_unread ? STORE_MSG_NO_UNREAD : 0) | (no_last ? STORE_MSG_NO_LAST : 0) |
             (receipt ? STORE_MSG_NEED_RECEIPT : 0);
  in.life_s = online ? 0 : im_limit(&srv->limits, s->sdkappid, IM_LIMIT_RETENTION_S);
  in.sync_other = IM_SYNC_YES;
  in.from_sid = s->sid;
  im_c2c_send(srv->c2c, &in, sent, p);
}

/* ---- sync ------------------------------------------------------------------------------------ */
static void synced(void *ud, int rc, im_session_t *s, const im_sync_page_t *page)
{
  pending_t *p = ud;
  (void)s;
  json_t *extra = NULL;
  if (!rc && page) {
    json_t *evs = json_array();
    for (size_t i = 0; i < page->n; i++) json_array_append_new(evs, event_json(&page->evs[i]));
    extra = json_pack("{s:o,s:I,s:b}", "events", evs, "cursor", (json_int_t)page->cursor, "complete", page->complete);
  }
  pending_reply(p, rc, extra);
}

void cws_op_sync(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  uint32_t cursor = 0, limit = 0;
  if (opt_u32(req, "cursor", &cursor, NULL) || opt_u32(req, "limit", &limit, NULL)) {
    reply(ws, id, "sync", IMC_E_INVAL, "cursor and limit must be integers 0..4294967295", NULL);
    return;
  }
  pending_t *p = pending_new(srv, c, id, "sync");
  if (!p) { reply(ws, id, "sync", IMC_E_NOMEM, NULL, NULL); return; }
  int rc = im_c2c_sync(srv->c2c, sess(c), cursor, limit > 100000 ? 100000 : (int)limit, synced, p);
  if (rc) {
    reply(ws, id, "sync", rc, rc == IMC_E_BUSY ? "a sync page is already being read for this connection" : NULL, NULL);
    cws_release(p->c);
    json_decref(p->id);
    free(p);
  }
}

/* ---- history ------------------------------------------------------------------------------------ */
static void history_done(void *ud, int rc, const im_msg_list_t *l)
{
  pending_t *p = ud;
  json_t *extra = NULL;
  if (!rc) {
    json_t *msgs = json_array();
    for (size_t i = 0; i < l->n; i++) json_array_append_new(msgs, wsm_msg_json(&l->msgs[i]));
    extra = json_pack("{s:o,s:b}", "msgs", msgs, "complete", l->complete);
  }
  pending_reply(p, rc, extra);
}

void cws_op_history(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id;
  uint32_t peer, before = 0, limit = 20;
  int rc = peer_of(srv, c, req, "peer", &peer_id, &peer);
  if (rc) { reply(ws, id, "history", rc, NULL, NULL); return; }
  if (opt_u32(req, "before_seq", &before, NULL) || opt_u32(req, "limit", &limit, NULL) || limit < 1 || limit > 100) {
    reply(ws, id, "history", IMC_E_INVAL, "before_seq must be an integer, limit 1..100", NULL);
    return;
  }
  pending_t *p = pending_new(srv, c, id, "history");
  if (!p) { reply(ws, id, "history", IMC_E_NOMEM, NULL, NULL); return; }
  im_c2c_history(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, peer, before, 0, 0, NULL, (int)limit, history_done, p);
}

/* ---- recall, read, pin, delete, typing --------------------------------------------------------- */
void cws_op_recall(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id;
  uint32_t peer;
  int rc = peer_of(srv, c, req, "peer", &peer_id, &peer);
  if (rc) { reply(ws, id, "recall", rc, NULL, NULL); return; }
  json_t *key = json_object_get(req, "msg_key");
  if (!json_is_string(key)) { reply(ws, id, "recall", IMC_E_MSG_KEY, NULL, NULL); return; }
  pending_t *p = pending_new(srv, c, id, "recall");
  if (!p) { reply(ws, id, "recall", IMC_E_NOMEM, NULL, NULL); return; }
  im_c2c_recall(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, sess(c)->user_no, peer, json_string_value(key),
                done_reply, p);
}

void cws_op_read(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id;
  uint32_t peer, seq = 0;
  int rc = peer_of(srv, c, req, "peer", &peer_id, &peer);
  if (rc) { reply(ws, id, "read", rc, NULL, NULL); return; }
  if (opt_u32(req, "seq", &seq, NULL)) { reply(ws, id, "read", IMC_E_INVAL, "seq must be an integer", NULL); return; }
  pending_t *p = pending_new(srv, c, id, "read");
  if (!p) { reply(ws, id, "read", IMC_E_NOMEM, NULL, NULL); return; }
  im_c2c_read(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, peer, seq, 0, done_reply, p);
}

static void convs_done(void *ud, int rc, const im_conv_list_t *l)
{
  pending_t *p = ud;
  json_t *extra = NULL;
  if (!rc) {
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++) {
      const im_conv_t *cv = &l->convs[i];
      json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:I,s:I,s:b}", "peer", cv->peer_id, "last_seq",
                                           (json_int_t)cv->last_seq, "last_time", (json_int_t)cv->last_time_s,
                                           "read_seq", (json_int_t)cv->read_seq, "unread", (json_int_t)cv->unread,
                                           "pinned", cv->pinned_at_s != 0));
    }
    extra = json_pack("{s:o}", "conversations", arr);
  }
  pending_reply(p, rc, extra);
}

void cws_op_conversations(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  (void)req;
  pending_t *p = pending_new(srv, c, id, "conversations");
  if (!p) { reply(ws, id, "conversations", IMC_E_NOMEM, NULL, NULL); return; }
  im_c2c_conversations(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, 0, convs_done, p);
}

void cws_op_pin(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id;
  uint32_t peer;
  int pinned;
  int rc = peer_of(srv, c, req, "peer", &peer_id, &peer);
  if (rc) { reply(ws, id, "pin", rc, NULL, NULL); return; }
  if (!json_is_boolean(json_object_get(req, "pinned")) || opt_bool(req, "pinned", &pinned)) {
    reply(ws, id, "pin", IMC_E_INVAL, "pinned must be a boolean", NULL);
    return;
  }
  pending_t *p = pending_new(srv, c, id, "pin");
  if (!p) { reply(ws, id, "pin", IMC_E_NOMEM, NULL, NULL); return; }
  /* pinning: at most REL_PINNED_MAX pinned conversations (51012), counted
   * by the writer job itself, so concurrent pins cannot pass it together */
  im_c2c_pin(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, peer, pinned, REL_PINNED_MAX, peer_id, done_reply, p);
}

void cws_op_conv_delete(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id;
  uint32_t peer;
  int clear;
  int rc = peer_of(srv, c, req, "peer", &peer_id, &peer);
  if (rc) { reply(ws, id, "conv_delete", rc, NULL, NULL); return; }
  if (opt_bool(req, "clear", &clear)) { reply(ws, id, "conv_delete", IMC_E_INVAL, "clear must be a boolean", NULL); return; }
  pending_t *p = pending_new(srv, c, id, "conv_delete");
  if (!p) { reply(ws, id, "conv_delete", IMC_E_NOMEM, NULL, NULL); return; }
  im_c2c_conv_delete(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, peer, clear, peer_id, done_reply, p);
}

void cws_op_typing(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id;
  uint32_t peer;
  int rc = peer_of(srv, c, req, "peer", &peer_id, &peer);
  if (!rc) im_c2c_typing(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, NULL, peer);
  reply(ws, id, "typing", rc, NULL, NULL);
}
