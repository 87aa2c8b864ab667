/* ws_reply.c — the client WebSocket protocol's replies (docs/protocol.md
 * "Frames"): {id, op, code, msg, …} as one text frame, and the fixed-format
 * answer of a login and of a heartbeat. Loop thread only. */
#include "api/api_int.h"
#include "util/err.h"
#include "util/faultsim.h"
#include "util/jsonw.h"

#include <stdlib.h>
#include <string.h>

void cws_send_json(net_ws_t *ws, json_t *o)
{
  char *text = json_dumps(o, JSON_COMPACT);
  if (text) { net_ws_send_text(ws, text, strlen(text)); free(text); }
  json_decref(o);
}

/* A reply that could not be made whole (out of memory): never one with a member left out (a code 0 without
 * its events would read as "nothing"), and never none at all (the client would wait for its id for ever):
 * the connection is closed with 1011, as for a push that could not be made; the client reconnects and asks
 * again. */
static void reply_lost(net_ws_t *ws, json_t *o, json_t *extra)
{
  json_decref(o);
  json_decref(extra);
  net_ws_close(ws, 1011, "out of memory making a reply");
}

void cws_reply(net_ws_t *ws, json_t *id, const char *op, int err, const char *msg, json_t *extra)
{
  json_t *o = imc_fault(IMC_FAULT_REPLY_JSON) ? NULL : json_object();
  if (!o || json_object_set(o, "id", id ? id : json_null()) ||
      (op && json_object_set_new(o, "op", json_string(op))) ||
      json_object_set_new(o, "code", json_integer(imc_err_compat(err))) ||
      json_object_set_new(o, "msg", json_string(msg ? msg : imc_strerror(err))) || (extra && json_object_update(o, extra))) {
    reply_lost(ws, o, extra);
    return;
  }
  json_decref(extra);
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!text) { reply_lost(ws, NULL, NULL); return; }
  net_ws_send_text(ws, text, strlen(text));
  free(text);
}

void cws_reply_fields(net_ws_t *ws, json_t *id, const char *op, int err, const char *msg, json_t *extra)
{
  if (!err && !extra) reply_lost(ws, NULL, NULL);
  else cws_reply(ws, id, op, err, msg, extra);
}

/* Written with jsonw: byte for byte what cws_reply writes, without building a
 * jansson object (a third of a login's answer). One buffer, reused. */
void cws_reply_ok_time(net_ws_t *ws, json_t *id, const char *op, int64_t server_time, uint32_t account_no)
{
  static jsonw_t w;
  const char *msg = imc_strerror(0);
  if (!w.max_bytes) jsonw_init(&w, 64 * 1024);
  jsonw_reset(&w);
  jsonw_lit(&w, "{\"id\":");
  if (id) jsonw_json(&w, id);
  else jsonw_lit(&w, "null");
  jsonw_lit(&w, ",\"op\":");
  jsonw_str(&w, op, strlen(op));
  jsonw_lit(&w, ",\"code\":");
  jsonw_i64(&w, imc_err_compat(0));
  jsonw_lit(&w, ",\"msg\":");
  jsonw_str(&w, msg, strlen(msg));
  jsonw_lit(&w, ",\"server_time\":");
  jsonw_i64(&w, server_time);
  if (account_no) {
    jsonw_lit(&w, ",\"account_no\":");
    jsonw_u64(&w, account_no);
  }
  jsonw_lit(&w, "}");
  if (!w.failed) { net_ws_send_text(ws, w.buf, w.len); return; }
  json_t *extra = json_pack("{s:I}", "server_time", (json_int_t)server_time);
  if (!extra || (account_no && json_object_set_new(extra, "account_no", json_integer(account_no)))) {
    reply_lost(ws, NULL, extra);
    return;
  }
  cws_reply(ws, id, op, 0, NULL, extra);
}
