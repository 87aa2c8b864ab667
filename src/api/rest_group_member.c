/* rest_group_member.c — the compatible member and profile commands of
 * `group_open_http_svc` (rest-api-reference §2.4): add_group_member,
 * import_group_member, delete_group_member, get_group_member_info,
 * modify_group_base_info, modify_group_member_info, change_group_owner,
 * get_role_in_group, forbid_send_msg, get_group_muted_account /
 * get_group_shutted_uin. The App admin acts (actor 0). */
#include "api/rest_group.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mst {
  json_t *names;               /* the request's account strings, in order */
  im_gmember_in_t *users;
  char **datas;
  size_t n;
  json_t *filter, *roles, *out;
  json_t *keys;                /* get_group_member_info: AppDefinedDataFilter_GroupMember (NULL: every key) */
  int64_t now_s;
  int64_t limit;               /* get_group_member_info: the page's Limit */
  size_t scanned;              /* get_group_member_info: rows read for the page, kept by MemberRoleFilter or not */
  int bad;                     /* reads: a row of out could not be made: the reply is 70500 (§84) */
} mst_t;

static void mst_free(void *arg)
{
  mst_t *m = arg;
  json_decref(m->names);
  json_decref(m->out);
  for (size_t i = 0; m->datas && i < m->n; i++) free(m->datas[i]);
  free(m->datas);
  free(m->users);
  free(m);
}

static mst_t *mst_new(rest_ctx_t *c, size_t n)
{
  mst_t *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  c->data = m;
  c->data_free = mst_free;
  m->n = n;
  m->names = json_array();
  m->users = calloc(n ? n : 1, sizeof *m->users);
  m->datas = calloc(n ? n : 1, sizeof *m->datas);
  return m->users && m->datas && m->names ? m : NULL;
}

static void reply_plain(void *ud, const im_gres_t *r)
{
  rest_ctx_t *c = ud;
  if (r->rc) rest_reply_err(c, r->rc, r->why[0] ? r->why : NULL, NULL);
  else rest_reply_ok_bare(c);
}

static void reply_results(void *ud, const im_gres_t *r)
{
  rest_ctx_t *c = ud;
  mst_t *m = c->data;
  if (r->rc) { rest_reply_err(c, r->rc, r->why[0] ? r->why : NULL, NULL); return; }
  json_t *arr = json_array();
  int bad = 0;
  for (size_t i = 0; i < m->n; i++)
    api_list_add(arr, json_pack("{s:O,s:i}", "Member_Account", json_array_get(m->names, i), "Result",
                                i < r->n ? r->results[i] : 0), &bad);
  json_t *extra = bad ? NULL : json_pack("{s:O}", "MemberList", arr);
  json_decref(arr);
  rest_reply_ok(c, extra);
}

/* ---- add / import ------------------------------------------------------------------------------ */
static void add_or_import(rest_ctx_t *c, int import)
{
  const char *gid;
  char why[320];
  int rc;
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  json_t *list = json_object_get(c->body, "MemberList"), *silence = json_object_get(c->body, "Silence");
  size_t cap = import ? GRP_IMPORT_MEMBERS_MAX : GRP_ADD_MEMBERS_MAX;
  if (!json_is_array(list) || !json_array_size(list)) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "MemberList must be a non-empty array", NULL);
    return;
  }
  if (json_array_size(list) > cap) {
    snprintf(why, sizeof why, "MemberList holds at most %zu accounts", cap);
    rest_reply_err(c, IMC_E_GROUP_TOO_MANY, why, NULL);
    return;
  }
  if (silence && (!json_is_integer(silence) || json_integer_value(silence) < 0 || json_integer_value(silence) > 1)) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "Silence must be 0 or 1", NULL);
    return;
  }
  size_t n = json_array_size(list);
  mst_t *m = mst_new(c, n);
  if (!m) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(list, i), *acc = json_object_get(e, "Member_Account"), *v;
    im_gmember_in_t *u = &m->users[i];
    if ((rc = grp_req_account(c->srv, c->sdkappid, acc, &u->user_no))) {
      snprintf(why, sizeof why, "MemberList[%zu].Member_Account is not an imported account", i);
      rest_reply_err(c, rc, why, NULL);
      return;
    }
    if (json_array_append(m->names, acc)) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; } /* the reply names it */
    u->role = IM_GR_MEMBER;
    if (!import) continue;
    if ((v = json_object_get(e, "Role")) &&
        (!json_is_string(v) || im_grole_parse(json_string_value(v), &u->role) || u->role == IM_GR_OWNER)) {
      rest_reply_err(c, IMC_E_GROUP_PARAM, "MemberList[].Role must be Admin or Member", NULL);
      return;
    }
    if ((v = json_object_get(e, "JoinTime"))) {
      if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > imc_clock_now_s()) {
        rest_reply_err(c, IMC_E_GROUP_PARAM, "MemberList[].JoinTime must be a past unix time", NULL);
        return;
      }
      u->join_s = json_integer_value(v);
    }
    if ((v = json_object_get(e, "UnreadMsgNum"))) {
      if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
        rest_reply_err(c, IMC_E_GROUP_PARAM, "MemberList[].UnreadMsgNum must be a non-negative integer", NULL);
        return;
      }
      u->unread = (uint32_t)json_integer_value(v);
    }
  }
  im_group_add(c->srv->groups, c->sdkappid, gid, 0, import ? IM_GADD_IMPORT : IM_GADD_ADMIN, m->users, n,
               (int)json_integer_value(silence), imc_clock_now_s(), reply_results, c);
}

