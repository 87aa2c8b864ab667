/* rest_group.c — the compatible group commands of `group_open_http_svc`
 * (rest-api-reference §2.4) for groups and members: create_group,
 * import_group, destroy_group, get_group_info, get_joined_group_list,
 * get_appid_group_list, add/import/delete_group_member,
 * get_group_member_info, modify_group_base_info, modify_group_member_info,
 * change_group_owner, get_role_in_group, forbid_send_msg,
 * get_group_muted_account (and its older name get_group_shutted_uin).
 * Field names and codes are the reference's; the semantics are
 * src/im/group.h. A reply that reports a change is sent after the commit.
 */
#include "api/rest_group.h"
#include "im/group.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* ---- shared helpers ---------------------------------------------------------------------- */
int grp_req_id(json_t *body, const char *name, const char **out)
{
  json_t *v = json_object_get(body, name);
  if (!json_is_string(v) || !json_string_length(v)) return IMC_E_GROUP_PARAM;
  *out = json_string_value(v);
  return 0;
}

const rest_field_t grp_no_topic[] = { REST_NOT_YET("TopicId"), REST_FIELDS_END };

int grp_req_account(api_srv_t *srv, uint32_t sdkappid, json_t *v, uint32_t *no)
{
  if (!json_is_string(v) || !tenant_user_id_valid(json_string_value(v))) return IMC_E_GROUP_USER;
  return tenant_registry_account_find(srv->reg, sdkappid, json_string_value(v), no) ? IMC_E_GROUP_USER : 0;
}

int64_t grp_max_members(api_srv_t *srv, const im_group_t *g)
{
  im_group_view_t v;
  im_group_view(g, &v);
  json_t *mx = json_object_get(v.info, "MaxMemberNum");
  int64_t own = json_is_integer(mx) ? json_integer_value(mx) : 0;
  if (im_gtype_info(v.type)->live) return own; /* the edition's member cap is not a live room's */
  const tenant_app_t *a = tenant_registry_app(srv->reg, v.sdkappid);
  int64_t lim = a ? plan_limit(&a->plan, imc_clock_now_s(), PLAN_L_MEMBERS) : 0;
  if (own) /* set under a higher edition, it may be above the cap in force now: the lower one holds */
    return a && lim != PLAN_UNLIMITED && lim < own ? lim : own;
  int64_t floor = a ? plan_big_group_floor(&a->plan) : PLAN_UNLIMITED; /* P-17: not big without its own cap */
  if (floor != PLAN_UNLIMITED && (lim == PLAN_UNLIMITED || lim > floor)) lim = floor;
  return lim == PLAN_UNLIMITED ? 0 : lim;
}

static int wanted(const json_t *filter, const char *name)
{
  size_t i;
  json_t *v;
  if (!json_is_array(filter)) return 1;
  json_array_foreach(filter, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), name)) return 1;
  return 0;
}

/* The custom data set (an array of {Key, Value}) cut to the keys named in
 * keys (an array of strings; NULL: every key), in the set's order: a new
 * array, or NULL when no key is left (the field is then left out, as for a
 * group or member without data) or when it could not be made (*bad set). */
static json_t *kv_pick(const json_t *set, const json_t *keys, int *bad)
{
  size_t i;
  json_t *e, *out;
  if (!json_is_array(set) || !json_array_size(set)) return NULL;
  if (!keys) out = json_deep_copy(set);
  else {
    out = json_array();
    json_array_foreach(set, i, e) {
      const char *k = json_string_value(json_object_get(e, "Key"));
      if (k && wanted(keys, k)) api_list_add(out, json_incref(e), bad);
    }
  }
  if (!out) *bad = 1;
  if (*bad || !json_array_size(out)) { json_decref(out); return NULL; }
  return out;
}

