/* rel_friend.c — sns/friend_add, friend_import, friend_update,
 * friend_delete, friend_delete_all (rest-api-reference §2.6).
 *
 * Rules (docs/rest-api-relationships.md "Relationships"):
 * - friend_add: AddType Add_Type_Both (default) makes each user a friend of
 *   the other, Add_Type_Single only puts To_Account into From_Account's list.
 *   Unless ForceAddFlags is 1 or the peer already has the user as a friend,
 *   the peer's Tag_Profile_IM_AllowType decides: AllowAny adds,
 *   DenyAny refuses (30516), NeedConfirm (the default) records a pending
 *   request on both sides (30539) that the peer answers over WebSocket
 *   (`friend_response`, ws_rel.c). A blocklist entry either way refuses
 *   (30515 / 30525). The edition's friends per user: 30010 for the user's
 *   own list, 30014 for the peer's (plan_check).
 * - friend_add and friend_import settle the user's pending request to the
 *   friend (friend_request_ended, reason added), and the friend's request to
 *   the user only once they are friends both ways (pending_settle).
 * - friend_import: one way, no confirmation.
 * - friend_delete: Delete_Type_Both (default) or _Single; 31704 when there
 *   was nothing to delete. friend_delete_all: Delete_Type_Single (default)
 *   empties the user's list; _Both also removes the user from each peer's.
 * Every list change bumps the owner's friend sequence (StandardSequence of
 * friend_get) and pushes friend_added / friend_deleted / friend_updated to
 * the owner's online devices. */
#include "api/rel_api.h"
#include "util/clock.h"
#include "util/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared pieces ---------------------------------------------------------------- */
/* why: the refusal's own text (an edition limit names the limit, the edition and the editions that allow more),
 * "" for the code's. */
static json_t *result_item(const char *to, int err, const char *why)
{
  return json_pack("{s:s,s:i,s:s}", "To_Account", to, "ResultCode", err ? imc_err_compat(err) : 0, "ResultInfo",
                   !err ? "" : why && why[0] ? why : imc_strerror(err));
}

static int source_ok(json_t *v)
{
  static const char prefix[] = "AddSource_Type_";
  const char *s = json_string_value(v);
  size_t n = s ? strlen(s) : 0, p = sizeof prefix - 1;
  if (!s || strncmp(s, prefix, p) || n == p || n - p > REL_CUSTOM_NAME_MAX) return 0;
  for (s += p; *s; s++) if (!isalpha((unsigned char)*s)) return 0;
  return 1;
}

static int opt_str(json_t *item, const char *name, size_t max, json_t **out)
{
  json_t *v = json_object_get(item, name);
  *out = NULL;
  if (!v) return 0;
  if (!json_is_string(v) || json_string_length(v) > max) return IMC_E_REL_PARAM;
  *out = v;
  return 0;
}

/* A list of friend list names (array of strings): 0 when every name is valid
 * and the lists missing fit under the cap, else IMC_E_REL_PARAM /
 * IMC_E_REL_FLISTS_FULL. Changes nothing. */
static int groups_check(const rel_user_t *u, json_t *groups)
{
  size_t i, fresh = 0;
  json_t *g;
  if (!groups) return 0;
  if (!json_is_array(groups)) return IMC_E_REL_PARAM;
  json_array_foreach(groups, i, g) {
    if (!json_is_string(g) || !json_string_length(g) || json_string_length(g) > REL_FLIST_NAME_MAX_BYTES) return IMC_E_REL_PARAM;
    fresh += !rel_str_repeated(groups, i) && !rel_get(u, REL_K_FLIST, json_string_value(g));
  }
  return rel_count(u, REL_K_FLIST) + fresh > REL_FLISTS_MAX ? IMC_E_REL_FLISTS_FULL : 0;
}

/* Make the lists of groups that u lacks, after groups_check passed (a refused
 * item makes none); the owner's devices learn it (flists_changed). */
static int groups_make(relreq_t *rr, rel_user_t *u, json_t *groups)
{
  size_t i;
  json_t *g;
  int64_t seq = 0;
  char t[24];
  snprintf(t, sizeof t, "%lld", (long long)imc_clock_now_s());
  json_array_foreach(groups, i, g) {
    if (rel_get(u, REL_K_FLIST, json_string_value(g))) continue;
    int rc = rel_txn_put(&rr->txn, u, REL_K_FLIST, json_string_value(g), t);
    if (!rc) rc = rel_txn_bump(&rr->txn, u, "flist_seq", &seq);
    if (rc) return rc;
  }
  if (seq) relreq_push(rr, u->user_no, json_pack("{s:s,s:I}", "type", "flists_changed", "seq", (json_int_t)seq));
  return 0;
}

