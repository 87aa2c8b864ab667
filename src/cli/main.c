/* main.c — `imcloud <subcommand> …`: looks the verb up in cli_commands[]. */
#include "cli/cli.h"
#include "util/jsonload.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
  fprintf(f, "usage: imcloud <command> [options]   (imcloud <command> --help)\n"
             "       imcloud --version\n\ncommands:\n");
  for (const cli_cmd_t *c = cli_commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
  fprintf(f, "\n%s", cli_exit_help);
}

int main(int argc, char **argv)
{
  jsonload_init(); /* jansson's allocator is wrapped before any thread starts (util/jsonload.h) */
  if (argc < 2) { usage(stderr); return CLI_EXIT_USAGE; }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help") || !strcmp(argv[1], "-h")) { usage(stdout); return 0; }
  if (!strcmp(argv[1], "--version")) return cli_version(argc - 1, argv + 1);
  for (const cli_cmd_t *c = cli_commands; c->name; c++)
    if (!strcmp(c->name, argv[1])) return c->fn(argc - 1, argv + 1);
  fprintf(stderr, "imcloud: unknown command \"%s\"\n", argv[1]);
  usage(stderr);
  return CLI_EXIT_USAGE;
}
