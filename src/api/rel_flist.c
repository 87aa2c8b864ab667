/* rel_flist.c — friend lists: sns/group_add, group_delete, group_get
 * (rest-api-reference §2.6). A list is a REL_K_FLIST row; membership is
 * the "Group" array of each friend row. At most REL_FLISTS_MAX lists of
 * REL_FLIST_NAME_MAX_BYTES (30011 beyond). Changes bump "flist_seq"
 * (CurrentSequence) and push flists_changed to the owner's devices. */
#include "api/rel_api.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static int names_of(rest_ctx_t *c, int required, json_t **out)
{
  json_t *g = json_object_get(c->body, "GroupName"), *v;
  size_t i;
  *out = g;
  if (!g && !required) return 0;
  if (!json_is_array(g) || json_array_size(g) == 0 || json_array_size(g) > REL_FLISTS_MAX) return IMC_E_REL_PARAM;
  json_array_foreach(g, i, v)
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > REL_FLIST_NAME_MAX_BYTES) return IMC_E_REL_PARAM;
  return 0;
}

/* Rewrite friend `peer`'s Group array with `name` added (add=1) or removed. */
static int regroup(relreq_t *rr, rel_user_t *a, const char *peer, const char *name, int add)
{
  json_t *row = rel_json(rel_val(a, REL_K_FRIEND, peer));
  if (!row) return IMC_E_REL_NOT_FRIEND;
  json_t *g = json_object_get(row, "Group"), *out = json_array(), *v;
  size_t i;
  int present = 0, bad = 0; /* a list left out of the row: the row is not written (IMC_E_NOMEM) */
  json_array_foreach(g, i, v) {
    if (!strcmp(json_string_value(v), name)) { present = 1; if (!add) continue; }
    api_list_add(out, json_incref(v), &bad);
  }
  if (add && !present) api_list_add(out, json_string(name), &bad);
  int rc = 0;
  if (add != present) {
    api_field_put(row, "Group", out, &bad);
    out = NULL;
    char *text = bad ? NULL : rel_text(row);
    rc = text ? rel_txn_put(&rr->txn, a, REL_K_FRIEND, peer, text) : IMC_E_NOMEM;
    free(text);
    if (!rc) rc = rel_txn_bump(&rr->txn, a, "friend_seq", NULL);
  }
  json_decref(out);
  json_decref(row);
  return rc;
}

