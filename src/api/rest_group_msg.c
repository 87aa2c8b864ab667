/* rest_group_msg.c — the compatible group message commands
 * (rest-api-reference §2.4): send_group_msg, send_group_system_notification,
 * import_group_msg, group_msg_get_simple, group_msg_recall,
 * delete_group_msg_by_sender, openim/modify_group_msg, set_unread_msg_num,
 * get_online_member_num. MsgSeq here is the group's own sequence (unlike
 * C2C's caller number): (GroupId, MsgSeq) names a message. */
#include "api/rel_gate.h"
#include "api/rest_group.h"
#include "im/damaged.h"
#include "im/msgbody.h"
#include "util/clock.h"
#include "util/err.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void reply_plain(void *ud, const im_gres_t *r)
{
  rest_ctx_t *c = ud;
  if (r->rc) rest_reply_err(c, r->rc, r->why[0] ? r->why : NULL, NULL);
  else rest_reply_ok_bare(c);
}

/* Pack MsgBody (+ CloudCustomData, OfflinePushInfo) of obj. 0 or the
 * msgbody codes with why; too long: 80002, or 10020 for an import. */
static int pack(rest_ctx_t *c, json_t *obj, int import, char **body, size_t *len, char *why, size_t cap)
{
  return im_group_msg_pack(json_object_get(obj, "MsgBody"), json_object_get(obj, "CloudCustomData"),
                           json_object_get(obj, "OfflinePushInfo"),
                           (size_t)im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_MSG_MAX_BYTES), import, body, len,
                           why, cap);
}

/* The sender: From_Account, or else the App admin the request was signed
 * as (the URL's identifier; the reference's "default = admin") — its
 * account number when it is also an imported account, else 0 (no account:
 * the message keeps the identifier as its sender's name). Its UserID into
 * id (33 B). */
static int sender(rest_ctx_t *c, json_t *obj, uint32_t *no, char *id)
{
  json_t *from = json_object_get(obj, "From_Account");
  *no = 0;
  id[0] = 0;
  if (from) {
    int rc = grp_req_account(c->srv, c->sdkappid, from, no);
    if (!rc) snprintf(id, 33, "%.32s", json_string_value(from));
    return rc;
  }
  if (tenant_registry_account_find(c->srv->reg, c->sdkappid, c->identifier, no)) *no = 0;
  snprintf(id, 33, "%.32s", c->identifier);
  return 0;
}

/* ---- send_group_msg ------------------------------------------------------------------------------- */
/* To_Account / to of a group send (docs/decisions/groups-messages.md §12): the
 * edition gate first, then 1..50 imported accounts (a name given twice
 * counts once) into in->to (to: the caller's array of
 * STORE_GMSG_TARGETS_MAX) and their UserIDs as JSON into *to_json (malloc'd;
 * the caller frees it after im_group_send). Membership is checked by the
 * group core. 0 or the refusal with why. */
int grp_req_targets(api_srv_t *srv, uint32_t sdkappid, json_t *list, uint32_t *to, im_gsend_t *in, char **to_json,
                    char *why, size_t cap)
{
  plan_verdict_t pv;
  size_t i, k;
  json_t *e, *ids;
  int rc;
  const tenant_app_t *a = tenant_registry_app(srv->reg, sdkappid);
  *to_json = NULL;
  if (!a) return IMC_E_APP_INVALID;
  if ((rc = plan_check(&a->plan, imc_clock_now_s(), PLAN_F_GROUP_TARGETED_MSG, 0, 0, &pv)))
    return imc_errf(why, cap, rc, "%s", pv.msg);
  if (!json_is_array(list) || !json_array_size(list))
    return imc_errf(why, cap, IMC_E_GROUP_PARAM, "To_Account must be a non-empty array of UserIDs");
  /* at most STORE_GMSG_TARGETS_MAX names, a name given twice counting once (before any lookup) */
  const char *names[STORE_GMSG_TARGETS_MAX];
  size_t nnames = 0;
  json_array_foreach(list, i, e) {
    const char *id = json_is_string(e) ? json_string_value(e) : NULL;
    for (k = 0; id && k < nnames && strcmp(names[k], id); k++) {}
    if (id && k < nnames) continue;
    if (nnames == STORE_GMSG_TARGETS_MAX)
      return imc_errf(why, cap, IMC_E_GROUP_TOO_MANY, "To_Account holds at most %d accounts", STORE_GMSG_TARGETS_MAX);
    names[nnames++] = id ? id : "";
  }
  if (!(ids = json_array())) return IMC_E_NOMEM;
  in->n_to = 0;
  json_array_foreach(list, i, e) {
    uint32_t no;
    if (grp_req_account(srv, sdkappid, e, &no)) {
      json_decref(ids);
      return imc_errf(why, cap, IMC_E_GROUP_USER, "To_Account[%zu] is not an imported account", i);
    }
    for (k = 0; k < in->n_to && to[k] != no; k++) {}
    if (k < in->n_to) continue; /* a name given twice counts once */
    assert(in->n_to < STORE_GMSG_TARGETS_MAX);
    to[in->n_to++] = no;
    if (json_array_append(ids, e)) { json_decref(ids); return IMC_E_NOMEM; } /* never a recipient left out */
  }
  *to_json = json_dumps(ids, JSON_COMPACT);
  json_decref(ids);
  if (!*to_json) return IMC_E_NOMEM;
  in->to = to;
  in->to_json = *to_json;
  return 0;
}

