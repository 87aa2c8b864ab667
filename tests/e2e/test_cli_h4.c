/* End-to-end: each form of a command with subcommands (customer, wallet,
 * usage, bill, app create|list|show, usersig) takes exactly the options its
 * --help lists; an option of another form of the same command is refused
 * (exit 2, the option named, nothing done). They were accepted and silently
 * ignored: `bill settle --month` paid every open bill, `wallet show
 * --amount-fen` showed, `usage record-minutes --month` recorded today.
 * Runs the real binary; no server needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

static e2e_server_t box; /* only its data directory */
static char out[1 << 16], err[8192];

/* Run `imcloud ARGS` (a shell fragment) with TZ=CST-8; capture stdout and
 * stderr; return the exit status. */
static int run(const char *fmt, ...)
{
  char args[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "TZ=CST-8 '%s' %s >'%s/out' 2>'%s/err' </dev/null", e2e_bin(), args, box.dir, box.dir);
  int st = system(cmd);
  static const char *const names[2] = { "out", "err" };
  char *bufs[2] = { out, err };
  size_t caps[2] = { sizeof out, sizeof err };
  for (int i = 0; i < 2; i++) {
    char path[320];
    snprintf(path, sizeof path, "%s/%s", box.dir, names[i]);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(bufs[i], 1, caps[i] - 1, f) : 0;
    if (f) fclose(f);
    bufs[i][n] = 0;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&box);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  e2e_dir_remove(&box);
  return 0;
}

/* The options a --help output lists ("  --name ..." lines), into names[]. */
static int listed(char names[][40], int cap)
{
  int n = 0;
  for (char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    char name[32];
    if (sscanf(line, "  --%30[a-z-] ", name) != 1) continue;
    assert_true(n < cap);
    snprintf(names[n++], 40, "--%s", name);
  }
  return n;
}

/* For every form: each option its --help lists is known to its parser, and
 * each option another form of the same command lists is refused as unknown. */
static void test_each_form_takes_its_options(void **st)
{
  (void)st;
  static const struct { const char *cmd, *forms[4]; } cmds[] = {
    { "customer", { "customer create", "customer list", "customer big-groups" } },
    { "wallet", { "wallet topup", "wallet show" } },
    { "usage", { "usage", "usage import", "usage record-minutes" } },
    { "bill", { "bill", "bill run", "bill settle" } },
    { "app", { "app create", "app list", "app show" } },
    { "usersig", { "usersig gen", "usersig verify" } },
  };
  enum { MAXO = 24 };
  for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
    static char union_opts[4 * MAXO][40], mine[MAXO][40];
    int nu = 0;
    for (int f = 0; f < 4 && cmds[c].forms[f]; f++) {
      assert_int_equal(run("%s --help", cmds[c].forms[f]), 0);
      char tmp[MAXO][40];
      int n = listed(tmp, MAXO);
      assert_true(n > 0);
      for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int k = 0; k < nu; k++) seen |= !strcmp(union_opts[k], tmp[i]);
        if (!seen) memcpy(union_opts[nu++], tmp[i], 40);
      }
    }
    for (int f = 0; f < 4 && cmds[c].forms[f]; f++) {
      assert_int_equal(run("%s --help", cmds[c].forms[f]), 0);
      int n = listed(mine, MAXO);
      for (int k = 0; k < nu; k++) {
        int is_listed = 0;
        for (int i = 0; i < n; i++) is_listed |= !strcmp(mine[i], union_opts[k]);
        /* --opt=1: a flag says "takes no value", a value option is taken; neither is "unknown" */
        int rc = run("%s %s=1 --help", cmds[c].forms[f], union_opts[k]);
        int unknown = strstr(err, "unknown option") != NULL;
        if (is_listed == unknown) fail_msg("imcloud %s: %s is %slisted in its --help but %s", cmds[c].forms[f], union_opts[k],
                                           is_listed ? "" : "not ", unknown ? "refused as unknown" : "accepted");
        if (unknown) {
          char want[4096];
          snprintf(want, sizeof want, "unknown option %s\n", union_opts[k]);
          if (rc != 2 || !strstr(err, want) || out[0]) fail_msg("imcloud %s %s: exit %d, stderr %s", cmds[c].forms[f], union_opts[k], rc, err);
        }
      }
    }
  }
}

/* The harm of an ignored option: the command ran as if it were not given.
 * Now refused before anything is done. */
