/* End-to-end checks of three defects found in review (helper h8):
 *  - a usage import that its month's bill cannot price (history_days beyond
 *    what the edition can buy: legacy, P-08; s2022 trial, P-46) is refused
 *    and writes nothing; it was stored, and `imcloud bill` then refused the
 *    month for good. Figures the bill can price are still imported;
 *  - account_delete follows the edition in force: an app whose pro package
 *    expired (grace, limits of trial) may delete accounts to get back under
 *    trial's 100 (it was refused 71000 because its recorded edition is pro);
 *    an app on an active pro package is still refused;
 *  - an app that falls to an edition with one device per platform (ultimate
 *    -> grace at trial's limits) keeps each user's newest session per
 *    platform; the older ones are kicked at once (kicked, close 4002), as a
 *    login would; they stayed connected until the next login.
 * Each group on its own data directory; the server ones on the test clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_cli.h"
#include "e2e_msg.h"
#include "store/store.h"

static e2e_server_t srv;
static char out[1 << 16], err[8192];

/* Run `imcloud ARGS --data DIR`; capture stdout and stderr; the exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
  char args[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  return e2e_cli_run(srv.dir, "", out, sizeof out, err, sizeof err, "%s --data '%s'", args, srv.dir);
}

static void write_doc(const char *name, const char *text)
{
  char path[320];
  snprintf(path, sizeof path, "%s/%s", srv.dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* `imcloud usage --json` of app for 2026-11 (new reference). */
static json_t *usage_of(uint32_t app)
{
  assert_int_equal(run("usage --sdkappid %u --month 2026-11 --json", app), 0);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  return o;
}

/* A customer with an app of scheme (created 2022-01-01: not legacy by date). */
static uint32_t cli_app(const char *scheme)
{
  assert_int_equal(run("customer create --name c-%s --json", scheme), 0);
  json_t *c = json_loads(out, 0, NULL);
  assert_non_null(c);
  int64_t cust = jint(c, "id");
  json_decref(c);
  assert_int_equal(run("app create --customer %lld --name a --region china --scheme %s --created-at 2022-01-01 --json",
                       (long long)cust, scheme), 0);
  json_t *a = json_loads(out, 0, NULL);
  assert_non_null(a);
  uint32_t id = (uint32_t)jint(a, "sdkappid");
  json_decref(a);
  return id;
}

static int setup_dir(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  return 0;
}

static int teardown_dir(void **st)
{
  (void)st;
  e2e_dir_remove(&srv);
  return 0;
}

/* ---- 1. an import the bill cannot price ------------------------------------------ */
static void test_import_refused_when_unbillable(void **st)
{
  (void)st;
  static const struct { const char *scheme, *rule; } rows[] = { { "legacy", "P-08" }, { "s2022", "P-46" } };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    uint32_t app = cli_app(rows[i].scheme);
    write_doc("bad.json", "{\"history_days\": 30, \"mau\": 5}");
    assert_int_equal(run("usage import --sdkappid %u --month 2026-11 '%s/bad.json'", app, srv.dir), 1);
    if (!strstr(err, "cannot extend history_days beyond 7") || !strstr(err, rows[i].rule))
      fail_msg("%s: import refused for another reason: %s", rows[i].scheme, err);
    /* nothing written: no document, no figure */
    json_t *u = usage_of(app);
    assert_int_equal(jint(u, "imported_docs"), 0);
    assert_int_equal(jint(u, "history_days"), 0);
    assert_int_equal(jint(u, "mau"), 0);
    json_decref(u);
    /* the month is still billable */
    if (run("bill --sdkappid %u --month 2026-11 --json", app)) fail_msg("%s: bill refused: %s", rows[i].scheme, err);
    /* figures the bill prices are imported as before */
    write_doc("good.json", "{\"history_days\": 7, \"c2c_roaming_months\": 3, \"mau\": 5}");
    if (run("usage import --sdkappid %u --month 2026-11 '%s/good.json'", app, srv.dir)) fail_msg("%s: %s", rows[i].scheme, err);
    u = usage_of(app);
    assert_int_equal(jint(u, "imported_docs"), 1);
    assert_int_equal(jint(u, "history_days"), 7);
    json_decref(u);
    if (run("bill --sdkappid %u --month 2026-11 --json", app)) fail_msg("%s: bill refused: %s", rows[i].scheme, err);
  }
}

/* A month made unbillable before imports were checked (the figure written
 * as such an import wrote it): the bill run bills the other apps and names
 * the app it could not bill in first_failure (it gave the reason alone). */
