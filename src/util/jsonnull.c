/* jsonnull.c — see jsonnull.h. */
#include "util/jsonnull.h"

void jsonnull_drop(json_t *v)
{
  if (json_is_object(v)) {
    const char *k;
    size_t klen;
    json_t *m;
    void *next;
    json_object_keylen_foreach_safe(v, next, k, klen, m) {
      if (json_is_null(m)) json_object_deln(v, k, klen);
      else jsonnull_drop(m);
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) jsonnull_drop(e);
  }
}
