/* cli_version.c — `imcloud version` and `imcloud --version`: the version and
 * build of this binary (util/version.h). */
#include "cli/cli.h"
#include "util/version.h"

#include <stdio.h>
#include <string.h>

int cli_version(int argc, char **argv)
{
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    printf("usage: imcloud version (also --version): the build's version line\n");
    return 0;
  }
  if (argc > 1) { cli_err("version", "takes no argument"); return CLI_EXIT_USAGE; }
  printf("imcloud %s\n", imc_version_build());
  return 0;
}
