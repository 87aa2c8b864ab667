/* cli_life.c — editions bought and lost: `imcloud app upgrade|renew|suspend|
 * resume|auto-renew|state` and `imcloud addon buy|list` (docs/editions.md
 * "Purchases and the life cycle"). The rules live in src/tenant/orders.c;
 * this file parses, runs the app's life-cycle jobs for today after acting
 * (so a renewal resumes a lapsed app at once) and prints. */
#include "billing/billing.h"
#include "cli/cli.h"
#include "meter/meter.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/num.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options of this file's forms: --data and --json on every form, the
 * others where a row names them (a form's --help lists exactly its options;
 * any other is refused as unknown). */
enum { O_SDKAPPID = 1, O_EDITION = 2, O_AT = 4, O_REFERENCE = 8, O_APPROVED = 16 };

static const struct form {
  const char *cmd, *verb;
  unsigned opts;
  const char *usage; /* after "imcloud CMD " */
} forms[] = {
  { "app", "upgrade", O_SDKAPPID | O_EDITION | O_AT | O_REFERENCE | O_APPROVED,
    "upgrade --sdkappid N --edition E [--at YYYY-MM-DD] [--reference REF] [--approved]" },
  { "app", "renew", O_SDKAPPID | O_AT | O_REFERENCE, "renew --sdkappid N [--at YYYY-MM-DD] [--reference REF]" },
  { "app", "suspend", O_SDKAPPID, "suspend --sdkappid N" },
  { "app", "resume", O_SDKAPPID, "resume --sdkappid N" },
  { "app", "auto-renew", O_SDKAPPID, "auto-renew --sdkappid N on|off" },
  { "app", "state", O_SDKAPPID | O_AT, "state --sdkappid N [--at YYYY-MM-DD]" },
  { "app", "push-approve", O_SDKAPPID, "push-approve --sdkappid N [on|off]   (intl Pro all-member push; on 48 h after approval)" },
  { "addon", "buy", O_SDKAPPID | O_AT | O_REFERENCE, "buy --sdkappid N ADDON[=VALUE] [--at YYYY-MM-DD] [--reference REF]" },
  { "addon", "list", O_SDKAPPID | O_AT, "list --sdkappid N [--at YYYY-MM-DD]" },
};
#define NFORMS (sizeof forms / sizeof *forms)

static const char app_notes[] =
  "  (every form takes --data DIR and --json)\n"
  "  upgrade buys the edition's package from the day (--at: an order made on an earlier day of a month not billed yet, not before\n"
  "  the app was created, priced by the book in force that day); it runs to the day before the same day next month. --approved turns a legacy\n"
  "  app into trial (P-07). Orders are paid from the customer's wallet; a short balance changes nothing.";

static const char addon_notes[] =
  "  (every form takes --data DIR and --json)\n"
  "  add-ons: avchatroom_unlimited, member_cap=N, groups_per_user=N, local_audit, av_call=basic|advanced|premium,\n"
  "  retention (postpaid, until changed; 0 ends it): c2c_roaming_months=N (s2019, s2020), history_days=N (s2022 pro, ultimate)";

static const struct form *form_find(const char *cmd, const char *verb)
{
  for (size_t i = 0; verb && i < NFORMS; i++)
    if (!strcmp(forms[i].cmd, cmd) && !strcmp(forms[i].verb, verb)) return &forms[i];
  return NULL;
}

/* --at: a day no later than today; default today (billing time zone, M-1). */
static int day_of(const char *verb, const char *at, int64_t now_s, int64_t *day)
{
  int64_t today = imc_day_of(now_s, cli_billing_tz());
  int y, m, d;
  if (!at) { *day = today; return 0; }
  if (imc_date_parse(at, &y, &m, &d)) { cli_err(verb, "--at must be a date YYYY-MM-DD"); return CLI_EXIT_FAIL; }
  *day = imc_days_from_civil(y, m, d);
  if (*day > today) { cli_err(verb, "--at is in the future"); return CLI_EXIT_FAIL; }
  return 0;
}

