/* store_rel.c — dispatch of the store_rel_* API through the backend's
 * relationship vtable (store_vtab_t.rel). */
#include "store/store_rel.h"

#define R(s) ((s)->vt->rel)

int store_rel_put(store_t *s, uint32_t app, uint32_t user, int kind, const char *key, const char *val)
{
  return R(s)->put(s, app, user, kind, key, val);
}
int store_rel_del(store_t *s, uint32_t app, uint32_t user, int kind, const char *key)
{
  return R(s)->del(s, app, user, kind, key);
}
int store_rel_each(store_t *s, store_rel_cb cb, void *ud) { return R(s)->each(s, cb, ud); }
int store_rel_get(store_t *s, uint32_t app, uint32_t user, int kind, const char *key, char **val)
{
  return R(s)->get(s, app, user, kind, key, val);
}
