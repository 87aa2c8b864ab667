/* cli_args.c — the table-driven option parser of cli.h, the exit-status
 * convention, and the data-directory openers every subcommand shares. */
#include "cli/cli.h"
#include "meter/meter.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/num.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char cli_exit_help[] =
  "exit status: 0 success, 1 bad value or refused request, 2 malformed command line\n"
  "             (unknown command or option, missing option or value, an option given twice)\n";

void cli_err(const char *verb, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "imcloud %s: ", verb);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void cli_print_json(json_t *o)
{
  char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if (t) printf("%s\n", t);
  else fprintf(stderr, "imcloud: the result cannot be shown as JSON (text that is not UTF-8, or out of memory)\n");
  free(t);
  json_decref(o);
}

static void print_usage(const char *usage, const cli_opt_t *opts)
{
  printf("%s\n", usage);
  for (const cli_opt_t *o = opts; o->name; o++) printf("  %-16s %s\n", o->name, o->help ? o->help : "");
  printf("\n%s", cli_exit_help);
}

int cli_parse_exit(int rc)
{
  if (rc > 0) return 0;
  return rc == IMC_E_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

int cli_parse(int argc, char **argv, const cli_opt_t *opts, const char *usage,
              char **pos, int pos_cap, int *npos)
{
  const char *verb = argv[0];
  unsigned char given[CLI_OPTS_MAX] = { 0 }; /* a single-valued option given once: a second is refused */
  size_t nopts = 0;
  while (opts[nopts].name) nopts++;
  assert(nopts <= CLI_OPTS_MAX);
  *npos = 0;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { print_usage(usage, opts); return 1; }
    if (strncmp(a, "--", 2) != 0 || a[2] == 0) {
      if (*npos >= pos_cap) { cli_err(verb, "unexpected argument \"%s\"", a); return IMC_E_USAGE; }
      pos[(*npos)++] = a;
      continue;
    }
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    const cli_opt_t *o = opts;
    for (; o->name; o++) if (strlen(o->name) == nlen && !strncmp(o->name, a, nlen)) break;
    if (!o->name) { cli_err(verb, "unknown option %.*s", (int)nlen, a); return IMC_E_USAGE; }
    /* `--edition pro --edition trial` took the last value: an order or a top-up the operator did not mean */
    if ((o->kind == CLI_STR || o->kind == CLI_I64) && given[o - opts]++) {
      cli_err(verb, "%s given twice", o->name);
      return IMC_E_USAGE;
    }
    if (o->kind == CLI_FLAG) {
      if (eq) { cli_err(verb, "option %s takes no value", o->name); return IMC_E_USAGE; }
      *(int *)o->out = 1;
      continue;
    }
    const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!val) { cli_err(verb, "option %s needs a value", o->name); return IMC_E_USAGE; }
    switch (o->kind) {
    case CLI_STR: *(const char **)o->out = val; break;
    case CLI_I64: {
      int rc = imc_parse_i64(val, o->min, o->max, (int64_t *)o->out);
      if (rc) {
        cli_err(verb, "%s: \"%s\" is not an integer in [%lld, %lld]", o->name, val, (long long)o->min, (long long)o->max);
        return IMC_E_INVAL;
      }
      break;
    }
    case CLI_MULTI: {
      cli_multi_t *m = o->out;
      if (m->n >= CLI_MULTI_MAX) { cli_err(verb, "too many %s options", o->name); return IMC_E_USAGE; }
      m->v[m->n++] = val;
      break;
    }
    default: break;
    }
  }
  return 0;
}

/* The form argv names: the first argument that is neither an option nor an
 * option's value (looked up in every form's options). */
static int form_named(int argc, char **argv, const cli_form_t *forms, int nforms, const cli_form_opt_t *opts, int nopts)
{
  const char *verb = NULL;
  for (int i = 1; i < argc && !verb; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h")) continue;
    if (strncmp(a, "--", 2) != 0 || a[2] == 0) { verb = a; break; }
    if (strchr(a, '=')) continue;
    for (int k = 0; k < nopts; k++)
      if (!strcmp(opts[k].opt.name, a) && opts[k].opt.kind != CLI_FLAG) { i++; break; }
  }
  for (int f = 0; f < nforms; f++)
    if (verb ? forms[f].verb && !strcmp(forms[f].verb, verb) : !forms[f].verb) return f;
  return -1;
}

