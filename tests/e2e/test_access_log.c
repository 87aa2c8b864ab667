/* End-to-end: the access log (--access-log off|stderr|FILE, default off;
 * docs/decisions/foundation-rest-and-sessions.md). Each case runs a real
 * server, makes one REST call and one WebSocket session (login, close), and
 * reads where the lines went: by default nowhere (the server's stderr has
 * no level=access line, at --log-level info); with "stderr" both lines on
 * stderr even at --log-level warn; with a file both lines in the file and
 * none on stderr. A file that cannot be opened stops the server at start
 * with a message naming the setting.
 *
 * The two switches are independent (docs/decisions/logging-switches.md):
 * --log-level off writes no diagnostic line, from start to a forced exit
 * (a second signal while work is in flight: that line was written past the
 * level until 2026-12-03; a failure to start is printed: test_cli.c), and an access log that was asked for
 * still gets its lines at --log-level off, with nothing else beside them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char path[400];


static void start_in(const char *region, const char *const *args)
{
  e2e_dir_init(&srv);
  e2e_make_app(&srv, region, &app, key);
  snprintf(path, sizeof path, "%s/access.log", srv.dir);
  const char *argv[8];
  int n = 0;
  for (; args[n]; n++) argv[n] = strcmp(args[n], "FILE") ? args[n] : path;
  argv[n] = NULL;
  assert_int_equal(e2e_server_start(&srv, argv), 0);
}

static void start(const char *const *args) { start_in("singapore", args); }

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static char *read_file(const char *p)
{
  FILE *f = fopen(p, "r");
  if (!f) return strdup("");
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return strdup(buf);
}

/* One REST call and one WebSocket session, then wait for the session's line
 * to be written where `where` says (NULL: it is never written; wait a
 * little and make sure). */
static void traffic(const char *where)
{
  json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"al_user\"}"));
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "al_user", "Web"), 0);
  wsc_close(&c);
  for (int waited = 0; waited < 10000; waited += 20) {
    char *log = where ? read_file(where) : NULL;
    int done = log && strstr(log, "event=session_end");
    free(log);
    if (done) return;
    if (!where && waited >= 500) return;
    e2e_sleep_ms(20);
  }
  fail_msg("no session_end access line in %s", where);
}

static void expect_lines(const char *where, int present)
{
  char *log = read_file(where);
  int rest = strstr(log, "level=access mod=rest") && strstr(log, "cmd=im_open_login_svc/account_import");
  int ws = strstr(log, "level=access mod=ws event=session_end") != NULL;
  if (present && (!rest || !ws)) fail_msg("access lines missing from %s (rest %d, ws %d):\n%s", where, rest, ws, log);
  if (!present && strstr(log, "level=access")) fail_msg("an access line in %s:\n%s", where, log);
  free(log);
}

static void test_default_off(void **st)
{
  (void)st;
  static const char *const args[] = { NULL };
  start(args);
  traffic(NULL);
  expect_lines(srv.log_path, 0);
}

static void test_stderr_at_warn(void **st)
{
  (void)st;
  static const char *const args[] = { "--log-level", "warn", "--access-log", "stderr", NULL };
  start(args);
  traffic(srv.log_path);
  expect_lines(srv.log_path, 1);
}

static void test_file(void **st)
{
  (void)st;
  static const char *const args[] = { "--access-log", "FILE", NULL };
  start(args);
  traffic(path);
  expect_lines(path, 1);
  expect_lines(srv.log_path, 0);
}

/* A session displaced by a login on its platform (close 4002) has its line
 * too, once: it was unlinked from presence before its close, and its line
 * was skipped. */
static void test_displaced_session_line(void **st)
{
  (void)st;
  static const char *const args[] = { "--access-log", "FILE", NULL };
  start_in("china", args); /* its trial edition keeps one device per platform (singapore's keeps several) */
  json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"al_twice\"}"));
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "al_twice", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "al_twice", "Web"), 0); /* a is kicked: 4002 */
  int lines = 0;
  for (int waited = 0; waited < 10000 && !lines; waited += 20) {
    char *log = read_file(path);
    for (const char *p = log; (p = strstr(p, "event=session_end")); p++) {
      const char *nl = strchr(p, '\n'), *c = strstr(p, "close=4002");
      if (c && (!nl || c < nl)) lines++;
    }
    free(log);
    if (!lines) e2e_sleep_ms(20);
  }
  if (!lines) { char *l = read_file(path); fprintf(stderr, "%s", l); free(l); fail_msg("no session_end line with close=4002 in %s", path); }
  wsc_close(&a);
  wsc_close(&b);
  e2e_sleep_ms(300); /* b's own line, and nothing more for a */
  char *log = read_file(path);
  int n4002 = 0, all = 0;
  for (const char *p = log; (p = strstr(p, "event=session_end")); p++) {
    all++;
    const char *nl = strchr(p, '\n'), *c = strstr(p, "close=4002");
    if (c && (!nl || c < nl)) n4002++;
  }
  free(log);
  assert_int_equal(n4002, 1);
  assert_true(all >= 1 && all <= 2);
}