json_t *grp_json(api_srv_t *srv, const im_group_t *g, const json_t *filter, const json_t *keys)
{
  im_group_view_t v;
  im_group_view(g, &v);
  json_t *o = json_object();
  int bad = 0;
  static const char *const info_keys[] = { "Name", "Introduction", "Notification", "FaceUrl", "ApplyJoinOption",
                                           "MuteAllMember" };
  api_field_put(o, "GroupId", json_string(v.group_id), &bad);
#define ADD(name, val) do { if (wanted(filter, name)) api_field_put(o, name, val, &bad); } while (0)
  ADD("Type", json_string(im_gtype_info(v.type)->name));
  ADD("Appid", json_integer(v.sdkappid));
  for (size_t i = 0; i < sizeof info_keys / sizeof info_keys[0]; i++) {
    json_t *x = json_object_get(v.info, info_keys[i]);
    ADD(info_keys[i], x ? json_incref(x) : json_string(""));
  }
  ADD("Owner_Account", json_string(v.owner_id));
  ADD("CreateTime", json_integer(v.created_s));
  ADD("InfoSeq", json_integer(v.info_seq));
  ADD("LastInfoTime", json_integer(v.info_time_s));
  ADD("LastMsgTime", json_integer(v.last_msg_s));
  ADD("NextMsgSeq", json_integer((json_int_t)v.last_seq + 1));
  ADD("MemberNum", json_integer(v.member_num));
  ADD("MaxMemberNum", json_integer(grp_max_members(srv, g)));
  /* AppDefinedDataFilter_Group names the keys (and asks for the field on its own);
   * without it, every key when the base filter keeps AppDefinedData */
  json_t *ad = keys || wanted(filter, "AppDefinedData") ? kv_pick(json_object_get(v.info, "AppDefinedData"), keys, &bad) : NULL;
  if (ad) api_field_put(o, "AppDefinedData", ad, &bad);
#undef ADD
  return api_json_whole(o, bad);
}

json_t *grp_member_json(const store_grp_member_t *m, const json_t *filter, const json_t *keys)
{
  json_t *o = json_object();
  int bad = 0;
  api_field_put(o, "Member_Account", json_string(m->user_id), &bad);
#define ADD(name, val) do { if (wanted(filter, name)) api_field_put(o, name, val, &bad); } while (0)
  ADD("Role", json_string(im_grole_name((im_grole_t)m->role)));
  ADD("JoinTime", json_integer(m->join_s));
  ADD("MsgSeq", json_integer(m->read_seq));
  ADD("MsgFlag", json_string(im_gmsgflag_name(m->msg_flag)));
  ADD("LastSendMsgTime", json_integer(m->last_send_s));
  ADD("NameCard", json_string(m->name_card));
  ADD("MuteUntil", json_integer(m->mute_until_s > imc_clock_now_s() ? m->mute_until_s : 0));
  if (keys || wanted(filter, "AppMemberDefinedData")) {
    json_t *all = m->data[0] ? json_loads(m->data, 0, NULL) : NULL; /* stored as we wrote it: NULL is memory */
    if (m->data[0] && !all) bad = 1;
    json_t *data = kv_pick(all, keys, &bad);
    if (data) api_field_put(o, "AppMemberDefinedData", data, &bad);
    json_decref(all);
  }
#undef ADD
  return api_json_whole(o, bad);
}

/* A reply when the core is done: OK with extra built by build (may be NULL). */
typedef struct pend {
  rest_ctx_t *c;
  void (*build)(struct pend *p, const im_gres_t *r, json_t *extra, int *bad); /* api_field_put into extra */
  json_t *list;                 /* handler state: request lists, results */
  json_t *out;
  void *aux;
  size_t n;
  im_gmember_in_t *members;
  char **datas;
} pend_t;

static void pend_free(void *arg)
{
  pend_t *p = arg;
  json_decref(p->list);
  json_decref(p->out);
  for (size_t i = 0; p->datas && i < p->n; i++) free(p->datas[i]);
  free(p->datas);
  free(p->members);
  free(p->aux);
  free(p);
}

static pend_t *pend_new(rest_ctx_t *c)
{
  pend_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->c = c;
  c->data = p;
  c->data_free = pend_free;
  return p;
}