static void sent(void *ud, const im_gres_t *r)
{
  rest_ctx_t *c = ud;
  if (r->rc) { rest_reply_err(c, r->rc, r->why[0] ? r->why : NULL, NULL); return; }
  rest_reply_ok(c, json_pack("{s:I,s:I}", "MsgTime", (json_int_t)r->time_s, "MsgSeq", (json_int_t)r->seq));
}

void rest_send_group_msg(rest_ctx_t *c)
{
  im_gsend_t in;
  char why[320] = "";
  int rc;
  json_t *v;
  const char *gid;
  memset(&in, 0, sizeof in);
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  snprintf(in.group_id, sizeof in.group_id, "%.63s", gid);
  in.sdkappid = c->sdkappid;
  in.admin = 1;
  v = json_object_get(c->body, "Random");
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "Random is required: an integer 0..4294967295", NULL);
    return;
  }
  in.random = (uint32_t)json_integer_value(v);
  if (sender(c, c->body, &in.from_no, in.from_id)) { rest_reply_err(c, IMC_E_GROUP_USER, "From_Account is not an imported account", NULL); return; }
  in.from_named = json_object_get(c->body, "From_Account") != NULL;
  if ((v = json_object_get(c->body, "MsgPriority"))) {
    int k;
    for (k = 0; api_group_priorities[k] && !(json_is_string(v) && !strcmp(api_group_priorities[k], json_string_value(v))); k++) {}
    if (!api_group_priorities[k]) { rest_reply_err(c, IMC_E_GROUP_PARAM, "MsgPriority must be High, Normal, Low or Lowest", NULL); return; }
    in.priority = k;
  }
  if ((v = json_object_get(c->body, "OnlineOnlyFlag"))) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1) {
      rest_reply_err(c, IMC_E_GROUP_PARAM, "OnlineOnlyFlag must be 0 or 1", NULL);
      return;
    }
    in.online_only = (int)json_integer_value(v);
  }
  if ((v = json_object_get(c->body, "SendMsgControl"))) {
    size_t i;
    json_t *e;
    if (!json_is_array(v)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "SendMsgControl must be an array", NULL); return; }
    json_array_foreach(v, i, e) {
      const char *s = json_string_value(e);
      if (s && !strcmp(s, "NoUnread")) in.flags |= STORE_GMSG_NO_UNREAD;
      else if (s && !strcmp(s, "NoLastMsg")) in.flags |= STORE_GMSG_NO_LAST;
      else { rest_reply_err(c, IMC_E_GROUP_PARAM, "SendMsgControl values are NoUnread and NoLastMsg", NULL); return; }
    }
  }
  /* ForbidCallbackControl is accepted (no webhooks yet), SupportMessageExtension too (no extensions yet) */
  static const rest_field_t fields[] = { REST_STRS("ForbidCallbackControl"), REST_FLAG("SupportMessageExtension"),
                                         REST_NOT_YET("TopicId"), REST_FIELDS_END };
  if (rest_fields_req(c, fields, IMC_E_GROUP_PARAM)) return;
  uint32_t to[STORE_GMSG_TARGETS_MAX];
  char *to_json = NULL;
  if ((v = json_object_get(c->body, "To_Account")) &&
      (rc = grp_req_targets(c->srv, c->sdkappid, v, to, &in, &to_json, why, sizeof why))) {
    rest_reply_err(c, rc, why, NULL);
    return;
  }
  if ((rc = pack(c, c->body, 0, &in.body, &in.body_len, why, sizeof why))) { free(to_json); rest_reply_err(c, rc, why, NULL); return; }
  /* from an account being deleted: after its deletion, as a one-to-one send (else stored from the deleted number
   * after it, §112); run again from the start then */
  if (rel_gate_rest_names(c->srv, c, in.from_no, 0)) { free(in.body); free(to_json); return; }
  in.body_json = json_object_get(c->body, "MsgBody");
  im_group_send(c->srv->groups, &in, imc_clock_now_s(), sent, c);
  free(to_json);
}