/* last_day: the last day the order runs (its end_day, or for a listed
 * retention add-on the day before the next order of it: tenant_order_last_day). */
static void print_order(const store_order_t *o, int replayed, int64_t last_day)
{
  char a[16], b[16], price[32];
  imc_date_format(o->start_day, a, sizeof a);
  imc_date_format(last_day, b, sizeof b);
  bill_fen_format(o->price_fen, price, sizeof price);
  printf("order %lld%s: %s %s", (long long)o->id, replayed ? " (already recorded)" : "", o->kind, o->item);
  if (o->value) printf("=%lld", (long long)o->value);
  else if (o->value_name[0]) printf("=%s", o->value_name);
  printf(" %s..%s, %s 元 %s", a, b, price, o->pay);
  if (o->ledger_id) printf(" (ledger entry %lld)", (long long)o->ledger_id);
  printf(", book %s\n", o->book);
}

/* After an order or a status change: today's jobs (auto-renew, suspension,
 * resumption), then the result. */
static int finish(const char *verb, store_t *s, uint32_t sdkappid, int64_t now_s, json_t *order, int replayed, int json)
{
  tenant_run_t ran;
  char err[256] = "";
  int64_t today = imc_day_of(now_s, cli_billing_tz());
  int rc = tenant_app_lifecycle_run(s, sdkappid, today, now_s, &ran, err, sizeof err);
  /* a renewal resumes a lapsed app, but not past an overdue bill of its customer (P-14, P-45) */
  store_app_t a;
  meter_arrears_stats_t ar;
  if (!rc && !(rc = store_app_get(s, sdkappid, &a))) rc = meter_arrears_run(s, a.customer_id, 0, now_s, cli_billing_tz(), &ar);
  json_t *st = rc ? NULL : tenant_app_state_json(s, sdkappid, today, now_s);
  store_close(s);
  if (rc || !st) {
    json_decref(order);
    cli_err(verb, "life-cycle run: %s", err[0] ? err : imc_strerror(rc));
    return CLI_EXIT_FAIL;
  }
  if (json) {
    json_t *o = json_pack("{s:o}", "state", st);
    if (order) { json_object_set_new(o, "order", order); json_object_set_new(o, "replayed", json_boolean(replayed)); }
    cli_print_json(o);
    return 0;
  }
  json_decref(order);
  printf("app %u: %s, edition %s (limits of %s), status %s%s%s\n", sdkappid,
         json_string_value(json_object_get(st, "state")), json_string_value(json_object_get(st, "edition")),
         json_string_value(json_object_get(st, "limits_of")), json_string_value(json_object_get(st, "status")),
         json_is_string(json_object_get(st, "package_until")) ? ", package until " : "",
         json_is_string(json_object_get(st, "package_until")) ? json_string_value(json_object_get(st, "package_until")) : "");
  json_decref(st);
  return 0;
}

static int order_failed(const char *verb, store_t *s, int rc, const char *err)
{
  store_close(s);
  cli_err(verb, "%s", err[0] ? err : imc_strerror(rc));
  return CLI_EXIT_FAIL;
}

typedef struct opts {
  const char *data, *edition, *at, *reference;
  int64_t sdkappid;
  int json, approved, npos;
  char *pos[3];
} opts_t;

/* Parse argv against the options of the form it names (cli_parse_forms):
 * 0, 1 after --help, or minus the exit status. */
