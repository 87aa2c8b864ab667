/* json_whole.c — see json_whole.h. */
#include "util/json_whole.h"
#include "util/faultsim.h"

void jwhole_put(json_t *o, const char *key, json_t *v, int *bad)
{
  if (!*bad && imc_fault(IMC_FAULT_FIELD_JSON)) *bad = 1; /* a test's out of memory */
  if (*bad || !o) { json_decref(v); *bad = 1; return; }
  *bad = json_object_set_new(o, key, v) != 0; /* takes v, also when it fails; -1 for a v that is NULL */
}

void jwhole_add(json_t *list, json_t *item, int *bad)
{
  if (!*bad && imc_fault(IMC_FAULT_LIST_JSON)) *bad = 1; /* a test's out of memory */
  if (*bad) json_decref(item);
  else *bad = json_array_append_new(list, item) != 0; /* takes item; -1 for NULL, or a list that is NULL */
}

json_t *jwhole_take(json_t *o, int bad)
{
  if (o && !bad) return o;
  json_decref(o);
  return NULL;
}
