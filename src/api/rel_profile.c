/* rel_profile.c — profile/portrait_set and profile/portrait_get
 * (rest-api-reference §2.6): the standard tags with their value rules, the
 * custom Tag_Profile_Custom_* tags an app declares (operator API,
 * rel_settings.c), account_import's Nick/FaceUrl as Tag_Profile_IM_Nick /
 * Tag_Profile_IM_Image, and the `profile` event to the user's devices and to
 * the users who have it in their friend lists (rel_friend_holders). Values
 * are stored as JSON texts in REL_K_PROFILE rows. */
#include "api/rel_api.h"
#include "store/store_rel.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

typedef enum { V_STR, V_U32, V_ENUM } vtype_t;

static const char *const genders[] = { "Gender_Type_Unknown", "Gender_Type_Female", "Gender_Type_Male", NULL };
static const char *const allows[] = { "AllowType_Type_NeedConfirm", "AllowType_Type_AllowAny", "AllowType_Type_DenyAny", NULL };
static const char *const forbids[] = { "AdminForbid_Type_None", "AdminForbid_Type_SendOut", NULL };

/* The standard tags: type, byte cap and the error beyond it, allowed
 * values (the first is the default shown when unset). */
static const struct tag_rule {
  const char *tag;
  vtype_t type;
  size_t max_bytes;
  int over_err;
  const char *const *enums;
} rules[] = {
  { "Tag_Profile_IM_Nick",            V_STR,  REL_VALUE_MAX_BYTES,    IMC_E_PROFILE_TOOLONG, NULL },
  { "Tag_Profile_IM_Gender",          V_ENUM, 0, 0, genders },
  { "Tag_Profile_IM_BirthDay",        V_U32,  0, 0, NULL },
  { "Tag_Profile_IM_Location",        V_STR,  REL_LOCATION_MAX_BYTES, IMC_E_PROFILE_VALUE, NULL },
  { "Tag_Profile_IM_SelfSignature",   V_STR,  REL_VALUE_MAX_BYTES,    IMC_E_PROFILE_TOOLONG, NULL },
  { "Tag_Profile_IM_AllowType",       V_ENUM, 0, 0, allows },
  { "Tag_Profile_IM_Language",        V_U32,  0, 0, NULL },
  { "Tag_Profile_IM_Image",           V_STR,  REL_VALUE_MAX_BYTES,    IMC_E_PROFILE_TOOLONG, NULL },
  { "Tag_Profile_IM_AdminForbidType", V_ENUM, 0, 0, forbids },
  { "Tag_Profile_IM_Level",           V_U32,  0, 0, NULL },
  { "Tag_Profile_IM_Role",            V_U32,  0, 0, NULL },
};
#define N_RULES (sizeof rules / sizeof rules[0])

static const struct tag_rule *rule_of(const char *tag)
{
  for (size_t i = 0; i < N_RULES; i++) if (!strcmp(rules[i].tag, tag)) return &rules[i];
  return NULL;
}

static const rel_user_t *app_rec(api_srv_t *srv, uint32_t app) { return rel_user(srv->rel, app, 0); }

