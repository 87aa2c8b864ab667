/* End-to-end: the messaging limits that come from configuration or the
 * reference and must hold exactly, against the real server on the test
 * clock with msg_max_bytes raised to 200,000:
 *  - batchsendmsg refuses a message packed above 8 KB with 90055 and sends
 *    it to nobody; a request above 8 KB because of its target list passes
 *    (docs/decisions/messaging-batch-packet.md);
 *  - a WebSocket send frame fits every message up to msg_max_bytes (the
 *    frame cap is derived from it); a bigger message gets 93000 and the
 *    connection stays open;
 *  - a positive MsgLifeTime bounds offline delivery: sync does not hand out
 *    a message whose lifetime has passed, history still has it;
 *  - 51012 is strict: two pins sent together when 49 are pinned, one wins;
 *  - the last-committed-useq map holds nothing once no sync is in flight
 *    (GET /healthz c2c.committed_users), however many users got messages. */
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
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160];
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", "--msg-max-bytes", "200000", NULL };


static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void expect_code(json_t *r, int code)
{
  assert_non_null(r);
  if (jint(r, json_object_get(r, "ErrorCode") ? "ErrorCode" : "code") != code)
    fail_msg("expected %d, got %s", code, json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

static void login(wsc_t *c, const char *user)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
}

/* A text of n 'x' characters (malloc'd). */
static char *text_of(size_t n)
{
  char *t = malloc(n + 1);
  memset(t, 'x', n);
  t[n] = 0;
  return t;
}

/* Messages user holds with peer, through admin_getroammsg. */
static int roam_count(const char *user, const char *peer)
{
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"%s\",\"Peer_Account\":\"%s\",\"MaxCnt\":100,\"MinTime\":0,\"MaxTime\":0}", user,
                 peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  int n = (int)json_array_size(json_object_get(r, "MsgList"));
  json_decref(r);
  return n;
}

/* Sync from 0 until complete; the texts of the msg events, in order, into
 * texts (each truncated to 31 bytes). Returns how many. */
static int sync_texts(wsc_t *c, char texts[][32], int cap)
{
  uint32_t cursor = 0;
  int n = 0;
  for (;;) {
    json_t *r = wsc_rpc(c, "sync", "\"cursor\":%u", cursor);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(r, "events"), i, ev) {
      if (strcmp(jstr(ev, "type"), "msg")) continue;
      json_t *body = json_object_get(json_object_get(ev, "msg"), "body");
      const char *t = json_string_value(json_object_get(json_object_get(json_array_get(body, 0), "MsgContent"), "Text"));
      if (n < cap) snprintf(texts[n], 32, "%s", t ? t : "");
      n++;
    }
    cursor = (uint32_t)jint(r, "cursor");
    int done = json_is_true(json_object_get(r, "complete"));
    json_decref(r);
    if (done) return n;
  }
}

/* ---- 90055 ---------------------------------------------------------------------------------- */
static void test_batch_packet_8k(void **st)
{
  (void)st;
  static const char *const users[] = { "b_from", "b_to", NULL };
  import_users(srv.port, app, key, users);
  /* 8,300 characters of text pack to more than 8,192 bytes: 90055, nobody gets it */
  char *big = text_of(8300);
  expect_code(v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"b_from\",\"To_Account\":[\"b_to\"],\"MsgRandom\":1,\"MsgBody\":" TEXT("%s") "}", big),
              90055);
  assert_int_equal(roam_count("b_to", "b_from"), 0);
  /* the same message is fine for sendmsg (its limit is msg_max_bytes) */
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"b_from\",\"To_Account\":\"b_to\",\"MsgRandom\":2,\"MsgBody\":" TEXT("%s") "}", big), 0);
  free(big);
  /* 8,100 characters pack to at most 8,192: accepted */
  char *ok = text_of(8100);
  expect_code(v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"b_from\",\"To_Account\":[\"b_to\"],\"MsgRandom\":3,\"MsgBody\":" TEXT("%s") "}", ok), 0);
  free(ok);
  assert_int_equal(roam_count("b_to", "b_from"), 2);
  /* a request over 8 KB because of its 300 targets passes: the packet is the message */
  static char to[300 * 40];
  size_t off = 0;
  off += (size_t)snprintf(to + off, sizeof to - off, "\"b_to\"");
  for (int i = 1; i < 300; i++) off += (size_t)snprintf(to + off, sizeof to - off, ",\"b_not_imported_%020d\"", i);
  assert_true(off > 8192);
  json_t *r = v4(srv.port, app, key, "openim/batchsendmsg",
                 "{\"From_Account\":\"b_from\",\"To_Account\":[%s],\"MsgRandom\":4,\"MsgBody\":" TEXT("small") "}", to);
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "ErrorList")), 299);
  json_decref(r);
  assert_int_equal(roam_count("b_to", "b_from"), 3);
}

