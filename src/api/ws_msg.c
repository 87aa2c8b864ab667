/* ws_msg.c — the messaging ops and pushes of the client WebSocket protocol
 * (docs/protocol.md): send, recall, read, pin, conv_delete, typing, and the
 * pending replies every messaging op shares (ws_msg_int.h; the reads: sync,
 * history, conversations are ws_msg_read.c). Only the wire format lives
 * here; the semantics are src/im/c2c.h (the conversation list:
 * src/im/conv.h). Loop thread only.
 *
 * A reply that waits for a store job finds its connection again by (app,
 * user, session id) in the presence registry: if the session logged out,
 * was kicked or closed meanwhile, the reply is dropped (the effect of a send
 * is durable all the same and reaches the user's devices by sync).
 */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "api/ws_msg_int.h"
#include "api/ws_msg_json.h"
#include "im/conv.h"
#include "im/msgbody.h"
#include "util/err.h"
#include "util/faultsim.h"
#include "util/jsonr.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define reply cws_reply

/* The connection's session (cws_conn_t embeds it; the core needs it mutable). */
static im_session_t *sess(cws_conn_t *c) { return (im_session_t *)cws_session(c); }


/* Pending requests freed on this thread, kept for the next ones (a send
 * makes one per message): linked through srv, at most PENDING_POOL_MAX.
 * Per thread: the loop thread's in the server. */
/* 16,384: about the messages in flight at saturation (see FRAME_POOL_MAX,
 * src/net/ws.c); kept after such a burst: at most ~1 MiB. */
#define PENDING_POOL_MAX 16384
static __thread struct { pending_t *head; unsigned n; } pending_pool;

pending_t *wsm_pending_new(api_srv_t *srv, cws_conn_t *c, json_t *id, const char *op)
{
  pending_t *p = pending_pool.head;
  if (p) {
    pending_pool.head = (pending_t *)(void *)p->srv;
    pending_pool.n--;
    memset(p, 0, sizeof *p);
  } else if (!(p = calloc(1, sizeof *p))) {
    return NULL;
  }
  p->srv = srv;
  p->c = cws_hold(c);
  p->sid = sess(c)->sid;
  p->id = json_incref(id);
  p->op = op;
  return p;
}

/* The pending reply's id as a jansson value (a new reference, or NULL). */
json_t *wsm_pending_id(const pending_t *p)
{
  return p->id ? json_incref(p->id) : p->id_is_num ? json_integer(p->id_num) : NULL;
}

void wsm_pending_free(pending_t *p)
{
  cws_release_req(p->srv, p->c);
  json_decref(p->id);
  json_decref(p->req);
  if (pending_pool.n >= PENDING_POOL_MAX) { free(p); return; }
  p->srv = (api_srv_t *)(void *)pending_pool.head;
  pending_pool.head = p;
  pending_pool.n++;
}

/* The connection to answer on if it is still open and still the same login, else NULL. */
net_ws_t *wsm_pending_ws(pending_t *p)
{
  net_ws_t *ws = cws_usable(p->c);
  return ws && cws_state(p->c) == CWS_ONLINE && sess(p->c)->sid == p->sid ? ws : NULL;
}

/* Reply if the connection is still open and still the same login; release. fields: the op's answer has
 * fields (cws_reply_fields: extra NULL with rc 0 is one that could not be made). */
void wsm_pending_answer(pending_t *p, int rc, const char *msg, json_t *extra, int fields)
{
  net_ws_t *ws = wsm_pending_ws(p);
  if (ws) {
    json_t *id = wsm_pending_id(p);
    (fields ? cws_reply_fields : reply)(ws, id, p->op, rc, msg, extra);
    json_decref(id);
  } else {
    json_decref(extra);
  }
  wsm_pending_free(p);
}

void wsm_reply_msg(pending_t *p, int rc, const char *msg, json_t *extra) { wsm_pending_answer(p, rc, msg, extra, 0); }
void wsm_reply(pending_t *p, int rc, json_t *extra) { wsm_pending_answer(p, rc, NULL, extra, 0); }
void wsm_reply_fields(pending_t *p, int rc, json_t *extra) { wsm_pending_answer(p, rc, NULL, extra, 1); }

static void done_reply(void *ud, int rc) { wsm_reply(ud, rc, NULL); }

