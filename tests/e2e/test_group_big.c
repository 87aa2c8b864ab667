/* End-to-end: P-17, at most 10 groups of 10,000 members ("万人大群") per
 * customer unless an operator raises it (docs/decisions/groups-big.md).
 * One customer with two S-2019 Pro apps that hold member_cap=10000 (the
 * add-on with the per-customer quota; its floor is 6,000): groups whose own
 * MaxMemberNum is above 6,000 count over both apps, at 10 and 11; a
 * dissolved or shrunk one gives its place back; create, import_group and
 * modify_group_base_info refuse with 10038; the operator API and the CLI
 * raise the quota; a group without its own MaxMemberNum stops at 6,000
 * members. */
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
#include "e2e_msg.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t apps[2];
static char keys[2][80];
static char auth[160];


static void cli_ok(char *out, size_t cap, const char *what, int rc)
{
  if (rc) fail_msg("%s: exit %d: %s", what, rc, out);
  (void)cap;
}

/* An S-2019 Pro app of customer 1 holding member_cap=10000. */
static void make_app(int i)
{
  char out[4096];
  cli_ok(out, sizeof out, "app create",
         e2e_cli(&srv, out, sizeof out, "app create --customer 1 --name big%d --region china --scheme s2019 --json", i));
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  apps[i] = (uint32_t)json_integer_value(json_object_get(j, "sdkappid"));
  snprintf(keys[i], sizeof keys[i], "%s", json_string_value(json_object_get(j, "key")));
  json_decref(j);
  cli_ok(out, sizeof out, "upgrade", e2e_cli(&srv, out, sizeof out, "app upgrade --sdkappid %u --edition pro", apps[i]));
  cli_ok(out, sizeof out, "addon", e2e_cli(&srv, out, sizeof out, "addon buy --sdkappid %u member_cap=10000", apps[i]));
}

