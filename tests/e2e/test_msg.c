/* End-to-end: one-to-one messaging over the client WebSocket and the
 * compatible REST API against the real server (docs/protocol.md,
 * docs/rest-api-messages.md, docs/delivery.md). The server runs on the test clock
 * (fixed "now"), so times, retention boundaries and recall windows are
 * exact. Each test uses its own users. */
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
#include "store/store_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static int64_t now_s;
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", "--msg-recent-page", "2",
                                    "--msg-purge-interval-s", "1", NULL };
#define RETENTION 604800


static uint32_t app_b;
static char key_b[80];

static int setup(void **st)
{
  (void)st;
  /* both apps before the server starts: a CLI write racing the server's
   * writer (the retention pass runs every second here) could time out */
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  e2e_make_app(&srv, "china", &app_b, key_b);
  if (e2e_server_start(&srv, args)) return -1;
  now_s = 1795104000; /* 2026-11-20 00:00 in UTC+8 (the billing zone the test clock starts in) */
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void login(wsc_t *c, const char *user, const char *platform)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, platform), 0);
}

/* Sync from cursor until complete; returns the number of events seen. */
static int sync_all(wsc_t *c, uint32_t *cursor)
{
  int n = 0;
  for (;;) {
    json_t *r = wsc_rpc(c, "sync", "\"cursor\":%u", *cursor);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    n += (int)json_array_size(json_object_get(r, "events"));
    *cursor = (uint32_t)jint(r, "cursor");
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) return n;
  }
}

static void expect_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, json_object_get(r, "ErrorCode") ? "ErrorCode" : "code") != code)
    fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* ---- send, push to every device, gap-free sequences ------------------------------ */
static void test_send_push_multi_device(void **st)
{
  (void)st;
  wsc_t a, a2, b, b2;
  uint32_t cur = 0;
  login(&a, "s_alice", "Web");
  login(&a2, "s_alice", "PC");
  login(&b, "s_bob", "Web");
  login(&b2, "s_bob", "Android");
  assert_int_equal(sync_all(&a2, &cur), 0);
  cur = 0;
  assert_int_equal(sync_all(&b, &cur), 0);
  cur = 0;
  assert_int_equal(sync_all(&b2, &cur), 0);
  for (int i = 1; i <= 3; i++) {
    json_t *r = wsc_rpc(&a, "send", "\"to\":\"s_bob\",\"body\":" TEXT("m%d"), i);
    assert_int_equal(jint(r, "code"), 0);
    assert_int_equal(jint(r, "seq"), i);        /* per-conversation, from 1, gap-free */
    assert_int_equal(jint(r, "useq"), i);       /* the sender's own event sequence */
    assert_int_equal(jint(r, "time"), now_s);
    json_decref(r);
  }
  for (int i = 1; i <= 3; i++) {
    char want[16];
    snprintf(want, sizeof want, "m%d", i);
    wsc_t *devs[] = { &b, &b2, &a2 };
    for (int d = 0; d < 3; d++) {
      json_t *p = wsc_push(devs[d], "msg", 3000);
      assert_non_null(p);
      assert_int_equal(jint(p, "useq"), i);
      assert_int_equal(jint(p, "msg.seq"), i);
      assert_string_equal(jstr(p, "msg.from"), "s_alice");
      assert_string_equal(jstr(p, "peer"), d == 2 ? "s_bob" : "s_alice");
      assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
                            json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent"), "Text")), want);
      json_decref(p);
    }
  }
  assert_null(wsc_push(&a, "msg", 300)); /* the sending device got replies, not pushes */
  json_t *r = wsc_rpc(&b2, "send", "\"to\":\"s_alice\",\"body\":" TEXT("back"));
  assert_int_equal(jint(r, "seq"), 4);
  assert_int_equal(jint(r, "useq"), 4);
  json_decref(r);
  json_t *p = wsc_push(&b, "msg", 3000);    /* the sender's other device */
  assert_int_equal(jint(p, "useq"), 4);
  json_decref(p);
  wsc_close(&a); wsc_close(&a2); wsc_close(&b); wsc_close(&b2);
}

/* ---- dedupe ------------------------------------------------------------------------ */
static void test_dedupe(void **st)
{
  (void)st;
  wsc_t a;
  login(&a, "d_alice", "Web");
  import_users(srv.port, app, key, (const char *const[]){ "d_bob", NULL });
  json_t *r1 = wsc_rpc(&a, "send", "\"to\":\"d_bob\",\"random\":42,\"body\":" TEXT("once"));
  json_t *r2 = wsc_rpc(&a, "send", "\"to\":\"d_bob\",\"random\":42,\"body\":" TEXT("once"));
  assert_int_equal(jint(r1, "code"), 0);
  assert_false(json_is_true(json_object_get(r1, "dup")));
  assert_true(json_is_true(json_object_get(r2, "dup")));
  assert_string_equal(jstr(r1, "msg_key"), jstr(r2, "msg_key"));
  assert_int_equal(jint(r1, "seq"), jint(r2, "seq"));
  json_decref(r1);
  json_decref(r2);
  /* REST: same sender, peer and MsgRandom → the original MsgKey */
  const char *body = "{\"From_Account\":\"d_bob\",\"To_Account\":\"d_alice\",\"MsgRandom\":9,\"MsgBody\":" TEXT("x") "}";
  json_t *x = v4(srv.port, app, key, "openim/sendmsg", "%s", body), *y = v4(srv.port, app, key, "openim/sendmsg", "%s", body);
  assert_string_equal(jstr(x, "MsgKey"), jstr(y, "MsgKey"));
  json_decref(x);
  json_decref(y);
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"d_alice\",\"Peer_Account\":\"d_bob\",\"MaxCnt\":20,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(h, "MsgCnt"), 2); /* stored once each */
  json_decref(h);
  wsc_close(&a);
}