void rest_add_group_member(rest_ctx_t *c) { add_or_import(c, 0); }
void rest_import_group_member(rest_ctx_t *c) { add_or_import(c, 1); }

/* Accounts of a string array field into a fresh uint32 array (caller frees). */
static int accounts(rest_ctx_t *c, const char *field, size_t max, uint32_t **out, size_t *n)
{
  json_t *arr = json_object_get(c->body, field), *v;
  size_t i;
  char why[160];
  if (!json_is_array(arr) || !json_array_size(arr)) {
    snprintf(why, sizeof why, "%s must be a non-empty array of UserIDs", field);
    rest_reply_err(c, IMC_E_GROUP_PARAM, why, NULL);
    return -1;
  }
  if (json_array_size(arr) > max) {
    snprintf(why, sizeof why, "%s holds at most %zu accounts", field, max);
    rest_reply_err(c, IMC_E_GROUP_TOO_MANY, why, NULL);
    return -1;
  }
  uint32_t *u = calloc(json_array_size(arr), sizeof *u);
  if (!u) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return -1; }
  json_array_foreach(arr, i, v) {
    if (grp_req_account(c->srv, c->sdkappid, v, &u[i])) {
      free(u);
      snprintf(why, sizeof why, "%s[%zu] is not an imported account", field, i);
      rest_reply_err(c, IMC_E_GROUP_USER, why, NULL);
      return -1;
    }
  }
  *out = u;
  *n = json_array_size(arr);
  return 0;
}

void rest_delete_group_member(rest_ctx_t *c)
{
  const char *gid;
  uint32_t *u;
  size_t n;
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  static const rest_field_t fields[] = { REST_FLAG("Silence"), REST_STR("Reason"), REST_FIELDS_END };
  if (rest_fields_req(c, fields, IMC_E_GROUP_PARAM)) return;
  if (accounts(c, "MemberToDel_Account", GRP_DELETE_MEMBERS_MAX, &u, &n)) return;
  im_group_remove(c->srv->groups, c->sdkappid, gid, 0, IM_GDEL_KICK, u, n,
                  json_integer_value(json_object_get(c->body, "Silence")) == 1, imc_clock_now_s(), reply_plain, c);
  free(u);
}

/* ---- get_group_member_info ------------------------------------------------------------------------ */
static void members_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *mr)
{
  (void)app; (void)gno;
  mst_t *m = ((rest_ctx_t *)ud)->data;
  m->scanned++;
  if (json_is_array(m->roles)) {
    size_t i;
    json_t *v;
    int keep = 0;
    json_array_foreach(m->roles, i, v) keep |= json_is_string(v) && !strcmp(json_string_value(v), im_grole_name((im_grole_t)mr->role));
    if (!keep) return;
  }
  api_list_add(m->out, grp_member_json(mr, m->filter, m->keys), &m->bad);
}

static void members_done(void *ud, int rc)
{
  rest_ctx_t *c = ud;
  mst_t *m = c->data;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  im_group_t *g = im_group_find(c->srv->groups, c->sdkappid, json_string_value(json_object_get(c->body, "GroupId")));
  im_group_view_t v = { 0 };
  if (g) im_group_view(g, &v);
  json_t *extra = m->bad ? NULL : json_pack("{s:I,s:O}", "MemberNum", (json_int_t)v.member_num, "MemberList", m->out);
  /* Next: the offset of the following page while more may follow ("" when done): the rows read, not the
   * members kept, so a MemberRoleFilter page that kept few (or none) still leads on */
  int64_t next = m->now_s + (int64_t)m->scanned;
  char buf[24] = "";
  if (g && next < (int64_t)v.member_num && (int64_t)m->scanned == m->limit) snprintf(buf, sizeof buf, "%lld", (long long)next);
  api_field_put(extra, "Next", json_string(buf), &m->bad);
  rest_reply_ok(c, api_json_whole(extra, m->bad));
}