/* ---- the send frame fits msg_max_bytes ------------------------------------------------------------ */
static int send_big(wsc_t *c, const char *to, size_t text_len, json_t **reply)
{
  char *t = text_of(text_len);
  size_t cap = text_len + 256;
  char *frame = malloc(cap);
  int id = ++c->next_id;
  snprintf(frame, cap, "{\"id\":%d,\"op\":\"send\",\"to\":\"%s\",\"body\":" TEXT("%s") "}", id, to, t);
  free(t);
  int rc = e2e_ws_send_text(c->fd, frame);
  free(frame);
  *reply = rc ? NULL : wsc_take(c, match_id, &id, 10000);
  return *reply ? 0 : -1;
}

static void test_ws_frame_fits_msg_max(void **st)
{
  (void)st;
  static const char *const users[] = { "f_a", "f_b", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a, b;
  login(&a, "f_a");
  login(&b, "f_b");
  uint32_t cur = 0;
  json_t *r = wsc_rpc(&b, "sync", "\"cursor\":%u", cur);
  assert_true(json_is_true(json_object_get(r, "complete")));
  json_decref(r);
  /* 150,000 bytes of text: far above the old 32 KiB frame cap and the default 64 KiB frame limit */
  assert_int_equal(send_big(&a, "f_b", 150000, &r), 0);
  expect_code(r, 0);
  json_t *push = wsc_push(&b, "msg", 10000);
  assert_non_null(push);
  json_t *body = json_object_get(json_object_get(push, "msg"), "body");
  const char *text = json_string_value(json_object_get(json_object_get(json_array_get(body, 0), "MsgContent"), "Text"));
  assert_non_null(text);
  assert_int_equal(strlen(text), 150000);
  json_decref(push);
  /* above msg_max_bytes: 93000, and the connection stays usable */
  assert_int_equal(send_big(&a, "f_b", 200100, &r), 0);
  expect_code(r, 93000);
  expect_code(wsc_rpc(&a, "heartbeat", "%s", ""), 0);
  wsc_close(&a);
  wsc_close(&b);
}

/* ---- MsgLifeTime bounds offline delivery ------------------------------------------------------------- */
static void test_lifetime_offline(void **st)
{
  (void)st;
  static const char *const users[] = { "l_from", "l_to", NULL };
  import_users(srv.port, app, key, users);
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"l_from\",\"To_Account\":\"l_to\",\"MsgRandom\":1,\"MsgLifeTime\":60,"
                 "\"MsgBody\":" TEXT("short-lived") "}"), 0);
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"l_from\",\"To_Account\":\"l_to\",\"MsgRandom\":2,\"MsgLifeTime\":3600,"
                 "\"MsgBody\":" TEXT("hour") "}"), 0);
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"l_from\",\"To_Account\":\"l_to\",\"MsgRandom\":3,\"MsgLifeTime\":60,"
                 "\"MsgBody\":" TEXT("short-too") "}"), 0);
  /* at exactly the lifetime the message is still delivered */
  op_clock_advance(srv.port, auth, 60);
  wsc_t c;
  char texts[8][32];
  login(&c, "l_to");
  assert_int_equal(sync_texts(&c, texts, 8), 3);
  wsc_close(&c);
  /* one second later, a device that connects gets only the hour-long one */
  op_clock_advance(srv.port, auth, 1);
  login(&c, "l_to");
  assert_int_equal(sync_texts(&c, texts, 8), 1);
  assert_string_equal(texts[0], "hour");
  /* the session is live: a new message arrives as a push */
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"l_from\",\"To_Account\":\"l_to\",\"MsgRandom\":4,\"MsgLifeTime\":60,"
                 "\"MsgBody\":" TEXT("live") "}"), 0);
  json_t *push = wsc_push(&c, "msg", 5000);
  assert_non_null(push);
  json_decref(push);
  wsc_close(&c);
  /* history keeps every message (MsgLifeTime bounds offline delivery only) */
  assert_int_equal(roam_count("l_to", "l_from"), 4);
}