/* ---- sync after a disconnect, in pages -------------------------------------------- */
static void test_sync_pages(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "p_alice", "p_bob", NULL });
  for (int i = 0; i < 5; i++)
    expect_code(v4(srv.port, app, key, "openim/sendmsg",
                   "{\"From_Account\":\"p_alice\",\"To_Account\":\"p_bob\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("o%d") "}", i, i), 0);
  wsc_t b;
  login(&b, "p_bob", "iPhone");
  uint32_t want = 1, cursor = 0;
  for (int page = 0; page < 3; page++) {
    json_t *r = wsc_rpc(&b, "sync", "\"cursor\":%u,\"limit\":2", cursor);
    assert_int_equal(jint(r, "code"), 0);
    json_t *evs = json_object_get(r, "events"), *e;
    size_t i;
    json_array_foreach(evs, i, e) {
      assert_int_equal(jint(e, "useq"), want);   /* in order, no gap, no duplicate */
      assert_int_equal(jint(e, "msg.seq"), want);
      want++;
    }
    cursor = (uint32_t)jint(r, "cursor");
    assert_int_equal(json_is_true(json_object_get(r, "complete")), page == 2);
    json_decref(r);
  }
  assert_int_equal(want, 6);
  assert_null(wsc_push(&b, "msg", 200));
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"p_alice\",\"To_Account\":\"p_bob\",\"MsgRandom\":77,\"MsgBody\":" TEXT("live") "}"), 0);
  json_t *p = wsc_push(&b, "msg", 3000);       /* live after the complete page */
  assert_int_equal(jint(p, "useq"), 6);
  json_decref(p);
  expect_code(wsc_rpc(&b, "sync", "\"cursor\":99"), 70402); /* beyond the last event */
  wsc_close(&b);
}

/* ---- recall -------------------------------------------------------------------------- */
static void test_recall(void **st)
{
  (void)st;
  wsc_t a, b;
  uint32_t cur = 0;
  login(&a, "r_alice", "Web");
  login(&b, "r_bob", "Web");
  sync_all(&b, &cur);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"r_bob\",\"body\":" TEXT("oops"));
  char mk[64];
  snprintf(mk, sizeof mk, "%s", jstr(r, "msg_key"));
  json_decref(r);
  json_decref(wsc_push(&b, "msg", 3000));
  expect_code(wsc_rpc(&b, "recall", "\"peer\":\"r_alice\",\"msg_key\":\"%s\"", mk), 20001); /* not the sender */
  expect_code(wsc_rpc(&a, "recall", "\"peer\":\"r_bob\",\"msg_key\":\"%s\"", mk), 0);
  json_t *p = wsc_push(&b, "recall", 3000);
  assert_non_null(p);
  assert_string_equal(jstr(p, "msg_key"), mk);
  assert_string_equal(jstr(p, "peer"), "r_alice");
  json_decref(p);
  expect_code(wsc_rpc(&a, "recall", "\"peer\":\"r_bob\",\"msg_key\":\"%s\"", mk), 20023);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"r_alice\",\"To_Account\":\"r_bob\",\"MsgKey\":\"%s\"}", mk), 20023);
  json_t *h = wsc_rpc(&b, "history", "\"peer\":\"r_alice\"");
  assert_true(json_is_true(json_object_get(json_array_get(json_object_get(h, "msgs"), 0), "recalled")));
  json_decref(h);
  h = v4(srv.port, app, key, "openim/admin_getroammsg",
         "{\"Operator_Account\":\"r_bob\",\"Peer_Account\":\"r_alice\",\"MaxCnt\":5,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(json_array_get(json_object_get(h, "MsgList"), 0), "MsgFlagBits"), 8);
  json_decref(h);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"r_alice\",\"To_Account\":\"r_bob\",\"MsgKey\":\"not-a-key\"}"), 90054);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"r_alice\",\"To_Account\":\"r_bob\",\"MsgKey\":\"1_2_3\"}"), 20022);
  /* past the 2-minute window: the user may not, the admin may */
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":2,\"From_Account\":\"r_alice\",\"To_Account\":\"r_bob\",\"MsgSeq\":5,\"MsgRandom\":6,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("old") "}", (long long)(now_s - 121)), 0);
  snprintf(mk, sizeof mk, "5_6_%lld", (long long)(now_s - 121));
  expect_code(wsc_rpc(&a, "recall", "\"peer\":\"r_bob\",\"msg_key\":\"%s\"", mk), 20016);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"r_alice\",\"To_Account\":\"r_bob\",\"MsgKey\":\"%s\"}", mk), 0);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- read reports, receipts, unread counts ------------------------------------------ */
