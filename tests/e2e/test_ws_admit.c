/* End-to-end: admission by backpressure (src/api/ws_pace.c). The server
 * runs with a high watermark of HIGH writer jobs in flight (low HIGH / 2).
 * While it is stopped (SIGSTOP), CONNS logged-in clients each pipeline
 * SENDS sends to the next client, far more than the watermark together;
 * on SIGCONT the server finds them all in its socket buffers at once.
 * Expected: every send is acknowledged exactly once, with code 0, in the
 * order sent on its connection; none is refused (60018); the server paused
 * and resumed connections (GET /healthz admission.pauses, resumes); and the
 * writer's jobs in flight never exceeded the watermark plus one read's
 * worth (admission.inflight_max ≤ HIGH + SENDS: a read carries at most the
 * frames one client sent). With the mechanism off (--ws-admit-high-jobs 0)
 * every connection is read at once: CONNS × SENDS in flight, and the test
 * fails. A second case checks that a client paused in the middle of a
 * pipeline can still close its connection and the others go on. A third
 * (its own server: a watermark of one job, a 1 s idle timeout, the
 * writer's sync held by IMCLOUD_TEST_SYNC_HOLD so the one send stays in
 * flight) checks that a client paused for three idle timeouts while it
 * keeps pinging is not closed (4004): the server did not read its pings.
 * A fourth (the sync held again) checks that admission weighs the bytes a
 * job holds: 32 sends of ~12 KB stop at about half that many in flight. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include "e2e.h"
#include "e2e_msg.h"

#define CONNS 8
#define SENDS 200   /* per connection: ~30 KB of frames, well inside the socket buffers while the server is stopped */
#define HIGH 64

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-admit-high-jobs", "64", "--ws-admit-low-jobs", "32", NULL };
  return e2e_start(&srv, "singapore", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static json_int_t healthz_int(const char *obj, const char *field)
{
  char body[16384];
  assert_int_equal(e2e_http(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body), 200);
  json_t *o = json_loads(body, 0, NULL);
  assert_non_null(o);
  json_t *v = json_object_get(json_object_get(o, obj), field);
  assert_true(json_is_integer(v));
  json_int_t n = json_integer_value(v);
  json_decref(o);
  return n;
}

static void login_all(wsc_t *c, const char *prefix)
{
  for (int i = 0; i < CONNS; i++) {
    char user[32];
    snprintf(user, sizeof user, "%s_%d", prefix, i);
    assert_int_equal(wsc_login(&c[i], srv.port, app, key, user, "Web"), 0);
  }
}

/* Queue SENDS sends on connection i (to the next user) while the server is stopped. */
static void pipeline(wsc_t *c, int i, const char *prefix)
{
  char msg[512];
  for (int k = 0; k < SENDS; k++) {
    snprintf(msg, sizeof msg,
             "{\"id\":%d,\"op\":\"send\",\"to\":\"%s_%d\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
             "{\"Text\":\"m%d-%d\"}}]}",
             k + 1, prefix, (i + 1) % CONNS, i, k);
    assert_int_equal(e2e_ws_send_text(c[i].fd, msg), 0);
  }
}

/* Read connection i until its SENDS acknowledgements came: each exactly
 * once, code 0, in order. Pushes and other frames are skipped. */
static void expect_acks(wsc_t *c, int i)
{
  static char buf[1 << 16];
  int next = 1, op = 0, cc = 0;
  while (next <= SENDS) {
    int n = e2e_ws_recv(c[i].fd, &op, buf, sizeof buf, 20000, &cc);
    if (n < 0 || op == 8) fail_msg("conn %d: connection ended after %d of %d acks", i, next - 1, SENDS);
    if (op != 1) continue;
    json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
    assert_non_null(o);
    const char *opname = json_string_value(json_object_get(o, "op"));
    if (opname && !strcmp(opname, "send")) {
      if (jint(o, "code") != 0) fail_msg("conn %d: send %d refused: %s", i, next, buf);
      if (jint(o, "id") != next) fail_msg("conn %d: ack for id %lld where %d was due", i, (long long)jint(o, "id"), next);
      next++;
    }
    json_decref(o);
  }
}

static void test_pipelined_sends_wait_not_refused(void **st)
{
  (void)st;
  wsc_t c[CONNS];
  login_all(c, "adm");
  json_int_t refused0 = healthz_int("writer", "refused");
  assert_int_equal(kill(srv.pid, SIGSTOP), 0);
  for (int i = 0; i < CONNS; i++) pipeline(c, i, "adm");
  usleep(200 * 1000); /* everything is in the server's socket buffers */
  assert_int_equal(kill(srv.pid, SIGCONT), 0);
  for (int i = 0; i < CONNS; i++) expect_acks(c, i);

  assert_int_equal(healthz_int("writer", "refused"), refused0);
  json_int_t max = healthz_int("admission", "inflight_max");
  if (max > HIGH + SENDS)
    fail_msg("%lld writer jobs were in flight: more than the watermark %d plus one read (%d)", (long long)max, HIGH, SENDS);
  json_int_t pauses = healthz_int("admission", "pauses"), resumes = healthz_int("admission", "resumes");
  if (pauses < 1) fail_msg("no connection was paused: %d × %d sends against a watermark of %d", CONNS, SENDS, HIGH);
  assert_true(resumes >= 1);
  assert_int_equal(healthz_int("admission", "paused"), 0);
  /* nothing stays in flight; the server's own jobs (the meter's counts, written on its 1 s tick) may be in
   * flight for a moment after the last ack (2 once under ASan on a loaded box) */
  json_int_t inflight = healthz_int("admission", "inflight");
  for (int tries = 0; tries < 200 && inflight; tries++) usleep(50 * 1000), inflight = healthz_int("admission", "inflight");
  assert_int_equal(inflight, 0); /* the look that found none (a second look may meet the next tick's job) */
  for (int i = 0; i < CONNS; i++) wsc_close(&c[i]);
}

/* A client that closes while its connection is paused: the server drops it
 * when its turn comes; the others get every ack. */
static void test_close_while_paused(void **st)
{
  (void)st;
  wsc_t c[CONNS];
  login_all(c, "adc");
  assert_int_equal(kill(srv.pid, SIGSTOP), 0);
  for (int i = 0; i < CONNS; i++) pipeline(c, i, "adc");
  usleep(200 * 1000);
  assert_int_equal(kill(srv.pid, SIGCONT), 0);
  close(c[CONNS - 1].fd); /* likely paused now: read only once its turn comes */
  c[CONNS - 1].fd = -1;
  for (int i = 0; i < CONNS - 1; i++) expect_acks(c, i);
  for (int tries = 0; tries < 100 && healthz_int("admission", "paused"); tries++) usleep(50 * 1000);
  assert_int_equal(healthz_int("admission", "paused"), 0);
  assert_int_equal(healthz_int("writer", "refused"), 0);
  for (int i = 0; i < CONNS; i++) wsc_close(&c[i]);
}

/* ---- a paused connection is not idle ---- */
static char hold[128];

static int setup_idle(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-admit-high-jobs", "1", "--ws-admit-low-jobs", "0", "--ws-idle-timeout-ms",
                                      "1000", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "admit", "singapore", &app, key, args);
}

