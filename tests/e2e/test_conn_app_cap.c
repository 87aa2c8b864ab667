/* End-to-end: the per-app cap of logged-in WebSockets
 * (max_websockets_per_app; docs/decisions/connection-limits.md "Per-app cap",
 * src/api/ws_app_cap.c). Two apps on one server capped at 3 each:
 * - the 4th login of app A is answered 60018 and closed 4007 while app B
 *   still logs in 3; /healthz connections counts the refusal;
 * - every end of an A session gives its place back: logout, a close, a kick
 *   by REST, an account deletion; a login replacing the user's session of
 *   its platform is not past the cap and leaves the count as it was;
 * - a second login on a logged-in connection (refused 70402) counts nothing;
 * - the operator API's app view says the app's logged-in WebSockets;
 * - the refusal's message, close reason and log line name the cap that
 *   refused (the app's own or max_websockets_per_app) and its value;
 * - the operator API's app list and view and `imcloud app show` say the
 *   app's own cap (null when unset);
 * - an app's own cap set by the operator (POST .../max-websockets) replaces
 *   the server's for that app at once and after a restart; 0 is no cap,
 *   null the server's again; sessions online above a lowered cap stay; one
 *   set by the CLI (`imcloud app max-websockets`) comes by the change log;
 * - a login admitted holds its app's place from its admission: with its
 *   storage job held, a second login past the cap is refused at once, and
 *   never counted in the day's DAU. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app_a, app_b;
static char key_a[128], key_b[128];
static char auth[256];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--max-websockets-per-app", "3", NULL };
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app_a, key_a);
  e2e_make_app(&srv, "china", &app_b, key_b);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  if (!e2e_server_start(&srv, args)) return 0;
  char *log = e2e_server_log(&srv);
  fprintf(stderr, "server did not start\n%s", log);
  free(log);
  return -1;
}

/* Connections a test leaves logged in: the server stops with their sessions online (each uncounted once as
 * it closes them), then they are closed. */
static int left[4], n_left;

static int teardown(void **st)
{
  (void)st;
  int rc = e2e_finish(&srv);
  while (n_left) close(left[--n_left]);
  return rc;
}

static long long conns(const char *field) { return e2e_healthz_stat(srv.port, "connections", field); }

/* A login of user on app A (platform Web, device "dev-<user>"): its fd, the connection open and logged in. */
static int login_a(const char *user)
{
  char reply[4096];
  int fd = e2e_ws_login(srv.port, app_a, key_a, user, "Web", reply, sizeof reply);
  if (fd < 0) fail_msg("login of %s refused: %s", user, reply);
  return fd;
}

/* A login of user on app (key) that must be refused at the cap: the reply's code 60018 and its message naming
 * the cap that refused it (own: the app's own, set by the operator; else max_websockets_per_app) and its value,
 * then close 4007 with the reason naming it too. */
static void login_refused_at(uint32_t app, const char *key, const char *user, int own, long long cap)
{
  char frame[2048], buf[4096], want[256];
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  e2e_ws_login_frame(app, key, user, "Web", "dev-refused", frame, sizeof frame);
  assert_int_equal(e2e_ws_send_text(fd, frame), 0);
  if (e2e_ws_recv_text(fd, buf, sizeof buf, 5000) < 0) fail_msg("no answer to %s's login past the cap", user);
  if (own)
    snprintf(want, sizeof want, "\"msg\":\"the app holds its own maximum of %lld logged-in WebSockets on this server "
             "(its max_websockets, set by the operator); retry later\"", cap);
  else
    snprintf(want, sizeof want, "\"msg\":\"the app holds its maximum of %lld logged-in WebSockets on this server "
             "(max_websockets_per_app); retry later\"", cap);
  if (!strstr(buf, "\"op\":\"login\"") || !strstr(buf, "\"code\":60018") || !strstr(buf, want))
    fail_msg("login of %s past the cap answered: %s (want %s)", user, buf, want);
  int op = 0, code = 0, n = -1;
  while ((n = e2e_ws_recv(fd, &op, buf, sizeof buf, 5000, &code)) >= 0 && op != 8) {}
  if (op != 8 || code != 4007) fail_msg("login of %s past the cap: no close 4007 (opcode %d, code %d)", user, op, code);
  const char *reason = own ? "the app holds its own max_websockets" : "the app holds max_websockets_per_app";
  if (n < 2 || strcmp(buf + 2, reason)) fail_msg("login of %s past the cap: close reason \"%s\"", user, n >= 2 ? buf + 2 : "");
  close(fd);
}

