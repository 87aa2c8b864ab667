/* usage.c — dispatch of the store_usage_* metering API and the store_bill_*
 * API (store.h) through the backend's vtable. */
#include "store/store.h"

int store_usage_login_each(store_t *s, uint32_t a, int32_t f, int32_t t, store_usage_login_cb cb, void *ud)
{
  return s->vt->usage_login_each(s, a, f, t, cb, ud);
}
int store_usage_add(store_t *s, uint32_t a, int32_t d, const char *m, int64_t n) { return s->vt->usage_add(s, a, d, m, n); }
int store_usage_add_at_commit(store_t *s, uint32_t a, int32_t d, const char *m, int64_t n)
{
  return s->vt->usage_add_at_commit(s, a, d, m, n);
}
int store_usage_max(store_t *s, uint32_t a, int32_t d, const char *m, int64_t v) { return s->vt->usage_max(s, a, d, m, v); }
int store_usage_event(store_t *s, uint32_t a, const char *id, int32_t d, const char *m, int64_t n, int64_t at, int *rep)
{
  return s->vt->usage_event(s, a, id, d, m, n, at, rep);
}
int store_usage_day_each(store_t *s, int imp, uint32_t a, int32_t f, int32_t t, store_usage_day_cb cb, void *ud)
{
  return s->vt->usage_day_each(s, imp, a, f, t, cb, ud);
}
int store_usage_group(store_t *s, uint32_t a, const char *g, int live, int64_t at, int dissolve)
{
  return s->vt->usage_group(s, a, g, live, at, dissolve);
}
int store_usage_group_last(store_t *s, uint32_t a, const char *g, int64_t *created_s)
{
  return s->vt->usage_group_last(s, a, g, created_s);
}
int store_usage_group_each(store_t *s, uint32_t a, int64_t until, store_usage_group_cb cb, void *ud)
{
  return s->vt->usage_group_each(s, a, until, cb, ud);
}
int store_usage_import_doc(store_t *s, uint32_t a, int32_t mo, const char *src, const char *body, int64_t now, int64_t *id)
{
  return s->vt->usage_import_doc(s, a, mo, src, body, now, id);
}
int store_usage_import_put(store_t *s, uint32_t a, int32_t d, const char *m, int64_t v, int64_t doc)
{
  return s->vt->usage_import_put(s, a, d, m, v, doc);
}
int store_usage_import_count(store_t *s, uint32_t a, int32_t mo, int64_t *n) { return s->vt->usage_import_count(s, a, mo, n); }
int store_usage_registrations(store_t *s, uint32_t a, int64_t from, int64_t to, int tz, store_usage_day_cb cb, void *ud)
{
  return s->vt->usage_registrations(s, a, from, to, tz, cb, ud);
}
int store_usage_registered(store_t *s, uint32_t a, int64_t before, int64_t *n)
{
  return s->vt->usage_registered(s, a, before, n);
}
int store_bill_insert(store_t *s, const store_bill_t *in, store_bill_t *out) { return s->vt->bill_insert(s, in, out); }
int store_bill_get(store_t *s, uint32_t a, int32_t mo, store_bill_t *out) { return s->vt->bill_get(s, a, mo, out); }
int store_bill_each(store_t *s, int64_t c, int unpaid, store_bill_cb cb, void *ud) { return s->vt->bill_each(s, c, unpaid, cb, ud); }
int store_bill_corrections(store_t *s, int64_t b, store_bill_cb cb, void *ud) { return s->vt->bill_corrections(s, b, cb, ud); }
int store_bill_recheck_each(store_t *s, int n, store_app_month_cb cb, void *ud) { return s->vt->bill_recheck_each(s, n, cb, ud); }
int store_bill_recheck_done(store_t *s, uint32_t a, int32_t mo) { return s->vt->bill_recheck_done(s, a, mo); }
int store_bill_recheck_add(store_t *s, uint32_t a, int32_t mo, int *added) { return s->vt->bill_recheck_add(s, a, mo, added); }
int store_bill_month_apps(store_t *s, int32_t mo, int billed, store_app_month_cb cb, void *ud)
{
  return s->vt->bill_month_apps(s, mo, billed, cb, ud);
}
int store_usage_apps_each(store_t *s, store_usage_table_t t, const uint32_t *a, size_t n, int64_t from, int64_t to,
                          store_usage_row_cb cb, void *ud)
{
  return s->vt->usage_apps_each(s, (int)t, a, n, from, to, cb, ud);
}
