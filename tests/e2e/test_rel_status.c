/* End-to-end: conversation groups and marks (recentcontact contact-group commands,
 * mark_contact) with their limits and multi-device pushes, pinned
 * conversations (51012), and user status (status_* ops, subscriptions and
 * pushes, PushOnline kept across a restart, query_online_status) against
 * the real server. The main app is international (Developer edition: user
 * status, conversation groups and marks on); a china free-edition app checks
 * the gates. */
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
static uint32_t app, app_cn;
static char key[80], key_cn[80];

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, "singapore", &app, key, NULL)) return -1;
  e2e_make_app(&srv, "china", &app_cn, key_cn);
  for (int i = 0; i < 200; i++) { /* the server learns the second app from the change log */
    json_t *r = v4(srv.port, app_cn, key_cn, "im_open_login_svc/account_import", "{\"UserID\":\"cn_a\"}");
    int ok = r && json_integer_value(json_object_get(r, "ErrorCode")) == 0;
    json_decref(r);
    if (ok) return 0;
    usleep(50 * 1000);
  }
  return -1;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

#define V4(cmd, ...) v4(srv.port, app, key, cmd, __VA_ARGS__)

static json_t *ok_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != code) fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  return r;
}
#define EXPECT(code, r) json_decref(ok_code((r), (code)))

/* Log in and sync: relationship pushes are inbox events, pushed to live sessions. */
static void login(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
  json_t *evs = wsc_sync_live(c);
  assert_non_null(evs);
  json_decref(evs);
}

static json_t *rpc_ok(wsc_t *c, const char *op, const char *fields, int code)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  if (!r) { /* the server went away: show why */
    char *log = e2e_server_log(&srv);
    size_t n = log ? strlen(log) : 0;
    fprintf(stderr, "%s\n", log ? log + (n > 6000 ? n - 6000 : 0) : "");
    free(log);
  }
  assert_non_null(r);
  if (jint(r, "code") != code) fail_msg("%s: expected %d, got %s", op, code, json_dumps(r, JSON_COMPACT));
  return r;
}

