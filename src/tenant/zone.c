/* zone.c — the billing zone of an app (M-1) as the data directory stores
 * it: meta "billing_tz:<region>" for the app's region, else the server's
 * default zone (meta "billing_tz", written by `serve`), else the caller's
 * fallback. The tenant's orders date the move off legacy in it (P-07,
 * orders.c) as the bills do; meter_app_zone and meter_zone_default
 * (src/meter/load.c) are these. */
#include "tenant/tenant.h"
#include "util/err.h"
#include "util/num.h"

#include <stdio.h>

/* meta key → *tz (-14 h..+14 h); 1 when the key is absent. */
static int zone_get(store_t *s, const char *key, int *tz)
{
  char val[32];
  int rc = store_meta_get(s, key, val, sizeof val);
  if (rc == IMC_E_NOTFOUND) return 1;
  if (rc) return rc == IMC_E_TOOBIG ? IMC_E_CONFIG : rc;
  int64_t v;
  if (imc_parse_i64(val, -14 * 3600, 14 * 3600, &v)) return IMC_E_CONFIG;
  *tz = (int)v;
  return 0;
}

int tenant_zone_default(store_t *s, int fallback_tz, int *tz)
{
  int rc = zone_get(s, TENANT_ZONE_KEY, tz);
  if (rc == 1) { *tz = fallback_tz; rc = 0; }
  return rc;
}

int tenant_app_zone(store_t *s, uint32_t app, int default_tz, int *tz)
{
  store_app_t a;
  int rc = store_app_get(s, app, &a);
  if (rc) return rc;
  char key[64];
  snprintf(key, sizeof key, "billing_tz:%s", a.region);
  rc = zone_get(s, key, tz);
  if (rc == 1) { *tz = default_tz; rc = 0; }
  return rc;
}
