/* rest_state.c — openim/query_online_status and its older name
 * openim/querystate (rest-api-reference §2.1). The two differ only in the
 * name of the status field: "Status" vs "State". Answered from memory. */
#include "api/api_int.h"
#include "util/clock.h"
#include "util/err.h"

#define QUERY_MAX 500

static void query_status(rest_ctx_t *c, const char *field)
{
  json_t *arr = json_object_get(c->body, "To_Account"), *v;
  json_t *need = json_object_get(c->body, "IsNeedDetail");
  size_t i;
  if (!json_is_array(arr)) { rest_reply_err(c, IMC_E_JSON_TYPE, "To_Account must be an array of UserIDs", NULL); return; }
  if (json_array_size(arr) == 0) { rest_reply_err(c, IMC_E_INVAL, "To_Account must not be empty", NULL); return; }
  if (json_array_size(arr) > QUERY_MAX) { rest_reply_err(c, IMC_E_TOO_MANY_ACCOUNTS, "To_Account holds at most 500 UserIDs", NULL); return; }
  if (need && !json_is_integer(need)) { rest_reply_err(c, IMC_E_JSON_TYPE, "IsNeedDetail must be 0 or 1", NULL); return; }
  if (need && json_integer_value(need) != 0 && json_integer_value(need) != 1) {
    rest_reply_err(c, IMC_E_INVAL, "IsNeedDetail must be 0 or 1", NULL); /* 2 or -1 was taken as 0 */
    return;
  }
  int detail = need && json_integer_value(need) == 1;
  int64_t now = imc_clock_now_s();
  json_t *result = json_array(), *errors = json_array();
  int bad = 0; /* a user left out of QueryResult or ErrorList, or its Detail: 70500, never a partial answer (§85) */
  json_array_foreach(arr, i, v) {
    if (bad) break;
    uint32_t user_no;
    if (!json_is_string(v) || !tenant_user_id_valid(json_string_value(v))) {
      api_list_add(errors, json_pack("{s:O,s:i}", "To_Account", v, "ErrorCode", imc_err_compat(IMC_E_USER_ID)), &bad);
      continue;
    }
    const char *uid = json_string_value(v);
    if (tenant_registry_account_find(c->srv->reg, c->sdkappid, uid, &user_no)) {
      api_list_add(errors, json_pack("{s:s,s:i}", "To_Account", uid, "ErrorCode", imc_err_compat(IMC_E_USER_NOT_FOUND)), &bad);
      continue;
    }
    im_status_t per[IM_PLAT__COUNT];
    im_status_t st = im_presence_status(c->srv->presence, c->sdkappid, user_no, now, per);
    json_t *item = json_pack("{s:s,s:s}", "To_Account", uid, field, im_status_name(st));
    if (detail) {
      json_t *d = json_array();
      for (int p = 1; p < IM_PLAT__COUNT; p++)
        if (per[p] != IM_STATUS_OFFLINE)
          api_list_add(d, json_pack("{s:s,s:s}", "Platform", im_platform_name((im_platform_t)p), field, im_status_name(per[p])), &bad);
      api_field_put(item, "Detail", d, &bad);
    }
    api_list_add(result, item, &bad);
  }
  rest_reply_ok(c, api_json_whole(json_pack("{s:o,s:o}", "QueryResult", result, "ErrorList", errors), bad));
}

void rest_query_online_status(rest_ctx_t *c) { query_status(c, "Status"); }
void rest_querystate(rest_ctx_t *c) { query_status(c, "State"); }