/* Check one {Tag, Value}: 0 or the error with why. */
static int check_item(api_srv_t *srv, uint32_t app, const char *tag, json_t *val, char *why, size_t cap)
{
  const struct tag_rule *r = rule_of(tag);
  if (!r) {
    /* a profile takes declared Tag_Profile_Custom_ tags (a declared Tag_SNS_Custom_ tag is a friend's field) */
    const char *ctype = strncmp(tag, "Tag_Profile_Custom_", 19) ? NULL : rel_settings_custom_type(app_rec(srv, app), tag);
    if (!ctype) return imc_errf(why, cap, IMC_E_PROFILE_TAG, "unknown tag %.64s (custom tags are declared per app through the operator API)", tag);
    if (!strcmp(ctype, "integer")) {
      if (!json_is_integer(val)) return imc_errf(why, cap, IMC_E_PROFILE_TYPE, "%.64s takes an integer", tag);
      return 0;
    }
    if (!json_is_string(val)) return imc_errf(why, cap, IMC_E_PROFILE_TYPE, "%.64s takes a string", tag);
    if (json_string_length(val) > REL_VALUE_MAX_BYTES)
      return imc_errf(why, cap, IMC_E_PROFILE_TOOLONG, "%.64s is longer than %d bytes", tag, REL_VALUE_MAX_BYTES);
    return 0;
  }
  switch (r->type) {
  case V_STR:
    if (!json_is_string(val)) return imc_errf(why, cap, IMC_E_PROFILE_TYPE, "%s takes a string", tag);
    if (json_string_length(val) > r->max_bytes) return imc_errf(why, cap, r->over_err, "%s is at most %zu bytes", tag, r->max_bytes);
    return 0;
  case V_U32:
    if (!json_is_integer(val)) return imc_errf(why, cap, IMC_E_PROFILE_TYPE, "%s takes an integer", tag);
    if (json_integer_value(val) < 0 || json_integer_value(val) > UINT32_MAX)
      return imc_errf(why, cap, IMC_E_PROFILE_VALUE, "%s must be 0..4294967295", tag);
    return 0;
  case V_ENUM:
    if (!json_is_string(val)) return imc_errf(why, cap, IMC_E_PROFILE_TYPE, "%s takes a string", tag);
    for (const char *const *e = r->enums; *e; e++) if (!strcmp(*e, json_string_value(val))) return 0;
    return imc_errf(why, cap, IMC_E_PROFILE_VALUE, "%s must be one of %s, %s%s%s", tag, r->enums[0], r->enums[1],
                    r->enums[2] ? ", " : "", r->enums[2] ? r->enums[2] : "");
  }
  return IMC_E_INTERNAL;
}

json_t *rel_profile_value(const rel_user_t *app_rec, const rel_user_t *u, const char *tag)
{
  json_t *v = rel_json(rel_val(u, REL_K_PROFILE, tag));
  if (v) return v;
  const struct tag_rule *r = rule_of(tag);
  if (r && r->type == V_ENUM) return json_string(r->enums[0]);
  if (r && r->type == V_U32) return json_integer(0);
  /* an unset custom tag shows its declared type's default: 0 for an integer, as a set one reads */
  const char *ctype = r || strncmp(tag, "Tag_Profile_Custom_", 19) ? NULL : rel_settings_custom_type(app_rec, tag);
  if (ctype && !strcmp(ctype, "integer")) return json_integer(0);
  return json_string("");
}

int rel_profile_add_forbidden(const rel_user_t *u)
{
  const char *v = rel_val(u, REL_K_PROFILE, "Tag_Profile_IM_AdminForbidType");
  return v && !strcmp(v, "\"AdminForbid_Type_SendOut\"");
}

const char *rel_profile_allow_type(const rel_user_t *u)
{
  const char *v = rel_val(u, REL_K_PROFILE, "Tag_Profile_IM_AllowType");
  for (const char *const *e = allows; v && *e; e++)
    if (strlen(v) == strlen(*e) + 2 && !strncmp(v + 1, *e, strlen(*e))) return *e;
  return allows[0];
}

/* ---- portrait_set --------------------------------------------------------------- */
typedef struct profile_push { relreq_t *rr; json_t *frame; } profile_push_t;

static void push_holder(void *ud, rel_user_t *h)
{
  profile_push_t *pp = ud;
  relreq_push(pp->rr, h->user_no, json_incref(pp->frame));
}