/* ---- conversation groups and marks ----------------------------------------------------------- */
static void test_contact_groups(void **st)
{
  (void)st;
  const char *const u[] = { "cg_me", "cg_b", "cg_c", NULL };
  import_users(srv.port, app, key, u);
  wsc_t d1, d2;
  login(&d1, "cg_me", "Web");
  login(&d2, "cg_me", "Android");
  json_t *r = ok_code(V4("recentcontact/create_contact_group", "{\"From_Account\":\"cg_me\",\"GroupContactItem\":["
                         "{\"GroupName\":\"work\",\"ContactItem\":[{\"Type\":1,\"To_Account\":\"cg_b\"},{\"Type\":2,\"ToGroupId\":\"@TGS#1\"}]},"
                         "{\"GroupName\":\"fam\",\"ContactItem\":[{\"Type\":1,\"To_Account\":\"cg_c\"},{\"Type\":3,\"To_Account\":\"x\"}]}]}"), 0);
  json_t *g0 = json_array_get(json_object_get(r, "GroupResultItem"), 0), *g1 = json_array_get(json_object_get(r, "GroupResultItem"), 1);
  assert_string_equal(jstr(g0, "GroupItem.GroupName"), "work");
  json_int_t work_id = jint(g0, "GroupItem.GroupId");
  assert_true(work_id > 0);
  assert_int_equal(jint(json_array_get(json_object_get(g1, "ResultItem"), 1), "ResultCode"), 50002);
  json_decref(r);
  /* every device of the user learns it */
  json_t *p = wsc_push(&d1, "contact_groups_changed", 3000);
  assert_non_null(p);
  json_decref(p);
  p = wsc_push(&d2, "contact_groups_changed", 3000);
  assert_non_null(p);
  json_decref(p);
  /* limits: name length, duplicate, count */
  EXPECT(51011, V4("recentcontact/create_contact_group", "{\"From_Account\":\"cg_me\",\"GroupContactItem\":[{\"GroupName\":\"%s\",\"ContactItem\":[]}]}",
                   "123456789012345678901234567890123"));
  EXPECT(50002, V4("recentcontact/create_contact_group", "{\"From_Account\":\"cg_me\",\"GroupContactItem\":[{\"GroupName\":\"work\",\"ContactItem\":[]}]}"));
  /* a name twice in one request: refused whole (the second replaced the first, both reported made) */
  EXPECT(50002, V4("recentcontact/create_contact_group", "{\"From_Account\":\"cg_me\",\"GroupContactItem\":[{\"GroupName\":\"twice\","
                   "\"ContactItem\":[]},{\"GroupName\":\"twice\",\"ContactItem\":[]}]}"));
  json_t *tw = ok_code(V4("recentcontact/get_contact_group", "{\"From_Account\":\"cg_me\",\"StartIndex\":0}"), 0);
  char *tws = json_dumps(tw, JSON_COMPACT);
  assert_non_null(strstr(tws, "\"work\""));
  assert_null(strstr(tws, "twice"));
  free(tws);
  json_decref(tw);
  char body[4096];
  size_t len = (size_t)snprintf(body, sizeof body, "{\"From_Account\":\"cg_me\",\"GroupContactItem\":[");
  for (int i = 0; i < 18; i++) len += (size_t)snprintf(body + len, sizeof body - len, "%s{\"GroupName\":\"g%02d\",\"ContactItem\":[]}", i ? "," : "", i);
  snprintf(body + len, sizeof body - len, "]}");
  EXPECT(0, V4("recentcontact/create_contact_group", "%s", body)); /* 20 groups: N */
  EXPECT(51010, V4("recentcontact/create_contact_group", "{\"From_Account\":\"cg_me\",\"GroupContactItem\":[{\"GroupName\":\"one_more\",\"ContactItem\":[]}]}"));
  EXPECT(0, V4("recentcontact/del_contact_group", "{\"From_Account\":\"cg_me\",\"GroupName\":[\"g00\",\"g01\"]}"));
  /* 1,000 conversations per group */
  static char big[1 << 16];
  len = (size_t)snprintf(big, sizeof big, "{\"From_Account\":\"cg_me\",\"GroupContactItem\":[{\"GroupName\":\"big\",\"ContactItem\":[");
  for (int i = 0; i < 1001; i++) len += (size_t)snprintf(big + len, sizeof big - len, "%s{\"Type\":2,\"ToGroupId\":\"g%d\"}", i ? "," : "", i);
  snprintf(big + len, sizeof big - len, "]}]}");
  EXPECT(51008, V4("recentcontact/create_contact_group", "%s", big));
  /* rename, then add and remove conversations */
  r = ok_code(V4("recentcontact/update_contact_group", "{\"From_Account\":\"cg_me\",\"UpdateType\":1,\"UpdateGroup\":{\"OldGroupName\":\"work\",\"NewGroupName\":\"job\"}}"), 0);
  assert_string_equal(jstr(r, "UpdateGroupResult.NewGroupName"), "job");
  json_decref(r);
  r = ok_code(V4("recentcontact/update_contact_group", "{\"From_Account\":\"cg_me\",\"UpdateType\":2,\"UpdateGroup\":{\"OldGroupName\":\"job\",\"ContactUpdateItem\":["
                 "{\"ContactOpType\":1,\"ContactItem\":{\"Type\":1,\"To_Account\":\"cg_c\"}},{\"ContactOpType\":2,\"ContactItem\":{\"Type\":2,\"ToGroupId\":\"@TGS#1\"}},"
                 "{\"ContactOpType\":2,\"ContactItem\":{\"Type\":2,\"ToGroupId\":\"@TGS#absent\"}}]}}"), 0);
  json_t *cri = json_object_get(json_object_get(r, "UpdateGroupResult"), "ContactResultItem");
  assert_int_equal(jint(json_array_get(cri, 0), "ResultCode"), 0);
  assert_int_equal(jint(json_array_get(cri, 1), "ResultCode"), 0);
  assert_int_equal(jint(json_array_get(cri, 2), "ResultCode"), 50002);
  json_decref(r);
  EXPECT(50002, V4("recentcontact/update_contact_group", "{\"From_Account\":\"cg_me\",\"UpdateType\":1,\"UpdateGroup\":{\"OldGroupName\":\"work\",\"NewGroupName\":\"x\"}}"));
  /* search: cg_c is in "fam" and "job" (same id as "work") */
  r = ok_code(V4("recentcontact/search_contact_group", "{\"From_Account\":\"cg_me\",\"ContactItem\":[{\"Type\":1,\"To_Account\":\"cg_c\"},{\"Type\":1,\"To_Account\":\"cg_b\"}]}"), 0);
  json_t *c0 = json_array_get(json_object_get(r, "ContactResultItem"), 0);
  assert_int_equal((int)json_array_size(json_object_get(c0, "ContactGroupId")), 2);
  json_t *c1 = json_array_get(json_object_get(r, "ContactResultItem"), 1);
  assert_int_equal((int)json_array_size(json_object_get(c1, "ContactGroupId")), 1);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(c1, "ContactGroupId"), 0)), work_id);
  json_decref(r);

  /* marks: set, clear, custom; at most 100 per call */
  r = ok_code(V4("recentcontact/mark_contact", "{\"From_Account\":\"cg_me\",\"MarkItem\":[{\"ContactItem\":{\"Type\":1,\"To_Account\":\"cg_b\"},"
                 "\"SetMark\":[1,5,63],\"CustomMark\":\"vip\"},{\"ContactItem\":{\"Type\":1,\"To_Account\":\"cg_c\"},\"SetMark\":[64]}]}"), 0);
  json_t *m0 = json_array_get(json_object_get(r, "ResultItem"), 0);
  assert_int_equal((int)json_array_size(json_object_get(m0, "MarkList")), 3);
  assert_int_equal(jint(json_array_get(json_object_get(r, "ResultItem"), 1), "ResultCode"), 50002);
  json_decref(r);
  p = wsc_push(&d2, "contact_marks_changed", 3000);
  assert_non_null(p);
  json_decref(p);
  EXPECT(0, V4("recentcontact/mark_contact", "{\"From_Account\":\"cg_me\",\"MarkItem\":[{\"ContactItem\":{\"Type\":1,\"To_Account\":\"cg_b\"},\"ClearMark\":[5]}]}"));
  p = wsc_push(&d2, "contact_marks_changed", 3000);
  assert_non_null(p);
  json_decref(p);
  while ((p = wsc_push(&d2, "contact_groups_changed", 300))) json_decref(p); /* the earlier changes' */
  /* a refused item reports the marks stored (it showed the ones asked for) and changes nothing: no event */
  r = ok_code(V4("recentcontact/mark_contact", "{\"From_Account\":\"cg_me\",\"MarkItem\":[{\"ContactItem\":{\"Type\":1,\"To_Account\":\"cg_b\"},"
                 "\"SetMark\":[2,64]}]}"), 0);
  m0 = json_array_get(json_object_get(r, "ResultItem"), 0);
  assert_int_equal(jint(m0, "ResultCode"), 50002);
  assert_int_equal((int)json_array_size(json_object_get(m0, "MarkList")), 2); /* 1 and 63 */
  json_decref(r);
  EXPECT(0, V4("recentcontact/del_contact_group", "{\"From_Account\":\"cg_me\",\"GroupName\":[\"nosuch\"]}")); /* per item 50002 */
  assert_null(wsc_push(&d2, "contact_marks_changed", 300));
  assert_null(wsc_push(&d2, "contact_groups_changed", 300));
  static char marks[1 << 15];
  len = (size_t)snprintf(marks, sizeof marks, "{\"From_Account\":\"cg_me\",\"MarkItem\":[");
  for (int i = 0; i < 101; i++)
    len += (size_t)snprintf(marks + len, sizeof marks - len, "%s{\"ContactItem\":{\"Type\":2,\"ToGroupId\":\"m%d\"},\"SetMark\":[1]}", i ? "," : "", i);
  snprintf(marks + len, sizeof marks - len, "]}");
  EXPECT(51006, V4("recentcontact/mark_contact", "%s", marks));
  r = ok_code(V4("recentcontact/get_contact_group", "{\"From_Account\":\"cg_me\",\"StartIndex\":0}"), 0);
  assert_int_equal(jint(r, "CompleteFlag"), 1);
  json_t *items = json_object_get(r, "ContactItem");
  assert_int_equal((int)json_array_size(items), 2); /* cg_b, cg_c */
  assert_string_equal(jstr(json_object_get(json_array_get(items, 0), "ContactItem"), "To_Account"), "cg_b");
  json_t *ml = json_object_get(json_array_get(items, 0), "MarkList");
  assert_int_equal((int)json_array_size(ml), 2);
  assert_int_equal(json_integer_value(json_array_get(ml, 1)), 63);
  assert_string_equal(jstr(json_array_get(items, 0), "CustomMark"), "vip");
  assert_int_equal((int)json_array_size(json_object_get(r, "GroupItem")), 18); /* 20 less the two deleted */
  json_decref(r);
  /* the gates: a china free-edition app has neither feature */
  r = v4(srv.port, app_cn, key_cn, "recentcontact/get_contact_group", "{\"From_Account\":\"cn_a\"}");
  assert_int_equal(jint(r, "ErrorCode"), 7013);
  json_decref(r);
  r = v4(srv.port, app_cn, key_cn, "recentcontact/mark_contact", "{\"From_Account\":\"cn_a\",\"MarkItem\":[]}");
  assert_int_equal(jint(r, "ErrorCode"), 7013);
  json_decref(r);
  wsc_close(&d1);
  wsc_close(&d2);
}