static json_int_t unread(const char *user, const char *peer)
{
  json_t *r = v4(srv.port, app, key, "openim/get_c2c_unread_msg_num", "{\"To_Account\":\"%s\",\"Peer_Account\":[\"%s\"]}",
                 user, peer);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_int_t n = jint(json_array_get(json_object_get(r, "C2CUnreadMsgNumList"), 0), "C2CUnreadMsgNum");
  assert_int_equal(jint(r, "AllC2CUnreadMsgNum"), n);
  json_decref(r);
  return n;
}

static void test_read_unread_receipt(void **st)
{
  (void)st;
  wsc_t a, b;
  uint32_t cur = 0;
  login(&a, "u_alice", "Web");
  login(&b, "u_bob", "Web");
  sync_all(&a, &cur);
  json_decref(wsc_rpc(&a, "send", "\"to\":\"u_bob\",\"body\":" TEXT("1")));
  json_decref(wsc_rpc(&a, "send", "\"to\":\"u_bob\",\"need_receipt\":true,\"body\":" TEXT("2")));
  json_decref(wsc_rpc(&a, "send", "\"to\":\"u_bob\",\"body\":" TEXT("3")));
  json_decref(wsc_rpc(&a, "send", "\"to\":\"u_bob\",\"no_unread\":true,\"body\":" TEXT("4")));
  assert_int_equal(unread("u_bob", "u_alice"), 3);      /* NoUnread is not counted */
  assert_int_equal(unread("u_alice", "u_bob"), 0);      /* own messages are not unread */
  expect_code(wsc_rpc(&b, "read", "\"peer\":\"u_alice\",\"seq\":2"), 0);
  json_t *p = wsc_push(&a, "receipt", 3000);            /* message 2 asked for a receipt */
  assert_non_null(p);
  assert_int_equal(jint(p, "seq"), 2);
  assert_string_equal(jstr(p, "peer"), "u_bob");
  json_decref(p);
  assert_int_equal(unread("u_bob", "u_alice"), 1);
  expect_code(wsc_rpc(&b, "read", "\"peer\":\"u_alice\",\"seq\":1"), 0); /* never moves back */
  assert_int_equal(unread("u_bob", "u_alice"), 1);
  json_t *c = wsc_rpc(&b, "conversations", "%s", "");
  json_t *cv = json_array_get(json_object_get(c, "conversations"), 0);
  assert_string_equal(jstr(cv, "peer"), "u_alice");
  assert_int_equal(jint(cv, "unread"), 1);
  assert_int_equal(jint(cv, "last_seq"), 4);
  json_decref(c);
  expect_code(v4(srv.port, app, key, "openim/admin_set_msg_read", "{\"Report_Account\":\"u_bob\",\"Peer_Account\":\"u_alice\"}"), 0);
  assert_int_equal(unread("u_bob", "u_alice"), 0);
  assert_null(wsc_push(&a, "receipt", 300));            /* 3 and 4 did not ask for one */
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"u_alice\",\"Peer_Account\":\"u_bob\",\"MaxCnt\":1,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(json_array_get(json_object_get(h, "MsgList"), 0), "IsPeerRead"), 1);
  json_decref(h);
  expect_code(wsc_rpc(&b, "read", "\"peer\":\"u_alice\",\"seq\":999"), 0); /* clamped to the newest message */
  json_decref(wsc_rpc(&a, "send", "\"to\":\"u_bob\",\"body\":" TEXT("5")));
  assert_int_equal(unread("u_bob", "u_alice"), 1);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- REST sendmsg: every documented refusal ------------------------------------------- */
static void test_rest_sendmsg_errors(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "e_alice", "e_bob", NULL });
  static const struct { const char *body; int code; } cases[] = {
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgBody\":" TEXT("x") "}", 90005 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":-1,\"MsgBody\":" TEXT("x") "}", 90005 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"MsgSeq\":\"1\",\"MsgBody\":" TEXT("x") "}", 90004 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"ghost\",\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}", 90012 },
    { "{\"From_Account\":\"e_alice\",\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}", 90003 },
    { "{\"From_Account\":\"ghost\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"MsgBody\":" TEXT("x") "}", 90008 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1}", 90007 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"MsgBody\":{}}", 90007 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"MsgBody\":[{\"MsgType\":\"TIMBogusElem\",\"MsgContent\":{}}]}", 90002 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"MsgLifeTime\":604801,\"MsgBody\":" TEXT("x") "}", 90026 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"MsgLifeTime\":\"1\",\"MsgBody\":" TEXT("x") "}", 90044 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"SyncOtherMachine\":3,\"MsgBody\":" TEXT("x") "}", 90031 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"OfflinePushInfo\":{\"PushFlag\":2},\"MsgBody\":" TEXT("x") "}", 90043 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"CloudCustomData\":5,\"MsgBody\":" TEXT("x") "}", 90001 },
    { "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"SendMsgControl\":[\"Loud\"],\"MsgBody\":" TEXT("x") "}", 90001 },
  }; /* no From_Account is no refusal: the App admin sends, made an account (test_admin_c2c.c, decision §73) */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *r = v4(srv.port, app, key, "openim/sendmsg", "%s", cases[i].body);
    assert_non_null(r);
    if (jint(r, "ErrorCode") != cases[i].code) fail_msg("case %zu: expected %d, got %s", i, cases[i].code, json_dumps(r, 0));
    json_decref(r);
  }
  /* 12 KB packed → 93000; just below is accepted */
  char *big = malloc(20000), *body = malloc(21000);
  memset(big, 'a', 12300);
  big[12300] = 0;
  snprintf(body, 21000, "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":1,\"MsgBody\":" TEXT("%s") "}", big);
  expect_code(v4(srv.port, app, key, "openim/sendmsg", "%s", body), 93000);
  big[12000] = 0;
  snprintf(body, 21000, "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":2,\"MsgBody\":" TEXT("%s") "}", big);
  expect_code(v4(srv.port, app, key, "openim/sendmsg", "%s", body), 0);
  free(big);
  free(body);
  /* every element type of §2.3 in one message */
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
    "{\"From_Account\":\"e_alice\",\"To_Account\":\"e_bob\",\"MsgRandom\":3,\"SyncOtherMachine\":1,"
    "\"SendMsgControl\":[\"NoUnread\",\"NoLastMsg\"],\"IsNeedReadReceipt\":1,\"CloudCustomData\":\"cc\","
    "\"OfflinePushInfo\":{\"PushFlag\":0,\"Desc\":\"d\",\"Ext\":\"e\",\"ApnsInfo\":{\"BadgeMode\":1},\"AndroidInfo\":{\"Sound\":\"s\"}},"
    "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"t\"}},"
    "{\"MsgType\":\"TIMLocationElem\",\"MsgContent\":{\"Desc\":\"here\",\"Latitude\":22.5,\"Longitude\":113.9}},"
    "{\"MsgType\":\"TIMFaceElem\",\"MsgContent\":{\"Index\":1,\"Data\":\"x\"}},"
    "{\"MsgType\":\"TIMCustomElem\",\"MsgContent\":{\"Data\":\"d\",\"Desc\":\"x\",\"Ext\":\"e\",\"Sound\":\"s\"}},"
    "{\"MsgType\":\"TIMSoundElem\",\"MsgContent\":{\"Url\":\"u\",\"UUID\":\"id\",\"Size\":1,\"Second\":2,\"Download_Flag\":2}},"
    "{\"MsgType\":\"TIMImageElem\",\"MsgContent\":{\"UUID\":\"i\",\"ImageFormat\":1,\"ImageInfoArray\":[{\"Type\":1,\"Size\":1,\"Width\":2,\"Height\":3,\"URL\":\"u\"}]}},"
    "{\"MsgType\":\"TIMFileElem\",\"MsgContent\":{\"Url\":\"u\",\"FileSize\":1,\"FileName\":\"f\",\"Download_Flag\":2}},"
    "{\"MsgType\":\"TIMVideoFileElem\",\"MsgContent\":{\"VideoUrl\":\"v\",\"VideoSize\":1,\"VideoSecond\":2,\"VideoFormat\":\"mp4\",\"VideoDownloadFlag\":2,"
    "\"ThumbUrl\":\"t\",\"ThumbSize\":1,\"ThumbWidth\":2,\"ThumbHeight\":3,\"ThumbFormat\":\"jpg\",\"ThumbDownloadFlag\":2}},"
    "{\"MsgType\":\"TIMRelayElem\",\"MsgContent\":{\"Title\":\"t\",\"MsgNum\":1,\"MsgList\":[{\"From_Account\":\"a\",\"To_Account\":\"b\","
    "\"MsgTimeStamp\":1,\"MsgBody\":" TEXT("inner") "}]}}]}"), 0);
}

