/* End-to-end: the one-to-one message ops of the client WebSocket protocol
 * (docs/protocol.md) reviewed over raw sockets, as a hostile or careless
 * client would use them, on the real server:
 *  - a MsgKey is read whole: a key padded with leading zeros names the same
 *    message however long it is (the core copied it into a 64-byte buffer,
 *    so a padded key past 63 bytes was cut into another key: `recall`
 *    answered 20022 for one's own message, REST `admin_getroammsg`'s
 *    LastMsgKey 90054);
 *  - pipelined requests, one frame split over many writes: each reply
 *    carries its id and leaves when its request completes (protocol.md
 *    "Frames"): refusals, heartbeat and reads while the writes wait for
 *    their commit, the writes then in the order they were sent (a `read`
 *    of seq 0 among them: it was answered at once, §80);
 *  - typing is lossy: a flood of notices to a peer that does not keep up
 *    cut the peer off as a slow consumer (1008) — one user could keep
 *    another offline; notices are now dropped for a connection at the
 *    live-room drop line (live_queue_bytes), as live-room messages are.
 * One server whose storage sync a test can hold (e2e_start_sync_held);
 * each test uses its own users. */
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
#include "e2e_check.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[128];

static int setup(void **st)
{
  (void)st;
  /* a send-queue cap of 256 KiB (4 MiB by default) and the live-room drop line at 64 KiB: test_typing_flood */
  static const char *const args[] = { "--ws-max-queued-bytes", "262144", "--live-queue-bytes", "65536", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "wsmsg", "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

/* After each test, passed or failed: the sync runs again. */
static int release(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return 0;
}

static void users(const char *const *u) { import_users(srv.port, app, key, u); }

/* c's reply to op (fields as wsc_rpc's) that must carry code want; the reply (caller decrefs). */
static json_t *rpc_code(wsc_t *c, int want, const char *op, const char *fields)
{
  json_t *r = wsc_rpc(c, op, "%s", fields);
  assert_non_null(r);
  if (jint(r, "code") != want) fail_msg("%s: want %d: %s", op, want, json_dumps(r, JSON_COMPACT));
  return r;
}

/* ---- a MsgKey is read whole ------------------------------------------------------------ */
static void test_padded_msg_key_read_whole(void **st)
{
  (void)st;
  const char *const u[] = { "mk_a", "mk_b", NULL };
  users(u);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "mk_a", "Web"), 0);
  char keys[3][64], fields[256], padded[160];
  for (int i = 0; i < 3; i++) {
    json_t *r = rpc_code(&a, 0, "send", "\"to\":\"mk_b\",\"body\":" TEXT("m"));
    snprintf(keys[i], sizeof keys[i], "%s", jstr(r, "msg_key"));
    json_decref(r);
  }
  /* 80 zeros before the key: the same numbers (im_msg_key_parse takes leading zeros), 100+ bytes */
  snprintf(padded, sizeof padded, "%080d%s", 0, keys[2]);
  assert_true(strlen(padded) > 100);
  snprintf(fields, sizeof fields, "\"peer\":\"mk_b\",\"msg_key\":\"%s\"", padded);
  json_decref(rpc_code(&a, 0, "recall", fields));
  /* it was that message: recalled, and a second recall by its short key says so */
  snprintf(fields, sizeof fields, "\"peer\":\"mk_b\",\"msg_key\":\"%s\"", keys[2]);
  json_decref(rpc_code(&a, 20023, "recall", fields));
  /* a padded key that does not parse past the cut is malformed, not a key of its first 63 bytes */
  snprintf(padded, sizeof padded, "1_2_%080dx", 0);
  snprintf(fields, sizeof fields, "\"peer\":\"mk_b\",\"msg_key\":\"%s\"", padded);
  json_decref(rpc_code(&a, 90054, "recall", fields));
  /* REST roaming pages continue below a LastMsgKey read whole too (the same core read) */
  snprintf(padded, sizeof padded, "%080d%s", 0, keys[2]);
  json_t *r = v4(srv.port, app, key, "openim/admin_getroammsg",
                 "{\"Operator_Account\":\"mk_a\",\"Peer_Account\":\"mk_b\",\"MaxCnt\":1,\"MinTime\":0,"
                 "\"MaxTime\":4000000000,\"LastMsgKey\":\"%s\"}",
                 padded);
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("getroammsg: %s", json_dumps(r, JSON_COMPACT));
  assert_int_equal(json_array_size(json_object_get(r, "MsgList")), 1);
  assert_string_equal(jstr(json_array_get(json_object_get(r, "MsgList"), 0), "MsgKey"), keys[1]);
  json_decref(r);
  wsc_close(&a);
}

/* ---- pipelined requests are answered as they complete ------------------------------------ */
/* A final, masked text frame of text at dst (the shared encoder, e2e.h); its length. */
static size_t frame_put(char *dst, const char *text)
{
  return e2e_ws_frame_put((unsigned char *)dst, 1, 1, text, strlen(text), 1);
}

