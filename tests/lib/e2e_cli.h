/* e2e_cli.h — the `imcloud` command line from end-to-end tests (header-only;
 * include after cmocka.h and e2e.h): a run with its stdout and stderr
 * captured, and the check that a command knows every option its --help
 * lists. Test-only. */
#ifndef IMC_TESTS_E2E_CLI_H
#define IMC_TESTS_E2E_CLI_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

/* Run `ENV 'BIN' ARGS` (ENV: "" or variables such as "TZ=CST-8 "; ARGS a
 * shell fragment from fmt, nothing added) with stdin from /dev/null; its
 * stdout and stderr go through the files DIR/out and DIR/err into out and
 * err (NUL-terminated, cut at outcap - 1 and errcap - 1 bytes). Returns the
 * exit status (128 when it did not exit). */
static inline int e2e_cli_run(const char *dir, const char *env, char *out, size_t outcap, char *err, size_t errcap,
                              const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static inline int e2e_cli_run(const char *dir, const char *env, char *out, size_t outcap, char *err, size_t errcap,
                              const char *fmt, ...)
{
  char args[4096], cmd[6144];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "%s'%s' %s >'%s/out' 2>'%s/err' </dev/null", env, e2e_bin(), args, dir, dir);
  int st = system(cmd);
  static const char *const names[2] = { "out", "err" };
  char *bufs[2] = { out, err };
  size_t caps[2] = { outcap, errcap };
  for (int i = 0; i < 2; i++) {
    char path[320];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(bufs[i], 1, caps[i] - 1, f) : 0;
    if (f) fclose(f);
    bufs[i][n] = 0;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* `imcloud CMD` (a shell fragment: "app upgrade") knows each of the n
 * options names[] ("--at"; what its --help lists): all given in one run as
 * --name=1, before --help, until the parser reaches --help. An option the
 * parser names as taking no value (a flag) or as out of range was found,
 * and is given bare or at its minimum in the next run: a run per flag and
 * range, not per option. Fails the test when one is unknown or the runs
 * end otherwise. dir, out and err as e2e_cli_run (TZ=CST-8). */
static inline void e2e_cli_listed_known(const char *dir, char *out, size_t outcap, char *err, size_t errcap, const char *cmd,
                                        char names[][40], int n)
{
  char val[64][24];
  assert_true(n <= 64);
  for (int k = 0; k < n; k++) snprintf(val[k], sizeof val[k], "=1");
  for (int tries = 0;; tries++) {
    char args[3072] = "";
    for (int k = 0; k < n; k++) snprintf(args + strlen(args), sizeof args - strlen(args), " %.39s%.23s", names[k], val[k]);
    int rc = e2e_cli_run(dir, "TZ=CST-8 ", out, outcap, err, errcap, "%s%s --help", cmd, args);
    if (rc == 0 && strstr(out, "usage: imcloud")) return;
    int k = 0;
    for (; k < n; k++) {
      char flag[96], range[96];
      snprintf(flag, sizeof flag, "option %.39s takes no value\n", names[k]);
      snprintf(range, sizeof range, "%.39s: \"1\" is not an integer in [", names[k]);
      if (strstr(err, flag)) { val[k][0] = 0; break; }
      if (strstr(err, range)) { snprintf(val[k], sizeof val[k], "=%lld", atoll(strstr(err, range) + strlen(range))); break; }
    }
    if (k == n || tries > n) fail_msg("imcloud %s%s --help: exit %d, stderr %s", cmd, args, rc, err);
  }
}

#endif