static void reply_res(void *ud, const im_gres_t *r)
{
  pend_t *p = ud;
  if (r->rc) { rest_reply_err(p->c, r->rc, r->why[0] ? r->why : NULL, NULL); return; }
  json_t *extra = json_object();
  int bad = 0;
  if (p->build) p->build(p, r, extra, &bad);
  rest_reply_ok(p->c, api_json_whole(extra, bad));
}

static void reply_plain(void *ud, const im_gres_t *r)
{
  rest_ctx_t *c = ud;
  if (r->rc) rest_reply_err(c, r->rc, r->why[0] ? r->why : NULL, NULL);
  else rest_reply_ok_bare(c);
}

/* ---- create / import ---------------------------------------------------------------------- */
static void created(pend_t *p, const im_gres_t *r, json_t *extra, int *bad)
{
  (void)p;
  api_field_put(extra, "GroupId", json_string(r->group_id), bad);
}

static void create_or_import(rest_ctx_t *c, int import)
{
  api_srv_t *srv = c->srv;
  char why[320] = "";
  int rc;
  im_gcreate_t in;
  memset(&in, 0, sizeof in);
  in.sdkappid = c->sdkappid;
  in.import = import;
  json_t *t = json_object_get(c->body, "Type"), *v;
  if (!json_is_string(t) || im_gtype_parse(json_string_value(t), &in.type)) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "Type must be Private, Public, ChatRoom, AVChatRoom or Community", NULL);
    return;
  }
  if (import && in.type == IM_GT_AVCHATROOM) {
    rest_reply_err(c, IMC_E_GROUP_TYPE_OP, "an AVChatRoom cannot be imported", NULL);
    return;
  }
  if ((v = json_object_get(c->body, "SupportTopic")) && !(json_is_integer(v) && json_integer_value(v) == 0)) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "community topics (SupportTopic) are not supported yet", NULL);
    return;
  }
  if ((v = json_object_get(c->body, "GroupId"))) {
    if (!json_is_string(v)) { rest_reply_err(c, IMC_E_GROUP_ID, "GroupId must be a string", NULL); return; }
    snprintf(in.group_id, sizeof in.group_id, "%.63s", json_string_value(v));
    if (json_string_length(v) >= sizeof in.group_id) {
      rest_reply_err(c, IMC_E_GROUP_ID, "GroupId must be shorter than 48 bytes", NULL);
      return;
    }
  }
  if ((v = json_object_get(c->body, "Owner_Account"))) {
    if (grp_req_account(srv, c->sdkappid, v, &in.owner_no)) {
      rest_reply_err(c, IMC_E_GROUP_USER, "Owner_Account is not an imported account", NULL);
      return;
    }
    snprintf(in.owner_id, sizeof in.owner_id, "%s", json_string_value(v));
  }
  if (import && (v = json_object_get(c->body, "CreateTime"))) {
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > imc_clock_now_s()) {
      rest_reply_err(c, IMC_E_GROUP_PARAM, "CreateTime must be a past unix time", NULL);
      return;
    }
    in.created_s = json_integer_value(v);
  }
  json_t *info = json_object();
  if ((rc = im_group_fields(c->body, 1, "MaxMemberCount", info, &in.max_members, why, sizeof why))) {
    json_decref(info);
    rest_reply_err(c, rc, why, NULL);
    return;
  }
  json_t *list = json_object_get(c->body, "MemberList");
  if (list && !json_is_array(list)) { json_decref(info); rest_reply_err(c, IMC_E_GROUP_PARAM, "MemberList must be an array", NULL); return; }
  size_t n = json_array_size(list);
  if (n > GRP_CREATE_MEMBERS_MAX) {
    json_decref(info);
    rest_reply_err(c, IMC_E_GROUP_TOO_MANY, "MemberList holds at most 100 members", NULL);
    return;
  }
  pend_t *p = pend_new(c);
  if (!p || !(p->members = calloc(n ? n : 1, sizeof *p->members)) || !(p->datas = calloc(n ? n : 1, sizeof(char *)))) {
    json_decref(info);
    rest_reply_err(c, IMC_E_NOMEM, NULL, NULL);
    return;
  }
  p->n = n;
  for (size_t i = 0; i < n; i++) {
    json_t *m = json_array_get(list, i), *role = json_object_get(m, "Role"), *data = json_object_get(m, "AppMemberDefinedData");
    im_gmember_in_t *gm = &p->members[i];
    if (grp_req_account(srv, c->sdkappid, json_object_get(m, "Member_Account"), &gm->user_no)) {
      snprintf(why, sizeof why, "MemberList[%zu].Member_Account is not an imported account", i);
      json_decref(info);
      rest_reply_err(c, IMC_E_GROUP_USER, why, NULL);
      return;
    }
    gm->role = IM_GR_MEMBER;
    if (role && (!json_is_string(role) || im_grole_parse(json_string_value(role), &gm->role) || gm->role == IM_GR_OWNER)) {
      json_decref(info);
      rest_reply_err(c, IMC_E_GROUP_PARAM, "MemberList[].Role must be Admin or Member", NULL);
      return;
    }
    if (data) {
      if ((rc = im_group_member_data_check(data, why, sizeof why))) { json_decref(info); rest_reply_err(c, rc, why, NULL); return; }
      p->datas[i] = gm->data = json_dumps(data, JSON_COMPACT);
    }
  }
  in.info = info;
  in.members = p->members;
  in.n_members = n;
  p->build = created;
  im_group_create(srv->groups, &in, imc_clock_now_s(), reply_res, p);
}

