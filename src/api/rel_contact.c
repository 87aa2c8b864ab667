/* rel_contact.c — conversation groups and marks (rest-api-reference §2.7):
 * recentcontact/create_contact_group, update_contact_group,
 * del_contact_group, get_contact_group, search_contact_group, mark_contact.
 *
 * A conversation is named by a ContactItem {"Type":1,"To_Account"} (C2C) or
 * {"Type":2,"ToGroupId"} (group) and kept as "c2c_<UserID>" / "group_<id>".
 * A conversation group is a REL_K_CGROUP row {"id","convs":[…]} (ids from
 * the META counter "cgroup_id"); a conversation's marks are a REL_K_MARK row
 * {"marks":[bits 0..63],"custom":"…"}. Bounds (rel_api.h): 20 groups
 * (51010), names of 1–32 bytes (51011), 1,000 conversations per group
 * (51008), 100 conversations per mark_contact (51006). The edition gates
 * conversation_groups and conversation_marks (7013 when off) are the
 * routes' gate column (rest_routes.c), enforced by the dispatcher.
 * Every change is pushed (contact_groups_changed / contact_marks_changed)
 * to all of the user's online devices once durable. */
#include "api/rel_api.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#define CONV_ID_MAX 80

/* Every 50002 names the field at fault as a path from the request's top (§104): the request's ErrorInfo, or a
 * per-item ResultInfo. WHY_MAX holds a path and its reason. */
#define WHY_MAX 200

/* "c2c_<id>" / "group_<id>" of the ContactItem at path where; 0, or IMC_E_CONV_PARAM with why naming the field. */
static int conv_id(json_t *item, const char *where, char *out, size_t cap, char *why, size_t wcap)
{
  if (!json_is_object(item)) return imc_errf(why, wcap, IMC_E_CONV_PARAM, "%s must be an object {Type, To_Account | ToGroupId}", where);
  json_t *type = json_object_get(item, "Type");
  json_int_t t = json_integer_value(type);
  if (!json_is_integer(type) || (t != 1 && t != 2))
    return imc_errf(why, wcap, IMC_E_CONV_PARAM, "%s.Type must be 1 (C2C) or 2 (group)", where);
  const char *name = t == 1 ? "To_Account" : "ToGroupId", *id = json_string_value(json_object_get(item, name));
  if (!id || !id[0] || strlen(id) > 64) return imc_errf(why, wcap, IMC_E_CONV_PARAM, "%s.%s must be a string of 1-64 bytes", where, name);
  if (t == 1 && !tenant_user_id_valid(id)) return imc_errf(why, wcap, IMC_E_CONV_PARAM, "%s.To_Account is not a valid UserID", where);
  snprintf(out, cap, "%s%s", t == 1 ? "c2c_" : "group_", id);
  return 0;
}

static json_t *contact_of(const char *conv)
{
  if (!strncmp(conv, "c2c_", 4)) return json_pack("{s:i,s:s}", "Type", 1, "To_Account", conv + 4);
  return json_pack("{s:i,s:s}", "Type", 2, "ToGroupId", conv + 6);
}

/* From_Account's record (created for writes); replies on error. */
static int from_user(rest_ctx_t *c, int create, rel_user_t **u)
{
  int rc = rel_from(c, "From_Account", create, IMC_E_CONV_PARAM, IMC_E_CONV_USER, u);
  if (rc) rest_reply_err(c, rc, rc == IMC_E_CONV_PARAM ? "From_Account must be a UserID" : NULL, NULL);
  return rc;
}

static int name_ok(json_t *v) { return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= REL_CGROUP_NAME_MAX_BYTES; }

static int put_obj(relreq_t *rr, rel_user_t *u, rel_kind_t kind, const char *key, json_t *o)
{
  char *text = rel_text(o);
  int rc = text ? rel_txn_put(&rr->txn, u, kind, key, text) : IMC_E_NOMEM;
  free(text);
  return rc;
}

static int conv_index(json_t *convs, const char *id)
{
  size_t i;
  json_t *v;
  json_array_foreach(convs, i, v) if (!strcmp(json_string_value(v), id)) return (int)i;
  return -1;
}