/* The names of groups (checked by groups_check), each once, in order of first appearance: a friend is in
 * a list or not, so a name given twice is kept once. New reference (NULL on OOM). */
static json_t *groups_unique(json_t *groups)
{
  json_t *out = json_array(), *g;
  size_t i;
  json_array_foreach(groups, i, g)
    if (out && !rel_str_repeated(groups, i) && json_array_append(out, g)) { json_decref(out); out = NULL; }
  return out;
}

/* groups_check, then groups_make. */
static int groups_ensure(relreq_t *rr, rel_user_t *u, json_t *groups)
{
  int rc = groups_check(u, groups);
  return rc || !groups ? rc : groups_make(rr, u, groups);
}

int rel_groups_keep(relreq_t *rr, rel_user_t *u, json_t *groups)
{
  size_t i = 0;
  if (!json_is_array(groups)) return 0;
  while (i < json_array_size(groups)) { /* a name that is not valid or no longer fits goes; the rest are made */
    json_t *one = json_pack("[O]", json_array_get(groups, i));
    int rc = one ? groups_check(u, one) : IMC_E_NOMEM;
    if (!rc) rc = groups_make(rr, u, one);
    json_decref(one);
    if (rc == IMC_E_NOMEM) return rc;
    if (rc) json_array_remove(groups, i);
    else i++;
  }
  return 0;
}

static int put_json(relreq_t *rr, rel_user_t *u, rel_kind_t kind, const char *key, json_t *val)
{
  char *text = rel_text(val);
  int rc = text ? rel_txn_put(&rr->txn, u, kind, key, text) : IMC_E_NOMEM;
  free(text);
  return rc;
}

/* 1 if a friend row (JSON object) holds custom fields. */
static int has_custom(json_t *row) { return json_object_size(json_object_get(row, "Custom")) > 0; }

int rel_friend_link(relreq_t *rr, rel_user_t *from, rel_user_t *to, json_t *val)
{
  /* custom fields that appear (a friend imported with CustomItem) or are overwritten change what a caller
   * holding the current CustomSequence has: it grows too, or friend_get would leave them out */
  json_t *old = rel_json(rel_val(from, REL_K_FRIEND, to->id));
  int custom = has_custom(val) || has_custom(old), existed = old != NULL;
  json_decref(old);
  int rc = put_json(rr, from, REL_K_FRIEND, to->id, val);
  if (!rc) rc = rel_txn_bump(&rr->txn, from, "friend_seq", NULL);
  if (!rc && custom) rc = rel_txn_bump(&rr->txn, from, "friend_cseq", NULL);
  /* a friend overwritten (friend_import of one already in the list) was updated, not added */
  if (!rc) relreq_push(rr, from->user_no, json_pack("{s:s,s:s}", "type", existed ? "friend_updated" : "friend_added", "peer", to->id));
  return rc;
}

int rel_friend_unlink(relreq_t *rr, rel_user_t *from, rel_user_t *to)
{
  if (!rel_get(from, REL_K_FRIEND, to->id)) return 0;
  int rc = rel_txn_del(&rr->txn, from, REL_K_FRIEND, to->id);
  if (!rc) rc = rel_txn_bump(&rr->txn, from, "friend_seq", NULL);
  if (!rc) relreq_push(rr, from->user_no, json_pack("{s:s,s:s}", "type", "friend_deleted", "peer", to->id));
  return rc;
}

/* One pending request from -> to ends without an answer: both users' devices
 * get friend_request_ended with the reason. */
static void push_ended(relreq_t *rr, const rel_user_t *from, const rel_user_t *to, const char *reason)
{
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "type", "friend_request_ended", "from", from->id, "to", to->id, "reason", reason);
  relreq_push(rr, from->user_no, json_incref(ev)); /* NULL: not made, the request fails (§70) */
  relreq_push(rr, to->user_no, ev);
}

/* Drop the request pending from -> to, if any (both users' rows); with a
 * reason, it is announced to both users (push_ended). */