void rest_get_group_member_info(rest_ctx_t *c)
{
  const char *gid;
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  im_group_t *g = im_group_find(c->srv->groups, c->sdkappid, gid);
  if (!g) { rest_reply_err(c, IMC_E_GROUP_GONE, NULL, NULL); return; }
  im_group_view_t v;
  im_group_view(g, &v);
  if (im_gtype_info(v.type)->live) {
    rest_reply_err(c, IMC_E_GROUP_TYPE_OP, "an AVChatRoom keeps no member list (get_online_member_num counts it)", NULL);
    return;
  }
  json_t *lim = json_object_get(c->body, "Limit"), *off = json_object_get(c->body, "Offset"), *next = json_object_get(c->body, "Next");
  int64_t limit = lim ? json_integer_value(lim) : GRP_MEMBER_PAGE_MAX, offset = off ? json_integer_value(off) : 0;
  if ((lim && !json_is_integer(lim)) || (off && !json_is_integer(off)) || limit < 1 || limit > GRP_MEMBER_PAGE_MAX ||
      offset < 0) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "Limit must be 1..6000 and Offset non-negative", NULL);
    return;
  }
  if (next) { /* the Next cursor is the offset of the page (a decimal string) */
    char *end;
    if (!json_is_string(next)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "Next must be a string", NULL); return; }
    offset = json_string_length(next) ? strtoll(json_string_value(next), &end, 10) : 0;
    if (json_string_length(next) && (*end || offset < 0)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "Next is not a cursor of this API", NULL); return; }
  }
  /* a filter of the wrong type read as absent: every field of every member came back */
  static const rest_field_t fields[] = { REST_STRS("MemberRoleFilter"), REST_STRS("MemberInfoFilter"),
                                         REST_STRS("AppDefinedDataFilter_GroupMember"), REST_FIELDS_END };
  if (rest_fields_req(c, fields, IMC_E_GROUP_PARAM)) return;
  mst_t *m = mst_new(c, 0);
  if (!m) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  m->out = json_array();
  m->filter = json_object_get(c->body, "MemberInfoFilter");
  m->roles = json_object_get(c->body, "MemberRoleFilter");
  m->keys = json_object_get(c->body, "AppDefinedDataFilter_GroupMember");
  m->now_s = offset; /* reused: the page's offset */
  m->limit = limit;
  im_group_members_read(c->srv->groups, c->sdkappid, v.group_no, offset, (int)limit, members_row, members_done, c);
}

/* ---- profile ------------------------------------------------------------------------------------ */
void rest_modify_group_base_info(rest_ctx_t *c)
{
  const char *gid;
  char why[320];
  int64_t max;
  int rc;
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  json_t *changes = json_object();
  if ((rc = im_group_fields(c->body, 0, "MaxMemberNum", changes, &max, why, sizeof why))) {
    json_decref(changes);
    rest_reply_err(c, rc, why, NULL);
    return;
  }
  im_group_modify(c->srv->groups, c->sdkappid, gid, 0, changes, max, imc_clock_now_s(), reply_plain, c);
}

void rest_modify_group_member_info(rest_ctx_t *c)
{
  const char *gid;
  char why[320];
  int rc;
  json_t *v;
  im_gmember_mod_t mod = { 0, -1, -1, NULL, NULL, -1 };
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (grp_req_account(c->srv, c->sdkappid, json_object_get(c->body, "Member_Account"), &mod.user_no)) {
    rest_reply_err(c, IMC_E_GROUP_USER, "Member_Account is not an imported account", NULL);
    return;
  }
  if ((v = json_object_get(c->body, "Role"))) {
    im_grole_t r;
    if (!json_is_string(v) || im_grole_parse(json_string_value(v), &r) || r == IM_GR_OWNER) {
      rest_reply_err(c, IMC_E_GROUP_PARAM, "Role must be Admin or Member", NULL);
      return;
    }
    mod.role = (int)r;
  }
  if ((v = json_object_get(c->body, "MsgFlag")) && (!json_is_string(v) || im_gmsgflag_parse(json_string_value(v), &mod.msg_flag))) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "MsgFlag must be AcceptAndNotify, AcceptNotNotify or Discard", NULL);
    return;
  }
  if ((v = json_object_get(c->body, "NameCard"))) {
    if ((rc = im_group_name_card_check(v, why, sizeof why))) { rest_reply_err(c, rc, why, NULL); return; }
    mod.name_card = (char *)json_string_value(v);
  }
  char *data = NULL;
  if ((v = json_object_get(c->body, "AppMemberDefinedData"))) {
    if ((rc = im_group_member_data_check(v, why, sizeof why))) { rest_reply_err(c, rc, why, NULL); return; }
    mod.data = data = json_dumps(v, JSON_COMPACT);
  }
  if ((v = json_object_get(c->body, "MuteTime"))) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
      free(data);
      rest_reply_err(c, IMC_E_GROUP_PARAM, "MuteTime must be 0..4294967295 seconds", NULL);
      return;
    }
    mod.mute_s = json_integer_value(v);
  }
  im_group_member_modify(c->srv->groups, c->sdkappid, gid, 0, &mod, imc_clock_now_s(), reply_plain, c);
  free(data); /* the core copied what it keeps into its job */
}