/* Refused at the server's max_websockets_per_app (3). */
static void login_refused(uint32_t app, const char *key, const char *user) { login_refused_at(app, key, user, 0, 3); }

static void login_a_refused(const char *user) { login_refused(app_a, key_a, user); }

/* Send frame on fd: the next text frame it reads must contain want. */
static void rpc(int fd, const char *frame, const char *want)
{
  char buf[4096];
  assert_int_equal(e2e_ws_send_text(fd, frame), 0);
  if (e2e_ws_recv_text(fd, buf, sizeof buf, 5000) < 0 || !strstr(buf, want)) fail_msg("%s answered: %s", frame, buf);
}

/* Read fd until its close frame: its code. */
static int close_code_of(int fd)
{
  char buf[4096];
  int op = 0, code = 0;
  while (e2e_ws_recv(fd, &op, buf, sizeof buf, 5000, &code) >= 0 && op != 8) {}
  return op == 8 ? code : -1;
}

static void rest_a(const char *cmd, const char *body)
{
  char out[4096];
  assert_int_equal(e2e_v4(srv.port, app_a, key_a, "administrator", cmd, body, out, sizeof out), 200);
  if (!strstr(out, "\"ErrorCode\":0")) fail_msg("%s answered: %s", cmd, out);
}

static void test_cap_per_app(void **st)
{
  (void)st;
  int a[3], b[3];
  a[0] = login_a("a1");
  a[1] = login_a("a2");
  a[2] = login_a("a3");
  login_a_refused("a4");
  assert_int_equal(conns("app_refused"), 1);
  assert_int_equal(conns("max_websockets_per_app"), 3);
  assert_int_equal(conns("busiest_app_websockets"), 3);
  assert_int_equal(conns("busiest_app"), (long long)app_a);
  json_t *view = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u", app_a);
  assert_int_equal(json_integer_value(json_object_get(view, "websockets")), 3);
  json_decref(view);
  /* the other app is not held back by A's */
  char reply[4096];
  for (int i = 0; i < 3; i++) {
    char user[16];
    snprintf(user, sizeof user, "b%d", i + 1);
    b[i] = e2e_ws_login(srv.port, app_b, key_b, user, "Web", reply, sizeof reply);
    if (b[i] < 0) fail_msg("app B's login %d refused: %s", i + 1, reply);
  }
  assert_int_equal(conns("app_refused"), 1);
  /* logout gives A's place back */
  rpc(a[0], "{\"id\":2,\"op\":\"logout\"}", "\"code\":0");
  close(a[0]);
  a[0] = login_a("a4");
  login_a_refused("a5");
  /* a close (a close frame, answered) gives it back too */
  assert_int_equal(e2e_ws_send_frame(a[1], 8, 1, "\x03\xe8", 2, 1), 0);
  assert_int_equal(close_code_of(a[1]), 1000);
  close(a[1]);
  /* its session ends when net delivers the close's notice: then the server holds A's 2 and B's 3 */
  assert_int_equal(e2e_healthz_wait(srv.port, "connections", "websockets", 5, 5000), 5);
  a[1] = login_a("a5");
  login_a_refused("a6");
  assert_int_equal(conns("app_refused"), 3);
  /* the refusals' warning line (one a second at most: the first is there) */
  char *log = e2e_server_log(&srv), line[128];
  snprintf(line, sizeof line, "the app holds max_websockets_per_app\" app=%u websockets=3 cap=3 cap_set_by=server", app_a);
  int logged = log && strstr(log, line) != NULL;
  free(log);
  assert_true(logged);
  for (int i = 0; i < 3; i++) { close(a[i]); close(b[i]); }
}

