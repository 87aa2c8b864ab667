/* render.c — a month report as JSON, the one shape `imcloud usage --json`
 * and the operator API print (docs/metering.md). */
#include "meter/meter.h"
#include "util/json_whole.h"

#include <jansson.h>
#include <stdio.h>

static json_t *date_json(int32_t yyyymmdd)
{
  char b[16];
  if (!yyyymmdd) return json_null();
  snprintf(b, sizeof b, "%04d-%02d-%02d", yyyymmdd / 10000, yyyymmdd / 100 % 100, yyyymmdd % 100);
  return json_string(b);
}

static json_t *calls_json(const int64_t *minutes)
{
  json_t *o = json_object();
  int bad = 0;
  for (int k = 0; k < METER_CALL_KINDS; k++) jwhole_put(o, meter_call_kinds[k], json_integer(minutes[k]), &bad);
  return jwhole_take(o, bad);
}

json_t *meter_report_json(const meter_report_t *r)
{
  json_t *days = json_array();
  int bad = 0; /* a day lost: no report (NULL), never a short one (§90) */
  for (int i = 0; !bad && i < r->ndays; i++) {
    const meter_day_row_t *d = &r->days[i];
    jwhole_add(days, json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:b}",
      "date", date_json(d->date), "dau", (json_int_t)d->dau, "groups", (json_int_t)d->groups,
      "net_new_groups", (json_int_t)d->net_new_groups, "bandwidth_peak_mbps", (json_int_t)d->bandwidth_peak_mbps,
      "c2c_msgs", (json_int_t)d->c2c_msgs, "group_msgs", (json_int_t)d->group_msgs,
      "call_minutes", calls_json(d->call_minutes), "live_groups", (json_int_t)d->live_groups_peak,
      "rest_calls", (json_int_t)d->rest_calls, "conn_peak", (json_int_t)d->conn_peak,
      "registrations", (json_int_t)d->registrations, "imported", d->imported), &bad);
  }
  if (!(days = jwhole_take(days, bad))) return NULL;
  char month[16];
  snprintf(month, sizeof month, "%04d-%02d", r->month / 100, r->month % 100);
  return json_pack("{s:I,s:s,s:i,s:o,s:I,s:o,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I,s:i}",
    "sdkappid", (json_int_t)r->app, "month", month, "tz_offset_s", r->tz_offset_s, "days", days,
    "peak_dau", (json_int_t)r->peak_dau, "peak_dau_date", date_json(r->peak_dau_date), "mau", (json_int_t)r->mau,
    "peak_groups", (json_int_t)r->peak_groups, "accumulated_groups", (json_int_t)r->accumulated_groups,
    "bandwidth_mbps_days", (json_int_t)r->bandwidth_mbps_days, "call_minutes", calls_json(r->call_minutes),
    "c2c_msgs", (json_int_t)r->c2c_msgs, "group_msgs", (json_int_t)r->group_msgs,
    "c2c_roaming_months", (json_int_t)r->c2c_roaming_months, "history_days", (json_int_t)r->history_days,
    "imported_docs", r->imported_docs);
}
