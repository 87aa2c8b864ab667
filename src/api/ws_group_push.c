/* ws_group_push.c — the pushes of the group core over the client WebSocket
 * protocol (docs/protocol.md): one encoded frame per event, shared by every
 * receiving connection, and the hooks the group core calls for sending,
 * live-room coalescing and its timer. Loop thread only. */
#include "api/api_int.h"
#include "util/clock.h"
#include "util/turnlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
const char *const api_group_priorities[] = { "Normal", "High", "Low", "Lowest", NULL };

/* A group message as the protocol's JSON. */
json_t *cws_group_msg_json(const store_grp_msg_t *m)
{
  json_t *o = json_pack("{s:I,s:s,s:I,s:I,s:s}", "seq", (json_int_t)m->seq, "from", m->from_id ? m->from_id : "",
                        "time", (json_int_t)m->time_s, "random", (json_int_t)m->random, "priority",
                        api_group_priorities[m->priority & 3]);
  if (!o) return NULL;
  json_t *content = m->body_len ? json_loadb(m->body, m->body_len, 0, NULL) : NULL;
  if (content) {
    json_t *v;
    if ((v = json_object_get(content, "MsgBody"))) json_object_set(o, "body", v);
    if ((v = json_object_get(content, "CloudCustomData"))) json_object_set(o, "cloud_custom_data", v);
    if ((v = json_object_get(content, "SystemNotice"))) json_object_set(o, "system", v);
    json_decref(content);
  }
  if (m->flags & STORE_GMSG_RECALLED) json_object_set_new(o, "recalled", json_true());
  if (m->flags & STORE_GMSG_MODIFIED) json_object_set_new(o, "modified", json_true());
  if (m->flags & STORE_GMSG_NO_UNREAD) json_object_set_new(o, "no_unread", json_true());
  json_t *to = m->to_json ? json_loads(m->to_json, 0, NULL) : NULL;
  if (to) json_object_set_new(o, "to", to); /* a targeted message: its recipients */
  return o;
}

static const char *const ev_types[] = {
  [IM_GEV_MSG] = "group_msg", [IM_GEV_RECALL] = "group_recall", [IM_GEV_MODIFY] = "group_modify",
  [IM_GEV_SYSTEM] = "group_system", [IM_GEV_DISSOLVED] = "group_dissolved",
};

static void *hook_encode(void *ud, const im_gevent_t *ev)
{
  (void)ud;
  json_t *o = json_pack("{s:s,s:s,s:s}", "type", ev_types[ev->kind], "group_id", ev->group_id, "group_type",
                        im_gtype_info(ev->type)->name);
  if (!o) return NULL;
  switch (ev->kind) {
  case IM_GEV_MSG:
    json_object_set_new(o, "msg", cws_group_msg_json(ev->msg));
    break;
  case IM_GEV_MODIFY: /* and the change's number: the client's change cursor (group_sync after_change) */
    json_object_set_new(o, "msg", cws_group_msg_json(ev->msg));
    json_object_set_new(o, "change", json_integer(ev->change));
    break;
  case IM_GEV_RECALL:
    json_object_set_new(o, "seq", json_integer(ev->msg->seq));
    json_object_set_new(o, "change", json_integer(ev->change));
    break;
  case IM_GEV_SYSTEM:
    json_object_set_new(o, "content", json_string(ev->content ? ev->content : ""));
    break;
  case IM_GEV_DISSOLVED: /* a live room's: its created and time, as a stored group's inbox event has them */
    json_object_set_new(o, "created", json_integer(ev->created_s));
    json_object_set_new(o, "time", json_integer(ev->time_s));
    break;
  }
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!text) return NULL;
  net_frame_t *f = net_frame_new_text(text, strlen(text));
  free(text);
  return f;
}

static int hook_send(void *ud, im_session_t *s, void *frame)
{
  (void)ud;
  return net_ws_send_frame(s->conn, frame);
}

static size_t hook_bytes(void *ud, void *frame)
{
  (void)ud;
  return net_frame_bytes(frame);
}

static void hook_release(void *ud, void *frame)
{
  (void)ud;
  net_frame_unref(frame);
}

static void hook_live_bytes(void *ud, uint32_t sdkappid, uint64_t bytes)
{
  api_srv_t *srv = ud;
  if (srv->meter) meter_live_bytes(srv->meter, sdkappid, bytes, imc_clock_now_s()); /* late: nothing to count */
}


/* ---- live rooms: batches, drops, the coalescing timer ---------------------------------------- */
static void *hook_concat(void *ud, void *const *frames, size_t n)
{
  (void)ud;
  return net_frame_concat((net_frame_t *const *)frames, n);
}

static size_t hook_queued(void *ud, im_session_t *s)
{
  (void)ud;
  return net_ws_queued(s->conn);
}

static void *hook_encode_dropped(void *ud, uint64_t dropped)
{
  (void)ud;
  char text[64];
  int n = snprintf(text, sizeof text, "{\"type\":\"live_dropped\",\"dropped\":%llu}", (unsigned long long)dropped);
  return net_frame_new_text(text, (size_t)n);
}

static int hook_cut(void *ud, im_session_t *s, const char *reason)
{
  (void)ud;
  return net_ws_close(s->conn, 1008, reason);
}

static uint64_t hook_now_ms(void *ud)
{
  api_srv_t *srv = ud;
  return uv_now(srv->loop);
}

static void on_live_timer_run(uv_timer_t *t)
{
  api_srv_t *srv = t->data;
  srv->live_due_ms = 0;
  if (srv->groups) im_groups_live_flush(srv->groups);
}

/* the turn log (util/turnlog.h) counts its time as timers */
static void on_live_timer(uv_timer_t *t)
{
  int tp = imc_turnlog_enter(IMC_TP_TIMERS);
  on_live_timer_run(t);
  imc_turnlog_leave(tp);
}

/* One timer for every room: kept at the earliest window end asked for. */
static void hook_arm(void *ud, uint32_t ms)
{
  api_srv_t *srv = ud;
  uint64_t due = uv_now(srv->loop) + ms;
  if (uv_is_closing((uv_handle_t *)&srv->live_timer)) return;
  if (uv_is_active((uv_handle_t *)&srv->live_timer) && srv->live_due_ms && srv->live_due_ms <= due) return;
  srv->live_due_ms = due;
  uv_timer_start(&srv->live_timer, on_live_timer, ms, 0);
}

void cws_group_hooks(api_srv_t *srv, im_group_hooks_t *out)
{
  *out = (im_group_hooks_t){ .ud = srv, .encode = hook_encode, .send = hook_send, .frame_bytes = hook_bytes,
                             .release = hook_release, .lost = cws_push_lost, .live_bytes = hook_live_bytes,
                             .day_of = api_meter_day_of,
                             .concat = hook_concat, .queued = hook_queued, .encode_dropped = hook_encode_dropped,
                             .cut = hook_cut, .now_ms = hook_now_ms, .arm = hook_arm };
}

void cws_group_session_gone(api_srv_t *srv, cws_conn_t *c)
{
  const im_session_t *s = cws_session(c);
  if (srv->groups && s->sid) im_group_session_gone(srv->groups, (im_session_t *)s);
}