/* ---- batchsendmsg -------------------------------------------------------------------- */
static void test_batchsendmsg(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "b_admin", "b_one", "b_two", NULL });
  json_t *r = v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"b_admin\",\"To_Account\":[\"b_one\",\"ghost\",\"b_two\"],\"MsgRandom\":5,\"MsgBody\":" TEXT("all") "}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *errs = json_object_get(r, "ErrorList");
  assert_int_equal(json_array_size(errs), 1);
  assert_string_equal(jstr(json_array_get(errs, 0), "To_Account"), "ghost");
  assert_int_equal(jint(json_array_get(errs, 0), "ErrorCode"), 70107); /* the page: no such account (§72) */
  assert_true(strlen(jstr(r, "MsgKey")) > 4);
  json_decref(r);
  r = v4(srv.port, app, key, "openim/batchsendmsg",
         "{\"From_Account\":\"b_admin\",\"To_Account\":[\"ghost\"],\"MsgRandom\":5,\"MsgBody\":" TEXT("none") "}");
  assert_int_equal(jint(r, "ErrorCode"), 90012);
  assert_int_equal(json_array_size(json_object_get(r, "ErrorList")), 1);
  json_decref(r);
  char *many = malloc(501 * 12 + 64), *p = many;
  p += sprintf(p, "[");
  for (int i = 0; i < 501; i++) p += sprintf(p, "%s\"u%d\"", i ? "," : "", i);
  sprintf(p, "]");
  expect_code(v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"b_admin\",\"To_Account\":%s,\"MsgRandom\":5,\"MsgBody\":" TEXT("x") "}", many), 90011);
  free(many);
  r = v4(srv.port, app, key, "openim/admin_getroammsg",
         "{\"Operator_Account\":\"b_two\",\"Peer_Account\":\"b_admin\",\"MaxCnt\":5,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(r, "MsgCnt"), 1);
  json_decref(r);
}

