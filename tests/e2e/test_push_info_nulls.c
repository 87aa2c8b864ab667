/* End-to-end: an OfflinePushInfo given with nothing but null members is
 * absent, as if not given; one given as {} is kept as given
 * (docs/decisions/messaging-c2c-checks2.md §70, rest-api.md "Null fields",
 * protocol.md "Frames"). §63 drops null members at every depth, which left
 * {"Title":null,"Desc":null} stored and pushed as {} — an OfflinePushInfo
 * the caller never gave. Each row is sent over REST (sendmsg,
 * send_group_msg) and over the WebSocket (send, group_send); what the peer's
 * push and its history show (C2C), and what is stored (groups: no interface
 * shows a group message's push info, so the stored row is read), must be the
 * row's expected value, or nothing. Each test uses its own users. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_check.h"
#include "e2e_fixture.h"

/* An OfflinePushInfo as given, and what is kept of it (NULL: nothing, the field is absent). */
static const struct { const char *given, *kept; } rows[] = {
  { "{\"Title\":null,\"Desc\":null}", NULL },
  { "{\"PushFlag\":null,\"AndroidInfo\":{\"Sound\":null},\"ApnsInfo\":{\"Title\":null,\"BadgeMode\":null}}", NULL },
  { "{\"PushFlag\":0,\"AndroidInfo\":{\"Sound\":null}}", "{\"PushFlag\":0}" },
  { "{\"Title\":\"t\",\"ApnsInfo\":{\"Sound\":null}}", "{\"Title\":\"t\"}" },
  /* given empty: a value, kept as given */
  { "{}", "{}" },
  { "{\"ApnsInfo\":{},\"Desc\":null}", "{\"ApnsInfo\":{}}" },
};
#define NROWS (sizeof rows / sizeof rows[0])

static void expect_push_info(json_t *msg, size_t row, const char *how)
{
  json_t *pi = json_object_get(msg, "offline_push_info");
  if (!rows[row].kept) {
    if (pi) fail_msg("row %zu, %s: offline_push_info %s, expected none", row, how, json_dumps(pi, JSON_COMPACT));
    return;
  }
  assert_json_is(pi, rows[row].kept);
}

/* b's latest message with a (WebSocket history) */
static json_t *latest(wsc_t *b, const char *peer)
{
  json_t *r = wsc_rpc(b, "history", "\"peer\":\"%s\",\"limit\":1", peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_t *m = json_incref(json_array_get(json_object_get(r, "msgs"), 0));
  json_decref(r);
  assert_non_null(m);
  return m;
}

/* ---- one-to-one: REST sendmsg and WebSocket send; the push and the history ------------------------------ */
static void test_c2c(void **st)
{
  (void)st;
  static const char *const u[] = { "pc_a", "pc_b", NULL };
  import_users(srv.port, app, key, u);
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "pc_a", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "pc_b", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  for (size_t i = 0; i < NROWS; i++) {
    for (int ws = 0; ws < 2; ws++) {
      const char *how = ws ? "WebSocket send" : "REST sendmsg";
      int random = (int)(i * 2 + (size_t)ws + 1);
      if (ws) {
        json_t *r = wsc_rpc(&a, "send", "\"to\":\"pc_b\",\"random\":%d,\"body\":" TEXT("w") ",\"offline_push_info\":%s",
                            random, rows[i].given);
        assert_non_null(r);
        if (jint(r, "code")) fail_msg("row %zu, %s: %s", i, how, json_dumps(r, JSON_COMPACT));
        json_decref(r);
      } else {
        v4_ok(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"pc_a\",\"To_Account\":\"pc_b\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("r")
                 ",\"OfflinePushInfo\":%s}", random, rows[i].given));
      }
      json_t *p = wsc_push(&b, "msg", 15000);
      if (!p) fail_msg("row %zu, %s: no push", i, how);
      assert_int_equal(jint(p, "msg.random"), random);
      expect_push_info(json_object_get(p, "msg"), i, how);
      json_decref(p);
      json_t *m = latest(&b, "pc_a");
      assert_int_equal(jint(m, "random"), random);
      expect_push_info(m, i, how);
      json_decref(m);
    }
  }
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- groups: REST send_group_msg and WebSocket group_send; the stored message -------------------------- */
/* The stored text of group gid's message with random (malloc'd), waiting for its commit. */
static char *stored_body(const char *gid, int random)
{
  char path[300];
  snprintf(path, sizeof path, "%s/imcloud.db", srv.dir);
  for (int tries = 0; tries < 100; tries++) {
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT m.body FROM grp_msg m JOIN grp g ON g.sdkappid=m.sdkappid AND "
                                            "g.group_no=m.group_no WHERE g.sdkappid=?1 AND g.group_id=?2 AND m.random=?3",
                                        -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, app);
    sqlite3_bind_text(st, 2, gid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, random);
    char *body = sqlite3_step(st) == SQLITE_ROW ? strdup((const char *)sqlite3_column_text(st, 0)) : NULL;
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (body) return body;
    usleep(100 * 1000);
  }
  fail_msg("group %s: no message with random %d stored", gid, random);
  return NULL;
}

static void test_group(void **st)
{
  (void)st;
  static const char *const u[] = { "pg_a", "pg_b", NULL };
  import_users(srv.port, app, key, u);
  v4_ok(v4(srv.port, app, key, G("create_group"),
           "{\"Owner_Account\":\"pg_a\",\"Type\":\"Public\",\"GroupId\":\"pg\",\"Name\":\"g\","
           "\"MemberList\":[{\"Member_Account\":\"pg_b\"}]}"));
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "pg_a", "Web"), 0);
  for (size_t i = 0; i < NROWS; i++) {
    for (int ws = 0; ws < 2; ws++) {
      const char *how = ws ? "WebSocket group_send" : "REST send_group_msg";
      int random = (int)(i * 2 + (size_t)ws + 1);
      if (ws) {
        json_t *r = wsc_rpc(&a, "group_send", "\"group_id\":\"pg\",\"random\":%d,\"body\":" TEXT("w")
                            ",\"offline_push_info\":%s", random, rows[i].given);
        assert_non_null(r);
        if (jint(r, "code")) fail_msg("row %zu, %s: %s", i, how, json_dumps(r, JSON_COMPACT));
        json_decref(r);
      } else {
        v4_ok(v4(srv.port, app, key, G("send_group_msg"),
                 "{\"GroupId\":\"pg\",\"From_Account\":\"pg_a\",\"Random\":%d,\"MsgBody\":" TEXT("r")
                 ",\"OfflinePushInfo\":%s}", random, rows[i].given));
      }
      char *body = stored_body("pg", random);
      json_t *o = json_loads(body, 0, NULL);
      if (!o) fail_msg("row %zu, %s: stored %s", i, how, body);
      json_t *pi = json_object_get(o, "OfflinePushInfo");
      if (!rows[i].kept && pi) fail_msg("row %zu, %s: stored %s, expected no OfflinePushInfo", i, how, body);
      if (rows[i].kept) assert_json_is(pi, rows[i].kept);
      json_decref(o);
      free(body);
    }
  }
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_c2c),
    cmocka_unit_test(test_group),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
