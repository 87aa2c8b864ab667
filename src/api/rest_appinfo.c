/* rest_appinfo.c — openconfigsvr/getappinfo (rest-api-reference §2.9): the
 * last 30 days of the app's metered figures (src/meter, docs/metering.md),
 * one Result object per day, oldest first, values as strings like the
 * commercial service. RequestField selects fields; without it every field
 * imcloud meters is returned. A field imcloud does not meter (push, callback
 * and per-sender counts, login times) is refused by name when requested —
 * never answered with a made-up number. The figures are read on the store
 * writer thread. */
#include "api/api_int.h"
#include "meter/meter.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F_APPNAME, F_APPID, F_COMPANY, F_DATE, F_ROW, F_UPMSG, F_REGTOTAL, F_DESTROYED };

static const struct field {
  const char *name;
  int kind;
  size_t off;               /* F_ROW: offset of an int64_t in meter_day_row_t */
} fields[] = {
  { "AppName", F_APPNAME, 0 },
  { "AppId", F_APPID, 0 },
  { "Company", F_COMPANY, 0 },
  { "ActiveUserNum", F_ROW, offsetof(meter_day_row_t, dau) },          /* M-2 */
  { "LoginUserNum", F_ROW, offsetof(meter_day_row_t, dau) },
  { "RegistUserNumOneDay", F_ROW, offsetof(meter_day_row_t, registrations) },
  { "RegistUserNumTotal", F_REGTOTAL, 0 },
  { "UpMsgNum", F_UPMSG, 0 },
  { "C2CUpMsgNum", F_ROW, offsetof(meter_day_row_t, c2c_msgs) },
  { "GroupUpMsgNum", F_ROW, offsetof(meter_day_row_t, group_msgs) },
  { "MaxOnlineNum", F_ROW, offsetof(meter_day_row_t, conn_peak) },
  { "GroupNewGroupNum", F_ROW, offsetof(meter_day_row_t, groups_created) },
  { "GroupDestroyGroupNum", F_DESTROYED, 0 },
  { "GroupAllGroupNum", F_ROW, offsetof(meter_day_row_t, groups_end) }, /* M-4: non-live groups at the day's end */
  { "Date", F_DATE, 0 },
};
#define NFIELDS (sizeof fields / sizeof fields[0])

/* Fields of the commercial service imcloud does not meter. */
static const char *const unmetered[] = {
  "LoginTimes", "SendMsgUserNum", "APNSMsgNum", "C2CDownMsgNum", "C2CSendMsgUserNum", "C2CAPNSMsgNum", "DownMsgNum",
  "ChainIncrease", "ChainDecrease", "GroupDownMsgNum", "GroupSendMsgUserNum", "GroupAPNSMsgNum", "GroupSendMsgGroupNum",
  "GroupJoinGroupTimes", "GroupQuitGroupTimes", "CallBackReq", "CallBackRsp",
};

typedef struct appinfo_job {
  int n;
  uint8_t sel[NFIELDS];
  char app_name[128], company[128];
  meter_appinfo_t info;
} appinfo_job_t;

static int appinfo_run(store_t *s, void *arg)
{
  rest_ctx_t *c = arg;
  appinfo_job_t *j = c->data;
  store_app_t a;
  store_customer_t cu;
  int rc = store_app_get(s, c->sdkappid, &a);
  if (!rc) rc = store_customer_get(s, a.customer_id, &cu);
  if (!rc) rc = meter_appinfo(s, c->sdkappid, imc_clock_now_s(), c->srv->tz_offset_s, &j->info);
  if (rc) return rc;
  snprintf(j->app_name, sizeof j->app_name, "%s", a.name);
  snprintf(j->company, sizeof j->company, "%s", cu.name);
  return 0;
}

static json_t *value(const appinfo_job_t *j, const struct field *f, int day, uint32_t app)
{
  const meter_day_row_t *r = &j->info.days[day];
  char b[32];
  switch (f->kind) {
  case F_APPNAME: return json_string(j->app_name);
  case F_COMPANY: return json_string(j->company);
  case F_APPID: snprintf(b, sizeof b, "%u", app); break;
  case F_DATE: snprintf(b, sizeof b, "%08d", (int)r->date); break;
  case F_UPMSG: snprintf(b, sizeof b, "%lld", (long long)(r->c2c_msgs + r->group_msgs)); break;
  case F_REGTOTAL: snprintf(b, sizeof b, "%lld", (long long)j->info.reg_total[day]); break;
  case F_DESTROYED: snprintf(b, sizeof b, "%lld", (long long)(r->groups_created - r->net_new_groups)); break;
  default: snprintf(b, sizeof b, "%lld", (long long)*(const int64_t *)((const char *)r + f->off)); break;
  }
  return json_string(b);
}

static void appinfo_after(rest_ctx_t *c, int rc)
{
  appinfo_job_t *j = c->data;
  if (rc) { rest_reply_err(c, rc, NULL, NULL); return; }
  json_t *arr = json_array();
  int bad = 0; /* a day or a field lost: 70500, never a short Result (§90) */
  for (int d = 0; !bad && d < METER_APPINFO_DAYS; d++) {
    json_t *o = json_object();
    for (size_t f = 0; f < NFIELDS; f++)
      if (j->sel[f]) api_field_put(o, fields[f].name, value(j, &fields[f], d, c->sdkappid), &bad);
    api_list_add(arr, o, &bad);
  }
  json_t *out = json_object();
  api_field_put(out, "Result", arr, &bad);
  rest_reply_ok(c, api_json_whole(out, bad));
}

void rest_getappinfo(rest_ctx_t *c)
{
  appinfo_job_t *j = calloc(1, sizeof *j);
  if (!j) { rest_reply_err(c, IMC_E_NOMEM, NULL, NULL); return; }
  c->data = j;
  c->data_free = free;
  json_t *req = json_object_get(c->body, "RequestField"), *v;
  size_t i;
  if (!req) { memset(j->sel, 1, sizeof j->sel); rest_submit(c, appinfo_run, appinfo_after); return; }
  if (!json_is_array(req)) { rest_reply_err(c, IMC_E_JSON_TYPE, "RequestField must be an array of field names", NULL); return; }
  json_array_foreach(req, i, v) {
    char msg[160];
    if (!json_is_string(v)) { rest_reply_err(c, IMC_E_JSON_TYPE, "RequestField must be an array of field names", NULL); return; }
    size_t f;
    for (f = 0; f < NFIELDS && strcmp(fields[f].name, json_string_value(v)); f++) {}
    if (f < NFIELDS) { j->sel[f] = 1; continue; }
    int known = 0;
    for (size_t u = 0; u < sizeof unmetered / sizeof *unmetered; u++) known |= !strcmp(unmetered[u], json_string_value(v));
    snprintf(msg, sizeof msg, known ? "RequestField %.60s is not metered by this server" : "RequestField %.60s is not a field",
             json_string_value(v));
    rest_reply_err(c, IMC_E_INVAL, msg, NULL);
    return;
  }
  rest_submit(c, appinfo_run, appinfo_after);
}
