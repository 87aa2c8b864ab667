/* operator.c — the operator API: JSON over HTTP under /operator/v1/,
 * authenticated by `Authorization: Bearer <token>` (only the token's SHA-256
 * is stored, in meta "operator_token_sha256"). Every endpoint is one row of
 * `routes`; a write runs as a job on the writer thread and replies when it
 * is durable, a read (GET) as a job on the reader pool, so the loop never
 * touches the disk. The token hash is checked from memory; a token rotated
 * by the CLI arrives through the change log (changes.c).
 * The purchases and life-cycle endpoints are in operator_life.c.
 * Documented in docs/operator-api.md.
 *
 * Errors have one shape and one vocabulary: {"error":{"code","message"}}
 * where code is the symbolic name of the IMC_E_* error (util/err.h) —
 * NOTFOUND for an unknown endpoint as for a missing object, JSON_PARSE with
 * line and column for a body that is not JSON, INVAL for a bad or unknown
 * field; a known path with the wrong method is 405 with an Allow header. */
#include "api/api_int.h"
#include "api/operator_int.h"
#include "api/rel_settings.h"
#include "auth/optoken.h"
#include "billing/billing.h"
#include "meter/meter.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* The one error body of the operator API. */
static json_t *err_json(int err, const char *msg)
{
  return json_pack("{s:{s:s,s:s}}", "error", "code", imc_err_name(err), "message", msg ? msg : imc_strerror(err));
}

static void reply_err(net_req_t *req, int status, int err, const char *msg)
{
  api_reply_json(req, status, err_json(err, msg));
}

int op_fail(op_req_t *o, int status, int err, const char *msg)
{
  o->status = status;
  o->out = err_json(err, msg);
  return 0;
}

/* An app as the operator API shows it, with its own cap of logged-in WebSockets (max_websockets: -1 = null, the
 * server's max_websockets_per_app); NULL when a member could not be made (out of memory). */
static json_t *app_json(const store_app_t *a, int64_t max_websockets)
{
  json_t *admins = json_array();
  int bad = 0;
  for (int i = 0; i < a->n_admins; i++) api_list_add(admins, json_string(a->admins[i]), &bad);
  return api_json_whole(json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "sdkappid", (json_int_t)a->sdkappid,
                                  "key", a->secret_key, "customer_id", (json_int_t)a->customer_id, "name", a->name,
                                  "region", a->region, "scheme", a->scheme, "edition", a->edition, "status", a->status,
                                  "created_at", (json_int_t)a->created_at_s, "admins", admins, "max_websockets",
                                  max_websockets < 0 ? json_null() : json_integer(max_websockets)), bad);
}

/* A list a read fills row by row (the store's callbacks): an entry that cannot be made sets bad (§85). */
typedef struct op_list { json_t *arr; int bad; } op_list_t;

static void on_customer(void *ud, const store_customer_t *c)
{
  op_list_t *l = ud;
  api_list_add(l->arr, json_pack("{s:I,s:s,s:I}", "id", (json_int_t)c->id, "name", c->name, "created_at", (json_int_t)c->created_at_s), &l->bad);
}

/* The apps' list: each app with its own cap (a read of the store's meta table per app). */
typedef struct op_app_list { op_list_t l; store_t *s; int rc; } op_app_list_t;

static void on_app(void *ud, const store_app_t *a)
{
  op_app_list_t *al = ud;
  int64_t own = -1;
  if (al->rc || (al->rc = tenant_app_own_cap(al->s, a->sdkappid, &own))) return;
  api_list_add(al->l.arr, app_json(a, own), &al->l.bad);
}

/* {name: the list}, or NULL when an entry was left out (job_run: 500 NOMEM). */
static json_t *op_list_json(const char *name, op_list_t *l)
{
  return api_json_whole(json_pack("{s:o}", name, l->arr), l->bad);
}

static int customers_list(op_req_t *o, store_t *s)
{
  op_list_t l = { json_array(), 0 };
  int rc = store_customer_list(s, on_customer, &l);
  o->out = op_list_json("customers", &l);
  return rc;
}

