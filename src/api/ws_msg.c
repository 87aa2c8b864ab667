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
#include "api/ws_msg_json.h"
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

static void pending_free(pending_t *p)
{
  cws_release(p->c);
  json_decref(p->id);
  free(p);
}

/* The connection to answer on if it is still open and still the same login, else NULL. */
static net_ws_t *pending_ws(pending_t *p)
{
  net_ws_t *ws = cws_usable(p->c);
  return ws && cws_state(p->c) == CWS_ONLINE && sess(p->c)->sid == p->sid ? ws : NULL;
}

/* Reply if the connection is still open and still the same login; release. */
static void pending_reply(pending_t *p, int rc, json_t *extra)
{
  net_ws_t *ws = pending_ws(p);
  if (ws) reply(ws, p->id, p->op, rc, NULL, extra);
  else json_decref(extra);
  pending_free(p);
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

/* ---- delivery hooks: one encoded frame per user, shared by their devices ------- */
/* The push of a message just sent is written as fixed-format text (no
 * jansson object, no parse of the stored body); every other event, and a
 * message whose text does not fit the frame writer's cap, through jansson. */
static void *hook_encode(void *ud, const im_event_t *ev)
{
  api_srv_t *srv = ud;
  jsonw_t *w = &srv->frame_text;
  jsonw_reset(w);
  if (!wsm_push_text(w, ev) && !w->failed) return net_frame_new_text(w->buf, w->len);
  json_t *o = wsm_event_json(ev);
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

/* The cap of a fixed-format frame: a push copies the packed message (at
 * most msg_max_bytes, itself at most 1 MiB) plus a few hundred bytes; a
 * frame over the cap would go through jansson. */
#define FRAME_TEXT_MAX_BYTES (4u << 20)

void cws_msg_hooks(api_srv_t *srv, im_c2c_hooks_t *out)
{
  jsonw_init(&srv->frame_text, FRAME_TEXT_MAX_BYTES);
  *out = (im_c2c_hooks_t){ srv, hook_encode, hook_send, hook_release, api_meter_day_of };
}

/* ---- send --------------------------------------------------------------------------------- */
static void sent(void *ud, int rc, const im_sent_t *r)
{
  pending_t *p = ud;
  if (!rc) { /* the reply of every message: fixed-format text, no jansson object */
    net_ws_t *ws = pending_ws(p);
    jsonw_t *w = &p->srv->frame_text;
    jsonw_reset(w);
    if (ws) wsm_sent_text(w, p->id, r);
    if (ws && !w->failed) net_ws_send_text(ws, w->buf, w->len);
    if (!ws || !w->failed) { pending_free(p); return; }
  }
  json_t *extra = NULL;
  if (!rc) { /* the frame writer failed (out of memory): as any other reply */
    char key[48];
    im_msg_key(r->cseq, r->random, r->time_s, key, sizeof key);
    extra = json_pack("{s:I,s:I,s:I,s:s,s:b}", "seq", (json_int_t)r->seq, "useq", (json_int_t)r->useq, "time",
                      (json_int_t)r->time_s, "msg_key", key, "dup", r->dup);
  }
  pending_reply(p, rc, extra);
}

/* Copy a UserID (valid: at most 32 bytes) into a buffer of cap bytes. */
static void id_copy(char *dst, size_t cap, const char *id)
{
  size_t n = strlen(id);
  if (n >= cap) n = cap - 1;
  memcpy(dst, id, n);
  dst[n] = 0;
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
  id_copy(in.from_id, sizeof in.from_id, from_id); /* the registry knows it: the writer need not look it up */
  id_copy(in.to_id, sizeof in.to_id, to_id);
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
    for (size_t i = 0; i < page->n; i++) json_array_append_new(evs, wsm_event_json(&page->evs[i]));
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
    pending_free(p);
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