/* ---- 51012 is strict under concurrent pins ---------------------------------------------------------------- */
static void test_pin_race(void **st)
{
  (void)st;
  char users[52][16];
  for (int i = 0; i < 52; i++) {
    snprintf(users[i], sizeof users[i], i ? "p_peer%02d" : "p_me", i);
    json_decref(v4(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"%s\"}", users[i]));
  }
  wsc_t me;
  login(&me, "p_me");
  for (int i = 1; i <= 49; i++) expect_code(wsc_rpc(&me, "pin", "\"peer\":\"%s\",\"pinned\":true", users[i]), 0);
  /* two pins in one TCP segment: both reach the server in the same loop turn */
  char f1[128], f2[128];
  int n1 = snprintf(f1, sizeof f1, "{\"id\":9001,\"op\":\"pin\",\"peer\":\"%s\",\"pinned\":true}", users[50]);
  int n2 = snprintf(f2, sizeof f2, "{\"id\":9002,\"op\":\"pin\",\"peer\":\"%s\",\"pinned\":true}", users[51]);
  unsigned char buf[512];
  size_t off = 0;
  const char *fs[2] = { f1, f2 };
  int ns[2] = { n1, n2 };
  for (int k = 0; k < 2; k++) {
    buf[off++] = 0x81;
    buf[off++] = (unsigned char)(0x80 | ns[k]); /* < 126 bytes, masked with a zero key */
    memset(buf + off, 0, 4);
    off += 4;
    memcpy(buf + off, fs[k], (size_t)ns[k]);
    off += (size_t)ns[k];
  }
  assert_int_equal(e2e_send(me.fd, buf, off), 0);
  int id1 = 9001, id2 = 9002;
  json_t *r1 = wsc_take(&me, match_id, &id1, 5000), *r2 = wsc_take(&me, match_id, &id2, 5000);
  assert_non_null(r1);
  assert_non_null(r2);
  int c1 = (int)jint(r1, "code"), c2 = (int)jint(r2, "code");
  json_decref(r1);
  json_decref(r2);
  if (!((c1 == 0 && c2 == 51012) || (c1 == 51012 && c2 == 0))) fail_msg("pins answered %d and %d", c1, c2);
  /* the list holds exactly 50 pinned conversations */
  json_t *l = wsc_rpc(&me, "conversations", "%s", "");
  assert_non_null(l);
  size_t i, pinned = 0;
  json_t *cv;
  json_array_foreach(json_object_get(l, "conversations"), i, cv) pinned += json_is_true(json_object_get(cv, "pinned"));
  json_decref(l);
  assert_int_equal(pinned, 50);
  /* re-pinning a pinned one is allowed at the bound; unpinning makes room */
  expect_code(wsc_rpc(&me, "pin", "\"peer\":\"%s\",\"pinned\":true", users[1]), 0);
  expect_code(wsc_rpc(&me, "pin", "\"peer\":\"%s\",\"pinned\":false", users[1]), 0);
  expect_code(wsc_rpc(&me, "pin", "\"peer\":\"%s\",\"pinned\":true", c1 == 0 ? users[51] : users[50]), 0);
  expect_code(wsc_rpc(&me, "pin", "\"peer\":\"%s\",\"pinned\":true", users[1]), 51012);
  wsc_close(&me);
}

/* ---- the committed-useq map is bounded --------------------------------------------------------------------- */
static int committed_users(void)
{
  char out[16384];
  assert_int_equal(e2e_http(srv.port, "GET", "/healthz", NULL, NULL, out, sizeof out), 200);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  assert_true(json_is_integer(json_object_get(json_object_get(o, "c2c"), "committed_users")));
  int n = (int)jint(o, "c2c.committed_users");
  json_decref(o);
  return n;
}

static void test_committed_map_bounded(void **st)
{
  (void)st;
  char list[30 * 12] = "\"m_from\"";
  for (int i = 0; i < 30; i++) snprintf(list + strlen(list), sizeof list - strlen(list), ",\"m_to%02d\"", i);
  expect_code(v4(srv.port, app, key, "im_open_login_svc/multiaccount_import", "{\"Accounts\":[%s]}", list), 0);
  /* 30 users, never online, each get a message: nothing is kept for them */
  for (int i = 0; i < 30; i++) {
    expect_code(v4(srv.port, app, key, "openim/sendmsg",
                   "{\"From_Account\":\"m_from\",\"To_Account\":\"m_to%02d\",\"MsgRandom\":%d,\"MsgBody\":" TEXT("hi") "}",
                   i, i + 1),
                0);
  }
  assert_int_equal(committed_users(), 0);
  /* a device that syncs, receives pushes and leaves: still nothing kept */
  wsc_t c;
  char texts[4][32];
  login(&c, "m_to00");
  assert_int_equal(sync_texts(&c, texts, 4), 1);
  expect_code(v4(srv.port, app, key, "openim/sendmsg",
                 "{\"From_Account\":\"m_from\",\"To_Account\":\"m_to00\",\"MsgRandom\":99,\"MsgBody\":" TEXT("live") "}"), 0);
  json_t *push = wsc_push(&c, "msg", 5000);
  assert_non_null(push);
  json_decref(push);
  assert_int_equal(committed_users(), 0);
  wsc_close(&c);
  /* a new device still gets everything (the value is re-derived from the store) */
  login(&c, "m_to00");
  assert_int_equal(sync_texts(&c, texts, 4), 2);
  assert_string_equal(texts[1], "live");
  wsc_close(&c);
  assert_int_equal(committed_users(), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_batch_packet_8k),
    cmocka_unit_test(test_ws_frame_fits_msg_max),
    cmocka_unit_test(test_lifetime_offline),
    cmocka_unit_test(test_pin_race),
    cmocka_unit_test(test_committed_map_bounded),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