static int parse(int argc, char **argv, opts_t *o, const char *cmd)
{
  memset(o, 0, sizeof *o);
  o->data = "./var";
  const struct { unsigned bit; cli_opt_t opt; } all[] = { /* bit 0: every form */
    { O_SDKAPPID, { "--sdkappid", CLI_I64, &o->sdkappid, 1, UINT32_MAX, "N  the app" } },
    { O_EDITION, { "--edition", CLI_STR, &o->edition, 0, 0, "E  edition to buy (upgrade)" } },
    { O_AT, { "--at", CLI_STR, &o->at, 0, 0, "YYYY-MM-DD  the order's day (default today)" } },
    { O_REFERENCE, { "--reference", CLI_STR, &o->reference, 0, 0, "REF  idempotency reference, 1-40 bytes (default: derived from the command and day)" } },
    { O_APPROVED, { "--approved", CLI_FLAG, &o->approved, 0, 0, "the operator approved a legacy app's move to trial (P-07)" } },
    { 0, { "--data", CLI_STR, &o->data, 0, 0, "DIR  data directory (default ./var)" } },
    { 0, { "--json", CLI_FLAG, &o->json, 0, 0, "print one JSON object" } },
  };
  /* cmd's forms, and each option with the forms that take it (one no form of cmd takes is left out) */
  cli_form_t fl[NFORMS];
  unsigned fopts[NFORMS];
  int nf = 0, n = 0;
  for (size_t i = 0; i < NFORMS; i++) {
    if (strcmp(forms[i].cmd, cmd)) continue;
    fl[nf] = (cli_form_t){ forms[i].verb, forms[i].usage };
    fopts[nf++] = forms[i].opts;
  }
  cli_form_opt_t opts[sizeof all / sizeof *all];
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
    unsigned mask = 0;
    for (int f = 0; f < nf; f++) if (fopts[f] & all[i].bit) mask |= CLI_FORM(f);
    if (all[i].bit && !mask) continue;
    opts[n++] = (cli_form_opt_t){ mask, all[i].opt };
  }
  int form;
  int rc = cli_parse_forms(argc, argv, cmd, fl, nf, opts, n, strcmp(cmd, "app") ? addon_notes : app_notes, o->pos, 3,
                           &o->npos, &form);
  if (rc) return rc > 0 ? 1 : -cli_parse_exit(rc); /* a bad value 1, a malformed line 2 */
  return 0;
}

