/* cli_doc.c — `imcloud doc NAME`: print a document generated from the
 * server's declarative tables (the route table, the WebSocket op table), the
 * text docs/ carries between its "generated" markers. */
#include "api/api.h"
#include "cli/cli.h"

#include <stdio.h>

int cli_doc(int argc, char **argv)
{
  char *pos[2];
  int npos = 0;
  static const cli_opt_t opts[] = { { 0, 0, 0, 0, 0, 0 } };
  int rc = cli_parse(argc, argv, opts, "usage: imcloud doc NAME\n\nNAME is one of:", pos, 2, &npos);
  if (rc == 1) { api_doc_list(stdout); return 0; }
  if (rc) return CLI_EXIT_USAGE;
  if (npos != 1) {
    cli_err("doc", "name one document; one of:");
    api_doc_list(stderr);
    return CLI_EXIT_USAGE;
  }
  if (api_doc_print(stdout, pos[0])) {
    cli_err("doc", "unknown document '%s'; one of:", pos[0]);
    api_doc_list(stderr);
    return CLI_EXIT_USAGE;
  }
  return 0;
}