void rest_send_group_system_notification(rest_ctx_t *c)
{
  const char *gid;
  char why[320] = "";
  json_t *content = json_object_get(c->body, "Content"), *to = json_object_get(c->body, "ToMembers_Account"), *v;
  size_t i, n = json_array_size(to);
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (rest_fields_req(c, grp_no_topic, IMC_E_GROUP_PARAM)) return;
  if (!json_is_string(content) || !json_string_length(content)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "Content must be a non-empty string", NULL); return; }
  if (to && !json_is_array(to)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "ToMembers_Account must be an array", NULL); return; }
  if (n > GRP_NOTIFY_TARGETS_MAX) { rest_reply_err(c, IMC_E_GROUP_TOO_MANY, "ToMembers_Account holds at most 500 accounts", NULL); return; }
  uint32_t *u = calloc(n ? n : 1, sizeof *u);
  if (!u) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  json_array_foreach(to, i, v)
    if (grp_req_account(c->srv, c->sdkappid, v, &u[i])) { free(u); rest_reply_err(c, IMC_E_GROUP_USER, "ToMembers_Account holds an account that is not imported", NULL); return; }
  int rc = im_group_notify(c->srv->groups, c->sdkappid, gid, n ? u : NULL, n, json_string_value(content),
                           imc_clock_now_s(), why, sizeof why);
  free(u);
  if (rc) rest_reply_err(c, rc, why[0] ? why : NULL, NULL);
  else rest_reply_ok_bare(c);
}

/* ---- import_group_msg: one job per message, answered when all are done ------------------------------- */
typedef struct imp { rest_ctx_t *c; json_t *results; size_t pending; int bad; /* a result not made: 70500 */ } imp_t;
typedef struct imp_one { imp_t *imp; size_t i; } imp_one_t;

static void imp_free(void *arg) { imp_t *m = arg; json_decref(m->results); free(m); }

/* Every message's result, or 70500 (§84: the messages were imported; read before retrying). */
static void imp_reply(imp_t *m)
{
  rest_reply_ok(m->c, m->bad ? NULL : json_pack("{s:O}", "ImportMsgResult", m->results));
}

static void imported(void *ud, const im_gres_t *r)
{
  imp_one_t *o = ud;
  imp_t *m = o->imp;
  json_t *e = json_array_get(m->results, o->i);
  api_field_put(e, "Result", json_integer(r->rc ? 1 : 0), &m->bad);
  api_field_put(e, "MsgTime", json_integer(r->time_s), &m->bad);
  api_field_put(e, "MsgSeq", json_integer(r->seq), &m->bad);
  if (r->rc) api_field_put(e, "ErrorCode", json_integer(imc_err_compat(r->rc)), &m->bad);
  free(o);
  if (--m->pending == 0) imp_reply(m);
}

