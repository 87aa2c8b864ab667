/* e2e_clock.h — the fixture of the test-clock end-to-end files
 * (test_clock_*.c; include once, after cmocka.h, e2e.h, e2e_msg.h and
 * e2e_op.h): one server and data directory per test (srv, the operator's
 * auth), its setups on three start dates and teardown (stop), operator API
 * calls that fail the test on an unexpected status, clock moves that return
 * what ran, and customers and apps made through the operator API.
 * Test-only. */
#ifndef IMC_TESTS_E2E_CLOCK_H
#define IMC_TESTS_E2E_CLOCK_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"

static e2e_server_t srv;
static char auth[160];

/* A data directory with a customer (so `operator token` has a database)
 * and the operator token known before the server starts. */
static inline int prepare(void)
{
  char out[512];
  e2e_dir_init(&srv);
  if (e2e_cli(&srv, out, sizeof out, "customer create --name first --json")) return -1;
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return 0;
}

/* prepare, then the server. */
static inline int start(const char *const *args)
{
  if (prepare()) return -1;
  if (e2e_server_start(&srv, args)) {
    char *log = e2e_server_log(&srv);
    fprintf(stderr, "server did not start:\n%s\n", log ? log : "");
    free(log);
    return -1;
  }
  return 0;
}

static inline int stop(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Call the operator API; returns the status and the parsed body (caller decrefs). */
static inline int call(const char *method, const char *target, const char *body, json_t **out)
{
  static char buf[1 << 18];
  /* a clock move answers once every job on the way ran: 30 day changes take seconds on a busy sanitizer build */
  int st = e2e_http_timeout(srv.port, method, target, auth, body, buf, sizeof buf, 120000);
  *out = json_loads(buf, 0, NULL);
  if (!*out) fail_msg("%s %s: not JSON (%d): %.300s", method, target, st, buf);
  return st;
}

static inline json_t *callf(int want, const char *method, const char *body, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
static inline json_t *callf(int want, const char *method, const char *body, const char *fmt, ...)
{
  char target[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(target, sizeof target, fmt, ap);
  va_end(ap);
  json_t *o;
  int st = call(method, target, body, &o);
  if (st != want) {
    char *t = json_dumps(o, JSON_COMPACT);
    fail_msg("%s %s: status %d, want %d: %.600s", method, target, st, want, t);
  }
  return o;
}


/* Move the clock; returns the list of jobs that ran (new reference). */
static inline json_t *clock_to(const char *now)
{
  char body[96];
  snprintf(body, sizeof body, "{\"now\":\"%s\"}", now);
  json_t *o = callf(200, "POST", body, "/operator/v1/clock");
  assert_string_equal(jstr(o, "now"), now);
  json_t *ran = json_incref(json_object_get(o, "ran"));
  json_decref(o);
  return ran;
}

/* The one bill of app, with its corrections (operator API; new reference). */
static inline json_t *app_bill(uint32_t app)
{
  json_t *l = callf(200, "GET", NULL, "/operator/v1/apps/%u/bills", app);
  assert_int_equal(json_array_size(json_object_get(l, "bills")), 1);
  json_t *b = json_incref(json_array_get(json_object_get(l, "bills"), 0));
  json_decref(l);
  return b;
}

/* Wait (up to 20 s) until job `job` has run since the server started and no job is running: after a
 * restart, the start-up runs are over before the test writes what the next run must see. */
static inline void jobs_idle_after(const char *job)
{
  for (int i = 0; i < 1000; i++) {
    json_t *j = callf(200, "GET", NULL, "/operator/v1/jobs"), *r;
    int done = json_is_null(json_object_get(j, "running"));
    size_t k;
    json_array_foreach(json_object_get(j, "jobs"), k, r) if (!strcmp(jstr(r, "job"), job) && jint(r, "runs") < 1) done = 0;
    json_decref(j);
    if (done) return;
    usleep(20000);
  }
  fail_msg("job %s did not run after the start", job);
}

/* Sum of field k over the rows of job `job` in a clock reply. */
static inline int64_t ran_sum(json_t *ran, const char *job, const char *k)
{
  int64_t n = 0;
  size_t i;
  json_t *r;
  json_array_foreach(ran, i, r) if (!strcmp(jstr(r, "job"), job)) n += jint(r, k);
  return n;
}

static inline int64_t new_customer(const char *name, int64_t topup_fen)
{
  char body[128];
  snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
  json_t *c = callf(201, "POST", body, "/operator/v1/customers");
  int64_t id = jint(c, "id");
  json_decref(c);
  if (topup_fen) {
    snprintf(body, sizeof body, "{\"amount_fen\":%lld,\"reference\":\"seed-%s\"}", (long long)topup_fen, name);
    json_decref(callf(201, "POST", body, "/operator/v1/customers/%lld/wallet/topups", (long long)id));
  }
  return id;
}

static inline uint32_t new_app(int64_t customer, char key[80])
{
  char body[160];
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"app\",\"region\":\"china\"}", (long long)customer);
  json_t *a = callf(201, "POST", body, "/operator/v1/apps");
  uint32_t id = (uint32_t)jint(a, "sdkappid");
  if (key) snprintf(key, 80, "%s", jstr(a, "key"));
  json_decref(a);
  return id;
}

/* The ErrorCode of a v4 call as the App admin (signed at the wall clock for years: valid at the test
 * clock's months ahead). */
static inline int64_t v4_code(uint32_t app, const char *key, const char *cmd, const char *body)
{
  static char out[8192];
  char sig[1024], target[1400];
  e2e_usersig(app, key, "administrator", 100000000, sig, sizeof sig);
  snprintf(target, sizeof target, "/v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=%u&contenttype=json", cmd, app,
           sig, (unsigned)rand());
  assert_int_equal(e2e_http(srv.port, "POST", target, "Content-Type: application/json\r\n", body, out, sizeof out), 200);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  int64_t code = jint(o, "ErrorCode");
  json_decref(o);
  return code;
}

static inline const char *app_status(uint32_t app, char *by, size_t cap)
{
  static char status[16];
  json_t *s = callf(200, "GET", NULL, "/operator/v1/apps/%u/state", app);
  snprintf(status, sizeof status, "%s", jstr(s, "status"));
  snprintf(by, cap, "%s", json_is_string(json_object_get(s, "suspended_by")) ? jstr(s, "suspended_by") : "");
  json_decref(s);
  return status;
}

/* The dates stay before today: UserSigs are made on the real clock and the
 * server checks them on its test clock. */
static inline int setup_lapse(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-08-31", NULL };
  return start(args);
}

/* A server whose clock starts on 1 October 2026. */
static inline int setup_billing(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-10-01", NULL };
  return start(args);
}

/* A usage file (imcloud usage import / quote --usage) holding text, written as name in the server's directory;
 * its path in path[400]. */
static inline void usage_file(const char *name, const char *text, char path[400])
{
  snprintf(path, 400, "%s/%s", srv.dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* usage (a usage file's text, written as name) imported for app by the CLI. */
static inline void usage_import(uint32_t app, const char *name, const char *usage)
{
  char path[400], out[2048];
  usage_file(name, usage, path);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "usage import --sdkappid %u '%s'", app, path), 0);
}

/* imcloud quote --json of October 2026 for pro_app's app (s2022 Pro with the av_call basic add-on) with usage (a
 * usage file's text, written as name); caller decrefs. */
static inline json_t *quote_pro_october(const char *name, const char *usage)
{
  char path[400];
  static char out[1 << 15];
  usage_file(name, usage, path);
  assert_int_equal(e2e_cli(&srv, out, sizeof out,
                           "quote --scheme s2022 --edition pro --addon av_call=basic --bill-month 2026-10 --usage '%s' --json", path), 0);
  json_t *q = json_loads(out, 0, NULL);
  assert_non_null(q);
  return q;
}

/* A pro customer with imported October usage (peak DAU 32,000): the
 * October and November periods paid, nothing left. */
static inline uint32_t pro_app(const char *name, int64_t *cust, char key[80])
{
  *cust = new_customer(name, 2 * 99900);
  uint32_t app = new_app(*cust, key);
  json_decref(callf(201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", app));
  json_decref(callf(201, "POST", "{}", "/operator/v1/apps/%u/renew", app));
  char name_oct[64];
  snprintf(name_oct, sizeof name_oct, "oct-%s.json", name);
  usage_import(app, name_oct, "{\"days\": [{\"date\": \"2026-10-07\", \"dau\": 21000, \"groups\": 150000},"
                              " {\"date\": \"2026-10-20\", \"dau\": 32000, \"groups\": 90000}]}");
  return app;
}

/* A server whose clock starts on 31 October 2026. */
static inline int setup_clock(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-10-31", NULL };
  return start(args);
}

#endif
