/* api_json.c — the members of the objects a reply is made of, set so that
 * none goes missing (decisions §85): a member that cannot be set (out of
 * memory) is recorded in the caller's bad flag, and the object is then no
 * reply at all (api_json_whole gives NULL: rest_reply_ok answers 70500, a
 * relationship request fails and is undone). The lists are api_list_add's
 * (rest_v4.c); both record into the same flag. Any thread. */
#include "api/api_int.h"
#include "util/faultsim.h"

void api_field_put(json_t *o, const char *key, json_t *v, int *bad)
{
  if (!*bad && imc_fault(IMC_FAULT_FIELD_JSON)) *bad = 1; /* a test's out of memory */
  if (*bad || !o) { json_decref(v); *bad = 1; return; }
  *bad = json_object_set_new(o, key, v) != 0; /* takes v, also when it fails; -1 for a v that is NULL */
}

json_t *api_json_whole(json_t *o, int bad)
{
  if (o && !bad) return o;
  json_decref(o);
  return NULL;
}
