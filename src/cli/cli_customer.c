/* cli_customer.c — `imcloud customer create|list`. */
#include "cli/cli.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
  "usage: imcloud customer create --name NAME [--data DIR] [--json]\n"
  "       imcloud customer list [--data DIR] [--json]";

/* Open the store of a CLI command (creating the directory). */
int cli_store_open(const char *verb, const char *data, store_t **out)
{
  if (mkdir(data, 0700) && errno != EEXIST) { cli_err(verb, "cannot create data directory %s", data); return CLI_EXIT_FAIL; }
  int rc = store_open(data, out);
  if (rc) { cli_err(verb, "cannot open the database in %s: %s", data, imc_strerror(rc)); return CLI_EXIT_FAIL; }
  return 0;
}

static void on_customer(void *ud, const store_customer_t *c)
{
  json_t *arr = ud;
  json_array_append_new(arr, json_pack("{s:I,s:s,s:I}", "id", (json_int_t)c->id, "name", c->name, "created_at", (json_int_t)c->created_at_s));
}

int cli_customer(int argc, char **argv)
{
  const char *data = "./var", *name = NULL;
  int json = 0, npos = 0;
  char *pos[2];
  const cli_opt_t opts[] = {
    { "--name", CLI_STR, &name, 0, 0, "NAME  customer name (create)" },
    { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" },
    { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" },
    { 0 }
  };
  int rc = cli_parse(argc, argv, opts, usage, pos, 2, &npos);
  if (rc) return rc > 0 ? 0 : CLI_EXIT_USAGE;
  if (npos != 1 || (strcmp(pos[0], "create") && strcmp(pos[0], "list"))) { cli_err("customer", "expected 'create' or 'list'"); return CLI_EXIT_USAGE; }
  store_t *s;
  if (!strcmp(pos[0], "create") && !name) { cli_err("customer", "--name is required"); return CLI_EXIT_USAGE; }
  if ((rc = cli_store_open("customer", data, &s))) return rc;
  if (!strcmp(pos[0], "create")) {
    int64_t id;
    rc = tenant_customer_create(s, name, imc_clock_now_s(), &id);
    store_close(s);
    if (rc) { cli_err("customer", "%s", rc == IMC_E_INVAL ? "name must be 1-127 bytes" : imc_strerror(rc)); return CLI_EXIT_FAIL; }
    if (json) printf("{\"id\":%lld}\n", (long long)id);
    else printf("%lld\n", (long long)id);
    return 0;
  }
  json_t *arr = json_array();
  rc = store_customer_list(s, on_customer, arr);
  store_close(s);
  if (rc) { json_decref(arr); cli_err("customer", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) {
    json_t *o = json_pack("{s:o}", "customers", arr);
    char *t = json_dumps(o, JSON_COMPACT);
    printf("%s\n", t);
    free(t);
    json_decref(o);
  } else {
    size_t i;
    json_t *v;
    printf("%-6s %-12s %s\n", "ID", "CREATED", "NAME");
    json_array_foreach(arr, i, v)
      printf("%-6lld %-12lld %s\n", (long long)json_integer_value(json_object_get(v, "id")),
             (long long)json_integer_value(json_object_get(v, "created_at")), json_string_value(json_object_get(v, "name")));
    json_decref(arr);
  }
  return 0;
}
