/* End-to-end: group defects of the 2026-12 review (helper h9), on one
 * server on the test clock (2026-11-20 00:00 UTC+8):
 *  - change_group_owner racing account_delete of the new or the previous
 *    owner: a deleted new owner refuses the transfer (10019, nothing
 *    written); a deleted previous owner leaves the transfer to go on; the
 *    undo of a refused transfer never puts a deleted account back into the
 *    member list (it did: MemberNum and the lists counted it until a
 *    restart). modify_group_member_info racing the deletion likewise;
 *  - forbid_send_msg in a live room racing the deletion writes no mute row
 *    for the deleted account (10019), a Public-group application racing it
 *    leaves no application; set_unread_msg_num of a member racing the
 *    deletion of its account answers 10019 (it answered 70107, the
 *    storage's "no such row");
 *  - a Community group after a downgrade to an edition without communities
 *    (intl Pro -> Standard, P-57) takes no system notification either (11000);
 *  - get_group_info MaxMemberNum of a group made under a higher edition is
 *    the cap in force: the lower of its own and the edition's;
 *  - send_group_msg without From_Account, signed as an App admin identifier
 *    that is also an imported account, is the App admin's message whether
 *    or not that account is a member (it was refused with 10007).
 */
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
static uint32_t app;
static char key[80];
static char auth[200];
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", NULL };

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  if (op_auth_init(&srv, "h9", auth, sizeof auth)) return -1;
  e2e_make_app_at(&srv, "china", "2026-11-01", &app, key);
  if (e2e_server_start(&srv, args)) return -1;
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}


static int code(json_t *r)
{
  if (!r) fail_msg("no reply");
  int c = (int)jint(r, "ErrorCode");
  json_decref(r);
  return c;
}

static void restart(void)
{
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
}

/* The deletion's reply: every item deleted. */
static void deleted(int fd, size_t n)
{
  json_t *r = race_read(fd);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), i), "ResultCode"), 0);
  json_decref(r);
}

/* "user:Role" of every member of gid, in the listed order, joined by ","; MemberNum into *num. */
static void members(const char *gid, char *out, size_t cap, long long *num)
{
  json_t *r = call(G("get_group_member_info"), "{\"GroupId\":\"%s\"}", gid), *m;
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "MemberList"), i, m)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s:%s", out[0] ? "," : "", jstr(m, "Member_Account"), jstr(m, "Role"));
  *num = jint(r, "MemberNum");
  json_decref(r);
}