void rest_flist_add(rest_ctx_t *c)
{
  rel_user_t *a;
  json_t *names, *v, *n;
  size_t i, j;
  int64_t seq = 0;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int rc = rel_from(c, "From_Account", 1, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  if (names_of(c, 1, &names)) { rest_reply_err(c, IMC_E_REL_PARAM, "GroupName must be an array of 1-32 names of 1-30 bytes", NULL); return; }
  json_t *to = json_object_get(c->body, "To_Account");
  if (to && (!json_is_array(to) || json_array_size(to) > REL_BATCH_MAX)) {
    rest_reply_err(c, IMC_E_REL_PARAM, "To_Account must be an array of at most 1000 UserIDs", NULL);
    return;
  }
  size_t fresh = 0;
  json_array_foreach(names, i, n) fresh += !rel_str_repeated(names, i) && !rel_get(a, REL_K_FLIST, json_string_value(n)); /* twice: one list */
  if (rel_count(a, REL_K_FLIST) + fresh > REL_FLISTS_MAX) { rest_reply_err(c, IMC_E_REL_FLISTS_FULL, NULL, NULL); return; }
  char t[24];
  snprintf(t, sizeof t, "%lld", (long long)imc_clock_now_s());
  json_array_foreach(names, i, n)
    if (!rc && !rel_get(a, REL_K_FLIST, json_string_value(n))) rc = rel_txn_put(&rr->txn, a, REL_K_FLIST, json_string_value(n), t);
  json_t *results = json_array();
  json_array_foreach(to, j, v) {
    const char *peer = json_is_string(v) ? json_string_value(v) : "";
    int r = tenant_user_id_valid(peer) ? 0 : IMC_E_REL_PARAM; /* not a UserID: a bad item, not "not friends" */
    json_array_foreach(names, i, n) if (!r) r = regroup(rr, a, peer, json_string_value(n), 1);
    if (r == IMC_E_NOMEM) rc = r;
    api_list_add(results, json_pack("{s:s,s:i,s:s}", "To_Account", peer, "ResultCode", r ? imc_err_compat(r) : 0,
                                    "ResultInfo", r ? imc_strerror(r) : ""), &rr->lost); /* lost: 70500, undone (§82) */
  }
  if (!rc) rc = rel_txn_bump(&rr->txn, a, "flist_seq", &seq);
  if (rc) { json_decref(results); rest_reply_err(c, rc, NULL, NULL); return; }
  relreq_push(rr, a->user_no, json_pack("{s:s,s:I}", "type", "flists_changed", "seq", (json_int_t)seq));
  relreq_commit(c, json_pack("{s:o,s:I}", "ResultItem", results, "CurrentSequence", (json_int_t)seq));
}

void rest_flist_delete(rest_ctx_t *c)
{
  rel_user_t *a;
  json_t *names, *n;
  size_t i;
  int64_t seq = 0;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int rc = rel_from(c, "From_Account", 1, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  if (names_of(c, 1, &names)) { rest_reply_err(c, IMC_E_REL_PARAM, "GroupName must be an array of 1-32 names of 1-30 bytes", NULL); return; }
  json_array_foreach(names, i, n) {
    const char *name = json_string_value(n);
    if (!rel_get(a, REL_K_FLIST, name)) {
      char why[96];
      snprintf(why, sizeof why, "no friend list named %.40s", name);
      rest_reply_err(c, IMC_E_REL_PARAM, why, NULL);
      return;
    }
    if ((rc = rel_txn_del(&rr->txn, a, REL_K_FLIST, name))) break;
    size_t cnt;
    const rel_row_t *rows = rel_rows(a, REL_K_FRIEND, &cnt);
    for (size_t k = 0; k < cnt && !rc; k++) {
      rc = regroup(rr, a, rows[k].key, name, 0);
      rows = rel_rows(a, REL_K_FRIEND, &cnt); /* a put may have moved the array */
    }
    if (rc) break;
  }
  if (!rc) rc = rel_txn_bump(&rr->txn, a, "flist_seq", &seq);
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  relreq_push(rr, a->user_no, json_pack("{s:s,s:I}", "type", "flists_changed", "seq", (json_int_t)seq));
  relreq_commit(c, json_pack("{s:I}", "CurrentSequence", (json_int_t)seq));
}

void rest_flist_get(rest_ctx_t *c)
{
  rel_user_t *a = NULL;
  json_t *names, *nf = json_object_get(c->body, "NeedFriend");
  int rc = rel_from(c, "From_Account", 0, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  if (names_of(c, 0, &names)) { rest_reply_err(c, IMC_E_REL_PARAM, "GroupName must be an array of 1-32 names of 1-30 bytes", NULL); return; }
  if (nf && (!json_is_string(nf) || (strcmp(json_string_value(nf), "Need_Friend_Type_Yes") && strcmp(json_string_value(nf), "Need_Friend_Type_No")))) {
    rest_reply_err(c, IMC_E_REL_PARAM, "NeedFriend is Need_Friend_Type_Yes or Need_Friend_Type_No", NULL);
    return;
  }
  int need = nf && !strcmp(json_string_value(nf), "Need_Friend_Type_Yes");
  size_t nl, nfr;
  const rel_row_t *lists = rel_rows(a, REL_K_FLIST, &nl), *friends = rel_rows(a, REL_K_FRIEND, &nfr);
  json_t *out = json_array();
  int bad = 0; /* a list, a member or a member count left out: 70500 (§85) */
  for (size_t i = 0; i < nl && !bad; i++) {
    size_t k;
    json_t *n;
    int wanted = !names;
    json_array_foreach(names, k, n) if (!strcmp(json_string_value(n), lists[i].key)) wanted = 1;
    if (!wanted) continue;
    json_t *members = json_array();
    for (size_t f = 0; f < nfr; f++) {
      json_t *row = rel_json(friends[f].val), *g;
      size_t x;
      json_array_foreach(json_object_get(row, "Group"), x, g)
        if (!strcmp(json_string_value(g), lists[i].key)) { api_list_add(members, json_string(friends[f].key), &bad); break; }
      json_decref(row);
    }
    json_t *item = json_pack("{s:s,s:I}", "GroupName", lists[i].key, "FriendNumber", (json_int_t)json_array_size(members));
    if (need) api_field_put(item, "To_Account", members, &bad); else json_decref(members);
    api_list_add(out, item, &bad);
  }
  rest_reply_ok(c, api_json_whole(json_pack("{s:o,s:I}", "ResultItem", out, "CurrentSequence",
                                            (json_int_t)rel_meta_i64(a, "flist_seq")), bad));
}