void rest_portrait_set(rest_ctx_t *c)
{
  char why[200];
  rel_user_t *u;
  relreq_t *rr = relreq_new(c);
  if (!rr) return;
  int rc = rel_from(c, "From_Account", 1, IMC_E_PROFILE_PARAM, IMC_E_PROFILE_USER, &u);
  if (rc) { rest_reply_err(c, rc, rc == IMC_E_PROFILE_PARAM ? "From_Account must be a UserID" : NULL, NULL); return; }
  json_t *items = json_object_get(c->body, "ProfileItem"), *it;
  size_t i;
  if (!json_is_array(items) || json_array_size(items) == 0) {
    rest_reply_err(c, IMC_E_PROFILE_PARAM, "ProfileItem must be a non-empty array of {Tag, Value}", NULL);
    return;
  }
  json_array_foreach(items, i, it) { /* all or nothing: check every item first */
    json_t *tag = json_object_get(it, "Tag"), *val = json_object_get(it, "Value");
    if (!json_is_string(tag) || !val) { rest_reply_err(c, IMC_E_PROFILE_PARAM, "every ProfileItem needs Tag (string) and Value", NULL); return; }
    if ((rc = check_item(c->srv, c->sdkappid, json_string_value(tag), val, why, sizeof why))) {
      rest_reply_err(c, rc, why, json_pack("{s:s}", "ErrorDisplay", why));
      return;
    }
  }
  json_t *changed = json_array();
  json_array_foreach(items, i, it) {
    char *text = rel_text(json_object_get(it, "Value"));
    rc = text ? rel_txn_put(&rr->txn, u, REL_K_PROFILE, json_string_value(json_object_get(it, "Tag")), text) : IMC_E_NOMEM;
    free(text);
    if (rc) { json_decref(changed); rest_reply_err(c, rc, NULL, NULL); return; }
    api_list_add(changed, json_pack("{s:O,s:O}", "Tag", json_object_get(it, "Tag"), "Value", json_object_get(it, "Value")), &rr->lost);
  }
  /* the user's devices and the users who have it in their friend lists learn the change (not the users in
   * its own list: a one-way friend_import holder heard nothing, a stranger on the user's list did) */
  profile_push_t pp = { rr, json_pack("{s:s,s:s,s:o}", "type", "profile", "user", u->id, "items", changed) };
  relreq_push(rr, u->user_no, json_incref(pp.frame));
  rel_friend_holders(c->srv->rel, c->sdkappid, u->id, push_holder, &pp);
  json_decref(pp.frame);
  relreq_commit_bare(c);
}

/* ---- portrait_get --------------------------------------------------------------- */
void rest_portrait_get(rest_ctx_t *c)
{
  char why[200];
  json_t *to = json_object_get(c->body, "To_Account"), *tags = json_object_get(c->body, "TagList"), *v;
  size_t i, j;
  if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > REL_PROFILE_GET_MAX) {
    rest_reply_err(c, IMC_E_PROFILE_PARAM, "To_Account must be an array of 1-100 UserIDs", NULL);
    return;
  }
  if (!json_is_array(tags) || json_array_size(tags) == 0) {
    rest_reply_err(c, IMC_E_PROFILE_PARAM, "TagList must be a non-empty array of tags", NULL);
    return;
  }
  json_array_foreach(tags, j, v) {
    if (!json_is_string(v)) { rest_reply_err(c, IMC_E_PROFILE_PARAM, "TagList holds strings", NULL); return; }
    if (!rule_of(json_string_value(v)) && (strncmp(json_string_value(v), "Tag_Profile_Custom_", 19) ||
                                           !rel_settings_custom_type(app_rec(c->srv, c->sdkappid), json_string_value(v)))) {
      imc_errf(why, sizeof why, IMC_E_PROFILE_TAG, "unknown tag %.64s", json_string_value(v));
      rest_reply_err(c, IMC_E_PROFILE_TAG, why, NULL);
      return;
    }
  }
  json_t *items = json_array(), *fail = json_array();
  int bad = 0; /* an entry could not be made: 70500, never a list with a user or a tag left out (§82) */
  json_array_foreach(to, i, v) {
    const char *id;
    uint32_t no;
    int rc = rel_peer(c->srv, c->sdkappid, v, &id, &no);
    if (rc) {
      api_list_add(fail, json_incref(v), &bad);
      api_list_add(items, json_pack("{s:O,s:[],s:i,s:s}", "To_Account", v, "ProfileItem", "ResultCode",
                                    imc_err_compat(IMC_E_PROFILE_USER), "ResultInfo", imc_strerror(IMC_E_PROFILE_USER)), &bad);
      continue;
    }
    const rel_user_t *u = rel_user(c->srv->rel, c->sdkappid, no);
    json_t *pi = json_array(), *tag;
    json_array_foreach(tags, j, tag)
      api_list_add(pi, json_pack("{s:O,s:o}", "Tag", tag, "Value", rel_profile_value(app_rec(c->srv, c->sdkappid), u, json_string_value(tag))), &bad);
    api_list_add(items, json_pack("{s:s,s:o,s:i,s:s}", "To_Account", id, "ProfileItem", pi, "ResultCode", 0, "ResultInfo", ""), &bad);
  }
  json_t *out = bad ? NULL : json_pack("{s:o,s:o}", "UserProfileItem", items, "Fail_Account", fail);
  if (bad) { json_decref(items); json_decref(fail); }
  rest_reply_ok(c, out);
}

