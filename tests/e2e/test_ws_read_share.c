/* End-to-end: many pipelining connections together cannot fill the reader
 * pool's queue that every user shares, and the queued reads of a connection
 * that closed are not run (§65, docs/decisions/messaging-c2c-checks.md;
 * src/store/reader.c "Fairness", client_ws.c cws_conn_pace).
 *
 * The server runs with IMCLOUD_TEST_READER_HOLD: while the hold file exists
 * no reader thread takes a job, so what waits in the queue is seen whole,
 * whatever the speed of the box; nothing here depends on a time.
 *
 * Many floods: FLOODERS connections each write FLOOD_EACH history requests
 * at once (FLOODERS x 257 is more than the queue's 4,096). Once every
 * flooding connection is paused (or the server refused one of their reads,
 * as it did before §65), another user asks `sync` and the app's backend
 * asks admin_getroammsg over REST. Expected: both are queued, not refused
 * 60018; once the hold is lifted both are answered before half the flood
 * is (the threads take jobs round robin over the connections); every flood
 * request is answered once and none is refused. Before §65 the flood filled
 * the queue: the other user's sync and the REST read were refused 60018.
 *
 * Closed flood: a connection writes FLOOD_EACH history requests and closes
 * while the queue is held. Expected: the reads it had queued are skipped
 * (GET /healthz reader.skipped), the queue is empty again, and the server
 * goes on answering. Before §65 they stayed queued and ran for nobody. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

#define FLOODERS 20
#define FLOOD_EACH 400
#define FLOOD (FLOODERS * FLOOD_EACH)
#define CONN_CAP 256  /* ws_conn_inflight_max's default: one connection's cap + 1 reads are queued before it pauses */

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[128];

static int setup(void **st)
{
  (void)st;
  return e2e_start_reader_held(&srv, hold, sizeof hold, "share", "singapore", &app, key, NULL);
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0); /* the same file switch, for the reader */
  return e2e_finish(&srv);
}


/* GET /healthz section.field until it is at least `want` (30 s at most); its last value. */
static long long wait_stat(const char *section, const char *field, long long want)
{
  long long v = 0;
  for (int waited = 0; (v = e2e_healthz_stat(srv.port, section, field)) < want && waited < 30000; waited += 10) e2e_sleep_ms(10);
  return v;
}

/* FLOOD_EACH history requests of `peer` (ids 1..FLOOD_EACH) written at once. */
static void flood(int fd, const char *peer)
{
  static unsigned char buf[FLOOD_EACH * (E2E_WS_HEAD_MAX + 128)];
  size_t at = 0;
  char text[128];
  for (int k = 1; k <= FLOOD_EACH; k++) {
    int n = snprintf(text, sizeof text, "{\"id\":%d,\"op\":\"history\",\"peer\":\"%s\",\"limit\":20}", k, peer);
    at += e2e_ws_frame_put(buf + at, 1, 1, text, (size_t)n, 1);
  }
  assert_int_equal(e2e_send(fd, buf, at), 0);
}

/* One frame of a flooding connection (readable): counted, checked. */
static void flood_read(int fd, char *seen, int *answered, int *refused)
{
  static char buf[1 << 20];
  int op = 0, cc = 0;
  int n = e2e_ws_recv(fd, &op, buf, sizeof buf, 20000, &cc);
  if (n < 0 || op == 8) fail_msg("a flooding connection ended after %d answers (close %d)", *answered, cc);
  if (op != 1) return;
  json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
  assert_non_null(o);
  json_int_t id = jint(o, "id"), code = jint(o, "code");
  if (id < 1 || id > FLOOD_EACH || seen[id]) fail_msg("unexpected or repeated answer %.200s", buf);
  seen[id] = 1;
  (*answered)++;
  if (code == 60018) (*refused)++;
  else if (code != 0) fail_msg("flood request %lld failed: %.200s", (long long)id, buf);
  json_decref(o);
}