void rest_import_group_msg(rest_ctx_t *c)
{
  const char *gid;
  char why[320];
  json_t *list = json_object_get(c->body, "MsgList"), *e;
  size_t i, n = json_array_size(list);
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (!json_is_array(list) || !n) { rest_reply_err(c, IMC_E_GROUP_PARAM, "MsgList must be a non-empty array", NULL); return; }
  if (n > GRP_IMPORT_MSGS_MAX) { rest_reply_err(c, IMC_E_GROUP_TOO_MANY, "MsgList holds at most 20 messages", NULL); return; }
  /* RecentContactFlag 1: the imported messages count for the members' conversation lists (recentcontact:
   * the group shows, with their time) as sent ones do; 0 (the default): they do not */
  static const rest_field_t fields[] = { REST_FLAG("RecentContactFlag"), REST_NOT_YET("TopicId"), REST_FIELDS_END };
  if (rest_fields_req(c, fields, IMC_E_GROUP_PARAM)) return;
  int listed = json_integer_value(json_object_get(c->body, "RecentContactFlag")) == 1;
  im_group_t *g = im_group_find(c->srv->groups, c->sdkappid, gid);
  if (!g) { rest_reply_err(c, IMC_E_GROUP_GONE, NULL, NULL); return; }
  im_group_view_t gv;
  im_group_view(g, &gv);
  int64_t now = imc_clock_now_s(), prev = 0;
  /* the latest SendTime: the clock, or the group's creation when that is later (a life of a reused id moved
   * ahead of the clock, or a clock set back since the creation), as every other time of such a life is */
  int64_t latest = now < gv.created_s ? gv.created_s : now;
  im_gsend_t *ins = calloc(n, sizeof *ins);
  if (!ins) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  int rc = 0;
  /* check every message before importing any */
  json_array_foreach(list, i, e) {
    im_gsend_t *in = &ins[i];
    json_t *t = json_object_get(e, "SendTime"), *r = json_object_get(e, "Random");
    in->sdkappid = c->sdkappid;
    snprintf(in->group_id, sizeof in->group_id, "%.63s", gid);
    in->admin = 1;
    in->import = 1;
    if (listed) in->flags = STORE_GMSG_LISTED;
    if (!json_is_object(e)) {
      rc = imc_errf(why, sizeof why, IMC_E_GROUP_PARAM, "MsgList[%zu] must be an object", i);
      break;
    }
    if (!json_object_get(e, "From_Account") || sender(c, e, &in->from_no, in->from_id)) {
      rc = imc_errf(why, sizeof why, IMC_E_GROUP_USER, "MsgList[%zu].From_Account must be an imported account", i);
      break;
    }
    if (!json_is_integer(t) || json_integer_value(t) < gv.created_s || json_integer_value(t) > latest || json_integer_value(t) < prev) {
      rc = imc_errf(why, sizeof why, IMC_E_GROUP_PARAM,
                    "MsgList[%zu].SendTime must be ascending, from the group's creation on and not after the clock (or the creation, when later)", i);
      break;
    }
    prev = in->time_s = json_integer_value(t);
    if (r && (!json_is_integer(r) || json_integer_value(r) < 0 || json_integer_value(r) > UINT32_MAX)) {
      rc = imc_errf(why, sizeof why, IMC_E_GROUP_PARAM, "MsgList[%zu].Random must be 0..4294967295", i);
      break;
    }
    in->random = (uint32_t)json_integer_value(r);
    if ((rc = pack(c, e, 1, &in->body, &in->body_len, why, sizeof why))) break;
  }
  /* a sender being deleted: the whole import after its deletion, as send_group_msg (§112); run again then */
  int waits = 0;
  for (i = 0; !rc && !waits && i < n; i++) waits = rel_gate_named(c->srv, c->sdkappid, ins[i].from_no);
  if (rc || waits) {
    for (i = 0; i < n; i++) free(ins[i].body);
    free(ins);
    if (waits) rel_gate_rest_wait(c->srv, c);
    else rest_reply_err(c, rc, why, NULL);
    return;
  }
  imp_t *m = calloc(1, sizeof *m);
  if (!m) { for (i = 0; i < n; i++) free(ins[i].body); free(ins); rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = m;
  c->data_free = imp_free;
  m->c = c;
  m->results = json_array();
  for (i = 0; i < n; i++) api_list_add(m->results, json_object(), &m->bad);
  if (m->bad) { /* no result could be told: refused before any import */
    for (i = 0; i < n; i++) free(ins[i].body);
    free(ins);
    rest_reply_err(c, IMC_E_NOMEM, NULL, NULL);
    return;
  }
  m->pending = n + 1; /* one more, dropped below, so a synchronous answer cannot reply early */
  for (i = 0; i < n; i++) {
    imp_one_t *o = malloc(sizeof *o);
    if (!o) { free(ins[i].body); api_field_put(json_array_get(m->results, i), "Result", json_integer(1), &m->bad); m->pending--; continue; }
    o->imp = m;
    o->i = i;
    im_group_send(c->srv->groups, &ins[i], now, imported, o);
  }
  free(ins);
  if (--m->pending == 0) imp_reply(m);
}

/* ---- group_msg_get_simple ----------------------------------------------------------------------------- */
typedef struct hist {
  json_t *list;
  int with_recalled;
  uint32_t group_no, lowest, upto;
  int rows;
  size_t bytes, max_bytes;     /* im_page_ev_bytes of the kept rows; IM_LIMIT_PAGE_BYTES */
  int cut;                     /* the byte bound stopped the page: older rows come with the next one */
  int bad;                     /* a row could not be made: the reply is 70500, never a page with one left out */
} hist_t;

static void hist_free(void *arg) { hist_t *h = arg; json_decref(h->list); free(h); }

static void hist_row(void *ud, const store_grp_msg_t *m)
{
  hist_t *h = ((rest_ctx_t *)ud)->data;
  int recalled = (m->flags & STORE_GMSG_RECALLED) != 0, shown = !recalled || h->with_recalled;
  /* the page's byte bound, as group_history's: the first shown row always goes */
  size_t cost = shown ? im_page_ev_bytes(m->body_len) : 0;
  if (h->cut || (json_array_size(h->list) && h->bytes + cost > h->max_bytes)) { h->cut = 1; return; }
  h->bytes += cost;
  h->lowest = m->seq;
  h->rows++;
  if (!shown || h->bad) return;
  json_t *body = NULL;
  /* out of memory: the page is refused (hist_done, §70); a body that does not parse: the row, marked (§88) */
  int loaded = im_body_load(m->body, m->body_len, &body);
  if (loaded < 0) { h->bad = 1; return; }
  json_t *o = json_pack("{s:s,s:i,s:i,s:s,s:I,s:I,s:I,s:i}", "From_Account", m->from_id, "IsPlaceMsg", 0,
                        "IsSystemMsg", (m->flags & STORE_GMSG_SYSTEM) ? 1 : 0, "MsgPriority",
                        api_group_priorities[m->priority & 3], "MsgRandom", (json_int_t)m->random, "MsgSeq", (json_int_t)m->seq,
                        "MsgTimeStamp", (json_int_t)m->time_s, "MsgFlagBits", recalled ? 8 : 0);
  json_t *mb = json_object_get(body, "MsgBody");
  api_field_put(o, "MsgBody", mb ? json_incref(mb) : json_array(), &h->bad);
  static const char *const parts[] = { "CloudCustomData", "SystemNotice" };
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
    if (json_object_get(body, parts[i])) api_field_put(o, parts[i], json_incref(json_object_get(body, parts[i])), &h->bad);
  if (loaded == IM_BODY_DAMAGED) {
    api_field_put(o, "IsDamaged", json_integer(1), &h->bad);
    im_damaged_note(&(im_damaged_row_t){ IM_DAMAGED_GROUP, m->sdkappid, m->group_no, m->seq, m->from_id, NULL });
  }
  /* a targeted message: the App admin sees it with its recipients */
  if (m->to_json) api_field_put(o, "To_Account", json_loads(m->to_json, 0, NULL), &h->bad);
  json_decref(body);
  api_list_add(h->list, o, &h->bad);
}

static void hist_reply(rest_ctx_t *c, int finished)
{
  hist_t *h = c->data;
  rest_reply_ok(c, h->bad ? NULL : json_pack("{s:O,s:i,s:O}", "GroupId", json_object_get(c->body, "GroupId"), "IsFinished",
                                             finished, "RspMsgList", h->list));
}

static void hist_expired(void *ud, int rc, int64_t expired)
{
  rest_ctx_t *c = ud;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  hist_reply(c, expired ? 2 : 1);
}

static void hist_done(void *ud, int rc)
{
  rest_ctx_t *c = ud;
  hist_t *h = c->data;
  if (rc || h->bad) { rest_reply_err(c, rc ? rc : IMC_E_NOMEM, NULL, NULL); return; }
  /* IsFinished 1: the oldest message was reached; 0: older ones remain (a
   * full page, or one the byte bound cut short); 2: the page stopped before
   * seq 1 because the message just below it expired (older than the app's
   * retention horizon, or deleted by the retention purge) — not because it
   * was deleted by its sender (docs/decisions/groups-messages.md §10) */
  uint32_t below = h->rows ? h->lowest : h->upto + 1; /* the first seq not returned is below this */
  int finished = !h->cut && (h->rows == 0 || h->lowest <= 1 ||
                             h->rows < (int)json_integer_value(json_object_get(c->body, "ReqMsgNumber")));
  if (finished && below > 1) {
    im_group_expired_read(c->srv->groups, c->sdkappid, h->group_no, below - 1, hist_expired, c);
    return;
  }
  hist_reply(c, finished);
}

void rest_group_msg_get_simple(rest_ctx_t *c)
{
  const char *gid;
  json_t *num = json_object_get(c->body, "ReqMsgNumber"), *seq = json_object_get(c->body, "ReqMsgSeq");
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (!json_is_integer(num) || json_integer_value(num) < 1 || json_integer_value(num) > GRP_HISTORY_PAGE_MAX) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "ReqMsgNumber must be 1..20", NULL);
    return;
  }
  if (seq && (!json_is_integer(seq) || json_integer_value(seq) < 1 || json_integer_value(seq) > UINT32_MAX)) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "ReqMsgSeq must be a positive message sequence", NULL);
    return;
  }
  im_group_t *g = im_group_find(c->srv->groups, c->sdkappid, gid);
  if (!g) { rest_reply_err(c, IMC_E_GROUP_GONE, NULL, NULL); return; }
  im_group_view_t v;
  im_group_view(g, &v);
  if (!im_gtype_info(v.type)->history) { rest_reply_err(c, IMC_E_GROUP_NO_HISTORY, NULL, NULL); return; }
  static const rest_field_t fields[] = { REST_FLAG("WithRecalledMsg"), REST_NOT_YET("TopicId"), REST_FIELDS_END };
  if (rest_fields_req(c, fields, IMC_E_GROUP_PARAM)) return;
  hist_t *h = calloc(1, sizeof *h);
  if (!h) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = h;
  c->data_free = hist_free;
  h->list = json_array();
  h->with_recalled = json_integer_value(json_object_get(c->body, "WithRecalledMsg")) == 1;
  h->upto = seq && json_integer_value(seq) < v.last_seq ? (uint32_t)json_integer_value(seq) : v.last_seq;
  h->group_no = v.group_no;
  h->max_bytes = (size_t)im_limit(&c->srv->limits, c->sdkappid, IM_LIMIT_PAGE_BYTES);
  im_group_history_read(c->srv->groups, c->sdkappid, v.group_no, 0, 0, seq ? (uint32_t)json_integer_value(seq) : 0, 1,
                        (int)json_integer_value(num), hist_row, hist_done, c);
}