/* ---- request fields --------------------------------------------------------------- */
int wsm_opt_u32(json_t *req, const char *name, uint32_t *out, int *present)
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

/* The peer named by "peer" (or "to"): its user number. gone: a deleted
 * account's too (history reads only: tenant_registry_account_find_gone). */
int wsm_peer_lookup(api_srv_t *srv, cws_conn_t *c, json_t *req, const char *name, int gone, const char **id,
                       uint32_t *no)
{
  json_t *v = json_object_get(req, name);
  if (!json_is_string(v) || !tenant_user_id_valid(json_string_value(v))) return IMC_E_MSG_TO;
  *id = json_string_value(v);
  if ((gone ? tenant_registry_account_find_gone : tenant_registry_account_find)(srv->reg, sess(c)->sdkappid, *id, no))
    return IMC_E_MSG_TO_UNKNOWN;
  return 0;
}

static int peer_of(api_srv_t *srv, cws_conn_t *c, json_t *req, const char *name, const char **id, uint32_t *no)
{
  return wsm_peer_lookup(srv, c, req, name, 0, id, no);
}

/* ---- delivery hooks: one encoded frame per user, shared by their devices ------- */
/* The push of a message just sent is written as fixed-format text (no
 * jansson object, no parse of the stored body); every other event, and a
 * message whose text does not fit the frame writer's cap, through jansson. */