void rest_change_group_owner(rest_ctx_t *c)
{
  const char *gid;
  uint32_t no;
  json_t *v = json_object_get(c->body, "NewOwner_Account");
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (grp_req_account(c->srv, c->sdkappid, v, &no)) {
    rest_reply_err(c, IMC_E_GROUP_USER, "NewOwner_Account is not an imported account", NULL);
    return;
  }
  im_group_transfer(c->srv->groups, c->sdkappid, gid, 0, no, json_string_value(v), imc_clock_now_s(), reply_plain, c);
}

void rest_get_role_in_group(rest_ctx_t *c)
{
  const char *gid;
  json_t *arr = json_object_get(c->body, "User_Account"), *v;
  size_t i;
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (!json_is_array(arr) || !json_array_size(arr)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "User_Account must be a non-empty array", NULL); return; }
  if (json_array_size(arr) > GRP_ROLE_USERS_MAX) { rest_reply_err(c, IMC_E_GROUP_TOO_MANY, "User_Account holds at most 500 accounts", NULL); return; }
  im_group_t *g = im_group_find(c->srv->groups, c->sdkappid, gid);
  if (!g) { rest_reply_err(c, IMC_E_GROUP_GONE, NULL, NULL); return; }
  json_t *out = json_array();
  int bad = 0;
  json_array_foreach(arr, i, v) {
    uint32_t no = 0;
    if (!json_is_string(v)) { json_decref(out); rest_reply_err(c, IMC_E_GROUP_PARAM, "User_Account must hold strings", NULL); return; }
    im_grole_t r = grp_req_account(c->srv, c->sdkappid, v, &no) ? IM_GR_NONE : im_group_role(g, no);
    api_list_add(out, json_pack("{s:O,s:s}", "Member_Account", v, "Role", im_grole_name(r)), &bad);
  }
  json_t *extra = bad ? NULL : json_pack("{s:O}", "UserIdList", out);
  json_decref(out);
  rest_reply_ok(c, extra);
}

/* ---- mute ----------------------------------------------------------------------------------------- */
void rest_forbid_send_msg(rest_ctx_t *c)
{
  const char *gid;
  uint32_t *u;
  size_t n;
  json_t *t = json_object_get(c->body, "MuteTime");
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (rest_fields_req(c, grp_no_topic, IMC_E_GROUP_PARAM)) return;
  if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > UINT32_MAX) {
    rest_reply_err(c, IMC_E_GROUP_PARAM, "MuteTime must be 0..4294967295 seconds", NULL);
    return;
  }
  if (accounts(c, "Members_Account", GRP_MUTE_MEMBERS_MAX, &u, &n)) return;
  im_group_mute(c->srv->groups, c->sdkappid, gid, 0, u, n, json_integer_value(t), imc_clock_now_s(), reply_plain, c);
  free(u);
}

static void muted_row(void *ud, uint32_t app, uint32_t gno, const store_grp_member_t *mr)
{
  (void)app; (void)gno;
  mst_t *m = ((rest_ctx_t *)ud)->data;
  if (mr->mute_until_s > m->now_s)
    api_list_add(m->out, json_pack("{s:s,s:I}", "Member_Account", mr->user_id, "MutedUntil", (json_int_t)mr->mute_until_s), &m->bad);
}

static void muted_done(void *ud, int rc)
{
  rest_ctx_t *c = ud;
  mst_t *m = c->data;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  rest_reply_ok(c, m->bad ? NULL : json_pack("{s:O,s:O}", "GroupId", json_object_get(c->body, "GroupId"), "MutedAccountList", m->out));
}

void rest_get_group_muted_account(rest_ctx_t *c)
{
  const char *gid;
  if (grp_req_id(c->body, "GroupId", &gid)) { rest_reply_err(c, IMC_E_GROUP_PARAM, "GroupId is required", NULL); return; }
  if (rest_fields_req(c, grp_no_topic, IMC_E_GROUP_PARAM)) return;
  im_group_t *g = im_group_find(c->srv->groups, c->sdkappid, gid);
  if (!g) { rest_reply_err(c, IMC_E_GROUP_GONE, NULL, NULL); return; }
  im_group_view_t v;
  im_group_view(g, &v);
  mst_t *m = mst_new(c, 0);
  if (!m) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  m->out = json_array();
  m->now_s = imc_clock_now_s();
  im_group_members_read(c->srv->groups, c->sdkappid, v.group_no, 0, -1, muted_row, muted_done, c);
}
