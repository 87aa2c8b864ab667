/* api_json.c — the members of the objects a reply is made of, set so that
 * none goes missing (decisions §85): a member that cannot be set (out of
 * memory) is recorded in the caller's bad flag, and the object is then no
 * reply at all (api_json_whole gives NULL: rest_reply_ok answers 70500, a
 * relationship request fails and is undone). The lists are api_list_add's;
 * all three record into the same flag. The check itself is
 * util/json_whole.c's, shared with the builders outside src/api (§90).
 * Any thread. */
#include "api/api_int.h"
#include "util/json_whole.h"

void api_field_put(json_t *o, const char *key, json_t *v, int *bad) { jwhole_put(o, key, v, bad); }

void api_list_add(json_t *list, json_t *item, int *bad) { jwhole_add(list, item, bad); }

json_t *api_json_whole(json_t *o, int bad) { return jwhole_take(o, bad); }