/* Add (op 1) or remove (op 2) ContactItems to group g's convs; per-item results, a refused one's ResultInfo
 * naming its field under the path list (the items' array in the request). *bad is set when the group or a
 * result could not be made whole (out of memory: the caller fails the request). */
static json_t *apply_members(json_t *g, json_t *items, int op, const char *list, int *err, int *bad)
{
  json_t *res = json_array(), *it, *convs = json_object_get(g, "convs");
  size_t i;
  *err = 0;
  json_array_foreach(items, i, it) {
    char id[CONV_ID_MAX], at_item[WHY_MAX], why[WHY_MAX] = "";
    json_t *ci = op ? json_object_get(it, "ContactItem") : it;
    int o = op ? (int)json_integer_value(json_object_get(it, "ContactOpType")) : 1;
    snprintf(at_item, sizeof at_item, op ? "%s[%zu].ContactItem" : "%s[%zu]", list, i);
    int rc = conv_id(ci, at_item, id, sizeof id, why, sizeof why);
    if (!rc && o != 1 && o != 2) /* not an integer reads as 0 */
      rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "%s[%zu].ContactOpType must be 1 (add) or 2 (remove)", list, i);
    if (!rc && o == 1 && conv_index(convs, id) < 0) {
      if (json_array_size(convs) >= REL_CGROUP_CONVS_MAX) rc = IMC_E_CONV_GROUP_CONVS;
      else api_list_add(convs, json_string(id), bad);
    } else if (!rc && o == 2) {
      int at = conv_index(convs, id);
      if (at < 0) rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "%s is not in the group", at_item);
      else json_array_remove(convs, (size_t)at);
    }
    json_t *r = json_pack("{s:O,s:i,s:s}", "ContactItem", ci ? ci : json_null(), "ResultCode", rc ? imc_err_compat(rc) : 0,
                          "ResultInfo", !rc ? "" : why[0] ? why : imc_strerror(rc));
    if (op && r && json_object_set_new(r, "ContactOpType", json_integer(o))) { json_decref(r); r = NULL; }
    api_list_add(res, r, bad);
    if (rc && !*err) *err = rc;
  }
  return res;
}

static void push_groups(relreq_t *rr, rel_user_t *u)
{
  relreq_push(rr, u->user_no, json_pack("{s:s}", "type", "contact_groups_changed"));
}

void rest_create_contact_group(rest_ctx_t *c)
{
  rel_user_t *u;
  relreq_t *rr;
  if (!(rr = relreq_new(c)) || from_user(c, 1, &u)) return;
  json_t *items = json_object_get(c->body, "GroupContactItem"), *it;
  size_t i;
  if (!json_is_array(items) || json_array_size(items) == 0) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "GroupContactItem must be a non-empty array of {GroupName, ContactItem}", NULL);
    return;
  }
  size_t fresh = 0;
  char why[WHY_MAX];
  json_array_foreach(items, i, it) {
    json_t *name = json_object_get(it, "GroupName"), *convs = json_object_get(it, "ContactItem");
    int rc = 0;
    if (!name_ok(name)) rc = IMC_E_CONV_GROUP_NAME; /* its own text: the name's bounds */
    else if (rel_get(u, REL_K_CGROUP, json_string_value(name)))
      rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "GroupContactItem[%zu].GroupName: a conversation group of that name exists", i);
    for (size_t k = 0; !rc && k < i; k++) /* a name twice in the request: the second replaced the first, reported made */
      if (!strcmp(json_string_value(json_object_get(json_array_get(items, k), "GroupName")), json_string_value(name)))
        rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "GroupContactItem[%zu].GroupName: GroupContactItem[%zu] names that group too", i, k);
    if (!rc && !json_is_array(convs))
      rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "GroupContactItem[%zu].ContactItem must be an array of conversations", i);
    if (!rc && json_array_size(convs) > REL_CGROUP_CONVS_MAX)
      rc = imc_errf(why, sizeof why, IMC_E_CONV_GROUP_CONVS, "GroupContactItem[%zu].ContactItem holds more than %d conversations", i,
                    REL_CGROUP_CONVS_MAX);
    if (rc) { rest_reply_err(c, rc, rc == IMC_E_CONV_GROUP_NAME ? NULL : why, NULL); return; }
    fresh++;
  }
  if (rel_count(u, REL_K_CGROUP) + fresh > REL_CGROUPS_MAX) { rest_reply_err(c, IMC_E_CONV_GROUPS, NULL, NULL); return; }
  json_t *out = json_array();
  int rc = 0;
  json_array_foreach(items, i, it) {
    int64_t gid = 0;
    if ((rc = rel_txn_bump(&rr->txn, u, "cgroup_id", &gid))) break;
    json_t *g = json_pack("{s:I,s:[]}", "id", (json_int_t)gid, "convs");
    int e;
    char list[WHY_MAX];
    snprintf(list, sizeof list, "GroupContactItem[%zu].ContactItem", i);
    json_t *res = apply_members(g, json_object_get(it, "ContactItem"), 0, list, &e, &rr->lost);
    rc = rr->lost ? IMC_E_NOMEM : put_obj(rr, u, REL_K_CGROUP, json_string_value(json_object_get(it, "GroupName")), g);
    json_decref(g);
    api_list_add(out, json_pack("{s:{s:O,s:I},s:o}", "GroupItem", "GroupName", json_object_get(it, "GroupName"),
                                "GroupId", (json_int_t)gid, "ResultItem", res), &rr->lost);
    if (rc) break;
  }
  if (rc) { json_decref(out); rest_reply_err(c, rc, NULL, NULL); return; }
  push_groups(rr, u);
  relreq_commit(c, json_pack("{s:o}", "GroupResultItem", out));
}