static void test_bill_run_names_unbillable_app(void **st)
{
  (void)st;
  uint32_t bad = cli_app("legacy"), good = cli_app("legacy");
  store_t *s;
  int64_t doc;
  assert_int_equal(store_open(srv.dir, &s), 0);
  assert_int_equal(store_usage_import_doc(s, bad, 202611, "old.json", "{\"history_days\": 30}", 1796000000, &doc), 0);
  assert_int_equal(store_usage_import_put(s, bad, 20261100, "history_days", 30, doc), 0);
  store_close(s);
  assert_int_equal(run("bill run --month 2026-11 --json"), 1);
  json_t *r = json_loads(out, 0, NULL);
  assert_non_null(r);
  assert_int_equal(jint(r, "failed"), 1);
  assert_int_equal(jint(r, "issued"), jint(r, "apps") - 1); /* the others, from the tests before too */
  char want[96];
  snprintf(want, sizeof want, "app %u: legacy (旧版本 IM) cannot extend history_days beyond 7 (P-08)", bad);
  assert_string_equal(jstr(r, "first_failure"), want);
  json_decref(r);
  assert_int_equal(run("bill --sdkappid %u --month 2026-11 --json", good), 0);
  assert_non_null(strstr(out, "\"number\""));
}

/* ---- 2, 3. grace: the edition in force decides ------------------------------------- */
static char auth[160];

static int setup_server(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  if (run("customer create --name first --json") || run("operator token --json")) return -1;
  json_t *j = json_loads(out, 0, NULL);
  if (!j) return -1;
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(j, "token")));
  json_decref(j);
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-08-31", NULL };
  if (e2e_server_start(&srv, args)) {
    char *log = e2e_server_log(&srv);
    fprintf(stderr, "server did not start:\n%s\n", log ? log : "");
    free(log);
    return -1;
  }
  return 0;
}

static int teardown_server(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* An operator API call that must answer `want`; its parsed body (new reference). */
static json_t *op(int want, const char *method, const char *target, const char *body)
{
  static char buf[1 << 16];
  int stc = e2e_http_timeout(srv.port, method, target, auth, body, buf, sizeof buf, 120000);
  if (stc != want) fail_msg("%s %s: %d, want %d: %.400s", method, target, stc, want, buf);
  json_t *o = json_loads(buf, 0, NULL);
  assert_non_null(o);
  return o;
}

/* A china app (s2022 trial) of a new customer with money, upgraded to edition. */
static uint32_t paid_app(const char *name, const char *edition, char key[80])
{
  char body[160], target[160];
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  json_t *c = op(201, "POST", "/operator/v1/customers", body);
  int64_t cust = jint(c, "id");
  json_decref(c);
  snprintf(target, sizeof target, "/operator/v1/customers/%lld/wallet/topups", (long long)cust);
  snprintf(body, sizeof body, "{\"amount_fen\":100000000,\"reference\":\"seed-%s\"}", name);
  json_decref(op(201, "POST", target, body));
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"%s\",\"region\":\"china\"}", (long long)cust, name);
  json_t *a = op(201, "POST", "/operator/v1/apps", body);
  uint32_t id = (uint32_t)jint(a, "sdkappid");
  snprintf(key, 80, "%s", jstr(a, "key"));
  json_decref(a);
  snprintf(target, sizeof target, "/operator/v1/apps/%u/upgrade", id);
  snprintf(body, sizeof body, "{\"edition\":\"%s\"}", edition);
  json_decref(op(201, "POST", target, body));
  return id;
}

/* The ErrorCode of a v4 call as the app's admin (signed for years: valid on the test clock). */
static int64_t v4_code(uint32_t app, const char *key, const char *cmd, const char *body)
{
  static char buf[1 << 16];
  char sig[1024], target[1400];
  e2e_usersig(app, key, "administrator", 100000000, sig, sizeof sig);
  snprintf(target, sizeof target, "/v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=%u&contenttype=json", cmd, app,
           sig, (unsigned)rand());
  assert_int_equal(e2e_http(srv.port, "POST", target, "Content-Type: application/json\r\n", body, buf, sizeof buf), 200);
  json_t *o = json_loads(buf, 0, NULL);
  assert_non_null(o);
  int64_t code = jint(o, "ErrorCode");
  json_decref(o);
  return code;
}

/* Frames until the close: 1 if a `kicked` push with reason came first, the close code into *code. */
static int kicked_then_closed(int fd, const char *reason, int *code)
{
  char buf[4096];
  int opc = 0, kicked = 0;
  *code = 0;
  for (int n = 0; n < 20; n++) {
    int len = e2e_ws_recv(fd, &opc, buf, sizeof buf, 5000, code);
    if (len < 0) return -1;
    if (opc == 8) return kicked;
    if (opc != 1) continue;
    json_t *o = json_loadb(buf, (size_t)len, 0, NULL);
    if (o && !strcmp(jstr(o, "type"), "kicked") && !strcmp(jstr(o, "reason"), reason)) kicked = 1;
    json_decref(o);
  }
  return -1;
}

