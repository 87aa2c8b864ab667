/* ws_msg_read.c — the reads of the client WebSocket's messaging ops
 * (docs/protocol.md): sync pages, history pages, the conversation list. The
 * wire format only; the semantics are src/im/c2c.h and src/im/conv.h. A
 * read of or with an account being deleted waits in the deletion gate
 * (§113); a history accepted before a deletion and read after it runs again
 * (§115, §118). Loop thread only.
 */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "api/ws_msg_int.h"
#include "api/ws_msg_json.h"
#include "im/conv.h"
#include "util/err.h"

#include <string.h>

#define reply cws_reply

/* The connection's session (cws_conn_t embeds it; the core needs it mutable). */
static im_session_t *sess(cws_conn_t *c) { return (im_session_t *)cws_session(c); }

/* ---- sync --------------------------------------------------------------------------------------- */
/* A sync page's reply as fixed-format text: the events that are messages
 * through wsm_push_text (their packed bodies copied, not parsed), the others
 * through their jansson form; byte for byte what the jansson reply below
 * makes. 0, or the writer's error (the caller then builds that reply). */
static int sync_text(jsonw_t *w, const pending_t *p, const im_sync_page_t *page)
{
  const char *ok = imc_strerror(0);
  jsonw_reset(w);
  jsonw_lit(w, "{\"id\":");
  if (p->id) jsonw_json(w, p->id);
  else if (p->id_is_num) jsonw_i64(w, p->id_num);
  else jsonw_lit(w, "null");
  jsonw_lit(w, ",\"op\":\"sync\",\"code\":");
  jsonw_i64(w, imc_err_compat(0));
  jsonw_lit(w, ",\"msg\":");
  jsonw_str(w, ok, strlen(ok));
  jsonw_lit(w, ",\"events\":[");
  for (size_t i = 0; i < page->n && !w->failed; i++) {
    if (i) jsonw_lit(w, ",");
    size_t mark = w->len;
    if (!wsm_push_text(w, &page->evs[i]) || w->failed) continue;
    w->len = mark; /* not a message in packed form: what wsm_push_text wrote goes */
    w->buf[mark] = 0;
    json_t *o = wsm_event_json(&page->evs[i]);
    if (!o) return IMC_E_NOMEM;
    jsonw_json(w, o);
    json_decref(o);
  }
  jsonw_lit(w, "],\"cursor\":");
  jsonw_u64(w, page->cursor);
  if (page->complete) jsonw_lit(w, ",\"complete\":true}");
  else jsonw_lit(w, ",\"complete\":false}");
  return w->failed;
}

static void synced(void *ud, int rc, im_session_t *s, const im_sync_page_t *page)
{
  pending_t *p = ud;
  net_ws_t *ws = !rc && page ? wsm_pending_ws(p) : NULL;
  if (ws && !sync_text(&p->srv->frame_text, p, page)) {
    net_ws_send_text(ws, p->srv->frame_text.buf, p->srv->frame_text.len);
    wsm_pending_free(p);
    return;
  }
  json_t *extra = NULL;
  api_srv_t *srv = p->srv;
  int unmade = 0;
  if (!rc && page) {
    json_t *evs = json_array();
    for (size_t i = 0; i < page->n && evs; i++)
      if (json_array_append_new(evs, wsm_event_json(&page->evs[i]))) { json_decref(evs); evs = NULL; }
    if (evs) extra = json_pack("{s:o,s:I,s:b}", "events", evs, "cursor", (json_int_t)page->cursor, "complete", page->complete);
    if (!extra) rc = IMC_E_NOMEM, unmade = 1; /* never a page with an event left out: its cursor would skip it */
  }
  wsm_reply_msg(p, rc, rc == IMC_E_INVAL ? "cursor is beyond the user's last event" : NULL, extra);
  /* a last page made the session live: the device would get the pushes after a page it never had (§70) */
  if (unmade && page->complete && s) cws_push_lost(srv, s);
}

void cws_op_sync(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  uint32_t cursor = 0, limit = 0;
  if (wsm_opt_u32(req, "cursor", &cursor, NULL) || wsm_opt_u32(req, "limit", &limit, NULL)) {
    reply(ws, id, "sync", IMC_E_INVAL, "cursor and limit must be integers 0..4294967295", NULL);
    return;
  }
  /* of an account being deleted: after its deletion, if its session is still online then (§113) */
  if (rel_gate_ws_names(srv, ws, c, cws_op_sync, id, req, 0)) return;
  pending_t *p = wsm_pending_new(srv, c, id, "sync");
  if (!p) { reply(ws, id, "sync", IMC_E_NOMEM, NULL, NULL); return; }
  int rc = im_c2c_sync(srv->c2c, sess(c), cursor, limit > 100000 ? 100000 : (int)limit, synced, p);
  if (rc) {
    reply(ws, id, "sync", rc, rc == IMC_E_BUSY ? "a sync page is already being read for this connection" : NULL, NULL);
    wsm_pending_free(p);
  }
}

