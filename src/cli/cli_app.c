/* cli_app.c — `imcloud app create|list|show|max-websockets`. `create` says which price book
 * (scheme) the app falls under and which rule put it there (P-01, P-40,
 * P-50, or an explicit --scheme), so a scheme never changes silently. */
#include "cli/cli.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/num.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Each form takes exactly the options its usage names (cli_parse_forms);
 * the life-cycle forms are cli_life.c's. */
enum { F_CREATE, F_LIST, F_SHOW, F_WS };
static const cli_form_t forms[] = {
  [F_CREATE] = { "create", "create --customer ID --name NAME --region REGION [--created-at YYYY-MM-DD] [--scheme S] [--json]" },
  [F_LIST] = { "list", "list [--customer ID] [--json]" },
  [F_SHOW] = { "show", "show SDKAPPID [--json]" },
  [F_WS] = { "max-websockets", "max-websockets SDKAPPID [N|default] [--json]   (the app's own cap of logged-in WebSockets; 0 = none; default = the server's max_websockets_per_app)" },
};
static const char notes[] =
  "  life cycle: imcloud app upgrade|renew|suspend|resume|auto-renew|state|push-approve --sdkappid N ... (imcloud app upgrade --help)\n"
  "  (every form takes --data DIR, default ./var; the customer must exist: imcloud customer create)";

#define REGIONS "china, singapore, india, korea, germany, usa, japan, indonesia"
#define SCHEMES "legacy, s2019, s2020, s2022, intl"

static json_t *app_json(const store_app_t *a, int64_t accounts)
{
  json_t *admins = json_array();
  for (int i = 0; i < a->n_admins; i++) json_array_append_new(admins, json_string(a->admins[i]));
  int y, m, d;
  char created[32];
  imc_civil_from_days(imc_day_of(a->created_at_s, cli_billing_tz()), &y, &m, &d);
  snprintf(created, sizeof created, "%04d-%02d-%02d", y, m, d);
  json_t *o = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:o}", "sdkappid", (json_int_t)a->sdkappid, "key",
                        a->secret_key, "customer_id", (json_int_t)a->customer_id, "name", a->name, "region", a->region,
                        "scheme", a->scheme, "edition", a->edition, "status", a->status, "created_at",
                        (json_int_t)a->created_at_s, "created_date", created, "admins", admins);
  if (accounts >= 0) json_object_set_new(o, "accounts", json_integer(accounts));
  return o;
}


static void on_app(void *ud, const store_app_t *a) { json_array_append_new(ud, app_json(a, -1)); }

/* Why an app got its scheme, as one sentence: the rule bill_scheme_resolve
 * applied (or the explicit --scheme). first_s: the customer's first app. */
static void scheme_reason(const store_app_t *a, int explicit_scheme, int64_t first_s, char *out, size_t cap)
{
  int y, m, d;
  imc_civil_from_days(imc_day_of(first_s, IMC_TZ_CHINA_S), &y, &m, &d);
  if (explicit_scheme)
    snprintf(out, cap, "%s: given with --scheme (an operator's grandfathered assignment, not resolved by date and region)", a->scheme);
  else if (!strcmp(a->scheme, "legacy"))
    snprintf(out, cap, "legacy: this customer's first app was created on %04d-%02d-%02d, before 2019-12-27 (P-01)", y, m, d);
  else if (!strcmp(a->scheme, "intl"))
    snprintf(out, cap, "intl: %s is an overseas data center and this customer's first app was created on %04d-%02d-%02d, not before 2019-12-27 (P-50)",
             a->region, y, m, d);
  else
    snprintf(out, cap, "%s: %s is the China data center and this customer's first app was created on %04d-%02d-%02d, not before 2019-12-27 (P-40)",
             a->scheme, a->region, y, m, d);
}

