/* End-to-end: the curl examples of the REST documents work. The examples of
 * docs/rest-api.md and its area files (docs/rest-api-*.md) assume the app
 * `make run` sets up (a china app on its free edition, 127.0.0.1:8080, the
 * SDKAPPID and ADMIN_SIG its banner exports; TOKEN, the operator token it
 * shows) and build on each other. This test starts the real server on an
 * ephemeral port with its own data directory and such an app, takes every
 * example line in the order docs/rest-api.md's "Endpoints" table gives the
 * files (each file top to bottom), runs them in one /bin/sh with the port
 * put in, and checks each reply: a /v4/ call answers ActionStatus OK and
 * ErrorCode 0, an operator API call answers no "error", and a line that keeps
 * a value (NAME=$(curl …)) keeps a non-empty one. Every routed command (the
 * route table, `imcloud doc rest-routes`) must have an example. Runs from
 * the repository root (make check). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_op.h"
#include "e2e_fixture.h"

#define MAX_LINES 256
#define MAX_FILES 16

typedef struct example {
  char file[64];
  int line_no;
  char *text;     /* the shell line, without its indentation */
  char var[32];   /* NAME of a NAME=$(curl …) line, else "" */
} example_t;

/* The files of docs/rest-api.md's "## Endpoints" table in its order, each
 * once: the first backquoted docs/ path of each row's last cell. */
static int files_in_order(char files[][64], int cap)
{
  char *text = e2e_slurp("docs/rest-api.md");
  assert_non_null(text);
  char *p = strstr(text, "\n## Endpoints\n");
  assert_non_null(p);
  p = strstr(p, "|---");
  assert_non_null(p);
  int n = 0;
  for (p = strchr(p, '\n'); p && p[1] == '|'; p = strchr(p + 1, '\n')) {
    char *eol = strchr(p + 1, '\n');
    char *last = p + 1;
    for (char *c = p + 1; c < (eol ? eol : p + strlen(p)) - 1; c++)
      if (*c == '|') last = c;
    char *f = strstr(last, "`docs/");
    assert_true(f && (!eol || f < eol));
    f++;
    size_t k = strcspn(f, "`");
    assert_true(k < 64);
    int seen = 0;
    for (int i = 0; i < n; i++) seen |= strlen(files[i]) == k && !memcmp(files[i], f, k);
    if (seen) continue;
    assert_true(n < cap);
    memcpy(files[n], f, k);
    files[n++][k] = 0;
  }
  free(text);
  return n;
}

/* The example lines of one file, appended to ex: indented lines that start
 * with "curl " or "NAME=$(curl ". Any other line naming curl and /v4/ fails
 * the test (an example this test would not run). */
static int examples_of(const char *path, example_t *ex, int n, int cap)
{
  char *text = e2e_slurp(path);
  assert_non_null(text);
  int line_no = 0;
  for (char *line = text; line && *line; ) {
    char *eol = strchr(line, '\n');
    if (eol) *eol = 0;
    line_no++;
    const char *s = line;
    if (!strncmp(s, "    ", 4)) {
      s += 4;
      size_t v = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
      int assign = v > 0 && !strncmp(s + v, "=$(curl ", 8);
      if (assign || !strncmp(s, "curl ", 5)) {
        assert_true(n < cap);
        example_t *e = &ex[n++];
        assert_true(strlen(path) < sizeof e->file);
        memcpy(e->file, path, strlen(path) + 1);
        e->line_no = line_no;
        e->text = strdup(s);
        e->var[0] = 0;
        if (assign) {
          assert_true(v < sizeof e->var);
          memcpy(e->var, s, v);
          e->var[v] = 0;
        }
        s = NULL;
      }
    }
    if (s && strstr(line, "curl ") && strstr(line, "/v4/"))
      fail_msg("%s:%d: a curl line that is not an example line (indented \"curl \" or \"NAME=$(curl \")", path, line_no);
    line = eol ? eol + 1 : NULL;
  }
  free(text);
  return n;
}

/* Copy s to out with every "127.0.0.1:8080" made 127.0.0.1:port. */
static void with_port(const char *s, int port, FILE *out)
{
  static const char host[] = "127.0.0.1:8080";
  for (const char *h; (h = strstr(s, host)); s = h + sizeof host - 1) {
    fwrite(s, 1, (size_t)(h - s), out);
    fprintf(out, "127.0.0.1:%d", port);
  }
  fputs(s, out);
}