void rest_update_contact_group(rest_ctx_t *c)
{
  rel_user_t *u;
  relreq_t *rr;
  if (!(rr = relreq_new(c)) || from_user(c, 1, &u)) return;
  json_t *type = json_object_get(c->body, "UpdateType"), *ug = json_object_get(c->body, "UpdateGroup");
  json_t *old = json_object_get(ug, "OldGroupName");
  /* each fault names its own field (§99) */
  if (!json_is_integer(type) || (json_integer_value(type) != 1 && json_integer_value(type) != 2)) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "UpdateType must be 1 (rename) or 2 (conversations)", NULL);
    return;
  }
  if (!json_is_string(old)) { rest_reply_err(c, IMC_E_CONV_PARAM, "UpdateGroup.OldGroupName must name the group", NULL); return; }
  json_t *g = rel_json(rel_val(u, REL_K_CGROUP, json_string_value(old)));
  if (!g) { rest_reply_err(c, IMC_E_CONV_PARAM, "UpdateGroup.OldGroupName names no conversation group", NULL); return; }
  json_t *result = json_pack("{s:O}", "OldGroupName", old);
  int rc = 0;
  char why[WHY_MAX] = "";
  if (json_integer_value(type) == 1) {
    json_t *nn = json_object_get(ug, "NewGroupName");
    if (!name_ok(nn)) rc = IMC_E_CONV_GROUP_NAME;
    else if (strcmp(json_string_value(nn), json_string_value(old)) && rel_get(u, REL_K_CGROUP, json_string_value(nn)))
      rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "UpdateGroup.NewGroupName: a conversation group of that name exists");
    else {
      rc = rel_txn_del(&rr->txn, u, REL_K_CGROUP, json_string_value(old));
      if (!rc) rc = put_obj(rr, u, REL_K_CGROUP, json_string_value(nn), g);
      if (json_object_set(result, "NewGroupName", nn)) rr->lost = 1;
    }
  } else {
    json_t *items = json_object_get(ug, "ContactUpdateItem");
    if (!json_is_array(items) || json_array_size(items) == 0)
      rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "UpdateGroup.ContactUpdateItem must be a non-empty array of {ContactOpType, ContactItem}");
    else {
      int e;
      json_t *res = apply_members(g, items, 1, "UpdateGroup.ContactUpdateItem", &e, &rr->lost);
      if (json_object_set_new(result, "ContactResultItem", res)) rr->lost = 1;
      rc = rr->lost ? IMC_E_NOMEM : put_obj(rr, u, REL_K_CGROUP, json_string_value(old), g);
    }
  }
  json_decref(g);
  if (rc) { json_decref(result); rest_reply_err(c, rc, why[0] ? why : NULL, NULL); return; }
  push_groups(rr, u);
  relreq_commit(c, json_pack("{s:o}", "UpdateGroupResult", result));
}

