/* cli_app.c — `imcloud app create|list|show`. */
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

static const char usage[] =
  "usage: imcloud app create --customer ID --name NAME --region REGION [--created-at YYYY-MM-DD] [--scheme S] [--json]\n"
  "       imcloud app list [--customer ID] [--json]\n"
  "       imcloud app show SDKAPPID [--json]\n"
  "       imcloud app upgrade|renew|suspend|resume|auto-renew|state --sdkappid N ... (imcloud app upgrade --help)\n"
  "  (every form takes --data DIR, default ./var)";

static json_t *app_json(const store_app_t *a, int64_t accounts)
{
  json_t *admins = json_array();
  for (int i = 0; i < a->n_admins; i++) json_array_append_new(admins, json_string(a->admins[i]));
  int y, m, d;
  char created[32];
  imc_civil_from_days(imc_day_of(a->created_at_s, IMC_TZ_CHINA_S), &y, &m, &d);
  snprintf(created, sizeof created, "%04d-%02d-%02d", y, m, d);
  json_t *o = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:o}", "sdkappid", (json_int_t)a->sdkappid, "key",
                        a->secret_key, "customer_id", (json_int_t)a->customer_id, "name", a->name, "region", a->region,
                        "scheme", a->scheme, "edition", a->edition, "status", a->status, "created_at",
                        (json_int_t)a->created_at_s, "created_date", created, "admins", admins);
  if (accounts >= 0) json_object_set_new(o, "accounts", json_integer(accounts));
  return o;
}

static void print_json(json_t *o)
{
  char *t = json_dumps(o, JSON_COMPACT);
  printf("%s\n", t);
  free(t);
  json_decref(o);
}

static void on_app(void *ud, const store_app_t *a) { json_array_append_new(ud, app_json(a, -1)); }

int cli_app(int argc, char **argv)
{
  const char *data = "./var", *name = NULL, *region = NULL, *created = NULL, *scheme = NULL;
  int64_t customer = 0;
  int json = 0, npos = 0;
  char *pos[3];
  if (argc > 1 && cli_app_life_verb(argv[1])) return cli_app_life(argc, argv); /* cli_life.c */
  const cli_opt_t opts[] = {
    { "--customer", CLI_I64, &customer, 1, INT64_MAX, "ID  owning customer" },
    { "--name", CLI_STR, &name, 0, 0, "NAME  app name" },
    { "--region", CLI_STR, &region, 0, 0, "REGION  china, singapore, india, korea, germany, usa, japan, indonesia" },
    { "--created-at", CLI_STR, &created, 0, 0, "YYYY-MM-DD  real creation date of an imported app (decides legacy, P-01)" },
    { "--scheme", CLI_STR, &scheme, 0, 0, "S  grandfathered scheme: legacy, s2019, s2020, s2022, intl" },
    { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" },
    { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" },
    { 0 }
  };
  int rc = cli_parse(argc, argv, opts, usage, pos, 3, &npos);
  if (rc) return rc > 0 ? 0 : CLI_EXIT_USAGE;
  if (npos < 1) { cli_err("app", "expected 'create', 'list' or 'show'"); return CLI_EXIT_USAGE; }
  store_t *s;
  if (!strcmp(pos[0], "create")) {
    tenant_app_params_t p = { .customer_id = customer, .name = name, .region = region, .scheme = scheme, .now_s = imc_clock_now_s() };
    int y, m, d;
    if (npos != 1 || !customer || !name || !region) { cli_err("app", "create needs --customer, --name and --region"); return CLI_EXIT_USAGE; }
    if (created) {
      if (imc_date_parse(created, &y, &m, &d)) { cli_err("app", "--created-at must be a date YYYY-MM-DD"); return CLI_EXIT_USAGE; }
      p.created_at_s = imc_day_start(imc_days_from_civil(y, m, d), IMC_TZ_CHINA_S);
      if (p.created_at_s > p.now_s) { cli_err("app", "--created-at is in the future"); return CLI_EXIT_USAGE; }
    }
    if ((rc = cli_store_open("app", data, &s))) return rc;
    store_app_t a;
    rc = tenant_app_create(s, &p, &a);
    store_close(s);
    if (rc) {
      const char *why = rc == IMC_E_NOTFOUND ? "no such customer" : rc == IMC_E_INVAL ? "name must be 1-127 bytes and region one of china, singapore, india, korea, germany, usa, japan, indonesia"
                      : rc == IMC_E_BILL_SCHEME ? "scheme must be one of legacy, s2019, s2020, s2022, intl" : imc_strerror(rc);
      cli_err("app", "%s", why);
      return CLI_EXIT_FAIL;
    }
    if (json) print_json(app_json(&a, -1));
    else printf("SDKAppID  %u\nkey       %s\nscheme    %s\nedition   %s\n", a.sdkappid, a.secret_key, a.scheme, a.edition);
    return 0;
  }
  if (!strcmp(pos[0], "list")) {
    if (npos != 1) { cli_err("app", "list takes no argument"); return CLI_EXIT_USAGE; }
    if ((rc = cli_store_open("app", data, &s))) return rc;
    json_t *arr = json_array();
    rc = store_app_list(s, customer, on_app, arr);
    store_close(s);
    if (rc) { json_decref(arr); cli_err("app", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
    if (json) { print_json(json_pack("{s:o}", "apps", arr)); return 0; }
    size_t i;
    json_t *v;
    printf("%-11s %-8s %-10s %-7s %-10s %-9s %s\n", "SDKAPPID", "CUSTOMER", "REGION", "SCHEME", "EDITION", "STATUS", "NAME");
    json_array_foreach(arr, i, v)
      printf("%-11lld %-8lld %-10s %-7s %-10s %-9s %s\n", (long long)json_integer_value(json_object_get(v, "sdkappid")),
             (long long)json_integer_value(json_object_get(v, "customer_id")), json_string_value(json_object_get(v, "region")),
             json_string_value(json_object_get(v, "scheme")), json_string_value(json_object_get(v, "edition")),
             json_string_value(json_object_get(v, "status")), json_string_value(json_object_get(v, "name")));
    json_decref(arr);
    return 0;
  }
  if (!strcmp(pos[0], "show")) {
    int64_t id;
    if (npos != 2 || imc_parse_i64(pos[1], 1, UINT32_MAX, &id)) { cli_err("app", "show needs one SDKAppID"); return CLI_EXIT_USAGE; }
    if ((rc = cli_store_open("app", data, &s))) return rc;
    store_app_t a;
    int64_t n = 0;
    rc = store_app_get(s, (uint32_t)id, &a);
    if (!rc) rc = store_account_count(s, a.sdkappid, &n);
    store_close(s);
    if (rc) { cli_err("app", "%s", rc == IMC_E_NOTFOUND ? "no such app" : imc_strerror(rc)); return CLI_EXIT_FAIL; }
    json_t *o = app_json(&a, n);
    if (json) { print_json(o); return 0; }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
      char *t = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      printf("%-12s %s\n", k, t);
      free(t);
    }
    json_decref(o);
    return 0;
  }
  cli_err("app", "unknown subcommand '%s'", pos[0]);
  return CLI_EXIT_USAGE;
}