static int teardown_idle(void **st)
{
  e2e_sync_hold(hold, 0);
  return teardown(st);
}


static void test_paused_pinging_client_stays_open(void **st)
{
  (void)st;
  static char buf[1 << 16];
  const char *users[] = { "idle_b", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "idle_a", "Web"), 0);
  for (int waited = 0; healthz_int("admission", "inflight") && waited < 30000; waited += 10) e2e_sleep_ms(10);
  e2e_sync_hold(hold, 1); /* from now on no job completes: the send below stays in flight */
  json_int_t pauses0 = healthz_int("admission", "pauses");
  assert_int_equal(e2e_ws_send_text(a.fd, "{\"id\":999,\"op\":\"send\",\"to\":\"idle_b\",\"body\":[{\"MsgType\":"
                                          "\"TIMTextElem\",\"MsgContent\":{\"Text\":\"held\"}}]}"), 0);
  for (int waited = 0; healthz_int("admission", "inflight") < 1 && waited < 10000; waited += 10) e2e_sleep_ms(10);
  /* the send, and maybe the meter's job of the server's 1 s tick (a writer job too, held with it) */
  assert_true(healthz_int("admission", "inflight") >= 1);
  /* three idle timeouts of pings: the first read finds the watermark reached, the connection is paused */
  for (int i = 0; i < 12; i++) {
    assert_int_equal(e2e_ws_send_frame(a.fd, 9, 1, "hi", 2, 1), 0);
    e2e_sleep_ms(250);
  }
  assert_true(healthz_int("admission", "pauses") > pauses0);
  assert_int_equal(healthz_int("admission", "paused"), 1);
  e2e_sync_hold(hold, 0); /* the send completes, the connection is resumed and read */
  int op = 0, cc = 0, pongs = 0, acked = 0;
  while (!acked || pongs < 12) {
    int n = e2e_ws_recv(a.fd, &op, buf, sizeof buf, 20000, &cc);
    if (n < 0 || op == 8) fail_msg("closed (code %d) after %d pongs, ack %d: a paused client was taken for idle", cc, pongs, acked);
    if (op == 0xA) pongs++;
    if (op != 1) continue;
    json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
    assert_non_null(o);
    const char *opname = json_string_value(json_object_get(o, "op"));
    if (opname && !strcmp(opname, "send")) { assert_int_equal(jint(o, "code"), 0); acked = 1; }
    json_decref(o);
  }
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"idle_b\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"after\"}}]");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&a);
}

