/* ws_group.c — the group ops of the client WebSocket protocol
 * (docs/protocol.md): each op's reply waits on the group core holding its
 * connection (gpend_t); the pushes are ws_group_push.c's. Loop thread only. */
#include "api/rel_api.h"
#include "api/rel_gate.h"
#include "api/rest_group.h"
#include "im/msgbody.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/turnlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ops: a pending reply holds the connection ------------------------------------------------ */
typedef struct gpend {
  api_srv_t *srv;
  cws_conn_t *c;               /* held */
  uint32_t sid;
  json_t *id;
  const char *op;
  json_t *acc;                 /* rows gathered by reads, or the request's names */
  im_gmember_in_t *users;
  uint32_t *nos;
  size_t n;
  uint32_t group_no, user_no;
  json_t *req;                 /* the request (held) */
  size_t bytes, max_bytes;     /* pages: im_page_ev_bytes of the kept rows; IM_LIMIT_PAGE_BYTES */
  int cut;                     /* pages: stopped at the byte budget, more follow */
  int reset;                   /* group_sync: after_seq was past the group's last seq, read from the start */
  json_t *chgs;                /* group_sync with after_change: the changes read (NULL: none asked) */
  int chg_cut;                 /* group_sync: the byte budget stopped the changes, more follow */
  uint32_t chg_after, chg_last; /* group_sync: the change cursor asked; the group's last change before the read */
  int lost;                    /* pages: a row could not be made (out of memory): the page is refused, not cut short */
  int64_t offset, total;       /* group_applications: the page's first row; applications waiting when asked */
} gpend_t;

static im_session_t *sess(cws_conn_t *c) { return (im_session_t *)cws_session(c); }

static gpend_t *gpend_new(api_srv_t *srv, cws_conn_t *c, json_t *id, const char *op, json_t *req)
{
  gpend_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->srv = srv;
  p->c = cws_hold(c);
  p->sid = sess(c)->sid;
  p->id = json_incref(id);
  p->op = op;
  p->req = json_incref(req);
  return p;
}

/* Release the connection, drop the references, free p (unanswered). */
static void gpend_free(gpend_t *p)
{
  cws_release_req(p->srv, p->c);
  json_decref(p->id);
  json_decref(p->acc);
  json_decref(p->chgs);
  json_decref(p->req);
  free(p->users);
  free(p->nos);
  free(p);
}

/* Reply if the connection is still open and still the same login; free p. fields: the op's answer has fields
 * (cws_reply_fields: extra NULL with rc 0 is one that could not be made). */
static void gpend_answer(gpend_t *p, int rc, const char *why, json_t *extra, int fields)
{
  net_ws_t *ws = cws_usable(p->c);
  if (ws && cws_state(p->c) == CWS_ONLINE && sess(p->c)->sid == p->sid)
    (fields ? cws_reply_fields : cws_reply)(ws, p->id, p->op, rc, why, extra);
  else json_decref(extra);
  gpend_free(p);
}

static void gpend_reply(gpend_t *p, int rc, const char *why, json_t *extra) { gpend_answer(p, rc, why, extra, 0); }
static void gpend_reply_fields(gpend_t *p, int rc, const char *why, json_t *extra) { gpend_answer(p, rc, why, extra, 1); }

static void done_plain(void *ud, const im_gres_t *r) { gpend_reply(ud, r->rc, r->why[0] ? r->why : NULL, NULL); }

