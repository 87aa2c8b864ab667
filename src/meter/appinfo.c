/* appinfo.c — the last 30 days of an app's figures, for the compatible
 * `openconfigsvr/getappinfo` (rest-api-reference §2.9): the daily rows of
 * meter_report for the 30 days before today in the app's zone, and the
 * running total of registered accounts. */
#include "meter/meter.h"
#include "meter/meter_int.h"
#include "store/store.h"
#include "util/date.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

int meter_appinfo(store_t *s, uint32_t app, int64_t now_s, int default_tz, meter_appinfo_t *out)
{
  memset(out, 0, sizeof *out);
  int tz, rc = meter_app_zone(s, app, default_tz, &tz);
  if (rc) return rc;
  int64_t first = imc_day_of(now_s, tz) - METER_APPINFO_DAYS;
  int64_t before = 0;
  if ((rc = store_usage_registered(s, app, imc_day_start(first, tz), &before))) return rc;
  meter_report_t *r = malloc(sizeof *r);
  if (!r) return IMC_E_NOMEM;
  int32_t month = 0;
  for (int i = 0; i < METER_APPINFO_DAYS && !rc; i++) {
    int y, m, d;
    imc_civil_from_days(first + i, &y, &m, &d);
    if (y * 100 + m != month && (rc = meter__report_tz(s, app, (month = y * 100 + m), tz, 0, r))) break;
    out->days[i] = r->days[d - 1];
    before += out->days[i].registrations;
    out->reg_total[i] = before;
  }
  free(r);
  return rc;
}
