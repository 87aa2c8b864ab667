/* store.c — dispatch of the store_* API through the backend's vtable. */
#include "store/store.h"

void store_close(store_t *s) { if (s) s->vt->close(s); }
int store_exec(store_t *s, const char *sql) { return s->vt->exec(s, sql); }
int store_data_version(store_t *s, uint64_t *v) { return s->vt->data_version(s, v); }
int store_meta_get(store_t *s, const char *k, char *b, size_t c) { return s->vt->meta_get(s, k, b, c); }
int store_meta_set(store_t *s, const char *k, const char *v) { return s->vt->meta_set(s, k, v); }
int store_customer_create(store_t *s, const char *n, int64_t t, int64_t *id) { return s->vt->customer_create(s, n, t, id); }
int store_customer_get(store_t *s, int64_t id, store_customer_t *o) { return s->vt->customer_get(s, id, o); }
int store_customer_list(store_t *s, store_customer_cb cb, void *ud) { return s->vt->customer_list(s, cb, ud); }
int store_customer_first_app_created(store_t *s, int64_t c, int64_t *t) { return s->vt->customer_first_app_created(s, c, t); }
int store_app_insert(store_t *s, const store_app_t *a) { return s->vt->app_insert(s, a); }
int store_app_get(store_t *s, uint32_t id, store_app_t *o) { return s->vt->app_get(s, id, o); }
int store_app_get_many(store_t *s, const uint32_t *ids, size_t n, store_app_cb cb, void *ud)
{
  return s->vt->app_get_many(s, ids, n, cb, ud);
}
int store_app_list(store_t *s, int64_t c, store_app_cb cb, void *ud) { return s->vt->app_list(s, c, cb, ud); }
int store_app_next_sdkappid(store_t *s, uint32_t *o) { return s->vt->app_next_sdkappid(s, o); }
int store_app_set(store_t *s, uint32_t id, const char *f, const char *v) { return s->vt->app_set(s, id, f, v); }
int store_account_import(store_t *s, uint32_t a, const char *u, const char *n, const char *f, int64_t t, uint32_t *no)
{
  return s->vt->account_import(s, a, u, n, f, t, no);
}
int store_account_delete(store_t *s, uint32_t a, const char *u) { return s->vt->account_delete(s, a, u); }
int store_account_get(store_t *s, uint32_t a, const char *u, uint32_t *no) { return s->vt->account_get(s, a, u, no); }
int store_account_count(store_t *s, uint32_t a, int64_t *n) { return s->vt->account_count(s, a, n); }
int store_account_each(store_t *s, uint32_t a, store_account_cb cb, void *ud) { return s->vt->account_each(s, a, cb, ud); }
int store_account_gone_each(store_t *s, uint32_t a, store_account_cb cb, void *ud) { return s->vt->account_gone_each(s, a, cb, ud); }
int store_usage_login(store_t *s, uint32_t a, int32_t d, uint32_t u) { return s->vt->usage_login(s, a, d, u); }
int store_usage_dau(store_t *s, uint32_t a, int32_t d, int64_t *n) { return s->vt->usage_dau(s, a, d, n); }
int store_wallet_balance(store_t *s, int64_t c, int64_t *b) { return s->vt->wallet_balance(s, c, b); }
int store_ledger_append(store_t *s, const store_ledger_t *in, store_ledger_t *out) { return s->vt->ledger_append(s, in, out); }
int store_ledger_each(store_t *s, int64_t c, store_ledger_cb cb, void *ud) { return s->vt->ledger_each(s, c, cb, ud); }
int store_kick_set(store_t *s, uint32_t a, uint32_t u, int64_t t) { return s->vt->kick_set(s, a, u, t); }
int store_kick_each(store_t *s, store_kick_cb cb, void *ud) { return s->vt->kick_each(s, cb, ud); }
int store_in_transaction(store_t *s) { return s->vt->in_transaction(s); }
int store_changes_last(store_t *s, int64_t *seq) { return s->vt->changes_last(s, seq); }
int store_changes_since(store_t *s, int64_t a, int n, store_change_cb cb, void *ud) { return s->vt->changes_since(s, a, n, cb, ud); }
int store_order_insert(store_t *s, const store_order_t *o, int64_t *id) { return s->vt->order_insert(s, o, id); }
int store_order_get_ref(store_t *s, uint32_t a, const char *r, store_order_t *o) { return s->vt->order_get_ref(s, a, r, o); }
int store_order_each(store_t *s, uint32_t a, store_order_cb cb, void *ud) { return s->vt->order_each(s, a, cb, ud); }