static const char *owner_of(const char *gid)
{
  static char owner[64];
  json_t *r = call(G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", gid);
  assert_non_null(r);
  json_t *g = json_array_get(json_object_get(r, "GroupInfo"), 0);
  assert_int_equal(jint(g, "ErrorCode"), 0);
  snprintf(owner, sizeof owner, "%s", jstr(g, "Owner_Account"));
  json_decref(r);
  return owner;
}

static void expect_members(const char *gid, const char *want, long long want_num, const char *want_owner)
{
  char got[512];
  long long num;
  members(gid, got, sizeof got, &num);
  assert_string_equal(got, want);
  assert_int_equal(num, want_num);
  assert_string_equal(owner_of(gid), want_owner);
}

/* ---- 1. change_group_owner (and modify_group_member_info) racing account_delete ------------------------ */
static void test_transfer_racing_delete(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "to_a", "to_new", "to_c", "to_old", "to_e", "to_f", "to_g", "to_h", NULL });
  /* t1: the new owner is deleted; t2: the previous owner is; t3: a member whose role changes is */
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"t1\",\"GroupId\":\"t1\",\"Owner_Account\":\"to_a\","
                             "\"MemberList\":[{\"Member_Account\":\"to_new\"},{\"Member_Account\":\"to_c\"}]}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"t2\",\"GroupId\":\"t2\",\"Owner_Account\":\"to_old\","
                             "\"MemberList\":[{\"Member_Account\":\"to_e\"}]}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"t3\",\"GroupId\":\"t3\",\"Owner_Account\":\"to_f\","
                             "\"MemberList\":[{\"Member_Account\":\"to_g\"}]}"));
  /* t4: a live room given to the deleted new owner */
  v4_ok(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"t4\",\"GroupId\":\"t4\",\"Owner_Account\":\"to_h\"}"));
  sqlite3 *db = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete",
                    "{\"DeleteItem\":[{\"UserID\":\"to_new\"},{\"UserID\":\"to_old\"},{\"UserID\":\"to_g\"}]}");
  race_inflight(&srv, 1);
  int t1 = race_send(&srv, app, key, G("change_group_owner"), "{\"GroupId\":\"t1\",\"NewOwner_Account\":\"to_new\"}");
  int t2 = race_send(&srv, app, key, G("change_group_owner"), "{\"GroupId\":\"t2\",\"NewOwner_Account\":\"to_e\"}");
  int t3 = race_send(&srv, app, key, G("modify_group_member_info"), "{\"GroupId\":\"t3\",\"Member_Account\":\"to_g\",\"Role\":\"Admin\"}");
  int t4 = race_send(&srv, app, key, G("change_group_owner"), "{\"GroupId\":\"t4\",\"NewOwner_Account\":\"to_new\"}");
  race_inflight(&srv, 5);
  race_unlock(db);
  deleted(del, 3);
  int c1 = code(race_read(t1)), c2 = code(race_read(t2)), c3 = code(race_read(t3)), c4 = code(race_read(t4));
  /* memory: no deleted account came back; the same after a restart (storage) */
  for (int pass = 0; pass < 2; pass++) {
    expect_members("t1", "to_a:Owner,to_c:Member", 2, "to_a");
    expect_members("t2", "to_e:Owner", 1, "to_e");
    expect_members("t3", "to_f:Owner", 1, "to_f");
    assert_string_equal(owner_of("t4"), "to_h");
    if (!pass) restart();
  }
  /* the new owner's account went first: refused as it would be now; the previous owner's went first:
   * the ownerless group gets its new owner; the member whose role changed is gone: refused */
  assert_int_equal(c1, 10019);
  assert_int_equal(c2, 0);
  assert_int_equal(c3, 10019);
  assert_int_equal(c4, 10019);
  /* and the groups work on: t1 can still be given to to_c */
  v4_ok(call(G("change_group_owner"), "{\"GroupId\":\"t1\",\"NewOwner_Account\":\"to_c\"}"));
  expect_members("t1", "to_a:Member,to_c:Owner", 2, "to_c");
}

/* ---- 2. forbid_send_msg in a live room and a Public-group application racing account_delete ------------ */
/* MutedAccountList of gid as "user" joined by ",". */
static void muted(const char *gid, char *out, size_t cap)
{
  json_t *r = call(G("get_group_muted_account"), "{\"GroupId\":\"%s\"}", gid), *m;
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  size_t i;
  out[0] = 0;
  json_array_foreach(json_object_get(r, "MutedAccountList"), i, m)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", jstr(m, "Member_Account"));
  json_decref(r);
}