static const char *req_group(json_t *req)
{
  json_t *v = json_object_get(req, "group_id");
  return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

/* "users": [UserID…] → numbers (at most max). 0 or a code with why. */
static int req_users(api_srv_t *srv, uint32_t app, json_t *req, const char *name, size_t max, uint32_t **out, size_t *n,
                     char *why, size_t cap)
{
  json_t *arr = json_object_get(req, name), *v;
  size_t i;
  if (!json_is_array(arr) || !json_array_size(arr))
    return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s must be a non-empty array of UserIDs", name);
  if (json_array_size(arr) > max) return imc_errf(why, cap, IMC_E_GROUP_TOO_MANY, "%s holds at most %zu users", name, max);
  uint32_t *u = calloc(json_array_size(arr), sizeof *u);
  if (!u) return IMC_E_NOMEM;
  json_array_foreach(arr, i, v)
    if (grp_req_account(srv, app, v, &u[i])) { free(u); return imc_errf(why, cap, IMC_E_GROUP_USER, "%s[%zu] is not an account", name, i); }
  *out = u;
  *n = json_array_size(arr);
  return 0;
}

#define NEED_GROUP(op)                                                                            \
  const char *gid = req_group(req);                                                               \
  if (!gid) { cws_reply(ws, id, op, IMC_E_GROUP_PARAM, "group_id is required", NULL); return; }

/* ---- create --------------------------------------------------------------------------------- */
static void created(void *ud, const im_gres_t *r)
{
  gpend_t *p = ud;
  gpend_reply_fields(p, r->rc, r->why[0] ? r->why : NULL, r->rc ? NULL : json_pack("{s:s}", "group_id", r->group_id));
}

void cws_op_group_create(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  static const char *const fields[][2] = { { "name", "Name" }, { "introduction", "Introduction" },
                                           { "notification", "Notification" }, { "face_url", "FaceUrl" },
                                           { "apply_join_option", "ApplyJoinOption" },
                                           { "app_defined_data", "AppDefinedData" },
                                           { "max_members", "MaxMemberCount" } };
  im_session_t *s = sess(c);
  im_gcreate_t in;
  char why[320] = "";
  int rc;
  memset(&in, 0, sizeof in);
  json_t *t = json_object_get(req, "type"), *v, *rest = json_object();
  if (!json_is_string(t) || im_gtype_parse(json_string_value(t), &in.type)) {
    json_decref(rest);
    cws_reply(ws, id, "group_create", IMC_E_GROUP_PARAM, "type must be Private, Public, ChatRoom, AVChatRoom or Community", NULL);
    return;
  }
  int lost = 0; /* a field not copied: refused, never a group made without it */
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if ((v = json_object_get(req, fields[i][0]))) lost |= json_object_set(rest, fields[i][1], v) != 0;
  json_t *info = json_object();
  rc = lost ? IMC_E_NOMEM : im_group_fields(rest, 1, "MaxMemberCount", info, &in.max_members, why, sizeof why);
  json_decref(rest);
  if (!rc && (v = json_object_get(req, "group_id"))) {
    if (!json_is_string(v) || json_string_length(v) >= sizeof in.group_id) rc = imc_errf(why, sizeof why, IMC_E_GROUP_ID, "group_id must be a string shorter than 48 bytes");
    else snprintf(in.group_id, sizeof in.group_id, "%s", json_string_value(v));
  }
  gpend_t *p = rc ? NULL : gpend_new(srv, c, id, "group_create", req);
  if (!rc && !p) rc = IMC_E_NOMEM;
  if (!rc && json_object_get(req, "members")) {
    uint32_t *nos;
    size_t n;
    if (!(rc = req_users(srv, s->sdkappid, req, "members", GRP_CREATE_MEMBERS_MAX, &nos, &n, why, sizeof why))) {
      p->nos = nos;
      p->n = n;
      if (!(p->users = calloc(n, sizeof *p->users))) rc = IMC_E_NOMEM;
      for (size_t i = 0; !rc && i < n; i++) p->users[i] = (im_gmember_in_t){ .user_no = nos[i], .role = IM_GR_MEMBER };
    }
  }
  if (rc) {
    json_decref(info);
    if (p) gpend_reply(p, rc, why[0] ? why : NULL, NULL);
    else cws_reply(ws, id, "group_create", rc, why[0] ? why : NULL, NULL);
    return;
  }
  in.sdkappid = s->sdkappid;
  in.actor_no = s->user_no;
  in.owner_no = s->user_no;   /* the creator owns it; its UserID is resolved when the group is written */
  in.info = info;
  in.members = p->users;
  in.n_members = p->n;
  im_group_create(srv->groups, &in, imc_clock_now_s(), created, p);
}

/* ---- join / approve / reject / invite ----------------------------------------------------------- */
static void joined(void *ud, const im_gres_t *r)
{
  gpend_t *p = ud;
  json_t *extra = NULL;
  if (!r->rc) {
    const char *res = r->n && r->results[0] == 3 ? "pending" : r->n && r->results[0] == 2 ? "already" : "joined";
    extra = json_pack("{s:s}", "result", res);
  }
  gpend_reply_fields(p, r->rc, r->why[0] ? r->why : NULL, extra);
}

void cws_op_group_join(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_join");
  im_session_t *s = sess(c);
  im_group_t *g = im_group_find(srv->groups, s->sdkappid, gid);
  im_group_view_t v;
  if (g) im_group_view(g, &v);
  if (g && im_gtype_info(v.type)->live) { /* a live room: this session joins */
    char why[320] = "";
    int already, rc = im_group_live_join(srv->groups, s->sdkappid, gid, s, &already, why, sizeof why);
    cws_reply_fields(ws, id, "group_join", rc, why[0] ? why : NULL,
              rc ? NULL : json_pack("{s:s}", "result", already ? "already" : "joined"));
    return;
  }
  gpend_t *p = gpend_new(srv, c, id, "group_join", req);
  if (!p || !(p->users = calloc(1, sizeof *p->users))) {
    if (p) gpend_reply(p, IMC_E_NOMEM, NULL, NULL);
    else cws_reply(ws, id, "group_join", IMC_E_NOMEM, NULL, NULL);
    return;
  }
  p->users[0] = (im_gmember_in_t){ .user_no = s->user_no, .role = IM_GR_MEMBER };
  im_group_add(srv->groups, s->sdkappid, gid, s->user_no, IM_GADD_JOIN, p->users, 1, 0, imc_clock_now_s(), joined, p);
}

static void results(void *ud, const im_gres_t *r)
{
  gpend_t *p = ud;
  json_t *extra = NULL;
  if (!r->rc) {
    json_t *arr = json_array(), *names = json_object_get(p->req, "users");
    int bad = 0; /* a result left out: the reply is one that could not be made */
    for (size_t i = 0; i < r->n; i++)
      api_list_add(arr, json_pack("{s:O,s:i}", "user", json_array_get(names, i), "result", r->results[i]), &bad);
    if (bad) json_decref(arr);
    else extra = json_pack("{s:o}", "results", arr);
  }
  gpend_reply_fields(p, r->rc, r->why[0] ? r->why : NULL, extra);
}

static void add_op(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req, const char *op, im_gadd_mode_t mode)
{
  NEED_GROUP(op);
  im_session_t *s = sess(c);
  char why[320] = "";
  uint32_t *nos;
  size_t n;
  int rc = req_users(srv, s->sdkappid, req, "users", GRP_ADD_MEMBERS_MAX, &nos, &n, why, sizeof why);
  if (rc) { cws_reply(ws, id, op, rc, why, NULL); return; }
  gpend_t *p = gpend_new(srv, c, id, op, req);
  if (!p || !(p->users = calloc(n, sizeof *p->users))) {
    free(nos);
    if (p) gpend_reply(p, IMC_E_NOMEM, NULL, NULL);
    else cws_reply(ws, id, op, IMC_E_NOMEM, NULL, NULL);
    return;
  }
  p->nos = nos;
  p->n = n;
  for (size_t i = 0; i < n; i++) p->users[i] = (im_gmember_in_t){ .user_no = nos[i], .role = IM_GR_MEMBER };
  im_group_add(srv->groups, s->sdkappid, gid, s->user_no, mode, p->users, n, 0, imc_clock_now_s(), results, p);
}

void cws_op_group_invite(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  add_op(srv, ws, c, id, req, "group_invite", IM_GADD_INVITE);
}

void cws_op_group_approve(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  add_op(srv, ws, c, id, req, "group_approve", IM_GADD_APPROVE);
}

/* A list-of-users op answered by done_plain: reject, kick, mute. */
static gpend_t *users_op(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req, const char *op, size_t max)
{
  im_session_t *s = sess(c);
  char why[320] = "";
  uint32_t *nos;
  size_t n;
  int rc = req_users(srv, s->sdkappid, req, "users", max, &nos, &n, why, sizeof why);
  if (rc) { cws_reply(ws, id, op, rc, why, NULL); return NULL; }
  gpend_t *p = gpend_new(srv, c, id, op, req);
  if (!p) { free(nos); cws_reply(ws, id, op, IMC_E_NOMEM, NULL, NULL); return NULL; }
  p->nos = nos;
  p->n = n;
  return p;
}

void cws_op_group_reject(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_reject");
  gpend_t *p = users_op(srv, ws, c, id, req, "group_reject", GRP_ADD_MEMBERS_MAX);
  if (p) im_group_reject(srv->groups, sess(c)->sdkappid, gid, sess(c)->user_no, p->nos, p->n, done_plain, p);
}

/* ---- the applications waiting in a Public group (owner and admins) ----------------------------------- */
static void application_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *m)
{
  (void)app;
  (void)gno;
  gpend_t *p = ud;
  if (m->user_id[0]) api_list_add(p->acc, json_pack("{s:s,s:I}", "user", m->user_id, "time", (json_int_t)m->join_s), &p->lost);
}