static int pending_drop_one(relreq_t *rr, rel_user_t *from, rel_user_t *to, const char *reason)
{
  int rc = 0, out = rel_get(from, REL_K_PEND_OUT, to->id) != NULL, in = rel_get(to, REL_K_PEND_IN, from->id) != NULL;
  if (out) rc = rel_txn_del(&rr->txn, from, REL_K_PEND_OUT, to->id);
  if (!rc && in) rc = rel_txn_del(&rr->txn, to, REL_K_PEND_IN, from->id);
  if (!rc && reason && (out || in)) push_ended(rr, from, to, reason);
  return rc;
}

/* Drop pending requests between a and b, both directions; with a reason,
 * each request dropped is announced to both users (push_ended). */
int rel_pending_drop(relreq_t *rr, rel_user_t *a, rel_user_t *b, const char *reason)
{
  int rc = pending_drop_one(rr, a, b, reason);
  return rc ? rc : pending_drop_one(rr, b, a, reason);
}

/* b is now in a's list (friend_add, friend_import): a's request to b asked
 * for exactly that and is settled (reason added, as friend_response's agree);
 * b's request to a asks for a in b's list and is settled only when b_lists_a
 * (b has a after the change: friends both ways). */
static int pending_settle(relreq_t *rr, rel_user_t *a, rel_user_t *b, int b_lists_a)
{
  int rc = pending_drop_one(rr, a, b, "added");
  return rc || !b_lists_a ? rc : pending_drop_one(rr, b, a, "added");
}

/* Resolve one To_Account of a batch: the peer's record. */
static int peer_rec(rest_ctx_t *c, rel_user_t *self, json_t *v, const char **id, rel_user_t **peer)
{
  uint32_t no;
  int rc = rel_peer(c->srv, c->sdkappid, v, id, &no);
  if (rc == IMC_E_USER_ID) { *id = json_is_string(v) ? json_string_value(v) : ""; return IMC_E_REL_PARAM; }
  if (rc) return IMC_E_REL_USER;
  if (no == self->user_no) return IMC_E_REL_PARAM;
  if (!(*peer = rel_peer_rec(c->srv, c->sdkappid, no, *id))) return IMC_E_NOMEM;
  return 0;
}

