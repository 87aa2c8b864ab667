/* End-to-end: the `imcloud` command line as a new user meets it (issue 17) —
 * read-only commands on a directory without data create nothing, --version,
 * `app create` naming its price book and the rule, human output (local
 * date-times with zone, 元 next to fen) versus --json machine values, one
 * exit status per kind of failure (1 bad value, 2 malformed), messages that
 * name only the wrong field, range-checked numbers. Runs the real binary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_cli.h"

static e2e_server_t box; /* only its data directory: no server needed */

/* Run `imcloud ARGS` (a shell fragment, no --data added) with TZ=CST-8 (UTC+8, no tzdata needed); capture
 * stdout and stderr; return the exit status. */
#define run(...) e2e_cli_run(box.dir, "TZ=CST-8 ", __VA_ARGS__)

static char out[1 << 16], err[4096];

static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
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

/* A fresh data directory with one customer; returns its path (static). */
static const char *fresh_data(const char *name)
{
  static char dir[400];
  snprintf(dir, sizeof dir, "%s/%s", box.dir, name);
  if (run(out, sizeof out, err, sizeof err, "customer create --name acme --data '%s'", dir)) fail_msg("customer create: %s", err);
  return dir;
}

static void test_read_only_creates_nothing(void **st)
{
  (void)st;
  char dir[400], db[420];
  snprintf(dir, sizeof dir, "%s/nothing-here", box.dir);
  snprintf(db, sizeof db, "%s/imcloud.db", dir);
  static const char *const cmds[] = {
    "app list", "app show 1400000001", "customer list", "wallet show --customer 1", "operator token",
    "wallet topup --customer 1 --amount-fen 100", "app create --customer 1 --name chat --region china",
  };
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s --data '%s'", cmds[i], dir), 1);
    assert_string_equal(out, "");
    char want[512];
    snprintf(want, sizeof want, "no imcloud data in %s — use --data DIR", dir);
    if (!strstr(err, want)) fail_msg("%s: stderr %s", cmds[i], err);
    assert_false(exists(dir));
    assert_false(exists(db));
  }
  /* an existing directory without a database is not data either, and stays empty */
  assert_int_equal(mkdir(dir, 0700), 0);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app list --data '%s'", dir), 1);
  assert_false(exists(db));
  assert_int_equal(rmdir(dir), 0);
  /* customer create is one of the commands that make it */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "customer create --name first --data '%s'", dir), 0);
  assert_true(exists(db));
}

static void test_version(void **st)
{
  (void)st;
  char a[256];
  assert_int_equal(run(out, sizeof out, err, sizeof err, "--version"), 0);
  assert_true(!strncmp(out, "imcloud 0.", 10));
  snprintf(a, sizeof a, "%.200s", out);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "version"), 0);
  assert_string_equal(out, a);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "version extra"), 2);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "version --help"), 0); /* it exited 2 */
  assert_non_null(strstr(out, "usage: imcloud version"));
  /* usersig gen: an upper-case key signs as the key (the server refused the signature of the upper-case bytes) */
  static const char lo[] = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
  char up[65], sig[1024];
  for (size_t i = 0; i < sizeof up; i++) up[i] = (char)toupper((unsigned char)lo[i]);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "usersig gen --sdkappid 1400000001 --key %s --identifier u", up), 0);
  snprintf(sig, sizeof sig, "%.*s", (int)strcspn(out, "\n"), out);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "usersig verify --sdkappid 1400000001 --key %s --identifier u '%s'", lo, sig), 0);
}