/* ---- importmsg and admin_getroammsg paging ------------------------------------------------ */
static void test_import_and_roam_paging(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "i_alice", "i_bob", NULL });
  for (int i = 0; i < 5; i++)
    expect_code(v4(srv.port, app, key, "openim/importmsg",
                   "{\"SyncFromOldSystem\":2,\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgSeq\":%d,\"MsgRandom\":%d,"
                   "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("h%d") "}", i % 2 ? "i_bob" : "i_alice", i % 2 ? "i_alice" : "i_bob",
                   100 + i, 200 + i, (long long)(now_s - 1000 + i * 10), i), 0);
  /* the same (MsgSeq, MsgRandom, MsgTimeStamp), even with From/To swapped, is one message */
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":2,\"From_Account\":\"i_bob\",\"To_Account\":\"i_alice\",\"MsgSeq\":100,\"MsgRandom\":200,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("h0") "}", (long long)(now_s - 1000)), 0);
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":3,\"From_Account\":\"i_bob\",\"To_Account\":\"i_alice\",\"MsgSeq\":1,\"MsgRandom\":2,"
                 "\"MsgTimeStamp\":1,\"MsgBody\":" TEXT("x") "}"), 90030);
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":2,\"From_Account\":\"i_bob\",\"To_Account\":\"i_alice\",\"MsgSeq\":1,\"MsgRandom\":2,"
                 "\"MsgBody\":" TEXT("x") "}"), 90006);
  assert_int_equal(unread("i_bob", "i_alice"), 0); /* SyncFromOldSystem 2 imports as read */
  char last[64] = "";
  int64_t max_t = 0;
  int total = 0, expect_text = 4;
  for (int page = 0; page < 3; page++) {
    json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                   "{\"Operator_Account\":\"i_alice\",\"Peer_Account\":\"i_bob\",\"MaxCnt\":2,\"MinTime\":0,\"MaxTime\":%lld%s%s%s}",
                   (long long)max_t, last[0] ? ",\"LastMsgKey\":\"" : "", last, last[0] ? "\"" : "");
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_t *list = json_object_get(r, "MsgList"), *m;
    size_t i;
    json_array_foreach(list, i, m) {
      char want[16];
      snprintf(want, sizeof want, "h%d", expect_text--);
      assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(m, "MsgBody"), 0),
                                                                            "MsgContent"), "Text")), want);
      total++;
    }
    assert_int_equal(jint(r, "Complete"), page == 2);
    snprintf(last, sizeof last, "%s", jstr(r, "LastMsgKey"));
    max_t = jint(r, "LastMsgTime");
    json_decref(r);
  }
  assert_int_equal(total, 5);
  /* a time window */
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"i_bob\",\"Peer_Account\":\"i_alice\",\"MaxCnt\":10,\"MinTime\":%lld,\"MaxTime\":%lld}",
                 (long long)(now_s - 990), (long long)(now_s - 970));
  assert_int_equal(jint(r, "MsgCnt"), 3);
  json_decref(r);
  /* SyncFromOldSystem 5: unread and pushed */
  wsc_t b;
  uint32_t cur = 0;
  login(&b, "i_bob", "Web");
  sync_all(&b, &cur);
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":5,\"From_Account\":\"i_alice\",\"To_Account\":\"i_bob\",\"MsgSeq\":9,\"MsgRandom\":9,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("rt") "}", (long long)now_s), 0);
  json_t *p = wsc_push(&b, "msg", 3000);
  assert_non_null(p);
  json_decref(p);
  assert_int_equal(unread("i_bob", "i_alice"), 1);
  wsc_close(&b);
}

/* ---- conversations: paging, pin, delete ---------------------------------------------------- */
static int list_page(const char *user, int flags, int64_t *ts, int64_t *idx, int64_t *tts, int64_t *tidx, char names[][16],
                     int *tops, int *complete)
{
  json_t *r = v4(srv.port, app, key, "recentcontact/get_list",
                 "{\"From_Account\":\"%s\",\"TimeStamp\":%lld,\"StartIndex\":%lld,\"TopTimeStamp\":%lld,\"TopStartIndex\":%lld,"
                 "\"AssistFlags\":%d}", user, (long long)*ts, (long long)*idx, (long long)*tts, (long long)*tidx, flags);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_t *items = json_object_get(r, "SessionItem"), *it;
  size_t i;
  json_array_foreach(items, i, it) {
    snprintf(names[i], 16, "%s", jstr(it, "To_Account"));
    tops[i] = (int)jint(it, "TopFlag");
    assert_int_equal(jint(it, "Type"), 1);
  }
  *ts = jint(r, "TimeStamp");
  *idx = jint(r, "StartIndex");
  *tts = jint(r, "TopTimeStamp");
  *tidx = jint(r, "TopStartIndex");
  *complete = (int)jint(r, "CompleteFlag");
  int n = (int)json_array_size(items);
  json_decref(r);
  return n;
}

