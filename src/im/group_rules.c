/* group_rules.c — the group type table and the field rules of
 * rest-api-reference §2.4 (group ids, profile and member fields). Pure. */
#include "im/group.h"
#include "im/msgbody.h"
#include "util/err.h"

#include <string.h>

/* §2.4 type table; docs/decisions/groups.md for the open points. */
static const im_gtype_info_t types[IM_GT__COUNT] = {
  /*                  name          plain        self default                 inv adm hist unrd live medit oquit odis prefix */
  [IM_GT_PRIVATE]    = { "Private",    "Work",      0, IM_GJ_DISABLE,         1,  0,  1,   1,   0,   1,    1,    0,   "" },
  [IM_GT_PUBLIC]     = { "Public",     "Public",    1, IM_GJ_NEED_PERMISSION, 0,  1,  1,   1,   0,   0,    0,    1,   "" },
  [IM_GT_CHATROOM]   = { "ChatRoom",   "Meeting",   1, IM_GJ_FREE,            0,  1,  1,   0,   0,   0,    0,    1,   "" },
  [IM_GT_AVCHATROOM] = { "AVChatRoom", "Live",      1, IM_GJ_FREE,            0,  0,  0,   0,   1,   0,    0,    1,   "" },
  [IM_GT_COMMUNITY]  = { "Community",  "Community", 1, IM_GJ_FREE,            1,  1,  1,   1,   0,   0,    0,    1,   "@TGS#_" },
};

const im_gtype_info_t *im_gtype_info(im_gtype_t t) { return (unsigned)t < IM_GT__COUNT ? &types[t] : &types[0]; }

int im_gtype_parse(const char *name, im_gtype_t *out)
{
  for (int i = 0; i < IM_GT__COUNT; i++)
    if (name && !strcmp(types[i].name, name)) { *out = (im_gtype_t)i; return 0; }
  return IMC_E_GROUP_PARAM;
}

static int parse_name(const char *const *names, int n, const char *name, int *out)
{
  for (int i = 0; i < n; i++)
    if (name && !strcmp(names[i], name)) { *out = i; return 0; }
  return IMC_E_GROUP_PARAM;
}

static const char *const roles[] = { "Member", "Admin", "Owner", "NotMember" };
static const char *const joins[] = { "FreeAccess", "NeedPermission", "DisableApply" };
static const char *const flags[] = { "AcceptAndNotify", "AcceptNotNotify", "Discard" };

const char *im_grole_name(im_grole_t r) { return (unsigned)r < 4 ? roles[r] : "NotMember"; }
int im_grole_parse(const char *name, im_grole_t *out)
{
  int v, rc = parse_name(roles, 3, name, &v);
  if (!rc) *out = (im_grole_t)v;
  return rc;
}
const char *im_gjoin_name(im_gjoin_t j) { return (unsigned)j < 3 ? joins[j] : joins[0]; }
int im_gjoin_parse(const char *name, im_gjoin_t *out)
{
  int v, rc = parse_name(joins, 3, name, &v);
  if (!rc) *out = (im_gjoin_t)v;
  return rc;
}
const char *im_gmsgflag_name(int f) { return (unsigned)f < 3 ? flags[f] : flags[0]; }
int im_gmsgflag_parse(const char *name, int *out) { return parse_name(flags, 3, name, out); }

/* ---- group ids ---------------------------------------------------------------------- */
#define GROUP_ID_MAX_BYTES 47   /* "< 48 bytes" */

int im_group_id_check(im_gtype_t t, const char *id, char *why, size_t cap)
{
  size_t len = strlen(id);
  if (!len || len > GROUP_ID_MAX_BYTES)
    return imc_errf(why, cap, IMC_E_GROUP_ID, "GroupId must be 1..%d bytes", GROUP_ID_MAX_BYTES);
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] > 0x7e)
      return imc_errf(why, cap, IMC_E_GROUP_ID, "GroupId must be printable ASCII (byte %zu is not)", i);
  if (t == IM_GT_COMMUNITY) {
    if (strncmp(id, "@TGS#_", 6) || len == 6)
      return imc_errf(why, cap, IMC_E_GROUP_ID, "a Community GroupId must start with @TGS#_ and go on after it");
  } else if (!strncmp(id, "@TGS#", 5)) {
    return imc_errf(why, cap, IMC_E_GROUP_ID, "a custom GroupId must not start with @TGS#");
  }
  return 0;
}

/* ---- profile fields ------------------------------------------------------------------ */
typedef struct strfield { const char *name; size_t max_bytes; } strfield_t;
static const strfield_t strfields[] = {
  { "Name", 30 }, { "Introduction", 240 }, { "Notification", 300 }, { "FaceUrl", 100 },
};
#define APPDATA_MAX_KEYS 10
#define APPDATA_KEY_MAX 16
#define APPDATA_VALUE_MAX 512
#define MEMBERDATA_MAX_KEYS 5
#define MEMBERDATA_VALUE_MAX 64
#define NAME_CARD_MAX 50

static int key_ok(const char *k)
{
  size_t n = strlen(k);
  if (!n || n > APPDATA_KEY_MAX) return 0;
  for (; *k; k++)
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_')) return 0;
  return 1;
}

