/* sqlite_admins.c — an app row's admins column: a JSON array of strings,
 * written by sq__admins_json and read by sq__admins_read (sqlite_int.h). */
#include "store/sqlite_int.h"
#include "store/store.h"
#include "util/jsonr.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

char *sq__admins_json(const store_app_t *a)
{
  json_t *arr = json_array();
  for (int i = 0; i < a->n_admins; i++) json_array_append_new(arr, json_string(a->admins[i]));
  char *t = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return t;
}

void sq__admins_read(const char *text, size_t len, store_app_t *a)
{
  jsonr_tok_t toks[4 * STORE_ADMINS_MAX];
  jsonr_doc_t d;
  char buf[256];
  int r = text ? jsonr_parse(&d, text, len, toks, (uint32_t)(sizeof toks / sizeof toks[0])) : JSONR_INVALID;
  if (r == JSONR_INVALID) return; /* as json_loads: NULL, no admins */
  int simple = r == JSONR_OK && toks[0].type == JSONR_ARRAY;
  for (uint32_t i = 1; simple && i < d.ntok; i = toks[i].next)
    if (toks[i].type == JSONR_STRING && toks[i].len >= sizeof buf) simple = 0;
  if (r == JSONR_OK && !simple && toks[0].type != JSONR_ARRAY) return; /* json_array_foreach of a non-array: nothing */
  if (simple) {
    for (uint32_t i = 1; i < d.ntok && a->n_admins < STORE_ADMINS_MAX; i = toks[i].next) {
      if (toks[i].type != JSONR_STRING) continue;
      size_t n = jsonr_str(&d, i, buf);
      if (n > sizeof a->admins[0] - 1) n = sizeof a->admins[0] - 1; /* cut as snprintf would */
      memcpy(a->admins[a->n_admins], buf, n);
      a->admins[a->n_admins++][n] = 0;
    }
    return;
  }
  json_t *arr = json_loadb(text, len, 0, NULL);
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (a->n_admins < STORE_ADMINS_MAX && json_is_string(v))
      snprintf(a->admins[a->n_admins++], sizeof a->admins[0], "%s", json_string_value(v));
  }
  json_decref(arr);
}
