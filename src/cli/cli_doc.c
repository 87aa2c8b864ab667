/* cli_doc.c — `imcloud doc NAME`: print a document generated from the
 * server's declarative tables (the route table, the WebSocket op table), the
 * text docs/ carries between its "generated" markers. */
#include "api/api.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int cli_doc(int argc, char **argv)
{
  char *pos[2];
  int npos = 0;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { /* the names, then the exit statuses (the list came after them) */
      printf("usage: imcloud doc NAME\n\nNAME is one of:\n");
      api_doc_list(stdout);
      printf("\n%s", cli_exit_help);
      return 0;
    }
  static const cli_opt_t opts[] = { { 0, 0, 0, 0, 0, 0 } };
  int rc = cli_parse(argc, argv, opts, "", pos, 2, &npos);
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
