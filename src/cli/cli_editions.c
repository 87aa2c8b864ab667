/* cli_editions.c — `imcloud editions`: the edition matrix (limits, feature
 * gates, capability rules, decisions) exactly as src/plan/ enforces it,
 * as a table, JSON or the Markdown of docs/editions.md. No data directory:
 * the catalog is the built-in price books. */
#include "billing/billing_scheme.h"
#include "cli/cli.h"
#include "plan/plan.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
  "usage: imcloud editions [--scheme legacy|s2019|s2020|s2022|intl] [--json|--markdown]\n"
  "  Prints every limit and feature gate of every edition (of one scheme with --scheme) as the\n"
  "  server enforces it. --markdown prints docs/editions.md.";

int cli_editions(int argc, char **argv)
{
  const char *scheme = NULL, *data = NULL;
  int json = 0, markdown = 0, npos = 0;
  char *pos[1];
  const cli_opt_t opts[] = {
    { "--scheme", CLI_STR, &scheme, 0, 0, "S  only this scheme" },
    { "--json", CLI_FLAG, &json, 0, 0, "print one JSON object" },
    { "--markdown", CLI_FLAG, &markdown, 0, 0, "print the Markdown of docs/editions.md" },
    { "--data", CLI_STR, &data, 0, 0, "DIR  accepted for uniformity, unused (the catalog is built in)" },
    { 0 }
  };
  int rc = cli_parse(argc, argv, opts, usage, pos, 1, &npos);
  if (rc) return rc > 0 ? 0 : cli_parse_exit(rc);
  if (npos) { cli_err("editions", "unexpected argument '%s'", pos[0]); return CLI_EXIT_USAGE; }
  if (json && markdown) { cli_err("editions", "--json and --markdown exclude each other"); return CLI_EXIT_USAGE; }
  bill_scheme_t s = BILL_SCHEME_S2022;
  if (scheme && bill_scheme_parse(scheme, &s)) {
    cli_err("editions", "unknown scheme '%s' (legacy, s2019, s2020, s2022, intl)", scheme);
    return CLI_EXIT_FAIL;
  }
  const char *why = plan_catalog_error();
  if (why) { cli_err("editions", "edition catalog: %s", why); return CLI_EXIT_FAIL; }
  plan_format_t fmt = json ? PLAN_FMT_JSON : markdown ? PLAN_FMT_MARKDOWN : PLAN_FMT_TEXT;
  size_t need = plan_render(fmt, scheme == NULL, s, NULL, 0);
  char *buf = malloc(need + 1);
  if (!buf) { cli_err("editions", "out of memory"); return CLI_EXIT_FAIL; }
  plan_render(fmt, scheme == NULL, s, buf, need + 1);
  fputs(buf, stdout);
  if (json) fputc('\n', stdout);
  free(buf);
  return 0;
}
