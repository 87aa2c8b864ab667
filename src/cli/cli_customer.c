/* cli_customer.c — `imcloud customer create|list`. `create` is one of the two
 * commands that make a data directory (with `serve`). */
#include "cli/cli.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
  "usage: imcloud customer create --name NAME [--data DIR] [--json]\n"
  "       imcloud customer list [--data DIR] [--json]\n"
  "  create makes the data directory if it does not exist yet";

static void on_customer(void *ud, const store_customer_t *c)
{
  json_t *arr = ud;
  json_array_append_new(arr, json_pack("{s:I,s:s,s:I}", "id", (json_int_t)c->id, "name", c->name, "created_at", (json_int_t)c->created_at_s));
}

static void print_json(json_t *o)
{
  char *t = json_dumps(o, JSON_COMPACT);
  printf("%s\n", t);
  free(t);
  json_decref(o);
}

static int create(const char *data, const char *name, int json)
{
  store_t *s;
  int64_t id, now = imc_clock_now_s();
  /* refuse a bad name before anything is created on disk */
  if (!*name || strlen(name) > 127) { cli_err("customer", "--name must be 1-127 bytes"); return CLI_EXIT_FAIL; }
  int rc = cli_store_create("customer", data, &s);
  if (rc) return rc;
  rc = tenant_customer_create(s, name, now, &id);
  store_close(s);
  if (rc) { cli_err("customer", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) { print_json(json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "name", name, "created_at", (json_int_t)now)); return 0; }
  char when[64];
  printf("created customer %lld \"%s\" in %s at %s\n"
         "next: imcloud app create --customer %lld --name NAME --region china --data %s\n",
         (long long)id, name, data, cli_fmt_time(now, when, sizeof when), (long long)id, data);
  return 0;
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
  if (rc) return cli_parse_exit(rc);
  if (npos != 1 || (strcmp(pos[0], "create") && strcmp(pos[0], "list"))) { cli_err("customer", "expected \"create\" or \"list\""); return CLI_EXIT_USAGE; }
  if (!strcmp(pos[0], "create")) {
    if (!name) { cli_err("customer", "create needs --name"); return CLI_EXIT_USAGE; }
    return create(data, name, json);
  }
  store_t *s;
  if ((rc = cli_store_open("customer", data, &s))) return rc;
  json_t *arr = json_array();
  rc = store_customer_list(s, on_customer, arr);
  store_close(s);
  if (rc) { json_decref(arr); cli_err("customer", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) { print_json(json_pack("{s:o}", "customers", arr)); return 0; }
  size_t i;
  json_t *v;
  char when[64];
  printf("%-6s %-29s %s\n", "ID", "CREATED", "NAME");
  json_array_foreach(arr, i, v)
    printf("%-6lld %-29s %s\n", (long long)json_integer_value(json_object_get(v, "id")),
           cli_fmt_time(json_integer_value(json_object_get(v, "created_at")), when, sizeof when),
           json_string_value(json_object_get(v, "name")));
  json_decref(arr);
  return 0;
}