static void test_recentcontact(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "c_me", "c_p1", "c_p2", "c_p3", "c_p4", "c_p5", NULL });
  /* p1 oldest … p5 newest; p3 and p4 at the same second (a tie the cursor must split) */
  static const int age[] = { 50, 40, 30, 30, 10 };
  for (int i = 0; i < 5; i++)
    expect_code(v4(srv.port, app, key, "openim/importmsg",
                   "{\"SyncFromOldSystem\":2,\"From_Account\":\"c_p%d\",\"To_Account\":\"c_me\",\"MsgSeq\":1,\"MsgRandom\":%d,"
                   "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("x") "}", i + 1, i, (long long)(now_s - age[i])), 0);
  char seen[8][16];
  int tops[8], complete, n = 0;
  int64_t ts = 0, idx = 0, tts = 0, tidx = 0;
  char order[8][16];
  int total = 0;
  do {
    n = list_page("c_me", 0, &ts, &idx, &tts, &tidx, seen, tops, &complete);
    assert_true(n <= 2); /* --msg-recent-page 2 */
    for (int i = 0; i < n; i++) memcpy(order[total++], seen[i], 16);
  } while (!complete);
  assert_int_equal(total, 5);
  assert_string_equal(order[0], "c_p5");
  assert_string_equal(order[4], "c_p1");
  for (int i = 0; i < 5; i++) for (int k = i + 1; k < 5; k++) assert_string_not_equal(order[i], order[k]);
  /* pin p1 over the WebSocket: first with AssistFlags bit 0 */
  wsc_t me;
  login(&me, "c_me", "Web");
  expect_code(wsc_rpc(&me, "pin", "\"peer\":\"c_p1\",\"pinned\":true"), 0);
  ts = idx = tts = tidx = 0;
  n = list_page("c_me", 1, &ts, &idx, &tts, &tidx, seen, tops, &complete);
  assert_string_equal(seen[0], "c_p1");
  assert_int_equal(tops[0], 1);
  /* delete p2 (with its history for c_me), then it comes back with a new message */
  expect_code(v4(srv.port, app, key, "recentcontact/delete",
                 "{\"From_Account\":\"c_me\",\"Type\":1,\"To_Account\":\"c_p2\",\"ClearRamble\":1}"), 0);
  json_t *c = wsc_rpc(&me, "conversations", "%s", "");
  json_t *cv;
  size_t i;
  json_array_foreach(json_object_get(c, "conversations"), i, cv) assert_string_not_equal(jstr(cv, "peer"), "c_p2");
  assert_true(json_is_true(json_object_get(json_array_get(json_object_get(c, "conversations"), 0), "pinned")));
  json_decref(c);
  json_t *h = wsc_rpc(&me, "history", "\"peer\":\"c_p2\"");
  assert_int_equal(json_array_size(json_object_get(h, "msgs")), 0); /* cleared for c_me … */
  json_decref(h);
  h = v4(srv.port, app, key, "openim/admin_getroammsg",
         "{\"Operator_Account\":\"c_p2\",\"Peer_Account\":\"c_me\",\"MaxCnt\":5,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(h, "MsgCnt"), 1);                           /* … not for c_p2 */
  json_decref(h);
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"c_p2\",\"To_Account\":\"c_me\",\"MsgRandom\":99,\"MsgBody\":" TEXT("again") "}"), 0);
  c = wsc_rpc(&me, "conversations", "%s", "");
  int found = 0;
  json_array_foreach(json_object_get(c, "conversations"), i, cv) found |= !strcmp(jstr(cv, "peer"), "c_p2");
  assert_true(found);
  /* NoLastMsg: stored, but the list keeps the conversation's previous last message */
  int64_t last_seq = -1, last_time = -1;
  json_array_foreach(json_object_get(c, "conversations"), i, cv)
    if (!strcmp(jstr(cv, "peer"), "c_p3")) { last_seq = jint(cv, "last_seq"); last_time = jint(cv, "last_time"); }
  assert_int_equal(last_seq, 1);
  json_decref(c);
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"c_p3\",\"To_Account\":\"c_me\",\"MsgRandom\":100,\"SendMsgControl\":[\"NoLastMsg\"],"
                 "\"MsgBody\":" TEXT("quiet") "}"), 0);
  c = wsc_rpc(&me, "conversations", "%s", "");
  found = 0;
  json_array_foreach(json_object_get(c, "conversations"), i, cv) {
    if (strcmp(jstr(cv, "peer"), "c_p3")) continue;
    found = 1;
    assert_int_equal(jint(cv, "last_seq"), last_seq);
    assert_int_equal(jint(cv, "last_time"), last_time);
  }
  assert_true(found);
  json_decref(c);
  h = wsc_rpc(&me, "history", "\"peer\":\"c_p3\"");
  assert_int_equal(json_array_size(json_object_get(h, "msgs")), 2); /* … though the message is there */
  json_decref(h);
  expect_code(v4(srv.port, app, key, "recentcontact/delete", "{\"From_Account\":\"c_me\",\"Type\":2,\"To_Account\":\"c_p2\"}"), 50002);
  expect_code(v4(srv.port, app, key, "recentcontact/get_list", "{\"From_Account\":\"ghost\"}"), 50001);
  wsc_close(&me);
}

