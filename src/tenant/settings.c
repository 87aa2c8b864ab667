/* settings.c — per-app and per-customer settings that are not columns of
 * their rows: they live in the store's meta table as
 * "app.<sdkappid>.auto_renew" ("1"/"0"), "app.<sdkappid>.suspended_by"
 * ("lapse" / "operator"), "app.<sdkappid>.push_approved_at" (unix seconds),
 * "app.<sdkappid>.scheme_change" (orders.c), "app.<sdkappid>.max_websockets" and
 * "customer.<id>.big_groups_extra". */
#include "billing/billing.h"
#include "tenant/tenant_int.h"
#include "util/err.h"
#include "util/num.h"

#include <stdio.h>
#include <string.h>

/* ---- settings in meta ------------------------------------------------------------ */
int tenant__meta_app_get(store_t *s, uint32_t sdkappid, const char *what, char *buf, size_t cap)
{
  char key[64];
  snprintf(key, sizeof key, "app.%u.%s", sdkappid, what);
  int rc = store_meta_get(s, key, buf, cap);
  if (rc == IMC_E_NOTFOUND) { buf[0] = 0; rc = 0; }
  return rc;
}

int tenant__meta_app_set(store_t *s, uint32_t sdkappid, const char *what, const char *value)
{
  char key[64];
  snprintf(key, sizeof key, "app.%u.%s", sdkappid, what);
  return store_meta_set(s, key, value);
}

int tenant_app_auto_renew(store_t *s, uint32_t sdkappid, int *on)
{
  char v[8];
  int rc = tenant__meta_app_get(s, sdkappid, "auto_renew", v, sizeof v);
  *on = !rc && !strcmp(v, "1");
  return rc;
}

int tenant_app_set_auto_renew(store_t *s, uint32_t sdkappid, int on)
{
  store_app_t a;
  int rc = store_app_get(s, sdkappid, &a);
  return rc ? rc : tenant__meta_app_set(s, sdkappid, "auto_renew", on ? "1" : "0");
}

int tenant_app_push_approved(store_t *s, uint32_t sdkappid, int64_t *at_s)
{
  char v[24];
  int64_t t = 0;
  int rc = tenant__meta_app_get(s, sdkappid, "push_approved_at", v, sizeof v);
  if (!rc && v[0] && imc_parse_i64(v, 1, INT64_MAX, &t)) t = 0;
  *at_s = rc ? 0 : t;
  return rc;
}

int tenant_app_set_push_approved(store_t *s, uint32_t sdkappid, int64_t at_s, char *err, size_t errcap)
{
  store_app_t a;
  bill_scheme_t sch;
  int rc = store_app_get(s, sdkappid, &a);
  if (rc) return imc_errf(err, errcap, rc, "%s", rc == IMC_E_NOTFOUND ? "no such app" : imc_strerror(rc));
  if (at_s < 0) return imc_errf(err, errcap, IMC_E_INVAL, "the approval time is negative");
  if (bill_scheme_parse(a.scheme, &sch)) return imc_errf(err, errcap, IMC_E_BILL_SCHEME, "app %u has an unknown scheme", sdkappid);
  if (!plan_push_on_application(sch)) { /* it recorded an approval the s2022 book does not sell */
    char with[96] = "";
    size_t n = 0;
    for (int e = 0; e < plan_editions(sch) && n < sizeof with; e++)
      if (plan_edition_value(sch, e, PLAN_F_ALL_MEMBER_PUSH) == PLAN_FEAT_ON)
        n += (size_t)snprintf(with + n, sizeof with - n, "%s%s", n ? ", " : "", plan_edition_code(sch, e));
    return imc_errf(err, errcap, IMC_E_BILL_ADDON_FORBIDDEN,
                    "the %s price book sells no all-member push on application (intl Pro, §6): its editions with all-member push: %s",
                    a.scheme, with[0] ? with : "none");
  }
  char v[24];
  snprintf(v, sizeof v, "%lld", (long long)at_s);
  return tenant__meta_app_set(s, sdkappid, "push_approved_at", at_s ? v : "");
}

/* ---- per-customer settings in meta ------------------------------------------------ */
#define BIG_EXTRA_KEY "customer.%lld.big_groups_extra"

int tenant_customer_big_groups_extra(store_t *s, int64_t customer_id, int64_t *extra)
{
  char key[64], v[24];
  snprintf(key, sizeof key, BIG_EXTRA_KEY, (long long)customer_id);
  *extra = 0;
  int rc = store_meta_get(s, key, v, sizeof v);
  if (rc == IMC_E_NOTFOUND) return 0;
  if (rc) return rc;
  return imc_parse_i64(v, 0, TENANT_BIG_GROUPS_EXTRA_MAX, extra) ? IMC_E_INVAL : 0;
}

int tenant_customer_set_big_groups_extra(store_t *s, int64_t customer_id, int64_t extra)
{
  store_customer_t c;
  int rc = store_customer_get(s, customer_id, &c);
  if (rc) return rc;
  if (extra < 0 || extra > TENANT_BIG_GROUPS_EXTRA_MAX) return IMC_E_RANGE;
  char key[64], v[24];
  snprintf(key, sizeof key, BIG_EXTRA_KEY, (long long)customer_id);
  snprintf(v, sizeof v, "%lld", (long long)extra);
  return store_meta_set(s, key, v);
}

int64_t tenant_big_groups_extra_key_customer(const char *meta_key)
{
  long long id;
  int end = 0;
  if (sscanf(meta_key, "customer.%lld.big_groups_extra%n", &id, &end) != 1 || meta_key[end] || id <= 0) return 0;
  return id;
}

/* ---- an app's own WebSocket cap ------------------------------------------------- */
int tenant_app_max_websockets_parse(const char *value, int64_t *n)
{
  *n = -1;
  if (!value[0]) return 0;
  return imc_parse_i64(value, 0, TENANT_APP_WS_MAX, n) ? (*n = -1, IMC_E_INVAL) : 0;
}

int tenant_app_max_websockets(store_t *s, uint32_t sdkappid, int64_t *n)
{
  char v[24];
  *n = -1;
  int rc = tenant__meta_app_get(s, sdkappid, "max_websockets", v, sizeof v);
  return rc ? rc : tenant_app_max_websockets_parse(v, n);
}

int tenant_app_own_cap(store_t *s, uint32_t sdkappid, int64_t *n)
{
  int rc = tenant_app_max_websockets(s, sdkappid, n);
  return rc == IMC_E_INVAL ? 0 : rc; /* *n is -1 then */
}

int tenant_app_set_max_websockets(store_t *s, uint32_t sdkappid, int64_t n)
{
  store_app_t a;
  int rc = store_app_get(s, sdkappid, &a);
  if (rc) return rc;
  if (n < -1 || n > TENANT_APP_WS_MAX) return IMC_E_RANGE;
  char v[24] = "";
  if (n >= 0) snprintf(v, sizeof v, "%lld", (long long)n);
  return tenant__meta_app_set(s, sdkappid, "max_websockets", v);
}

uint32_t tenant_app_max_websockets_key_app(const char *meta_key)
{
  unsigned long id;
  int end = 0;
  if (sscanf(meta_key, "app.%lu.max_websockets%n", &id, &end) != 1 || meta_key[end] || !id || id > UINT32_MAX) return 0;
  return (uint32_t)id;
}

int tenant_app_suspended_by(store_t *s, uint32_t sdkappid, char *buf, size_t cap)
{
  return tenant__meta_app_get(s, sdkappid, "suspended_by", buf, cap);
}
