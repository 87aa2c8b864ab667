/* cli_customer.c — `imcloud customer create|list|big-groups`. `create` is one
 * of the two commands that make a data directory (with `serve`); `big-groups`
 * shows or sets what an operator added to the customer's quota of
 * 10,000-member groups (P-17; a running server applies it from the change
 * log). */
#include "cli/cli.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Each form takes exactly the options its usage names (cli_parse_forms). */
enum { F_CREATE, F_LIST, F_BIG_GROUPS };
static const cli_form_t forms[] = {
  [F_CREATE] = { "create", "create --name NAME [--data DIR] [--json]" },
  [F_LIST] = { "list", "list [--data DIR] [--json]" },
  [F_BIG_GROUPS] = { "big-groups", "big-groups --customer ID [--extra N] [--data DIR] [--json]" },
};
static const char notes[] = "  create makes the data directory if it does not exist yet";

static void on_customer(void *ud, const store_customer_t *c)
{
  json_t *arr = ud;
  json_array_append_new(arr, json_pack("{s:I,s:s,s:I}", "id", (json_int_t)c->id, "name", c->name, "created_at", (json_int_t)c->created_at_s));
}


static int create(const char *data, const char *name, int json)
{
  store_t *s;
  int64_t id, now;
  /* refuse a bad name before anything is created on disk */
  if (!*name || strlen(name) > 127 || !imc_utf8_text(name)) {
    cli_err("customer", "--name must be 1-127 bytes of UTF-8 text (no control characters)");
    return CLI_EXIT_FAIL;
  }
  int rc = cli_store_create("customer", data, &s);
  if (rc) return rc;
  now = imc_clock_now_s(); /* after the open: its server's test clock, when the directory is on one */
  rc = tenant_customer_create(s, name, now, &id);
  store_close(s);
  if (rc) { cli_err("customer", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) { cli_print_json(json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "name", name, "created_at", (json_int_t)now)); return 0; }
  char when[64];
  printf("created customer %lld \"%s\" in %s at %s\n"
         "next: imcloud app create --customer %lld --name NAME --region china --data %s\n",
         (long long)id, name, data, cli_fmt_time(now, when, sizeof when), (long long)id, data);
  return 0;
}

/* P-17: show, or set with extra >= 0, the customer's added big-group quota. */
static int big_groups(const char *data, int64_t customer, int64_t extra, int json)
{
  store_t *s;
  int rc = cli_store_open("customer", data, &s);
  if (rc) return rc;
  store_customer_t c;
  if (extra >= 0) rc = tenant_customer_set_big_groups_extra(s, customer, extra);
  else rc = store_customer_get(s, customer, &c);
  if (!rc) rc = tenant_customer_big_groups_extra(s, customer, &extra);
  store_close(s);
  if (rc == IMC_E_NOTFOUND) { cli_err("customer", "no customer %lld", (long long)customer); return CLI_EXIT_FAIL; }
  if (rc) { cli_err("customer", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) { cli_print_json(json_pack("{s:I,s:I}", "customer_id", (json_int_t)customer, "big_groups_extra", (json_int_t)extra)); return 0; }
  printf("customer %lld: %lld 10,000-member groups added to the edition's quota (P-17)\n", (long long)customer,
         (long long)extra);
  return 0;
}

int cli_customer(int argc, char **argv)
{
  const char *data = "./var", *name = NULL;
  int json = 0, npos = 0, form;
  int64_t customer = 0, extra = -1;
  char *pos[2];
  const cli_form_opt_t opts[] = {
    { CLI_FORM(F_CREATE), { "--name", CLI_STR, &name, 0, 0, "NAME  customer name (create)" } },
    { CLI_FORM(F_BIG_GROUPS), { "--customer", CLI_I64, &customer, 1, INT64_MAX, "ID  the customer (big-groups)" } },
    { CLI_FORM(F_BIG_GROUPS),
      { "--extra", CLI_I64, &extra, 0, TENANT_BIG_GROUPS_EXTRA_MAX, "N  10,000-member groups added to the quota by a ticket (big-groups)" } },
    { 0, { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" } },
    { 0, { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" } },
  };
  int rc = cli_parse_forms(argc, argv, "customer", forms, sizeof forms / sizeof *forms, opts, sizeof opts / sizeof *opts, notes,
                           pos, 2, &npos, &form);
  if (rc) return cli_parse_exit(rc);
  if (npos != 1 || (strcmp(pos[0], "create") && strcmp(pos[0], "list") && strcmp(pos[0], "big-groups"))) {
    cli_err("customer", "expected \"create\", \"list\" or \"big-groups\"");
    return CLI_EXIT_USAGE;
  }
  if (!strcmp(pos[0], "big-groups")) {
    if (!customer) { cli_err("customer", "big-groups needs --customer"); return CLI_EXIT_USAGE; }
    return big_groups(data, customer, extra, json);
  }
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
  if (json) { cli_print_json(json_pack("{s:o}", "customers", arr)); return 0; }
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