/* ---- history ------------------------------------------------------------------------------------ */
static void history_run(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req, uint8_t rereads);

/* A history's completion (§115): 0 to answer it (to nobody if its connection closed); 1 when rel_gate_stale: p run
 * again from the start on the same connection and login — or made to wait for the reader queue's room first, as a
 * frame's read does (§121) — or answered 60018 past REL_GATE_REREADS_MAX reruns. */
static int history_reread(pending_t *p)
{
  api_srv_t *srv = p->srv;
  net_ws_t *ws = wsm_pending_ws(p);
  const im_session_t *s = ws ? sess(p->c) : NULL;
  if (!s || !rel_gate_stale(srv, p->epoch, s->sdkappid, (const uint32_t[]){ s->user_no, p->peer_no }, 2)) return 0;
  if (p->rereads >= REL_GATE_REREADS_MAX) { wsm_reply_msg(p, IMC_E_OVERLOADED, REL_GATE_REREAD_WHY, NULL); return 1; }
  const cws_op_t *o = cws_op_row(cws_op_history);
  json_t *rid = json_object_get(p->req, "id"); /* as cws_on_text read it: borrowed from the request */
  /* the reader queue full, or reads waiting for its room: it waits there, this rerun counted (§121) */
  if (o && cws_read_wait_park(srv, ws, p->c, o, json_is_null(rid) ? NULL : rid, p->req, (uint8_t)(p->rereads + 1))) {
    wsm_pending_free(p);
    return 1;
  }
  json_t *id = wsm_pending_id(p);
  cws_reader_owner(srv, p->c, o ? o->reply_only : 0); /* its reads queue as the connection's (§65) */
  history_run(srv, ws, p->c, id, p->req, (uint8_t)(p->rereads + 1));
  cws_reader_owner(srv, NULL, 0);
  json_decref(id);
  wsm_pending_free(p); /* after the run: its hold kept the connection */
  return 1;
}

static void history_done(void *ud, int rc, const im_msg_list_t *l)
{
  pending_t *p = ud;
  /* a deletion committed since it was accepted: from the start, its peer looked up again (§115) */
  if (history_reread(p)) return;
  json_t *extra = NULL;
  if (!rc) {
    json_t *msgs = json_array();
    for (size_t i = 0; i < l->n && msgs; i++)
      if (json_array_append_new(msgs, wsm_msg_json(&l->msgs[i]))) { json_decref(msgs); msgs = NULL; }
    if (msgs) extra = json_pack("{s:o,s:b,s:I}", "msgs", msgs, "complete", l->complete, "peer_no", (json_int_t)p->peer_no);
    if (!extra) rc = IMC_E_NOMEM; /* never a page with a message left out */
  }
  wsm_reply(p, rc, extra);
}

static void history_run(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req, uint8_t rereads)
{
  const char *peer_id;
  uint32_t peer, before = 0, limit = 20;
  int rc = wsm_peer_lookup(srv, c, req, "peer", 1, &peer_id, &peer); /* a deleted peer's messages are kept */
  if (rc) { reply(ws, id, "history", rc, NULL, NULL); return; }
  if (wsm_opt_u32(req, "before_seq", &before, NULL) || wsm_opt_u32(req, "limit", &limit, NULL) || limit < 1 || limit > 100) {
    reply(ws, id, "history", IMC_E_INVAL, "before_seq must be an integer, limit 1..100", NULL);
    return;
  }
  /* of or with an account being deleted: after its deletion, from the start (§113), its reruns counted (§118) */
  if (rel_gate_ws_rerun_names(srv, ws, c, cws_op_history, id, req, peer, rereads)) return;
  pending_t *p = wsm_pending_new(srv, c, id, "history");
  if (!p) { reply(ws, id, "history", IMC_E_NOMEM, NULL, NULL); return; }
  p->peer_no = peer;
  p->req = json_incref(req);
  p->epoch = srv->rel_gate.committed; /* compared by history_done (§115) */
  p->rereads = rereads;
  im_c2c_history(srv->c2c, sess(c)->sdkappid, sess(c)->user_no, peer, before, 0, 0, NULL, 0, (int)limit, history_done, p);
}

/* A new request (0 reruns), or one run from the gate: the reruns it had made (rel_gate.ws_rereads, §118). */
void cws_op_history(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  history_run(srv, ws, c, id, req, srv->rel_gate.ws_rereads);
}

/* ---- conversations ------------------------------------------------------------------------------ */
/* A continuation's turn or end (ws_read_wait.c): the kept page's second read queued again, or the page ended. */
static void convs_again(void *again, int rc) { im_conv_page_again(again, rc); }

