/* rel_black.c — the blocklist: sns/black_list_add, black_list_delete,
 * black_list_get (with the compatible reply's CurruentSequence spelling),
 * black_list_check (rest-api-reference §2.6). Blocking someone also ends
 * the friendship both ways and drops pending requests between the two
 * (the peer's devices get friend_deleted; both users' friend_request_ended); a blocked sender's C2C sends over
 * WebSocket are refused with 20007 (rel_c2c.c). Changes bump "black_seq"
 * and push black_changed to the owner's devices. */
#include "api/rel_api.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static json_t *result_item(const char *to, int err)
{
  return json_pack("{s:s,s:i,s:s}", "To_Account", to, "ResultCode", err ? imc_err_compat(err) : 0, "ResultInfo",
                   err ? imc_strerror(err) : "");
}

static int to_list(rest_ctx_t *c, json_t **to)
{
  *to = json_object_get(c->body, "To_Account");
  if (!json_is_array(*to) || json_array_size(*to) == 0 || json_array_size(*to) > REL_BATCH_MAX) {
    rest_reply_err(c, IMC_E_REL_PARAM, "To_Account must be an array of 1-1000 UserIDs", NULL);
    return -1;
  }
  return 0;
}

static int peer_of(rest_ctx_t *c, rel_user_t *a, json_t *v, const char **id, rel_user_t **b)
{
  uint32_t no;
  int rc = rel_peer(c->srv, c->sdkappid, v, id, &no);
  if (rc == IMC_E_USER_ID) { *id = json_is_string(v) ? json_string_value(v) : ""; return IMC_E_REL_PARAM; }
  if (rc) return IMC_E_REL_USER;
  if (no == a->user_no) return IMC_E_REL_PARAM;
  return (*b = rel_peer_rec(c->srv, c->sdkappid, no, *id)) ? 0 : IMC_E_NOMEM;
}

static void change(rest_ctx_t *c, int add)
{
  rel_user_t *a, *b;
  json_t *to, *v;
  size_t i;
  int64_t seq;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int rc = rel_from(c, "From_Account", 1, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  if (to_list(c, &to)) return;
  char t[24];
  snprintf(t, sizeof t, "%lld", (long long)imc_clock_now_s());
  json_t *results = json_array(), *fail = json_array();
  int changed = 0;
  json_array_foreach(to, i, v) {
    const char *id;
    rc = peer_of(c, a, v, &id, &b);
    if (!rc && add && !rel_get(a, REL_K_BLACK, id) && rel_count(a, REL_K_BLACK) >= REL_BLACK_MAX) rc = IMC_E_REL_BLACK_FULL;
    if (!rc && add && !rel_get(a, REL_K_BLACK, id)) {
      rc = rel_txn_put(&rr->txn, a, REL_K_BLACK, id, t);
      if (!rc) rc = rel_friend_unlink(rr, a, b);
      if (!rc) rc = rel_friend_unlink(rr, b, a);
      if (!rc) rc = rel_pending_drop(rr, a, b, "blocked");
      changed = 1;
    } else if (!rc && !add) {
      if (!rel_get(a, REL_K_BLACK, id)) rc = IMC_E_REL_PARAM;
      else { rc = rel_txn_del(&rr->txn, a, REL_K_BLACK, id); changed = 1; }
    }
    if (rc == IMC_E_NOMEM) { json_decref(results); json_decref(fail); rest_reply_err(c, rc, NULL, NULL); return; }
    /* an entry lost: the request fails 70500 and is undone (§82) */
    api_list_add(results, rc == IMC_E_REL_PARAM && !add ? json_pack("{s:s,s:i,s:s}", "To_Account", id, "ResultCode",
                          imc_err_compat(rc), "ResultInfo", "not in the blocklist") : result_item(id, rc), &rr->lost);
    if (rc) api_list_add(fail, json_string(id), &rr->lost);
  }
  if (changed) {
    if ((rc = rel_txn_bump(&rr->txn, a, "black_seq", &seq))) {
      json_decref(results); json_decref(fail); rest_reply_err(c, rc, NULL, NULL); return;
    }
    relreq_push(rr, a->user_no, json_pack("{s:s,s:I}", "type", "black_changed", "seq", (json_int_t)seq));
  }
  relreq_commit(c, json_pack("{s:o,s:o}", "ResultItem", results, "Fail_Account", fail));
}

void rest_black_list_add(rest_ctx_t *c) { change(c, 1); }
void rest_black_list_delete(rest_ctx_t *c) { change(c, 0); }

static int req_u64(json_t *body, const char *name, int required, int64_t *out)
{
  json_t *v = json_object_get(body, name);
  *out = 0;
  if (!v) return required ? IMC_E_REL_PARAM : 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0) return IMC_E_REL_PARAM;
  *out = json_integer_value(v);
  return 0;
}