static void test_app_create_names_its_book(void **st)
{
  (void)st;
  const char *d = fresh_data("books");
  /* the first app, today, in China: s2022 by P-40 */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app create --customer 1 --name cn --region china --data '%s'", d), 0);
  assert_non_null(strstr(out, "s2022: china is the China data center"));
  assert_non_null(strstr(out, "(P-40)"));
  assert_non_null(strstr(out, "created app 1400000001 \"cn\""));
  /* overseas: intl by P-50, and --json carries the same reason */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app create --customer 1 --name sg --region singapore --json --data '%s'", d), 0);
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "scheme")), "intl");
  assert_non_null(strstr(json_string_value(json_object_get(j, "scheme_reason")), "(P-50)"));
  json_decref(j);
  /* an imported app older than 2019-12-27 makes the customer legacy (P-01) */
  const char *d2 = fresh_data("books-legacy");
  assert_int_equal(run(out, sizeof out, err, sizeof err,
                       "app create --customer 1 --name old --region usa --created-at 2018-03-01 --data '%s'", d2), 0);
  assert_non_null(strstr(out, "legacy: this customer's first app was created on 2018-03-01, before 2019-12-27 (P-01)"));
  /* a later app of that customer stays legacy, and says why */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app create --customer 1 --name new --region china --data '%s'", d2), 0);
  assert_non_null(strstr(out, "legacy: this customer's first app was created on 2018-03-01"));
  /* an explicit scheme says it was given */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app create --customer 1 --name era --region china --scheme s2019 --data '%s'", d2), 0);
  assert_non_null(strstr(out, "s2019: given with --scheme"));
}

static void test_human_and_json_output(void **st)
{
  (void)st;
  const char *d = fresh_data("human");
  /* customer create says what it created, with a local time and zone (TZ=CST-8) */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "customer create --name beta --data '%s'", d), 0);
  assert_non_null(strstr(out, "created customer 2 \"beta\""));
  assert_non_null(strstr(out, "CST +0800"));
  assert_int_equal(run(out, sizeof out, err, sizeof err, "customer create --name gamma --json --data '%s'", d), 0);
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "id")), 3);
  assert_true(json_is_integer(json_object_get(j, "created_at"))); /* machine value: unix seconds */
  json_decref(j);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "customer list --data '%s'", d), 0);
  assert_non_null(strstr(out, "CST +0800"));
  /* money: 元 with two decimals next to fen; JSON keeps integer fen */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "wallet topup --customer 1 --amount-fen 100250 --reference r1 --data '%s'", d), 0);
  assert_non_null(strstr(out, "1,002.50 元 (100250 fen)"));
  assert_int_equal(run(out, sizeof out, err, sizeof err, "wallet show --customer 1 --data '%s'", d), 0);
  assert_non_null(strstr(out, "balance 1,002.50 元 (100250 fen)"));
  assert_non_null(strstr(out, "+1,002.50"));
  assert_non_null(strstr(out, "CST +0800"));
  assert_int_equal(run(out, sizeof out, err, sizeof err, "wallet show --customer 1 --json --data '%s'", d), 0);
  assert_non_null(strstr(out, "\"balance_fen\":100250"));
  assert_null(strstr(out, "元"));
  /* app show: a local date-time instead of unix seconds */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app create --customer 1 --name cn --region china --data '%s'", d), 0);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app show 1400000001 --data '%s'", d), 0);
  assert_non_null(strstr(out, "created    20"));
  assert_non_null(strstr(out, "CST +0800"));
}