static int customers_create(op_req_t *o, store_t *s)
{
  json_t *name = json_object_get(o->body, "name");
  int64_t id;
  if (!json_is_string(name)) return op_fail(o, 400, IMC_E_INVAL, "name (string) is required");
  int rc = tenant_customer_create(s, json_string_value(name), imc_clock_now_s(), &id);
  if (rc == IMC_E_INVAL) return op_fail(o, 400, rc, "name must be 1-127 bytes of UTF-8 text (no control characters)");
  if (rc) return rc;
  o->status = 201;
  o->out = json_pack("{s:I}", "id", (json_int_t)id);
  return 0;
}

static int apps_list(op_req_t *o, store_t *s)
{
  op_app_list_t al = { { json_array(), 0 }, s, 0 };
  int rc = store_app_list(s, 0, on_app, &al);
  o->out = op_list_json("apps", &al.l);
  return rc ? rc : al.rc;
}

static int apps_create(op_req_t *o, store_t *s)
{
  json_t *cust = json_object_get(o->body, "customer_id"), *name = json_object_get(o->body, "name");
  json_t *region = json_object_get(o->body, "region"), *created = json_object_get(o->body, "created_at");
  json_t *scheme = json_object_get(o->body, "scheme");
  if (!json_is_integer(cust)) return op_fail(o, 400, IMC_E_INVAL, "customer_id (integer) is required");
  if (!json_is_string(name)) return op_fail(o, 400, IMC_E_INVAL, "name (string) is required");
  if (!json_is_string(region)) return op_fail(o, 400, IMC_E_INVAL, "region (string) is required");
  if (created && !json_is_string(created)) return op_fail(o, 400, IMC_E_INVAL, "created_at must be a string YYYY-MM-DD");
  if (scheme && !json_is_string(scheme)) return op_fail(o, 400, IMC_E_INVAL, "scheme must be a string");
  tenant_app_params_t p = { .customer_id = json_integer_value(cust), .name = json_string_value(name),
                            .region = json_string_value(region), .scheme = scheme ? json_string_value(scheme) : NULL,
                            .now_s = imc_clock_now_s() };
  int y, m, d;
  if (created) {
    if (imc_date_parse(json_string_value(created), &y, &m, &d)) return op_fail(o, 400, IMC_E_INVAL, "created_at must be YYYY-MM-DD");
    p.created_at_s = imc_day_start(imc_days_from_civil(y, m, d), o->srv->tz_offset_s);
  }
  const char *field, *rule;
  char msg[160];
  int bad = tenant_app_check(&p, &field, &rule); /* the message names the one wrong field */
  if (bad) { snprintf(msg, sizeof msg, "%s %s", field, rule); return op_fail(o, 400, bad, msg); }
  store_app_t a;
  int rc = tenant_app_create(s, &p, &a);
  if (!rc) {
    o->app = a;
    o->created = 1;
    if (tenant_lifecycle(&a, NULL, 0, imc_day_of(p.now_s, o->srv->tz_offset_s), &o->lc)) memset(&o->lc, 0, sizeof o->lc);
    o->tz_rc = meter_app_zone(s, a.sdkappid, o->srv->tz_offset_s, &o->tz);
  }
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such customer");
  if (rc == IMC_E_APP_BACKDATED) return op_fail(o, 409, rc, imc_strerror(rc));
  if (rc) return rc;
  o->status = 201;
  o->out = app_json(&a, -1); /* a new app has no cap of its own */
  return 0;
}

/* The app's logged-in WebSockets now (the loop's count, ws_app_cap.c), added on the loop. */
static void apps_show_applied(op_req_t *o)
{
  int bad = 0; /* a reply without websockets is 500 NOMEM (job_done) */
  api_field_put(o->out, "websockets", json_integer((json_int_t)cws_app_cap_now(o->srv, (uint32_t)o->id)), &bad);
  o->out = api_json_whole(o->out, bad);
}

/* An app's own cap of logged-in WebSockets (ws_app_cap.c): GET shows it, POST {"max_websockets": N or null}
 * sets or unsets it. On the loop, once read or committed: applied (POST) and the cap in force and the count
 * added. */
static void app_ws_cap_applied(op_req_t *o)
{
  uint32_t app = (uint32_t)o->id;
  json_t *own = json_object_get(o->out, "max_websockets");
  int bad = 0;
  if (o->body && cws_app_cap_own_set(o->srv, app, json_is_integer(own) ? json_integer_value(own) : -1)) bad = 1;
  api_field_put(o->out, "cap", json_integer((json_int_t)cws_app_cap_of(o->srv, app)), &bad);
  api_field_put(o->out, "websockets", json_integer((json_int_t)cws_app_cap_now(o->srv, app)), &bad);
  o->out = api_json_whole(o->out, bad); /* NULL: 500 NOMEM (job_done) */
}

