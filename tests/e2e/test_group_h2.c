/* End-to-end: four group defects of the 2026-12 review, on one server on
 * the test clock (2026-11-20 00:00 UTC+8), each on its own app:
 *  - get_group_info AppDefinedDataFilter_Group / _GroupMember and
 *    get_group_member_info AppDefinedDataFilter_GroupMember return only the
 *    custom keys they name (they were accepted and ignored);
 *  - set_unread_msg_num counts only messages within the app's retention:
 *    asked for more than there are, the read position lands just below the
 *    oldest message a read can return, not among the expired ones (exact at
 *    the horizon: a message at it counts, one second past it does not);
 *  - add_group_member and create_group that reached the loop while an
 *    account_delete of their user was in flight no longer write a
 *    membership for the deleted account (10019, nothing written);
 *  - import_group counts as a new group on the day of the import: in the
 *    daily net new group limit (P-53, 10006) and in the metered
 *    net_new_groups and groups of that day, not on its CreateTime's day. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_check.h"
#include "e2e_op.h"
#include "e2e_race.h"

static e2e_server_t srv;
static uint32_t app, app_b;
static char key[80], key_b[80];
static char auth[200];
static int64_t now_s;
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", NULL };
#define RETENTION 604800 /* trial: 7 history days */

/* call (e2e_call.h) on app; call_b on the second app */
#define call_b(cmd, ...) v4(srv.port, app_b, key_b, cmd, __VA_ARGS__)

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  if (op_auth_init(&srv, "h2", auth, sizeof auth)) return -1;
  e2e_make_app_at(&srv, "china", "2026-11-01", &app, key);
  e2e_make_app_at(&srv, "china", "2026-11-01", &app_b, key_b);
  if (e2e_server_start(&srv, args)) return -1;
  now_s = 1795104000; /* 2026-11-20 00:00 UTC+8 */
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}


/* The Key=Value pairs of a custom data array, joined by ",". */
static void kv_text(json_t *arr, char *out, size_t cap)
{
  size_t i;
  json_t *e;
  out[0] = 0;
  json_array_foreach(arr, i, e)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s=%s", out[0] ? "," : "", jstr(e, "Key"), jstr(e, "Value"));
}

static json_t *member_named(json_t *list, const char *name)
{
  size_t i;
  json_t *m;
  json_array_foreach(list, i, m) if (!strcmp(jstr(m, "Member_Account"), name)) return m;
  return NULL;
}

/* ---- 1. AppDefinedDataFilter_Group / _GroupMember ------------------------------------------------- */
#define GINFO(filter) "{\"GroupIdList\":[\"kv-1\"],\"ResponseFilter\":" filter "}"

static void expect_group_data(const char *req, const char *want, int name_too)
{
  char got[256];
  json_t *r = call(G("get_group_info"), "%s", req);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *g = json_array_get(json_object_get(r, "GroupInfo"), 0);
  assert_int_equal(jint(g, "ErrorCode"), 0);
  json_t *ad = json_object_get(g, "AppDefinedData");
  if (!want) assert_null(ad);
  else {
    assert_true(json_is_array(ad));
    kv_text(ad, got, sizeof got);
    assert_string_equal(got, want);
  }
  if (name_too) {
    assert_string_equal(jstr(g, "Name"), "kv");
    assert_null(json_object_get(g, "Type"));
  }
  json_decref(r);
}

