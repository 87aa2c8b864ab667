/* state_json.c — an app's edition state as JSON: what `imcloud app state
 * --json` and the operator API (GET /operator/v1/apps/{sdkappid}/state, and
 * the replies of the purchase endpoints) print. */
#include "billing/billing.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/json_whole.h"

#include <jansson.h>
#include <stdio.h>


json_t *tenant_app_state_json(store_t *s, uint32_t sdkappid, int64_t day, int64_t now_s)
{
  store_app_t a;
  tenant_lifecycle_t lc;
  if (tenant_app_state(s, sdkappid, day, &a, &lc)) return NULL;
  int on = 0;
  char by[16] = "", d[16], pe[16] = "", ge[16] = "";
  tenant_app_auto_renew(s, sdkappid, &on);
  tenant_app_suspended_by(s, sdkappid, by, sizeof by);
  imc_date_format(day, d, sizeof d);
  if (lc.package_end_day >= 0) imc_date_format(lc.package_end_day, pe, sizeof pe);
  if (lc.grace_end_day >= 0) imc_date_format(lc.grace_end_day, ge, sizeof ge);
  bill_scheme_t sch;
  bill_scheme_parse(a.scheme, &sch);
  json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "sdkappid", (json_int_t)sdkappid, "date", d, "scheme", a.scheme,
                        "edition", a.edition, "state", tenant_lc_state_name(lc.state), "limits_of",
                        plan_edition_code(sch, lc.edition), "status", a.status, "auto_renew", on);
  int bad = 0; /* whole or NULL (§90) */
  jwhole_put(o, "package_until", pe[0] ? json_string(pe) : json_null(), &bad);
  jwhole_put(o, "grace_until", ge[0] ? json_string(ge) : json_null(), &bad);
  jwhole_put(o, "suspended_by", by[0] ? json_string(by) : json_null(), &bad);
  jwhole_put(o, "push_approved_at", lc.plan.push_approved_at_s ? json_integer(lc.plan.push_approved_at_s) : json_null(), &bad);
  jwhole_put(o, "all_member_push", json_boolean(plan_limit(&lc.plan, now_s, PLAN_F_ALL_MEMBER_PUSH) == 1), &bad);
  /* the retention in force (days; the add-ons of retention.c raise it; in grace and after, the package's: keep) */
  jwhole_put(o, "history_days", json_integer(plan_limit(&lc.keep, now_s, PLAN_L_HISTORY_DAYS)), &bad);
  jwhole_put(o, "c2c_history_days", json_integer(plan_limit(&lc.keep, now_s, PLAN_L_C2C_HISTORY_DAYS)), &bad);
  return jwhole_take(o, bad);
}