/* ---- recall / delete / modify ------------------------------------------------------------------------------ */
static void recalled(void *ud, const im_gres_t *r)
{
  rest_ctx_t *c = ud;
  if (r->rc) { rest_reply_err(c, r->rc, r->why[0] ? r->why : NULL, NULL); return; }
  json_t *out = json_array(), *list = json_object_get(c->body, "MsgSeqList");
  int bad = 0;
  for (size_t i = 0; i < r->n; i++)
    api_list_add(out, json_pack("{s:O,s:i}", "MsgSeq", json_object_get(json_array_get(list, i), "MsgSeq"), "RetCode",
                                r->codes[i] ? imc_err_compat(r->codes[i]) : 0), &bad);
  json_t *extra = bad ? NULL : json_pack("{s:O}", "RecallRetList", out);
  json_decref(out);
  rest_reply_ok(c, extra);
}

void rest_group_msg_recall(rest_ctx_t *c)
{
  const char *gid;
  json_t *list = json_object_get(c->body, "MsgSeqList"), *e;
  size_t i, n = json_array_size(list);
  uint32_t seqs[GRP_RECALL_MAX];
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (!json_is_array(list) || !n) { rest_reply_err(c, IMC_E_GROUP_PARAM, "MsgSeqList must be a non-empty array", NULL); return; }
  if (rest_fields_req(c, grp_no_topic, IMC_E_GROUP_PARAM)) return;
  if (n > GRP_RECALL_MAX) { rest_reply_err(c, IMC_E_GROUP_TOO_MANY, "MsgSeqList holds at most 10 messages", NULL); return; }
  json_array_foreach(list, i, e) {
    json_t *s = json_object_get(e, "MsgSeq");
    if (!json_is_integer(s) || json_integer_value(s) < 1 || json_integer_value(s) > UINT32_MAX) {
      rest_reply_err(c, IMC_E_GROUP_PARAM, "MsgSeqList[].MsgSeq must be a positive integer", NULL);
      return;
    }
    seqs[i] = (uint32_t)json_integer_value(s);
  }
  im_group_recall(c->srv->groups, c->sdkappid, gid, 0, seqs, n, imc_clock_now_s(), recalled, c);
}