static int app_ws_cap(op_req_t *o, store_t *s)
{
  json_t *v = o->body ? json_object_get(o->body, "max_websockets") : NULL;
  if (o->body && !(json_is_null(v) || (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= TENANT_APP_WS_MAX)))
    return op_fail(o, 400, IMC_E_INVAL, "max_websockets (an integer 0-16777216, 0 = no cap for the app, or null = the server's max_websockets_per_app) is required");
  uint32_t app = o->id <= UINT32_MAX ? (uint32_t)o->id : 0;
  int64_t n = -1;
  int rc = app ? 0 : IMC_E_NOTFOUND;
  if (!rc && o->body) rc = tenant_app_set_max_websockets(s, app, json_is_integer(v) ? json_integer_value(v) : -1);
  store_app_t a;
  if (!rc && !o->body) rc = store_app_get(s, app, &a);
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such app");
  if (!rc) rc = tenant_app_max_websockets(s, app, &n);
  if (rc) return rc;
  o->out = json_pack("{s:I,s:o}", "sdkappid", (json_int_t)app, "max_websockets", n < 0 ? json_null() : json_integer(n));
  o->applied = app_ws_cap_applied;
  return 0;
}

static int apps_show(op_req_t *o, store_t *s)
{
  store_app_t a;
  int64_t n = 0, own = -1;
  int rc = o->id > 0 && o->id <= UINT32_MAX ? store_app_get(s, (uint32_t)o->id, &a) : IMC_E_NOTFOUND;
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such app");
  if (!rc) rc = store_account_count(s, a.sdkappid, &n);
  if (!rc) rc = tenant_app_own_cap(s, a.sdkappid, &own);
  if (rc) return rc;
  int bad = 0;
  o->out = app_json(&a, own);
  api_field_put(o->out, "accounts", json_integer(n), &bad);
  o->out = api_json_whole(o->out, bad); /* NULL: job_run answers 500 NOMEM */
  o->applied = apps_show_applied;
  return 0;
}

/* ---- wallets ------------------------------------------------------------------ */
static void on_entry(void *ud, const store_ledger_t *e) { op_list_t *l = ud; api_list_add(l->arr, tenant_ledger_json(e), &l->bad); }

static int wallet_show(op_req_t *o, store_t *s)
{
  store_customer_t c;
  int64_t bal = 0;
  int rc = store_customer_get(s, o->id, &c);
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such customer");
  op_list_t l = { json_array(), 0 };
  if (!rc) rc = store_wallet_balance(s, o->id, &bal);
  if (!rc) rc = store_ledger_each(s, o->id, on_entry, &l);
  if (rc) { json_decref(l.arr); return rc; }
  o->out = api_json_whole(json_pack("{s:I,s:I,s:o}", "customer_id", (json_int_t)o->id, "balance_fen", (json_int_t)bal,
                                    "entries", l.arr), l.bad);
  return 0;
}

