/* operator_life.c — the operator API's purchases and life-cycle endpoints
 * (docs/editions.md, docs/operator-api.md): upgrade, renew, add-ons, suspend,
 * resume, auto-renew, state; the same tenant functions as `imcloud app …` /
 * `imcloud addon …`. Each runs as operator.c's job (writer thread for a POST,
 * reader pool for a GET) on the op_req_t it is given. */
#include "api/operator_int.h"
#include "billing/billing.h"
#include "meter/meter.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

/* The HTTP status of a refused order or status change. */
static int order_status(int rc)
{
  switch (rc) {
  case IMC_E_NOTFOUND: return 404;
  case IMC_E_EXISTS: return 409;
  case IMC_E_WALLET_FUNDS: return 402;
  case IMC_E_PLAN_EDITION_CHANGE: case IMC_E_PLAN_EXPIRED: case IMC_E_BILL_MONTH_ISSUED: case IMC_E_APP_IN_ARREARS:
  case IMC_E_ORDER_BEFORE_APP: return 409;
  default: return 400;
  }
}

/* A refused order answers 4xx with the tenant's reason; storage errors
 * fail the job (500, nothing written). */
static int fatal_or_fail(op_req_t *o, int rc, const char *err)
{
  if (rc == IMC_E_IO || rc == IMC_E_BUSY || rc == IMC_E_NOMEM) return rc;
  return op_fail(o, order_status(rc), rc, err[0] ? err : imc_strerror(rc));
}

/* Optional "at": YYYY-MM-DD, no later than today; default today (billing zone). */
static int body_day(op_req_t *o, int64_t now, int64_t *day)
{
  json_t *at = json_object_get(o->body, "at");
  int64_t today = imc_day_of(now, o->srv->tz_offset_s);
  int y, m, d;
  *day = today;
  if (!at) return 0;
  if (!json_is_string(at) || imc_date_parse(json_string_value(at), &y, &m, &d)) return op_fail(o, 400, IMC_E_INVAL, "at must be a date YYYY-MM-DD"), 1;
  *day = imc_days_from_civil(y, m, d);
  if (*day > today) return op_fail(o, 400, IMC_E_INVAL, "at is in the future"), 1;
  return 0;
}

static int body_ref(op_req_t *o, const char **ref)
{
  json_t *r = json_object_get(o->body, "reference");
  *ref = NULL;
  if (!r) return 0;
  if (!json_is_string(r)) return op_fail(o, 400, IMC_E_INVAL, "reference must be a string of 1-40 printable bytes"), 1;
  *ref = json_string_value(r);
  return 0;
}

/* After an order or a status change: the app's life-cycle jobs for today
 * (auto-renew, suspension, resumption, as the CLI runs them), then
 * {"state": …, "order": …?, "replayed": …?} and the app for the registry. */
static int life_finish(op_req_t *o, store_t *s, const store_order_t *ord, int replayed)
{
  uint32_t id = (uint32_t)o->id;
  int64_t now = imc_clock_now_s(), today = imc_day_of(now, o->srv->tz_offset_s);
  tenant_run_t ran;
  char err[256] = "";
  int rc = tenant_app_lifecycle_run(s, id, today, now, &ran, err, sizeof err);
  if (rc) return rc;
  /* a renewal resumes a lapsed app, but not past an overdue bill of its customer (P-14, P-45): the
   * arrears pass suspends it again at once (it ran only at the next day change) */
  store_app_t a;
  meter_arrears_stats_t ar;
  if ((rc = store_app_get(s, id, &a)) || (rc = meter_arrears_run(s, a.customer_id, 0, now, o->srv->tz_offset_s, &ar))) return rc;
  if ((rc = api_fresh_load(s, &o->fresh, 0, id, today))) return rc;
  json_t *st = tenant_app_state_json(s, id, today, now);
  if (!st) return IMC_E_NOMEM;
  o->out = json_pack("{s:o}", "state", st);
  int bad = 0; /* a member left out: the order is undone (job_run: 500 NOMEM, §85) */
  if (ord) {
    api_field_put(o->out, "order", tenant_order_json(ord), &bad);
    api_field_put(o->out, "replayed", json_boolean(replayed), &bad);
    o->status = replayed ? 200 : 201;
  }
  o->out = api_json_whole(o->out, bad);
  return 0;
}