static int setup(void **st)
{
  (void)st;
  char out[4096];
  e2e_dir_init(&srv);
  if (e2e_cli(&srv, out, sizeof out, "customer create --name big --json")) return -1;
  if (e2e_cli(&srv, out, sizeof out, "wallet topup --customer 1 --amount-fen 100000000 --reference t1")) return -1;
  make_app(0);
  make_app(1);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* on the i-th app: not e2e_call.h's call, which takes the file's one app */
#define call(i, cmd, ...) v4(srv.port, apps[i], keys[i], cmd, __VA_ARGS__)

static int code(json_t *r)
{
  assert_non_null(r);
  int c = (int)jint(r, "ErrorCode");
  json_decref(r);
  return c;
}

static int create(int i, const char *gid, int max)
{
  if (!max) return code(call(i, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"%s\"}", gid));
  return code(call(i, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"%s\",\"MaxMemberCount\":%d}", gid, max));
}

static int modify(int i, const char *gid, int max)
{
  return code(call(i, G("modify_group_base_info"), "{\"GroupId\":\"%s\",\"MaxMemberNum\":%d}", gid, max));
}

static json_int_t max_of(int i, const char *gid)
{
  json_t *r = call(i, G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", gid);
  assert_non_null(r);
  json_int_t n = json_integer_value(json_object_get(json_array_get(json_object_get(r, "GroupInfo"), 0), "MaxMemberNum"));
  json_decref(r);
  return n;
}

static json_t *op(const char *method, const char *path, const char *body)
{
  static char buf[4096];
  int st = e2e_http(srv.port, method, path, auth, body, buf, sizeof buf);
  if (st != 200) fail_msg("%s %s: %d %s", method, path, st, buf);
  return json_loads(buf, 0, NULL);
}

static void test_quota(void **st)
{
  (void)st;
  char gid[32];
  /* ten big groups over the customer's two apps, then the eleventh is refused everywhere */
  for (int k = 0; k < 10; k++) {
    snprintf(gid, sizeof gid, "big-%d", k);
    assert_int_equal(create(k % 2, gid, 10000), 0);
  }
  assert_int_equal(create(0, "big-10", 10000), 10038);
  assert_int_equal(create(1, "big-10", 6001), 10038);
  assert_int_equal(code(call(1, G("import_group"), "{\"Type\":\"Public\",\"Name\":\"n\",\"GroupId\":\"big-imp\","
                                                   "\"MaxMemberCount\":8000,\"CreateTime\":%lld}", (long long)time(NULL) - 60)),
                   10038);
  /* at the floor a group is not big */
  assert_int_equal(create(0, "small-1", 6000), 0);
  assert_int_equal(create(1, "plain-1", 0), 0);
  assert_int_equal(max_of(1, "plain-1"), 6000);     /* without its own cap: the floor */
  assert_int_equal(max_of(0, "big-0"), 10000);
  assert_int_equal(modify(0, "small-1", 6001), 10038);
  assert_int_equal(modify(0, "small-1", 5000), 0);
  assert_int_equal(modify(0, "big-0", 9000), 0);    /* already big: no new place */
  /* a shrunk big group gives its place back; so does a dissolved one */
  assert_int_equal(modify(0, "big-0", 6000), 0);
  assert_int_equal(modify(0, "small-1", 7000), 0);
  assert_int_equal(create(1, "big-10", 10000), 10038);
  assert_int_equal(code(call(1, G("destroy_group"), "{\"GroupId\":\"big-1\"}")), 0);
  assert_int_equal(create(1, "big-10", 10000), 0);
  assert_int_equal(create(1, "big-11", 10000), 10038);
  /* the operator raises the customer's quota by one (a ticket) */
  json_t *r = op("POST", "/operator/v1/customers/1/big-groups", "{\"extra\":1}");
  assert_int_equal(jint(r, "big_groups_extra"), 1);
  assert_int_equal(jint(r, "big_groups"), 10);
  json_decref(r);
  assert_int_equal(create(1, "big-11", 10000), 0);
  assert_int_equal(create(0, "big-12", 10000), 10038);
  r = op("GET", "/operator/v1/customers/1/big-groups", NULL);
  assert_int_equal(jint(r, "big_groups"), 11);
  json_decref(r);
  /* the CLI writes the setting; the server applies it from the change log */
  char out[512];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "customer big-groups --customer 1 --extra 2 --json"), 0);
  int rc = -1;
  for (int tries = 0; tries < 50 && rc; tries++) {
    rc = create(0, "big-12", 10000);
    if (rc) usleep(100000);
  }
  assert_int_equal(rc, 0);
  assert_int_equal(create(0, "big-13", 10000), 10038);
  /* bad input changes nothing */
  static char buf[1024];
  assert_int_equal(e2e_http(srv.port, "POST", "/operator/v1/customers/1/big-groups", auth, "{\"extra\":-1}", buf, sizeof buf), 400);
  assert_int_equal(e2e_http(srv.port, "POST", "/operator/v1/customers/9/big-groups", auth, "{\"extra\":1}", buf, sizeof buf), 404);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "customer big-groups --customer 1 --extra -1"), 1);
  r = op("GET", "/operator/v1/customers/1/big-groups", NULL);
  assert_int_equal(jint(r, "big_groups_extra"), 2);
  json_decref(r);
}

/* A group without its own MaxMemberNum holds at most the floor (6,000). */
static void test_default_cap(void **st)
{
  (void)st;
  char body[16384];
  assert_int_equal(create(0, "crowd", 0), 0);
  for (int b = 0; b < 61; b++) { /* 6,100 accounts, 100 per import */
    size_t n = (size_t)snprintf(body, sizeof body, "{\"Accounts\":[");
    for (int k = 0; k < 100; k++) n += (size_t)snprintf(body + n, sizeof body - n, "%s\"u%d\"", k ? "," : "", b * 100 + k);
    snprintf(body + n, sizeof body - n, "]}");
    json_t *r = call(0, "im_open_login_svc/multiaccount_import", "%s", body);
    assert_int_equal(code(r), 0);
  }
  for (int b = 0; b < 20; b++) { /* 6,000 members, 300 per add */
    size_t n = (size_t)snprintf(body, sizeof body, "{\"GroupId\":\"crowd\",\"Silence\":1,\"MemberList\":[");
    for (int k = 0; k < 300; k++)
      n += (size_t)snprintf(body + n, sizeof body - n, "%s{\"Member_Account\":\"u%d\"}", k ? "," : "", b * 300 + k);
    snprintf(body + n, sizeof body - n, "]}");
    assert_int_equal(code(call(0, G("add_group_member"), "%s", body)), 0);
  }
  assert_int_equal(code(call(0, G("add_group_member"), "{\"GroupId\":\"crowd\",\"MemberList\":[{\"Member_Account\":\"u6000\"}]}")),
                   10014);
  /* with its own cap above the floor (a place of the quota: 12 of 12 are taken) it cannot grow either */
  assert_int_equal(modify(0, "crowd", 10000), 10038);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_quota),
    cmocka_unit_test(test_default_cap),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
