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
int store_rel_event_put(store_t *s, uint32_t app, uint32_t user, uint32_t useq, int64_t at_s, const char *payload)
{
  return R(s)->ev_put(s, app, user, useq, at_s, payload);
}
int store_rel_event_range(store_t *s, uint32_t app, uint32_t user, uint32_t after, uint32_t upto, store_rel_event_cb cb,
                          void *ud)
{
  return R(s)->ev_range(s, app, user, after, upto, cb, ud);
}
int store_rel_event_purge(store_t *s, uint32_t app, int64_t before_s, int limit, int64_t *deleted)
{
  return R(s)->ev_purge(s, app, before_s, limit, deleted);
}