/* The message of a value tenant_app_check refused (field, rule): names the option. */
static int refused(const char *field, const char *rule, const char *name, const char *region, const char *scheme,
                   const char *created)
{
  static const struct { const char *field, *opt; } opt_of[] = {
    { "name", "--name" }, { "region", "--region" }, { "scheme", "--scheme" }, { "created_at", "--created-at" },
  };
  const char *opt = field, *val = "";
  for (size_t i = 0; i < sizeof opt_of / sizeof *opt_of; i++) if (!strcmp(field, opt_of[i].field)) opt = opt_of[i].opt;
  val = !strcmp(field, "name") ? name : !strcmp(field, "region") ? region : !strcmp(field, "scheme") ? scheme : created;
  cli_err("app", "%s: \"%s\" %s", opt, val ? val : "", rule);
  return CLI_EXIT_FAIL;
}

static int app_create(const char *data, int64_t customer, const char *name, const char *region, const char *created,
                      const char *scheme, int json)
{
  tenant_app_params_t p = { .customer_id = customer, .name = name, .region = region, .scheme = scheme, .now_s = imc_clock_now_s() };
  int y, m, d, rc;
  const char *field, *rule;
  /* every value is checked before the database is touched; the message names the one wrong field */
  if (created) {
    if (imc_date_parse(created, &y, &m, &d)) { cli_err("app", "--created-at: \"%s\" is not a date YYYY-MM-DD", created); return CLI_EXIT_FAIL; }
    p.created_at_s = imc_day_start(imc_days_from_civil(y, m, d), IMC_TZ_CHINA_S); /* the billing zone's day below */
  }
  if (tenant_app_check(&p, &field, &rule)) return refused(field, rule, name, region, scheme, created);
  store_t *s;
  store_app_t a;
  int64_t first = 0;
  if ((rc = cli_store_open("app", data, &s))) return rc;
  p.now_s = imc_clock_now_s(); /* its server's test clock, when the directory is on one (cli_store_open) */
  if (created) { /* the day in the server's billing zone, as every other date of the CLI (it was UTC+8's) */
    p.created_at_s = imc_day_start(imc_days_from_civil(y, m, d), cli_billing_tz());
    if (tenant_app_check(&p, &field, &rule)) { store_close(s); return refused(field, rule, name, region, scheme, created); } /* in the future here */
  }
  rc = tenant_app_create(s, &p, &a);
  if (!rc) rc = store_customer_first_app_created(s, customer, &first);
  store_close(s);
  if (rc) {
    if (rc == IMC_E_NOTFOUND) cli_err("app", "--customer: no customer %lld (imcloud customer list)", (long long)customer);
    else if (rc == IMC_E_APP_BACKDATED) cli_err("app", "--created-at: %s", imc_strerror(rc));
    else cli_err("app", "%s", imc_strerror(rc));
    return CLI_EXIT_FAIL;
  }
  char why[256], when[64];
  scheme_reason(&a, scheme != NULL, first, why, sizeof why);
  if (json) {
    json_t *o = app_json(&a, -1);
    json_object_set_new(o, "scheme_reason", json_string(why));
    cli_print_json(o);
    return 0;
  }
  printf("created app %u \"%s\" for customer %lld in %s at %s\n"
         "SDKAppID  %u\nkey       %s\nscheme    %s\nedition   %s (the scheme's free edition, L-1)\n",
         a.sdkappid, a.name, (long long)a.customer_id, a.region, cli_fmt_time(a.created_at_s, when, sizeof when),
         a.sdkappid, a.secret_key, why, a.edition);
  return 0;
}

/* MAX_WS: the app's own cap of logged-in WebSockets, or "default" (the server's max_websockets_per_app); 0 = none. */
static void print_list(json_t *arr)
{
  size_t i;
  json_t *v;
  printf("%-11s %-8s %-10s %-7s %-10s %-9s %-8s %s\n", "SDKAPPID", "CUSTOMER", "REGION", "SCHEME", "EDITION", "STATUS",
         "MAX_WS", "NAME");
  json_array_foreach(arr, i, v) {
    char cap[24] = "default";
    json_t *own = json_object_get(v, "max_websockets");
    if (json_is_integer(own)) snprintf(cap, sizeof cap, "%lld", (long long)json_integer_value(own));
    printf("%-11lld %-8lld %-10s %-7s %-10s %-9s %-8s %s\n", (long long)json_integer_value(json_object_get(v, "sdkappid")),
           (long long)json_integer_value(json_object_get(v, "customer_id")), json_string_value(json_object_get(v, "region")),
           json_string_value(json_object_get(v, "scheme")), json_string_value(json_object_get(v, "edition")),
           json_string_value(json_object_get(v, "status")), cap, json_string_value(json_object_get(v, "name")));
  }
}