static void test_floods_do_not_starve_others(void **st)
{
  (void)st;
  char names[FLOODERS][24];
  const char *all[FLOODERS + 3];
  for (int i = 0; i < FLOODERS; i++) {
    snprintf(names[i], sizeof names[i], "share_f%02d", i);
    all[i] = names[i];
  }
  all[FLOODERS] = "share_b";
  all[FLOODERS + 1] = "share_p";
  all[FLOODERS + 2] = NULL;
  import_users(srv.port, app, key, all);
  wsc_t f[FLOODERS], b;
  for (int i = 0; i < FLOODERS; i++) assert_int_equal(wsc_login(&f[i], srv.port, app, key, names[i], "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "share_b", "Web"), 0);
  long long queued0 = e2e_healthz_stat(srv.port, "reader", "queued");

  e2e_sync_hold(hold, 1); /* from now on no read runs */
  for (int i = 0; i < FLOODERS; i++) flood(f[i].fd, "share_p");
  /* every flooding connection stops being read (its cap or its share of the queue), or reads were refused */
  for (int waited = 0; waited < 30000; waited += 10) {
    if (e2e_healthz_stat(srv.port, "admission", "conn_paused") == FLOODERS) break;
    if (e2e_healthz_stat(srv.port, "reader", "refused") > 0) break;
    e2e_sleep_ms(10);
  }
  long long queued = e2e_healthz_stat(srv.port, "reader", "queued");
  print_message("the flood queued %lld reads, %lld connections paused, %lld refused\n", queued - queued0,
                e2e_healthz_stat(srv.port, "admission", "conn_paused"), e2e_healthz_stat(srv.port, "reader", "refused"));

  /* another user's sync and the backend's REST read of the same kind */
  assert_int_equal(e2e_ws_send_text(b.fd, "{\"id\":1,\"op\":\"sync\",\"cursor\":0,\"limit\":100}"), 0);
  char sig[1024], req[2048];
  e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
  const char *body = "{\"Operator_Account\":\"share_b\",\"Peer_Account\":\"share_p\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}";
  int n = snprintf(req, sizeof req,
                   "POST /v4/openim/admin_getroammsg?sdkappid=%u&identifier=administrator&usersig=%s&random=7&contenttype=json "
                   "HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   app, sig, strlen(body), body);
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  assert_int_equal(e2e_send(rest, req, (size_t)n), 0);
  /* both wait in the queue (a refused one is answered at once, queued nothing) */
  long long q = queued;
  for (int waited = 0; (q = e2e_healthz_stat(srv.port, "reader", "queued")) < queued + 2 && waited < 10000; waited += 10) e2e_sleep_ms(10);

  e2e_sync_hold(hold, 0);
  char seen[FLOODERS][FLOOD_EACH + 1];
  memset(seen, 0, sizeof seen);
  int answered = 0, refused = 0, at_sync = -1, at_rest = -1;
  static char buf[1 << 20];
  while (at_sync < 0 || at_rest < 0 || answered < FLOOD) {
    struct pollfd p[FLOODERS + 2];
    for (int i = 0; i < FLOODERS; i++) p[i] = (struct pollfd){ f[i].fd, POLLIN, 0 };
    p[FLOODERS] = (struct pollfd){ b.fd, (short)(at_sync < 0 ? POLLIN : 0), 0 };
    p[FLOODERS + 1] = (struct pollfd){ rest, (short)(at_rest < 0 ? POLLIN : 0), 0 };
    if (poll(p, FLOODERS + 2, 20000) <= 0)
      fail_msg("stalled: flood %d of %d answered, sync %s, REST %s", answered, FLOOD, at_sync < 0 ? "waiting" : "answered",
               at_rest < 0 ? "waiting" : "answered");
    if (p[FLOODERS].revents & POLLIN) { /* the other user's: what the flood got before it is what counts */
      int op = 0, cc = 0;
      int m = e2e_ws_recv(b.fd, &op, buf, sizeof buf, 20000, &cc);
      if (m < 0 || op == 8) fail_msg("the other user's connection ended");
      json_t *o = op == 1 ? json_loadb(buf, (size_t)m, 0, NULL) : NULL;
      if (o && jint(o, "id") == 1) {
        if (jint(o, "code") != 0) fail_msg("the other user's sync was refused while %d connections flooded: %.200s", FLOODERS, buf);
        at_sync = answered;
      }
      json_decref(o);
    }
    if (p[FLOODERS + 1].revents & POLLIN) {
      int status = e2e_http_read(rest, buf, sizeof buf, 20000);
      json_t *o = json_loads(buf, 0, NULL);
      if (status != 200 || !o || jint(o, "ErrorCode") != 0)
        fail_msg("the backend's admin_getroammsg was refused while %d connections flooded: %d %.200s", FLOODERS, status, buf);
      json_decref(o);
      at_rest = answered;
    }
    for (int i = 0; i < FLOODERS; i++)
      if (p[i].revents & POLLIN) flood_read(f[i].fd, seen[i], &answered, &refused);
  }
  print_message("the other user's sync and the REST read came after %d and %d of the flood's %d answers (%d refused; "
                "%lld of the queue's reads were the flood's when they asked)\n",
                at_sync, at_rest, FLOOD, refused, queued - queued0);
  assert_true(q >= queued + 2);
  if (at_sync > FLOOD / 2 || at_rest > FLOOD / 2)
    fail_msg("the other user's sync (after %d) or the REST read (after %d) waited for most of the flood (%d)", at_sync, at_rest, FLOOD);
  if (refused) fail_msg("%d of the flood's requests were refused 60018: the connections were not paused at their share", refused);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "refused"), 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "conn_paused"), 0);
  assert_int_equal(wait_stat("reader", "owners", 0), 0);
  close(rest);
  for (int i = 0; i < FLOODERS; i++) wsc_close(&f[i]);
  wsc_close(&b);
}

static void test_closed_flood_is_skipped(void **st)
{
  (void)st;
  const char *all[] = { "gone_f", "gone_b", "gone_p", NULL };
  import_users(srv.port, app, key, all);
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "gone_f", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "gone_b", "Web"), 0);
  long long queued0 = e2e_healthz_stat(srv.port, "reader", "queued");
  e2e_sync_hold(hold, 1);
  flood(a.fd, "gone_p");
  assert_int_equal(wait_stat("admission", "conn_paused", 1), 1); /* its cap (256) of reads queued, the rest unread */
  long long mine = e2e_healthz_stat(srv.port, "reader", "queued") - queued0; /* and the change log's poll, if one came */
  assert_true(mine >= CONN_CAP + 1);
  wsc_close(&a); /* its login ends with its reads queued */
  long long skipped = wait_stat("reader", "skipped", CONN_CAP + 1);
  print_message("%lld reads queued by the closed connection, %lld skipped\n", mine, skipped);
  assert_int_equal(skipped, CONN_CAP + 1);
  assert_true(e2e_healthz_stat(srv.port, "reader", "queued") <= 1); /* at most the change log's poll */
  e2e_sync_hold(hold, 0);
  json_t *r = wsc_rpc(&b, "history", "\"peer\":\"gone_p\",\"limit\":10");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_int_equal(e2e_healthz_stat(srv.port, "reader", "skipped"), skipped); /* nothing else was skipped */
  wsc_close(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_floods_do_not_starve_others, setup, teardown),
    cmocka_unit_test_setup_teardown(test_closed_flood_is_skipped, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