int cli_app_life(int argc, char **argv)
{
  opts_t o;
  int rc = parse(argc, argv, &o, "app");
  if (rc) return rc > 0 ? 0 : -rc;
  const char *sub = o.npos ? o.pos[0] : "";
  int want_pos = !strcmp(sub, "auto-renew") ? 2 : 1;
  if (!strcmp(sub, "push-approve") && o.npos == 1) { o.pos[1] = "on"; o.npos = 2; } /* default: approve now */
  if (!strcmp(sub, "push-approve")) want_pos = 2;
  if (o.npos != want_pos) { cli_err("app", "%s: unexpected arguments (see imcloud app %s --help)", sub, sub); return CLI_EXIT_USAGE; }
  if (!o.sdkappid) { cli_err("app", "%s needs --sdkappid", sub); return CLI_EXIT_USAGE; }
  if (!strcmp(sub, "upgrade") && !o.edition) { cli_err("app", "upgrade needs --edition"); return CLI_EXIT_USAGE; }
  if (want_pos == 2 && strcmp(o.pos[1], "on") && strcmp(o.pos[1], "off")) { cli_err("app", "%s takes on or off", sub); return CLI_EXIT_FAIL; }
  int64_t now_s, day;
  uint32_t id = (uint32_t)o.sdkappid;
  store_t *s;
  if ((rc = cli_store_open("app", o.data, &s))) return rc;
  now_s = imc_clock_now_s(); /* after the open: its server's test clock, when the directory is on one */
  if ((rc = day_of("app", o.at, now_s, &day))) { store_close(s); return rc; } /* in the stored zone */
  char err[256] = "";
  store_order_t ord;
  int replayed = 0;
  if (!strcmp(sub, "upgrade") || !strcmp(sub, "renew")) {
    store_app_t a;
    if ((rc = store_app_get(s, id, &a))) return order_failed("app", s, rc, rc == IMC_E_NOTFOUND ? "no such app" : "");
    if ((rc = tenant_order_day_check(&a, day, cli_billing_tz(), err, sizeof err))) return order_failed("app", s, rc, err);
    if (!strcmp(sub, "upgrade") && !strcmp(a.scheme, "legacy")) {
      if (strcmp(o.edition, "trial"))
        return order_failed("app", s, IMC_E_PLAN_EDITION_CHANGE, "a legacy app becomes trial first (--edition trial --approved), then upgrades (P-07)");
      if ((rc = tenant_app_legacy_to_trial(s, id, o.approved, now_s, err, sizeof err))) return order_failed("app", s, rc, err);
      return finish("app", s, id, now_s, NULL, 0, o.json);
    }
    rc = !strcmp(sub, "upgrade") ? tenant_app_upgrade(s, id, o.edition, day, o.reference, now_s, &ord, &replayed, err, sizeof err)
                                 : tenant_app_renew(s, id, day, o.reference, now_s, &ord, &replayed, err, sizeof err);
    if (rc) return order_failed("app", s, rc, err);
    if (!o.json) print_order(&ord, replayed, ord.end_day);
    return finish("app", s, id, now_s, o.json ? tenant_order_json(&ord) : NULL, replayed, o.json);
  }
  if (!strcmp(sub, "suspend")) {
    store_app_t a;
    if ((rc = store_app_get(s, id, &a)) || (rc = tenant_app_suspend(s, id)))
      return order_failed("app", s, rc, rc == IMC_E_NOTFOUND ? "no such app" : "");
    return finish("app", s, id, now_s, NULL, 0, o.json);
  }
  if (!strcmp(sub, "resume")) {
    store_app_t a;
    meter_arrears_stats_t ar; /* the arrears as they are now: paid bills end them (P-45) before the check below */
    if ((rc = store_app_get(s, id, &a)) || (rc = meter_arrears_run(s, a.customer_id, 0, now_s, cli_billing_tz(), &ar)) ||
        (rc = tenant_app_resume(s, id, imc_day_of(now_s, cli_billing_tz()), err, sizeof err)))
      return order_failed("app", s, rc, err[0] ? err : rc == IMC_E_NOTFOUND ? "no such app" : "");
    return finish("app", s, id, now_s, NULL, 0, o.json);
  }
  if (!strcmp(sub, "auto-renew")) {
    if ((rc = tenant_app_set_auto_renew(s, id, !strcmp(o.pos[1], "on"))))
      return order_failed("app", s, rc, rc == IMC_E_NOTFOUND ? "no such app" : "");
    return finish("app", s, id, now_s, NULL, 0, o.json);
  }
  if (!strcmp(sub, "push-approve")) {
    if ((rc = tenant_app_set_push_approved(s, id, !strcmp(o.pos[1], "on") ? now_s : 0, err, sizeof err)))
      return order_failed("app", s, rc, err);
    return finish("app", s, id, now_s, NULL, 0, o.json);
  }
  /* state: read only (no jobs run), on --at or today */
  json_t *st = tenant_app_state_json(s, id, day, now_s);
  store_close(s);
  if (!st) { cli_err("app", "no such app"); return CLI_EXIT_FAIL; }
  if (o.json) { cli_print_json(st); return 0; }
  const char *k;
  json_t *v;
  json_object_foreach(st, k, v) {
    char *t = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    printf("%-14s %s\n", k, t);
    free(t);
  }
  json_decref(st);
  return 0;
}

int cli_app_life_verb(const char *sub)
{
  return form_find("app", sub) != NULL;
}