static int app_exists(op_req_t *o, store_t *s, store_app_t *a)
{
  int rc = o->id <= UINT32_MAX ? store_app_get(s, (uint32_t)o->id, a) : IMC_E_NOTFOUND;
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such app"), 1;
  return rc;
}

/* An order's common fields and app: its day ("at", body_day) and reference, then app_exists, then refused (409
 * ORDER_BEFORE_APP) when the day is before the app was created. 1: answered (refused); else 0 or a storage error. */
static int order_begin(op_req_t *o, store_t *s, int64_t now, int64_t *day, const char **ref, store_app_t *a)
{
  if (body_day(o, now, day) || body_ref(o, ref)) return 1;
  int rc = app_exists(o, s, a);
  if (rc) return rc;
  char err[160];
  if ((rc = tenant_order_day_check(a, *day, o->srv->tz_offset_s, err, sizeof err))) return op_fail(o, order_status(rc), rc, err), 1;
  return 0;
}

int op_app_upgrade(op_req_t *o, store_t *s)
{
  json_t *ed = json_object_get(o->body, "edition"), *appr = json_object_get(o->body, "approved");
  if (!json_is_string(ed)) return op_fail(o, 400, IMC_E_INVAL, "edition (string) is required");
  if (appr && !json_is_boolean(appr)) return op_fail(o, 400, IMC_E_INVAL, "approved must be true or false");
  int64_t now = imc_clock_now_s(), day;
  const char *ref;
  store_app_t a;
  int rc = order_begin(o, s, now, &day, &ref, &a);
  if (rc) return rc == 1 ? 0 : rc;
  char err[256] = "";
  if (!strcmp(a.scheme, "legacy")) { /* P-07: trial first, by approval */
    if (strcmp(json_string_value(ed), "trial"))
      return op_fail(o, 409, IMC_E_PLAN_EDITION_CHANGE, "a legacy app becomes trial first (edition trial, approved true), then upgrades (P-07)");
    rc = tenant_app_legacy_to_trial(s, a.sdkappid, appr && json_is_true(appr), now, err, sizeof err);
    return rc ? op_fail(o, order_status(rc), rc, err) : life_finish(o, s, NULL, 0);
  }
  store_order_t ord;
  int replayed = 0;
  rc = tenant_app_upgrade(s, a.sdkappid, json_string_value(ed), day, ref, now, &ord, &replayed, err, sizeof err);
  if (rc) return fatal_or_fail(o, rc, err);
  return life_finish(o, s, &ord, replayed);
}

int op_app_renew(op_req_t *o, store_t *s)
{
  int64_t now = imc_clock_now_s(), day;
  const char *ref;
  store_app_t a;
  int rc = order_begin(o, s, now, &day, &ref, &a);
  if (rc) return rc == 1 ? 0 : rc;
  char err[256] = "";
  store_order_t ord;
  int replayed = 0;
  rc = tenant_app_renew(s, a.sdkappid, day, ref, now, &ord, &replayed, err, sizeof err);
  if (rc) return fatal_or_fail(o, rc, err);
  return life_finish(o, s, &ord, replayed);
}

