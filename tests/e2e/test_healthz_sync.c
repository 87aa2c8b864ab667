/* End-to-end: GET /healthz tells a failed sync (docs/operator-api.md,
 * "Health"), injected with the fault sites of src/util/faultsim.h:
 *   - db_sync: the first database sync after a checkpoint's copy fails.
 *     The server stays up and acknowledges every send; /healthz answers 200
 *     with status "degraded" and the problem db_sync_failed. A stop leaves
 *     the WAL on disk (store_ckpt.h store_db_keep_wal), and the restarted
 *     server holds every acknowledged message and is "ok" again.
 *   - wal_sync: a sync of the WAL fails. Every write from then on is
 *     answered with an error, and /healthz answers 503 with status
 *     "failing" and the problem wal_sync_failed, so a load balancer takes
 *     the server out. A server without a failure answers 200 "ok" with no
 *     problem (both tests check that first).
 *   - disk_low: with disk_low_mb above the filesystem's free space /healthz
 *     answers 200 "degraded", problem disk_low, "disk" "free_bytes" is
 *     the free space statvfs gives, and the tick warns in the log; with 0 (no check: the e2e harness sets
 *     IMCLOUD_DISK_LOW_MB=0 for every server it starts) "ok". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

/* GET /healthz: its HTTP status; *status and *problem (the first problem's code, "" when none) copied out. */
static int healthz(char *status, size_t scap, char *problem, size_t pcap)
{
  static char body[65536];
  int code = e2e_http_timeout(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body, 30000);
  json_t *o = json_loads(body, 0, NULL);
  assert_non_null(o);
  snprintf(status, scap, "%s", json_string_value(json_object_get(o, "status")));
  json_t *list = json_object_get(o, "problems");
  assert_true(json_is_array(list));
  json_t *first = json_array_get(list, 0);
  snprintf(problem, pcap, "%s", first ? json_string_value(json_object_get(first, "code")) : "");
  if (first) assert_true(strlen(json_string_value(json_object_get(first, "detail"))) > 20);
  json_decref(o);
  return code;
}

static void assert_ok(void)
{
  char status[32], problem[64];
  assert_int_equal(healthz(status, sizeof status, problem, sizeof problem), 200);
  assert_string_equal(status, "ok");
  assert_string_equal(problem, "");
}

static long wal_size(void)
{
  char path[400];
  struct stat sb;
  snprintf(path, sizeof path, "%s/imcloud.db-wal", srv.dir);
  return stat(path, &sb) ? -1 : (long)sb.st_size;
}

static json_t *send_rest(int i)
{
  return v4(srv.port, app, key, "openim/sendmsg",
            "{\"From_Account\":\"ha\",\"To_Account\":\"hb\",\"MsgRandom\":%d,\"MsgBody\":[{\"MsgType\":\"TIMTextElem\","
            "\"MsgContent\":{\"Text\":\"m%d %0600d\"}}]}", 7000 + i, i, i);
}

/* Start a server with IMCLOUD_TEST_FAIL=fail (and a checkpoint every 16 WAL pages). */
static void start_failing(const char *fail)
{
  static const char *const args[] = { "--wal-checkpoint-pages", "16", NULL };
  setenv("IMCLOUD_TEST_FAIL", fail, 1); /* the server inherits it */
  int rc = e2e_start(&srv, "china", &app, key, args);
  unsetenv("IMCLOUD_TEST_FAIL");
  assert_int_equal(rc, 0);
}

static void test_db_sync_failed_degraded(void **st)
{
  (void)st;
  enum { MAX = 300, AFTER = 5 };
  start_failing("db_sync:1");
  import_users(srv.port, app, key, (const char *const[]){ "ha", "hb", NULL });
  assert_ok();
  char status[32] = "", problem[64] = "";
  int sent = 0, after = 0;
  for (; sent < MAX && after < AFTER; sent++) {
    json_t *r = send_rest(sent);
    assert_string_equal(jstr(r, "ActionStatus"), "OK"); /* acknowledged before and after the failure */
    json_decref(r);
    assert_int_equal(healthz(status, sizeof status, problem, sizeof problem), 200);
    if (!strcmp(status, "degraded")) after++;
  }
  assert_int_equal(after, AFTER);
  assert_string_equal(problem, "db_sync_failed");
  assert_int_equal(e2e_healthz_stat(srv.port, "ckpt", "db_sync_failed"), 1);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_true(wal_size() > 0); /* no checkpoint at the stop's close: the next start's recovery copies it */
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_ok();
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"ha\",\"Peer_Account\":\"hb\",\"MaxCnt\":%d,\"MinTime\":0,"
                 "\"MaxTime\":4000000000}", sent + 10);
  assert_string_equal(jstr(r, "ActionStatus"), "OK");
  assert_int_equal(jint(r, "MsgCnt"), sent);
  json_decref(r);
  assert_int_equal(e2e_finish(&srv), 0);
}

static void test_wal_sync_failed_failing(void **st)
{
  (void)st;
  /* the first sync is the writer's at its start, the second the first batch's */
  start_failing("wal_sync:2");
  assert_ok();
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"hc\"}");
  assert_string_equal(jstr(r, "ActionStatus"), "FAIL"); /* committed, its durability not known */
  json_decref(r);
  char status[32], problem[64];
  assert_int_equal(healthz(status, sizeof status, problem, sizeof problem), 503);
  assert_string_equal(status, "failing");
  assert_string_equal(problem, "wal_sync_failed");
  r = v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"hd\"}");
  assert_string_equal(jstr(r, "ActionStatus"), "FAIL"); /* and every write after it */
  json_decref(r);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_true(wal_size() > 0);
  e2e_dir_remove(&srv);
}

static void test_disk_low_degraded(void **st)
{
  (void)st;
  static const char *const huge[] = { "--disk-low-mb", "1073741824", "--tick-ms", "50", NULL }; /* 1 PiB */
  assert_int_equal(e2e_start(&srv, "china", &app, key, huge), 0);
  char status[32], problem[64];
  assert_int_equal(healthz(status, sizeof status, problem, sizeof problem), 200);
  assert_string_equal(status, "degraded");
  assert_string_equal(problem, "disk_low");
  struct statvfs sv;
  assert_int_equal(statvfs(srv.dir, &sv), 0);
  long long free_now = (long long)sv.f_bavail * (long long)sv.f_frsize;
  long long told = e2e_healthz_stat(srv.port, "disk", "free_bytes");
  assert_true(told > 0 && told >= free_now / 2 && told <= free_now * 2); /* the same filesystem, other writers aside */
  int logged = 0; /* the tick's look (api_health_tick) warns once in the log */
  for (int t = 0; t < 200 && !logged; t++) {
    char *log = e2e_server_log(&srv);
    logged = log && strstr(log, "msg=\"disk low:") != NULL;
    free(log);
    if (!logged) e2e_sleep_ms(10);
  }
  assert_true(logged);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0); /* the harness's default: IMCLOUD_DISK_LOW_MB=0 */
  assert_ok();
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_db_sync_failed_degraded),
    cmocka_unit_test(test_wal_sync_failed_failing),
    cmocka_unit_test(test_disk_low_degraded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
