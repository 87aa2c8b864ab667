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
#include "e2e_cli.h"

static e2e_server_t box; /* only its data directory */
static char out[1 << 16], err[8192];

/* Run `imcloud ARGS` (a shell fragment, no --data added) with TZ=CST-8;
 * capture stdout and stderr; return the exit status. */
#define run(...) e2e_cli_run(box.dir, "TZ=CST-8 ", out, sizeof out, err, sizeof err, __VA_ARGS__)

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
    static char union_opts[4 * MAXO][40], mine[4][MAXO][40];
    int nu = 0, n[4] = { 0 };
    for (int f = 0; f < 4 && cmds[c].forms[f]; f++) {
      assert_int_equal(run("%s --help", cmds[c].forms[f]), 0);
      n[f] = listed(mine[f], MAXO);
      assert_true(n[f] > 0);
      for (int i = 0; i < n[f]; i++) {
        int seen = 0;
        for (int k = 0; k < nu; k++) seen |= !strcmp(union_opts[k], mine[f][i]);
        if (!seen) memcpy(union_opts[nu++], mine[f][i], 40);
      }
    }
    for (int f = 0; f < 4 && cmds[c].forms[f]; f++) {
      /* its own options all known (a run or a few), each other form's refused (a run each) */
      e2e_cli_listed_known(box.dir, out, sizeof out, err, sizeof err, cmds[c].forms[f], mine[f], n[f]);
      for (int k = 0; k < nu; k++) {
        int is_listed = 0;
        for (int i = 0; i < n[f]; i++) is_listed |= !strcmp(mine[f][i], union_opts[k]);
        if (is_listed) continue;
        /* --opt=1: refused as unknown, whatever its kind in the form that takes it */
        int rc = run("%s %s=1 --help", cmds[c].forms[f], union_opts[k]);
        char want[4096];
        snprintf(want, sizeof want, "unknown option %s\n", union_opts[k]);
        if (rc != 2 || !strstr(err, want) || out[0])
          fail_msg("imcloud %s: %s is not listed in its --help but accepted: exit %d, stderr %s", cmds[c].forms[f],
                   union_opts[k], rc, err);
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
  assert_string_equal(err, "imcloud bill: unknown subcommand 'frob' (run, settle, recheck, or none)\n");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_each_form_takes_its_options),
    cmocka_unit_test(test_other_forms_options_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
