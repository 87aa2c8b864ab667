/* rel_friend_get.c — the friend reads (rest-api-reference §2.6), answered
 * from memory: sns/friend_check (the four relations), friend_get (pages of
 * REL_FRIEND_PAGE friends in UserID byte order — the same order on every
 * device and every call — with StandardSequence / CustomSequence: a caller
 * that already holds the current sequence gets the friends' UserIDs without
 * the fields it has), friend_get_list (chosen friends, chosen tags). */
#include "api/rel_api.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static const char *const relations[] = { "CheckResult_Type_NoRelation", "CheckResult_Type_AWithB",
                                         "CheckResult_Type_BWithA", "CheckResult_Type_BothWay" };

void rest_friend_check(rest_ctx_t *c)
{
  rel_user_t *a = NULL;
  int rc = rel_from(c, "From_Account", 0, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  json_t *to = json_object_get(c->body, "To_Account"), *ct = json_object_get(c->body, "CheckType");
  if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > REL_BATCH_MAX) {
    rest_reply_err(c, IMC_E_REL_PARAM, "To_Account must be an array of 1-1000 UserIDs", NULL);
    return;
  }
  int both = 1;
  if (ct && json_is_string(ct) && !strcmp(json_string_value(ct), "CheckResult_Type_Single")) both = 0;
  else if (ct && (!json_is_string(ct) || strcmp(json_string_value(ct), "CheckResult_Type_Both"))) {
    rest_reply_err(c, IMC_E_REL_PARAM, "CheckType is CheckResult_Type_Both or CheckResult_Type_Single", NULL);
    return;
  }
  rel_check_reply(c, a, to, REL_K_FRIEND, both, relations, "InfoItem");
}

/* The value of one friend tag from a friend row (NULL when the tag is not
 * a friend tag or has no value). */
static json_t *friend_tag(json_t *row, const char *tag)
{
  static const struct { const char *tag, *field; } std[] = {
    { "Tag_SNS_IM_AddSource", "AddSource" }, { "Tag_SNS_IM_AddWording", "AddWording" },
    { "Tag_SNS_IM_AddTime", "AddTime" }, { "Tag_SNS_IM_Remark", "Remark" }, { "Tag_SNS_IM_Group", "Group" },
    { "Tag_SNS_IM_RemarkTime", "RemarkTime" },
  };
  for (size_t i = 0; i < sizeof std / sizeof std[0]; i++)
    if (!strcmp(std[i].tag, tag)) return json_incref(json_object_get(row, std[i].field));
  if (!strncmp(tag, "Tag_SNS_Custom_", 15)) return json_incref(json_object_get(json_object_get(row, "Custom"), tag));
  return NULL;
}

/* The tag's {Tag, Value} into arr when the row has a value (an entry that cannot be made sets *bad, §85). */
static void add_tag(json_t *arr, json_t *row, const char *tag, int *bad)
{
  json_t *v = friend_tag(row, tag);
  if (v) api_list_add(arr, json_pack("{s:s,s:o}", "Tag", tag, "Value", v), bad);
}

static int opt_u64(json_t *body, const char *name, int64_t *out)
{
  json_t *v = json_object_get(body, name);
  *out = 0;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0) return IMC_E_REL_PARAM;
  *out = json_integer_value(v);
  return 0;
}