void rest_del_contact_group(rest_ctx_t *c)
{
  rel_user_t *u;
  relreq_t *rr;
  if (!(rr = relreq_new(c)) || from_user(c, 1, &u)) return;
  json_t *names = json_object_get(c->body, "GroupName"), *n;
  size_t i;
  if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > REL_CGROUPS_MAX) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "GroupName must be an array of 1-20 names", NULL);
    return;
  }
  json_t *out = json_array();
  json_array_foreach(names, i, n) {
    char why[WHY_MAX] = "";
    int rc = 0;
    if (!json_is_string(n)) rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "GroupName[%zu] must be a string", i);
    else if (!rel_get(u, REL_K_CGROUP, json_string_value(n)))
      rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "GroupName[%zu] names no conversation group", i);
    else rc = rel_txn_del(&rr->txn, u, REL_K_CGROUP, json_string_value(n));
    if (rc == IMC_E_NOMEM) { json_decref(out); rest_reply_err(c, rc, NULL, NULL); return; }
    api_list_add(out, json_pack("{s:O,s:i,s:s}", "GroupName", n, "ResultCode", rc ? imc_err_compat(rc) : 0,
                                "ResultInfo", !rc ? "" : why[0] ? why : imc_strerror(rc)), &rr->lost);
  }
  if (rr->txn.n) push_groups(rr, u); /* a group deleted: the devices learn it (none deleted wrote an event all the same) */
  relreq_commit(c, json_pack("{s:o}", "ResultItem", out));
}

/* The GroupItem list and, per conversation, the ids of its groups; *bad set when either could not be made
 * whole. */
static json_t *group_items(const rel_user_t *u, json_t *conv_groups, int *bad)
{
  size_t n;
  const rel_row_t *rows = rel_rows(u, REL_K_CGROUP, &n);
  json_t *items = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *g = rel_json(rows[i].val), *v;
    size_t k;
    json_int_t gid = json_integer_value(json_object_get(g, "id"));
    if (!g) *bad = 1; /* a stored group is text this module wrote: not parsed means out of memory */
    api_list_add(items, json_pack("{s:s,s:I}", "GroupName", rows[i].key, "GroupId", gid), bad);
    json_array_foreach(json_object_get(g, "convs"), k, v) {
      json_t *ids = json_object_get(conv_groups, json_string_value(v));
      if (!ids && json_object_set_new(conv_groups, json_string_value(v), ids = json_array())) ids = NULL; /* freed */
      api_list_add(ids, json_integer(gid), bad);
    }
    json_decref(g);
  }
  return items;
}

static json_t *contact_json(const rel_user_t *u, const char *conv, json_t *conv_groups)
{
  json_t *m = rel_json(rel_val(u, REL_K_MARK, conv));
  json_t *marks = json_object_get(m, "marks"), *ids = json_object_get(conv_groups, conv);
  const char *custom = json_string_value(json_object_get(m, "custom"));
  json_t *o = json_pack("{s:o,s:o,s:s,s:o}", "ContactItem", contact_of(conv), "MarkList",
                        marks ? json_incref(marks) : json_array(), "CustomMark", custom ? custom : "",
                        "ContactGroupId", ids ? json_incref(ids) : json_array());
  json_decref(m);
  return o;
}

