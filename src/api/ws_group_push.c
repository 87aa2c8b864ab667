/* ws_group_push.c — the pushes of the group core over the client WebSocket
 * protocol (docs/protocol.md): one encoded frame per event, shared by every
 * receiving connection, and the hooks the group core calls for sending,
 * live-room coalescing and its timer. Loop thread only. */
#include "api/api_int.h"
#include "im/damaged.h"
#include "util/clock.h"
#include "util/faultsim.h"
#include "util/turnlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
const char *const api_group_priorities[] = { "Normal", "High", "Low", "Lowest", NULL };

/* A group message's stored members as the protocol names them, and its flags, in the order the object has them. */
static const struct { const char *stored, *name; } msg_parts[] = {
  { "MsgBody", "body" }, { "CloudCustomData", "cloud_custom_data" }, { "SystemNotice", "system" },
};
static const struct { uint32_t flag; const char *name; } msg_flags[] = {
  { STORE_GMSG_RECALLED, "recalled" }, { STORE_GMSG_MODIFIED, "modified" }, { STORE_GMSG_NO_UNREAD, "no_unread" },
};

/* A group message as the protocol's JSON; NULL when any part of it could not
 * be made (out of memory): never an object without its body, but for a stored
 * body that does not parse: "damaged":true instead (§88). "chg": the number
 * of its last change (absent: never changed, §19). A deleted message's
 * placeholder (a group_sync change) has no body and no flag but "deleted". */
json_t *cws_group_msg_json(const store_grp_msg_t *m)
{
  int deleted = (m->flags & STORE_GMSG_DELETED) != 0;
  json_t *o = json_pack("{s:I,s:s,s:I,s:I,s:s}", "seq", (json_int_t)m->seq, "from", m->from_id ? m->from_id : "",
                        "time", (json_int_t)m->time_s, "random", (json_int_t)m->random, "priority",
                        api_group_priorities[m->priority & 3]);
  json_t *content = NULL, *to = NULL;
  /* a body that does not parse: the row without it, marked (§88); one whose parse ran out of memory: NULL (§70).
   * The recipients of a targeted message are text the store made (json_group_array): out of memory only. */
  int loaded = m->body_len && !deleted ? im_body_load(m->body, m->body_len, &content) : IM_BODY_OK;
  if (m->to_json) to = json_loads(m->to_json, 0, NULL);
  /* a test's out of memory (util/faultsim.h): the object is left without its body, as a failed set leaves it */
  int bad = !o || loaded < 0 || (m->to_json && !to) || imc_fault(IMC_FAULT_GROUP_PUSH_JSON);
  if (!bad && loaded == IM_BODY_DAMAGED) {
    bad = json_object_set_new(o, "damaged", json_true());
    if (!bad) im_damaged_note(&(im_damaged_row_t){ IM_DAMAGED_GROUP, m->sdkappid, m->group_no, m->seq, m->from_id, NULL });
  }
  for (size_t i = 0; !bad && content && i < sizeof msg_parts / sizeof *msg_parts; i++) {
    json_t *v = json_object_get(content, msg_parts[i].stored);
    bad = v && json_object_set(o, msg_parts[i].name, v);
  }
  for (size_t i = 0; !bad && !deleted && i < sizeof msg_flags / sizeof *msg_flags; i++)
    bad = (m->flags & msg_flags[i].flag) && json_object_set_new(o, msg_flags[i].name, json_true());
  if (!bad && deleted) bad = json_object_set_new(o, "deleted", json_true());
  if (!bad && m->change) bad = json_object_set_new(o, "chg", json_integer(m->change));
  if (!bad && to) bad = json_object_set_new(o, "to", to); /* takes to, even when it fails */
  else json_decref(to);
  json_decref(content);
  if (!bad) return o;
  json_decref(o);
  return NULL;
}

static const char *const ev_types[] = {
  [IM_GEV_MSG] = "group_msg", [IM_GEV_RECALL] = "group_recall", [IM_GEV_MODIFY] = "group_modify",
  [IM_GEV_SYSTEM] = "group_system", [IM_GEV_DISSOLVED] = "group_dissolved", [IM_GEV_DELETE] = "group_msgs_deleted",
};

/* The event's frame; NULL when any part of it could not be made (the group
 * core then treats it as a frame it could not make: §66, §67, §70). */
static void *hook_encode(void *ud, const im_gevent_t *ev)
{
  (void)ud;
  json_t *o = json_pack("{s:s,s:s,s:s}", "type", ev_types[ev->kind], "group_id", ev->group_id, "group_type",
                        im_gtype_info(ev->type)->name);
  if (!o) return NULL;
  int bad = 0;
  switch (ev->kind) {
  case IM_GEV_MSG:
    bad = json_object_set_new(o, "msg", cws_group_msg_json(ev->msg));
    break;
  case IM_GEV_MODIFY: /* and the change's number: the client's change cursor (group_sync after_change) */
    bad = json_object_set_new(o, "msg", cws_group_msg_json(ev->msg)) ||
          json_object_set_new(o, "change", json_integer(ev->change));
    break;
  case IM_GEV_RECALL:
    bad = json_object_set_new(o, "seq", json_integer(ev->msg->seq)) ||
          json_object_set_new(o, "change", json_integer(ev->change));
    break;
  case IM_GEV_DELETE: { /* the seqs, their changes consecutive up to change (§19) */
    json_t *a = json_array();
    bad = !a || json_object_set_new(o, "seqs", a) || json_object_set_new(o, "change", json_integer(ev->change));
    for (size_t i = 0; !bad && i < ev->n_seqs; i++) bad = json_array_append_new(a, json_integer(ev->seqs[i]));
    break;
  }
  case IM_GEV_SYSTEM:
    bad = json_object_set_new(o, "content", json_string(ev->content ? ev->content : ""));
    break;
  case IM_GEV_DISSOLVED: /* a live room's: its created and time, as a stored group's inbox event has them */
    bad = json_object_set_new(o, "created", json_integer(ev->created_s)) ||
          json_object_set_new(o, "time", json_integer(ev->time_s));
    break;
  }
  char *text = bad ? NULL : json_dumps(o, JSON_COMPACT);
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