static void applications_done(void *ud, int rc)
{
  gpend_t *p = ud;
  json_t *extra = NULL;
  /* more: the page was full (p->n: the limit) and the group held more than offset + limit when asked */
  if (!rc && !p->lost) extra = json_pack("{s:O,s:I,s:b}", "applications", p->acc, "total", (json_int_t)p->total,
                             "more", json_array_size(p->acc) == p->n && p->total > p->offset + (int64_t)p->n);
  gpend_reply_fields(p, rc, NULL, extra);
}

void cws_op_group_applications(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_applications");
  im_session_t *s = sess(c);
  json_t *off = json_object_get(req, "offset"), *lim = json_object_get(req, "limit");
  if ((off && (!json_is_integer(off) || json_integer_value(off) < 0 || json_integer_value(off) > INT32_MAX)) ||
      (lim && (!json_is_integer(lim) || json_integer_value(lim) < 1 || json_integer_value(lim) > GRP_APPLICATIONS_PAGE_MAX))) {
    cws_reply(ws, id, "group_applications", IMC_E_GROUP_PARAM, "offset must be 0.. and limit 1..100", NULL);
    return;
  }
  im_group_t *g = im_group_find(srv->groups, s->sdkappid, gid);
  if (!g) { cws_reply(ws, id, "group_applications", IMC_E_GROUP_GONE, NULL, NULL); return; }
  im_grole_t r = im_group_role(g, s->user_no);
  if (r != IM_GR_OWNER && r != IM_GR_ADMIN) {
    cws_reply(ws, id, "group_applications", IMC_E_GROUP_PERM, "only the owner and admins see the applications", NULL);
    return;
  }
  im_group_view_t v;
  im_group_view(g, &v);
  gpend_t *p = gpend_new(srv, c, id, "group_applications", req);
  if (!p || !(p->acc = json_array())) {
    if (p) gpend_reply(p, IMC_E_NOMEM, NULL, NULL);
    else cws_reply(ws, id, "group_applications", IMC_E_NOMEM, NULL, NULL);
    return;
  }
  p->n = lim ? (size_t)json_integer_value(lim) : GRP_APPLICATIONS_PAGE_MAX;
  p->offset = off ? json_integer_value(off) : 0;
  p->total = (int64_t)im_group_applications(g);
  im_group_applications_read(srv->groups, v.sdkappid, v.group_no, p->offset, (int)p->n, application_row,
                             applications_done, p);
}