static int wallet_topup(op_req_t *o, store_t *s)
{
  json_t *amount = json_object_get(o->body, "amount_fen"), *ref = json_object_get(o->body, "reference");
  json_t *reason = json_object_get(o->body, "reason");
  if (!json_is_integer(amount)) return op_fail(o, 400, IMC_E_INVAL, "amount_fen (integer) is required");
  if (!json_is_string(ref)) return op_fail(o, 400, IMC_E_INVAL, "reference (string) is required");
  if (reason && !json_is_string(reason)) return op_fail(o, 400, IMC_E_INVAL, "reason must be a string");
  const char *field, *rule;
  char msg[160];
  if (tenant_wallet_check(json_integer_value(amount), reason ? json_string_value(reason) : "top-up", json_string_value(ref), &field, &rule)) {
    snprintf(msg, sizeof msg, "%s %s", field, rule); /* names the one wrong field */
    return op_fail(o, 400, IMC_E_INVAL, msg);
  }
  store_ledger_t e;
  int rc = tenant_wallet_post(s, 1, o->id, TENANT_LEDGER_TOPUP, json_integer_value(amount),
                              reason ? json_string_value(reason) : "top-up", json_string_value(ref), imc_clock_now_s(), &e);
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such customer");
  if (rc == IMC_E_EXISTS) return op_fail(o, 409, rc, "that reference was used for a different entry");
  if (rc) return rc;
  /* the credit pays the open bills it covers and ends arrears, in the same transaction (P-14, P-45) */
  meter_arrears_stats_t ar;
  int64_t now = imc_clock_now_s();
  if ((rc = meter_arrears_run(s, o->id, 1, now, o->srv->tz_offset_s, &ar)) ||
      (rc = api_fresh_load(s, &o->fresh, o->id, 0, imc_day_of(now, o->srv->tz_offset_s))))
    return rc;
  int64_t bal = 0;
  if ((rc = store_wallet_balance(s, o->id, &bal))) return rc;
  o->status = e.replayed ? 200 : 201;
  int bad = 0; /* a member left out: the top-up is undone (job_run: 500 NOMEM, §85) */
  o->out = tenant_ledger_json(&e);
  api_field_put(o->out, "replayed", json_boolean(e.replayed), &bad);
  api_field_put(o->out, "bills_paid", json_integer(ar.bills_paid), &bad);
  api_field_put(o->out, "apps_resumed", json_integer(ar.resumed), &bad);
  api_field_put(o->out, "wallet_balance_fen", json_integer(bal), &bad);
  o->out = api_json_whole(o->out, bad);
  return 0;
}

/* ---- usage (docs/metering.md; the same JSON as `imcloud usage --json`) ------- */
static int app_usage(op_req_t *o, store_t *s)
{
  char month[16];
  int y, m;
  if (net_req_query_param(o->req, "month", month, sizeof month) < 0 || imc_month_parse(month, &y, &m))
    return op_fail(o, 400, IMC_E_INVAL, "month=YYYY-MM is required");
  meter_report_t *r = malloc(sizeof *r);
  if (!r) return IMC_E_NOMEM;
  int rc = o->id <= UINT32_MAX ? meter_report(s, (uint32_t)o->id, y * 100 + m, o->srv->tz_offset_s, r) : IMC_E_NOTFOUND;
  if (!rc && !(o->out = meter_report_json(r))) rc = IMC_E_NOMEM;
  free(r);
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such app");
  if (rc == IMC_E_CONFIG) return op_fail(o, 500, rc, "the billing_tz setting of the app's region is invalid");
  return rc;
}

/* An app's relationship settings (rel_settings.c): read on the reader pool,
 * written on the writer, copied into memory once committed. */
static void relset_applied(op_req_t *o) { rel_settings_apply(o->srv, (uint32_t)o->id, o->out); }

static int relset_app(op_req_t *o, store_t *s)
{
  store_app_t a;
  if (o->id > UINT32_MAX || store_app_get(s, (uint32_t)o->id, &a)) return op_fail(o, 404, IMC_E_NOTFOUND, "no such app");
  return 0;
}

static int relset_get(op_req_t *o, store_t *s)
{
  if (relset_app(o, s) || o->status != 200) return 0;
  return rel_settings_read(s, (uint32_t)o->id, &o->out);
}

static int relset_set(op_req_t *o, store_t *s)
{
  char why[200];
  if (relset_app(o, s) || o->status != 200) return 0;
  int rc = rel_settings_write(s, (uint32_t)o->id, o->body, &o->out, why, sizeof why);
  if (rc == IMC_E_INVAL) return op_fail(o, 400, rc, why);
  if (!rc) o->applied = relset_applied;
  return rc;
}