static void test_kick_and_delete_give_back(void **st)
{
  (void)st;
  int k = login_a("k1"), d = login_a("d1"), o = login_a("o1");
  login_a_refused("n1");
  /* another device of k1 on its platform replaces k1's session: not past the cap, and k1's old one is closed 4002 */
  char reply[4096];
  int k2 = e2e_ws_login_dev(srv.port, app_a, key_a, "k1", "Web", "dev-other", reply, sizeof reply);
  if (k2 < 0) fail_msg("a login replacing the user's session at the cap refused: %s", reply);
  assert_int_equal(close_code_of(k), 4002);
  close(k);
  login_a_refused("n1"); /* still 3: the replaced session gave its place to its successor, no more */
  /* a kick by the app's backend */
  rest_a("im_open_login_svc/kick", "{\"UserID\":\"k1\"}");
  assert_int_equal(close_code_of(k2), 4003);
  close(k2);
  int n1 = login_a("n1");
  login_a_refused("n2");
  /* an account deletion */
  rest_a("im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"d1\"}]}");
  assert_int_equal(close_code_of(d), 4003);
  close(d);
  int n2 = login_a("n2");
  login_a_refused("n3");
  close(n1);
  close(n2);
  close(o);
}

static void test_relogin_counts_once(void **st)
{
  (void)st;
  char frame[2048];
  int r1 = login_a("r1"), r2 = login_a("r2");
  /* r1's connection logs in again: refused 70402, and counted nothing */
  e2e_ws_login_frame(app_a, key_a, "r1", "Web", "dev-r1", frame, sizeof frame);
  rpc(r1, frame, "\"code\":70402");
  e2e_ws_login_frame(app_a, key_a, "r9", "Web", "dev-r9", frame, sizeof frame);
  rpc(r2, frame, "\"code\":70402");
  int r3 = login_a("r3");
  login_a_refused("r4");
  left[n_left++] = r1;
  left[n_left++] = r2;
  left[n_left++] = r3;
}

static char hold[256];

static int setup_held(void **st)
{
  (void)st;
  static const char *const args[] = { "--max-websockets-per-app", "1", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "appcap", "china", &app_a, key_a, args);
}

/* A login of user sent on a new connection while the writer is held: its fd once the login is pending (a
 * heartbeat behind it is answered "login in progress", so it passed login_start's checks). */
static int login_pending(const char *user)
{
  char frame[2048];
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  e2e_ws_login_frame(app_a, key_a, user, "Web", user, frame, sizeof frame);
  assert_int_equal(e2e_ws_send_text(fd, frame), 0);
  rpc(fd, "{\"id\":9,\"op\":\"heartbeat\"}", "login in progress");
  return fd;
}

/* The day's DAU of app A now (`imcloud usage --json`; the app's billing zone is China's, UTC+8). */
static long long dau_today(void)
{
  static char out[1 << 16];
  time_t t = time(NULL) + 8 * 3600;
  struct tm tm;
  gmtime_r(&t, &tm);
  char month[32];
  snprintf(month, sizeof month, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage --sdkappid %u --month %s --json", app_a, month), 0);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  long long n = json_integer_value(json_object_get(json_array_get(json_object_get(o, "days"), (size_t)tm.tm_mday - 1), "dau"));
  json_decref(o);
  return n;
}

/* The cap 1, the writer held: h1's login is admitted and holds the app's place while its storage job waits; h2's
 * login is then refused at once (its job never runs, so h2 is not counted in the day's DAU); the writer released,
 * h1 goes online. Before the place was held from admission, both were admitted, h2 was refused only as its job
 * completed (no answer while the writer was held), and its usage event made the DAU 2. */
static void test_cap_held_from_admission(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 1);
  int h1 = login_pending("h1");
  login_refused_at(app_a, key_a, "h2", 0, 1); /* answered and closed while the writer is still held */
  e2e_sync_hold(hold, 0);
  char buf[4096];
  if (e2e_ws_recv_text(h1, buf, sizeof buf, 30000) < 0 || !strstr(buf, "\"code\":0")) fail_msg("h1's login: %s", buf);
  assert_int_equal(conns("app_refused"), 1);
  assert_int_equal(conns("busiest_app_websockets"), 1);
  assert_int_equal(dau_today(), 1);
  close(h1);
}

/* POST /operator/v1/apps/{app}/max-websockets with body; the reply's cap in force. */
static long long own_cap_set(uint32_t app, const char *body)
{
  json_t *r = op_callf(srv.port, auth, 200, "POST", body, "/operator/v1/apps/%u/max-websockets", app);
  long long cap = json_integer_value(json_object_get(r, "cap"));
  json_decref(r);
  return cap;
}