void cws_op_group_kick(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_kick");
  gpend_t *p = users_op(srv, ws, c, id, req, "group_kick", GRP_DELETE_MEMBERS_MAX);
  if (p) im_group_remove(srv->groups, sess(c)->sdkappid, gid, sess(c)->user_no, IM_GDEL_KICK, p->nos, p->n, 0,
                         imc_clock_now_s(), done_plain, p);
}

void cws_op_group_mute(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_mute");
  json_t *sec = json_object_get(req, "seconds");
  if (!json_is_integer(sec) || json_integer_value(sec) < 0 || json_integer_value(sec) > UINT32_MAX) {
    cws_reply(ws, id, "group_mute", IMC_E_GROUP_PARAM, "seconds must be 0..4294967295 (0 unmutes)", NULL);
    return;
  }
  gpend_t *p = users_op(srv, ws, c, id, req, "group_mute", GRP_MUTE_MEMBERS_MAX);
  if (p) im_group_mute(srv->groups, sess(c)->sdkappid, gid, sess(c)->user_no, p->nos, p->n, json_integer_value(sec),
                       imc_clock_now_s(), done_plain, p);
}

void cws_op_group_quit(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_quit");
  im_session_t *s = sess(c);
  im_group_t *g = im_group_find(srv->groups, s->sdkappid, gid);
  im_group_view_t v;
  if (g) im_group_view(g, &v);
  if (g && im_gtype_info(v.type)->live) {
    cws_reply(ws, id, "group_quit", im_group_live_quit(srv->groups, s->sdkappid, gid, s), NULL, NULL);
    return;
  }
  gpend_t *p = gpend_new(srv, c, id, "group_quit", req);
  if (!p) { cws_reply(ws, id, "group_quit", IMC_E_NOMEM, NULL, NULL); return; }
  im_group_remove(srv->groups, s->sdkappid, gid, s->user_no, IM_GDEL_QUIT, NULL, 0, 0, imc_clock_now_s(), done_plain, p);
}

void cws_op_group_transfer(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_transfer");
  im_session_t *s = sess(c);
  uint32_t no;
  json_t *u = json_object_get(req, "user");
  if (grp_req_account(srv, s->sdkappid, u, &no)) { cws_reply(ws, id, "group_transfer", IMC_E_GROUP_USER, "user is not an account", NULL); return; }
  gpend_t *p = gpend_new(srv, c, id, "group_transfer", req);
  if (!p) { cws_reply(ws, id, "group_transfer", IMC_E_NOMEM, NULL, NULL); return; }
  im_group_transfer(srv->groups, s->sdkappid, gid, s->user_no, no, json_string_value(u), imc_clock_now_s(), done_plain, p);
}

void cws_op_group_dissolve(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_dissolve");
  gpend_t *p = gpend_new(srv, c, id, "group_dissolve", req);
  if (!p) { cws_reply(ws, id, "group_dissolve", IMC_E_NOMEM, NULL, NULL); return; }
  im_group_dissolve(srv->groups, sess(c)->sdkappid, gid, sess(c)->user_no, imc_clock_now_s(), done_plain, p);
}

/* ---- send ------------------------------------------------------------------------------------------ */
static void sent(void *ud, const im_gres_t *r)
{
  gpend_t *p = ud;
  gpend_reply_fields(p, r->rc, r->why[0] ? r->why : NULL,
              r->rc ? NULL : json_pack("{s:I,s:I,s:b}", "seq", (json_int_t)r->seq, "time", (json_int_t)r->time_s, "dup", r->dup));
}

