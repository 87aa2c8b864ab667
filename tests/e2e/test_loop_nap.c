/* End-to-end: the event loop's nap while storage jobs are in flight
 * (store_writer.h, "Nap"; the server's loop_nap_us), over real sockets.
 *
 * The server runs with IMCLOUD_TEST_SYNC_HOLD: while the hold file exists
 * no writer job completes, so a send made then keeps a job in flight for as
 * long as the test wants. During that time another connection sends
 * heartbeats one after another, each waiting for its reply:
 *   - with loop_nap_us 10000 (the most) every heartbeat is answered: a nap
 *     ends at its interval, it never waits for the writer alone (the naps
 *     themselves are counted by tests/unit/store/test_writer_nap.c, where
 *     the turns' timing is the test's: here a heartbeat's turn naps only
 *     if the client's round trip is shorter than the interval, which a
 *     loaded box does not promise);
 *   - with loop_nap_us 0 the same run makes no nap (/healthz "loop_nap").
 * Once the hold is released the send is acknowledged (code 0) and pushed to
 * the recipient: the nap's wait on the writer's completions takes nothing
 * from them. And a read's completion ends a nap too (the reader pool's hook,
 * store_writer_nap_end, wired in src/api/server.c): while a third
 * connection's heartbeats keep the loop turning (so that its turns nap), b's
 * history reads complete and /healthz counts naps "cut" by them; without
 * the hook none is. Nothing here measures time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"
#include "e2e_race.h"

#define BEATS 40

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[128];
static char auth[160];

static int start_with(const char *nap_us)
{
  const char *args[] = { "--loop-nap-us", nap_us, NULL };
  return op_start_sync_held(&srv, hold, sizeof hold, "nap", &app, key, auth, sizeof auth, args);
}
static int setup_on(void **st) { (void)st; return start_with("10000"); }
static int setup_off(void **st) { (void)st; return start_with("0"); }

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

/* The send (id 5) still waits for its sync; the hold goes and a's send is acknowledged. */
static void release_acked(wsc_t *a)
{
  assert_int_equal(e2e_healthz_stat(srv.port, "admission", "inflight"), 1);
  e2e_sync_hold(hold, 0);
  int id = 5;
  json_t *r = wsc_take(a, match_id, &id, 15000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
}

/* A send of a's held at its sync while b makes BEATS heartbeats; returns the naps counted meanwhile. Then the
 * hold goes, and the send is acknowledged and pushed to b. */
static long long naps_during_held_send(long long nap_us)
{
  const char *users[] = { "na", "nb", NULL };
  import_users(srv.port, app, key, users);
  assert_int_equal(e2e_healthz_stat(srv.port, "loop_nap", "us"), nap_us);
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "na", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "nb", "Web"), 0);
  json_decref(wsc_sync_live(&b)); /* b is live: the stored message is pushed to it */
  e2e_sync_hold(hold, 1);
  assert_int_equal(e2e_ws_send_text(a.fd, "{\"id\":5,\"op\":\"send\",\"to\":\"nb\",\"random\":77,\"body\":" TEXT("held") "}"), 0);
  race_inflight(&srv, 1);
  long long before = e2e_healthz_stat(srv.port, "loop_nap", "naps");
  for (int i = 0; i < BEATS; i++) {
    json_t *r = wsc_rpc(&b, "heartbeat", "%s", "");
    if (!r) fail_msg("heartbeat %d not answered while a send waits for its sync", i);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  long long naps = e2e_healthz_stat(srv.port, "loop_nap", "naps") - before;
  release_acked(&a);
  json_t *p = wsc_push(&b, "msg", 15000);
  assert_non_null(p);
  json_decref(p);
  wsc_close(&a);
  wsc_close(&b);
  return naps;
}

static void test_answers_while_napping(void **st)
{
  (void)st;
  (void)naps_during_held_send(10000); /* its checks: every heartbeat answered, the send acknowledged and pushed */
}

/* A send held in flight; b's history reads while c's heartbeats keep the loop turning: each read is answered,
 * and naps end for the reads' completions. */
#define READS 10
static void test_read_completion_cuts_naps(void **st)
{
  (void)st;
  const char *users[] = { "ra", "rb", "rc", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a, b, c;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "ra", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "rb", "Web"), 0);
  assert_int_equal(wsc_login(&c, srv.port, app, key, "rc", "Web"), 0);
  e2e_sync_hold(hold, 1);
  assert_int_equal(e2e_ws_send_text(a.fd, "{\"id\":5,\"op\":\"send\",\"to\":\"rb\",\"random\":78,\"body\":" TEXT("held") "}"), 0);
  race_inflight(&srv, 1);
  long long cut0 = e2e_healthz_stat(srv.port, "loop_nap", "cut");
  for (int i = 0; i < READS; i++) {
    int id = 100 + i;
    char frame[128];
    snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"history\",\"peer\":\"ra\",\"limit\":10}", id);
    assert_int_equal(e2e_ws_send_text(b.fd, frame), 0);
    json_t *r = NULL;
    for (int k = 0; k < 2000 && !r; k++) { /* heartbeats until the read is answered */
      json_t *h = wsc_rpc(&c, "heartbeat", "%s", "");
      if (!h) fail_msg("heartbeat not answered while a send waits for its sync");
      json_decref(h);
      r = wsc_take(&b, match_id, &id, 0);
    }
    if (!r) fail_msg("history read %d not answered", i);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
  }
  long long cut = e2e_healthz_stat(srv.port, "loop_nap", "cut") - cut0;
  if (cut < 1) fail_msg("no nap ended for %d reads' completions", READS);
  release_acked(&a);
  wsc_close(&a);
  wsc_close(&b);
  wsc_close(&c);
}

static void test_no_nap_when_off(void **st)
{
  (void)st;
  assert_int_equal(naps_during_held_send(0), 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "loop_nap", "cut"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_answers_while_napping, setup_on, teardown),
    cmocka_unit_test_setup_teardown(test_read_completion_cuts_naps, setup_on, teardown),
    cmocka_unit_test_setup_teardown(test_no_nap_when_off, setup_off, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