/* ---- friend_add --------------------------------------------------------------------- */
static int add_one(rest_ctx_t *c, relreq_t *rr, rel_user_t *a, json_t *item, int both, int force, const char **to_id,
                   char *msg, size_t msg_cap)
{
  rel_user_t *b;
  json_t *remark, *wording, *group = NULL;
  msg[0] = 0;
  *to_id = "";
  if (!json_is_object(item)) return IMC_E_REL_PARAM;
  int rc = peer_rec(c, a, json_object_get(item, "To_Account"), to_id, &b);
  if (rc) return rc;
  if (rel_profile_add_forbidden(a)) return IMC_E_REL_ADD_FORBIDDEN; /* AdminForbid_Type_SendOut: no friend requests */
  json_t *source = json_object_get(item, "AddSource");
  if (!source_ok(source) || opt_str(item, "Remark", REL_REMARK_MAX_BYTES, &remark) ||
      opt_str(item, "AddWording", REL_WORDING_MAX_BYTES, &wording) || opt_str(item, "GroupName", REL_FLIST_NAME_MAX_BYTES, &group))
    return IMC_E_REL_PARAM;
  if (rel_get(a, REL_K_BLACK, b->id)) return IMC_E_REL_IN_OWN_BLACK;
  if (rel_get(b, REL_K_BLACK, a->id)) return IMC_E_REL_IN_PEER_BLACK;
  int b_has = rel_get(b, REL_K_FRIEND, a->id) != NULL;
  int need_a = !rel_get(a, REL_K_FRIEND, b->id), need_b = both && !b_has;
  if (!need_a && !need_b) return 0; /* already what was asked */
  int64_t now = imc_clock_now_s();
  json_t *groups = group ? json_pack("[O]", group) : json_array();
  if (!force && !b_has) {
    const char *allow = rel_profile_allow_type(b);
    if (!strcmp(allow, "AllowType_Type_DenyAny")) { json_decref(groups); return IMC_E_REL_DENY_ANY; }
    if (!strcmp(allow, "AllowType_Type_NeedConfirm")) {
      /* a request already pending is renewed; a new one needs room on both sides */
      if (!rel_get(a, REL_K_PEND_OUT, b->id) &&
          (rel_count(a, REL_K_PEND_OUT) >= REL_PENDING_MAX || rel_count(b, REL_K_PEND_IN) >= REL_PENDING_MAX)) {
        json_decref(groups);
        return IMC_E_REL_PENDING_FULL;
      }
      json_t *out = json_pack("{s:I,s:O,s:s,s:s,s:o,s:s}", "AddTime", (json_int_t)now, "AddSource", source, "AddWording",
                              wording ? json_string_value(wording) : "", "Remark", remark ? json_string_value(remark) : "",
                              "Group", groups, "AddType", both ? "Add_Type_Both" : "Add_Type_Single");
      json_t *in = json_pack("{s:I,s:O,s:s}", "AddTime", (json_int_t)now, "AddSource", source, "AddWording",
                             wording ? json_string_value(wording) : "");
      rc = put_json(rr, a, REL_K_PEND_OUT, b->id, out);
      if (!rc) rc = put_json(rr, b, REL_K_PEND_IN, a->id, in);
      if (!rc) {
        relreq_push(rr, b->user_no, json_pack("{s:s,s:s,s:O}", "type", "friend_request", "from", a->id, "request", in));
        relreq_push(rr, a->user_no, json_pack("{s:s,s:s,s:O}", "type", "friend_request_sent", "to", b->id, "request", out));
      }
      json_decref(out);
      json_decref(in);
      return rc ? rc : IMC_E_REL_PENDING;
    }
  }
  if (need_a && (rc = rel_plan(c->srv, c->sdkappid, PLAN_L_FRIENDS, (int64_t)rel_count(a, REL_K_FRIEND), 1, msg, msg_cap))) {
    json_decref(groups);
    return rc;
  }
  if (need_b && (rc = rel_plan(c->srv, c->sdkappid, PLAN_L_FRIENDS_PEER, (int64_t)rel_count(b, REL_K_FRIEND), 1, msg, msg_cap))) {
    json_decref(groups);
    return rc;
  }
  if ((rc = groups_ensure(rr, a, groups))) { json_decref(groups); return rc; }
  json_t *va = json_pack("{s:I,s:O,s:s,s:s,s:o}", "AddTime", (json_int_t)now, "AddSource", source, "AddWording",
                         wording ? json_string_value(wording) : "", "Remark", remark ? json_string_value(remark) : "",
                         "Group", groups);
  json_t *vb = json_pack("{s:I,s:O,s:s,s:s,s:[]}", "AddTime", (json_int_t)now, "AddSource", source, "AddWording",
                         wording ? json_string_value(wording) : "", "Remark", "", "Group");
  rc = pending_settle(rr, a, b, both || b_has);
  if (!rc && need_a) rc = rel_friend_link(rr, a, b, va);
  if (!rc && need_b) rc = rel_friend_link(rr, b, a, vb);
  json_decref(va);
  json_decref(vb);
  return rc;
}

/* The batch shape of friend_add / friend_import: ResultItem and Fail_Account. */
static void batch_reply(rest_ctx_t *c, json_t *results, json_t *fail)
{
  relreq_commit(c, json_pack("{s:o,s:o}", "ResultItem", results, "Fail_Account", fail));
}

static int get_type(json_t *body, const char *field, const char *one, const char *two, int dflt_both, int *both)
{
  json_t *v = json_object_get(body, field);
  *both = dflt_both;
  if (!v) return 0;
  if (!json_is_string(v)) return IMC_E_REL_PARAM;
  if (!strcmp(json_string_value(v), one)) *both = 0;
  else if (!strcmp(json_string_value(v), two)) *both = 1;
  else return IMC_E_REL_PARAM;
  return 0;
}

