/* cli.h — the `imcloud` command line: a table of subcommands
 * {name, summary, handler}, one cli_<verb>.c each, and a small table-driven
 * option parser every subcommand uses.
 *
 * Conventions every subcommand keeps: `--data DIR` (default ./var) names the
 * data directory; `--json` prints exactly one JSON object on stdout; errors
 * print one line "imcloud <verb>: <reason>" on stderr and return non-zero
 * (2 for bad usage, 1 for everything else); nothing is printed on stdout on
 * error. Subcommands work whether or not a server runs on the same directory
 * (SQLite WAL; the server notices changes).
 */
#ifndef IMC_CLI_H
#define IMC_CLI_H

#include <stdint.h>
#include <stdio.h>

typedef int (*cli_handler_fn)(int argc, char **argv); /* argv[0] is the verb */

typedef struct cli_cmd {
  const char *name;
  const char *summary;
  cli_handler_fn fn;
} cli_cmd_t;

extern const cli_cmd_t cli_commands[];

/* Subcommand handlers (one file each). Return the process exit status. */
int cli_serve(int argc, char **argv);
int cli_customer(int argc, char **argv);
int cli_app(int argc, char **argv);
int cli_usersig(int argc, char **argv);
int cli_quote(int argc, char **argv);
int cli_wallet(int argc, char **argv);
int cli_operator(int argc, char **argv);
int cli_doc(int argc, char **argv);
int cli_editions(int argc, char **argv);
int cli_addon(int argc, char **argv);
/* `imcloud app upgrade|renew|suspend|resume|auto-renew|state` (cli_life.c),
 * reached through cli_app when argv[1] is one of those verbs. */
int cli_app_life(int argc, char **argv);
int cli_app_life_verb(const char *sub);

struct store;
/* Open the data directory's store for a CLI command (creating the directory);
 * prints the error and returns CLI_EXIT_FAIL on failure. */
int cli_store_open(const char *verb, const char *data, struct store **out);

/* ---- option parsing ------------------------------------------------------ */
typedef enum { CLI_FLAG, CLI_STR, CLI_I64, CLI_MULTI } cli_opt_kind_t;

#define CLI_MULTI_MAX 32
typedef struct cli_multi { int n; const char *v[CLI_MULTI_MAX]; } cli_multi_t;

typedef struct cli_opt {
  const char *name;     /* "--data" */
  cli_opt_kind_t kind;
  void *out;            /* int* (FLAG), const char** (STR), int64_t* (I64), cli_multi_t* (MULTI) */
  int64_t min, max;     /* I64 range */
  const char *help;     /* "DIR  data directory (default ./var)" */
} cli_opt_t;

/* Parse argv[1..] (argv[0] is the verb) against opts (terminated by a row
 * with name NULL). Accepts "--name value" and "--name=value". Positional
 * arguments are stored in pos[0..*npos) up to pos_cap. On error prints
 * "imcloud <verb>: <reason>" to stderr and returns IMC_E_USAGE; "--help"
 * prints usage (from `usage` and the help column) to stdout and returns 1. */
int cli_parse(int argc, char **argv, const cli_opt_t *opts, const char *usage,
              char **pos, int pos_cap, int *npos);
/* Print "imcloud <verb>: <reason>\n" to stderr. */
void cli_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CLI_EXIT_USAGE 2
#define CLI_EXIT_FAIL 1

#endif