static int login_b(const char *user)
{
  char reply[4096];
  int fd = e2e_ws_login(srv.port, app_b, key_b, user, "Web", reply, sizeof reply);
  if (fd < 0) fail_msg("login of %s on app B refused: %s", user, reply);
  return fd;
}

static void test_app_own_cap(void **st)
{
  (void)st;
  static const char *const args[] = { "--max-websockets-per-app", "3", NULL };
  json_t *r;
  /* refused: a negative cap, no field, another field, an unknown app */
  r = op_callf(srv.port, auth, 400, "POST", "{\"max_websockets\":-1}", "/operator/v1/apps/%u/max-websockets", app_b);
  json_decref(r);
  r = op_callf(srv.port, auth, 400, "POST", "{}", "/operator/v1/apps/%u/max-websockets", app_b);
  json_decref(r);
  r = op_callf(srv.port, auth, 400, "POST", "{\"max\":1}", "/operator/v1/apps/%u/max-websockets", app_b);
  json_decref(r);
  r = op_callf(srv.port, auth, 404, "POST", "{\"max_websockets\":1}", "/operator/v1/apps/%u/max-websockets", app_b + 1000);
  json_decref(r);
  r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/max-websockets", app_b);
  assert_true(json_is_null(json_object_get(r, "max_websockets")));
  assert_int_equal(json_integer_value(json_object_get(r, "cap")), 3);
  json_decref(r);
  /* B's own cap 1: B's second login refused, A still logs in 3 */
  assert_int_equal(own_cap_set(app_b, "{\"max_websockets\":1}"), 1);
  int b1 = login_b("b1");
  login_refused_at(app_b, key_b, "b2", 1, 1);
  /* the log line names the app's own cap (the first refusal of this server: not held back by the line a second) */
  char want[160];
  snprintf(want, sizeof want, "the app holds its own max_websockets\" app=%u websockets=1 cap=1 cap_set_by=operator", app_b);
  char *log = e2e_server_log(&srv);
  int logged = log && strstr(log, want) != NULL;
  free(log);
  if (!logged) fail_msg("no log line: %s", want);
  int a[3] = { login_a("a1"), login_a("a2"), login_a("a3") };
  login_a_refused("a4");
  r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/max-websockets", app_b);
  assert_int_equal(json_integer_value(json_object_get(r, "max_websockets")), 1);
  assert_int_equal(json_integer_value(json_object_get(r, "websockets")), 1);
  json_decref(r);
  /* 0: no cap for B (past the server's 3) */
  assert_int_equal(own_cap_set(app_b, "{\"max_websockets\":0}"), 0);
  int b[3] = { login_b("b2"), login_b("b3"), login_b("b4") };
  /* null: the server's 3 again; B's 4 sessions stay, a fifth is refused */
  assert_int_equal(own_cap_set(app_b, "{\"max_websockets\":null}"), 3);
  login_refused(app_b, key_b, "b5");
  r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/max-websockets", app_b);
  assert_int_equal(json_integer_value(json_object_get(r, "websockets")), 4);
  json_decref(r);
  /* kept across a restart: B's own cap 1 is read at start */
  assert_int_equal(own_cap_set(app_b, "{\"max_websockets\":1}"), 1);
  close(b1);
  for (int i = 0; i < 3; i++) { close(a[i]); close(b[i]); }
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  b1 = login_b("b1");
  login_refused_at(app_b, key_b, "b2", 1, 1);
  /* set by the CLI beside the running server: the change log brings it */
  char out[512];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app max-websockets %u 2 --json", app_b), 0);
  if (!strstr(out, "\"max_websockets\":2")) fail_msg("app max-websockets printed: %s", out);
  long long cap = -1;
  for (uint64_t end = e2e_now_ms() + 5000; cap != 2 && e2e_now_ms() < end; e2e_sleep_ms(20)) {
    r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/max-websockets", app_b);
    cap = json_integer_value(json_object_get(r, "cap"));
    json_decref(r);
  }
  assert_int_equal(cap, 2);
  int b2 = login_b("b2");
  login_refused_at(app_b, key_b, "b3", 1, 2);
  close(b1);
  close(b2);
}

