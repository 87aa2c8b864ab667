/* End-to-end: one WebSocket connection cannot fill the shared queues with
 * its own pipeline (per-connection backpressure, ws_conn_inflight_max,
 * src/api/client_ws.c cws_conn_pace). Reads (history, conversations) go to
 * the reader pool, whose queue (reader_max_jobs, 4,096) all users share.
 *
 * A client writes FLOOD frames, history and conversations alternately, as
 * fast as its socket takes them (a few large writes), reading its answers
 * meanwhile. Once EARLY of them are answered, another user asks `sync`
 * and `history`. Expected: the other user's answers come while most of the
 * flood is still unanswered (at most LATE_MAX of it answered by then: its
 * requests wait behind at most the flooding connection's cap, not behind
 * the whole flood), nobody is refused 60018, every flood frame is answered
 * once, and GET /healthz shows the connection was paused (admission
 * conn_pauses) and no longer is. Before the fix the server read the whole
 * pipeline at once: the reader queue overflowed (the flood's later frames
 * were refused 60018) and the other user's requests waited behind all of
 * it. The order is what is checked, never a time.
 *
 * A second case (its own server: a cap of 16, the writer's sync held so
 * the connection's sends stay in flight) checks that exactly cap + 1 of a
 * pipeline are read before the connection pauses (the rest of the read
 * waits unparsed), and that a client that closes while paused is released
 * (no longer counted paused; ASan sees no leak or use after free; its held
 * sends complete for a connection that is gone) and the server goes on. */
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

#define FLOOD 8000    /* frames: more than the reader queue holds (4,096) */
#define EARLY 1000    /* flood answers before the other user asks */
#define LATE_MAX (EARLY + 1500) /* flood answers before the other user's at most: the cap (256), and answers the client had not read yet when it asked */
#define CONV_MSGS 10  /* messages in the flooded conversation: each history answer carries them */

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, "singapore", &app, key, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}


/* The flood: FLOOD frames (ids 1..FLOOD), history of `peer` and the
 * conversation list alternately, encoded back to back; *len set. */
static unsigned char *flood_frames(const char *peer, size_t *len)
{
  unsigned char *buf = malloc((size_t)FLOOD * (E2E_WS_HEAD_MAX + 128));
  assert_non_null(buf);
  size_t at = 0;
  char text[128];
  for (int k = 1; k <= FLOOD; k++) {
    int n = k % 2 ? snprintf(text, sizeof text, "{\"id\":%d,\"op\":\"history\",\"peer\":\"%s\",\"limit\":100}", k, peer)
                  : snprintf(text, sizeof text, "{\"id\":%d,\"op\":\"conversations\",\"limit\":100}", k);
    at += e2e_ws_frame_put(buf + at, 1, 1, text, (size_t)n, 1);
  }
  *len = at;
  return buf;
}

typedef struct flood {
  int fd;
  unsigned char *out;
  size_t out_len, sent;
  int answered, refused;
  char seen[FLOOD + 1];
} flood_t;

/* Write what the socket takes now (never blocks). */
static void flood_write(flood_t *f)
{
  while (f->sent < f->out_len) {
    ssize_t n = send(f->fd, f->out + f->sent, f->out_len - f->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail_msg("flood write: %s", strerror(errno));
      return;
    }
    f->sent += (size_t)n;
  }
}

/* One answer of the flood (the socket is readable): counted, checked. */
static void flood_read(flood_t *f)
{
  static char buf[1 << 20];
  int op = 0, cc = 0;
  int n = e2e_ws_recv(f->fd, &op, buf, sizeof buf, 20000, &cc);
  if (n < 0 || op == 8) fail_msg("flooding connection ended after %d answers (close %d)", f->answered, cc);
  if (op != 1) return;
  json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
  assert_non_null(o);
  json_int_t id = jint(o, "id"), code = jint(o, "code");
  if (id < 1 || id > FLOOD || f->seen[id]) fail_msg("unexpected or repeated answer %.200s", buf);
  f->seen[id] = 1;
  f->answered++;
  if (code == 60018) f->refused++;
  else if (code != 0) fail_msg("flood request %lld failed: %.200s", (long long)id, buf);
  json_decref(o);
}

/* Read and write the flood until `until` answers came. */
static void flood_pump(flood_t *f, int until)
{
  while (f->answered < until) {
    flood_write(f);
    struct pollfd p = { f->fd, POLLIN | (f->sent < f->out_len ? POLLOUT : 0), 0 };
    int r = poll(&p, 1, 20000);
    if (r <= 0) fail_msg("flood stalled after %d answers (%zu of %zu bytes written)", f->answered, f->sent, f->out_len);
    if (p.revents & POLLIN) flood_read(f);
  }
}

/* Users: `a` floods the conversation with `peer` (CONV_MSGS messages in it),
 * `b` has a message from `peer` to sync. */
static void users(wsc_t *a, wsc_t *b, const char *an, const char *bn, const char *peer)
{
  const char *all[] = { an, bn, peer, NULL };
  import_users(srv.port, app, key, all);
  assert_int_equal(wsc_login(a, srv.port, app, key, an, "Web"), 0);
  assert_int_equal(wsc_login(b, srv.port, app, key, bn, "Web"), 0);
  wsc_t p;
  assert_int_equal(wsc_login(&p, srv.port, app, key, peer, "Web"), 0);
  for (int i = 0; i < CONV_MSGS; i++) {
    json_t *r = wsc_rpc(&p, "send", "\"to\":\"%s\",\"body\":" TEXT("a message long enough to weigh in a page of history %d"), an, i);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  json_t *r = wsc_rpc(&p, "send", "\"to\":\"%s\",\"body\":" TEXT("for b"), bn);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&p);
}