static int app_call_minutes(op_req_t *o, store_t *s)
{
  json_t *kind = json_object_get(o->body, "kind"), *min = json_object_get(o->body, "minutes");
  json_t *id = json_object_get(o->body, "event_id"), *date = json_object_get(o->body, "date");
  if (!json_is_string(kind) || !json_is_integer(min) || !json_is_string(id) || (date && !json_is_string(date)))
    return op_fail(o, 400, IMC_E_INVAL, "kind, event_id (strings) and minutes (integer) are required; date (YYYY-MM-DD) is optional");
  char err[256];
  int32_t day;
  int replayed = 0;
  int rc = o->id <= UINT32_MAX ? meter_record_minutes(s, (uint32_t)o->id, json_string_value(kind), json_integer_value(min),
                                                      json_string_value(id), date ? json_string_value(date) : NULL,
                                                      imc_clock_now_s(), o->srv->tz_offset_s, &day, &replayed, err, sizeof err)
                               : IMC_E_NOTFOUND;
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such app");
  if (rc == IMC_E_INVAL || rc == IMC_E_METER_LATE) return op_fail(o, 400, rc, err);
  if (rc == IMC_E_EXISTS || rc == IMC_E_METER_NO_CALL_PACKAGE) return op_fail(o, 409, rc, err);
  if (rc) return rc;
  char ds[16];
  snprintf(ds, sizeof ds, "%04d-%02d-%02d", day / 10000, day / 100 % 100, day % 100);
  o->status = replayed ? 200 : 201;
  o->out = json_pack("{s:I,s:s,s:s,s:I,s:s,s:b}", "sdkappid", (json_int_t)o->id, "date", ds, "kind", json_string_value(kind),
                     "minutes", (json_int_t)json_integer_value(min), "event_id", json_string_value(id), "replayed", replayed);
  return 0;
}

/* ---- bills (docs/billing.md "Bills"; the objects `imcloud bill --json` prints) */
static int bills_list(op_req_t *o, store_t *s, int64_t customer_id, uint32_t app)
{
  json_t *arr;
  int rc = meter_bills_json(s, customer_id, app, 0, imc_clock_now_s(), &arr);
  if (rc) return rc;
  o->out = json_pack("{s:o}", "bills", arr);
  return 0;
}

static int app_bills(op_req_t *o, store_t *s)
{
  store_app_t a;
  int rc = o->id <= UINT32_MAX ? store_app_get(s, (uint32_t)o->id, &a) : IMC_E_NOTFOUND;
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such app");
  return rc ? rc : bills_list(o, s, a.customer_id, a.sdkappid);
}

static int customer_bills(op_req_t *o, store_t *s)
{
  store_customer_t c;
  int rc = store_customer_get(s, o->id, &c);
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such customer");
  return rc ? rc : bills_list(o, s, o->id, 0);
}

/* An operator's recheck of a billed month (§109): queued for the next day
 * job's correction run, as a usage import queues it; logged once committed. */
static void recheck_applied(op_req_t *o)
{
  int y = 0, m = 0;
  imc_month_parse(json_string_value(json_object_get(o->out, "bill_month")), &y, &m);
  meter_bill_recheck_log((uint32_t)o->id, y * 100 + m, !json_is_true(json_object_get(o->out, "already_queued")), "operator");
}

static int app_bill_recheck(op_req_t *o, store_t *s)
{
  json_t *month = json_object_get(o->body, "month");
  int y, m, added;
  if (!json_is_string(month) || imc_month_parse(json_string_value(month), &y, &m))
    return op_fail(o, 400, IMC_E_INVAL, "month (\"YYYY-MM\", the usage month of the bill) is required");
  if (o->id > UINT32_MAX) return op_fail(o, 404, IMC_E_NOTFOUND, "no such app");
  char err[256], ms[16];
  int rc = meter_bill_recheck_queue(s, 1, (uint32_t)o->id, y * 100 + m, imc_clock_now_s(), o->srv->tz_offset_s, &added, err, sizeof err);
  if (rc == IMC_E_NOTFOUND) return op_fail(o, 404, rc, err); /* no such app, or no bill for the month */
  if (rc == IMC_E_BILL_MONTH) return op_fail(o, 409, rc, err); /* not ended yet */
  if (rc) return rc;
  snprintf(ms, sizeof ms, "%04d-%02d", y, m);
  o->out = json_pack("{s:I,s:s,s:b,s:b}", "sdkappid", (json_int_t)o->id, "bill_month", ms, "queued", 1, "already_queued", !added);
  o->applied = recheck_applied;
  return 0;
}

/* P-17: the customer's added quota of 10,000-member groups (a ticket); the
 * loop adds how many big groups the customer has and applies a change at
 * once (the change log would within a poll interval). */
static void big_groups_applied(op_req_t *o)
{
  int64_t extra = json_integer_value(json_object_get(o->out, "big_groups_extra"));
  if (im_groups_set_big_extra(o->srv->groups, o->id, extra)) return;
  int bad = 0; /* committed and applied: a reply without big_groups is 500 NOMEM (job_done) */
  api_field_put(o->out, "big_groups", json_integer(im_groups_big_count(o->srv->groups, o->id)), &bad);
  o->out = api_json_whole(o->out, bad);
}

