/* End-to-end: a group command naming an account whose deletion is in flight
 * (decisions §112). The deletion's job is held behind the test's write lock
 * (race_lock) with its purge made; a REST add_group_member of the same
 * account is sent then, its job queued behind the deletion's in the one
 * writer. It passes its account check (the account leaves the registry only
 * once its deletion commits); its job finds the account gone and refuses
 * the change (10019), so no member row of the deleted number is left, in
 * memory or in storage, now or after a restart. This passed before §112 too:
 * it tests what §112 found already right (the group writes check their
 * accounts in their transaction), unlike the one-to-one commands. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_damage.h"
#include "e2e_msg.h"
#include "e2e_race.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static sqlite3 *locked; /* the test's write lock, if held */

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static int setup(void **st)
{
  (void)st;
  int rc = e2e_start(&srv, "singapore", &app, key, NULL);
  if (rc) return -1;
  import_users(srv.port, app, key, (const char *const[]){ "a", "b", "c", NULL });
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  if (locked) race_unlock(locked);
  locked = NULL;
  return !srv.pid || e2e_finish(&srv) == 0 ? 0 : -1;
}

/* The number that sql (a SELECT of one integer; %u the app) reads from the server's database. */
static long long db_count(const char *sql)
{
  char q[512];
  snprintf(q, sizeof q, sql, app);
  return e2e_db_int(&srv, q);
}

static char *create_group(const char *owner, const char *name)
{
  static char gid[64];
  json_t *r = V4("group_open_http_svc/create_group", "{\"Owner_Account\":\"%s\",\"Type\":\"Public\",\"Name\":\"%s\","
                 "\"ApplyJoinOption\":\"FreeAccess\"}", owner, name);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  snprintf(gid, sizeof gid, "%s", jstr(r, "GroupId"));
  json_decref(r);
  return gid;
}

/* The members of gid as the server lists them, "a,b," (its order). */
static void members(const char *gid, char *out, size_t cap)
{
  json_t *r = V4("group_open_http_svc/get_group_member_info", "{\"GroupId\":\"%s\"}", gid);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  size_t i, off = 0;
  json_t *m;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "MemberList"), i, m)
    off += (size_t)snprintf(out + off, cap - off, "%s,", jstr(m, "Member_Account"));
  json_decref(r);
}

/* b's deletion held behind the write lock (its purge made, its job waiting); then cmd/body sent: both fds. */
static void in_window(const char *user, const char *cmd, const char *body, int *del, int *req)
{
  char d[128];
  long long in = e2e_healthz_stat(srv.port, "admission", "inflight");
  locked = race_lock(&srv);
  snprintf(d, sizeof d, "{\"DeleteItem\":[{\"UserID\":\"%s\"}]}", user);
  *del = race_send(&srv, app, key, "im_open_login_svc/account_delete", d);
  race_inflight(&srv, in + 1);
  *req = race_send(&srv, app, key, cmd, body);
  /* the command handled: its job queued behind the deletion's, or waiting in the gate */
  for (int waited = 0; waited < 10000; waited += 10) {
    if (e2e_healthz_stat(srv.port, "admission", "inflight") >= in + 2 ||
        e2e_healthz_stat(srv.port, "rel_gate", "waiting") >= 1)
      return;
    usleep(10000);
  }
  fail_msg("the command neither reached the writer nor waited");
}

static void unlock(void)
{
  race_unlock(locked);
  locked = NULL;
}

/* add_group_member of b in b's committed deletion: b is no member, in memory or in storage, now or after a
 * restart; the answer says b is not an account (as for any unknown account after the deletion). */
static void test_add_member_in_window(void **st)
{
  (void)st;
  char body[256], list[256];
  char *gid = create_group("a", "g1");
  char g[64];
  snprintf(g, sizeof g, "%s", gid);
  int del, req;
  snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"MemberList\":[{\"Member_Account\":\"b\"}]}", g);
  in_window("b", "group_open_http_svc/add_group_member", body, &del, &req);
  unlock();
  json_t *r = race_read(del);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  json_decref(r);
  r = race_read(req);
  assert_int_equal(jint(r, "ErrorCode"), 10019); /* "an account in the request was deleted before the change was written" */
  json_decref(r);
  members(g, list, sizeof list);
  assert_null(strstr(list, "b,"));
  assert_int_equal(db_count("SELECT count(*) FROM grp_member m WHERE m.sdkappid=%u AND m.user_no NOT IN"
                            " (SELECT user_no FROM accounts WHERE sdkappid=m.sdkappid)"), 0);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  members(g, list, sizeof list);
  assert_null(strstr(list, "b,"));
}

/* send_group_msg from b, a member, in b's committed deletion: it waits for the deletion, then is refused as from no
 * account; nothing stored from b's number after it — before §112 it was answered 0 and stored from the deleted
 * number after the deletion. */
static void test_group_send_in_window(void **st)
{
  (void)st;
  char body[512];
  char g[64];
  snprintf(g, sizeof g, "%s", create_group("a", "g2"));
  snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"MemberList\":[{\"Member_Account\":\"b\"}]}", g);
  json_t *r = V4("group_open_http_svc/add_group_member", "%s", body);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  long long before = db_count("SELECT count(*) FROM grp_msg WHERE sdkappid=%u");
  int del, req;
  snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"From_Account\":\"b\",\"Random\":3,\"MsgBody\":"
           "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"late\"}}]}", g);
  in_window("b", "group_open_http_svc/send_group_msg", body, &del, &req);
  unlock();
  json_decref(race_read(del));
  r = race_read(req);
  assert_int_equal(jint(r, "ErrorCode"), 10019); /* From_Account is not an imported account: it was deleted */
  json_decref(r);
  assert_int_equal(db_count("SELECT count(*) FROM grp_msg WHERE sdkappid=%u"), before);
}

/* import_group_msg with a message from b in b's committed deletion: the import waits for the deletion, then is
 * refused as naming no account; nothing stored — before §112 it was stored from the deleted number after it. */
static void test_group_import_in_window(void **st)
{
  (void)st;
  char body[768];
  char g[64];
  snprintf(g, sizeof g, "%s", create_group("a", "g3"));
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long before = db_count("SELECT count(*) FROM grp_msg WHERE sdkappid=%u");
  int del, req;
  snprintf(body, sizeof body, "{\"GroupId\":\"%s\",\"MsgList\":[{\"From_Account\":\"a\",\"SendTime\":%lld,\"Random\":1,"
           "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"old\"}}]},"
           "{\"From_Account\":\"b\",\"SendTime\":%lld,\"Random\":2,"
           "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"older\"}}]}]}",
           g, (long long)now.tv_sec, (long long)now.tv_sec);
  in_window("b", "group_open_http_svc/import_group_msg", body, &del, &req);
  unlock();
  json_decref(race_read(del));
  json_t *r = race_read(req);
  assert_int_equal(jint(r, "ErrorCode"), 10019); /* MsgList[1].From_Account must be an imported account */
  json_decref(r);
  assert_int_equal(db_count("SELECT count(*) FROM grp_msg WHERE sdkappid=%u"), before);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_add_member_in_window, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_send_in_window, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_import_in_window, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