static void test_exit_status_and_messages(void **st)
{
  (void)st;
  const char *d = fresh_data("exits");
  /* documented in --help */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "--help"), 0);
  assert_non_null(strstr(out, "1 bad value or refused request, 2 malformed command line"));
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app --help"), 0);
  assert_non_null(strstr(out, "2 malformed command line"));
  /* 2: malformed command lines */
  static const char *const malformed[] = {
    "nosuchverb", "app", "app frobnicate", "app create --customer 1 --name x", "app list --bogus",
    "customer create", "wallet show", "usersig gen --sdkappid 1 --key k", "app show", "quote --edition pro --bill-month 2026-10",
    "serve --bogus", "quote --scheme s2022 --edition pro --bill-month 2026-10 --frobnicate",
  };
  for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
    int rc = run(out, sizeof out, err, sizeof err, "%s --data '%s'", malformed[i], d);
    if (rc != 2) fail_msg("%s: exit %d, want 2 (%s)", malformed[i], rc, err);
    assert_string_equal(out, "");
  }
  /* 1: bad values, each message naming only the wrong field, in one quoting style */
  static const struct { const char *args, *want, *not_want; } bad[] = {
    { "app create --customer 1 --name chat --region mars", "--region: \"mars\" must be one of china,", "name" },
    { "app create --customer 1 --name chat --region china --scheme s1999", "--scheme: \"s1999\" must be one of legacy,", "region" },
    { "app create --customer 1 --name chat --region china --created-at 2026-13-01", "--created-at: \"2026-13-01\"", "region" },
    { "app create --customer 99 --name chat --region china", "--customer: no customer 99", "region" },
    { "app create --customer 1 --name '' --region china", "--name: \"\" must be 1-127 bytes", "region" },
    { "app create --customer 1 --name chat --region china --created-at 2099-01-01", "--created-at: \"2099-01-01\" must not be in the future", "region" },
    { "app create --customer 0 --name chat --region china", "--customer: \"0\" is not an integer", "region" },
    { "app show abc", "\"abc\" is not an SDKAppID", NULL },
    { "app show 1499999999", "no app 1499999999", NULL },
    { "wallet topup --customer 1 --amount-fen -5", "--amount-fen: \"-5\" is not an integer in [1,", NULL },
    { "wallet topup --customer 1 --amount-fen 5 --reference 'has space'", "--reference: \"has space\" must be 1-64 printable", "reason" },
    { "wallet topup --customer 1 --amount-fen 5 --reason ''", "--reason: \"\" must be 1-200 bytes", "reference" },
    { "wallet show --customer 4242", "--customer: no customer 4242", NULL },
    /* text that is not UTF-8 (a GBK terminal): refused before anything is written (it was stored, then
     * --json crashed and the rows vanished from every JSON listing) */
    { "customer create --name \"$(printf 'x\\377')\" --json", "--name must be 1-127 bytes of UTF-8 text", NULL },
    { "app create --customer 1 --name \"$(printf 'x\\377')\" --region china", "must be 1-127 bytes of UTF-8 text", NULL },
    { "wallet topup --customer 1 --amount-fen 5 --reason \"$(printf 'x\\377')\"", "must be 1-200 bytes of UTF-8 text", NULL },
    { "usersig gen --sdkappid 1400000001 --key 5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e --identifier u --expire -5",
      "--expire: \"-5\" is not an integer in [1,", NULL },
    { "usersig gen --sdkappid 1400000001 --key zz --identifier u", "--key: the secret key of an app is 64 hex digits", "identifier" },
    { "usersig gen --sdkappid 1400000001 --key 5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e --identifier 'a b'",
      "--identifier: \"a b\"", "key" },
    { "usersig gen --sdkappid 0 --key zz --identifier u", "--sdkappid: \"0\"", NULL },
    { "usersig gen --sdkappid 99999999999 --key zz --identifier u", "--sdkappid: \"99999999999\"", NULL },
    { "serve --log-level loud", "log_level: \"loud\" is not one of", NULL },
    { "serve --max-body-bytes 5x", "max_body_bytes: \"5x\" is not an integer", NULL },
    { "serve --msg-purge-interval-ms 86400001", "msg_purge_interval_ms: \"86400001\" is not an integer in [0, 86400000]", NULL },
    { "serve --msg-purge-interval-ms 0.5", "msg_purge_interval_ms: \"0.5\" is not an integer", NULL },
    { "serve --ws-path ws2", "ws_path: \"ws2\" must be a URL path starting with /", NULL }, /* it served on no path */
    { "serve --pricebooks-dir /nonexistent/books", "pricebooks_dir: \"/nonexistent/books\" is not a directory", NULL },
    { "bill settle --customer 4242", "no such customer", NULL },                            /* it said "0 bills paid" */
    { "quote --scheme s2022 --edition pro --bill-month 1999-01", "--bill-month: \"1999-01\" is before", NULL },
    { "quote --scheme s2022 --edition pro --bill-month 2026-10 --peak-dau -1", "--peak-dau: \"-1\"", NULL },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = run(out, sizeof out, err, sizeof err, "%s --data '%s'", bad[i].args, d);
    if (rc != 1) fail_msg("%s: exit %d, want 1 (%s)", bad[i].args, rc, err);
    assert_string_equal(out, "");
    if (!strstr(err, bad[i].want)) fail_msg("%s: stderr %s, want %s", bad[i].args, err, bad[i].want);
    if (bad[i].not_want && strstr(err, bad[i].not_want)) fail_msg("%s: stderr %s also names %s", bad[i].args, err, bad[i].not_want);
    assert_null(strchr(err, '\'')); /* one quoting style: double quotes */
  }
  /* nothing was created by the refused commands */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app list --json --data '%s'", d), 0);
  assert_string_equal(out, "{\"apps\":[]}\n");
  assert_int_equal(run(out, sizeof out, err, sizeof err, "customer list --json --data '%s'", d), 0);
  assert_null(strstr(out, "\"id\":2"));
  assert_int_equal(run(out, sizeof out, err, sizeof err, "wallet show --customer 1 --json --data '%s'", d), 0);
  assert_non_null(strstr(out, "\"balance_fen\":0,"));
}