/* A pro app expired into grace (limits of trial: 100 accounts) holds 120
 * accounts: it may delete some (it was refused 71000, the recorded edition
 * being pro); on its active package it may not. An ultimate app (several
 * devices per platform) in grace keeps each user's newest Web session and
 * kicks the older one (4002) at the day change; the PC session stays. */
static void test_grace_edition_in_force(void **st)
{
  (void)st;
  char kpro[80], kult[80], body[4096];
  uint32_t pro = paid_app("pro", "pro", kpro), ult = paid_app("ult", "ultimate", kult);
  for (int part = 0; part < 2; part++) { /* 120 accounts: more than trial's 100 */
    size_t n = (size_t)snprintf(body, sizeof body, "{\"Accounts\":[");
    for (int i = 0; i < (part ? 20 : 100); i++) n += (size_t)snprintf(body + n, sizeof body - n, "%s\"u%d\"", i ? "," : "", part * 100 + i);
    snprintf(body + n, sizeof body - n, "]}");
    assert_int_equal(v4_code(pro, kpro, "im_open_login_svc/multiaccount_import", body), 0);
  }
  assert_int_equal(v4_code(pro, kpro, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"u0\"}]}"), 71000);
  char reply[1024];
  int old_web = e2e_ws_login_dev(srv.port, ult, kult, "u1", "Web", "tab-1", reply, sizeof reply);
  if (old_web < 0) fail_msg("login: %s", reply);
  int new_web = e2e_ws_login_dev(srv.port, ult, kult, "u1", "Web", "tab-2", reply, sizeof reply);
  if (new_web < 0) fail_msg("login: %s", reply);
  int pc = e2e_ws_login_dev(srv.port, ult, kult, "u1", "PC", "desk", reply, sizeof reply);
  if (pc < 0) fail_msg("login: %s", reply);
  /* both packages end on 29 September: grace from the 30th */
  json_decref(op(200, "POST", "/operator/v1/clock", "{\"now\":\"2026-09-30T00:00:01+08:00\"}"));
  char target[96];
  snprintf(target, sizeof target, "/operator/v1/apps/%u/state", pro);
  json_t *o = op(200, "GET", target, NULL);
  assert_string_equal(jstr(o, "state"), "grace");
  assert_string_equal(jstr(o, "limits_of"), "trial");
  json_decref(o);
  assert_int_equal(v4_code(pro, kpro, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"u0\"}]}"), 0);
  assert_int_equal(v4_code(pro, kpro, "im_open_login_svc/account_check", "{\"CheckItem\":[{\"UserID\":\"u0\"}]}"), 0);
  /* the older Web session is kicked as a login would have; the newer and the PC one stay */
  int code;
  assert_int_equal(kicked_then_closed(old_web, "the app's edition allows one device per platform", &code), 1);
  assert_int_equal(code, 4002);
  int opc = 0, cc = 0;
  assert_true(e2e_ws_recv(new_web, &opc, reply, sizeof reply, 300, &cc) < 0); /* nothing: still open */
  assert_true(e2e_ws_recv(pc, &opc, reply, sizeof reply, 300, &cc) < 0);
  static char buf[8192];
  char sig[1024], t2[1400];
  e2e_usersig(ult, kult, "administrator", 100000000, sig, sizeof sig);
  snprintf(t2, sizeof t2, "/v4/openim/query_online_status?sdkappid=%u&identifier=administrator&usersig=%s&random=7&contenttype=json", ult, sig);
  assert_int_equal(e2e_http(srv.port, "POST", t2, "Content-Type: application/json\r\n",
                            "{\"To_Account\":[\"u1\"],\"IsNeedDetail\":1}", buf, sizeof buf), 200);
  if (!strstr(buf, "{\"Platform\":\"Web\",\"Status\":\"Online\"}") || !strstr(buf, "{\"Platform\":\"PC\",\"Status\":\"Online\"}"))
    fail_msg("u1 should stay online on Web and PC: %s", buf);
  close(old_web);
  close(new_web);
  close(pc);
}

int main(void)
{
  const struct CMUnitTest cli[] = {
    cmocka_unit_test(test_import_refused_when_unbillable),
    cmocka_unit_test(test_bill_run_names_unbillable_app),
  };
  const struct CMUnitTest grace[] = {
    cmocka_unit_test(test_grace_edition_in_force),
  };
  int failed = cmocka_run_group_tests_name("review_h8_cli", cli, setup_dir, teardown_dir);
  failed += cmocka_run_group_tests_name("review_h8_grace", grace, setup_server, teardown_server);
  return failed;
}