static void *hook_encode(void *ud, const im_event_t *ev)
{
  api_srv_t *srv = ud;
  if (imc_fault(IMC_FAULT_PUSH_ENCODE)) return NULL; /* a test's out of memory (util/faultsim.h) */
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

static int hook_send(void *ud, im_session_t *s, void *frame)
{
  (void)ud;
  if (imc_fault(IMC_FAULT_PUSH_SEND)) return IMC_E_NOMEM; /* a test's out of memory (util/faultsim.h) */
  return net_ws_send_frame(s->conn, frame);
}

void cws_push_lost(void *ud, im_session_t *s)
{
  (void)ud;
  if (s->conn) net_ws_close(s->conn, 1011, "a push was lost (out of memory): sync again");
}

static void hook_release(void *ud, void *frame)
{
  (void)ud;
  net_frame_unref(frame);
}

/* A typing notice or an online-only message is not queued to a connection
 * that holds the live-room drop line of unsent output (live_queue_bytes, at
 * most ws_max_queued_bytes): it is dropped there, as a live-room message is,
 * so that a peer sending them faster than the connection drains cannot push
 * it past its cap (1008) with them. */
static int hook_backlogged(void *ud, const im_session_t *s, size_t bytes)
{
  const api_cfg_t *cfg = ((api_srv_t *)ud)->cfg;
  int64_t line = cfg->live_queue_bytes < cfg->ws_max_queued_bytes ? cfg->live_queue_bytes : cfg->ws_max_queued_bytes;
  /* with the push in (bytes: the core's bound on its frame): dropped before it could take the queue past its cap */
  return s->conn && (int64_t)(net_ws_queued(s->conn) + bytes) >= line;
}

/* The cap of a fixed-format frame: a push copies the packed message (at
 * most msg_max_bytes, itself at most 1 MiB) plus a few hundred bytes; a
 * frame over the cap would go through jansson. */
#define FRAME_TEXT_MAX_BYTES (4u << 20)

void cws_msg_hooks(api_srv_t *srv, im_c2c_hooks_t *out)
{
  jsonw_init(&srv->frame_text, FRAME_TEXT_MAX_BYTES);
  *out = (im_c2c_hooks_t){ srv, hook_encode, hook_send, hook_release, api_meter_day_of, hook_backlogged, cws_push_lost };
}

/* ---- send --------------------------------------------------------------------------------- */
/* Whether "send" occurs in data[0..n): memchr to each 's' (a send frame's
 * first 's' is usually its op's), cheaper than glibc's memmem on a frame. */
static int has_send(const char *data, size_t n)
{
  const char *e = data + n;
  for (const char *p = data; n >= 4 && (p = memchr(p, 's', (size_t)(e - p) - 3)); p++)
    if (!memcmp(p, "send", 4)) return 1;
  return 0;
}

static void sent(void *ud, int rc, const im_sent_t *r)
{
  pending_t *p = ud;
  if (!rc) { /* the reply of every message: fixed-format text, no jansson object */
    net_ws_t *ws = wsm_pending_ws(p);
    jsonw_t *w = &p->srv->frame_text;
    jsonw_reset(w);
    wsm_id_t id = { p->id, p->id_num, p->id_is_num };
    if (ws) wsm_sent_text(w, &id, r, p->peer_no);
    if (ws && !w->failed) net_ws_send_text(ws, w->buf, w->len);
    if (!ws || !w->failed) { wsm_pending_free(p); return; }
  }
  json_t *extra = NULL;
  if (!rc) { /* the frame writer failed (out of memory): as any other reply */
    char key[48];
    im_msg_key(r->cseq, r->random, r->time_s, key, sizeof key);
    extra = json_pack("{s:I,s:I,s:I,s:s,s:b,s:I}", "seq", (json_int_t)r->seq, "useq", (json_int_t)r->useq, "time",
                      (json_int_t)r->time_s, "msg_key", key, "dup", r->dup, "peer_no", (json_int_t)p->peer_no);
  }
  wsm_reply_fields(p, rc, extra);
}

/* Copy a UserID (valid: at most 32 bytes) into a buffer of cap bytes. */
static void id_copy(char *dst, size_t cap, const char *id)
{
  size_t n = strlen(id);
  if (n >= cap) n = cap - 1;
  memcpy(dst, id, n);
  dst[n] = 0;
}

/* A send request's fields other than the peer and the message. */
typedef struct send_opts {
  uint32_t cseq, random;
  int has_seq, has_random, online, no_unread, no_last, receipt;
} send_opts_t;

/* The peer named by to (NULL: not a string): a send's first check, on
 * both paths. 0, or the reply's code. */
static int send_peer(api_srv_t *srv, cws_conn_t *c, const char *to, uint32_t *to_no)
{
  if (!to || !tenant_user_id_valid(to)) return IMC_E_MSG_TO;
  return tenant_registry_account_find(srv->reg, sess(c)->sdkappid, to, to_no) ? IMC_E_MSG_TO_UNKNOWN : 0;
}

/* Whether the sender may send to the peer: its account, global mute,
 * blocklist, the app's friendship rule (REST sendmsg skips these). A send's
 * last check, after every field and the body were validated, so that a
 * malformed send gets its validation code whoever sends it (docs/rest-api.md
 * "Checks of a send, in order"). 0, or the reply's code. */
static int send_allowed(api_srv_t *srv, cws_conn_t *c, const char *to, uint32_t to_no, const char **from_id)
{
  im_session_t *s = sess(c);
  if (!(*from_id = cws_user_id(srv, c))) return IMC_E_USER_NOT_FOUND;
  return rel_c2c_check(srv, s->sdkappid, s->user_no, *from_id, to_no, to);
}

/* Hand a checked and packed message (body: malloc'd, taken) to the core.
 * id: the request's id (a jansson value), or NULL with id_num when id_is_num. */
static void send_submit(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, int64_t id_num, int id_is_num,
                        const char *from_id, const char *to_id, uint32_t to_no, const send_opts_t *o, char *body,
                        size_t body_len)
{
  im_session_t *s = sess(c);
  im_send_t in;
  memset(&in, 0, sizeof in);
  pending_t *p = wsm_pending_new(srv, c, id, "send");
  if (p && !id) { p->id_num = id_num; p->id_is_num = id_is_num; }
  if (p) p->peer_no = to_no; /* which account's conversation this is (protocol.md "Peers") */
  if (!p) {
    free(body);
    json_t *jid = id ? json_incref(id) : id_is_num ? json_integer(id_num) : NULL;
    reply(ws, jid, "send", IMC_E_NOMEM, NULL, NULL);
    json_decref(jid);
    return;
  }
  in.body = body;
  in.body_len = body_len;
  in.to_no = to_no;
  in.sdkappid = s->sdkappid;
  in.from_no = s->user_no;
  id_copy(in.from_id, sizeof in.from_id, from_id); /* the registry knows it: the writer need not look it up */
  id_copy(in.to_id, sizeof in.to_id, to_id);
  in.cseq = o->has_seq ? o->cseq : im_c2c_random32(srv->c2c);
  in.random = o->has_random ? o->random : im_c2c_random32(srv->c2c);
  in.flags = (o->no_unread ? STORE_MSG_NO_UNREAD : 0) | (o->no_last ? STORE_MSG_NO_LAST : 0) |
             (o->receipt ? STORE_MSG_NEED_RECEIPT : 0) | (o->has_seq ? STORE_MSG_CALLER_SEQ : 0);
  in.life_s = o->online ? 0 : IM_LIFE_RETENTION;
  in.sync_other = IM_SYNC_YES;
  in.from_sid = s->sid;
  im_c2c_send(srv->c2c, &in, sent, p);
}

void cws_op_send(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  im_session_t *s = sess(c);
  send_opts_t o;
  char why[256] = "", *body = NULL;
  size_t body_len = 0;
  const char *from_id = NULL;
  uint32_t to_no = 0;
  int rc;
  memset(&o, 0, sizeof o);
  json_t *to = json_object_get(req, "to");
  const char *to_id = json_is_string(to) ? json_string_value(to) : NULL;
  if ((rc = send_peer(srv, c, to_id, &to_no))) { reply(ws, id, "send", rc, NULL, NULL); return; }
  if (wsm_opt_u32(req, "msg_seq", &o.cseq, &o.has_seq)) { reply(ws, id, "send", IMC_E_MSG_SEQ, NULL, NULL); return; }
  if (wsm_opt_u32(req, "random", &o.random, &o.has_random)) { reply(ws, id, "send", IMC_E_MSG_RANDOM, NULL, NULL); return; }
  if (opt_bool(req, "online_only", &o.online) || opt_bool(req, "no_unread", &o.no_unread) ||
      opt_bool(req, "no_last_msg", &o.no_last) || opt_bool(req, "need_receipt", &o.receipt)) {
    reply(ws, id, "send", IMC_E_INVAL, "online_only, no_unread, no_last_msg and need_receipt are booleans", NULL);
    return;
  }
  rc = im_msg_pack(json_object_get(req, "body"), json_object_get(req, "cloud_custom_data"),
                   json_object_get(req, "offline_push_info"),
                   (size_t)im_limit(&srv->limits, s->sdkappid, IM_LIMIT_MSG_MAX_BYTES), &body, &body_len, why,
                   sizeof why);
  if (rc) { reply(ws, id, "send", rc, why, NULL); return; }
  /* the relationship check reads rows an account deletion in flight may have purged, not yet durable (§101) */
  if (rel_gate_ws_names(srv, ws, c, cws_op_send, id, req, to_no)) { free(body); return; }
  if ((rc = send_allowed(srv, c, to_id, to_no, &from_id))) {
    free(body);
    reply(ws, id, "send", rc, rc == IMC_E_USER_NOT_FOUND ? "the sender's account is gone" : NULL, NULL);
    return;
  }
  send_submit(srv, ws, c, id, 0, 0, from_id, to_id, to_no, &o, body, body_len);
}

/* ---- send without jansson ------------------------------------------------------------------
 * The frame is read by util/jsonr (no allocation per value) and the message
 * checked and packed on its tokens (im_msg_pack_tok). Accept-only: a frame
 * this path would answer with an error, or cannot decide, goes the general
 * way (cws_on_text: jansson, then cws_op_send), which gives the exact code
 * and reason; so both paths answer every frame alike. */
#define FAST_TOKENS 256     /* a plain send is ~20 tokens; more goes the general way */

/* The request fields this path reads: one pass over the frame's members
 * finds them all (a field absent stays JSONR_NONE). */
enum { F_OP, F_ID, F_TO, F_SEQ, F_RANDOM, F_ONLINE, F_NO_UNREAD, F_NO_LAST, F_RECEIPT, F_BODY, F_CLOUD, F_PUSH, F__N };
static const struct { const char *name; uint8_t len; } send_fields[F__N] = {
  { "op", 2 }, { "id", 2 }, { "to", 2 }, { "msg_seq", 7 }, { "random", 6 }, { "online_only", 11 }, { "no_unread", 9 },
  { "no_last_msg", 11 }, { "need_receipt", 12 }, { "body", 4 }, { "cloud_custom_data", 17 }, { "offline_push_info", 17 },
};

/* Absent, or an integer 0..UINT32_MAX (wsm_opt_u32). 0, or -1: not this path. */
static int tok_u32(const jsonr_doc_t *d, uint32_t v, uint32_t *out, int *present)
{
  *present = v != JSONR_NONE;
  if (v == JSONR_NONE) return 0;
  if (d->t[v].type != JSONR_INTEGER) return -1;
  int64_t x = jsonr_int(d, v);
  if (x < 0 || x > UINT32_MAX) return -1;
  *out = (uint32_t)x;
  return 0;
}

/* Absent, or a boolean (opt_bool). 0, or -1: not this path. */
static int tok_bool(const jsonr_doc_t *d, uint32_t v, int *out)
{
  *out = 0;
  if (v == JSONR_NONE) return 0;
  if (d->t[v].type != JSONR_TRUE && d->t[v].type != JSONR_FALSE) return -1;
  *out = d->t[v].type == JSONR_TRUE;
  return 0;
}

/* The request's id (token v) as the general path echoes it: a string (*id,
 * a new reference), an integer (*num, *is_num: no jansson value), else none.
 * 0, or IMC_E_NOMEM. */
static int tok_id(const jsonr_doc_t *d, uint32_t v, json_t **id, int64_t *num, int *is_num)
{
  *id = NULL;
  *is_num = 0;
  if (v == JSONR_NONE) return 0;
  const jsonr_tok_t *t = &d->t[v];
  if (t->type == JSONR_INTEGER) { *num = jsonr_int(d, v); *is_num = 1; return 0; }
  if (t->type == JSONR_NULL) return 0;             /* as absent */
  if (t->type != JSONR_STRING) return IMC_E_INVAL; /* the general path refuses it (an id no reply could echo) */
  else if (!(t->flags & JSONR_F_ESCAPED)) *id = json_stringn_nocheck(d->s + t->start, t->len);
  else {
    char *b = malloc(t->len ? t->len : 1);
    if (b) *id = json_stringn_nocheck(b, jsonr_str(d, v, b));
    free(b);
  }
  return *id ? 0 : IMC_E_NOMEM;
}

int cws_send_fast(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, const char *data, size_t len)
{
  static const cws_op_t *row;
  if (!row) { /* the table's send row: its frame cap and gate are this path's */
    for (row = cws_ops; row->name && strcmp(row->name, "send"); row++) {}
    assert(row->fn == cws_op_send && row->auth == API_AUTH_USER);
  }
  im_session_t *s = sess(c);
  jsonr_tok_t toks[FAST_TOKENS];
  jsonr_doc_t d;
  /* an account deletion of the app in flight: the general path decides whether the send waits (§101) */
  if (cws_state(c) != CWS_ONLINE || row->gate != API_GATE_NONE || row->max_frame_bytes ||
      len > cws_msg_frame_bytes(srv->cfg->msg_max_bytes) || rel_gate_held(srv, s->sdkappid))
    return IMC_E_INVAL;
  /* cheap: another op's frame (heartbeat, sync, read …) is not read twice, by
   * jsonr and then by jansson. A send holds "send" as it is, or spelled with
   * an escape (a backslash somewhere in the frame). */
  if (!has_send(data, len) && !memchr(data, '\\', len)) return IMC_E_INVAL;
  if (jsonr_parse(&d, data, len, toks, FAST_TOKENS) || toks[0].type != JSONR_OBJECT) return IMC_E_INVAL;
  uint32_t f[F__N], k = 1;
  for (int i = 0; i < F__N; i++) f[i] = JSONR_NONE;
  for (uint32_t m = 0; m < toks[0].len; m++, k = toks[k + 1].next) {
    const jsonr_tok_t *kt = &toks[k];
    int plain = !(kt->flags & JSONR_F_ESCAPED); /* then its raw bytes are the name: length and first byte first */
    for (int i = 0; i < F__N; i++) {
      if (plain && (kt->len != send_fields[i].len || data[kt->start] != send_fields[i].name[0])) continue;
      if (jsonr_str_eq(&d, k, send_fields[i].name, send_fields[i].len)) { f[i] = k + 1; break; }
    }
  }
  if (f[F_OP] == JSONR_NONE || !jsonr_str_eq(&d, f[F_OP], "send", 4)) return IMC_E_INVAL;
  char to_id[33];
  uint32_t to = f[F_TO];
  if (to == JSONR_NONE || toks[to].type != JSONR_STRING || jsonr_str_len(&d, to) >= sizeof to_id) return IMC_E_INVAL;
  to_id[jsonr_str(&d, to, to_id)] = 0;
  send_opts_t o;
  if (tok_u32(&d, f[F_SEQ], &o.cseq, &o.has_seq) || tok_u32(&d, f[F_RANDOM], &o.random, &o.has_random) ||
      tok_bool(&d, f[F_ONLINE], &o.online) || tok_bool(&d, f[F_NO_UNREAD], &o.no_unread) ||
      tok_bool(&d, f[F_NO_LAST], &o.no_last) || tok_bool(&d, f[F_RECEIPT], &o.receipt))
    return IMC_E_INVAL;
  char *body = NULL;
  size_t body_len = 0;
  if (im_msg_pack_tok(&d, f[F_BODY], f[F_CLOUD], f[F_PUSH],
                      (size_t)im_limit(&srv->limits, s->sdkappid, IM_LIMIT_MSG_MAX_BYTES), &body, &body_len))
    return IMC_E_INVAL;
  json_t *id;
  int64_t id_num = 0;
  int id_is_num;
  if (tok_id(&d, f[F_ID], &id, &id_num, &id_is_num)) { free(body); return IMC_E_INVAL; }
  /* from here on this path answers: the rest is the general path's own code */
  srv->ws_sends_fast++;
  const char *from_id = NULL;
  uint32_t to_no = 0;
  int rc = send_peer(srv, c, to_id, &to_no);
  if (!rc) rc = send_allowed(srv, c, to_id, to_no, &from_id);
  if (rc) {
    free(body);
    if (id_is_num) id = json_integer(id_num);
    reply(ws, id, "send", rc, rc == IMC_E_USER_NOT_FOUND ? "the sender's account is gone" : NULL, NULL);
  } else {
    send_submit(srv, ws, c, id, id_num, id_is_num, from_id, to_id, to_no, &o, body, body_len);
  }
  json_decref(id);
  return 0;
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
  /* with an account being deleted: after its deletion, run again then (its events would go to the deleted number) */
  if (rel_gate_ws_names(srv, ws, c, cws_op_recall, id, req, peer)) return; /* §112 */
  pending_t *p = wsm_pending_new(srv, c, id, "recall");
  if (!p) { reply(ws, id, "recall", IMC_E_NOMEM, NULL, NULL); return; }
  im_c2c_recall(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, sess(c)->user_no, peer, json_string_value(key),
                done_reply, p);
}

void cws_op_read(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id;
  uint32_t peer, seq = 0;
  int given = 0;
  int rc = peer_of(srv, c, req, "peer", &peer_id, &peer);
  if (rc) { reply(ws, id, "read", rc, NULL, NULL); return; }
  if (wsm_opt_u32(req, "seq", &seq, &given)) { reply(ws, id, "read", IMC_E_INVAL, "seq must be an integer", NULL); return; }
  if (rel_gate_ws_names(srv, ws, c, cws_op_read, id, req, peer)) return; /* as recall (§112) */
  pending_t *p = wsm_pending_new(srv, c, id, "read");
  if (!p) { reply(ws, id, "read", IMC_E_NOMEM, NULL, NULL); return; }
  /* read up to 0: nothing (read positions never move back; the core takes 0 as "the newest message"), answered
   * as a write, after the writes sent before it (§80) */
  im_c2c_read(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, peer, seq, given && seq == 0 ? IM_READ_NOTHING : 0,
              done_reply, p);
}

static void group_conv_done(void *ud, const im_gres_t *r) { wsm_reply_msg(ud, r->rc, r->why[0] ? r->why : NULL, NULL); }

/* A pin names a peer (C2C) or, with group_id, a group conversation of a group the user is a member of. */
void cws_op_pin(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id;
  uint32_t peer;
  int pinned;
  json_t *gid = json_object_get(req, "group_id");
  int rc = 0;
  if (gid && json_object_get(req, "peer")) {
    reply(ws, id, "pin", IMC_E_INVAL, "pin names peer or group_id, not both", NULL);
    return;
  }
  if (gid && (!json_is_string(gid) || !json_string_length(gid))) {
    reply(ws, id, "pin", IMC_E_GROUP_PARAM, "group_id must be a GroupId", NULL);
    return;
  }
  if (!gid && (rc = peer_of(srv, c, req, "peer", &peer_id, &peer))) { reply(ws, id, "pin", rc, NULL, NULL); return; }
  if (!json_is_boolean(json_object_get(req, "pinned")) || opt_bool(req, "pinned", &pinned)) {
    reply(ws, id, "pin", IMC_E_INVAL, "pinned must be a boolean", NULL);
    return;
  }
  if (!gid && rel_gate_ws_names(srv, ws, c, cws_op_pin, id, req, peer)) return; /* as recall (§112) */
  pending_t *p = wsm_pending_new(srv, c, id, "pin");
  if (!p) { reply(ws, id, "pin", IMC_E_NOMEM, NULL, NULL); return; }
  if (gid) { /* the same bound, over both kinds (im_c2c_pinned_count) */
    im_group_conv_pin(srv->groups, sess(c)->sdkappid, sess(c)->user_no, json_string_value(gid), pinned, REL_PINNED_MAX,
                      group_conv_done, p);
    return;
  }
  /* pinning: at most REL_PINNED_MAX pinned conversations of both kinds (51012),
   * counted by the writer job itself, so concurrent pins cannot pass it together */
  im_c2c_pin(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, peer, pinned, REL_PINNED_MAX, peer_id, done_reply, p);
}

/* A delete names a peer (C2C) or, with group_id, the user's conversation of a group it is a member of (as
 * REST recentcontact/delete Type 2: no clear, a group's history is one for every member). */
void cws_op_conv_delete(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id = NULL;
  uint32_t peer = 0;
  int clear;
  json_t *gid = json_object_get(req, "group_id");
  int rc = 0;
  if (gid && json_object_get(req, "peer")) {
    reply(ws, id, "conv_delete", IMC_E_INVAL, "conv_delete names peer or group_id, not both", NULL);
    return;
  }
  if (gid && (!json_is_string(gid) || !json_string_length(gid))) {
    reply(ws, id, "conv_delete", IMC_E_GROUP_PARAM, "group_id must be a GroupId", NULL);
    return;
  }
  if (!gid && (rc = peer_of(srv, c, req, "peer", &peer_id, &peer))) { reply(ws, id, "conv_delete", rc, NULL, NULL); return; }
  if (opt_bool(req, "clear", &clear)) { reply(ws, id, "conv_delete", IMC_E_INVAL, "clear must be a boolean", NULL); return; }
  if (gid && clear) {
    reply(ws, id, "conv_delete", IMC_E_CONV_PARAM, "clear is not supported for group conversations", NULL);
    return;
  }
  if (!gid && rel_gate_ws_names(srv, ws, c, cws_op_conv_delete, id, req, peer)) return; /* as recall (§112) */
  pending_t *p = wsm_pending_new(srv, c, id, "conv_delete");
  if (!p) { reply(ws, id, "conv_delete", IMC_E_NOMEM, NULL, NULL); return; }
  if (gid) {
    im_group_conv_delete(srv->groups, sess(c)->sdkappid, sess(c)->user_no, json_string_value(gid), group_conv_done, p);
    return;
  }
  im_c2c_conv_delete(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, peer, clear, peer_id, done_reply, p);
}

void cws_op_typing(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  const char *peer_id, *from_id;
  uint32_t peer;
  int rc = peer_of(srv, c, req, "peer", &peer_id, &peer);
  if (!rc && rel_gate_ws_names(srv, ws, c, cws_op_typing, id, req, peer)) return; /* as a send (§101) */
  /* who may not send to the peer may not show it typing either (20007, 20009–20011) */
  if (!rc) rc = !(from_id = cws_user_id(srv, c)) ? IMC_E_USER_NOT_FOUND
                                                 : rel_c2c_check(srv, sess(c)->sdkappid, sess(c)->user_no, from_id, peer, peer_id);
  /* the sender's UserID from the registry: the notice is pushed at once, no store job (never stored) */
  if (!rc) im_c2c_typing(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, from_id, peer, sess(c)->sid);
  reply(ws, id, "typing", rc, NULL, NULL);
}