/* The id of the next reply c receives within timeout_ms (pushes skipped), -1 if none. */
static int next_reply_id(wsc_t *c, int timeout_ms)
{
  for (;;) {
    if (!c->n && wsc_read(c, timeout_ms)) return -1;
    json_t *o = c->stash[0];
    memmove(&c->stash[0], &c->stash[1], (size_t)(c->n - 1) * sizeof c->stash[0]);
    c->n--;
    int id = json_object_get(o, "op") ? (int)jint(o, "id") : 0;
    json_decref(o);
    if (id) return id;
  }
}

static void test_pipelined_replies_by_completion(void **st)
{
  (void)st;
  const char *const u[] = { "po_a", "po_b", NULL };
  users(u);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "po_a", "Web"), 0);
  json_decref(rpc_code(&a, 0, "send", "\"to\":\"po_b\",\"body\":" TEXT("first")));
  static const char *const reqs[] = {
    "{\"id\":1,\"op\":\"send\",\"to\":\"po_b\",\"body\":" TEXT("one") "}",
    "{\"id\":2,\"op\":\"send\",\"to\":\"po_b\"}", /* no body: 90007 at once */
    "{\"id\":3,\"op\":\"read\",\"peer\":\"po_b\"}",
    "{\"id\":4,\"op\":\"heartbeat\"}",
    "{\"id\":5,\"op\":\"send\",\"to\":\"po_b\",\"body\":" TEXT("two") "}",
    "{\"id\":6,\"op\":\"history\",\"peer\":\"po_b\",\"limit\":5}",
    "{\"id\":7,\"op\":\"pin\",\"peer\":\"po_b\",\"pinned\":true}",
  };
  char buf[2048];
  size_t len = 0;
  for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) len += frame_put(buf + len, reqs[i]);
  e2e_sync_hold(hold, 1); /* no write is acknowledged until released */
  for (size_t at = 0; at < len; at += 5) assert_int_equal(e2e_send(a.fd, buf + at, len - at < 5 ? len - at : 5), 0);
  /* the refusal and the heartbeat in the order sent, the read whenever it finished: none waits for the writes */
  int got[3], k = 0, two = -1, four = -1;
  for (; k < 3; k++) assert_true((got[k] = next_reply_id(&a, 5000)) > 0);
  for (k = 0; k < 3; k++) {
    if (got[k] == 2) two = k;
    if (got[k] == 4) four = k;
    if (got[k] != 2 && got[k] != 4 && got[k] != 6) fail_msg("reply %d before the writes were acknowledged", got[k]);
  }
  assert_true(two >= 0 && four > two);
  assert_int_equal(next_reply_id(&a, 300), -1);
  e2e_sync_hold(hold, 0);
  /* then the writes, in the order they were sent */
  assert_int_equal(next_reply_id(&a, 5000), 1);
  assert_int_equal(next_reply_id(&a, 5000), 3);
  assert_int_equal(next_reply_id(&a, 5000), 5);
  assert_int_equal(next_reply_id(&a, 5000), 7);
  wsc_close(&a);
}

/* A `read` of seq 0 reads nothing; it was answered at once, before the writes the connection sent earlier
 * (a `send` then a `read` 0 got the read's reply first): it is answered as a write, in their order (§80). */
static void test_read_zero_in_write_order(void **st)
{
  (void)st;
  const char *const u[] = { "rz_a", "rz_b", NULL };
  users(u);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "rz_a", "Web"), 0);
  static const char *const reqs[] = {
    "{\"id\":1,\"op\":\"send\",\"to\":\"rz_b\",\"body\":" TEXT("one") "}",
    "{\"id\":2,\"op\":\"read\",\"peer\":\"rz_b\",\"seq\":0}",
    "{\"id\":3,\"op\":\"pin\",\"peer\":\"rz_b\",\"pinned\":true}",
    "{\"id\":4,\"op\":\"read\",\"peer\":\"rz_b\",\"seq\":0}",
  };
  char buf[1024];
  size_t len = 0;
  for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) len += frame_put(buf + len, reqs[i]);
  e2e_sync_hold(hold, 1); /* no write is acknowledged until released */
  assert_int_equal(e2e_send(a.fd, buf, len), 0);
  assert_int_equal(next_reply_id(&a, 300), -1); /* nothing answered while the writes wait */
  e2e_sync_hold(hold, 0);
  for (int id = 1; id <= 4; id++) assert_int_equal(next_reply_id(&a, 5000), id);
  wsc_close(&a);
}