int op_addon_buy(op_req_t *o, store_t *s)
{
  json_t *name = json_object_get(o->body, "addon"), *val = json_object_get(o->body, "value");
  if (!json_is_string(name)) return op_fail(o, 400, IMC_E_INVAL, "addon (string, as imcloud quote names it) is required");
  int64_t least = tenant_retention_addon(json_string_value(name), NULL) ? 0 : 1; /* 0 ends a retention add-on */
  if (!least && !val) return op_fail(o, 400, IMC_E_INVAL, "value is required: months or days (0 ends the add-on)");
  if (val && !json_is_string(val) && !(json_is_integer(val) && json_integer_value(val) >= least && json_integer_value(val) <= BILL_USAGE_MAX))
    return op_fail(o, 400, IMC_E_INVAL, "value must be a positive integer (member_cap 2000; 0 ends c2c_roaming_months or history_days) or a name (av_call basic)");
  if (json_is_string(val) && (!json_string_length(val) || json_string_length(val) >= sizeof ((store_order_t *)0)->value_name))
    return op_fail(o, 400, IMC_E_INVAL, "value name must be 1-15 bytes");
  int64_t now = imc_clock_now_s(), day;
  const char *ref;
  store_app_t a;
  int rc = order_begin(o, s, now, &day, &ref, &a);
  if (rc) return rc == 1 ? 0 : rc;
  char err[256] = "";
  store_order_t ord;
  int replayed = 0;
  rc = tenant_addon_buy(s, a.sdkappid, json_string_value(name), json_is_integer(val) ? json_integer_value(val) : 0,
                        json_is_string(val) ? json_string_value(val) : NULL, day, ref, now, &ord, &replayed, err, sizeof err);
  if (rc) return fatal_or_fail(o, rc, err);
  return life_finish(o, s, &ord, replayed);
}

int op_addon_list(op_req_t *o, store_t *s)
{
  store_app_t a;
  int rc = app_exists(o, s, &a);
  if (rc) return rc == 1 ? 0 : rc;
  int64_t day = imc_day_of(imc_clock_now_s(), o->srv->tz_offset_s);
  store_order_t *v;
  int n;
  if ((rc = tenant_app_orders(s, a.sdkappid, &v, &n))) return rc;
  json_t *arr = tenant_addons_json(v, n, day);
  free(v);
  if (!arr) return IMC_E_NOMEM;
  char d[16];
  imc_date_format(day, d, sizeof d);
  o->out = json_pack("{s:I,s:s,s:o}", "sdkappid", (json_int_t)a.sdkappid, "date", d, "addons", arr);
  return 0;
}

int op_app_suspend(op_req_t *o, store_t *s)
{
  store_app_t a;
  int rc = app_exists(o, s, &a);
  if (rc) return rc == 1 ? 0 : rc;
  if ((rc = tenant_app_suspend(s, a.sdkappid))) return rc;
  return life_finish(o, s, NULL, 0);
}

int op_app_resume(op_req_t *o, store_t *s)
{
  store_app_t a;
  int rc = app_exists(o, s, &a);
  if (rc) return rc == 1 ? 0 : rc;
  char err[256] = "";
  meter_arrears_stats_t ar; /* the arrears as they are now: paid bills end them (P-45) before the check below */
  if ((rc = meter_arrears_run(s, a.customer_id, 0, imc_clock_now_s(), o->srv->tz_offset_s, &ar))) return rc;
  if ((rc = tenant_app_resume(s, a.sdkappid, imc_day_of(imc_clock_now_s(), o->srv->tz_offset_s), err, sizeof err)))
    return fatal_or_fail(o, rc, err);
  return life_finish(o, s, NULL, 0);
}

int op_app_auto_renew(op_req_t *o, store_t *s)
{
  json_t *on = json_object_get(o->body, "on");
  if (!json_is_boolean(on)) return op_fail(o, 400, IMC_E_INVAL, "on (true or false) is required");
  store_app_t a;
  int rc = app_exists(o, s, &a);
  if (rc) return rc == 1 ? 0 : rc;
  if ((rc = tenant_app_set_auto_renew(s, a.sdkappid, json_is_true(on)))) return rc;
  return life_finish(o, s, NULL, 0);
}

int op_app_state(op_req_t *o, store_t *s)
{
  store_app_t a;
  int rc = app_exists(o, s, &a);
  if (rc) return rc == 1 ? 0 : rc;
  int64_t now = imc_clock_now_s();
  o->out = tenant_app_state_json(s, a.sdkappid, imc_day_of(now, o->srv->tz_offset_s), now);
  return o->out ? 0 : IMC_E_NOMEM;
}
