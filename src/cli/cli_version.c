/* cli_version.c — `imcloud version` and `imcloud --version`: the version and
 * build of this binary (util/version.h). */
#include "cli/cli.h"
#include "util/version.h"

int cli_version(int argc, char **argv)
{
  (void)argv;
  if (argc > 1) { cli_err("version", "takes no argument"); return CLI_EXIT_USAGE; }
  printf("imcloud %s\n", imc_version_build());
  return 0;
}