/* The member rows of gid in storage, every role (a live room's rows record mutes; applications are rows too). */
static int stored_rows(const char *gid)
{
  char path[400];
  sqlite3 *db;
  sqlite3_stmt *st;
  snprintf(path, sizeof path, "%s/imcloud.db", srv.dir);
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM grp_member m JOIN grp g ON g.sdkappid=m.sdkappid AND "
                                          "g.group_no=m.group_no WHERE g.sdkappid=?1 AND g.group_id=?2", -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_text(st, 2, gid, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

/* The applications waiting for gid, listed by its owner: their number. */
static int applications(const char *owner, const char *gid)
{
  wsc_t o;
  assert_int_equal(wsc_login(&o, srv.port, app, key, owner, "Web"), 0);
  json_t *r = wsc_rpc(&o, "group_applications", "\"group_id\":\"%s\"", gid);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  int n = (int)json_array_size(json_object_get(r, "applications"));
  assert_int_equal(jint(r, "total"), n);
  json_decref(r);
  wsc_close(&o);
  return n;
}

static void test_mute_apply_racing_delete(void **st)
{
  (void)st;
  char got[256];
  import_users(srv.port, app, key, (const char *const[]){ "lm_owner", "lm_gone", "lm_stay", "ap_owner", "ap_gone", NULL });
  v4_ok(call(G("create_group"), "{\"Type\":\"AVChatRoom\",\"Name\":\"lm\",\"GroupId\":\"lm-1\",\"Owner_Account\":\"lm_owner\"}"));
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"ap\",\"GroupId\":\"ap-1\",\"Owner_Account\":\"ap_owner\","
                             "\"ApplyJoinOption\":\"NeedPermission\"}"));
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "ap_gone", "Web"), 0);
  sqlite3 *db = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"lm_gone\"},{\"UserID\":\"ap_gone\"}]}");
  race_inflight(&srv, 1);
  int mute = race_send(&srv, app, key, G("forbid_send_msg"), "{\"GroupId\":\"lm-1\",\"Members_Account\":[\"lm_gone\"],\"MuteTime\":3600}");
  assert_int_equal(e2e_ws_send_text(a.fd, "{\"id\":7,\"op\":\"group_join\",\"group_id\":\"ap-1\"}"), 0);
  race_inflight(&srv, 3);
  race_unlock(db);
  deleted(del, 2);
  int cm = code(race_read(mute));
  wsc_close(&a); /* closed by the deletion (4003) before its reply */
  /* no mute row and no application of a deleted account, in memory or in storage */
  for (int pass = 0; pass < 2; pass++) {
    muted("lm-1", got, sizeof got);
    assert_string_equal(got, "");
    assert_int_equal(stored_rows("lm-1"), 0);
    assert_int_equal(applications("ap_owner", "ap-1"), 0);
    assert_int_equal(stored_rows("ap-1"), 1); /* the owner's */
    if (!pass) restart();
  }
  assert_int_equal(cm, 10019);
  /* a live member still muted as before */
  v4_ok(call(G("forbid_send_msg"), "{\"GroupId\":\"lm-1\",\"Members_Account\":[\"lm_stay\"],\"MuteTime\":3600}"));
  muted("lm-1", got, sizeof got);
  assert_string_equal(got, "lm_stay");
}

/* ---- 2b. set_unread_msg_num racing account_delete of the member ------------------------------------------- */
static void test_set_unread_racing_delete(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "su_owner", "su_gone", NULL });
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"su\",\"GroupId\":\"su-1\",\"Owner_Account\":\"su_owner\","
                             "\"MemberList\":[{\"Member_Account\":\"su_gone\"}]}"));
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"su-1\",\"From_Account\":\"su_owner\",\"Random\":1,\"MsgBody\":" TEXT("one") "}"));
  sqlite3 *db = race_lock(&srv);
  int del = race_send(&srv, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"su_gone\"}]}");
  race_inflight(&srv, 1);
  int set = race_send(&srv, app, key, G("set_unread_msg_num"), "{\"GroupId\":\"su-1\",\"Member_Account\":\"su_gone\",\"UnreadMsgNum\":0}");
  race_inflight(&srv, 2);
  race_unlock(db);
  deleted(del, 1);
  /* the member's account went first: refused as the request would be now (the account is not imported) */
  assert_int_equal(code(race_read(set)), 10019);
  assert_int_equal(code(call(G("set_unread_msg_num"), "{\"GroupId\":\"su-1\",\"Member_Account\":\"su_gone\",\"UnreadMsgNum\":0}")), 10019);
  assert_int_equal(stored_rows("su-1"), 1); /* the owner's */
}

/* ---- 3, 4. after a downgrade: a community takes no notification; MaxMemberNum is the cap in force -------- */
/* An intl app moved from Pro to Standard (P-57: no communities; members per group 2,000 -> 200), holding a
 * Community group "@TGS#_dn" and a Public group "dn-big" made on Pro with MaxMemberCount 1000; its key into k. */
