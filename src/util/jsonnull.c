/* jsonnull.c — see jsonnull.h. */
#include "util/jsonnull.h"

#include <string.h>

/* Whether the klen bytes at k are one of keys (NULL-terminated; keys may be NULL). */
static int listed(const char *k, size_t klen, const char *const *keys)
{
  for (; keys && *keys; keys++)
    if (strlen(*keys) == klen && !memcmp(*keys, k, klen)) return 1;
  return 0;
}

/* The walk; 1 when v is an object that had members and has none left. */
static int drop(json_t *v, const char *const *emptied)
{
  if (json_is_object(v)) {
    size_t had = json_object_size(v);
    const char *k;
    size_t klen;
    json_t *m;
    void *next;
    json_object_keylen_foreach_safe(v, next, k, klen, m) {
      if (json_is_null(m) || (drop(m, emptied) && listed(k, klen, emptied))) json_object_deln(v, k, klen);
    }
    return had && !json_object_size(v);
  }
  if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) drop(e, emptied);
  }
  return 0;
}

void jsonnull_drop(json_t *v) { drop(v, NULL); }

void jsonnull_drop_keys(json_t *v, const char *const *emptied) { drop(v, emptied); }