void cws_op_group_send(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_send");
  im_session_t *s = sess(c);
  im_gsend_t in;
  char why[320] = "";
  json_t *v;
  int rc;
  memset(&in, 0, sizeof in);
  snprintf(in.group_id, sizeof in.group_id, "%.63s", gid);
  in.sdkappid = s->sdkappid;
  in.from_no = s->user_no;
  in.from_sid = s->sid;
  v = json_object_get(req, "random");
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
    cws_reply(ws, id, "group_send", IMC_E_GROUP_PARAM, "random is required: an integer 0..4294967295", NULL);
    return;
  }
  in.random = (uint32_t)json_integer_value(v);
  if ((v = json_object_get(req, "priority"))) {
    int k;
    for (k = 0; api_group_priorities[k] && !(json_is_string(v) && !strcmp(api_group_priorities[k], json_string_value(v))); k++) {}
    if (!api_group_priorities[k]) { cws_reply(ws, id, "group_send", IMC_E_GROUP_PARAM, "priority must be High, Normal, Low or Lowest", NULL); return; }
    in.priority = k;
  }
  /* the flags are booleans (as send's: 70402 otherwise, so 1 or "yes" is not silently false) */
  static const char *const flag_names[] = { "online_only", "no_unread", "no_last_msg" };
  for (size_t k = 0; k < sizeof flag_names / sizeof flag_names[0]; k++)
    if ((v = json_object_get(req, flag_names[k])) && !json_is_boolean(v)) {
      cws_reply(ws, id, "group_send", IMC_E_INVAL, "online_only, no_unread and no_last_msg are booleans", NULL);
      return;
    }
  in.online_only = json_is_true(json_object_get(req, "online_only"));
  if (json_is_true(json_object_get(req, "no_unread"))) in.flags |= STORE_GMSG_NO_UNREAD;
  if (json_is_true(json_object_get(req, "no_last_msg"))) in.flags |= STORE_GMSG_NO_LAST;
  uint32_t to[STORE_GMSG_TARGETS_MAX];
  char *to_json = NULL;
  if ((v = json_object_get(req, "to")) && (rc = grp_req_targets(srv, s->sdkappid, v, to, &in, &to_json, why, sizeof why))) {
    cws_reply(ws, id, "group_send", rc, why, NULL);
    return;
  }
  rc = im_group_msg_pack(json_object_get(req, "body"), json_object_get(req, "cloud_custom_data"),
                         json_object_get(req, "offline_push_info"),
                         (size_t)im_limit(&srv->limits, s->sdkappid, IM_LIMIT_MSG_MAX_BYTES), 0, &in.body, &in.body_len,
                         why, sizeof why);
  if (rc) { free(to_json); cws_reply(ws, id, "group_send", rc, why, NULL); return; }
  /* the sender's account and global mute after every field and the body (a malformed send gets its
   * validation code, muted or not; docs/rest-api.md "Checks of a send, in order"), before the group's checks */
  const char *from_id = cws_user_id(srv, c);
  if (from_id && rel_gate_ws_names(srv, ws, c, cws_op_group_send, id, req, 0)) { /* its global mute may be purged (§101) */
    free(to_json);
    free(in.body);
    return;
  }
  const rel_user_t *ru = from_id ? rel_user(srv->rel, s->sdkappid, s->user_no) : NULL;
  if (!from_id) rc = imc_errf(why, sizeof why, IMC_E_USER_NOT_FOUND, "the sender's account is gone");
  else if (rel_val(ru, REL_K_META, REL_MUTE_GROUP) && rel_mute_left(ru, REL_MUTE_GROUP, imc_clock_now_s())) /* the clock only if muted once */
    rc = imc_errf(why, sizeof why, IMC_E_GROUP_MUTED, "the sender is muted in every group (openconfigsvr/setnospeaking)");
  if (rc) { free(to_json); free(in.body); cws_reply(ws, id, "group_send", rc, why, NULL); return; }
  snprintf(in.from_id, sizeof in.from_id, "%s", from_id);
  in.body_json = json_object_get(req, "body");
  gpend_t *p = gpend_new(srv, c, id, "group_send", req);
  if (!p) { free(to_json); free(in.body); cws_reply(ws, id, "group_send", IMC_E_NOMEM, NULL, NULL); return; }
  im_group_send(srv->groups, &in, imc_clock_now_s(), sent, p);
  free(to_json);
}

/* ---- history and sync: members only ----------------------------------------------------------------- */
/* The group of a read op, if the user may read it: 0 or the refusal. */
static int readable(api_srv_t *srv, cws_conn_t *c, const char *gid, im_group_view_t *v)
{
  im_session_t *s = sess(c);
  im_group_t *g = im_group_find(srv->groups, s->sdkappid, gid);
  if (!g) return IMC_E_GROUP_GONE;
  im_group_view(g, v);
  if (!im_gtype_info(v->type)->history) return IMC_E_GROUP_NO_HISTORY;
  if (im_group_role(g, s->user_no) == IM_GR_NONE) return IMC_E_GROUP_NOT_MEMBER;
  return 0;
}

/* A page row (reader thread), until the page's byte budget is reached
 * (the first row always goes); the rest come with the next page. */
static void msg_row(void *ud, const store_grp_msg_t *m)
{
  gpend_t *p = ud;
  size_t cost = im_page_ev_bytes(m->body_len);
  if (p->lost || p->cut || (json_array_size(p->acc) && p->bytes + cost > p->max_bytes)) { p->cut = 1; return; }
  p->bytes += cost;
  if (json_array_append_new(p->acc, cws_group_msg_json(m))) p->lost = 1;
}