static void test_appdata_filters(void **st)
{
  (void)st;
  char got[256];
  import_users(srv.port, app, key, (const char *const[]){ "kv_alice", "kv_bob", NULL });
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"kv\",\"GroupId\":\"kv-1\",\"Owner_Account\":\"kv_alice\","
                             "\"AppDefinedData\":[{\"Key\":\"k1\",\"Value\":\"v1\"},{\"Key\":\"k2\",\"Value\":\"v2\"},"
                             "{\"Key\":\"k3\",\"Value\":\"v3\"}],\"MemberList\":[{\"Member_Account\":\"kv_bob\","
                             "\"AppMemberDefinedData\":[{\"Key\":\"m1\",\"Value\":\"a\"},{\"Key\":\"m2\",\"Value\":\"b\"}]}]}"));
  /* no filter: every key; a base filter without AppDefinedData and no key filter: none (as before) */
  expect_group_data("{\"GroupIdList\":[\"kv-1\"]}", "k1=v1,k2=v2,k3=v3", 0);
  expect_group_data(GINFO("{\"GroupBaseInfoFilter\":[\"Name\"]}"), NULL, 1);
  expect_group_data(GINFO("{\"GroupBaseInfoFilter\":[\"Name\",\"AppDefinedData\"]}"), "k1=v1,k2=v2,k3=v3", 1);
  /* the key filter names the keys, in the stored order, whatever the base filter says; unknown keys are skipped */
  expect_group_data(GINFO("{\"GroupBaseInfoFilter\":[\"Name\"],\"AppDefinedDataFilter_Group\":[\"k3\",\"k1\",\"nope\"]}"),
                    "k1=v1,k3=v3", 1);
  expect_group_data(GINFO("{\"AppDefinedDataFilter_Group\":[\"k2\"]}"), "k2=v2", 0);
  expect_group_data(GINFO("{\"AppDefinedDataFilter_Group\":[\"nope\"]}"), NULL, 0);
  expect_group_data(GINFO("{\"AppDefinedDataFilter_Group\":[]}"), NULL, 0);

  /* get_group_info's members: AppDefinedDataFilter_GroupMember */
  json_t *r = call(G("get_group_info"), GINFO("{\"MemberInfoFilter\":[\"Role\"],\"AppDefinedDataFilter_GroupMember\":[\"m2\"]}"));
  assert_non_null(r);
  json_t *g = json_array_get(json_object_get(r, "GroupInfo"), 0);
  json_t *bob = member_named(json_object_get(g, "MemberList"), "kv_bob");
  assert_non_null(bob);
  assert_string_equal(jstr(bob, "Role"), "Member");
  kv_text(json_object_get(bob, "AppMemberDefinedData"), got, sizeof got);
  assert_string_equal(got, "m2=b");
  assert_null(json_object_get(member_named(json_object_get(g, "MemberList"), "kv_alice"), "AppMemberDefinedData"));
  json_decref(r);

  /* get_group_member_info */
  r = call(G("get_group_member_info"), "{\"GroupId\":\"kv-1\",\"AppDefinedDataFilter_GroupMember\":[\"m1\",\"zz\"]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  bob = member_named(json_object_get(r, "MemberList"), "kv_bob");
  assert_non_null(bob);
  assert_non_null(json_object_get(bob, "JoinTime")); /* no MemberInfoFilter: every field */
  kv_text(json_object_get(bob, "AppMemberDefinedData"), got, sizeof got);
  assert_string_equal(got, "m1=a");
  json_decref(r);
  r = call(G("get_group_member_info"), "{\"GroupId\":\"kv-1\",\"AppDefinedDataFilter_GroupMember\":[\"zz\"]}");
  assert_null(json_object_get(member_named(json_object_get(r, "MemberList"), "kv_bob"), "AppMemberDefinedData"));
  json_decref(r);
  r = call(G("get_group_member_info"), "{\"GroupId\":\"kv-1\"}");
  kv_text(json_object_get(member_named(json_object_get(r, "MemberList"), "kv_bob"), "AppMemberDefinedData"), got, sizeof got);
  assert_string_equal(got, "m1=a,m2=b");
  json_decref(r);
}

/* ---- 2. set_unread_msg_num at the retention horizon ----------------------------------------------- */
/* bob's read position (get_group_member_info MsgSeq) and its unread count (WebSocket group_list). */
static void expect_read(const char *user, int msg_seq, int unread)
{
  json_t *r = call(G("get_group_member_info"), "{\"GroupId\":\"ur-1\",\"MemberInfoFilter\":[\"MsgSeq\"]}");
  assert_non_null(r);
  json_t *m = member_named(json_object_get(r, "MemberList"), user);
  assert_non_null(m);
  assert_int_equal(jint(m, "MsgSeq"), msg_seq);
  json_decref(r);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "Web"), 0);
  r = wsc_rpc(&c, "group_list", "%s", "");
  assert_non_null(r);
  json_t *e, *row = NULL;
  size_t i;
  json_array_foreach(json_object_get(r, "groups"), i, e) if (!strcmp(jstr(e, "group_id"), "ur-1")) row = e;
  assert_non_null(row);
  assert_int_equal(jint(row, "unread"), unread);
  json_decref(r);
  wsc_close(&c);
}