/* P-01 / P-50: a customer's first app decides the scheme of all its apps; an
 * app dated before the apps a customer has, across a cutoff, is refused (it
 * was made legacy while the others stayed s2022 and their bills changed). */
static void test_backdated_app_refused(void **st)
{
  (void)st;
  const char *d = fresh_data("backdated");
  assert_int_equal(run(out, sizeof out, err, sizeof err, "customer create --name c --data '%s'", d), 0);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app create --customer 1 --name now --region china --data '%s'", d), 0);
  int rc = run(out, sizeof out, err, sizeof err, "app create --customer 1 --name old --region china --created-at 2018-01-01 --data '%s'", d);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "--created-at: created_at is before the customer's first app"));
  /* after the cutoffs it is taken */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app create --customer 1 --name y25 --region china --created-at 2025-01-01 --data '%s'", d), 0);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app list --json --data '%s'", d), 0);
  assert_null(strstr(out, "\"old\""));
  assert_null(strstr(out, "legacy"));
  /* a new customer's first app may be as old as it is */
  assert_int_equal(run(out, sizeof out, err, sizeof err, "customer create --name d --data '%s'", d), 0);
  assert_int_equal(run(out, sizeof out, err, sizeof err, "app create --customer 2 --name old --region china --created-at 2018-01-01 --data '%s'", d), 0);
  assert_non_null(strstr(out, "legacy"));
}

/* serve: build info in the start line; a taken port says so and how to pick
 * another, at --log-level off too; a data directory in use by a server is
 * refused. */
static void test_serve_start_line_and_port_in_use(void **st)
{
  (void)st;
  e2e_server_t srv;
  assert_int_equal(e2e_start(&srv, NULL, NULL, NULL, NULL), 0);
  char *log = e2e_server_log(&srv);
  assert_non_null(strstr(log, "msg=\"listening\""));
  assert_non_null(strstr(log, "version=\"0."));
  free(log);
  char other[400];
  snprintf(other, sizeof other, "%s/second", box.dir);
  int rc = run(out, sizeof out, err, sizeof err, "serve --listen 127.0.0.1:%d --data '%s'", srv.port, other);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "address already in use"));
  assert_non_null(strstr(err, "--listen HOST:PORT"));
  assert_non_null(strstr(err, "IMCLOUD_LISTEN=127.0.0.1:8081 make run"));
  assert_null(strstr(err, "msg=\"listening\""));
  /* at --log-level off too: a server that cannot start says why (it was
   * silent until 2026-12-04: exit 1 and not a word) */
  rc = run(out, sizeof out, err, sizeof err, "serve --log-level off --listen 127.0.0.1:%d --data '%s'", srv.port, other);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "address already in use"));
  char file[400]; /* a data directory that cannot be made: its parent is a file */
  snprintf(file, sizeof file, "%s/plain-file", box.dir);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  rc = run(out, sizeof out, err, sizeof err, "serve --log-level off --listen 127.0.0.1:0 --data '%s/sub'", file);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "cannot create data directory"));
  /* a second server on a data directory in use refuses to start (it ran, and the two broke each
   * other's sequences: 70402 "already exists"), and names the first one's pid */
  rc = run(out, sizeof out, err, sizeof err, "serve --log-level off --listen 127.0.0.1:0 --data '%s'", srv.dir);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "in use by another imcloud server"));
  char pid[32];
  snprintf(pid, sizeof pid, "pid=%d ", (int)srv.pid);
  assert_non_null(strstr(err, pid));
  assert_int_equal(e2e_server_stop(&srv), 0);
  /* the lock goes with the process: the same directory serves again */
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_read_only_creates_nothing), cmocka_unit_test(test_version),
    cmocka_unit_test(test_app_create_names_its_book), cmocka_unit_test(test_human_and_json_output),
    cmocka_unit_test(test_exit_status_and_messages), cmocka_unit_test(test_serve_start_line_and_port_in_use),
    cmocka_unit_test(test_backdated_app_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