static void test_other_forms_options_refused(void **st)
{
  (void)st;
  char d[400];
  snprintf(d, sizeof d, "%s/data", box.dir);
  assert_int_equal(run("customer create --name acme --data '%s'", d), 0);
  assert_int_equal(run("wallet topup --customer 1 --amount-fen 100000 --reference seed --data '%s'", d), 0);
  assert_int_equal(run("app create --customer 1 --name a --region china --data '%s'", d), 0);
  static const struct { const char *args, *opt; } cases[] = {
    { "bill settle --customer 1 --month 2026-11", "--month" },          /* a bill run option: settle pays every month */
    { "bill --sdkappid 1400000001 --month 2026-11 --customer 1", "--customer" }, /* settle's, given to the bill */
    { "bill run --month 2026-11 --sdkappid 1400000001", "--sdkappid" }, /* run bills every app, not this one */
    { "bill run --month 2026-11 --csv", "--csv" },
    { "bill settle --customer 1 --pricebooks /nonexistent", "--pricebooks" },
    { "wallet show --customer 1 --amount-fen 100", "--amount-fen" },
    { "wallet show --customer 1 --reference r", "--reference" },
    { "wallet show --customer 1 --reason why", "--reason" },
    { "customer list --name acme", "--name" },
    { "customer create --name other --customer 1", "--customer" },
    { "customer create --name other --extra 3", "--extra" },
    { "customer big-groups --customer 1 --name x", "--name" },
    { "usage --sdkappid 1400000001 --month 2026-12 --kind audio", "--kind" },
    { "usage --sdkappid 1400000001 --month 2026-12 --date 2026-12-01", "--date" },
    { "usage record-minutes --sdkappid 1400000001 --kind audio --minutes 5 --event-id e1 --month 2026-11", "--month" },
    { "usage record-minutes --sdkappid 1400000001 --kind audio --minutes 5 --event-id e2 --csv", "--csv" },
    { "usage import --sdkappid 1400000001 /dev/null --minutes 5", "--minutes" },
    { "app list --name a", "--name" },
    { "app show 1400000001 --customer 1", "--customer" },
    { "app create --customer 1 --name b --region china --sdkappid 1", "--sdkappid" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int rc = run("%s --data '%s'", cases[i].args, d);
    char want[80];
    snprintf(want, sizeof want, "unknown option %s\n", cases[i].opt);
    if (rc != 2 || !strstr(err, want) || out[0]) fail_msg("%s: exit %d, stderr %s, stdout %s", cases[i].args, rc, err, out);
  }
  /* options before the subcommand name it just the same */
  assert_int_equal(run("wallet --customer 1 --amount-fen 5 show --data '%s'", d), 2);
  assert_string_equal(err, "imcloud wallet: unknown option --amount-fen\n");
  assert_int_equal(run("usersig verify --sdkappid 1 --key k --identifier u --expire 5 SIG"), 2);
  assert_string_equal(err, "imcloud usersig: unknown option --expire\n");
  /* nothing was done: no minutes, one customer, one app, the wallet as seeded */
  assert_int_equal(run("usage --sdkappid 1400000001 --month 2026-12 --json --data '%s'", d), 0);
  assert_null(strstr(out, "\"audio\":5"));
  assert_int_equal(run("customer list --json --data '%s'", d), 0);
  assert_null(strstr(out, "\"id\":2"));
  assert_int_equal(run("app list --json --data '%s'", d), 0);
  assert_null(strstr(out, "\"name\":\"b\""));
  assert_int_equal(run("wallet show --customer 1 --json --data '%s'", d), 0);
  assert_non_null(strstr(out, "\"balance_fen\":100000"));
  /* each form still does its work with its own options */
  assert_int_equal(run("usage --sdkappid 1400000001 --month 2026-12 --csv --data '%s'", d), 0);
  assert_int_equal(run("bill settle --customer 1 --json --data '%s'", d), 0);
  assert_int_equal(run("customer big-groups --customer 1 --extra 2 --json --data '%s'", d), 0);
  assert_int_equal(run("wallet --customer 1 show --json --data '%s'", d), 0);
  /* a subcommand no form has is named as such, whatever options come with it */
  assert_int_equal(run("bill frob --customer 1 --data '%s'", d), 2);
  assert_string_equal(err, "imcloud bill: unknown subcommand 'frob' (run, settle, or none)\n");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_each_form_takes_its_options),
    cmocka_unit_test(test_other_forms_options_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