static void history_done(void *ud, int rc)
{
  gpend_t *p = ud;
  json_t *extra = NULL;
  if (!rc) {
    json_t *last = json_array_get(p->acc, json_array_size(p->acc) - 1);
    int more = p->cut || (json_array_size(p->acc) == p->n && last && json_integer_value(json_object_get(last, "seq")) > 1);
    if (!p->lost) extra = json_pack("{s:O,s:b}", "msgs", p->acc, "more", more);
    if (!extra) rc = IMC_E_NOMEM; /* never a page with a message left out */
  }
  gpend_reply(p, rc, NULL, extra);
}

static int page_limit(json_t *req, size_t *out);

/* A change row of group_sync (reader thread; docs/decisions/groups-messages.md §17): the message as it is now
 * with its change's number, within the byte budget the page's messages left (at least one row in the page). */
static void change_row(void *ud, const store_grp_msg_t *m)
{
  gpend_t *p = ud;
  size_t cost = im_page_ev_bytes(m->body_len);
  if (p->lost || p->chg_cut || ((json_array_size(p->acc) || json_array_size(p->chgs)) && p->bytes + cost > p->max_bytes)) {
    p->chg_cut = 1;
    return;
  }
  p->bytes += cost;
  /* a change that could not be made refuses the page (sync_done), as a message row does */
  if (json_array_append_new(p->chgs, json_pack("{s:I,s:o}", "change", (json_int_t)m->change, "msg", cws_group_msg_json(m))))
    p->lost = 1;
}

/* A cursor's end: the last row's seq (field "seq" of a message) or change number, else the cursor asked; a
 * list neither full nor cut moves on to the last number committed before the read (last): nothing more after
 * the cursor is within retention and visible to this member (targeted messages of others are left out). */
static uint32_t cursor_end(json_t *rows, const char *field, uint32_t asked, int cut, json_t *req, uint32_t last)
{
  json_t *e = json_array_get(rows, json_array_size(rows) - 1);
  uint32_t at = e ? (uint32_t)json_integer_value(json_object_get(e, field)) : asked;
  size_t limit;
  if (!cut && !page_limit(req, &limit) && json_array_size(rows) < limit && last > at) at = last;
  return at;
}

static void sync_done(void *ud, int rc)
{
  gpend_t *p = ud;
  json_t *extra = NULL;
  if (!rc && p->lost) rc = IMC_E_NOMEM; /* never a page with a message left out: its cursor would skip it */
  if (!rc) {
    uint32_t seq = cursor_end(p->acc, "seq", p->user_no, p->cut, p->req, (uint32_t)p->n);
    uint32_t chg = p->chgs ? cursor_end(p->chgs, "change", p->chg_after, p->chg_cut, p->req, p->chg_last) : 0;
    im_group_t *g = im_group_by_no(p->srv->groups, sess(p->c)->sdkappid, p->group_no);
    im_group_view_t v = { 0 };
    if (g) im_group_view(g, &v);
    int complete = seq >= v.last_seq && (!p->chgs || chg >= v.last_change);
    extra = json_pack("{s:O,s:I,s:I,s:b,s:I,s:I}", "msgs", p->acc, "seq", (json_int_t)seq, "last_seq",
                      (json_int_t)v.last_seq, "complete", complete, "created", (json_int_t)v.created_s, "last_change",
                      (json_int_t)v.last_change);
    if (extra && p->chgs &&
        (json_object_set(extra, "changes", p->chgs) || json_object_set_new(extra, "change", json_integer(chg)))) {
      json_decref(extra);
      extra = NULL;
    }
    if (extra && p->reset && json_object_set_new(extra, "reset", json_true())) { json_decref(extra); extra = NULL; }
    if (!extra) rc = IMC_E_NOMEM;
  }
  gpend_reply(p, rc, NULL, extra);
}

static int page_limit(json_t *req, size_t *out)
{
  json_t *v = json_object_get(req, "limit");
  *out = GRP_HISTORY_PAGE_MAX * 5;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > GRP_HISTORY_PAGE_MAX * 5) return IMC_E_GROUP_PARAM;
  *out = (size_t)json_integer_value(v);
  return 0;
}

