/* cli_usersig.c — placeholder until its module lands (being written now). */
#include "cli/cli.h"
int cli_usersig(int argc, char **argv) { (void)argc; cli_err(argv[0], "not built yet"); return CLI_EXIT_FAIL; }