static void test_flood_does_not_starve_others(void **st)
{
  (void)st;
  wsc_t a, b;
  users(&a, &b, "fair_a", "fair_b", "fair_p");
  flood_t *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->fd = a.fd;
  f->out = flood_frames("fair_p", &f->out_len);
  int sndbuf = 4 << 20; /* the whole flood goes into the kernel at once (capped by net.core.wmem_max: then in a few writes) */
  assert_int_equal(setsockopt(a.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
  flood_pump(f, EARLY);
  /* the other user asks now: its answers must not wait for the rest of the flood */
  assert_int_equal(e2e_ws_send_text(b.fd, "{\"id\":1,\"op\":\"sync\",\"cursor\":0,\"limit\":100}"), 0);
  assert_int_equal(e2e_ws_send_text(b.fd, "{\"id\":2,\"op\":\"history\",\"peer\":\"fair_p\",\"limit\":100}"), 0);
  int b_answers = 0, at_b[2] = { -1, -1 };
  static char buf[1 << 20];
  while (b_answers < 2 || f->answered < FLOOD) {
    flood_write(f);
    struct pollfd p[2] = { { f->fd, (short)(f->answered < FLOOD ? POLLIN : 0) | (f->sent < f->out_len ? POLLOUT : 0), 0 },
                           { b.fd, (short)(b_answers < 2 ? POLLIN : 0), 0 } };
    if (poll(p, 2, 20000) <= 0) fail_msg("stalled: flood %d of %d answered, other user %d of 2", f->answered, FLOOD, b_answers);
    if (p[1].revents & POLLIN) { /* the other user's first: what the flood got before it is what counts */
      int op = 0, cc = 0;
      int n = e2e_ws_recv(b.fd, &op, buf, sizeof buf, 20000, &cc);
      if (n < 0 || op == 8) fail_msg("the other user's connection ended");
      if (op != 1) continue;
      json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
      assert_non_null(o);
      json_int_t id = jint(o, "id");
      if (id == 1 || id == 2) {
        if (jint(o, "code") != 0) fail_msg("the other user's %s was refused while another connection flooded: %.200s",
                                           id == 1 ? "sync" : "history", buf);
        at_b[id - 1] = f->answered;
        b_answers++;
      }
      json_decref(o);
    }
    if (p[0].revents & POLLIN) flood_read(f);
  }
  print_message("the other user's sync and history came after %d and %d of the flood's %d answers (%d refused)\n", at_b[0],
                at_b[1], FLOOD, f->refused);
  if (f->refused) fail_msg("%d of the flood's %d requests were refused 60018: the pipeline filled the shared queue", f->refused, FLOOD);
  for (int i = 0; i < 2; i++)
    if (at_b[i] > LATE_MAX)
      fail_msg("the other user's %s was answered only after %d of the flood's %d answers", i ? "history" : "sync", at_b[i], FLOOD);
  assert_true(e2e_healthz_stat(srv.port, "admission", "conn_pauses") >= 1);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "conn_paused"), 0);
  free(f->out);
  free(f);
  wsc_close(&a);
  wsc_close(&b);
}

/* The flooding client goes away while the server is not reading it: its
 * own server, a cap of CAP requests per connection and the writer's sync
 * held (IMCLOUD_TEST_SYNC_HOLD), so its sends stay in flight and the
 * connection stays paused until it closes. */
#define CAP 16
static char hold[128];

static int setup_held(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-conn-inflight-max", "16", NULL };
  return e2e_start_sync_held(&srv, hold, sizeof hold, "fair", "singapore", &app, key, args);
}

static int teardown_held(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

static void test_close_while_paused(void **st)
{
  (void)st;
  const char *all[] = { "gone_a", "gone_b", NULL };
  import_users(srv.port, app, key, all);
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "gone_a", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "gone_b", "Web"), 0);
  for (int waited = 0; e2e_healthz_stat(srv.port, "admission", "inflight") && waited < 30000; waited += 10) e2e_sleep_ms(10);
  e2e_sync_hold(hold, 1); /* from now on no writer job completes */
  char msg[256];
  for (int k = 1; k <= 4 * CAP; k++) {
    snprintf(msg, sizeof msg, "{\"id\":%d,\"op\":\"send\",\"to\":\"gone_b\",\"body\":" TEXT("held %d") "}", k, k);
    assert_int_equal(e2e_ws_send_text(a.fd, msg), 0);
  }
  int waited = 0;
  while (e2e_healthz_stat(srv.port, "admission", "conn_paused") < 1 && waited < 20000) { e2e_sleep_ms(10); waited += 10; }
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "conn_paused"), 1);
  /* CAP + 1 sends read (the one past the cap paused it), the rest wait unread */
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "inflight"), CAP + 1);
  wsc_close(&a); /* its unread frames are dropped with it */
  for (waited = 0; e2e_healthz_stat(srv.port, "admission", "conn_paused") && waited < 20000; waited += 10) e2e_sleep_ms(10);
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "conn_paused"), 0);
  e2e_sync_hold(hold, 0); /* the held sends complete for a connection that is gone */
  for (waited = 0; e2e_healthz_stat(srv.port, "admission", "inflight") && waited < 30000; waited += 10) e2e_sleep_ms(10);
  json_t *r = wsc_rpc(&b, "send", "\"to\":\"gone_a\",\"body\":" TEXT("after"));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_flood_does_not_starve_others, setup, teardown),
    cmocka_unit_test_setup_teardown(test_close_while_paused, setup_held, teardown_held),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
