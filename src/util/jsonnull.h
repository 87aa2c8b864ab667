/* jsonnull.h — a JSON request's null members taken as absent. Backends and
 * clients built on serialisers that write every field (Jackson's defaults,
 * Go structs without omitempty, protobuf-to-JSON bridges) send `"F": null`
 * for a field they did not set, at any depth; the front ends (REST v4,
 * the client WebSocket's general path) drop such members once, right after
 * parsing, so that every handler and every validator sees them as absent
 * and nothing stored from the parsed tree carries them.
 * Knows nothing of the request it walks. Pure; not thread-safe per tree. */
#ifndef IMC_UTIL_JSONNULL_H
#define IMC_UTIL_JSONNULL_H

#include <jansson.h>

/* Delete every object member whose value is null, in v and in every object
 * and array nested in it (an array's objects included). A null array
 * element is not a member: it stays (`[null]` keeps its one element, for
 * the array's reader to refuse). Keys holding NUL bytes are matched whole.
 * v may be NULL or any value. Recursion is as deep as the tree: a tree from
 * json_loadb is at most JSON_PARSER_MAX_DEPTH (2048) deep. */
void jsonnull_drop(json_t *v);

/* jsonnull_drop, and a member named in emptied (NULL-terminated keys, matched
 * at every depth) whose value is an object that had members and lost every
 * one of them to the drop is deleted too, as if it had been null: an optional
 * object given with nothing but nulls is absent ({"P":{"T":null}} → {}, and
 * {"P":{"A":{"S":null}}} → {} when both P and A are named). An object given
 * empty ({}) is a value and stays, and so does one emptied under a key that
 * is not named (a required object then gets the answer of its missing
 * members). */
void jsonnull_drop_keys(json_t *v, const char *const *emptied);

#endif