/* own: the app's own cap of logged-in WebSockets (-1: none, the server's max_websockets_per_app). */
static void print_show(const store_app_t *a, int64_t accounts, int64_t own)
{
  char when[64], cap[64];
  if (own < 0) snprintf(cap, sizeof cap, "default (the server's max_websockets_per_app)");
  else if (own == 0) snprintf(cap, sizeof cap, "0 (no cap)");
  else snprintf(cap, sizeof cap, "%lld", (long long)own);
  printf("SDKAppID   %u\nname       %s\ncustomer   %lld\nregion     %s\nscheme     %s\nedition    %s\nstatus     %s\n"
         "created    %s\naccounts   %lld\nmax_websockets %s\nkey        %s\nadmins    ",
         a->sdkappid, a->name, (long long)a->customer_id, a->region, a->scheme, a->edition, a->status,
         cli_fmt_time(a->created_at_s, when, sizeof when), (long long)accounts, cap, a->secret_key);
  for (int i = 0; i < a->n_admins; i++) printf(" %s", a->admins[i]);
  printf("\n");
}

/* Show, or set (N, or "default" to unset), the app's own cap of logged-in WebSockets; a running server learns a
 * change through the change log. */
static int app_max_websockets(const char *data, uint32_t id, const char *value, int json)
{
  int64_t n = -1;
  if (value && strcmp(value, "default") && imc_parse_i64(value, 0, TENANT_APP_WS_MAX, &n)) {
    cli_err("app", "max-websockets: \"%s\" is not a cap (an integer in [0, %d], or default)", value, TENANT_APP_WS_MAX);
    return CLI_EXIT_FAIL;
  }
  store_t *s;
  int rc = cli_store_open("app", data, &s);
  if (rc) return rc;
  store_app_t a;
  if (value) rc = tenant_app_set_max_websockets(s, id, n);
  else rc = store_app_get(s, id, &a);
  if (!rc) rc = tenant_app_max_websockets(s, id, &n);
  store_close(s);
  if (rc == IMC_E_NOTFOUND) { cli_err("app", "no app %u (imcloud app list)", id); return CLI_EXIT_FAIL; }
  if (rc) { cli_err("app", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) { cli_print_json(json_pack("{s:I,s:o}", "sdkappid", (json_int_t)id, "max_websockets", n < 0 ? json_null() : json_integer(n))); return 0; }
  if (n < 0) printf("app %u: the server's max_websockets_per_app\n", id);
  else if (n == 0) printf("app %u: no cap of logged-in WebSockets\n", id);
  else printf("app %u: %lld logged-in WebSockets at most\n", id, (long long)n);
  return 0;
}

int cli_app(int argc, char **argv)
{
  const char *data = "./var", *name = NULL, *region = NULL, *created = NULL, *scheme = NULL;
  int64_t customer = 0;
  int json = 0, npos = 0, form;
  char *pos[3];
  if (argc > 1 && cli_app_life_verb(argv[1])) return cli_app_life(argc, argv); /* cli_life.c */
  const unsigned create = CLI_FORM(F_CREATE);
  const cli_form_opt_t opts[] = {
    { create | CLI_FORM(F_LIST), { "--customer", CLI_I64, &customer, 1, INT64_MAX, "ID  owning customer" } },
    { create, { "--name", CLI_STR, &name, 0, 0, "NAME  app name" } },
    { create, { "--region", CLI_STR, &region, 0, 0, "REGION  " REGIONS } },
    { create, { "--created-at", CLI_STR, &created, 0, 0, "YYYY-MM-DD  real creation date of an imported app, a day of the billing zone (decides legacy, P-01)" } },
    { create, { "--scheme", CLI_STR, &scheme, 0, 0, "S  grandfathered scheme: " SCHEMES } },
    { 0, { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" } },
    { 0, { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" } },
  };
  int rc = cli_parse_forms(argc, argv, "app", forms, sizeof forms / sizeof *forms, opts, sizeof opts / sizeof *opts, notes,
                           pos, 3, &npos, &form);
  if (rc) return cli_parse_exit(rc);
  if (npos < 1) { cli_err("app", "expected \"create\", \"list\", \"show\" or \"max-websockets\""); return CLI_EXIT_USAGE; }
  store_t *s;
  if (!strcmp(pos[0], "create")) {
    if (npos != 1) { cli_err("app", "create takes no positional argument"); return CLI_EXIT_USAGE; }
    if (!customer || !name || !region) { cli_err("app", "create needs --customer, --name and --region"); return CLI_EXIT_USAGE; }
    return app_create(data, customer, name, region, created, scheme, json);
  }
  if (!strcmp(pos[0], "list")) {
    if (npos != 1) { cli_err("app", "list takes no positional argument"); return CLI_EXIT_USAGE; }
    if ((rc = cli_store_open("app", data, &s))) return rc;
    json_t *arr = json_array();
    rc = store_app_list(s, customer, on_app, arr);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) { /* each app's own cap, as `show` and the operator's app list give it */
      int64_t own = -1;
      if (!rc) rc = tenant_app_own_cap(s, (uint32_t)json_integer_value(json_object_get(v, "sdkappid")), &own);
      json_object_set_new(v, "max_websockets", own < 0 ? json_null() : json_integer(own));
    }
    store_close(s);
    if (rc) { json_decref(arr); cli_err("app", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
    if (json) { cli_print_json(json_pack("{s:o}", "apps", arr)); return 0; }
    print_list(arr);
    json_decref(arr);
    return 0;
  }
  if (!strcmp(pos[0], "show")) {
    int64_t id;
    if (npos != 2) { cli_err("app", "show needs one SDKAppID"); return CLI_EXIT_USAGE; }
    if (imc_parse_i64(pos[1], 1, UINT32_MAX, &id)) { cli_err("app", "show: \"%s\" is not an SDKAppID (an integer in [1, %u])", pos[1], UINT32_MAX); return CLI_EXIT_FAIL; }
    if ((rc = cli_store_open("app", data, &s))) return rc;
    store_app_t a;
    int64_t n = 0, own = -1;
    rc = store_app_get(s, (uint32_t)id, &a);
    if (!rc) rc = store_account_count(s, a.sdkappid, &n);
    if (!rc) rc = tenant_app_own_cap(s, a.sdkappid, &own); /* not a cap: none, as the server reads it */
    store_close(s);
    if (rc == IMC_E_NOTFOUND) { cli_err("app", "no app %lld (imcloud app list)", (long long)id); return CLI_EXIT_FAIL; }
    if (rc) { cli_err("app", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
    if (json) {
      json_t *o = app_json(&a, n);
      json_object_set_new(o, "max_websockets", own < 0 ? json_null() : json_integer(own));
      cli_print_json(o);
    } else print_show(&a, n, own);
    return 0;
  }
  if (!strcmp(pos[0], "max-websockets")) {
    int64_t id;
    if (npos < 2 || npos > 3) { cli_err("app", "max-websockets needs one SDKAppID and at most one cap"); return CLI_EXIT_USAGE; }
    if (imc_parse_i64(pos[1], 1, UINT32_MAX, &id)) { cli_err("app", "max-websockets: \"%s\" is not an SDKAppID (an integer in [1, %u])", pos[1], UINT32_MAX); return CLI_EXIT_FAIL; }
    return app_max_websockets(data, (uint32_t)id, npos == 3 ? pos[2] : NULL, json);
  }
  cli_err("app", "unknown subcommand \"%s\" (create, list, show or max-websockets)", pos[0]);
  return CLI_EXIT_USAGE;
}