/* ---- big messages weigh more ---- */
#define BIG_CONNS 4
#define BIG_SENDS 8
#define BIG_TEXT 12000 /* a body of ~12 KB: three units beside its job's one (4 KiB each) */

static void big_send(wsc_t *c, int i, int k)
{
  static char msg[BIG_TEXT + 256], text[BIG_TEXT + 1];
  memset(text, 'a' + i, BIG_TEXT);
  text[BIG_TEXT] = 0;
  snprintf(msg, sizeof msg,
           "{\"id\":%d,\"op\":\"send\",\"to\":\"big_%d\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":"
           "{\"Text\":\"%d %s\"}}]}",
           k + 1, (i + 1) % BIG_CONNS, k, text);
  assert_int_equal(e2e_ws_send_text(c[i].fd, msg), 0);
}

/* The writer's sync held (nothing completes), a watermark of 64 units:
 * BIG_CONNS clients each send BIG_SENDS messages of ~12 KB (32 jobs in
 * all, half the watermark by count alone). Each holds 12 KB, so admission
 * counts it as 1 + 2 units (admission.inflight_bytes / 4 KiB, over all of
 * them): the server pauses connections once ~16 are in flight and holds
 * at most the watermark's worth of bodies plus one read's (64 KiB). Released, every
 * send is acknowledged in order. Fails when admission counts jobs alone
 * (all 32 read, no pause). */
static void test_big_messages_weigh_more(void **st)
{
  (void)st;
  wsc_t c[BIG_CONNS];
  for (int i = 0; i < BIG_CONNS; i++) {
    char user[32];
    snprintf(user, sizeof user, "big_%d", i);
    assert_int_equal(wsc_login(&c[i], srv.port, app, key, user, "Web"), 0);
  }
  for (int waited = 0; healthz_int("admission", "inflight") && waited < 30000; waited += 10) e2e_sleep_ms(10);
  e2e_sync_hold(hold, 1);
  json_int_t pauses0 = healthz_int("admission", "pauses");
  for (int k = 0; k < BIG_SENDS; k++)
    for (int i = 0; i < BIG_CONNS; i++) big_send(c, i, k);
  /* wait until the server has read what it will read (the count stops moving) */
  json_int_t n = -1, last = -2;
  for (int waited = 0; (n != last || n < 1) && waited < 20000; waited += 200) {
    last = n;
    e2e_sleep_ms(200);
    n = healthz_int("admission", "inflight");
  }
  json_int_t bytes = healthz_int("admission", "inflight_bytes");
  if (n >= BIG_CONNS * BIG_SENDS)
    fail_msg("all %lld sends were read (%lld bytes in flight): admission did not weigh their bytes", (long long)n,
             (long long)bytes);
  assert_true(healthz_int("admission", "pauses") > pauses0);
  assert_true(healthz_int("admission", "paused") >= 1);
  /* the load stopped within one read past the watermark: a read takes at most 64 KiB (NET_READ_BUF), i.e. 16
   * units of bytes and at most six of these frames */
  if (n + bytes / 4096 > 64 + 16 + 65536 / BIG_TEXT + 1)
    fail_msg("%lld jobs holding %lld bytes in flight: past the watermark of 64 units by more than one read",
             (long long)n, (long long)bytes);
  /* n counts every writer job in flight: a periodic job of the server's own
   * (a meter flush, say) submitted while the sync is held holds no bytes, so
   * a few such jobs are allowed for (seen under ASan on a loaded box) */
  if (bytes < (n - 4) * BIG_TEXT)
    fail_msg("%lld jobs in flight hold %lld bytes: the sends' bytes are not counted", (long long)n, (long long)bytes);
  e2e_sync_hold(hold, 0);
  static char buf[1 << 16];
  for (int i = 0; i < BIG_CONNS; i++) {
    int next = 1, op = 0, cc = 0;
    while (next <= BIG_SENDS) {
      int r = e2e_ws_recv(c[i].fd, &op, buf, sizeof buf, 20000, &cc);
      if (r < 0 || op == 8) fail_msg("conn %d: ended after %d of %d acks", i, next - 1, BIG_SENDS);
      if (op != 1 || strncmp(buf, "{\"id\":", 6)) continue;
      json_t *o = json_loadb(buf, (size_t)r, 0, NULL);
      assert_non_null(o);
      const char *opname = json_string_value(json_object_get(o, "op"));
      if (opname && !strcmp(opname, "send")) {
        if (jint(o, "code") != 0) fail_msg("conn %d: send %d refused: %.200s", i, next, buf);
        assert_int_equal(jint(o, "id"), next);
        next++;
      }
      json_decref(o);
    }
  }
  for (int waited = 0; healthz_int("admission", "inflight") && waited < 30000; waited += 10) e2e_sleep_ms(10);
  assert_int_equal(healthz_int("admission", "inflight_bytes"), 0);
  assert_true(healthz_int("admission", "inflight_bytes_max") >= bytes);
  for (int i = 0; i < BIG_CONNS; i++) wsc_close(&c[i]);
}

