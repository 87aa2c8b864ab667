/* End-to-end: a `send` frame answered by the fast path (cws_send_fast: the
 * frame read by util/jsonr, the message checked on its tokens) gets the same
 * answer as the same frame answered by the general path (jansson). Each case
 * is sent twice: as it is, and with an extra member of 300 tokens ("pad"),
 * which the fast path leaves to the general path (over its 256 tokens) and
 * the general path ignores (unknown fields are). The replies' code and msg
 * must be equal, and for an accepted message the recipient's push must carry
 * the same body, CloudCustomData and OfflinePushInfo. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char pad[2048];

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (e2e_server_start(&srv, NULL)) return -1;
  size_t n = (size_t)snprintf(pad, sizeof pad, ",\"pad\":[0");
  for (int i = 1; i < 300; i++) n += (size_t)snprintf(pad + n, sizeof pad - n, ",0");
  snprintf(pad + n, sizeof pad - n, "]");
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Send {"id":N, fields…[, pad]} as it is; the reply (caller decrefs). */
static json_t *raw(wsc_t *c, const char *fields, int padded)
{
  static char frame[1 << 17];
  int id = ++c->next_id;
  snprintf(frame, sizeof frame, "{\"id\":%d,%s%s}", id, fields, padded ? pad : "");
  assert_int_equal(e2e_ws_send_text(c->fd, frame), 0);
  json_t *r = wsc_take(c, match_id, &id, 5000);
  assert_non_null(r);
  return r;
}

/* GET /healthz c2c.fast_sends: sends the fast path took. */
static long fast_sends(void)
{
  char out[8192];
  assert_int_equal(e2e_http(srv.port, "GET", "/healthz", NULL, NULL, out, sizeof out), 200);
  json_t *o = json_loads(out, 0, NULL);
  assert_non_null(o);
  assert_true(json_is_integer(json_object_get(json_object_get(o, "c2c"), "fast_sends")));
  long n = (long)jint(o, "c2c.fast_sends");
  json_decref(o);
  return n;
}

static char *dumps(json_t *v)
{
  return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(absent)");
}

static void same(json_t *a, json_t *b, const char *name, const char *what)
{
  char *x = dumps(json_object_get(a, name)), *y = dumps(json_object_get(b, name));
  if (strcmp(x, y)) fail_msg("%s: %s differs: fast %s, general %s", what, name, x, y);
  free(x);
  free(y);
}

static int match_send_reply(json_t *o, const void *arg)
{
  (void)arg;
  json_t *op = json_object_get(o, "op");
  return json_is_string(op) && !strcmp(json_string_value(op), "send");
}

#define TEXT_EL(t) "{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"" t "\"}}"
#define CUSTOM_EL "{\"MsgType\":\"TIMCustomElem\",\"MsgContent\":{\"Data\":\"d\"}}"

