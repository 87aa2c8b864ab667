/* End-to-end: the per-user relationship caps of the compatible service
 * (rest-api-reference §7: blocklist ≤ 1,000, pending friend requests ≤ 100),
 * at N and N+1, on an ultimate app (trial holds only 100 accounts):
 *  - black_list_add: the 1,000th entry is taken, the 1,001st answers 30013
 *    and is not stored (the list grew without bound);
 *  - friend_add to NeedConfirm peers: a user's 100th pending request is
 *    recorded, the 101st answers 30012; so does a user's 101st received one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

/* Import u0000..u(n-1) in batches of 100. */
static void import_n(int n)
{
  for (int from = 0; from < n; from += 100) {
    char body[8192];
    size_t off = (size_t)snprintf(body, sizeof body, "{\"Accounts\":[");
    for (int i = from; i < n && i < from + 100; i++)
      off += (size_t)snprintf(body + off, sizeof body - off, "%s\"u%04d\"", i > from ? "," : "", i);
    snprintf(body + off, sizeof body - off, "]}");
    json_t *r = V4("im_open_login_svc/multiaccount_import", "%s", body);
    if (jint(r, "ErrorCode") != 0) fail_msg("import: %s", json_dumps(r, JSON_COMPACT));
    json_decref(r);
  }
}

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--change-poll-ms", "100", NULL };
  char out[4096];
  if (e2e_start(&srv, "china", &app, key, args)) return -1;
  if (e2e_cli(&srv, out, sizeof out, "wallet topup --customer 1 --amount-fen 100000000") ||
      e2e_cli(&srv, out, sizeof out, "app upgrade --sdkappid %u --edition ultimate", app))
    return -1;
  usleep(500 * 1000); /* the change log reaches the server */
  import_n(1102);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static int item(json_t *r, size_t i)
{
  return (int)json_integer_value(json_object_get(json_array_get(json_object_get(r, "ResultItem"), i), "ResultCode"));
}

static void test_blocklist_cap(void **st)
{
  (void)st;
  static char body[1 << 16];
  size_t off = (size_t)snprintf(body, sizeof body, "{\"From_Account\":\"u1101\",\"To_Account\":[");
  for (int i = 0; i < 1000; i++) off += (size_t)snprintf(body + off, sizeof body - off, "%s\"u%04d\"", i ? "," : "", i);
  snprintf(body + off, sizeof body - off, "]}");
  json_t *r = V4("sns/black_list_add", "%s", body);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  for (size_t i = 0; i < 1000; i++) assert_int_equal(item(r, i), 0); /* N */
  json_decref(r);
  r = V4("sns/black_list_add", "{\"From_Account\":\"u1101\",\"To_Account\":[\"u1000\",\"u0007\"]}");
  assert_int_equal(item(r, 0), 30013); /* N+1 */
  assert_int_equal(item(r, 1), 0);     /* already there: no new place */
  json_decref(r);
  r = V4("sns/black_list_check", "{\"From_Account\":\"u1101\",\"To_Account\":[\"u1000\"],\"CheckType\":\"BlackCheckResult_Type_Single\"}");
  assert_string_equal(jstr(json_array_get(json_object_get(r, "BlackListCheckItem"), 0), "Relation"), "BlackCheckResult_Type_NO");
  json_decref(r);
}

static void test_pending_cap(void **st)
{
  (void)st;
  /* u1100 asks u0000..u0099 (NeedConfirm, the default): 100 pending */
  for (int i = 0; i < 101; i++) {
    json_t *r = V4("sns/friend_add", "{\"From_Account\":\"u1100\",\"AddFriendItem\":[{\"To_Account\":\"u%04d\",\"AddSource\":\"AddSource_Type_X\"}]}", i);
    assert_int_equal(item(r, 0), i < 100 ? 30539 : 30012);
    json_decref(r);
  }
  /* received: u0200..u0299 ask u1099; the 101st asker is refused */
  for (int i = 0; i < 101; i++) {
    json_t *r = V4("sns/friend_add", "{\"From_Account\":\"u%04d\",\"AddFriendItem\":[{\"To_Account\":\"u1099\",\"AddSource\":\"AddSource_Type_X\"}]}", 200 + i);
    assert_int_equal(item(r, 0), i < 100 ? 30539 : 30012);
    json_decref(r);
  }
  /* asking again where a request is pending renews it: no new place needed */
  json_t *r = V4("sns/friend_add", "{\"From_Account\":\"u1100\",\"AddFriendItem\":[{\"To_Account\":\"u0005\",\"AddSource\":\"AddSource_Type_X\"}]}");
  assert_int_equal(item(r, 0), 30539);
  json_decref(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_blocklist_cap),
    cmocka_unit_test(test_pending_cap),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