int cli_parse_forms(int argc, char **argv, const char *cmd, const cli_form_t *forms, int nforms,
                    const cli_form_opt_t *opts, int nopts, const char *notes, char **pos, int pos_cap, int *npos,
                    int *form)
{
  assert(nforms > 0 && nforms <= 32 && nopts < CLI_OPTS_MAX);
  int f = form_named(argc, argv, forms, nforms, opts, nopts);
  cli_opt_t table[CLI_OPTS_MAX + 1];
  int n = 0;
  for (int k = 0; k < nopts; k++)
    if (f < 0 || !opts[k].forms || opts[k].forms & CLI_FORM(f)) table[n++] = opts[k].opt;
  memset(&table[n], 0, sizeof table[n]);
  /* the usage: the named form's line, or every form's (the command without a subcommand shows them all) */
  char usage[4096];
  size_t u = 0;
  for (int i = 0; i < nforms; i++) {
    if (f >= 0 && forms[f].verb && i != f) continue;
    u += (size_t)snprintf(usage + u, sizeof usage - u, "%s imcloud %s %s\n", u ? "      " : "usage:", cmd, forms[i].usage);
    if (u >= sizeof usage) u = sizeof usage - 1;
  }
  if (f >= 0 && !forms[f].verb && nforms > 1)
    u += (size_t)snprintf(usage + u, sizeof usage - u, "  the options below are those of imcloud %s without a subcommand; "
                          "imcloud %s SUBCOMMAND --help lists a subcommand's\n", cmd, cmd);
  if (u >= sizeof usage) u = sizeof usage - 1;
  snprintf(usage + u, sizeof usage - u, "%s", notes ? notes : "");
  u = strlen(usage);
  if (u && usage[u - 1] == '\n') usage[u - 1] = 0; /* print_usage adds one */
  *form = f;
  return cli_parse(argc, argv, table, usage, pos, pos_cap, npos);
}

/* The server's billing zone as stored in the data directory (M-1), read by
 * cli_store_open; UTC+8 until then or when no server has opened it. */
static int billing_tz = IMC_TZ_CHINA_S;

/* A data directory whose server runs on a test clock (DIR/test-clock, written
 * by `serve --test-clock` at its start and at every move, removed by a start
 * without it): the CLI dates what it does, and judges what it shows (a bill's
 * grace, an app's period), by that clock too, and says so once on stderr. */
static int adopt_test_clock(const char *verb, const char *data)
{
  int64_t ms;
  char when[64];
  int rc = imc_clock_file_load(data, &ms);
  if (rc == 0 || imc_clock_is_test()) return 0;
  if (rc < 0) {
    cli_err(verb, "%s/test-clock: %s (a running `serve --test-clock` writes it; a start without --test-clock removes it)",
            data, rc == IMC_E_CONFIG ? "not a clock in unix milliseconds" : strerror(errno));
    return CLI_EXIT_FAIL;
  }
  imc_clock_test_enable(ms);
  fprintf(stderr, "imcloud %s: %s is on its server's test clock (%s/test-clock): now is %s\n", verb, data, data,
          cli_fmt_time(imc_clock_now_s(), when, sizeof when));
  return 0;
}

int cli_store_open(const char *verb, const char *data, store_t **out)
{
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/imcloud.db", data);
  if (stat(path, &st) || !S_ISREG(st.st_mode)) {
    cli_err(verb, "no imcloud data in %s — use --data DIR (serve or customer create makes one)", data);
    return CLI_EXIT_FAIL;
  }
  if (adopt_test_clock(verb, data)) return CLI_EXIT_FAIL;
  int rc = store_open(data, out);
  if (rc) { cli_err(verb, "cannot open the database in %s: %s", data, imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if ((rc = meter_zone_default(*out, IMC_TZ_CHINA_S, &billing_tz))) {
    cli_err(verb, "the stored billing zone (meta %s): %s", METER_ZONE_KEY, imc_strerror(rc));
    store_close(*out);
    *out = NULL;
    return CLI_EXIT_FAIL;
  }
  return 0;
}

int cli_billing_tz(void) { return billing_tz; }

int cli_store_create(const char *verb, const char *data, store_t **out)
{
  if (mkdir(data, 0700) && errno != EEXIST) { cli_err(verb, "cannot create data directory %s: %s", data, strerror(errno)); return CLI_EXIT_FAIL; }
  if (adopt_test_clock(verb, data)) return CLI_EXIT_FAIL;
  int rc = store_open(data, out);
  if (rc) { cli_err(verb, "cannot open the database in %s: %s", data, imc_strerror(rc)); return CLI_EXIT_FAIL; }
  if ((rc = meter_zone_default(*out, IMC_TZ_CHINA_S, &billing_tz))) {
    cli_err(verb, "the stored billing zone (meta %s): %s", METER_ZONE_KEY, imc_strerror(rc));
    store_close(*out);
    *out = NULL;
    return CLI_EXIT_FAIL;
  }
  return 0;
}