void rest_delete_group_msg_by_sender(rest_ctx_t *c)
{
  const char *gid;
  uint32_t no;
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (grp_req_account(c->srv, c->sdkappid, json_object_get(c->body, "Sender_Account"), &no)) {
    rest_reply_err(c, IMC_E_GROUP_USER, "Sender_Account is not an imported account", NULL);
    return;
  }
  if (rest_fields_req(c, grp_no_topic, IMC_E_GROUP_PARAM)) return;
  im_group_delete_by_sender(c->srv->groups, c->sdkappid, gid, no, reply_plain, c);
}

void rest_modify_group_msg(rest_ctx_t *c)
{
  const char *gid;
  char why[320] = "";
  char *body;
  size_t len;
  int rc;
  json_t *seq = json_object_get(c->body, "MsgSeq");
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (!json_is_integer(seq) || json_integer_value(seq) < 1 || json_integer_value(seq) > UINT32_MAX) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "MsgSeq must be a positive integer", NULL);
    return;
  }
  if (rest_fields_req(c, grp_no_topic, IMC_E_GROUP_PARAM)) return;
  /* each of MsgBody and CloudCustomData is replaced only when present (as modify_c2c_msg); one of them must be */
  json_t *mb = json_object_get(c->body, "MsgBody"), *cloud = json_object_get(c->body, "CloudCustomData");
  if (mb || !cloud) rc = pack(c, c->body, 0, &body, &len, why, sizeof why);
  else if (!json_is_string(cloud)) rc = imc_errf(why, sizeof why, IMC_E_GROUP_PARAM, "CloudCustomData must be a string");
  else {
    json_t *o = json_pack("{s:O}", "CloudCustomData", cloud);
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    rc = body ? 0 : IMC_E_NOMEM;
    len = body ? strlen(body) : 0;
  }
  if (rc) { rest_reply_err(c, rc, why[0] ? why : NULL, NULL); return; }
  im_group_msg_modify(c->srv->groups, c->sdkappid, gid, (uint32_t)json_integer_value(seq), body, len, reply_plain, c);
}