static void test_fast_and_general_answer_alike(void **st)
{
  (void)st;
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "f_alice", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "f_bob", "Web"), 0);
  json_decref(wsc_sync_live(&b));
  static const struct { const char *fields; int code; } cases[] = {
    /* accepted: plain, escapes everywhere (keys, op, peer, values), every flag, every part */
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[" TEXT_EL("hi") "]", 0 },
    { "\"o\\u0070\":\"s\\u0065nd\",\"t\\u006f\":\"f_b\\u006fb\",\"body\":[" TEXT_EL("\\u00e9\\ud83d\\ude00\\t\\\"\\/") "]", 0 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"msg_seq\":4294967295,\"online_only\":false,\"no_unread\":true,"
      "\"no_last_msg\":false,\"need_receipt\":true,\"body\":[" TEXT_EL("x") "," CUSTOM_EL ",{\"MsgType\":\"TIMFaceElem\","
      "\"MsgContent\":{\"Index\":-0,\"Data\":\"\\u0001\"}},{\"MsgType\":\"TIMLocationElem\",\"MsgContent\":{\"Desc\":\"d\","
      "\"Latitude\":1e-7,\"Longitude\":-33.86881999999999}}],\"cloud_custom_data\":\"c\\n\","
      "\"offline_push_info\":{\"PushFlag\":0,\"Desc\":\"d\",\"ApnsInfo\":{\"BadgeMode\":1}}", 0 },
    /* a forwarded chat: a relay element holding a message that holds a relay element by key */
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[{\"MsgType\":\"TIMRelayElem\",\"MsgContent\":{\"Title\":\"chat\","
      "\"MsgNum\":2,\"AbstractList\":[\"a: hi\"],\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":3,\"MsgBody\":["
      TEXT_EL("hi") ",{\"MsgType\":\"TIMRelayElem\",\"MsgContent\":{\"Title\":\"t\",\"MsgNum\":1,\"JsonMsgKey\":\"k\"}}]}]}}]", 0 },
    /* refused: each check the fast path leaves to the general path */
    { "\"op\":\"send\",\"to\":\"f_bob\",\"msg_seq\":-1,\"body\":[" TEXT_EL("x") "]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"msg_seq\":4294967296,\"body\":[" TEXT_EL("x") "]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"random\":\"1\",\"body\":[" TEXT_EL("x") "]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"need_receipt\":1,\"body\":[" TEXT_EL("x") "]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\"", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[" CUSTOM_EL "," CUSTOM_EL "]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":1}}]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[{\"MsgType\":\"TIMNoSuchElem\",\"MsgContent\":{}}]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[{\"MsgType\":\"TIMRelayElem\",\"MsgContent\":{\"Title\":\"t\",\"MsgNum\":1}}]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[{\"MsgType\":\"TIMRelayElem\",\"MsgContent\":{\"Title\":\"t\",\"MsgNum\":1,"
      "\"MsgList\":[{\"From_Account\":\"a\",\"MsgTimeStamp\":1,\"MsgBody\":[]}]}}]", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[" TEXT_EL("x") "],\"cloud_custom_data\":1", -1 },
    { "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[" TEXT_EL("x") "],\"offline_push_info\":{\"PushFlag\":2}", -1 },
    { "\"op\":\"send\",\"to\":\"f_nobody\",\"body\":[" TEXT_EL("x") "]", -1 },
    { "\"op\":\"send\",\"to\":\"a b\",\"body\":[" TEXT_EL("x") "]", -1 },
    { "\"op\":\"send\",\"to\":7,\"body\":[" TEXT_EL("x") "]", -1 },
    { "\"op\":\"sendx\",\"to\":\"f_bob\",\"body\":[" TEXT_EL("x") "]", -1 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *r[2], *push[2] = { NULL, NULL };
    for (int padded = 0; padded < 2; padded++) {
      long before = fast_sends();
      r[padded] = raw(&a, cases[i].fields, padded);
      /* the unpadded accepted frames go the fast way (an unknown or invalid peer string too:
       * refused after the parse, by the code both paths share), every other one the general way */
      long want = !padded && (cases[i].code == 0 || strstr(cases[i].fields, "f_nobody") || strstr(cases[i].fields, "a b"));
      if (fast_sends() - before != want) fail_msg("case %zu padded %d: fast path taken %ld, expected %ld", i, padded,
                                                   fast_sends() - before, want);
      if (jint(r[padded], "code") == 0) {
        push[padded] = wsc_push(&b, "msg", 5000);
        assert_non_null(push[padded]);
      }
    }
    char what[32];
    snprintf(what, sizeof what, "case %zu", i);
    same(r[0], r[1], "code", what);
    same(r[0], r[1], "msg", what);
    same(r[0], r[1], "dup", what);
    if (cases[i].code == 0 && jint(r[0], "code") != 0) fail_msg("%s refused: %s", what, jstr(r[0], "msg"));
    if (cases[i].code != 0 && jint(r[0], "code") == 0) fail_msg("%s accepted", what);
    if (push[0]) {
      json_t *m0 = json_object_get(push[0], "msg"), *m1 = json_object_get(push[1], "msg");
      same(m0, m1, "body", what);
      same(m0, m1, "cloud_custom_data", what);
      same(m0, m1, "offline_push_info", what);
      same(m0, m1, "from", what);
      same(m0, m1, "need_receipt", what);
      same(m0, m1, "no_unread", what);
    }
    for (int k = 0; k < 2; k++) { json_decref(r[k]); json_decref(push[k]); }
  }
  /* the decoded text reached the peer */
  json_t *r = raw(&a, "\"op\":\"send\",\"to\":\"f_bob\",\"body\":[" TEXT_EL("\\u00e9") "]", 0);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  json_t *p = wsc_push(&b, "msg", 5000);
  assert_non_null(p);
  json_t *el = json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0);
  assert_string_equal(json_string_value(json_object_get(json_object_get(el, "MsgContent"), "Text")), "\xc3\xa9");
  json_decref(p);
  /* an id echoed as the general path echoes it: a decoded string, an integer, none; one that is none of
   * these is refused unrun by both (60003: its reply could not carry it) */
  static const char *const ids[] = { "\"x\\u00e9\"", "-12", "1.5", "null", "[1]" };
  static const char *const want[] = { "\"x\xc3\xa9\"", "-12", "null", "null", "null" };
  static const int code[] = { 0, 0, 60003, 0, 60003 };
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    char frame[512];
    snprintf(frame, sizeof frame, "{\"id\":%s,\"op\":\"send\",\"to\":\"f_bob\",\"body\":[" TEXT_EL("id") "]}", ids[i]);
    assert_int_equal(e2e_ws_send_text(a.fd, frame), 0);
    json_t *reply = wsc_take(&a, match_send_reply, NULL, 5000);
    assert_non_null(reply);
    char *got = dumps(json_object_get(reply, "id"));
    assert_string_equal(got, want[i]);
    assert_int_equal(jint(reply, "code"), code[i]);
    free(got);
    json_decref(reply);
    if (code[i] == 0) json_decref(wsc_push(&b, "msg", 5000));
  }
  wsc_close(&a);
  wsc_close(&b);
}

/* A resend with the same random within the window: the same message, on the fast path as before. */
static void test_fast_dedupe(void **st)
{
  (void)st;
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "fd_alice", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "fd_bob", "Web"), 0);
  json_t *r1 = raw(&a, "\"op\":\"send\",\"to\":\"fd_bob\",\"random\":77,\"body\":[" TEXT_EL("once") "]", 0);
  json_t *r2 = raw(&a, "\"op\":\"send\",\"to\":\"fd_bob\",\"random\":77,\"body\":[" TEXT_EL("once") "]", 0);
  assert_int_equal(jint(r1, "code"), 0);
  assert_int_equal(jint(r2, "code"), 0);
  assert_false(json_is_true(json_object_get(r1, "dup")));
  assert_true(json_is_true(json_object_get(r2, "dup")));
  assert_string_equal(jstr(r1, "msg_key"), jstr(r2, "msg_key"));
  assert_int_equal(jint(r1, "seq"), jint(r2, "seq"));
  json_decref(r1);
  json_decref(r2);
  wsc_close(&a);
  wsc_close(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fast_and_general_answer_alike),
    cmocka_unit_test(test_fast_dedupe),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