void cws_op_group_history(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_history");
  im_group_view_t v;
  size_t limit;
  json_t *b = json_object_get(req, "before_seq");
  int rc = readable(srv, c, gid, &v);
  if (!rc && page_limit(req, &limit)) rc = IMC_E_GROUP_PARAM;
  if (!rc && b && (!json_is_integer(b) || json_integer_value(b) < 1 || json_integer_value(b) > UINT32_MAX)) rc = IMC_E_GROUP_PARAM;
  if (rc) { cws_reply(ws, id, "group_history", rc, NULL, NULL); return; }
  if (b && json_integer_value(b) == 1) { /* nothing is before seq 1 (upto 0 would mean "no bound") */
    cws_reply_fields(ws, id, "group_history", 0, NULL, json_pack("{s:[],s:b}", "msgs", "more", 0));
    return;
  }
  gpend_t *p = gpend_new(srv, c, id, "group_history", req);
  if (!p) { cws_reply(ws, id, "group_history", IMC_E_NOMEM, NULL, NULL); return; }
  p->acc = json_array();
  p->n = limit;
  p->max_bytes = (size_t)im_limit(&srv->limits, v.sdkappid, IM_LIMIT_PAGE_BYTES);
  im_group_history_read(srv->groups, v.sdkappid, v.group_no, sess(c)->user_no, 0, b ? (uint32_t)json_integer_value(b) - 1 : 0, 1,
                        (int)limit, msg_row, history_done, p);
}

void cws_op_group_sync(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_sync");
  im_group_view_t v;
  size_t limit;
  json_t *a = json_object_get(req, "after_seq"), *ac = json_object_get(req, "after_change");
  int rc = readable(srv, c, gid, &v);
  if (!rc && page_limit(req, &limit)) rc = IMC_E_GROUP_PARAM;
  if (!rc && (!json_is_integer(a) || json_integer_value(a) < 0 || json_integer_value(a) > UINT32_MAX)) rc = IMC_E_GROUP_PARAM;
  if (!rc && ac && (!json_is_integer(ac) || json_integer_value(ac) < 0 || json_integer_value(ac) > UINT32_MAX))
    rc = IMC_E_GROUP_PARAM;
  if (rc) {
    cws_reply(ws, id, "group_sync", rc,
              rc == IMC_E_GROUP_PARAM ? "after_seq (0..), after_change (0..; optional) and limit (1..100)" : NULL, NULL);
    return;
  }
  gpend_t *p = gpend_new(srv, c, id, "group_sync", req);
  if (!p) { cws_reply(ws, id, "group_sync", IMC_E_NOMEM, NULL, NULL); return; }
  p->acc = json_array();
  p->group_no = v.group_no;
  uint32_t after = (uint32_t)json_integer_value(a);
  p->chg_after = ac ? (uint32_t)json_integer_value(ac) : 0;
  /* a cursor past the last seq or the last change is of an earlier group with this id (dissolved, the id
   * reused): the page starts over from the first message, with "reset" (protocol.md); the changes with it
   * (none is of a message before the first) */
  if (after > v.last_seq || p->chg_after > v.last_change) { after = 0; p->chg_after = 0; p->reset = 1; }
  if (ac && !(p->chgs = json_array())) { gpend_reply(p, IMC_E_NOMEM, NULL, NULL); return; }
  p->user_no = after;                            /* reused: the cursor when the page is empty */
  p->n = v.last_seq;                             /* reused: committed before the read (sync_done) */
  p->chg_last = v.last_change;                   /* likewise */
  p->max_bytes = (size_t)im_limit(&srv->limits, v.sdkappid, IM_LIMIT_PAGE_BYTES);
  im_group_sync_read(srv->groups, v.sdkappid, v.group_no, sess(c)->user_no, after, (int)limit, msg_row, p->chg_after,
                     p->chgs ? change_row : NULL, sync_done, p);
}

void cws_op_group_read(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  NEED_GROUP("group_read");
  json_t *seq = json_object_get(req, "seq");
  if (!json_is_integer(seq) || json_integer_value(seq) < 0 || json_integer_value(seq) > UINT32_MAX) {
    cws_reply(ws, id, "group_read", IMC_E_GROUP_PARAM, "seq must be a message sequence", NULL);
    return;
  }
  gpend_t *p = gpend_new(srv, c, id, "group_read", req);
  if (!p) { cws_reply(ws, id, "group_read", IMC_E_NOMEM, NULL, NULL); return; }
  im_group_set_read(srv->groups, sess(c)->sdkappid, gid, sess(c)->user_no, -1, (uint32_t)json_integer_value(seq),
                    done_plain, p);
}

/* ---- the user's groups as conversations, with unread counts ------------------------------------------- */
static void list_next(gpend_t *p);
static void list_unread(void *ud, int rc, int64_t n);

static void list_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *m)
{
  (void)app;
  gpend_t *p = ud;
  api_list_add(p->acc, json_pack("{s:I,s:I,s:i,s:b}", "no", (json_int_t)gno, "read_seq", (json_int_t)m->read_seq, "role",
                                 m->role, "discard", m->msg_flag == 2), &p->lost);
}

static int list_resubmitting; /* 1 while a continuation queues a row's unread read again: a refusal then ends it */

