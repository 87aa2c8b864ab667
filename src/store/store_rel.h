/* store_rel.h — durable relationship rows: profiles, friends, pending friend
 * requests, blocklists, friend lists, conversation groups and marks, user
 * status and the per-app relationship settings.
 *
 * One generic row shape (app, user_no, kind, key) → value text, so every
 * relationship change is a list of row puts and deletes applied in one
 * writer job (src/im/rel.h builds the list and keeps the same rows in
 * memory). user_no 0 holds the app's own settings. Kinds are the
 * REL_K_* numbers of src/im/rel.h; the store does not interpret them.
 *
 * All functions run on the connection's thread (the writer for put/del, the
 * startup connection for each). Strings handed to the callback are valid
 * during the call only. 0 or IMC_E_*. A backend exposes these through
 * store_vtab_t.rel (store_rel_vtab_t).
 */
#ifndef IMC_STORE_REL_H
#define IMC_STORE_REL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef void (*store_rel_cb)(void *ud, uint32_t sdkappid, uint32_t user_no, int kind, const char *key,
                             const char *val);
typedef void (*store_rel_event_cb)(void *ud, uint32_t useq, const char *payload);

typedef struct store_rel_vtab {
  int version;  /* 1 */
  int (*put)(store_t *, uint32_t sdkappid, uint32_t user_no, int kind, const char *key, const char *val);
  int (*del)(store_t *, uint32_t sdkappid, uint32_t user_no, int kind, const char *key);
  int (*each)(store_t *, store_rel_cb cb, void *ud);
  int (*get)(store_t *, uint32_t sdkappid, uint32_t user_no, int kind, const char *key, char **val);
  /* relationship events (below) */
  int (*ev_put)(store_t *, uint32_t sdkappid, uint32_t user_no, uint32_t useq, int64_t at_s, const char *payload);
  int (*ev_range)(store_t *, uint32_t sdkappid, uint32_t user_no, uint32_t after_useq, uint32_t upto_useq,
                  store_rel_event_cb cb, void *ud);
  int (*ev_purge)(store_t *, uint32_t sdkappid, int64_t before_s, int limit, int64_t *deleted);
} store_rel_vtab_t;

/* Insert or replace one row. */
int store_rel_put(store_t *s, uint32_t sdkappid, uint32_t user_no, int kind, const char *key, const char *val);
/* Delete one row (no error when absent). */
int store_rel_del(store_t *s, uint32_t sdkappid, uint32_t user_no, int kind, const char *key);
/* One row's value (*val malloc'd, the caller frees) or IMC_E_NOTFOUND. */
int store_rel_get(store_t *s, uint32_t sdkappid, uint32_t user_no, int kind, const char *key, char **val);
/* Every row, ordered by (app, user_no, kind, key). */
int store_rel_each(store_t *s, store_rel_cb cb, void *ud);

/* Relationship events: the push frame (JSON object text) of a relationship
 * change, kept under the useq of the user's inbox event of kind
 * STORE_EV_REL (store_msg.h) that announces it, so a sync replays it in
 * order with the user's messages. Writer thread: put (in the same job as
 * the inbox event and the rows it describes), purge; readers: range. */
int store_rel_event_put(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t useq, int64_t at_s,
                        const char *payload);
/* The user's events with after_useq < useq <= upto_useq, in useq order. */
int store_rel_event_range(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t after_useq, uint32_t upto_useq,
                          store_rel_event_cb cb, void *ud);
/* Delete at most limit of the app's events with at_s < before_s (retention);
 * *deleted = rows deleted. */
int store_rel_event_purge(store_t *s, uint32_t sdkappid, int64_t before_s, int limit, int64_t *deleted);

#endif