void rest_friend_add(rest_ctx_t *c)
{
  rel_user_t *a;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int both, force = 0, rc = rel_from(c, "From_Account", 1, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  json_t *items = json_object_get(c->body, "AddFriendItem"), *f = json_object_get(c->body, "ForceAddFlags");
  if (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > REL_BATCH_MAX) {
    rest_reply_err(c, IMC_E_REL_PARAM, "AddFriendItem must be an array of 1-1000 items", NULL);
    return;
  }
  if (get_type(c->body, "AddType", "Add_Type_Single", "Add_Type_Both", 1, &both)) {
    rest_reply_err(c, IMC_E_REL_PARAM, "AddType is Add_Type_Single or Add_Type_Both", NULL);
    return;
  }
  if (f && (!json_is_integer(f) || (json_integer_value(f) != 0 && json_integer_value(f) != 1))) {
    rest_reply_err(c, IMC_E_REL_PARAM, "ForceAddFlags is 0 or 1", NULL);
    return;
  }
  force = f && json_integer_value(f) == 1;
  json_t *results = json_array(), *fail = json_array(), *item;
  size_t i;
  json_array_foreach(items, i, item) {
    const char *to;
    char why[320];
    rc = add_one(c, rr, a, item, both, force, &to, why, sizeof why);
    if (rc == IMC_E_NOMEM) { json_decref(results); json_decref(fail); rest_reply_err(c, rc, NULL, NULL); return; }
    api_list_add(results, result_item(to, rc, why), &rr->lost);
    if (rc) api_list_add(fail, json_string(to), &rr->lost);
  }
  batch_reply(c, results, fail);
}

/* ---- friend_import -------------------------------------------------------------------- */
static int custom_items(rest_ctx_t *c, json_t *arr, json_t *into)
{
  size_t i;
  json_t *it;
  if (!arr) return 0;
  if (!json_is_array(arr)) return IMC_E_REL_PARAM;
  json_array_foreach(arr, i, it) {
    json_t *tag = json_object_get(it, "Tag"), *val = json_object_get(it, "Value");
    if (!json_is_string(tag) || !json_is_string(val) || json_string_length(val) > REL_VALUE_MAX_BYTES ||
        !rel_settings_custom_type(rel_user(c->srv->rel, c->sdkappid, 0), json_string_value(tag)) ||
        strncmp(json_string_value(tag), "Tag_SNS_Custom_", 15))
      return IMC_E_REL_PARAM;
    if (json_object_set(into, json_string_value(tag), val)) return IMC_E_NOMEM; /* never stored with one left out */
  }
  return 0;
}

static int import_one(rest_ctx_t *c, relreq_t *rr, rel_user_t *a, json_t *item, const char **to_id, char *msg,
                      size_t msg_cap)
{
  rel_user_t *b;
  json_t *remark, *wording;
  msg[0] = 0;
  *to_id = "";
  if (!json_is_object(item)) return IMC_E_REL_PARAM;
  int rc = peer_rec(c, a, json_object_get(item, "To_Account"), to_id, &b);
  if (rc) return rc;
  json_t *source = json_object_get(item, "AddSource"), *groups = json_object_get(item, "GroupName");
  json_t *t = json_object_get(item, "AddTime"), *rt = json_object_get(item, "RemarkTime");
  if (!source_ok(source) || opt_str(item, "Remark", REL_REMARK_MAX_BYTES, &remark) ||
      opt_str(item, "AddWording", REL_WORDING_MAX_BYTES, &wording) || (t && (!json_is_integer(t) || json_integer_value(t) < 0)) ||
      (rt && (!json_is_integer(rt) || json_integer_value(rt) < 0)) || (groups && !json_is_array(groups)))
    return IMC_E_REL_PARAM;
  if (rel_get(a, REL_K_BLACK, b->id)) return IMC_E_REL_IN_OWN_BLACK;
  if (!rel_get(a, REL_K_FRIEND, b->id) &&
      (rc = rel_plan(c->srv, c->sdkappid, PLAN_L_FRIENDS, (int64_t)rel_count(a, REL_K_FRIEND), 1, msg, msg_cap)))
    return rc;
  json_t *custom = json_object();
  if ((rc = custom_items(c, json_object_get(item, "CustomItem"), custom)) || (rc = groups_ensure(rr, a, groups))) {
    json_decref(custom);
    return rc;
  }
  json_t *val = json_pack("{s:I,s:O,s:s,s:s,s:I,s:o,s:o}", "AddTime", (json_int_t)(t ? json_integer_value(t) : imc_clock_now_s()),
                          "AddSource", source, "AddWording", wording ? json_string_value(wording) : "", "Remark",
                          remark ? json_string_value(remark) : "", "RemarkTime", (json_int_t)(rt ? json_integer_value(rt) : 0),
                          "Group", groups ? groups_unique(groups) : json_array(), "Custom", custom);
  rc = val ? pending_settle(rr, a, b, rel_get(b, REL_K_FRIEND, a->id) != NULL) : IMC_E_NOMEM;
  if (!rc) rc = rel_friend_link(rr, a, b, val);
  json_decref(val);
  return rc;
}

void rest_friend_import(rest_ctx_t *c)
{
  rel_user_t *a;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int rc = rel_from(c, "From_Account", 1, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  json_t *items = json_object_get(c->body, "AddFriendItem"), *item;
  if (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > REL_BATCH_MAX) {
    rest_reply_err(c, IMC_E_REL_PARAM, "AddFriendItem must be an array of 1-1000 items", NULL);
    return;
  }
  json_t *results = json_array(), *fail = json_array();
  size_t i;
  json_array_foreach(items, i, item) {
    const char *to;
    char why[320];
    rc = import_one(c, rr, a, item, &to, why, sizeof why);
    if (rc == IMC_E_NOMEM) { json_decref(results); json_decref(fail); rest_reply_err(c, rc, NULL, NULL); return; }
    api_list_add(results, result_item(to, rc, why), &rr->lost);
    if (rc) api_list_add(fail, json_string(to), &rr->lost);
  }
  batch_reply(c, results, fail);
}

/* ---- friend_update ----------------------------------------------------------------------- */
static int update_one(rest_ctx_t *c, relreq_t *rr, rel_user_t *a, json_t *item, const char **to_id)
{
  rel_user_t *b;
  size_t i;
  json_t *it;
  *to_id = "";
  if (!json_is_object(item)) return IMC_E_REL_PARAM;
  int rc = peer_rec(c, a, json_object_get(item, "To_Account"), to_id, &b);
  if (rc) return rc;
  json_t *sns = json_object_get(item, "SnsItem");
  if (!json_is_array(sns) || json_array_size(sns) == 0) return IMC_E_REL_PARAM;
  json_t *val = rel_json(rel_val(a, REL_K_FRIEND, b->id));
  if (!val) return IMC_E_REL_NOT_FRIEND;
  int custom = 0, standard = 0, regroup = 0;
  json_array_foreach(sns, i, it) {
    json_t *tag = json_object_get(it, "Tag"), *v = json_object_get(it, "Value");
    const char *t = json_string_value(tag);
    if (!t || !v) rc = IMC_E_REL_PARAM;
    else if (!strcmp(t, "Tag_SNS_IM_Remark")) {
      if (!json_is_string(v) || json_string_length(v) > REL_REMARK_MAX_BYTES) rc = IMC_E_REL_PARAM;
      else if (json_object_set(val, "Remark", v)) rc = IMC_E_NOMEM;
      else standard = 1;
    } else if (!strcmp(t, "Tag_SNS_IM_Group")) {
      if (!(rc = groups_check(a, v))) { /* the lists are made once every tag passed */
        json_t *g = groups_unique(v);
        if (!g) rc = IMC_E_NOMEM;
        else if (json_object_set_new(val, "Group", g)) rc = IMC_E_NOMEM;
        else regroup = standard = 1;
      }
    } else if (!strncmp(t, "Tag_SNS_Custom_", 15) && rel_settings_custom_type(rel_user(c->srv->rel, c->sdkappid, 0), t)) {
      if (!json_is_string(v) || json_string_length(v) > REL_VALUE_MAX_BYTES) rc = IMC_E_REL_PARAM;
      else {
        if (!json_is_object(json_object_get(val, "Custom")) && json_object_set_new(val, "Custom", json_object())) rc = IMC_E_NOMEM;
        else if (json_object_set(json_object_get(val, "Custom"), t, v)) rc = IMC_E_NOMEM;
        else custom = 1;
      }
    } else rc = IMC_E_REL_PARAM;
    if (rc) { json_decref(val); return rc; }
  }
  rc = regroup ? groups_make(rr, a, json_object_get(val, "Group")) : 0;
  if (!rc) rc = put_json(rr, a, REL_K_FRIEND, b->id, val);
  json_decref(val);
  /* each sequence grows with a change of its fields: an update of both kinds grows both, or a caller
   * holding the other current sequence would miss that part of the change */
  if (!rc && standard) rc = rel_txn_bump(&rr->txn, a, "friend_seq", NULL);
  if (!rc && custom) rc = rel_txn_bump(&rr->txn, a, "friend_cseq", NULL);
  if (!rc) relreq_push(rr, a->user_no, json_pack("{s:s,s:s}", "type", "friend_updated", "peer", b->id));
  return rc;
}

void rest_friend_update(rest_ctx_t *c)
{
  rel_user_t *a;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int rc = rel_from(c, "From_Account", 1, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  json_t *items = json_object_get(c->body, "UpdateItem"), *item;
  if (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > REL_BATCH_MAX) {
    rest_reply_err(c, IMC_E_REL_PARAM, "UpdateItem must be an array of 1-1000 {To_Account, SnsItem}", NULL);
    return;
  }
  json_t *results = json_array();
  size_t i;
  json_array_foreach(items, i, item) {
    const char *to;
    rc = update_one(c, rr, a, item, &to);
    if (rc == IMC_E_NOMEM) { json_decref(results); rest_reply_err(c, rc, NULL, NULL); return; }
    api_list_add(results, result_item(to, rc, NULL), &rr->lost);
  }
  relreq_commit(c, json_pack("{s:o}", "ResultItem", results));
}

/* ---- friend_delete, friend_delete_all -------------------------------------------------------- */
void rest_friend_delete(rest_ctx_t *c)
{
  rel_user_t *a, *b;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int both, rc = rel_from(c, "From_Account", 1, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  json_t *to = json_object_get(c->body, "To_Account"), *v;
  if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > REL_BATCH_MAX) {
    rest_reply_err(c, IMC_E_REL_PARAM, "To_Account must be an array of 1-1000 UserIDs", NULL);
    return;
  }
  if (get_type(c->body, "DeleteType", "Delete_Type_Single", "Delete_Type_Both", 1, &both)) {
    rest_reply_err(c, IMC_E_REL_PARAM, "DeleteType is Delete_Type_Single or Delete_Type_Both", NULL);
    return;
  }
  json_t *results = json_array();
  size_t i;
  json_array_foreach(to, i, v) {
    const char *id;
    rc = peer_rec(c, a, v, &id, &b);
    if (!rc) {
      int a_has = rel_get(a, REL_K_FRIEND, b->id) != NULL, b_has = both && rel_get(b, REL_K_FRIEND, a->id);
      if (!a_has && !b_has) rc = IMC_E_REL_NOT_FRIEND;
      else {
        rc = rel_friend_unlink(rr, a, b);
        if (!rc && both) rc = rel_friend_unlink(rr, b, a);
      }
    }
    if (rc == IMC_E_NOMEM) { json_decref(results); rest_reply_err(c, rc, NULL, NULL); return; }
    api_list_add(results, result_item(id, rc, NULL), &rr->lost);
  }
  relreq_commit(c, json_pack("{s:o}", "ResultItem", results));
}

void rest_friend_delete_all(rest_ctx_t *c)
{
  rel_user_t *a;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int both, rc = rel_from(c, "From_Account", 1, IMC_E_REL_PARAM, IMC_E_REL_USER, &a);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_REL_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  if (get_type(c->body, "DeleteType", "Delete_Type_Single", "Delete_Type_Both", 0, &both)) {
    rest_reply_err(c, IMC_E_REL_PARAM, "DeleteType is Delete_Type_Single or Delete_Type_Both", NULL);
    return;
  }
  while (!rc && rel_count(a, REL_K_FRIEND) > 0) {
    size_t n;
    const rel_row_t *rows = rel_rows(a, REL_K_FRIEND, &n);
    char peer_id[40];
    uint32_t no;
    snprintf(peer_id, sizeof peer_id, "%s", rows[n - 1].key);
    rel_user_t *b = tenant_registry_account_find(c->srv->reg, c->sdkappid, peer_id, &no) ? NULL
                  : rel_peer_rec(c->srv, c->sdkappid, no, peer_id);
    if (b) {
      rc = rel_friend_unlink(rr, a, b);
      if (!rc && both) rc = rel_friend_unlink(rr, b, a);
    } else { /* the peer's account is gone: only the row goes */
      rc = rel_txn_del(&rr->txn, a, REL_K_FRIEND, peer_id);
      if (!rc) rc = rel_txn_bump(&rr->txn, a, "friend_seq", NULL);
    }
  }
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  relreq_commit_bare(c);
}