static void test_unread_retention(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "ur_alice", "ur_bob", NULL });
  v4_ok(call(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"ur\",\"GroupId\":\"ur-1\",\"Owner_Account\":\"ur_alice\","
                             "\"CreateTime\":%lld,\"MemberList\":[{\"Member_Account\":\"ur_bob\"}]}",
          (long long)(now_s - RETENTION - 100)));
  /* seq 1: GroupCreated (expired); seq 2: one second past the horizon; seq 3: exactly at it; seq 4: now.
   * No purge runs (its default interval is an hour): 1 and 2 are stored, past retention */
  v4_ok(call(G("import_group_msg"), "{\"GroupId\":\"ur-1\",\"MsgList\":[{\"From_Account\":\"ur_alice\",\"SendTime\":%lld,"
                                 "\"Random\":1,\"MsgBody\":" TEXT("past") "},{\"From_Account\":\"ur_alice\",\"SendTime\":%lld,"
                                 "\"Random\":2,\"MsgBody\":" TEXT("at") "}]}",
          (long long)(now_s - RETENTION - 1), (long long)(now_s - RETENTION)));
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"ur-1\",\"From_Account\":\"ur_alice\",\"Random\":3,\"MsgBody\":" TEXT("new") "}"));
  /* within retention: exact */
  v4_ok(call(G("set_unread_msg_num"), "{\"GroupId\":\"ur-1\",\"Member_Account\":\"ur_bob\",\"UnreadMsgNum\":1}"));
  expect_read("ur_bob", 3, 1);
  v4_ok(call(G("set_unread_msg_num"), "{\"GroupId\":\"ur-1\",\"Member_Account\":\"ur_bob\",\"UnreadMsgNum\":2}"));
  expect_read("ur_bob", 2, 2);
  /* more than the two messages a read can return: both unread, the position just below seq 3
   * (it was 1: the expired seq 2 was counted as the third) */
  v4_ok(call(G("set_unread_msg_num"), "{\"GroupId\":\"ur-1\",\"Member_Account\":\"ur_bob\",\"UnreadMsgNum\":3}"));
  expect_read("ur_bob", 2, 2);
  v4_ok(call(G("set_unread_msg_num"), "{\"GroupId\":\"ur-1\",\"Member_Account\":\"ur_bob\",\"UnreadMsgNum\":100}"));
  expect_read("ur_bob", 2, 2);
  v4_ok(call(G("set_unread_msg_num"), "{\"GroupId\":\"ur-1\",\"Member_Account\":\"ur_bob\",\"UnreadMsgNum\":0}"));
  expect_read("ur_bob", 4, 0);
  /* one second on, seq 3 is past the horizon too: only seq 4 counts */
  json_decref(op_callf(srv.port, auth, 200, "POST", "{\"advance_s\":1}", "/operator/v1/clock"));
  v4_ok(call(G("set_unread_msg_num"), "{\"GroupId\":\"ur-1\",\"Member_Account\":\"ur_bob\",\"UnreadMsgNum\":2}"));
  expect_read("ur_bob", 3, 1);
  /* import_group_member UnreadMsgNum takes the same rule */
  import_users(srv.port, app, key, (const char *const[]){ "ur_carol", NULL });
  v4_ok(call(G("import_group_member"), "{\"GroupId\":\"ur-1\",\"MemberList\":[{\"Member_Account\":\"ur_carol\",\"UnreadMsgNum\":5}]}"));
  expect_read("ur_carol", 3, 1);
}

/* ---- 3. add / create racing account_delete ------------------------------------------------------------ */
static int code(json_t *r)
{
  if (!r) fail_msg("no reply");
  int c = (int)jint(r, "ErrorCode");
  json_decref(r);
  return c;
}

