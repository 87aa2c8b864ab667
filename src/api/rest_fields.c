/* rest_fields.c — the optional fields of a v4 request, checked by kind
 * before a handler reads them. jansson reads a field of the wrong type as
 * absent or 0 (json_integer_value of "1" is 0, json_object_get of an array
 * is NULL), so a handler that only reads would run as if the field were not
 * given; a table of rest_field_t rows per handler says what each field must
 * be, and the request is refused with the service's own code naming the
 * field. Loop thread; no state. */
#include "api/api_int.h"
#include "util/err.h"

#include <stdio.h>

static int bad(char *why, size_t cap, int err, const char *where, const char *name, const char *what)
{
  return imc_errf(why, cap, err, "%s%s %s", where, name, what);
}

int rest_fields_check(const json_t *obj, const char *where, const rest_field_t *fields, int err, char *why, size_t cap)
{
  char what[96], sub[96];
  for (const rest_field_t *f = fields; f && f->name; f++) {
    json_t *v = json_object_get(obj, f->name), *e;
    size_t i;
    if (!v) continue;
    switch (f->kind) {
    case REST_F_INT:
      if (json_is_integer(v) && json_integer_value(v) >= f->min && json_integer_value(v) <= f->max) break;
      if (f->min == 0 && f->max == 1) snprintf(what, sizeof what, "must be 0 or 1");
      else if (f->max == INT64_MAX) snprintf(what, sizeof what, "must be an integer of at least %lld", (long long)f->min);
      else snprintf(what, sizeof what, "must be an integer %lld..%lld", (long long)f->min, (long long)f->max);
      return bad(why, cap, err, where, f->name, what);
    case REST_F_STR:
      if (!json_is_string(v)) return bad(why, cap, err, where, f->name, "must be a string");
      break;
    case REST_F_STRS:
      if (!json_is_array(v)) return bad(why, cap, err, where, f->name, "must be an array of strings");
      json_array_foreach(v, i, e) {
        if (json_is_string(e)) continue;
        snprintf(what, sizeof what, "[%zu] must be a string", i);
        return imc_errf(why, cap, err, "%s%s%s", where, f->name, what);
      }
      break;
    case REST_F_OBJ:
      if (!json_is_object(v)) return bad(why, cap, err, where, f->name, "must be an object");
      snprintf(sub, sizeof sub, "%s%s.", where, f->name);
      if (f->sub) {
        int rc = rest_fields_check(v, sub, f->sub, err, why, cap);
        if (rc) return rc;
      }
      break;
    case REST_F_NOT_YET:
      return bad(why, cap, err, where, f->name, "is not supported yet");
    }
  }
  return 0;
}

int rest_fields_req(rest_ctx_t *c, const rest_field_t *fields, int err)
{
  char why[200];
  int rc = rest_fields_check(c->body, "", fields, err, why, sizeof why);
  if (!rc) return 0;
  rest_reply_err(c, rc, why, NULL);
  return -1;
}

const char *rest_field_name(const json_t *obj, const char *name, const char *legacy)
{
  return json_object_get(obj, name) || !json_object_get(obj, legacy) ? name : legacy;
}