void rest_create_group(rest_ctx_t *c) { create_or_import(c, 0); }
void rest_import_group(rest_ctx_t *c) { create_or_import(c, 1); }

void rest_destroy_group(rest_ctx_t *c)
{
  const char *id;
  if (grp_req_id(c->body, "GroupId", &id)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  im_group_dissolve(c->srv->groups, c->sdkappid, id, 0, imc_clock_now_s(), reply_plain, c);
}

/* ---- get_group_info: profiles, then each group's members from storage ----------------------- */
typedef struct info_st {
  json_t *ids, *out, *base_filter, *member_filter, *cur_members;
  json_t *group_keys, *member_keys; /* AppDefinedDataFilter_Group / _GroupMember (NULL: every key) */
  size_t i;
  int with_members;
  int bad;                          /* a member or an entry could not be made: the reply is 70500 */
} info_st_t;

static void info_next(rest_ctx_t *c);

static void info_member_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *m)
{
  (void)app; (void)gno;
  info_st_t *st = ((rest_ctx_t *)ud)->data;
  api_list_add(st->cur_members, grp_member_json(m, st->member_filter, st->member_keys), &st->bad);
}

static void info_members_done(void *ud, int rc)
{
  rest_ctx_t *c = ud;
  info_st_t *st = c->data;
  json_t *g = json_array_get(st->out, json_array_size(st->out) - 1);
  if (rc) { /* the group's entry tells why, as every ErrorInfo does (§90) */
    api_field_put(g, "ErrorCode", json_integer(imc_err_compat(rc)), &st->bad);
    api_field_put(g, "ErrorInfo", json_string(imc_strerror(rc)), &st->bad);
    json_decref(st->cur_members);
  } else api_field_put(g, "MemberList", st->cur_members, &st->bad);
  st->cur_members = NULL;
  info_next(c);
}