/* ---- a typing flood does not cut the peer off --------------------------------------------- */
static void test_typing_flood_is_dropped(void **st)
{
  (void)st;
  const char *const u[] = { "tf_att", "tf_vic", NULL };
  users(u);
  wsc_t att, vic;
  assert_int_equal(wsc_login(&vic, srv.port, app, key, "tf_vic", "Web"), 0);
  json_t *evs = wsc_sync_live(&vic); /* live: it gets typing notices */
  assert_non_null(evs);
  json_decref(evs);
  assert_int_equal(wsc_login(&att, srv.port, app, key, "tf_att", "Web"), 0);
  /* 200,000 notices (~7 MB of pushes: past the kernel's socket buffers and the 256 KiB queue) while tf_vic
   * reads nothing; tf_att reads its own replies as it goes */
  enum { BATCH = 5000, N = 200000 };
  static char buf[BATCH * 48], rbuf[4096];
  const char *typing = "{\"op\":\"typing\",\"peer\":\"tf_vic\"}";
  for (int sent = 0; sent < N; sent += BATCH) {
    size_t len = 0;
    for (int i = 0; i < BATCH; i++) len += frame_put(buf + len, typing);
    assert_int_equal(e2e_send(att.fd, buf, len), 0);
    for (int i = 0; i < BATCH; i++) {
      int op = 0, cc = 0;
      assert_true(e2e_ws_recv(att.fd, &op, rbuf, sizeof rbuf, 10000, &cc) > 0);
      assert_int_equal(op, 1);
    }
  }
  /* tf_vic is still connected: it reads the notices that were queued, then a message sent after them */
  json_decref(rpc_code(&att, 0, "send", "\"to\":\"tf_vic\",\"body\":" TEXT("after the flood")));
  int notices = 0, op = 0, cc = 0, n;
  static char vbuf[1 << 16];
  while ((n = e2e_ws_recv(vic.fd, &op, vbuf, sizeof vbuf, 20000, &cc)) >= 0 && op == 1 && strstr(vbuf, "\"typing\""))
    notices++;
  if (n < 0 || op != 1) fail_msg("tf_vic was closed (opcode %d, code %d) after %d notices", op, cc, notices);
  assert_non_null(strstr(vbuf, "after the flood"));
  /* some were dropped, not all */
  assert_true(notices > 0 && notices < N);
  wsc_close(&att);
  wsc_close(&vic);
}

/* ---- an online-only flood is dropped too ------------------------------------------------------------ */
/* Online-only messages are never stored either: 1,000 of ~11 KB (11 MB of pushes) to a live peer that
 * reads nothing no longer close it as a slow consumer (1008, within a second, before); some reach it, the
 * rest are dropped at the live-room line, and a stored message sent after them arrives. */
static void test_online_only_flood_is_dropped(void **st)
{
  (void)st;
  const char *const u[] = { "of_att", "of_vic", NULL };
  users(u);
  wsc_t att, vic;
  assert_int_equal(wsc_login(&vic, srv.port, app, key, "of_vic", "Web"), 0);
  json_t *evs = wsc_sync_live(&vic);
  assert_non_null(evs);
  json_decref(evs);
  assert_int_equal(wsc_login(&att, srv.port, app, key, "of_att", "Web"), 0);
  enum { BATCH = 50, N = 1000, TEXT_BYTES = 11000 };
  static char text[TEXT_BYTES + 1], frame[TEXT_BYTES + 256], buf[BATCH * (TEXT_BYTES + 256)], rbuf[4096];
  memset(text, 'x', TEXT_BYTES);
  snprintf(frame, sizeof frame, "{\"op\":\"send\",\"to\":\"of_vic\",\"online_only\":true,\"body\":"
           "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"%s\"}}]}", text);
  for (int sent = 0; sent < N; sent += BATCH) {
    size_t len = 0;
    for (int i = 0; i < BATCH; i++) len += frame_put(buf + len, frame);
    assert_int_equal(e2e_send(att.fd, buf, len), 0);
    for (int i = 0; i < BATCH; i++) {
      int op = 0, cc = 0;
      assert_true(e2e_ws_recv(att.fd, &op, rbuf, sizeof rbuf, 10000, &cc) > 0);
      assert_int_equal(op, 1);
      if (!strstr(rbuf, "\"code\":0")) fail_msg("an online-only send refused: %s", rbuf);
    }
  }
  json_decref(rpc_code(&att, 0, "send", "\"to\":\"of_vic\",\"body\":" TEXT("after the flood")));
  int got = 0, op = 0, cc = 0, n;
  static char vbuf[1 << 16];
  while ((n = e2e_ws_recv(vic.fd, &op, vbuf, sizeof vbuf, 20000, &cc)) >= 0 && op == 1 && strstr(vbuf, "\"online_msg\""))
    got++;
  if (n < 0 || op != 1) fail_msg("of_vic was closed (opcode %d, code %d) after %d online messages", op, cc, got);
  assert_non_null(strstr(vbuf, "after the flood"));
  assert_true(got > 0 && got < N);
  wsc_close(&att);
  wsc_close(&vic);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_padded_msg_key_read_whole),
    cmocka_unit_test_teardown(test_pipelined_replies_by_completion, release),
    cmocka_unit_test_teardown(test_read_zero_in_write_order, release),
    cmocka_unit_test(test_typing_flood_is_dropped),
    cmocka_unit_test(test_online_only_flood_is_dropped),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