void rest_friend_get(rest_ctx_t *c)
{
  rel_user_t *a = NULL;
  int64_t start, std_seq, cus_seq;
  int rc = rel_from(c, "From_Account", 0, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  if (opt_u64(c->body, "StartIndex", &start) || opt_u64(c->body, "StandardSequence", &std_seq) ||
      opt_u64(c->body, "CustomSequence", &cus_seq)) {
    rest_reply_err(c, IMC_E_REL_PARAM, "StartIndex, StandardSequence and CustomSequence are non-negative integers", NULL);
    return;
  }
  size_t n;
  const rel_row_t *rows = rel_rows(a, REL_K_FRIEND, &n);
  int64_t cur_std = rel_meta_i64(a, "friend_seq"), cur_cus = rel_meta_i64(a, "friend_cseq");
  int want_std = !(std_seq && std_seq == cur_std), want_cus = !(cus_seq && cus_seq == cur_cus);
  json_t *items = json_array();
  int bad = 0; /* a friend, or a tag of one, left out of the page: 70500 (§85) */
  size_t from = (size_t)start < n ? (size_t)start : n, to = from + REL_FRIEND_PAGE < n ? from + REL_FRIEND_PAGE : n;
  for (size_t i = from; i < to && !bad; i++) {
    json_t *row = rel_json(rows[i].val), *vi = json_array();
    if (!row) bad = 1; /* a stored row always reads: none is out of memory */
    if (want_std) {
      add_tag(vi, row, "Tag_SNS_IM_AddSource", &bad);
      add_tag(vi, row, "Tag_SNS_IM_AddWording", &bad);
      add_tag(vi, row, "Tag_SNS_IM_AddTime", &bad);
      add_tag(vi, row, "Tag_SNS_IM_Remark", &bad);
      if (json_array_size(json_object_get(row, "Group"))) add_tag(vi, row, "Tag_SNS_IM_Group", &bad);
    }
    if (want_cus) {
      const char *k;
      json_t *cv;
      json_object_foreach(json_object_get(row, "Custom"), k, cv)
        api_list_add(vi, json_pack("{s:s,s:O}", "Tag", k, "Value", cv), &bad);
    }
    json_decref(row);
    api_list_add(items, json_pack("{s:s,s:o}", "To_Account", rows[i].key, "ValueItem", vi), &bad);
  }
  rest_reply_ok(c, api_json_whole(json_pack("{s:o,s:I,s:I,s:I,s:i,s:I}", "UserDataItem", items, "StandardSequence",
                                            (json_int_t)cur_std, "CustomSequence", (json_int_t)cur_cus, "FriendNum",
                                            (json_int_t)n, "CompleteFlag", to >= n, "NextStartIndex", (json_int_t)to), bad));
}

void rest_friend_get_list(rest_ctx_t *c)
{
  rel_user_t *a = NULL;
  int rc = rel_from(c, "From_Account", 0, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  json_t *to = json_object_get(c->body, "To_Account"), *tags = json_object_get(c->body, "TagList"), *v, *t;
  if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > REL_PROFILE_GET_MAX) {
    rest_reply_err(c, IMC_E_REL_PARAM, "To_Account must be an array of 1-100 UserIDs", NULL);
    return;
  }
  if (!json_is_array(tags) || json_array_size(tags) == 0) {
    rest_reply_err(c, IMC_E_REL_PARAM, "TagList must be a non-empty array of tags", NULL);
    return;
  }
  size_t i, j;
  json_array_foreach(tags, j, t) if (!json_is_string(t)) { rest_reply_err(c, IMC_E_REL_PARAM, "TagList holds strings", NULL); return; }
  json_t *items = json_array(), *fail = json_array();
  int bad = 0; /* a friend, a tag or a failed UserID left out: 70500 (§85) */
  json_array_foreach(to, i, v) {
    if (bad) break;
    const char *id = json_is_string(v) ? json_string_value(v) : "";
    json_t *row = json_is_string(v) ? rel_json(rel_val(a, REL_K_FRIEND, id)) : NULL;
    if (!row) {
      api_list_add(items, json_pack("{s:s,s:[],s:i,s:s}", "To_Account", id, "SnsProfileItem", "ResultCode",
                                    imc_err_compat(IMC_E_REL_NOT_FRIEND), "ResultInfo", imc_strerror(IMC_E_REL_NOT_FRIEND)), &bad);
      api_list_add(fail, json_string(id), &bad);
      continue;
    }
    json_t *sp = json_array();
    uint32_t no;
    const rel_user_t *peer = tenant_registry_account_find(c->srv->reg, c->sdkappid, id, &no) ? NULL : rel_user(c->srv->rel, c->sdkappid, no);
    json_array_foreach(tags, j, t) {
      const char *tag = json_string_value(t);
      if (!strncmp(tag, "Tag_Profile_", 12)) /* the friend's own profile */
        api_list_add(sp, json_pack("{s:s,s:o}", "Tag", tag, "Value", rel_profile_value(rel_user(c->srv->rel, c->sdkappid, 0), peer, tag)), &bad);
      else add_tag(sp, row, tag, &bad);
    }
    json_decref(row);
    api_list_add(items, json_pack("{s:s,s:o,s:i,s:s}", "To_Account", id, "SnsProfileItem", sp, "ResultCode", 0,
                                  "ResultInfo", ""), &bad);
  }
  rest_reply_ok(c, api_json_whole(json_pack("{s:o,s:o}", "InfoItem", items, "Fail_Account", fail), bad));
}