void rest_black_list_get(rest_ctx_t *c)
{
  rel_user_t *a = NULL;
  int64_t start, max, last;
  int rc = rel_from(c, "From_Account", 0, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  if (req_u64(c->body, "StartIndex", 1, &start) || req_u64(c->body, "MaxLimited", 1, &max) ||
      req_u64(c->body, "LastSequence", 0, &last) || max < 1 || max > REL_BLACK_PAGE_MAX) {
    rest_reply_err(c, IMC_E_REL_PARAM, "StartIndex (>= 0) and MaxLimited (1-1000) are required; LastSequence is >= 0", NULL);
    return;
  }
  size_t n;
  const rel_row_t *rows = rel_rows(a, REL_K_BLACK, &n);
  int64_t cur = rel_meta_i64(a, "black_seq");
  json_t *items = json_array();
  int bad = 0; /* an entry left out of the page: 70500, never a page that skips one (§85) */
  size_t from = (size_t)start < n ? (size_t)start : n, to = from + (size_t)max < n ? from + (size_t)max : n;
  if (last && last == cur) from = to = n; /* the caller holds the current list */
  for (size_t i = from; i < to && !bad; i++)
    api_list_add(items, json_pack("{s:s,s:I}", "To_Account", rows[i].key, "AddBlackTimeStamp",
                                  (json_int_t)strtoll(rows[i].val, NULL, 10)), &bad);
  rest_reply_ok(c, api_json_whole(json_pack("{s:o,s:I,s:I}", "BlackListItem", items, "StartIndex", (json_int_t)(to < n ? to : 0),
                                            "CurruentSequence", (json_int_t)cur), bad));
}

void rest_black_list_check(rest_ctx_t *c)
{
  static const char *const rel_names[] = { "BlackCheckResult_Type_NO", "BlackCheckResult_Type_AWithB",
                                           "BlackCheckResult_Type_BWithA", "BlackCheckResult_Type_BothWay" };
  rel_user_t *a = NULL;
  json_t *to, *ct = json_object_get(c->body, "CheckType");
  int rc = rel_from(c, "From_Account", 0, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  if (to_list(c, &to)) return;
  int both = 1;
  if (ct && json_is_string(ct) && !strcmp(json_string_value(ct), "BlackCheckResult_Type_Single")) both = 0;
  else if (ct && (!json_is_string(ct) || strcmp(json_string_value(ct), "BlackCheckResult_Type_Both"))) {
    rest_reply_err(c, IMC_E_REL_PARAM, "CheckType is BlackCheckResult_Type_Both or BlackCheckResult_Type_Single", NULL);
    return;
  }
  rel_check_reply(c, a, to, REL_K_BLACK, both, rel_names, "BlackListCheckItem");
}

/* ---- the C2C send checks ---------------------------------------------------------------- */
int rel_c2c_check(api_srv_t *srv, uint32_t app, uint32_t from_no, const char *from_id, uint32_t to_no, const char *to_id)
{
  /* either user may have no record (no profile, no rows): rel_get of NULL finds nothing */
  const rel_user_t *from = rel_user(srv->rel, app, from_no), *to = rel_user(srv->rel, app, to_no);
  if (rel_val(from, REL_K_META, REL_MUTE_C2C) && rel_mute_left(from, REL_MUTE_C2C, imc_clock_now_s())) /* a send reads no clock */
    return IMC_E_MSG_FORBIDDEN;
  if (rel_get(to, REL_K_BLACK, from_id)) return IMC_E_MSG_BLOCKED;
  if (!rel_settings_c2c_friendship(rel_user(srv->rel, app, 0))) return 0;
  int from_has = rel_get(from, REL_K_FRIEND, to_id) != NULL, to_has = rel_get(to, REL_K_FRIEND, from_id) != NULL;
  if (!from_has && !to_has) return IMC_E_MSG_NOT_FRIENDS;
  if (!to_has) return IMC_E_MSG_NOT_PEER_FRIEND;
  if (!from_has) return IMC_E_MSG_NOT_OWN_FRIEND;
  return 0;
}