static int customer_big_groups(op_req_t *o, store_t *s)
{
  json_t *v = o->body ? json_object_get(o->body, "extra") : NULL;
  int64_t extra;
  int rc;
  if (o->body && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > TENANT_BIG_GROUPS_EXTRA_MAX))
    return op_fail(o, 400, IMC_E_INVAL, "extra (an integer 0..1000000) is required");
  if (o->body && (rc = tenant_customer_set_big_groups_extra(s, o->id, json_integer_value(v))) && rc != IMC_E_NOTFOUND) return rc;
  rc = tenant_customer_big_groups_extra(s, o->id, &extra);
  store_customer_t c;
  if (!rc && (rc = store_customer_get(s, o->id, &c)) == IMC_E_NOTFOUND) return op_fail(o, 404, rc, "no such customer");
  if (rc) return rc;
  o->out = json_pack("{s:I,s:I}", "customer_id", (json_int_t)o->id, "big_groups_extra", (json_int_t)extra);
  o->applied = big_groups_applied;
  return 0;
}

static void clock_get(api_srv_t *srv, net_req_t *req, json_t *body) { (void)body; api_clock_get(srv, req); }
static void jobs_get(api_srv_t *srv, net_req_t *req, json_t *body) { (void)body; api_jobs_get(srv, req); }

/* One row per endpoint. `fields` lists the body fields a POST accepts
 * (space-separated); any other field is refused with 400 INVAL. Every POST
 * row declares it; NULL leaves the body unchecked. */
static const struct op_route {
  const char *method;
  const char *path;     /* "/operator/v1/apps/" + ":id" + suffix when has_id */
  int has_id;
  const char *suffix;   /* after the id ("/wallet"), NULL for none */
  int (*run)(op_req_t *, store_t *);
  const char *fields;   /* POST body fields, space-separated */
  void (*loop)(api_srv_t *, net_req_t *, json_t *body); /* answered on the loop (the test clock, the jobs), run NULL */
} routes[] = { /* GET rows run on the reader pool, POST rows on the writer */
  { "GET", "/operator/v1/customers", 0, NULL, customers_list, NULL, NULL },
  { "POST", "/operator/v1/customers", 0, NULL, customers_create, "name", NULL },
  { "GET", "/operator/v1/customers/", 1, "/wallet", wallet_show, NULL, NULL },
  { "POST", "/operator/v1/customers/", 1, "/wallet/topups", wallet_topup, "amount_fen reference reason", NULL },
  { "GET", "/operator/v1/apps", 0, NULL, apps_list, NULL, NULL },
  { "POST", "/operator/v1/apps", 0, NULL, apps_create, "customer_id name region created_at scheme", NULL },
  { "GET", "/operator/v1/apps/", 1, NULL, apps_show, NULL, NULL },
  { "GET", "/operator/v1/apps/", 1, "/usage", app_usage, NULL, NULL },
  { "GET", "/operator/v1/apps/", 1, "/relationship-settings", relset_get, NULL, NULL },
  { "POST", "/operator/v1/apps/", 1, "/relationship-settings", relset_set, "profile_custom_tags sns_custom_tags c2c_friendship_required", NULL },
  { "GET", "/operator/v1/apps/", 1, "/bills", app_bills, NULL, NULL },
  { "GET", "/operator/v1/apps/", 1, "/max-websockets", app_ws_cap, NULL, NULL },
  { "POST", "/operator/v1/apps/", 1, "/max-websockets", app_ws_cap, "max_websockets", NULL },
  { "POST", "/operator/v1/apps/", 1, "/bills/recheck", app_bill_recheck, "month", NULL },
  { "POST", "/operator/v1/apps/", 1, "/call-minutes", app_call_minutes, "kind minutes event_id date", NULL },
  { "GET", "/operator/v1/customers/", 1, "/bills", customer_bills, NULL, NULL },
  { "GET", "/operator/v1/customers/", 1, "/big-groups", customer_big_groups, NULL, NULL },
  { "POST", "/operator/v1/customers/", 1, "/big-groups", customer_big_groups, "extra", NULL },
  { "GET", "/operator/v1/apps/", 1, "/state", op_app_state, NULL, NULL },
  { "POST", "/operator/v1/apps/", 1, "/upgrade", op_app_upgrade, "edition at reference approved", NULL },
  { "POST", "/operator/v1/apps/", 1, "/renew", op_app_renew, "at reference", NULL },
  { "GET", "/operator/v1/apps/", 1, "/addons", op_addon_list, NULL, NULL },
  { "POST", "/operator/v1/apps/", 1, "/addons", op_addon_buy, "addon value at reference", NULL },
  { "POST", "/operator/v1/apps/", 1, "/suspend", op_app_suspend, "", NULL },
  { "POST", "/operator/v1/apps/", 1, "/resume", op_app_resume, "", NULL },
  { "POST", "/operator/v1/apps/", 1, "/auto-renew", op_app_auto_renew, "on", NULL },
  { "GET", "/operator/v1/clock", 0, NULL, NULL, NULL, clock_get },
  { "POST", "/operator/v1/clock", 0, NULL, NULL, "now advance_s", api_clock_post },
  { "GET", "/operator/v1/jobs", 0, NULL, NULL, NULL, jobs_get },
};