/* The page's second read (its unread counts, queued by the first one's completion: im_conv_page) refused by the
 * reader queue's cap (a completion's read: never by a share): the page is kept (IM_CONV_UNREAD_WAIT) and that read
 * waits for the queue's room in ws_read_wait.c, queued again at its turn; the first read is not run again (§124).
 * Its refusal there (out of memory only: the turn comes with room and share) ends the page 60018. */
static void convs_wait(pending_t *p, im_conv_again_t *again)
{
  int rc = wsm_pending_ws(p) ? cws_read_wait_cont(p->srv, p->c, convs_again, again) : IMC_E_CANCELED;
  if (rc) im_conv_page_again(again, rc); /* convs_done again with rc: answered (or freed, CANCELED) */
}

static void convs_done(void *ud, int rc, const im_conv_page_t *pg)
{
  pending_t *p = ud;
  if (rc == IMC_E_OVERLOADED && pg && pg->again) { convs_wait(p, pg->again); return; }
  if (rc == IMC_E_CANCELED) { wsm_pending_free(p); return; } /* its session ended: nobody to answer */
  json_t *extra = NULL;
  if (!rc) {
    json_t *arr = json_array();
    int bad = 0;
    for (size_t i = 0; i < pg->n; i++) {
      const im_conv_item_t *it = &pg->items[i];
      json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:b}", it->group ? "group_id" : "peer", it->id, "last_seq",
                            (json_int_t)it->last_seq, "last_time", (json_int_t)it->last_time_s, "read_seq",
                            (json_int_t)it->read_seq, "unread", (json_int_t)it->unread, "pinned", it->pinned_at_s != 0);
      if (o && !it->group && json_object_set_new(o, "peer_no", json_integer(it->no))) { json_decref(o); o = NULL; }
      api_list_add(arr, o, &bad); /* a conversation left out: the reply is one that could not be made */
    }
    if (bad) { json_decref(arr); arr = NULL; }
    extra = json_pack("{s:o,s:b,s:{s:I,s:I,s:I,s:I}}", "conversations", arr, "complete", pg->complete, "cursor", "time",
                      (json_int_t)pg->next.time_s, "key", (json_int_t)pg->next.key, "pin_time",
                      (json_int_t)pg->next.pin_s, "pin_place", (json_int_t)pg->next.pin_place);
  }
  wsm_reply_fields(p, rc, extra);
}

/* The cursor a reply gave (absent: the first page): four non-negative integers. */
static int conv_cursor(json_t *req, im_conv_cursor_t *cur)
{
  static const char *const names[] = { "time", "key", "pin_time", "pin_place" };
  int64_t *v[] = { &cur->time_s, &cur->key, &cur->pin_s, &cur->pin_place };
  json_t *o = json_object_get(req, "cursor");
  *cur = (im_conv_cursor_t){ 0, 0, 0, 0 };
  if (!o) return 0;
  if (!json_is_object(o)) return IMC_E_INVAL;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    json_t *x = json_object_get(o, names[i]);
    if (!json_is_integer(x) || json_integer_value(x) < 0) return IMC_E_INVAL;
    *v[i] = json_integer_value(x);
  }
  return 0;
}

/* A page of both kinds (im_conv_page): pinned first, empty conversations only when pinned, with unread
 * counts; at most `limit`, by default what the list holds (every pin and the kept others). */
void cws_op_conversations(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  im_conv_cursor_t cur;
  int64_t all = im_limit(&srv->limits, sess(c)->sdkappid, IM_LIMIT_RECENT_KEPT) + REL_PINNED_MAX, limit = all;
  json_t *l = json_object_get(req, "limit");
  if (conv_cursor(req, &cur)) {
    reply(ws, id, "conversations", IMC_E_INVAL, "cursor must be the cursor object of a conversations reply", NULL);
    return;
  }
  if (l && (!json_is_integer(l) || json_integer_value(l) < 1)) {
    reply(ws, id, "conversations", IMC_E_INVAL, "limit must be a positive integer", NULL);
    return;
  }
  if (l && json_integer_value(l) < all) limit = json_integer_value(l);
  if (rel_gate_ws_names(srv, ws, c, cws_op_conversations, id, req, 0)) return; /* as sync (§113) */
  pending_t *p = wsm_pending_new(srv, c, id, "conversations");
  if (!p) { reply(ws, id, "conversations", IMC_E_NOMEM, NULL, NULL); return; }
  /* its second read waits for the reader queue's room if refused (§124) */
  im_conv_page(srv->c2c, srv->groups, sess(c)->sdkappid, sess(c)->user_no, &cur,
               IM_CONV_PINNED_FIRST | IM_CONV_EMPTY_PINNED | IM_CONV_UNREAD | IM_CONV_UNREAD_WAIT, limit, convs_done, p);
}
