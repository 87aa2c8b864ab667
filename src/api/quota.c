/* quota.c — the server's edition limits and metering at the points of use
 * that exist in api/: the users-per-app limit of account imports (70398),
 * the free DAU / MAU of editions without overage at login (72000), the
 * multi-device gate, the messaging limits an edition sets (retention, recent
 * conversations kept), the meter's connection counter, and the gate and
 * meter columns of the route and op tables (api_gate_check, api_meter_count:
 * the dispatchers call them with the row). Every limit comes from plan_check
 * / plan_limit with the app's facts (tenant_app_t.plan); nothing here holds
 * a limit literal. Loop thread only.
 *
 * Logins and imports admitted but not yet durable are counted as pending per
 * app, so that concurrent first logins of the day cannot together pass a free
 * quota (each admission sees the others); each count is dropped when its job
 * completes, whatever its outcome. An app keeps three counts, one per limit:
 * accounts being created (a login that creates its account, account
 * imports), users not yet counted today and users not yet counted this month.
 * Each check adds only its own count: a login of an existing user in flight
 * does not stand for a new account, nor an import for a day's user. */
#include "api/api_int.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- pending admissions ------------------------------------------------------ */
typedef struct quota_pending {
  int64_t accounts; /* accounts being created (PLAN_L_USERS) */
  int64_t day;      /* users not yet counted on their login's day (PLAN_L_FREE_DAU) */
  int64_t month;    /* users not yet counted in their login's month (PLAN_L_FREE_MAU) */
} quota_pending_t;

static quota_pending_t *pending_slot(api_srv_t *srv, uint32_t app, int create)
{
  quota_pending_t *n = u64map_get(&srv->quota_pending, app);
  if (n || !create) return n;
  if (!(n = calloc(1, sizeof *n))) return NULL;
  if (u64map_put(&srv->quota_pending, app, n)) { free(n); return NULL; }
  return n;
}

static const quota_pending_t no_pending;

static const quota_pending_t *pending(api_srv_t *srv, uint32_t app)
{
  const quota_pending_t *n = pending_slot(srv, app, 0);
  return n ? n : &no_pending;
}

int api_quota_login_admit(api_srv_t *srv, const tenant_app_t *app, int known, uint32_t meter_no, int64_t now_s,
                          api_admission_t *adm, char *why, size_t why_cap)
{
  plan_verdict_t v;
  uint32_t id = app->rec.sdkappid;
  int rc;
  memset(adm, 0, sizeof *adm);
  adm->sdkappid = id;
  adm->day = meter_day_of(srv->meter, id, now_s);
  int in_day = 0, in_month = 0;
  if (meter_no) meter_seen(srv->meter, id, meter_no, adm->day, &in_day, &in_month); /* a re-import: its first number */
  const quota_pending_t *w = pending(srv, id);
  /* a login that creates the account is an import too (70398) */
  if (!known && (rc = plan_check(&app->plan, now_s, PLAN_L_USERS,
                                 (int64_t)tenant_registry_account_count(srv->reg, id) + w->accounts, 1, &v)))
    goto refused;
  if (!in_day && (rc = plan_check(&app->plan, now_s, PLAN_L_FREE_DAU, meter_dau(srv->meter, id, adm->day) + w->day, 1, &v)))
    goto refused;
  if (!in_month && (rc = plan_check(&app->plan, now_s, PLAN_L_FREE_MAU, meter_mau(srv->meter, id, adm->day / 100) + w->month, 1, &v)))
    goto refused;
  if (!known || !in_day || !in_month) {
    quota_pending_t *n = pending_slot(srv, id, 1);
    if (!n) return IMC_E_NOMEM;
    adm->pending = (uint8_t)((!known ? API_ADM_ACCOUNT : 0) | (!in_day ? API_ADM_DAY : 0) | (!in_month ? API_ADM_MONTH : 0));
    n->accounts += !known;
    n->day += !in_day;
    n->month += !in_month;
  }
  return 0;
refused:
  if (why && why_cap) snprintf(why, why_cap, "%s", v.msg);
  return rc;
}

