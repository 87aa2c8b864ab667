/* json_nulls.h — json_has_null_member: whether a JSON value holds an object
 * member that is null, at any depth (decisions §63, §110: a request's null
 * members are dropped before validation, so nothing stored carries one).
 * Shared by the e2e tests and the fuzz target. Test-only. */
#ifndef IMC_TESTS_JSON_NULLS_H
#define IMC_TESTS_JSON_NULLS_H

#include <jansson.h>

static inline int json_has_null_member(json_t *v)
{
  const char *k;
  json_t *m;
  size_t i;
  if (json_is_object(v)) {
    json_object_foreach(v, k, m) if (json_is_null(m) || json_has_null_member(m)) return 1;
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, m) if (json_has_null_member(m)) return 1;
  }
  return 0;
}

#endif