static void test_add_racing_delete(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "rc_owner", "rc_gone1", "rc_gone2", "rc_stay", NULL });
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"race\",\"GroupId\":\"race-1\",\"Owner_Account\":\"rc_owner\"}"));
  /* the writer waits on the lock: the deletion is in flight (the accounts still in memory) when the
   * add and the create reach the loop, and their jobs queue after it */
  sqlite3 *db = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"rc_gone1\"},{\"UserID\":\"rc_gone2\"}]}");
  race_inflight(&srv, 1);
  int add = race_send(&srv, app, key, G("add_group_member"), "{\"GroupId\":\"race-1\",\"MemberList\":[{\"Member_Account\":\"rc_gone1\"}]}");
  int cre = race_send(&srv, app, key, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"race2\",\"GroupId\":\"race-2\",\"Owner_Account\":\"rc_stay\","
                                       "\"MemberList\":[{\"Member_Account\":\"rc_gone2\"}]}");
  race_inflight(&srv, 3);
  race_unlock(db);
  json_t *r = race_read(del);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 0), "ResultCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 1), "ResultCode"), 0);
  json_decref(r);
  /* the add and the create were written after the deletion: refused as they would be now */
  assert_int_equal(code(race_read(add)), 10019);
  assert_int_equal(code(race_read(cre)), 10019);
  /* no membership of a deleted account, in memory or in storage */
  r = call(G("get_group_member_info"), "{\"GroupId\":\"race-1\"}");
  assert_non_null(r);
  assert_int_equal(jint(r, "MemberNum"), 1);
  assert_int_equal(json_array_size(json_object_get(r, "MemberList")), 1);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "MemberList"), 0), "Member_Account"), "rc_owner");
  json_decref(r);
  r = call(G("get_group_info"), "{\"GroupIdList\":[\"race-2\"]}");
  assert_int_equal(jint(json_array_get(json_object_get(r, "GroupInfo"), 0), "ErrorCode"), 10010);
  json_decref(r);
  r = call(G("get_joined_group_list"), "{\"Member_Account\":\"rc_stay\"}");
  assert_int_equal(jint(r, "TotalCount"), 0);
  json_decref(r);
  /* the same requests now: the accounts are gone */
  assert_int_equal(code(call(G("add_group_member"), "{\"GroupId\":\"race-1\",\"MemberList\":[{\"Member_Account\":\"rc_gone1\"}]}")), 10019);
  /* and the group's place is free again: the same create without the deleted member succeeds */
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"race2\",\"GroupId\":\"race-2\",\"Owner_Account\":\"rc_stay\"}"));
}

/* ---- 4. import_group in the daily figures ---------------------------------------------------------------- */
/* A day's field of the operator usage report of 2026-11 (day: 1..30). */
static json_int_t usage_day(int day, const char *field)
{
  json_t *u = op_callf(srv.port, auth, 200, "GET", NULL, "/operator/v1/apps/%u/usage?month=2026-11", app_b);
  json_t *d = json_array_get(json_object_get(u, "days"), (size_t)day - 1);
  char date[16];
  snprintf(date, sizeof date, "2026-11-%02d", day);
  assert_string_equal(jstr(d, "date"), date);
  json_int_t v = jint(d, field);
  json_decref(u);
  return v;
}

static void test_import_counts_today(void **st)
{
  (void)st;
  /* 10 AVChatRooms (the trial's) count in P-53 but not in the app's 100 non-live groups */
  for (int k = 0; k < 10; k++)
    v4_ok(call_b(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"av\",\"GroupId\":\"imav-%d\"}", k));
  /* 90 imported groups created on 10 November: today's net new groups reach the trial's 100 */
  for (int k = 0; k < 90; k++)
    v4_ok(call_b(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"imp\",\"GroupId\":\"imp-%d\","
                                 "\"CreateTime\":%lld}", k, (long long)(now_s - 10 * 86400)));
  assert_int_equal(code(call_b(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"imp\",\"GroupId\":\"imp-x\",\"CreateTime\":%lld}",
                               (long long)(now_s - 10 * 86400))), 10006);
  assert_int_equal(code(call_b(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"new\"}")), 10006);
  /* dissolving an imported group gives its place back the same day */
  v4_ok(call_b(G("destroy_group"), "{\"GroupId\":\"imp-0\"}"));
  v4_ok(call_b(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"imp\",\"GroupId\":\"imp-x\",\"CreateTime\":%lld}",
            (long long)(now_s - 10 * 86400)));
  /* metering: the imports are today's (20 November: the test clock moved one second past midnight),
   * 10 November is untouched; live groups are not groups (docs/decisions/metering-groups.md) */
  assert_int_equal(usage_day(20, "net_new_groups"), 90);
  assert_int_equal(usage_day(20, "groups"), 90);
  assert_int_equal(usage_day(10, "net_new_groups"), 0);
  assert_int_equal(usage_day(19, "groups"), 0);
  /* after a restart, the daily count is rebuilt with the imports of today */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  assert_int_equal(code(call_b(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"imp\",\"GroupId\":\"imp-y\",\"CreateTime\":%lld}",
                               (long long)(now_s - 10 * 86400))), 10006);
  v4_ok(call_b(G("destroy_group"), "{\"GroupId\":\"imp-1\"}"));
  v4_ok(call_b(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"imp\",\"GroupId\":\"imp-y\",\"CreateTime\":%lld}",
            (long long)(now_s - 10 * 86400)));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_appdata_filters),
    cmocka_unit_test(test_unread_retention),
    cmocka_unit_test(test_add_racing_delete),
    cmocka_unit_test(test_import_counts_today),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