static void test_pinned_limit(void **st)
{
  (void)st;
  char id[16];
  json_decref(V4("im_open_login_svc/account_import", "{\"UserID\":\"pin_me\"}"));
  for (int i = 0; i < 51; i++) {
    snprintf(id, sizeof id, "pin_%02d", i);
    json_decref(V4("im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", id));
  }
  wsc_t me;
  login(&me, "pin_me", "Web");
  char f[64];
  for (int i = 0; i < 50; i++) {
    snprintf(f, sizeof f, "\"peer\":\"pin_%02d\",\"pinned\":true", i);
    json_decref(rpc_ok(&me, "pin", f, 0));
  }
  json_decref(rpc_ok(&me, "pin", "\"peer\":\"pin_50\",\"pinned\":true", 51012));
  json_decref(rpc_ok(&me, "pin", "\"peer\":\"pin_00\",\"pinned\":true", 0)); /* already pinned: no new slot */
  json_decref(rpc_ok(&me, "pin", "\"peer\":\"pin_00\",\"pinned\":false", 0));
  json_decref(rpc_ok(&me, "pin", "\"peer\":\"pin_50\",\"pinned\":true", 0));
  wsc_close(&me);
}

/* ---- user status -------------------------------------------------------------------------------- */
static void test_status_subscribe_push_restart(void **st)
{
  (void)st;
  const char *const u[] = { "st_a", "st_b", NULL };
  import_users(srv.port, app, key, u);
  wsc_t a, b1, b2;
  login(&a, "st_a", "Web");
  json_t *r = rpc_ok(&a, "status_subscribe", "\"users\":[\"st_b\",\"st_nobody\"]", 0);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "statuses"), 0), "status"), "Offline");
  assert_int_equal(jint(json_array_get(json_object_get(r, "statuses"), 1), "code"), 70107);
  json_decref(r);
  login(&b1, "st_b", "iPhone");
  json_t *p = wsc_push(&a, "status", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "user"), "st_b");
  assert_string_equal(jstr(p, "status"), "Online");
  json_decref(p);
  login(&b2, "st_b", "PC");
  json_decref(wsc_push(&a, "status", 3000));
  json_decref(rpc_ok(&b1, "status_set", "\"custom_status\":\"in a meeting\"", 0));
  p = wsc_push(&a, "status", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "custom_status"), "in a meeting");
  json_decref(p);
  p = wsc_push(&b2, "status", 3000); /* the user's other device */
  assert_non_null(p);
  assert_string_equal(jstr(p, "custom_status"), "in a meeting");
  json_decref(p);
  json_t *bad = wsc_rpc(&b1, "status_set", "\"custom_status\":5");
  assert_int_equal(jint(bad, "code"), 70402);
  json_decref(bad);
  /* the iPhone drops without logging out: PushOnline once the PC logs out */
  wsc_close(&b1);
  json_decref(rpc_ok(&b2, "logout", "", 0));
  wsc_close(&b2);
  for (int i = 0; i < 3; i++) {
    p = wsc_push(&a, "status", 3000);
    assert_non_null(p);
    int last = !strcmp(jstr(p, "status"), "PushOnline");
    json_decref(p);
    if (last) break;
    assert_true(i < 2);
  }
  r = rpc_ok(&a, "status_get", "\"users\":[\"st_b\"]", 0);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "statuses"), 0), "status"), "PushOnline");
  json_decref(r);
  json_decref(rpc_ok(&a, "status_unsubscribe", "\"users\":[\"st_b\"]", 0));
  wsc_close(&a);
  /* a restart keeps the window and the text */
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  r = ok_code(V4("openim/query_online_status", "{\"To_Account\":[\"st_b\"],\"IsNeedDetail\":1}"), 0);
  json_t *qr = json_array_get(json_object_get(r, "QueryResult"), 0);
  assert_string_equal(jstr(qr, "Status"), "PushOnline");
  assert_string_equal(jstr(json_array_get(json_object_get(qr, "Detail"), 0), "Platform"), "iPhone");
  json_decref(r);
  login(&a, "st_a", "Web");
  r = rpc_ok(&a, "status_get", "\"users\":[\"st_b\"]", 0);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "statuses"), 0), "custom_status"), "in a meeting");
  json_decref(r);
  /* a logout clears the stored window */
  login(&b1, "st_b", "iPhone");
  json_decref(rpc_ok(&b1, "logout", "", 0));
  wsc_close(&b1);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  r = ok_code(V4("openim/query_online_status", "{\"To_Account\":[\"st_b\"]}"), 0);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "QueryResult"), 0), "Status"), "Offline");
  json_decref(r);
  /* IsNeedDetail is 0 or 1 (2 and -1 were taken as 0) */
  EXPECT(70402, V4("openim/query_online_status", "{\"To_Account\":[\"st_b\"],\"IsNeedDetail\":2}"));
  EXPECT(70402, V4("openim/query_online_status", "{\"To_Account\":[\"st_b\"],\"IsNeedDetail\":-1}"));
  wsc_close(&a);
}

static void test_status_gate(void **st)
{
  (void)st;
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app_cn, key_cn, "cn_a", "Web"), 0);
  json_decref(rpc_ok(&c, "status_set", "\"custom_status\":\"x\"", 72001));
  json_decref(rpc_ok(&c, "status_subscribe", "\"users\":[\"cn_a\"]", 72001));
  wsc_close(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_contact_groups),
    cmocka_unit_test(test_pinned_limit),
    cmocka_unit_test(test_status_subscribe_push_restart),
    cmocka_unit_test(test_status_gate),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