static void info_next(rest_ctx_t *c)
{
  info_st_t *st = c->data;
  while (!st->bad && st->i < json_array_size(st->ids)) {
    json_t *idv = json_array_get(st->ids, st->i++);
    const char *id = json_string_value(idv);
    im_group_t *g = id ? im_group_find(c->srv->groups, c->sdkappid, id) : NULL;
    json_t *o;
    if (!g) {
      o = json_pack("{s:s,s:i,s:s}", "GroupId", id ? id : "", "ErrorCode", imc_err_compat(IMC_E_GROUP_GONE), "ErrorInfo",
                    imc_strerror(IMC_E_GROUP_GONE));
      api_list_add(st->out, o, &st->bad);
      continue;
    }
    o = grp_json(c->srv, g, st->base_filter, st->group_keys);
    api_field_put(o, "ErrorCode", json_integer(0), &st->bad);
    api_field_put(o, "ErrorInfo", json_string(""), &st->bad);
    api_list_add(st->out, o, &st->bad);
    im_group_view_t v;
    im_group_view(g, &v);
    if (!st->bad && st->with_members && !im_gtype_info(v.type)->live) {
      st->cur_members = json_array();
      im_group_members_read(c->srv->groups, c->sdkappid, v.group_no, 0, -1, info_member_row, info_members_done, c);
      return;
    }
  }
  rest_reply_ok(c, st->bad ? NULL : json_pack("{s:O}", "GroupInfo", st->out));
}

static void info_free(void *arg)
{
  info_st_t *st = arg;
  json_decref(st->ids);
  json_decref(st->out);
  json_decref(st->base_filter);
  json_decref(st->member_filter);
  json_decref(st->cur_members);
  json_decref(st->group_keys);
  json_decref(st->member_keys);
  free(st);
}

void rest_get_group_info(rest_ctx_t *c)
{
  json_t *ids = json_object_get(c->body, "GroupIdList"), *f = json_object_get(c->body, "ResponseFilter");
  if (!json_is_array(ids) || !json_array_size(ids)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupIdList must be a non-empty array", NULL); return; }
  if (json_array_size(ids) > GRP_INFO_IDS_MAX) { rest_reply_err(c, IMC_E_GROUP_TOO_MANY, "GroupIdList holds at most 50 groups", NULL); return; }
  /* a filter of the wrong type read as absent: every field (and the members) came back */
  static const rest_field_t filter[] = { REST_STRS("GroupBaseInfoFilter"), REST_STRS("MemberInfoFilter"),
                                         REST_STRS("AppDefinedDataFilter_Group"),
                                         REST_STRS("AppDefinedDataFilter_GroupMember"), REST_FIELDS_END };
  static const rest_field_t fields[] = { REST_OBJ("ResponseFilter", filter), REST_FIELDS_END };
  if (rest_fields_req(c, fields, IMC_E_GROUP_PARAM)) return;
  info_st_t *st = calloc(1, sizeof *st);
  if (!st) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = st;
  c->data_free = info_free;
  st->ids = json_incref(ids);
  st->out = json_array();
  st->base_filter = json_incref(json_object_get(f, "GroupBaseInfoFilter"));
  st->member_filter = json_incref(json_object_get(f, "MemberInfoFilter"));
  st->group_keys = json_incref(json_object_get(f, "AppDefinedDataFilter_Group"));
  st->member_keys = json_incref(json_object_get(f, "AppDefinedDataFilter_GroupMember"));
  /* without a filter everything is returned; with one, members only when MemberInfoFilter asks */
  st->with_members = !f || st->member_filter != NULL;
  info_next(c);
}

/* ---- get_appid_group_list ---------------------------------------------------------------------- */
typedef struct applist { json_t *arr; int64_t limit, n; uint32_t last; int bad; } applist_t;

static int applist_cb(void *ud, const im_group_t *g)
{
  applist_t *a = ud;
  im_group_view_t v;
  if (a->n == a->limit || a->bad) return 1;
  im_group_view(g, &v);
  api_list_add(a->arr, json_pack("{s:s}", "GroupId", v.group_id), &a->bad);
  a->last = v.group_no;
  a->n++;
  return 0;
}

static int count_cb(void *ud, const im_group_t *g) { (void)g; (*(int64_t *)ud)++; return 0; }

void rest_get_appid_group_list(rest_ctx_t *c)
{
  json_t *lim = json_object_get(c->body, "Limit"), *next = json_object_get(c->body, "Next"), *t = json_object_get(c->body, "GroupType");
  int type = -1;
  im_gtype_t gt;
  if ((lim && (!json_is_integer(lim) || json_integer_value(lim) < 1)) || (next && (!json_is_integer(next) || json_integer_value(next) < 0))) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "Limit must be a positive integer and Next a non-negative one", NULL);
    return;
  }
  if (t) {
    if (!json_is_string(t) || im_gtype_parse(json_string_value(t), &gt)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "unknown GroupType", NULL); return; }
    type = (int)gt;
  }
  applist_t a = { json_array(), lim ? json_integer_value(lim) : GRP_APP_LIST_MAX, 0, 0, 0 };
  if (a.limit > GRP_APP_LIST_MAX) a.limit = GRP_APP_LIST_MAX;
  int64_t total = 0;
  im_groups_each(c->srv->groups, c->sdkappid, type, 0, count_cb, &total);
  uint32_t after = next ? (uint32_t)json_integer_value(next) : 0;
  im_groups_each(c->srv->groups, c->sdkappid, type, after, applist_cb, &a);
  /* Next: the last group number returned while more may follow, else 0 */
  int64_t rest = 0;
  if (a.n == a.limit) im_groups_each(c->srv->groups, c->sdkappid, type, a.last, count_cb, &rest);
  json_t *extra = a.bad ? NULL : json_pack("{s:I,s:O,s:I}", "TotalCount", (json_int_t)total, "GroupIdList", a.arr,
                                           "Next", (json_int_t)(rest ? a.last : 0));
  json_decref(a.arr);
  rest_reply_ok(c, extra);
}

