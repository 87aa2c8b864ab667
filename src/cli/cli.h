/* cli.h — the `imcloud` command line: a table of subcommands
 * {name, summary, handler}, one cli_<verb>.c each, and a small table-driven
 * option parser every subcommand uses.
 *
 * Conventions every subcommand keeps: `--data DIR` (default ./var) names the
 * data directory; only `serve`, `customer create` and `app create` may create
 * it, every other command refuses a directory without a database ("no imcloud
 * data in DIR — use --data DIR") and creates nothing. `--json` prints exactly
 * one JSON object on stdout with machine values (unix seconds, integer fen);
 * human output shows local date-times with their zone and money as 元 next to
 * fen. Errors print one line "imcloud <verb>: <reason>" on stderr (values in
 * single quotes, option names bare) and exit 2 for a malformed command line
 * (unknown option or subcommand, an option of another subcommand, missing
 * option or value, a single-valued option given twice) or 1 for a bad value
 * or a refused request; nothing is printed on stdout on error. Subcommands
 * work whether or not a server runs on the same directory (SQLite WAL; the
 * server notices changes).
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
int cli_usage(int argc, char **argv);
int cli_bill(int argc, char **argv);
int cli_doc(int argc, char **argv);
int cli_editions(int argc, char **argv);
int cli_addon(int argc, char **argv);
/* `imcloud app upgrade|renew|suspend|resume|auto-renew|state` (cli_life.c),
 * reached through cli_app when argv[1] is one of those verbs. */
int cli_app_life(int argc, char **argv);
int cli_app_life_verb(const char *sub);

struct store;
/* Open the store of an existing data directory (DIR/imcloud.db must exist;
 * nothing is created). Prints "no imcloud data in DIR — use --data DIR" or
 * the open error and returns CLI_EXIT_FAIL; 0 on success. */
int cli_store_open(const char *verb, const char *data, struct store **out);
/* The billing zone (seconds east of UTC) the server stored in the data
 * directory last opened by cli_store_open (`serve --billing-tz-offset-s`,
 * meter_zone_default), else UTC+8: what the CLI dates, prices and records
 * in, as the server does. */
int cli_billing_tz(void);
/* Open the store, creating the directory and the database if needed (only
 * the commands that make the first data: serve, customer create). */
int cli_store_create(const char *verb, const char *data, struct store **out);

/* ---- human output (cli_fmt.c) -------------------------------------------- */
/* Local date-time with its zone: "2026-12-02 08:15:03 CST +0800". */
const char *cli_fmt_time(int64_t unix_s, char *buf, size_t cap);
/* Money for people: "1,002.50 元 (100250 fen)". */
const char *cli_fmt_money(int64_t fen, char *buf, size_t cap);

/* ---- option parsing ------------------------------------------------------ */
typedef enum { CLI_FLAG, CLI_STR, CLI_I64, CLI_MULTI } cli_opt_kind_t;

#define CLI_MULTI_MAX 32
#define CLI_OPTS_MAX 32 /* rows of one option table */
typedef struct cli_multi { int n; const char *v[CLI_MULTI_MAX]; } cli_multi_t;

typedef struct cli_opt {
  const char *name;     /* "--data" */
  cli_opt_kind_t kind;
  void *out;            /* int* (FLAG), const char** (STR), int64_t* (I64), cli_multi_t* (MULTI) */
  int64_t min, max;     /* I64 range */
  const char *help;     /* "DIR  data directory (default ./var)" */
} cli_opt_t;

/* Parse argv[1..] (argv[0] is the verb) against opts (terminated by a row
 * with name NULL, at most CLI_OPTS_MAX rows). Accepts "--name value" and
 * "--name=value"; a CLI_STR or CLI_I64 option may be given once (only
 * CLI_MULTI repeats; a repeated CLI_FLAG is the same flag). Positional
 * arguments are stored in pos[0..*npos) up to pos_cap. On error prints
 * "imcloud <verb>: <reason>" to stderr and returns IMC_E_USAGE (malformed:
 * unknown option, missing value, "--name given twice", too many arguments)
 * or IMC_E_INVAL (a value
 * that is not an integer in the option's range); "--help" prints usage (from
 * `usage`, the help column and the exit statuses) to stdout and returns 1.
 * cli_parse_exit() turns that result into the exit status. */
int cli_parse(int argc, char **argv, const cli_opt_t *opts, const char *usage,
              char **pos, int pos_cap, int *npos);
/* A command with subcommands ("bill", "bill run", "bill settle") parses
 * each form against exactly the options its --help lists: a row of
 * cli_form_opt_t names the forms that take it (bit f: forms[f]; 0: every
 * form). The form is named by the first positional argument wherever it
 * stands ("wallet --customer 1 show"); a form with verb NULL is the command
 * without a subcommand. With no form named (or an argument that names none)
 * the command's every option is accepted, so the handler can name the
 * missing or unknown subcommand. */
typedef struct cli_form {
  const char *verb;  /* "run"; NULL: the form without a subcommand */
  const char *usage; /* after "imcloud CMD ": "run [--month YYYY-MM] [--json]" */
} cli_form_t;

#define CLI_FORM(f) (1u << (f))
typedef struct cli_form_opt {
  unsigned forms;    /* CLI_FORM(f) | …; 0: every form */
  cli_opt_t opt;
} cli_form_opt_t;

/* cli_parse() for the form argv names (see above): --help prints that
 * form's usage (every form's when none is named) then notes (may be NULL)
 * and that form's options. nforms and nopts at most 32 and CLI_OPTS_MAX.
 * *form: the index of the form parsed, -1 when none was named. Returns as
 * cli_parse(). */
int cli_parse_forms(int argc, char **argv, const char *cmd, const cli_form_t *forms, int nforms,
                    const cli_form_opt_t *opts, int nopts, const char *notes, char **pos, int pos_cap, int *npos,
                    int *form);
/* Exit status for a non-zero cli_parse() result: 0 after --help,
 * CLI_EXIT_USAGE for IMC_E_USAGE, CLI_EXIT_FAIL for a bad value. */
int cli_parse_exit(int rc);
/* Print "imcloud <verb>: <reason>\n" to stderr. */
void cli_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print o (stolen) as one line of compact JSON. NULL (a json_pack that
 * failed: text that is not UTF-8, or no memory) prints a message on stderr
 * instead of crashing; the command's outcome is unchanged. */
struct json_t;
void cli_print_json(struct json_t *o);

#define CLI_EXIT_USAGE 2  /* malformed command line */
#define CLI_EXIT_FAIL 1   /* bad value, refused request, failure */
/* The exit-status paragraph every --help ends with. */
extern const char cli_exit_help[];

/* Version string ("0.1.0 (git 3b609ec)") for --version and `version`. */
int cli_version(int argc, char **argv);

#endif