void api_quota_login_done(api_srv_t *srv, api_admission_t *adm)
{
  if (adm->pending) {
    quota_pending_t *n = pending_slot(srv, adm->sdkappid, 0);
    assert(n);
    if (n) {
      if (adm->pending & API_ADM_ACCOUNT) { assert(n->accounts > 0); n->accounts--; }
      if (adm->pending & API_ADM_DAY) { assert(n->day > 0); n->day--; }
      if (adm->pending & API_ADM_MONTH) { assert(n->month > 0); n->month--; }
    }
    adm->pending = 0;
  }
}

/* ---- the gate and meter columns of the route and op tables ------------------ */
const char *api_gate_name(int gate)
{
  return gate >= PLAN_FIRST_FEATURE && gate < PLAN__COUNT ? plan_item_key((plan_item_t)gate) : "-";
}

int api_gate_check(api_srv_t *srv, uint32_t sdkappid, int gate, char *why, size_t why_cap)
{
  if (gate == API_GATE_NONE) return 0;
  assert(gate >= PLAN_FIRST_FEATURE && gate < PLAN__COUNT);
  const tenant_app_t *app = tenant_registry_app(srv->reg, sdkappid);
  if (!app) return IMC_E_SIG_APP_UNKNOWN;
  plan_verdict_t v;
  int rc = plan_check(&app->plan, imc_clock_now_s(), (plan_item_t)gate, 0, 0, &v);
  if (rc && why && why_cap) snprintf(why, why_cap, "%s", v.msg);
  return rc;
}

static const struct { unsigned bit; const char *name; } meter_names[] = {
  { API_METER_REST_CALL, "rest call" },
  { API_METER_LOGIN, "login (DAU/MAU)" },
  { API_METER_GROUP_MSG, "group message" },
  { API_METER_C2C_MSG, "one-to-one message" },
};

const char *api_meter_names(unsigned meter, char *buf, size_t cap)
{
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof meter_names / sizeof meter_names[0]; i++)
    if (meter & meter_names[i].bit) {
      int w = snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? ", " : "", meter_names[i].name);
      if (w > 0) n += (size_t)w;
    }
  return n ? buf : "-";
}

int32_t api_meter_day_of(void *srv_, uint32_t sdkappid, int64_t t_s)
{
  api_srv_t *srv = srv_;
  return srv->meter ? meter_day_of(srv->meter, sdkappid, t_s) : 0;
}

void api_meter_count(api_srv_t *srv, unsigned meter, uint32_t sdkappid, uint32_t user_no, int64_t now_s)
{
  int rc;
  if ((meter & API_METER_REST_CALL) && (rc = meter_rest_call(srv->meter, sdkappid, now_s)) < 0)
    IMC_WARN("quota", "msg=\"REST call not metered\" app=%u err=%s", sdkappid, imc_err_name(rc));
  if ((meter & API_METER_LOGIN) && !srv->cfg->bench_no_meter && (rc = meter_login(srv->meter, sdkappid, user_no, now_s)) < 0)
    IMC_WARN("quota", "msg=\"login not metered\" app=%u user_no=%u err=%s", sdkappid, user_no, imc_err_name(rc));
}

void api_quota_session(api_srv_t *srv, uint32_t sdkappid, int delta)
{
  meter_conn(srv->meter, sdkappid, delta, imc_clock_now_s());
}

int api_quota_multi_device(api_srv_t *srv, const tenant_app_t *app)
{
  (void)srv;
  /* a yes/no: plan_limit is plan_check's test without the refusal text
   * (formatted on every login of an edition without the feature) */
  return plan_limit(&app->plan, imc_clock_now_s(), PLAN_F_MULTI_DEVICE) != 0;
}

int api_quota_reserve(api_srv_t *srv, uint32_t sdkappid, int64_t n)
{
  quota_pending_t *p = pending_slot(srv, sdkappid, 1);
  if (!p) return IMC_E_NOMEM;
  p->accounts += n;
  return 0;
}

void api_quota_release(api_srv_t *srv, uint32_t sdkappid, int64_t n)
{
  quota_pending_t *p = pending_slot(srv, sdkappid, 0);
  assert(p && p->accounts >= n);
  if (p) p->accounts -= n;
}

