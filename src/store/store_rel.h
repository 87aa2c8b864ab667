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

typedef struct store_rel_vtab {
  int version;  /* 1 */
  int (*put)(store_t *, uint32_t sdkappid, uint32_t user_no, int kind, const char *key, const char *val);
  int (*del)(store_t *, uint32_t sdkappid, uint32_t user_no, int kind, const char *key);
  int (*each)(store_t *, store_rel_cb cb, void *ud);
  int (*get)(store_t *, uint32_t sdkappid, uint32_t user_no, int kind, const char *key, char **val);
} store_rel_vtab_t;

/* Insert or replace one row. */
int store_rel_put(store_t *s, uint32_t sdkappid, uint32_t user_no, int kind, const char *key, const char *val);
/* Delete one row (no error when absent). */
int store_rel_del(store_t *s, uint32_t sdkappid, uint32_t user_no, int kind, const char *key);
/* One row's value (*val malloc'd, the caller frees) or IMC_E_NOTFOUND. */
int store_rel_get(store_t *s, uint32_t sdkappid, uint32_t user_no, int kind, const char *key, char **val);
/* Every row, ordered by (app, user_no, kind, key). */
int store_rel_each(store_t *s, store_rel_cb cb, void *ud);

#endif
