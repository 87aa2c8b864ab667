/* rel_settings.c — an app's relationship settings (REL_K_APP rows of user
 * number 0), set and read through the operator API
 * (/operator/v1/apps/{sdkappid}/relationship-settings, operator.c):
 *   profile_custom_tags  {"Tag_Profile_Custom_<1-8 letters>": "string"|"integer"}
 *   sns_custom_tags      {"Tag_SNS_Custom_<1-8 letters>": "string"}
 *   c2c_friendship_required  true: a WebSocket C2C send needs friendship both
 *                        ways (20009–20011); REST sendmsg is never checked.
 * Validation and the row writes run on the writer thread (pure + store);
 * rel_settings_apply copies the committed rows into memory (loop thread). */
#include "api/rel_api.h"
#include "api/rel_settings.h"
#include "store/store_rel.h"
#include "util/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const struct setting {
  const char *field;      /* operator API body field = row key */
  int (*check)(json_t *v, char *why, size_t cap);
} settings[];

static int tag_name_ok(const char *tag, const char *prefix)
{
  size_t p = strlen(prefix), n = strlen(tag);
  if (strncmp(tag, prefix, p) || n == p || n - p > REL_CUSTOM_NAME_MAX) return 0;
  for (const char *s = tag + p; *s; s++) if (!isalpha((unsigned char)*s)) return 0;
  return 1;
}

static int check_tags(json_t *v, const char *prefix, int allow_int, char *why, size_t cap)
{
  const char *k;
  json_t *t;
  if (!json_is_object(v)) return imc_errf(why, cap, IMC_E_INVAL, "the custom tags are an object {tag: type}");
  json_object_foreach(v, k, t) {
    if (!tag_name_ok(k, prefix)) return imc_errf(why, cap, IMC_E_INVAL, "%.64s: a custom tag is %s followed by 1-8 letters", k, prefix);
    if (!json_is_string(t) || (strcmp(json_string_value(t), "string") && (!allow_int || strcmp(json_string_value(t), "integer"))))
      return imc_errf(why, cap, IMC_E_INVAL, "%.64s: the type is %s", k, allow_int ? "\"string\" or \"integer\"" : "\"string\"");
  }
  return 0;
}

static int check_profile(json_t *v, char *why, size_t cap) { return check_tags(v, "Tag_Profile_Custom_", 1, why, cap); }
static int check_sns(json_t *v, char *why, size_t cap) { return check_tags(v, "Tag_SNS_Custom_", 0, why, cap); }
static int check_bool(json_t *v, char *why, size_t cap)
{
  return json_is_boolean(v) ? 0 : imc_errf(why, cap, IMC_E_INVAL, "c2c_friendship_required is true or false");
}

static const struct setting settings[] = {
  { "profile_custom_tags", check_profile },
  { "sns_custom_tags", check_sns },
  { "c2c_friendship_required", check_bool },
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

int rel_settings_write(store_t *s, uint32_t app, json_t *body, json_t **out, char *why, size_t cap)
{
  int rc;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    json_t *v = json_object_get(body, settings[i].field);
    if (v && (rc = settings[i].check(v, why, cap))) return rc;
  }
  for (size_t i = 0; i < N_SETTINGS; i++) {
    json_t *v = json_object_get(body, settings[i].field);
    if (!v) continue;
    char *text = rel_text(v);
    rc = text ? store_rel_put(s, app, 0, REL_K_APP, settings[i].field, text) : IMC_E_NOMEM;
    free(text);
    if (rc) return rc;
  }
  return rel_settings_read(s, app, out);
}

int rel_settings_read(store_t *s, uint32_t app, json_t **out)
{
  json_t *o = json_object();
  int bad = !o; /* a setting left out: IMC_E_NOMEM, never an object without it (§85; a write is then undone) */
  for (size_t i = 0; i < N_SETTINGS && !bad; i++) {
    char *val = NULL;
    int rc = store_rel_get(s, app, 0, REL_K_APP, settings[i].field, &val);
    if (rc && rc != IMC_E_NOTFOUND) { json_decref(o); return rc; }
    json_t *v = val ? rel_json(val) : NULL;
    if (!val && !v) v = i == N_SETTINGS - 1 ? json_false() : json_object(); /* defaults: no custom tags, no friendship rule */
    free(val);
    api_field_put(o, settings[i].field, v, &bad); /* a stored value that cannot be read is out of memory too */
  }
  if (!(*out = api_json_whole(o, bad))) return IMC_E_NOMEM;
  return 0;
}

void rel_settings_apply(api_srv_t *srv, uint32_t app, json_t *settings_obj)
{
  rel_user_t *u = rel_user_ensure(srv->rel, app, 0, "");
  rel_txn_t t;
  const char *k;
  json_t *v;
  if (!u) return;
  rel_txn_init(&t, srv->rel);
  json_object_foreach(settings_obj, k, v) {
    char *text = rel_text(v);
    if (text) rel_txn_put(&t, u, REL_K_APP, k, text); /* already durable: memory follows */
    free(text);
  }
  rel_txn_free(&t);
}

const char *rel_settings_custom_type(const rel_user_t *app_rec, const char *tag)
{
  static char type[16];
  const char *field = !strncmp(tag, "Tag_SNS_Custom_", 15) ? "sns_custom_tags" : "profile_custom_tags";
  json_t *o = rel_json(rel_val(app_rec, REL_K_APP, field));
  const char *t = json_string_value(json_object_get(o, tag));
  if (t) snprintf(type, sizeof type, "%s", t);
  json_decref(o);
  return t ? type : NULL;
}

int rel_settings_c2c_friendship(const rel_user_t *app_rec)
{
  const char *v = rel_val(app_rec, REL_K_APP, "c2c_friendship_required");
  return v && !strcmp(v, "true");
}