static int by_bytes(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

void rest_get_contact_group(rest_ctx_t *c)
{
  rel_user_t *u = NULL;
  if (from_user(c, 0, &u)) return;
  json_t *si = json_object_get(c->body, "StartIndex");
  if (si && (!json_is_integer(si) || json_integer_value(si) < 0)) { rest_reply_err(c, IMC_E_CONV_PARAM, "StartIndex must be a non-negative integer", NULL); return; }
  int bad = 0; /* an entry could not be made: 70500, never a list with one left out (§82) */
  json_t *cg = json_object(), *groups = group_items(u, cg, &bad), *all = json_object();
  /* every conversation that is in a group or carries a mark, in id order */
  const char *k;
  json_t *v;
  json_object_foreach(cg, k, v) bad |= json_object_set_new(all, k, json_true()) != 0;
  size_t n;
  const rel_row_t *marks = rel_rows(u, REL_K_MARK, &n);
  for (size_t i = 0; i < n; i++) bad |= json_object_set_new(all, marks[i].key, json_true()) != 0;
  const char **keys = calloc(json_object_size(all) + 1, sizeof *keys);
  size_t nk = 0;
  if (keys) json_object_foreach(all, k, v) keys[nk++] = k;
  if (!keys) { json_decref(all); json_decref(cg); json_decref(groups); rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  qsort(keys, nk, sizeof *keys, by_bytes);
  size_t from = si ? (size_t)json_integer_value(si) : 0, page = REL_FRIEND_PAGE;
  json_t *items = json_array();
  for (size_t i = from; i < nk && i < from + page; i++) api_list_add(items, contact_json(u, keys[i], cg), &bad);
  size_t next = from + page < nk ? from + page : nk;
  free(keys);
  json_decref(all);
  json_decref(cg);
  json_t *out = bad ? NULL : json_pack("{s:o,s:o,s:i,s:I}", "ContactItem", items, "GroupItem", groups, "CompleteFlag", next >= nk,
                                       "NextStartIndex", (json_int_t)next);
  if (bad) { json_decref(items); json_decref(groups); }
  rest_reply_ok(c, out);
}

void rest_search_contact_group(rest_ctx_t *c)
{
  rel_user_t *u = NULL;
  if (from_user(c, 0, &u)) return;
  json_t *items = json_object_get(c->body, "ContactItem"), *it;
  size_t i;
  if (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > REL_MARK_BATCH_MAX) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "ContactItem must be an array of 1-100 conversations", NULL);
    return;
  }
  int bad = 0; /* an entry could not be made: 70500, never a list with one left out (§82) */
  json_t *cg = json_object(), *groups = group_items(u, cg, &bad), *out = json_array();
  json_array_foreach(items, i, it) {
    char id[CONV_ID_MAX], at[WHY_MAX], why[WHY_MAX] = "";
    snprintf(at, sizeof at, "ContactItem[%zu]", i);
    int rc = conv_id(it, at, id, sizeof id, why, sizeof why);
    json_t *r = rc ? json_pack("{s:O}", "ContactItem", it) : contact_json(u, id, cg);
    if (r && (json_object_set_new(r, "ResultCode", json_integer(rc ? imc_err_compat(rc) : 0)) ||
              json_object_set_new(r, "ResultInfo", json_string(why)))) { json_decref(r); r = NULL; }
    api_list_add(out, r, &bad);
  }
  json_decref(cg);
  json_t *o = bad ? NULL : json_pack("{s:o,s:o}", "ContactResultItem", out, "GroupItem", groups);
  if (bad) { json_decref(out); json_decref(groups); }
  rest_reply_ok(c, o);
}

/* 0, or 50002 with why naming MarkItem[n].<name> when list (SetMark / ClearMark) is given and is not an array
 * of bits 0..63. */
static int bits_check(json_t *list, size_t n, const char *name, char *why, size_t cap)
{
  size_t i;
  json_t *v;
  if (list && !json_is_array(list)) return imc_errf(why, cap, IMC_E_CONV_PARAM, "MarkItem[%zu].%s must be an array of bits 0-63", n, name);
  json_array_foreach(list, i, v)
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 63)
      return imc_errf(why, cap, IMC_E_CONV_PARAM, "MarkItem[%zu].%s[%zu] must be a bit 0-63", n, name, i);
  return 0;
}