/* ---- account_import's Nick and FaceUrl -------------------------------------------- */
int rel_profile_import_events(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *nick, const char *face,
                              relreq_t **out)
{
  const char *tags[2] = { "Tag_Profile_IM_Nick", "Tag_Profile_IM_Image" }, *vals[2] = { nick, face };
  rel_user_t *u = rel_user(srv->rel, app, user_no);
  const char *id = tenant_registry_account_id(srv->reg, app, user_no);
  json_t *items = json_array();
  int bad = !items, changes = 0;
  *out = NULL;
  for (int i = 0; i < 2; i++) { /* only what changes: a backend that imports at every login sends the same */
    if (!vals[i]) continue;
    json_t *old = rel_json(rel_val(u, REL_K_PROFILE, tags[i]));
    int same = json_is_string(old) && !strcmp(json_string_value(old), vals[i]);
    json_decref(old);
    if (same) continue;
    changes++;
    api_list_add(items, json_pack("{s:s,s:s}", "Tag", tags[i], "Value", vals[i]), &bad);
  }
  if (!id || !changes) { json_decref(items); return 0; }
  if (bad) { json_decref(items); return IMC_E_NOMEM; } /* never a profile event with a tag left out (§82) */
  relreq_t *rr = relreq_alloc(srv, app);
  profile_push_t pp = { rr, json_pack("{s:s,s:s,s:o}", "type", "profile", "user", id, "items", items) };
  if (!rr || !pp.frame) { json_decref(pp.frame); relreq_free(rr); return IMC_E_NOMEM; }
  relreq_push(rr, user_no, json_incref(pp.frame));
  rel_friend_holders(srv->rel, app, id, push_holder, &pp);
  json_decref(pp.frame);
  int rc = relreq_prepare(rr);
  if (rc) { relreq_free(rr); return rc; }
  *out = rr;
  return 0;
}

int rel_profile_import_write(store_t *s, uint32_t app, uint32_t user_no, const char *nick, const char *face)
{
  int rc = 0;
  const char *tags[2] = { "Tag_Profile_IM_Nick", "Tag_Profile_IM_Image" }, *vals[2] = { nick, face };
  for (int i = 0; i < 2 && !rc; i++) {
    if (!vals[i]) continue;
    json_t *j = json_string(vals[i]);
    char *text = j ? rel_text(j) : NULL;
    json_decref(j);
    rc = text ? store_rel_put(s, app, user_no, REL_K_PROFILE, tags[i], text) : IMC_E_NOMEM;
    free(text);
  }
  return rc;
}

void rel_profile_import_apply(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *user_id, const char *nick,
                              const char *face)
{
  if (!nick && !face) return;
  rel_user_t *u = rel_user_ensure(srv->rel, app, user_no, user_id);
  rel_txn_t t;
  rel_txn_init(&t, srv->rel);
  const char *tags[2] = { "Tag_Profile_IM_Nick", "Tag_Profile_IM_Image" }, *vals[2] = { nick, face };
  for (int i = 0; i < 2 && u; i++) {
    if (!vals[i]) continue;
    json_t *j = json_string(vals[i]);
    char *text = j ? rel_text(j) : NULL;
    json_decref(j);
    if (text) rel_txn_put(&t, u, REL_K_PROFILE, tags[i], text); /* already durable: memory follows */
    free(text);
  }
  rel_txn_free(&t);
}
