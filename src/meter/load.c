/* load.c — the storage side of the core: an app's billing zone (M-1) and
 * the rebuild of the in-memory meter from durable rows after a restart. */
#include "meter/meter.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "util/num.h"

#include <stdio.h>
#include <string.h>

/* one reader of the zone settings, shared with the tenant's orders (tenant/zone.c) */
int meter_app_zone(store_t *s, uint32_t app, int default_tz, int *tz) { return tenant_app_zone(s, app, default_tz, tz); }

int meter_zone_default(store_t *s, int fallback_tz, int *tz) { return tenant_zone_default(s, fallback_tz, tz); }

int meter_zone_default_set(store_t *s, int tz)
{
  if (tz < -14 * 3600 || tz > 14 * 3600) return IMC_E_INVAL;
  char val[32];
  snprintf(val, sizeof val, "%d", tz);
  return store_meta_set(s, METER_ZONE_KEY, val);
}

typedef struct load_ctx {
  meter_t *m;
  store_t *s;
  int32_t from, to;
  uint32_t app;
  int rc;
} load_ctx_t;

static void on_peak(void *ud, int32_t day, const char *metric, int64_t value)
{
  load_ctx_t *c = ud;
  if (strcmp(metric, METER_M_CONN_PEAK) && strcmp(metric, METER_M_BW_PEAK_BPS)) return;
  int rc = meter_restore_peak(c->m, c->app, day, metric, value);
  if (rc && !c->rc) c->rc = rc;
}

/* Per app: its zone first (before any of its events), then its stored peaks. */
static void on_app(void *ud, const store_app_t *a)
{
  load_ctx_t *c = ud;
  int tz, rc = meter_app_zone(c->s, a->sdkappid, meter_tz_default(c->m), &tz);
  if (!rc) rc = meter_app_tz(c->m, a->sdkappid, tz);
  c->app = a->sdkappid;
  if (!rc) rc = store_usage_day_each(c->s, 0, a->sdkappid, c->from, c->to, on_peak, c);
  if (rc && !c->rc) c->rc = rc;
}

static void on_login(void *ud, uint32_t app, int32_t day, uint32_t user_no)
{
  load_ctx_t *c = ud;
  int rc = meter_restore_login(c->m, app, user_no, day);
  if (rc && !c->rc) c->rc = rc;
}

/* The yyyymmdd range that can still be in memory at now_s in any zone:
 * from the 1st of the month of (now − window − 1 day) to tomorrow. */
static void window(int64_t now_s, int32_t *from, int32_t *to)
{
  int y, m, d;
  imc_civil_from_days(imc_day_of(now_s, 0) - METER_LATE_DAYS - 1, &y, &m, &d);
  *from = y * 10000 + m * 100 + 1;
  *to = imc_day_yyyymmdd(imc_day_of(now_s, 0) + 1);
}

int meter_load(meter_t *m, store_t *s, int64_t now_s)
{
  load_ctx_t c = { m, s, 0, 0, 0, 0 };
  meter_advance(m, now_s);
  window(now_s, &c.from, &c.to);
  int rc = store_app_list(s, 0, on_app, &c);
  if (!rc) rc = c.rc;
  if (!rc) rc = store_usage_login_each(s, 0, c.from, c.to, on_login, &c);
  return rc ? rc : c.rc;
}