/* [{Key, Value}] with at most max_keys entries and values of at most vmax bytes. */
static int kv_check(const char *field, json_t *arr, int max_keys, size_t vmax, char *why, size_t cap)
{
  size_t i;
  json_t *e;
  if (!json_is_array(arr)) return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s must be an array of {Key, Value}", field);
  if (json_array_size(arr) > (size_t)max_keys)
    return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s holds at most %d keys", field, max_keys);
  json_array_foreach(arr, i, e) {
    json_t *k = json_object_get(e, "Key"), *v = json_object_get(e, "Value");
    if (!json_is_object(e) || !json_is_string(k) || !json_is_string(v) || json_object_size(e) != 2)
      return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s[%zu] must be {Key: string, Value: string}", field, i);
    if (!key_ok(json_string_value(k)))
      return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s[%zu].Key must be 1..%d bytes of [A-Za-z0-9_]", field, i,
                      APPDATA_KEY_MAX);
    if (json_string_length(v) > vmax)
      return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s[%zu].Value is longer than %zu bytes", field, i, vmax);
    for (size_t j = 0; j < i; j++)
      if (!strcmp(json_string_value(json_object_get(json_array_get(arr, j), "Key")), json_string_value(k)))
        return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s: key %s appears twice", field, json_string_value(k));
  }
  return 0;
}

int im_group_fields(json_t *req, int creating, const char *max_key, json_t *out, int64_t *max_members, char *why,
                    size_t cap)
{
  json_t *v;
  *max_members = 0;
  for (size_t i = 0; i < sizeof strfields / sizeof strfields[0]; i++) {
    const strfield_t *f = &strfields[i];
    if (!(v = json_object_get(req, f->name))) {
      if (creating && !strcmp(f->name, "Name")) return imc_errf(why, cap, IMC_E_GROUP_PARAM, "Name is required");
      continue;
    }
    if (!json_is_string(v)) return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s must be a string", f->name);
    if (json_string_length(v) > f->max_bytes)
      return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s is longer than %zu bytes", f->name, f->max_bytes);
    if (!strcmp(f->name, "Name") && !json_string_length(v))
      return imc_errf(why, cap, IMC_E_GROUP_PARAM, "Name must not be empty");
    json_object_set(out, f->name, v);
  }
  if ((v = json_object_get(req, "ApplyJoinOption"))) {
    im_gjoin_t j;
    if (!json_is_string(v) || im_gjoin_parse(json_string_value(v), &j))
      return imc_errf(why, cap, IMC_E_GROUP_PARAM, "ApplyJoinOption must be FreeAccess, NeedPermission or DisableApply");
    json_object_set(out, "ApplyJoinOption", v);
  }
  if ((v = json_object_get(req, "MuteAllMember"))) {
    if (creating) return imc_errf(why, cap, IMC_E_GROUP_PARAM, "MuteAllMember is set with modify_group_base_info");
    if (!json_is_string(v) || (strcmp(json_string_value(v), "On") && strcmp(json_string_value(v), "Off")))
      return imc_errf(why, cap, IMC_E_GROUP_PARAM, "MuteAllMember must be On or Off");
    json_object_set(out, "MuteAllMember", v);
  }
  if ((v = json_object_get(req, "AppDefinedData"))) {
    int rc = kv_check("AppDefinedData", v, APPDATA_MAX_KEYS, APPDATA_VALUE_MAX, why, cap);
    if (rc) return rc;
    json_object_set(out, "AppDefinedData", v);
  }
  if ((v = json_object_get(req, max_key))) {
    if (!json_is_integer(v) || json_integer_value(v) < 1)
      return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s must be a positive integer", max_key);
    *max_members = json_integer_value(v);
  }
  return 0;
}

int im_group_member_data_check(json_t *data, char *why, size_t cap)
{
  return kv_check("AppMemberDefinedData", data, MEMBERDATA_MAX_KEYS, MEMBERDATA_VALUE_MAX, why, cap);
}

int im_group_kv_merge(const json_t *old, const json_t *changes, int member, json_t **out, char *why, size_t cap)
{
  const char *field = member ? "AppMemberDefinedData" : "AppDefinedData";
  int max_keys = member ? MEMBERDATA_MAX_KEYS : APPDATA_MAX_KEYS;
  json_t *m = json_is_array(old) ? json_deep_copy(old) : json_array(), *e;
  size_t i;
  *out = NULL;
  if (!m) return IMC_E_NOMEM;
  json_array_foreach(changes, i, e) {
    const char *k = json_string_value(json_object_get(e, "Key"));
    json_t *v = json_object_get(e, "Value");
    size_t at = 0;
    json_t *o;
    while ((o = json_array_get(m, at)) && strcmp(json_string_value(json_object_get(o, "Key")) ?: "", k)) at++;
    int rc = 0;
    if (!json_string_length(v)) { if (o) rc = json_array_remove(m, at); }
    else if (o) rc = json_object_set(o, "Value", v);
    else rc = json_array_append_new(m, json_pack("{s:s,s:O}", "Key", k, "Value", v));
    if (rc) { json_decref(m); return IMC_E_NOMEM; }
  }
  if (json_array_size(m) > (size_t)max_keys) {
    json_decref(m);
    return imc_errf(why, cap, IMC_E_GROUP_PARAM, "%s would hold more than %d keys", field, max_keys);
  }
  *out = m;
  return 0;
}

int im_group_name_card_check(json_t *card, char *why, size_t cap)
{
  if (!json_is_string(card)) return imc_errf(why, cap, IMC_E_GROUP_PARAM, "NameCard must be a string");
  if (json_string_length(card) > NAME_CARD_MAX)
    return imc_errf(why, cap, IMC_E_GROUP_PARAM, "NameCard is longer than %d bytes", NAME_CARD_MAX);
  return 0;
}

int im_group_msg_pack(const json_t *body, const json_t *cloud, const json_t *push, size_t max_bytes, int import,
                      char **out, size_t *len, char *why, size_t cap)
{
  int rc = im_msg_pack(body, cloud, push, max_bytes, out, len, why, cap);
  if (rc != IMC_E_MSG_TOO_BIG) return rc;
  return import ? IMC_E_GROUP_IMPORT_TOO_BIG : IMC_E_GROUP_MSG_TOO_LONG; /* why: im_msg_pack's sizes */
}
