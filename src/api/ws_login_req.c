/* ws_login_req.c — a login frame's fields into a cws_login_req_t (api_int.h):
 * the fields and their caps, from jansson's object or, for the fast path
 * (client_ws.c login_fast), from jsonr's members. Loop thread. */
#include "api/api_int.h"
#include "util/jsonr.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the login frame's fields ------------------------------------------------ */
/* The string fields of a login frame and their caps (bytes, decoded). */
static const struct { const char *name; size_t name_len, max; size_t off; } login_fields[CWS_LOGIN_FIELDS] = {
  { "user_id",   7, 32,   offsetof(cws_login_req_t, user_id) },
  { "usersig",   7, 4096, offsetof(cws_login_req_t, usersig) },
  { "platform",  8, 16,   offsetof(cws_login_req_t, platform) },
  { "device_id", 9, 64,   offsetof(cws_login_req_t, device_id) },
};

void cws_login_req_free(cws_login_req_t *r)
{
  if (!r) return;
  json_decref(r->id);
  free(r);
}

/* Field k of r: the n bytes already at r->text + *used if 1 <= n <= cap
 * (NUL-terminated, kept), else NULL. */
void cws_login_field_set(cws_login_req_t *r, size_t k, size_t *used, size_t n)
{
  const char **f = (const char **)((char *)r + login_fields[k].off);
  *f = NULL;
  if (n == 0 || n > login_fields[k].max) return;
  r->text[*used + n] = 0;
  *f = r->text + *used;
  *used += n + 1;
}

void cws_login_app_set(cws_login_req_t *r, int is_int, int64_t v)
{
  r->app_ok = is_int && v > 0 && v <= UINT32_MAX;
  r->sdkappid = r->app_ok ? (uint32_t)v : 0;
}

/* From jansson's object (every frame jsonr did not take). */
cws_login_req_t *cws_login_req_from_json(json_t *id, json_t *req)
{
  size_t cap = CWS_LOGIN_FIELDS, used = 0;
  for (size_t k = 0; k < CWS_LOGIN_FIELDS; k++) {
    json_t *v = json_object_get(req, login_fields[k].name);
    if (json_is_string(v) && json_string_length(v) <= login_fields[k].max) cap += json_string_length(v);
  }
  cws_login_req_t *r = calloc(1, sizeof *r + cap);
  if (!r) return NULL;
  r->id = id ? json_incref(id) : NULL;
  json_t *app = json_object_get(req, "sdkappid");
  cws_login_app_set(r, json_is_integer(app), json_is_integer(app) ? json_integer_value(app) : 0);
  for (size_t k = 0; k < CWS_LOGIN_FIELDS; k++) {
    json_t *v = json_object_get(req, login_fields[k].name);
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (n > login_fields[k].max) n = 0;
    memcpy(r->text + used, json_string_value(v) ? json_string_value(v) : "", n);
    cws_login_field_set(r, k, &used, n);
  }
  return r;
}

/* The values of a login frame's members (JSONR_NONE: absent) in one walk
 * over the top-level object's members (a jsonr_get per member walked them
 * seven times). jsonr refused duplicate keys, so a key matches at most once;
 * the names are matched decoded, as jsonr_get matches them. */
void cws_login_members(const struct jsonr_doc *d, uint32_t *op, uint32_t *idt, uint32_t *app, uint32_t field[CWS_LOGIN_FIELDS])
{
  *op = *idt = *app = JSONR_NONE;
  for (size_t k = 0; k < CWS_LOGIN_FIELDS; k++) field[k] = JSONR_NONE;
  uint32_t k = 1;
  for (uint32_t m = 0; m < d->t[0].len; m++, k = d->t[k + 1].next) {
    if (jsonr_str_eq(d, k, "op", 2)) *op = k + 1;
    else if (jsonr_str_eq(d, k, "id", 2)) *idt = k + 1;
    else if (jsonr_str_eq(d, k, "sdkappid", 8)) *app = k + 1;
    else {
      for (size_t f = 0; f < CWS_LOGIN_FIELDS; f++) {
        if (jsonr_str_eq(d, k, login_fields[f].name, login_fields[f].name_len)) { field[f] = k + 1; break; }
      }
    }
  }
}