static uint32_t downgraded_app(char k[80])
{
  json_t *o = op_callf(srv.port, auth, 201, "POST", "{\"name\":\"h9dn\"}", "/operator/v1/customers");
  long long cust = jint(o, "id");
  json_decref(o);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"amount_fen\":100000000,\"reference\":\"seed-h9dn\"}",
                       "/operator/v1/customers/%lld/wallet/topups", cust));
  char body[200];
  snprintf(body, sizeof body, "{\"customer_id\":%lld,\"name\":\"dn\",\"region\":\"singapore\"}", cust);
  o = op_callf(srv.port, auth, 201, "POST", body, "/operator/v1/apps");
  uint32_t a = (uint32_t)jint(o, "sdkappid");
  snprintf(k, 80, "%s", jstr(o, "key"));
  json_decref(o);
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"pro\"}", "/operator/v1/apps/%u/upgrade", a));
  import_users(srv.port, a, k, (const char *const[]){ "dn_a", "dn_b", "dn_c", NULL });
  v4_ok(v4(srv.port, a, k, G("create_group"), "{\"Type\":\"Community\",\"Name\":\"dn\",\"GroupId\":\"@TGS#_dn\","
                                           "\"Owner_Account\":\"dn_a\",\"MemberList\":[{\"Member_Account\":\"dn_b\"}]}"));
  v4_ok(v4(srv.port, a, k, G("create_group"), "{\"Type\":\"Public\",\"Name\":\"big\",\"GroupId\":\"dn-big\","
                                           "\"Owner_Account\":\"dn_a\",\"MaxMemberCount\":1000}"));
  json_decref(op_callf(srv.port, auth, 201, "POST", "{\"edition\":\"standard\",\"reference\":\"h9-down\"}",
                       "/operator/v1/apps/%u/upgrade", a));
  /* the change reaches the server's registry: the community takes no member */
  for (int waited = 0;; waited += 50) {
    int c = code(v4(srv.port, a, k, G("add_group_member"), "{\"GroupId\":\"@TGS#_dn\",\"MemberList\":[{\"Member_Account\":\"dn_c\"}]}"));
    if (c == 11000) break;
    if (c) fail_msg("add_group_member answered %d", c); /* still Pro: added */
    if (waited > 5000) fail_msg("the downgrade did not reach the server");
    usleep(50000);
  }
  return a;
}

static uint32_t dn_app;
static char dn_key[80];

static void test_community_notification_after_downgrade(void **st)
{
  (void)st;
  dn_app = downgraded_app(dn_key);
  wsc_t b;
  assert_int_equal(wsc_login(&b, srv.port, dn_app, dn_key, "dn_b", "Web"), 0);
  /* as a send: refused with 11000, nothing pushed */
  assert_int_equal(code(v4(srv.port, dn_app, dn_key, G("send_group_msg"),
                           "{\"GroupId\":\"@TGS#_dn\",\"Random\":1,\"MsgBody\":" TEXT("x") "}")), 11000);
  assert_int_equal(code(v4(srv.port, dn_app, dn_key, G("send_group_system_notification"),
                           "{\"GroupId\":\"@TGS#_dn\",\"Content\":\"hello\"}")), 11000);
  assert_int_equal(code(v4(srv.port, dn_app, dn_key, G("send_group_system_notification"),
                           "{\"GroupId\":\"@TGS#_dn\",\"Content\":\"hello\",\"ToMembers_Account\":[\"dn_b\"]}")), 11000);
  json_t *p = wsc_push(&b, "group_system", 500);
  if (p) fail_msg("pushed: %s", json_dumps(p, JSON_COMPACT));
  /* a Public group of the same app still takes one */
  v4_ok(v4(srv.port, dn_app, dn_key, G("add_group_member"), "{\"GroupId\":\"dn-big\",\"MemberList\":[{\"Member_Account\":\"dn_b\"}]}"));
  v4_ok(v4(srv.port, dn_app, dn_key, G("send_group_system_notification"), "{\"GroupId\":\"dn-big\",\"Content\":\"hello\"}"));
  wsc_close(&b);
}