/* Apply SetMark / ClearMark (bits 0..63) and CustomMark to the conversation of MarkItem[n]. */
static int mark_one(relreq_t *rr, rel_user_t *u, json_t *item, size_t n, json_t **result)
{
  char id[CONV_ID_MAX], at[WHY_MAX], why[WHY_MAX] = "";
  json_t *ci = json_object_get(item, "ContactItem"), *set = json_object_get(item, "SetMark"), *clr = json_object_get(item, "ClearMark");
  json_t *custom = json_object_get(item, "CustomMark"), *v;
  size_t i;
  snprintf(at, sizeof at, "MarkItem[%zu].ContactItem", n);
  int rc = conv_id(ci, at, id, sizeof id, why, sizeof why), named = !rc;
  if (!rc && !set && !clr && !custom)
    rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "MarkItem[%zu] needs SetMark, ClearMark or CustomMark", n);
  if (!rc && custom && (!json_is_string(custom) || json_string_length(custom) > REL_VALUE_MAX_BYTES))
    rc = imc_errf(why, sizeof why, IMC_E_CONV_PARAM, "MarkItem[%zu].CustomMark must be a string of at most %d bytes", n,
                  REL_VALUE_MAX_BYTES);
  if (!rc) rc = bits_check(set, n, "SetMark", why, sizeof why);
  if (!rc) rc = bits_check(clr, n, "ClearMark", why, sizeof why);
  uint64_t bits = 0;
  json_t *m = named ? rel_json(rel_val(u, REL_K_MARK, id)) : NULL;
  if (!m) m = json_object();
  json_array_foreach(json_object_get(m, "marks"), i, v) bits |= 1ull << (json_integer_value(v) & 63);
  uint64_t stored = bits; /* a refused item reports what is stored */
  if (!rc) { /* bits_check passed both lists */
    json_array_foreach(set, i, v) bits |= 1ull << json_integer_value(v);
    json_array_foreach(clr, i, v) bits &= ~(1ull << json_integer_value(v));
  }
  json_t *list = json_array();
  int bad = !m || !list; /* the row or the result could not be made whole: the request fails (§82) */
  if (rc) bits = stored;
  for (int b = 0; b < 64; b++) if (bits >> b & 1) api_list_add(list, json_integer(b), &bad);
  if (!bad && json_object_set(m, "marks", list)) bad = 1;
  if (!bad && custom && json_object_set(m, "custom", custom)) bad = 1;
  if (bad) { json_decref(list); json_decref(m); *result = NULL; return IMC_E_NOMEM; }
  json_decref(list); /* m holds it */
  if (!rc) {
    if (!json_array_size(list) && !json_string_length(json_object_get(m, "custom"))) rc = rel_txn_del(&rr->txn, u, REL_K_MARK, id);
    else rc = put_obj(rr, u, REL_K_MARK, id, m);
  }
  *result = json_pack("{s:O,s:i,s:s,s:O}", "ContactItem", ci ? ci : json_null(), "ResultCode", rc ? imc_err_compat(rc) : 0,
                      "ResultInfo", !rc ? "" : why[0] ? why : imc_strerror(rc), "MarkList", list);
  const char *now_custom = json_string_value(json_object_get(m, "custom"));
  if (*result && !rc && json_object_set_new(*result, "CustomMark", json_string(now_custom ? now_custom : ""))) {
    json_decref(*result);
    *result = NULL;
  }
  json_decref(m);
  return rc == IMC_E_NOMEM || !*result ? IMC_E_NOMEM : 0;
}

void rest_mark_contact(rest_ctx_t *c)
{
  rel_user_t *u;
  relreq_t *rr;
  if (!(rr = relreq_new(c)) || from_user(c, 1, &u)) return;
  json_t *items = json_object_get(c->body, "MarkItem"), *it;
  size_t i;
  if (!json_is_array(items) || json_array_size(items) == 0) {
    rest_reply_err(c, IMC_E_CONV_PARAM, "MarkItem must be a non-empty array", NULL);
    return;
  }
  if (json_array_size(items) > REL_MARK_BATCH_MAX) { rest_reply_err(c, IMC_E_CONV_MARK_BATCH, NULL, NULL); return; }
  json_t *out = json_array(), *changed = json_array();
  json_array_foreach(items, i, it) {
    json_t *r = NULL;
    if (mark_one(rr, u, it, i, &r)) {
      json_decref(r);
      json_decref(out);
      json_decref(changed);
      rest_reply_err(c, IMC_E_NOMEM, NULL, NULL);
      return;
    }
    if (!json_integer_value(json_object_get(r, "ResultCode"))) api_list_add(changed, json_incref(r), &rr->lost);
    api_list_add(out, r, &rr->lost);
  }
  /* the devices learn what changed: nothing when every item was refused (it wrote an event all the same) */
  if (json_array_size(changed)) relreq_push(rr, u->user_no, json_pack("{s:s,s:o}", "type", "contact_marks_changed", "items", changed));
  else json_decref(changed);
  relreq_commit(c, json_pack("{s:o}", "ResultItem", out));
}