static void check_reply(const example_t *e, const char *reply)
{
  if (e->var[0]) {
    if (!reply[0] || reply[0] == '\n')
      fail_msg("%s:%d: %s kept an empty value: %s", e->file, e->line_no, e->var, e->text);
    return;
  }
  if (strstr(e->text, "/v4/")) {
    static const char ok[] = "{\"ActionStatus\":\"OK\",\"ErrorCode\":0,";
    if (strncmp(reply, ok, sizeof ok - 1))
      fail_msg("%s:%d: the example did not answer OK / ErrorCode 0: %s\nreply: %s", e->file, e->line_no, e->text, reply);
  } else if (reply[0] != '{' || strstr(reply, "\"error\"")) {
    fail_msg("%s:%d: the operator API example failed: %s\nreply: %s", e->file, e->line_no, e->text, reply);
  }
}

/* Every command of the route table has an example. */
static void check_every_route(const example_t *ex, int n)
{
  char cmd[700];
  snprintf(cmd, sizeof cmd, "'%s' doc rest-routes", e2e_bin());
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  static char table[1 << 16];
  size_t len = fread(table, 1, sizeof table - 1, p);
  table[len] = 0;
  assert_int_equal(pclose(p), 0);
  int routes = 0;
  for (const char *r = strstr(table, "\n| `"); r; r = strstr(r + 1, "\n| `")) {
    size_t k = strcspn(r + 4, "`");
    char want[128];
    assert_true(k + 6 < sizeof want);
    snprintf(want, sizeof want, "/v4/%.*s?", (int)k, r + 4);
    int found = 0;
    for (int i = 0; i < n && !found; i++) found = strstr(ex[i].text, want) != NULL;
    if (!found) fail_msg("the routed command %.*s has no curl example in docs/rest-api*.md", (int)k, r + 4);
    routes++;
  }
  assert_true(routes >= 60);
}

static void test_every_doc_curl_answers_ok(void **st)
{
  (void)st;
  char files[MAX_FILES][64];
  int nf = files_in_order(files, MAX_FILES);
  assert_true(nf >= 6);
  static example_t ex[MAX_LINES];
  int n = 0;
  for (int i = 0; i < nf; i++) n = examples_of(files[i], ex, n, MAX_LINES);
  check_every_route(ex, n);

  if (system("command -v curl >/dev/null 2>&1")) fail_msg("curl is not installed (scripts/deps.sh installs it)");

  /* the variables the make run banner gives */
  char sig[1024], auth[600];
  assert_int_equal(e2e_cli(&srv, sig, sizeof sig, "usersig gen --sdkappid %u --key %s --identifier administrator", app, key), 0);
  sig[strcspn(sig, "\r\n")] = 0;
  assert_int_equal(op_token_auth(&srv, auth, sizeof auth), 0);
  const char *token = auth + strlen("Authorization: Bearer ");
  auth[strcspn(auth, "\r\n")] = 0;

  /* one script: each example, then its kept value, then a marker */
  char script[400], curlrc[400];
  snprintf(script, sizeof script, "%s/doc-curls.sh", srv.dir);
  snprintf(curlrc, sizeof curlrc, "%s/.curlrc", srv.dir);
  FILE *rc = fopen(curlrc, "w");
  assert_non_null(rc);
  fputs("max-time = 5\n", rc); /* a hung example fails, the test goes on */
  fclose(rc);
  FILE *f = fopen(script, "w");
  assert_non_null(f);
  fprintf(f, "CURL_HOME='%s'; export CURL_HOME\nSDKAPPID=%u ADMIN_SIG='%s' TOKEN='%s'\n", srv.dir, app, sig, token);
  for (int i = 0; i < n; i++) {
    with_port(ex[i].text, srv.port, f);
    if (ex[i].var[0]) fprintf(f, "\nprintf '%%s' \"$%s\"", ex[i].var);
    fprintf(f, "\nprintf '\\n@@example %d\\n'\n", i);
  }
  fclose(f);

  char cmd[500];
  snprintf(cmd, sizeof cmd, "/bin/sh '%s' 2>&1", script);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  static char out[1 << 20];
  size_t len = fread(out, 1, sizeof out - 1, p);
  out[len] = 0;
  assert_int_equal(pclose(p), 0);

  char *reply = out;
  for (int i = 0; i < n; i++) {
    char mark[40];
    snprintf(mark, sizeof mark, "\n@@example %d\n", i);
    char *m = strstr(reply, mark);
    if (!m) fail_msg("%s:%d: no output after the example: %s", ex[i].file, ex[i].line_no, ex[i].text);
    *m = 0;
    check_reply(&ex[i], reply);
    reply = m + strlen(mark);
  }
  for (int i = 0; i < n; i++) free(ex[i].text);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_every_doc_curl_answers_ok) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