/* ---- get_joined_group_list ------------------------------------------------------------------------ */
typedef struct joined_st {
  json_t *rows;        /* [{group_no, member json}] from the reader */
  json_t *base_filter, *self_filter, *type;
  int with_huge, with_inactive;
  int64_t limit, offset;
  uint32_t user_no;
  int bad;             /* a row or an entry could not be made: the reply is 70500 */
} joined_st_t;

static void joined_free(void *arg)
{
  joined_st_t *st = arg;
  json_decref(st->rows);
  json_decref(st->base_filter);
  json_decref(st->self_filter);
  free(st);
}

static void joined_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *m)
{
  (void)app;
  joined_st_t *st = ((rest_ctx_t *)ud)->data;
  api_list_add(st->rows, json_pack("{s:I,s:o}", "no", (json_int_t)gno, "self", grp_member_json(m, st->self_filter, NULL)),
               &st->bad);
}

/* WithHugeGroups: the AVChatRooms the user owns (live rooms keep no stored
 * membership; online sessions are not "joined groups"). */
typedef struct huge { rest_ctx_t *c; joined_st_t *st; json_t *out; int64_t *total; } huge_t;

static int huge_cb(void *ud, const im_group_t *g)
{
  huge_t *h = ud;
  im_group_view_t v;
  im_group_view(g, &v);
  if (v.owner_no != h->st->user_no) return 0;
  (*h->total)++;
  if (*h->total <= h->st->offset || (int64_t)json_array_size(h->out) >= h->st->limit) return 0;
  json_t *o = grp_json(h->c->srv, g, h->st->base_filter, NULL);
  api_field_put(o, "SelfInfo", json_pack("{s:s}", "Role", "Owner"), &h->st->bad);
  api_list_add(h->out, o, &h->st->bad);
  return h->st->bad; /* stop: the reply is 70500 */
}

