/* ws_group.c — the group side of the client WebSocket protocol
 * (docs/protocol.md): the pushes of the group core (one encoded frame per
 * event, shared by every receiving connection). Loop thread only. */
#include "api/rest_group.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static const char *const prio_names[] = { "Normal", "High", "Low", "Lowest" };

/* A group message as the protocol's JSON. */
json_t *cws_group_msg_json(const store_grp_msg_t *m);
json_t *cws_group_msg_json(const store_grp_msg_t *m)
{
  json_t *o = json_pack("{s:I,s:s,s:I,s:I,s:s}", "seq", (json_int_t)m->seq, "from", m->from_id ? m->from_id : "",
                        "time", (json_int_t)m->time_s, "random", (json_int_t)m->random, "priority",
                        prio_names[m->priority & 3]);
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
  return o;
}

static const char *const ev_types[] = {
  [IM_GEV_MSG] = "group_msg", [IM_GEV_RECALL] = "group_recall", [IM_GEV_MODIFY] = "group_modify",
  [IM_GEV_SYSTEM] = "group_system", [IM_GEV_APPLY] = "group_apply", [IM_GEV_DISSOLVED] = "group_dissolved",
};

static void *hook_encode(void *ud, const im_gevent_t *ev)
{
  (void)ud;
  json_t *o = json_pack("{s:s,s:s,s:s}", "type", ev_types[ev->kind], "group_id", ev->group_id, "group_type",
                        im_gtype_info(ev->type)->name);
  if (!o) return NULL;
  switch (ev->kind) {
  case IM_GEV_MSG: case IM_GEV_MODIFY:
    json_object_set_new(o, "msg", cws_group_msg_json(ev->msg));
    break;
  case IM_GEV_RECALL:
    json_object_set_new(o, "seq", json_integer(ev->msg->seq));
    break;
  case IM_GEV_SYSTEM:
    json_object_set_new(o, "content", json_string(ev->content ? ev->content : ""));
    break;
  case IM_GEV_APPLY:
    json_object_set_new(o, "user", json_string(ev->content ? ev->content : ""));
    break;
  case IM_GEV_DISSOLVED:
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

void cws_group_hooks(api_srv_t *srv, im_group_hooks_t *out)
{
  *out = (im_group_hooks_t){ srv, hook_encode, hook_send, hook_bytes, hook_release };
}

void cws_group_session_gone(api_srv_t *srv, cws_conn_t *c)
{
  const im_session_t *s = cws_session(c);
  if (srv->groups && s->sid) im_group_session_gone(srv->groups, (im_session_t *)s);
}
