/* minutes.c — recording call minutes (M-6): one identified event per call,
 * counted once however often it is sent (store_usage_event), in the app's
 * billing zone, at most METER_LATE_DAYS late (M-7), on a day an av_call
 * package is in force (P-46). The CLI (`imcloud usage record-minutes`) and
 * the operator API share it. */
#include "meter/meter.h"
#include "meter/meter_int.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int meter__call_package_in(store_t *s, uint32_t app, int64_t first_day, int64_t last_day, const char *what,
                           char *err, size_t cap)
{
  store_order_t *v = NULL;
  int nv = 0, rc = tenant_app_orders(s, app, &v, &nv), found = 0;
  if (rc) return imc_errf(err, cap, rc, "orders of app %u: %s", app, imc_strerror(rc));
  for (int i = 0; i < nv && !found; i++)
    found = !strcmp(v[i].kind, "addon") && !strcmp(v[i].item, "av_call") && v[i].start_day <= last_day &&
            v[i].end_day >= first_day;
  free(v);
  if (found) return 0;
  return imc_errf(err, cap, IMC_E_METER_NO_CALL_PACKAGE,
                  "app %u has no av_call package in force %s: call minutes need one (P-46: imcloud addon buy --sdkappid %u av_call=...)",
                  app, what, app);
}

int meter_record_minutes(store_t *s, uint32_t app, const char *kind, int64_t minutes, const char *event_id,
                         const char *date, int64_t now_s, int default_tz, int32_t *day_out, int *replayed,
                         char *err, size_t cap)
{
  int k = kind ? meter_call_kind(kind) : IMC_E_INVAL;
  if (k < 0) return imc_errf(err, cap, IMC_E_INVAL, "kind must be audio, video_sd, video_hd or video_fhd");
  if (!event_id || !event_id[0] || strlen(event_id) > 64 || !imc_utf8_text(event_id))
    return imc_errf(err, cap, IMC_E_INVAL, "event_id must be 1-64 bytes of UTF-8 text (no control characters)");
  if (minutes <= 0 || minutes > 1000000000) return imc_errf(err, cap, IMC_E_INVAL, "minutes must be 1..1000000000");
  int y, m, d, tz;
  if (date && imc_date_parse(date, &y, &m, &d)) return imc_errf(err, cap, IMC_E_INVAL, "date must be YYYY-MM-DD");
  int rc = meter_app_zone(s, app, default_tz, &tz);
  if (rc) return imc_errf(err, cap, rc, "%s", rc == IMC_E_NOTFOUND ? "no such app" : imc_strerror(rc));
  int64_t today = imc_day_of(now_s, tz), day = date ? imc_days_from_civil(y, m, d) : today;
  if (day > today || day < today - METER_LATE_DAYS)
    return imc_errf(err, cap, IMC_E_METER_LATE, "date must be between %d days ago and today (M-7 late window)", METER_LATE_DAYS);
  *day_out = imc_day_yyyymmdd(day);
  char on[32];
  snprintf(on, sizeof on, "on %04d-%02d-%02d", *day_out / 10000, *day_out / 100 % 100, *day_out % 100);
  if ((rc = meter__call_package_in(s, app, day, day, on, err, cap))) return rc;
  rc = store_usage_event(s, app, event_id, *day_out, meter_call_metric(k), minutes, now_s, replayed);
  if (rc == IMC_E_EXISTS) return imc_errf(err, cap, rc, "that event id was recorded with a different date, kind or minutes");
  return rc ? imc_errf(err, cap, rc, "%s", imc_strerror(rc)) : 0;
}