/* 1 if name is one of the space-separated words of list. */
static int field_listed(const char *list, const char *name)
{
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ' ');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && !strncmp(p, name, n)) return 1;
    p += len + (end ? 1 : 0);
  }
  return 0;
}

/* 1 if the path of route r matches; *id gets the path id of has_id rows. */
static int route_matches(const struct op_route *r, const char *path, int64_t *id)
{
  size_t n = strlen(r->path);
  if (!r->has_id) return !strcmp(path, r->path);
  /* prefix, decimal id, suffix */
  if (strncmp(path, r->path, n)) return 0;
  const char *idp = path + n, *end = idp;
  while (*end >= '0' && *end <= '9') end++;
  const char *suffix = r->suffix ? r->suffix : "";
  char digits[24];
  if (end == idp || (size_t)(end - idp) >= sizeof digits || strcmp(end, suffix)) return 0;
  memcpy(digits, idp, (size_t)(end - idp));
  digits[end - idp] = 0;
  return imc_parse_i64(digits, 1, INT64_MAX, id) == 0;
}

static int job_run(store_t *s, void *arg)
{
  op_req_t *o = arg;
  o->status = 200;
  int rc = o->run(o, s);
  /* a reply that could not be made whole (out of memory): 500 NOMEM, and a write is undone (its savepoint) — never
   * a 200 without the fields docs/operator-api.md promises (§85) */
  return !rc && !o->out ? IMC_E_NOMEM : rc;
}

static void job_done(void *arg, int rc)
{
  op_req_t *o = arg;
  o->srv->jobs_in_flight--;
  if (rc) { json_decref(o->out); free(o->fresh.v); reply_err(o->req, 500, rc, NULL); }
  else {
    /* the change log would bring it within change_poll_ms; the reply promises it now */
    if (o->applied && o->status == 200) o->applied(o);
    if (o->created && tenant_registry_app_upsert(o->srv->reg, &o->app, &o->lc))
      IMC_WARN("operator", "msg=\"new app not in the registry until the change log brings it\" app=%u", o->app.sdkappid);
    if (o->created) api_app_zone(o->srv, o->app.sdkappid, o->tz, o->tz_rc); /* before its first event */
    api_fresh_apply(o->srv, &o->fresh); /* apps an order, a status change or a top-up changed */
    if (o->out) api_reply_json(o->req, o->status, o->out);
    else reply_err(o->req, 500, IMC_E_NOMEM, "out of memory: the change is done, its reply could not be made"); /* applied's */
  }
  json_decref(o->body);
  free(o);
}