/* ---- tenants and permissions ------------------------------------------------------------ */
static void test_isolation_and_permissions(void **st)
{
  (void)st;
  import_users(srv.port, app_b, key_b, (const char *const[]){ "t_alice", NULL });
  import_users(srv.port, app, key, (const char *const[]){ "t_alice", "t_bob", "t_eve", NULL });
  import_users(srv.port, app_b, key_b, (const char *const[]){ "t_alice", "t_bob", NULL });
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"t_alice\",\"To_Account\":\"t_bob\",\"MsgRandom\":1,\"MsgBody\":" TEXT("secret") "}"), 0);
  json_t *h = v4(srv.port, app_b, key_b, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"t_bob\",\"Peer_Account\":\"t_alice\",\"MaxCnt\":5,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(h, "ErrorCode"), 0);
  assert_int_equal(jint(h, "MsgCnt"), 0);
  json_decref(h);
  wsc_t b;
  uint32_t cur = 0;
  assert_int_equal(wsc_login(&b, srv.port, app_b, key_b, "t_bob", "Web"), 0);
  assert_int_equal(sync_all(&b, &cur), 0);             /* app B's t_bob has nothing */
  json_t *r = wsc_rpc(&b, "send", "\"to\":\"t_alice\",\"body\":" TEXT("b"));
  assert_int_equal(jint(r, "seq"), 1);                   /* app B's conversation starts at 1 */
  json_decref(r);
  wsc_close(&b);
  /* t_eve sees nothing of t_alice and t_bob's conversation */
  wsc_t e;
  login(&e, "t_eve", "Web");
  h = wsc_rpc(&e, "history", "\"peer\":\"t_alice\"");
  assert_int_equal(json_array_size(json_object_get(h, "msgs")), 0);
  json_decref(h);
  cur = 0;
  assert_int_equal(sync_all(&e, &cur), 0);
  expect_code(wsc_rpc(&e, "send", "\"to\":\"nobody\",\"body\":" TEXT("x")), 90012);
  wsc_close(&e);
}

/* ---- online-only messages, typing, modify ---------------------------------------------- */
static void test_online_typing_modify(void **st)
{
  (void)st;
  wsc_t a, b;
  uint32_t cur = 0;
  login(&a, "o_alice", "Web");
  login(&b, "o_bob", "Web");
  sync_all(&b, &cur);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"o_bob\",\"online_only\":true,\"body\":" TEXT("now"));
  assert_int_equal(jint(r, "code"), 0);
  assert_int_equal(jint(r, "seq"), 0);
  json_decref(r);
  json_t *p = wsc_push(&b, "online_msg", 3000);
  assert_non_null(p);
  assert_null(json_object_get(p, "useq"));
  json_decref(p);
  json_t *h = wsc_rpc(&b, "history", "\"peer\":\"o_alice\"");
  assert_int_equal(json_array_size(json_object_get(h, "msgs")), 0); /* never stored */
  json_decref(h);
  expect_code(wsc_rpc(&a, "typing", "\"peer\":\"o_bob\""), 0);
  p = wsc_push(&b, "typing", 3000);
  assert_string_equal(jstr(p, "peer"), "o_alice");
  json_decref(p);
  r = wsc_rpc(&a, "send", "\"to\":\"o_bob\",\"body\":" TEXT("typo"));
  char mk[64];
  snprintf(mk, sizeof mk, "%s", jstr(r, "msg_key"));
  json_decref(r);
  json_decref(wsc_push(&b, "msg", 3000));
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"o_alice\",\"To_Account\":\"o_bob\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("fixed") "}", mk), 0);
  p = wsc_push(&b, "modify", 3000);
  assert_non_null(p);
  assert_true(json_is_true(json_object_get(json_object_get(p, "msg"), "modified")));
  json_decref(p);
  h = v4(srv.port, app, key, "openim/admin_getroammsg",
         "{\"Operator_Account\":\"o_bob\",\"Peer_Account\":\"o_alice\",\"MaxCnt\":1,\"MinTime\":0,\"MaxTime\":0}");
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(json_object_get(h, "MsgList"), 0), "MsgBody"), 0),
                           "MsgContent.Text"), "fixed");
  json_decref(h);
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"o_bob\",\"To_Account\":\"o_alice\",\"MsgKey\":\"%s\",\"MsgBody\":" TEXT("x") "}", mk), 20022);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- retention: exactly at the limit is kept, one second past is gone -------------------- */
static int count_rows;
static void count_cb(void *ud, const store_msg_t *m) { (void)ud; (void)m; count_rows++; }
static void count_ev(void *ud, const store_inbox_ev_t *e) { (void)ud; (void)e; count_rows++; }