/* ---- unread, online ------------------------------------------------------------------------------------------ */
void rest_set_unread_msg_num(rest_ctx_t *c)
{
  const char *gid;
  uint32_t no;
  json_t *n = json_object_get(c->body, "UnreadMsgNum");
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (grp_req_account(c->srv, c->sdkappid, json_object_get(c->body, "Member_Account"), &no)) {
    rest_reply_err(c, IMC_E_GROUP_USER, "Member_Account is not an imported account", NULL);
    return;
  }
  if (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > UINT32_MAX) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "UnreadMsgNum must be a non-negative integer", NULL);
    return;
  }
  im_group_set_read(c->srv->groups, c->sdkappid, gid, no, json_integer_value(n), 0, reply_plain, c);
}

void rest_get_online_member_num(rest_ctx_t *c)
{
  const char *gid;
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  im_group_t *g = im_group_find(c->srv->groups, c->sdkappid, gid);
  if (!g) { rest_reply_err(c, IMC_E_GROUP_GONE, NULL, NULL); return; }
  im_group_view_t v;
  im_group_view(g, &v);
  if (!im_gtype_info(v.type)->live) { rest_reply_err(c, IMC_E_GROUP_TYPE_OP, "get_online_member_num is for AVChatRooms", NULL); return; }
  rest_reply_ok(c, json_pack("{s:I}", "OnlineMemberNum", (json_int_t)v.member_num));
}