int api_quota_accounts(api_srv_t *srv, const tenant_app_t *app, int64_t adding, char *why, size_t why_cap)
{
  plan_verdict_t v;
  int rc = plan_check(&app->plan, imc_clock_now_s(), PLAN_L_USERS,
                      (int64_t)tenant_registry_account_count(srv->reg, app->rec.sdkappid) + pending(srv, app->rec.sdkappid)->accounts,
                      adding, &v);
  if (rc && why && why_cap) snprintf(why, why_cap, "%s", v.msg);
  return rc;
}

/* ---- messaging limits: the edition's answer, the configuration's otherwise --- */
static int64_t im_limit_of_app(void *ud, uint32_t sdkappid, im_limit_t which, int64_t dflt)
{
  api_srv_t *srv = ud;
  plan_item_t id;
  switch (which) { /* the limits an edition sets; the others (message size, dedupe window, pages: a send asks
                    * for two of them) need no lookup of the app */
  case IM_LIMIT_RETENTION_S: id = PLAN_L_C2C_HISTORY_DAYS; break;
  case IM_LIMIT_GROUP_RETENTION_S: id = PLAN_L_HISTORY_DAYS; break;
  case IM_LIMIT_RECENT_KEPT: id = PLAN_L_RECENT_CONVERSATIONS; break;
  default: return dflt;
  }
  const tenant_app_t *app = tenant_registry_app(srv->reg, sdkappid);
  if (!app || !app->keep.ready) return dflt;
  int64_t n = plan_limit(&app->keep, imc_clock_now_s(), id); /* limits on stored data: the package's in grace */
  if (which == IM_LIMIT_RECENT_KEPT) return n == PLAN_UNLIMITED ? INT32_MAX : n > 0 ? n : dflt;
  return n == PLAN_UNLIMITED ? INT64_MAX / 4 : n > 0 ? n * 86400 : dflt; /* days */
}

static int im_limit_app_known(void *ud, uint32_t sdkappid)
{
  const tenant_app_t *app = tenant_registry_app(((api_srv_t *)ud)->reg, sdkappid);
  return app && app->keep.ready;
}

void api_quota_im_limits(api_srv_t *srv, im_limits_t *lim)
{
  lim->per_app = im_limit_of_app;
  lim->known = im_limit_app_known;
  lim->ud = srv;
}

/* ---- P-17: 10,000-member groups per customer (docs/decisions/groups-big.md) ---- */
static int64_t app_customer(void *ud, uint32_t sdkappid)
{
  const tenant_app_t *a = tenant_registry_app(((api_srv_t *)ud)->reg, sdkappid);
  return a ? a->rec.customer_id : 0;
}

typedef struct big_load { api_srv_t *srv; int rc; } big_load_t;

static void big_customer(void *ud, const store_customer_t *c)
{
  big_load_t *l = ud;
  int64_t extra;
  if (l->rc) return;
  if (!(l->rc = tenant_customer_big_groups_extra(l->srv->store, c->id, &extra)))
    l->rc = im_groups_set_big_extra(l->srv->groups, c->id, extra);
}

int api_quota_big_groups_init(api_srv_t *srv)
{
  big_load_t l = { srv, 0 };
  im_groups_set_customers(srv->groups, app_customer);
  int rc = store_customer_list(srv->store, big_customer, &l);
  return rc ? rc : l.rc;
}

int api_quota_big_groups_meta(api_srv_t *srv, const char *key, const char *value)
{
  int64_t customer = tenant_big_groups_extra_key_customer(key), extra;
  if (!customer) return 0;
  if (imc_parse_i64(value, 0, TENANT_BIG_GROUPS_EXTRA_MAX, &extra)) extra = 0; /* as tenant_customer_big_groups_extra */
  if (im_groups_set_big_extra(srv->groups, customer, extra)) {
    IMC_WARN("quota", "msg=\"big-group quota extra not applied: out of memory\" customer=%lld", (long long)customer);
    return 1;
  }
  IMC_INFO("quota", "msg=\"big-group quota extra applied\" customer=%lld extra=%lld", (long long)customer, (long long)extra);
  return 1;
}