static void test_unopenable_file_refused(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  char cmd[2400];
  snprintf(cmd, sizeof cmd,
           "timeout 20 '%s' serve --listen 127.0.0.1:0 --data '%s' --access-log '%s/no/such/dir/a.log' 2>'%s'",
           srv.bin, srv.dir, srv.dir, srv.log_path);
  int rc = system(cmd);
  assert_true(WIFEXITED(rc));
  assert_int_equal(WEXITSTATUS(rc), 1);
  char *log = read_file(srv.log_path);
  if (!strstr(log, "access_log: cannot open")) fail_msg("no clear error:\n%s", log);
  free(log);
  e2e_dir_remove(&srv);
}

/* The server exited on its own (or was stopped by the test): remove its directory. */
static int teardown_exited(void **st)
{
  (void)st;
  if (srv.pid) e2e_server_kill(&srv);
  e2e_dir_remove(&srv);
  return 0;
}

/* The first start prints its operator token on stdout at any level (the
 * server log holds stdout too): the line that is not a diagnostic. */
static int token_line(const char *p, size_t n)
{
  static const char t[] = "new operator API token: imc_op_";
  return n >= sizeof t - 1 && !memcmp(p, t, sizeof t - 1);
}

/* Every line of the file is an access line, or the token (and there is at least one access line). */
static void only_access_lines(const char *where)
{
  char *log = read_file(where);
  int lines = 0;
  for (char *p = log; *p;) {
    char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    int token = token_line(p, n);
    if (n && !token && !memmem(p, n, " level=access ", 14)) fail_msg("a line that is not an access line at --log-level off:\n%.*s", (int)n, p);
    lines += n > 0 && !token;
    p += n + (nl != NULL);
  }
  if (!lines) fail_msg("no line in %s", where);
  free(log);
}

static void test_off_is_silent(void **st)
{
  (void)st;
  char hold[128];
  static const char *const args[] = { "--log-level", "off", NULL };
  assert_int_equal(e2e_start_sync_held(&srv, hold, sizeof hold, "logoff", "singapore", &app, key, args), 0);
  traffic(NULL);
  /* a write that stays in flight (no job completes from now on), so the
   * first SIGTERM leaves the server stopping, waiting for it */
  e2e_sync_hold(hold, 1);
  int w = e2e_connect(srv.port);
  assert_true(w >= 0);
  char body[256], req[2048], reply[16384], sig[1024];
  e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
  snprintf(body, sizeof body, "{\"UserID\":\"al_held\"}");
  snprintf(req, sizeof req,
           "POST /v4/im_open_login_svc/account_import?sdkappid=%u&identifier=administrator&usersig=%s&random=1"
           "&contenttype=json HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
           app, sig, strlen(body), body);
  assert_int_equal(e2e_send(w, req, strlen(req)), 0);
  int hz = e2e_connect(srv.port); /* keep-alive: the stopping server still answers open connections */
  assert_true(hz >= 0);
  static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(e2e_send(hz, get, sizeof get - 1), 0);
  assert_int_equal(e2e_http_read(hz, reply, sizeof reply, 5000), 200);
  assert_int_equal(kill(srv.pid, SIGTERM), 0);
  int status = 0;
  for (int tries = 0; tries < 500 && status != 503; tries++) {
    assert_int_equal(e2e_send(hz, get, sizeof get - 1), 0);
    status = e2e_http_read(hz, reply, sizeof reply, 5000);
    if (status != 503) e2e_sleep_ms(10);
  }
  assert_int_equal(status, 503); /* stopping, the write still in flight */
  assert_int_equal(kill(srv.pid, SIGTERM), 0); /* the second signal: exit now */
  int st2 = 0;
  assert_int_equal(waitpid(srv.pid, &st2, 0), srv.pid);
  srv.pid = 0;
  assert_true(WIFEXITED(st2));
  assert_int_equal(WEXITSTATUS(st2), 130);
  close(w);
  close(hz);
  e2e_sync_hold(hold, 0);
  char *log = read_file(srv.log_path), *rest = log;
  if (token_line(rest, strcspn(rest, "\n"))) rest += strcspn(rest, "\n") + (rest[strcspn(rest, "\n")] != 0); /* stdout */
  if (*rest) fail_msg("--log-level off, yet the server wrote:\n%s", rest);
  free(log);
}

static void test_off_keeps_access_log(void **st)
{
  (void)st;
  static const char *const args[] = { "--log-level", "off", "--access-log", "stderr", NULL };
  start(args);
  traffic(srv.log_path);
  assert_int_equal(e2e_server_stop(&srv), 0);
  expect_lines(srv.log_path, 1);
  only_access_lines(srv.log_path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_default_off, teardown),
    cmocka_unit_test_teardown(test_stderr_at_warn, teardown),
    cmocka_unit_test_teardown(test_file, teardown),
    cmocka_unit_test_teardown(test_displaced_session_line, teardown),
    cmocka_unit_test(test_unopenable_file_refused),
    cmocka_unit_test_teardown(test_off_is_silent, teardown_exited),
    cmocka_unit_test_teardown(test_off_keeps_access_log, teardown_exited),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