static long long max_member_num(const char *gid)
{
  json_t *r = v4(srv.port, dn_app, dn_key, G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", gid);
  assert_non_null(r);
  json_t *g = json_array_get(json_object_get(r, "GroupInfo"), 0);
  assert_int_equal(jint(g, "ErrorCode"), 0);
  long long n = jint(g, "MaxMemberNum");
  json_decref(r);
  return n;
}

static void test_max_member_num_after_downgrade(void **st)
{
  (void)st;
  /* made on Pro (2,000 per group) with its own 1,000; Standard allows 200: 200 is what holds */
  assert_int_equal(max_member_num("dn-big"), 200);
  /* its own cap, when lower, is still shown */
  v4_ok(v4(srv.port, dn_app, dn_key, G("modify_group_base_info"), "{\"GroupId\":\"dn-big\",\"MaxMemberNum\":150}"));
  assert_int_equal(max_member_num("dn-big"), 150);
  /* a group without its own cap shows the edition's */
  assert_int_equal(max_member_num("@TGS#_dn"), 200);
}

/* ---- 5. send_group_msg without From_Account by an admin identifier that is also an account ------------- */
/* From_Account of gid's messages, oldest first, joined by "," ("-" for a system notice). */
static void senders(const char *gid, char *out, size_t cap)
{
  json_t *r = call(G("group_msg_get_simple"), "{\"GroupId\":\"%s\",\"ReqMsgNumber\":20}", gid), *m;
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *list = json_object_get(r, "RspMsgList");
  out[0] = 0;
  for (size_t i = json_array_size(list); i-- > 0;) {
    m = json_array_get(list, i);
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
             jint(m, "IsSystemMsg") ? "-" : jstr(m, "From_Account"));
  }
  json_decref(r);
}

static void test_admin_account_sends_anywhere(void **st)
{
  (void)st;
  char got[256];
  import_users(srv.port, app, key, (const char *const[]){ "administrator", "as_a", "as_b", NULL });
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"as\",\"GroupId\":\"as-1\",\"Owner_Account\":\"as_a\"}"));
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "as_a", "Web"), 0);
  /* the App admin sends to a group its account is not in (it was refused with 10007) */
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"as-1\",\"Random\":5,\"MsgBody\":" TEXT("from the admin") "}"));
  json_t *p = wsc_push(&a, "group_msg", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "msg.from"), "administrator");
  json_decref(p);
  /* a From_Account that is no member is still refused */
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"as-1\",\"From_Account\":\"as_b\",\"Random\":6,"
                                                  "\"MsgBody\":" TEXT("b") "}")), 10007);
  /* and naming the admin's own account as From_Account is a member's send: refused while it is none */
  assert_int_equal(code(call(G("send_group_msg"), "{\"GroupId\":\"as-1\",\"From_Account\":\"administrator\",\"Random\":7,"
                                                  "\"MsgBody\":" TEXT("c") "}")), 10007);
  /* as a member, the same send is its account's, as before */
  v4_ok(call(G("add_group_member"), "{\"GroupId\":\"as-1\",\"Silence\":1,\"MemberList\":[{\"Member_Account\":\"administrator\"}]}"));
  v4_ok(call(G("send_group_msg"), "{\"GroupId\":\"as-1\",\"Random\":8,\"MsgBody\":" TEXT("as a member") "}"));
  senders("as-1", got, sizeof got);
  assert_string_equal(got, "-,administrator,administrator");
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_transfer_racing_delete),
    cmocka_unit_test(test_mute_apply_racing_delete),
    cmocka_unit_test(test_set_unread_racing_delete),
    cmocka_unit_test(test_community_notification_after_downgrade),
    cmocka_unit_test(test_max_member_num_after_downgrade),
    cmocka_unit_test(test_admin_account_sends_anywhere),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