/* A waiting row's turn or end (ws_read_wait.c, §124): its unread read queued again, the rows before it kept. */
static void list_again(void *arg, int rc)
{
  gpend_t *p = arg;
  if (rc == IMC_E_CANCELED) { gpend_free(p); return; } /* its session ended: nobody to answer */
  if (rc) { gpend_reply(p, rc, NULL, NULL); return; }
  im_session_t *s = sess(p->c);
  json_t *e = json_array_get(p->acc, p->n - 1);
  list_resubmitting = 1;
  im_group_unread_read(p->srv->groups, s->sdkappid, (uint32_t)json_integer_value(json_object_get(e, "no")), s->user_no,
                       (uint32_t)json_integer_value(json_object_get(e, "read_seq")), list_unread, p);
  list_resubmitting = 0;
}

/* A group's unread read refused by the reader queue's cap (a completion's read: never by a share): it waits for the
 * queue's room in ws_read_wait.c, the rows read and filled so far kept, and is queued again at its turn — the
 * memberships and the rows before it are not read again (§124). Refused at its turn (out of memory only: the turn
 * comes with room and share), or no memory to wait: answered 60018. */
static void list_unread(void *ud, int rc, int64_t n)
{
  gpend_t *p = ud;
  json_t *e = json_array_get(p->acc, p->n - 1);
  if (rc == IMC_E_OVERLOADED && !list_resubmitting) {
    net_ws_t *ws = cws_usable(p->c);
    rc = ws && cws_state(p->c) == CWS_ONLINE && sess(p->c)->sid == p->sid ?
         cws_read_wait_cont(p->srv, p->c, list_again, p) : IMC_E_CANCELED;
    if (!rc) return;
  }
  if (rc == IMC_E_CANCELED) { gpend_free(p); return; }
  if (rc) { gpend_reply(p, rc, NULL, NULL); return; }
  api_field_put(e, "unread", json_integer(n), &p->lost);
  list_next(p);
}

/* Fill each row: the profile from memory, the unread count from storage
 * (one read per group with unread counts), one after the other. A row or a
 * member that could not be made (p->lost) ends it: the reply is one that
 * could not be made (1011), never a group or a field left out (§84). */
static void list_next(gpend_t *p)
{
  im_session_t *s = sess(p->c);
  while (!p->lost && p->n < json_array_size(p->acc)) {
    json_t *e = json_array_get(p->acc, p->n++);
    im_group_t *g = im_group_by_no(p->srv->groups, s->sdkappid, (uint32_t)json_integer_value(json_object_get(e, "no")));
    im_group_view_t v;
    if (g) im_group_view(g, &v);
    /* gone, or a live room (its row is a mute, not a membership) */
    if (!g || im_gtype_info(v.type)->live) { api_field_put(e, "gone", json_true(), &p->lost); continue; }
    int *bad = &p->lost;
    api_field_put(e, "group_id", json_string(v.group_id), bad);
    api_field_put(e, "type", json_string(im_gtype_info(v.type)->name), bad);
    json_t *name = json_object_get(v.info, "Name"); /* required at creation; "" as grp_json's, never absent */
    api_field_put(e, "name", name ? json_incref(name) : json_string(""), bad);
    api_field_put(e, "last_seq", json_integer(v.last_seq), bad);
    api_field_put(e, "last_change", json_integer(v.last_change), bad);
    api_field_put(e, "last_msg_time", json_integer(v.last_msg_s), bad);
    api_field_put(e, "created", json_integer(v.created_s), bad);
    api_field_put(e, "role", json_string(im_grole_name((im_grole_t)json_integer_value(json_object_get(e, "role")))), bad);
    int discard = json_is_true(json_object_get(e, "discard"));
    json_object_del(e, "discard");
    if (discard && im_gtype_info(v.type)->unread) api_field_put(e, "unread", json_integer(0), bad); /* MsgFlag Discard */
    else if (im_gtype_info(v.type)->unread) {
      im_group_unread_read(p->srv->groups, s->sdkappid, v.group_no, s->user_no,
                           (uint32_t)json_integer_value(json_object_get(e, "read_seq")), list_unread, p);
      return;
    }
  }
  json_t *out = json_array(), *e;
  size_t i;
  int bad = p->lost; /* a group left out: the reply is one that could not be made */
  json_array_foreach(p->acc, i, e) {
    if (json_object_get(e, "gone")) continue;
    json_object_del(e, "no");
    api_list_add(out, json_incref(e), &bad);
  }
  if (bad) { json_decref(out); out = NULL; }
  gpend_reply_fields(p, 0, NULL, out ? json_pack("{s:o}", "groups", out) : NULL);
}

static void list_done(void *ud, int rc)
{
  gpend_t *p = ud;
  if (rc) { gpend_reply(p, rc, NULL, NULL); return; }
  if (!cws_usable(p->c)) { gpend_reply(p, 0, NULL, NULL); return; }
  p->n = 0;
  list_next(p);
}

void cws_op_group_list(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req)
{
  gpend_t *p = gpend_new(srv, c, id, "group_list", req);
  if (!p) { cws_reply(ws, id, "group_list", IMC_E_NOMEM, NULL, NULL); return; }
  p->acc = json_array();
  im_group_joined_read(srv->groups, sess(c)->sdkappid, sess(c)->user_no, list_row, list_done, p);
}