/* The app's own cap in the operator's app list ("apps": its entry for app) and app view, and in the CLI's
 * `app show` and `app list` (JSON and text): JSON null (0 returned, *n -1) or an integer; fails the test when a view
 * lacks it. */
static void views_own_cap(uint32_t app, long long want)
{
  json_t *r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u", app);
  json_t *v = json_object_get(r, "max_websockets");
  if (!v || (want < 0 ? !json_is_null(v) : json_integer_value(v) != want)) fail_msg("app view of %u: max_websockets wrong", app);
  json_decref(r);
  r = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps");
  size_t i, found = 0;
  json_t *e;
  json_array_foreach(json_object_get(r, "apps"), i, e) {
    if (json_integer_value(json_object_get(e, "sdkappid")) != app) continue;
    v = json_object_get(e, "max_websockets");
    if (!v || (want < 0 ? !json_is_null(v) : json_integer_value(v) != want)) fail_msg("app list, %u: max_websockets wrong", app);
    found++;
  }
  json_decref(r);
  assert_int_equal(found, 1);
  char out[8192];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app show %u --json", app), 0);
  r = json_loads(out, 0, NULL);
  v = json_object_get(r, "max_websockets");
  if (!v || (want < 0 ? !json_is_null(v) : json_integer_value(v) != want)) fail_msg("app show --json of %u: %s", app, out);
  json_decref(r);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app show %u", app), 0);
  char line[96];
  if (want < 0) snprintf(line, sizeof line, "\nmax_websockets default (the server's max_websockets_per_app)\n");
  else if (want == 0) snprintf(line, sizeof line, "\nmax_websockets 0 (no cap)\n");
  else snprintf(line, sizeof line, "\nmax_websockets %lld\n", want);
  if (!strstr(out, line)) fail_msg("app show of %u printed: %s", app, out);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app list --json"), 0);
  r = json_loads(out, 0, NULL);
  found = 0;
  json_array_foreach(json_object_get(r, "apps"), i, e) {
    if (json_integer_value(json_object_get(e, "sdkappid")) != app) continue;
    v = json_object_get(e, "max_websockets");
    if (!v || (want < 0 ? !json_is_null(v) : json_integer_value(v) != want)) fail_msg("app list --json, %u: %s", app, out);
    found++;
  }
  json_decref(r);
  assert_int_equal(found, 1);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app list"), 0); /* the row of app: its MAX_WS column */
  char cap[24] = "default", row[64];
  if (want >= 0) snprintf(cap, sizeof cap, "%lld", want);
  snprintf(row, sizeof row, "\n%u ", app);
  const char *at = strstr(out, row);
  if (!at) fail_msg("app list lacks %u: %s", app, out);
  char id[16], cust[16], region[32], scheme[16], edition[32], status[16], got[24];
  assert_int_equal(sscanf(at + 1, "%15s %15s %31s %15s %31s %15s %23s", id, cust, region, scheme, edition, status, got), 7);
  if (strcmp(got, cap)) fail_msg("app list, %u: MAX_WS %s, want %s: %s", app, got, cap, out);
}

/* Where an operator looks at an app (the operator API's app list and view, `imcloud app show`), the app's own cap
 * shows: null until set, then the value set by the API or the CLI, 0 for none, null again when unset. */
static void test_app_views_show_own_cap(void **st)
{
  (void)st;
  views_own_cap(app_a, -1);
  views_own_cap(app_b, -1);
  assert_int_equal(own_cap_set(app_b, "{\"max_websockets\":5}"), 5);
  views_own_cap(app_b, 5);
  views_own_cap(app_a, -1);
  char out[512];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app max-websockets %u 0", app_a), 0);
  views_own_cap(app_a, 0);
  assert_int_equal(own_cap_set(app_b, "{\"max_websockets\":null}"), 3);
  views_own_cap(app_b, -1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_cap_per_app, setup, teardown),
    cmocka_unit_test_setup_teardown(test_kick_and_delete_give_back, setup, teardown),
    cmocka_unit_test_setup_teardown(test_relogin_counts_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cap_held_from_admission, setup_held, teardown),
    cmocka_unit_test_setup_teardown(test_app_own_cap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_app_views_show_own_cap, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
