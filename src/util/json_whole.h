/* json_whole.h — build a JSON object or list that is whole or nothing
 * (docs/decisions/messaging-c2c-checks3.md §85, §90). Each set or append
 * records a failure (out of memory, a value or container that is NULL) in
 * the caller's bad flag, and once it is set the later ones only free their
 * value; jwhole_take then gives the object, or NULL (freed) when anything
 * was lost. The REST helpers (src/api/api_json.c api_field_put,
 * api_list_add, api_json_whole) are these; builders outside src/api (tenant,
 * meter) call them directly.
 *
 * Fault sites (util/faultsim.h): "field_json" counts every jwhole_put,
 * "list_json" every jwhole_add; the Nth fails as if memory ran out.
 * Any thread (no state but the caller's flag). */
#ifndef IMC_UTIL_JSON_WHOLE_H
#define IMC_UTIL_JSON_WHOLE_H

#include <jansson.h>

/* o[key] = v; takes v (freed when it is not set). */
void jwhole_put(json_t *o, const char *key, json_t *v, int *bad);

/* Append item to list; takes item (freed when it is not appended). */
void jwhole_add(json_t *list, json_t *item, int *bad);

/* o when it is whole (o not NULL, bad 0); else frees o and gives NULL. */
json_t *jwhole_take(json_t *o, int bad);

#endif
