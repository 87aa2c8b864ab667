/* cli_operator.c — `imcloud operator token [--data DIR] [--json]`: create a
 * new operator API bearer token, store only its SHA-256 and print the token
 * once. The previous token stops working (a running server notices within a
 * second). The data directory must exist (serve or customer create makes it). */
#include "auth/optoken.h"
#include "cli/cli.h"
#include "store/store.h"
#include "util/err.h"

#include <string.h>

int cli_operator(int argc, char **argv)
{
  const char *data = "./var";
  int json = 0, npos = 0;
  char *pos[2];
  const cli_opt_t opts[] = {
    { "--data", CLI_STR, &data, 0, 0, "DIR  data directory (default ./var)" },
    { "--json", CLI_FLAG, &json, 0, 0, "print {\"token\":\"…\"}" },
    { 0 }
  };
  int rc = cli_parse(argc, argv, opts, "usage: imcloud operator token [--data DIR] [--json]", pos, 2, &npos);
  if (rc) return cli_parse_exit(rc);
  if (npos != 1 || strcmp(pos[0], "token")) { cli_err("operator", "expected the subcommand \"token\""); return CLI_EXIT_USAGE; }
  char token[128], hash[80];
  store_t *st;
  if ((rc = cli_store_open("operator", data, &st))) return rc;
  rc = auth_optoken_new(token, sizeof token, hash, sizeof hash);
  if (!rc) rc = store_meta_set(st, "operator_token_sha256", hash);
  store_close(st);
  if (rc) { cli_err("operator", "%s", imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if (json) printf("{\"token\":\"%s\"}\n", token);
  else printf("%s\n", token);
  return 0;
}