int cli_addon(int argc, char **argv)
{
  opts_t o;
  int rc = parse(argc, argv, &o, "addon");
  if (rc) return rc > 0 ? 0 : -rc;
  if (o.npos < 1 || (strcmp(o.pos[0], "buy") && strcmp(o.pos[0], "list"))) { cli_err("addon", "expected 'buy' or 'list'"); return CLI_EXIT_USAGE; }
  int buy = !strcmp(o.pos[0], "buy");
  if (o.npos != (buy ? 2 : 1)) { cli_err("addon", buy ? "buy takes one ADDON[=VALUE]" : "list takes no argument"); return CLI_EXIT_USAGE; }
  if (!o.sdkappid) { cli_err("addon", "--sdkappid is required"); return CLI_EXIT_USAGE; }
  int64_t now_s, day = 0;
  uint32_t id = (uint32_t)o.sdkappid;
  char name[32] = "", vname[16] = "";
  int64_t value = 0;
  if (buy) {
    const char *arg = o.pos[1], *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n == 0 || n >= sizeof name) { cli_err("addon", "unknown add-on '%s'", arg); return CLI_EXIT_FAIL; }
    memcpy(name, arg, n);
    if (!eq && tenant_retention_addon(name, NULL)) { cli_err("addon", "%s takes a value: %s=N (0 ends it)", name, name); return CLI_EXIT_USAGE; }
    if (eq) {
      if (eq[1] >= '0' && eq[1] <= '9') {
        /* 0 only ends a retention add-on (back to the free retention) */
        if (imc_parse_i64(eq + 1, tenant_retention_addon(name, NULL) ? 0 : 1, BILL_USAGE_MAX, &value)) { cli_err("addon", "bad number in '%s'", arg); return CLI_EXIT_FAIL; }
      } else if (!eq[1] || strlen(eq + 1) >= sizeof vname) {
        cli_err("addon", "bad value in '%s'", arg);
        return CLI_EXIT_FAIL;
      } else {
        snprintf(vname, sizeof vname, "%s", eq + 1);
      }
    }
  }
  store_t *s;
  if ((rc = cli_store_open("addon", o.data, &s))) return rc;
  now_s = imc_clock_now_s(); /* as app_life's */
  if ((rc = day_of("addon", o.at, now_s, &day))) { store_close(s); return rc; } /* in the stored zone */
  if (buy) {
    char err[256] = "";
    store_order_t ord;
    store_app_t a;
    int replayed = 0;
    if ((rc = store_app_get(s, id, &a))) return order_failed("addon", s, rc, rc == IMC_E_NOTFOUND ? "no such app" : "");
    if ((rc = tenant_order_day_check(&a, day, cli_billing_tz(), err, sizeof err))) return order_failed("addon", s, rc, err);
    rc = tenant_addon_buy(s, id, name, value, vname[0] ? vname : NULL, day, o.reference, now_s, &ord, &replayed, err, sizeof err);
    if (rc) return order_failed("addon", s, rc, err);
    if (!o.json) print_order(&ord, replayed, ord.end_day);
    return finish("addon", s, id, now_s, o.json ? tenant_order_json(&ord) : NULL, replayed, o.json);
  }
  store_order_t *v;
  int n;
  store_app_t a;
  if ((rc = store_app_get(s, id, &a)) || (rc = tenant_app_orders(s, id, &v, &n))) {
    store_close(s);
    cli_err("addon", "%s", rc == IMC_E_NOTFOUND ? "no such app" : imc_strerror(rc));
    return CLI_EXIT_FAIL;
  }
  store_close(s);
  json_t *arr = o.json ? tenant_addons_json(v, n, day) : NULL;
  for (int i = 0; !o.json && i < n; i++) {
    if (strcmp(v[i].kind, "addon")) continue;
    printf("%s ", tenant_order_in_force(v, n, i, day) ? "*" : " ");
    print_order(&v[i], 0, tenant_order_last_day(v, n, i));
  }
  free(v);
  if (o.json && !arr) {
    cli_err("addon", "%s", imc_strerror(IMC_E_NOMEM));
    return CLI_EXIT_FAIL;
  }
  if (o.json) {
    char d[16];
    imc_date_format(day, d, sizeof d);
    cli_print_json(json_pack("{s:I,s:s,s:o}", "sdkappid", (json_int_t)id, "date", d, "addons", arr));
  } else {
    json_decref(arr);
  }
  return 0;
}