static void joined_done(void *ud, int rc)
{
  rest_ctx_t *c = ud;
  joined_st_t *st = c->data;
  if (rc || st->bad) { rest_reply_err(c, rc ? rc : IMC_E_NOMEM, NULL, NULL); return; }
  json_t *out = json_array(), *r;
  size_t i;
  int64_t total = 0;
  int type = -1;
  im_gtype_t gt;
  if (st->type && !im_gtype_parse(json_string_value(st->type), &gt)) type = (int)gt;
  json_array_foreach(st->rows, i, r) {
    if (st->bad) break;
    im_group_view_t v;
    im_group_t *g = im_group_by_no(c->srv->groups, c->sdkappid, (uint32_t)json_integer_value(json_object_get(r, "no")));
    if (!g) continue;
    im_group_view(g, &v);
    if (im_gtype_info(v.type)->live) continue; /* a live room's row is a mute, not a membership */
    if (type >= 0 && (int)v.type != type) continue;
    if (v.type == IM_GT_PRIVATE && !v.last_msg_s && !st->with_inactive) continue;
    total++;
    if (total <= st->offset || (int64_t)json_array_size(out) >= st->limit) continue;
    json_t *o = grp_json(c->srv, g, st->base_filter, NULL);
    api_field_put(o, "SelfInfo", json_incref(json_object_get(r, "self")), &st->bad);
    api_list_add(out, o, &st->bad);
  }
  if (!st->bad && st->with_huge && (type < 0 || type == IM_GT_AVCHATROOM)) {
    huge_t h = { c, st, out, &total };
    im_groups_each(c->srv->groups, c->sdkappid, IM_GT_AVCHATROOM, 0, huge_cb, &h);
  }
  json_t *extra = st->bad ? NULL : json_pack("{s:I,s:O}", "TotalCount", (json_int_t)total, "GroupIdList", out);
  json_decref(out);
  rest_reply_ok(c, extra);
}

void rest_get_joined_group_list(rest_ctx_t *c)
{
  uint32_t no;
  json_t *f = json_object_get(c->body, "ResponseFilter"), *v;
  if (grp_req_account(c->srv, c->sdkappid, json_object_get(c->body, "Member_Account"), &no)) {
    rest_reply_err(c, IMC_E_GROUP_USER, "Member_Account is not an imported account", NULL);
    return;
  }
  /* a wrong type was read as 0 or absent */
  static const rest_field_t filter[] = { REST_STRS("GroupBaseInfoFilter"), REST_STRS("SelfInfoFilter"), REST_FIELDS_END };
  static const rest_field_t fields[] = { REST_FLAG("WithHugeGroups"), REST_FLAG("WithNoActiveGroups"),
                                         REST_INT("Limit", 1, GRP_JOINED_LIST_MAX), REST_INT("Offset", 0, INT64_MAX),
                                         REST_FLAG("SupportTopic"), REST_OBJ("ResponseFilter", filter), REST_FIELDS_END };
  if (rest_fields_req(c, fields, IMC_E_GROUP_PARAM)) return;
  joined_st_t *st = calloc(1, sizeof *st);
  if (!st) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = st;
  c->data_free = joined_free;
  st->rows = json_array();
  st->user_no = no;
  st->base_filter = json_incref(json_object_get(f, "GroupBaseInfoFilter"));
  st->self_filter = json_incref(json_object_get(f, "SelfInfoFilter"));
  st->type = json_object_get(c->body, "GroupType");
  st->with_huge = json_integer_value(json_object_get(c->body, "WithHugeGroups")) == 1;
  st->with_inactive = json_integer_value(json_object_get(c->body, "WithNoActiveGroups")) == 1;
  st->limit = (v = json_object_get(c->body, "Limit")) ? json_integer_value(v) : GRP_JOINED_LIST_MAX;
  st->offset = json_integer_value(json_object_get(c->body, "Offset"));
  if (st->limit < 1 || st->limit > GRP_JOINED_LIST_MAX || st->offset < 0) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "Limit must be 1..5000 and Offset non-negative", NULL);
    return;
  }
  if (st->type && (!json_is_string(st->type) || im_gtype_parse(json_string_value(st->type), &(im_gtype_t){ 0 }))) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "unknown GroupType", NULL);
    return;
  }
  /* AVChatRooms have no stored membership: WithHugeGroups adds those the user owns */
  im_group_joined_read(c->srv->groups, c->sdkappid, no, joined_row, joined_done, c);
}