/* from → to: two imported messages (mode: SyncFromOldSystem), exactly at the
 * retention limit and one second past it, then a new one. */
static void import_aged_pair(int mode, const char *from, const char *to)
{
  for (int i = 0; i < 2; i++)
    expect_code(v4(srv.port, app, key, "openim/importmsg",
                   "{\"SyncFromOldSystem\":%d,\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgSeq\":%d,\"MsgRandom\":%d,"
                   "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("t%d") "}", mode, from, to, i, i,
                   (long long)(now_s - RETENTION - i), i), 0);
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":5,\"MsgBody\":" TEXT("new") "}", from, to),
              0);
}

static void test_retention_boundary(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "k_alice", "k_bob", "k_carol", "k_dave", NULL });
  import_aged_pair(2, "k_alice", "k_bob");
  import_aged_pair(5, "k_carol", "k_dave"); /* realtime imports leave inbox events at the same two ages for dave */
  json_t *h = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"k_bob\",\"Peer_Account\":\"k_alice\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(h, "MsgCnt"), 2);   /* "new" and the one exactly at the limit */
  assert_string_equal(jstr(json_array_get(json_object_get(json_array_get(json_object_get(h, "MsgList"), 1), "MsgBody"), 0),
                           "MsgContent.Text"), "t0");
  json_decref(h);
  /* the purge pass (every second here) deletes the expired row from disk */
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  uint32_t a_no, b_no;
  assert_int_equal(store_account_get(s, app, "k_alice", &a_no), 0);
  assert_int_equal(store_account_get(s, app, "k_bob", &b_no), 0);
  for (int tries = 0; tries < 50; tries++) {
    count_rows = 0;
    assert_int_equal(store_msg_history(s, app, store_c2c_conv(a_no, b_no), 0, 0, 0, INT64_MAX, 10, count_cb, NULL), 0);
    if (count_rows == 2) break;
    usleep(100000);
  }
  assert_int_equal(count_rows, 2);
  /* dave's events: the one at the limit and the new one; the realtime import past the limit made none (no
   * sync would hand it over, so it is pushed to nobody: test_retention_review); the inbox walk's purge of
   * expired events is checked there, on the test clock */
  uint32_t d_no, max_useq;
  assert_int_equal(store_account_get(s, app, "k_dave", &d_no), 0);
  for (int tries = 0; tries < 50; tries++) {
    count_rows = 0;
    assert_int_equal(store_msg_inbox_page(s, app, d_no, 0, 10, 0, count_ev, NULL, &max_useq), 0);
    if (count_rows == 2) break;
    usleep(100000);
  }
  assert_int_equal(count_rows, 2);
  assert_int_equal(max_useq, 2);
  store_close(s);
}

/* A message past retention is not there for admin_msgwithdraw or
 * modify_c2c_msg (20022), as for every read, also before the purge pass
 * deletes it (a conversation's newest message is never purged). */
static void test_expired_targets(void **st)
{
  (void)st;
  import_users(srv.port, app, key, (const char *const[]){ "x_alice", "x_bob", NULL });
  long long old_t = (long long)(now_s - RETENTION - 10), live_t = (long long)(now_s - RETENTION + 600);
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":2,\"From_Account\":\"x_alice\",\"To_Account\":\"x_bob\",\"MsgSeq\":9,\"MsgRandom\":9,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("kept") "}", live_t), 0);
  expect_code(v4(srv.port, app, key, "openim/importmsg",
                 "{\"SyncFromOldSystem\":2,\"From_Account\":\"x_alice\",\"To_Account\":\"x_bob\",\"MsgSeq\":7,\"MsgRandom\":8,"
                 "\"MsgTimeStamp\":%lld,\"MsgBody\":" TEXT("gone") "}", old_t), 0); /* the newest: never purged */
  expect_code(v4(srv.port, app, key, "openim/modify_c2c_msg",
                 "{\"From_Account\":\"x_alice\",\"To_Account\":\"x_bob\",\"MsgKey\":\"7_8_%lld\",\"MsgBody\":" TEXT("m") "}",
                 old_t), 20022);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"x_alice\",\"To_Account\":\"x_bob\",\"MsgKey\":\"7_8_%lld\"}", old_t), 20022);
  expect_code(v4(srv.port, app, key, "openim/admin_msgwithdraw",
                 "{\"From_Account\":\"x_alice\",\"To_Account\":\"x_bob\",\"MsgKey\":\"9_9_%lld\"}", live_t), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_send_push_multi_device),
    cmocka_unit_test(test_dedupe),
    cmocka_unit_test(test_sync_pages),
    cmocka_unit_test(test_recall),
    cmocka_unit_test(test_read_unread_receipt),
    cmocka_unit_test(test_rest_sendmsg_errors),
    cmocka_unit_test(test_batchsendmsg),
    cmocka_unit_test(test_import_and_roam_paging),
    cmocka_unit_test(test_recentcontact),
    cmocka_unit_test(test_isolation_and_permissions),
    cmocka_unit_test(test_online_typing_modify),
    cmocka_unit_test(test_retention_boundary),
    cmocka_unit_test(test_expired_targets),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