static int setup_big(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-admit-high-jobs", "64", "--ws-admit-low-jobs", "32", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "admitbig", "singapore", &app, key, args);
}

static int setup_unpaced(void **st)
{
  (void)st;
  /* admission and the per-connection pause off: nothing pauses a client; the client reads its ~8 MB of answers
   * only after sending */
  static const char *const args[] = { "--ws-admit-high-jobs", "0", "--ws-conn-inflight-max", "0", "--ws-max-queued-bytes",
                                      "67108864", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "admitoff", "singapore", &app, key, args);
}

/* With admission and the per-connection pause (ws_conn_inflight_max) off, one client pipelines more requests than a connection
 * may have in flight (49,152, client_ws.c CWS_HOLDS_MAX) while no job can
 * complete: those past the cap are answered 60018 at once, the others when
 * the writer goes on, and the server lives (it aborted on the hold count's
 * overflow at 65,535). */
static void test_inflight_cap_per_connection(void **st)
{
  (void)st;
  enum { N = 49300 };
  static char names[64][24];
  const char *users[65];
  for (int i = 0; i < 64; i++) { snprintf(names[i], sizeof names[i], "cap_b%d", i); users[i] = names[i]; }
  users[64] = NULL;
  import_users(srv.port, app, key, users); /* 64 peers: one conversation's held rows make each dedupe walk longer */
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "cap_a", "Web"), 0);
  for (int waited = 0; healthz_int("admission", "inflight") && waited < 30000; waited += 10) e2e_sleep_ms(10);
  e2e_sync_hold(hold, 1);
  static char msg[256], buf[1 << 16];
  int refused = 0, ok = 0, op = 0, cc = 0;
  for (int k = 1; k <= N; k++) {
    snprintf(msg, sizeof msg, "{\"id\":%d,\"op\":\"send\",\"to\":\"cap_b%d\",\"body\":[{\"MsgType\":\"TIMTextElem\","
             "\"MsgContent\":{\"Text\":\"c%d\"}}]}", k, k % 64, k);
    assert_int_equal(e2e_ws_send_text(a.fd, msg), 0);
  }
  int released = 0;
  while (refused + ok < N) {
    if (refused && !released) { e2e_sync_hold(hold, 0); released = 1; } /* refusals come at once: let the rest complete */
    int n = e2e_ws_recv(a.fd, &op, buf, sizeof buf, 20000, &cc);
    if (n < 0 || op == 8) {
      e2e_sync_hold(hold, 0);
      fail_msg("connection ended after %d acks and %d refusals", ok, refused);
    }
    if (op != 1) continue;
    json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
    assert_non_null(o);
    const char *opname = json_string_value(json_object_get(o, "op"));
    if (opname && !strcmp(opname, "send")) {
      if (jint(o, "code") == 60018) {
        assert_non_null(strstr(buf, "too many requests in flight"));
        refused++;
      }
      else if (jint(o, "code") == 0) ok++;
      else fail_msg("unexpected answer %s", buf);
    }
    json_decref(o);
  }
  e2e_sync_hold(hold, 0);
  /* the socket's own hold + 49,151 requests at most were in flight; a few may have completed before the hold */
  assert_true(refused >= 1 && refused <= N - 49151);
  assert_int_equal(ok + refused, N);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"cap_b0\",\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"after\"}}]");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_pipelined_sends_wait_not_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_close_while_paused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_paused_pinging_client_stays_open, setup_idle, teardown_idle),
    cmocka_unit_test_setup_teardown(test_big_messages_weigh_more, setup_big, teardown_idle),
    cmocka_unit_test_setup_teardown(test_inflight_cap_per_connection, setup_unpaced, teardown_idle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