void op_handle(api_srv_t *srv, net_req_t *req)
{
  const char *auth = net_req_header(req, "authorization");
  const char *path = net_req_path(req), *method = net_req_method(req);
  if (!auth || strncasecmp(auth, "Bearer ", 7) || auth_optoken_check(auth + 7, srv->op_token_hash)) { /* the scheme is case-insensitive (RFC 9110 §11.1) */
    reply_err(req, 401, IMC_E_OP_AUTH, "send Authorization: Bearer <operator token> (imcloud operator token)");
    return;
  }
  const struct op_route *r = NULL;
  int64_t id = 0;
  char allow[64] = "";
  /* HEAD is GET without the body (RFC 9110 §9.3.2): the GET route runs, the
   * net layer sends its status and headers only; it was answered 405 */
  const char *as = !strcmp(method, "HEAD") ? "GET" : method;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0] && !r; i++) {
    if (!route_matches(&routes[i], path, &id)) continue;
    if (!strcmp(as, routes[i].method)) r = &routes[i];
    else if (!strstr(allow, routes[i].method)) {
      size_t n = strlen(allow);
      snprintf(allow + n, sizeof allow - n, "%s%s%s", n ? ", " : "", routes[i].method,
               !strcmp(routes[i].method, "GET") ? ", HEAD" : "");
    }
  }
  if (!r && allow[0]) {
    char hdr[96], msg[128];
    snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
    snprintf(msg, sizeof msg, "%s is not allowed here; use %s", method, allow);
    json_t *e = err_json(IMC_E_METHOD, msg);
    char *text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    net_req_reply(req, 405, "application/json; charset=utf-8", text ? text : "", text ? strlen(text) : 0, hdr);
    free(text);
    return;
  }
  if (!r) { reply_err(req, 404, IMC_E_NOTFOUND, "no such endpoint (docs/operator-api.md lists them)"); return; }
  op_req_t *o = calloc(1, sizeof *o);
  if (!o) { reply_err(req, 500, IMC_E_NOMEM, NULL); return; }
  o->srv = srv;
  o->req = req;
  o->id = id;
  o->run = r->run;
  if (!strcmp(r->method, "POST")) {
    size_t len;
    json_error_t jerr;
    char msg[256];
    const char *body = net_req_body(req, &len), *key;
    json_t *v;
    o->body = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o->body) snprintf(msg, sizeof msg, "JSON parse error at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    else if (!json_is_object(o->body)) snprintf(msg, sizeof msg, "JSON parse error: the body must be a JSON object");
    if (!json_is_object(o->body)) { json_decref(o->body); free(o); reply_err(req, 400, IMC_E_JSON_PARSE, msg); return; }
    if (r->fields) json_object_foreach(o->body, key, v) {
      if (field_listed(r->fields, key)) continue;
      snprintf(msg, sizeof msg, "unknown field \"%.64s\" (this endpoint takes: %s)", key, r->fields);
      json_decref(o->body);
      free(o);
      reply_err(req, 400, IMC_E_INVAL, msg);
      return;
    }
  }
  if (r->loop) {
    r->loop(srv, req, o->body);
    json_decref(o->body);
    free(o);
    return;
  }
  o->job.run = job_run;
  o->job.done = job_done;
  o->job.arg = o;
  o->get = !strcmp(r->method, "GET");
  if (op_read_wait_park(srv, o)) return; /* a GET at a full reader queue waits for room (§125) */
  op_submit(o);
}

void op_submit(op_req_t *o)
{
  api_srv_t *srv = o->srv;
  int rc = o->get ? store_reader_submit(srv->reader, &o->job) : store_writer_submit(srv->writer, &o->job);
  if (rc) { op_refuse(o, 503, rc, NULL); return; } /* queue full */
  srv->jobs_in_flight++;
}

void op_refuse(op_req_t *o, int status, int err, const char *msg)
{
  json_decref(o->body);
  reply_err(o->req, status, err, msg);
  free(o);
}

int op_token_init(api_srv_t *srv)
{
  char hash[80];
  int rc = store_meta_get(srv->store, "operator_token_sha256", hash, sizeof hash);
  if (rc == 0) { memcpy(srv->op_token_hash, hash, sizeof srv->op_token_hash - 1); srv->op_token_hash[sizeof srv->op_token_hash - 1] = 0; return 0; }
  if (rc != IMC_E_NOTFOUND) return rc;
  char token[80];
  if ((rc = auth_optoken_new(token, sizeof token, hash, sizeof hash))) return rc;
  if ((rc = store_meta_set(srv->store, "operator_token_sha256", hash))) return rc;
  memcpy(srv->op_token_hash, hash, sizeof srv->op_token_hash - 1); srv->op_token_hash[sizeof srv->op_token_hash - 1] = 0;
  /* Shown once (only the hash is kept), on stdout whatever log_level is: at
   * --log-level off the log line was the only place and said nothing, and a
   * secret does not belong in a log that is shipped and kept. */
  printf("new operator API token: %s (shown once, only its hash is kept; imcloud operator token --data DIR makes another)\n", token);
  fflush(stdout);
  IMC_WARN("operator", "msg=\"new operator API token printed on stdout (shown once)\"");
  return 0;
}
