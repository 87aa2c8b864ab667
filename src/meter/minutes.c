/* minutes.c — recording call minutes (M-6): one identified event per call,
 * counted once however often it is sent (store_usage_event), in the app's
 * billing zone, at most METER_LATE_DAYS late (M-7). The CLI (`imcloud usage
 * record-minutes`) and the operator API share it. */
#include "meter/meter.h"
#include "store/store.h"
#include "util/date.h"
#include "util/err.h"
#include "util/utf8.h"

#include <string.h>

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
  rc = store_usage_event(s, app, event_id, *day_out, meter_call_metric(k), minutes, now_s, replayed);
  if (rc == IMC_E_EXISTS) return imc_errf(err, cap, rc, "that event id was recorded with a different date, kind or minutes");
  return rc ? imc_errf(err, cap, rc, "%s", imc_strerror(rc)) : 0;
}
