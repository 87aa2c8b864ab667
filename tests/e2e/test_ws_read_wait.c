/* End-to-end: a WebSocket read the reader pool's queue has no room for waits
 * for it instead of being refused 60018 (§120,
 * docs/decisions/messaging-c2c-checks6.md; src/api/ws_read_wait.c).
 *
 * The server runs with --reader-max-jobs 8, one reader thread and
 * IMCLOUD_TEST_READER_HOLD: while the hold file exists no reader thread
 * takes a job, so the queue fills with the first eight reads and stays full,
 * whatever the speed of the box; nothing here depends on a time.
 *
 * Storm: USERS connections (different users, each with a backlog of BACKLOG
 * messages) each send one `sync` (odd ones: `history`) while the queue is
 * held; once the queue is full and the others wait, each sends a later
 * `history`. Expected: none is refused; once the hold is lifted each first
 * request is answered with its whole page, before the same connection's later
 * one. Before §120 the reads past the eighth were refused 60018.
 *
 * Closed, kicked, logged out: a connection whose sync waits closes (its
 * request dropped: nothing leaks, run under ASan), is kicked by a login of
 * the same user on its platform (its request never answered), or sends a
 * heartbeat and a logout behind it (read only after its sync ran: neither
 * is answered while it waits; the sync, queued then, is answered whole or
 * skipped by the logout as any queued read is, §65 — never refused).
 * Stop: a server stopping answers a waiting read 70500 at its signal (as
 * rel_gate_stop) and exits 0.
 * Before §120 the sync was refused at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_fill.h"
#include "e2e_msg.h"

#define CAP 8          /* --reader-max-jobs */
#define USERS 20       /* more than CAP */
#define BACKLOG 3      /* messages each user has to sync */

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[128];

static int setup(void **st)
{
  (void)st;
  /* the change log's poll at its longest period: a poll is the server's own read (owner 0), refused at the full
   * queue rather than waiting, which test_storm_waits would count as a refusal (seen once under ASan, where the
   * held period outlasted the default period) */
  const char *args[] = { "--reader-max-jobs", "8", "--reader-threads", "1", "--change-poll-ms", "60000", NULL };
  return e2e_start_reader_held(&srv, hold, sizeof hold, "rwait", "singapore", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0); /* the same file switch, for the reader */
  return e2e_finish(&srv);
}


/* GET /healthz section.field, or -1 when the server has no such field (before §120). */
static long long hz(const char *section, const char *field)
{
  char body[16384];
  if (e2e_http_timeout(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body, 30000) != 200) fail_msg("GET /healthz");
  json_t *o = json_loads(body, 0, NULL);
  json_t *v = json_object_get(json_object_get(o, section), field);
  long long n = json_is_integer(v) ? json_integer_value(v) : -1;
  json_decref(o);
  return n;
}

/* Until the queue is full and `waiting` more reads were either kept (admission.read_parked) or refused by the
 * reader (before §120), 30 s at most. */
static void wait_full(long long waiting)
{
  for (int waited = 0; waited < 30000; waited += 10) {
    long long parked = hz("admission", "read_parked");
    if (hz("reader", "queued") >= CAP && (parked > 0 ? parked : 0) + hz("reader", "refused") >= waiting) return;
    e2e_sleep_ms(10);
  }
  fail_msg("the queue did not fill: queued %lld, parked %lld, refused %lld", hz("reader", "queued"),
           hz("admission", "read_parked"), hz("reader", "refused"));
}

static void backlog(const char *from, const char *to)
{
  for (int k = 0; k < BACKLOG; k++) {
    json_t *r = v4(srv.port, app, key, "openim/sendmsg", "{\"From_Account\":\"%s\",\"To_Account\":\"%s\",\"MsgRandom\":%d,"
                   "\"MsgBody\":" TEXT("backlog") "}", from, to, k + 1);
    assert_int_equal(jint(r, "ErrorCode"), 0);
    json_decref(r);
  }
}

/* The number of message events of a sync reply. */
static size_t sync_msgs(json_t *o)
{
  json_t *evs = json_object_get(o, "events");
  size_t n = 0;
  for (size_t i = 0; i < json_array_size(evs); i++)
    if (!strcmp(jstr(json_array_get(evs, i), "type") ? jstr(json_array_get(evs, i), "type") : "", "msg")) n++;
  return n;
}

/* Request id's reply on c, checked to be a whole page (sync or history): fails on a refusal. */
static void expect_page(wsc_t *c, int id, int is_sync, const char *who)
{
  json_t *o = wsc_take(c, match_id, &id, 30000);
  if (!o) fail_msg("%s: request %d not answered", who, id);
  if (jint(o, "code") != 0) fail_msg("%s: request %d refused: %s", who, id, json_dumps(o, JSON_COMPACT));
  if (is_sync) {
    assert_true(json_is_true(json_object_get(o, "complete")));
    if (sync_msgs(o) < BACKLOG) fail_msg("%s: a sync page without its backlog: %s", who, json_dumps(o, JSON_COMPACT));
  } else {
    assert_int_equal(json_array_size(json_object_get(o, "msgs")), BACKLOG);
  }
  json_decref(o);
}

static void test_storm_waits(void **st)
{
  (void)st;
  char names[USERS][24];
  const char *all[USERS + 2];
  for (int i = 0; i < USERS; i++) {
    snprintf(names[i], sizeof names[i], "storm_%02d", i);
    all[i] = names[i];
  }
  all[USERS] = "storm_p";
  all[USERS + 1] = NULL;
  import_users(srv.port, app, key, all);
  for (int i = 0; i < USERS; i++) backlog("storm_p", names[i]);
  wsc_t c[USERS];
  for (int i = 0; i < USERS; i++) assert_int_equal(wsc_login(&c[i], srv.port, app, key, names[i], "Web"), 0);
  long long refused0 = hz("reader", "refused");

  e2e_sync_hold(hold, 1); /* from now on no read runs */
  for (int i = 0; i < USERS; i++)
    assert_int_equal(e2e_ws_send_text(c[i].fd, i % 2 ? "{\"id\":1,\"op\":\"history\",\"peer\":\"storm_p\",\"limit\":20}"
                                                     : "{\"id\":1,\"op\":\"sync\",\"cursor\":0,\"limit\":100}"), 0);
  wait_full(USERS - CAP - 1); /* the change log's poll may hold one of the eight places */
  /* each connection's later frame: behind its first request */
  for (int i = 0; i < USERS; i++)
    assert_int_equal(e2e_ws_send_text(c[i].fd, "{\"id\":2,\"op\":\"history\",\"peer\":\"storm_p\",\"limit\":20}"), 0);
  long long parked = hz("admission", "read_parked");
  print_message("queued %lld, parked %lld, refused %lld\n", hz("reader", "queued"), parked,
                hz("reader", "refused") - refused0);
  e2e_sync_hold(hold, 0);

  for (int i = 0; i < USERS; i++) {
    expect_page(&c[i], 1, !(i % 2), names[i]);
    /* the later frame: answered after the first (its stash holds nothing before it) */
    expect_page(&c[i], 2, 0, names[i]);
  }
  assert_int_equal(hz("reader", "refused"), refused0);
  assert_true(hz("admission", "read_waits") >= USERS - CAP - 1);
  assert_int_equal(hz("admission", "read_parked"), 0);
  for (int i = 0; i < USERS; i++) wsc_close(&c[i]);
}

/* CAP connections whose syncs fill the held queue (the change log's poll may take a place: then one of theirs
 * waits), and one more user, `late`, logged in on x. */
static void fill(wsc_t f[CAP], const char *tag, wsc_t *x, char *late, size_t cap)
{
  char names[CAP][24];
  const char *all[CAP + 3];
  for (int i = 0; i < CAP; i++) {
    snprintf(names[i], sizeof names[i], "%s_f%d", tag, i);
    all[i] = names[i];
  }
  snprintf(late, cap, "%s_x", tag);
  all[CAP] = late;
  all[CAP + 1] = "fill_p";
  all[CAP + 2] = NULL;
  import_users(srv.port, app, key, all);
  backlog("fill_p", late);
  for (int i = 0; i < CAP; i++) assert_int_equal(wsc_login(&f[i], srv.port, app, key, names[i], "Web"), 0);
  assert_int_equal(wsc_login(x, srv.port, app, key, late, "Web"), 0);
  e2e_sync_hold(hold, 1);
  e2e_fillers_sync(f, CAP);
  wait_full(0);
}

/* The fillers' syncs: each answered once the hold is lifted. */
static void drain_fill(wsc_t f[CAP])
{
  e2e_sync_hold(hold, 0);
  e2e_fillers_drain(f, CAP);
  assert_int_equal(hz("admission", "read_parked"), 0);
}

/* x's sync is kept (not answered while the queue is full). */
static void park_sync(wsc_t *x, long long parked0)
{
  assert_int_equal(e2e_ws_send_text(x->fd, "{\"id\":1,\"op\":\"sync\",\"cursor\":0}"), 0);
  long long p = 0;
  for (int waited = 0; waited < 30000 && (p = hz("admission", "read_parked")) <= parked0; waited += 10) {
    int cc = 0;
    json_t *o = wsc_next(x, 10, &cc); /* before §120: refused at once */
    if (o) fail_msg("the late sync was answered while the queue was full: %s", json_dumps(o, JSON_COMPACT));
  }
  assert_true(p > parked0);
}

static void test_parked_closes(void **st)
{
  (void)st;
  wsc_t f[CAP], x;
  char late[24];
  fill(f, "cls", &x, late, sizeof late);
  long long parked0 = hz("admission", "read_parked");
  park_sync(&x, parked0);
  wsc_close(&x); /* its request dropped, its hold released (ASan: nothing leaks) */
  for (int waited = 0; waited < 30000 && hz("admission", "read_parked") > parked0; waited += 10) e2e_sleep_ms(10);
  assert_int_equal(hz("admission", "read_parked"), parked0);
  drain_fill(f);
}

static void test_parked_kicked(void **st)
{
  (void)st;
  wsc_t f[CAP], x, again;
  char late[24];
  fill(f, "kck", &x, late, sizeof late);
  long long parked0 = hz("admission", "read_parked");
  park_sync(&x, parked0);
  /* the same user on the same platform: x is kicked while its sync waits */
  assert_int_equal(wsc_login(&again, srv.port, app, key, late, "Web"), 0);
  int cc = 0, kicked = 0;
  json_t *o;
  while ((o = wsc_next(&x, 15000, &cc))) {
    if (json_object_get(o, "id")) fail_msg("the kicked connection's sync was answered: %s", json_dumps(o, JSON_COMPACT));
    if (!strcmp(jstr(o, "type") ? jstr(o, "type") : "", "kicked")) kicked = 1;
    json_decref(o);
  }
  assert_true(kicked);
  assert_int_not_equal(cc, 0);
  assert_int_equal(hz("admission", "read_parked"), parked0);
  wsc_close(&x);
  drain_fill(f);
  json_t *r = wsc_rpc(&again, "sync", "\"cursor\":0");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  wsc_close(&again);
}

static void test_parked_then_logout(void **st)
{
  (void)st;
  wsc_t f[CAP], x;
  char late[24];
  fill(f, "out", &x, late, sizeof late);
  long long parked0 = hz("admission", "read_parked");
  park_sync(&x, parked0);
  /* not read while the sync waits: nothing is answered before it ran */
  assert_int_equal(e2e_ws_send_text(x.fd, "{\"id\":2,\"op\":\"heartbeat\"}"), 0);
  assert_int_equal(e2e_ws_send_text(x.fd, "{\"id\":3,\"op\":\"logout\"}"), 0);
  assert_int_equal(hz("admission", "read_parked"), parked0 + 1);
  drain_fill(f);
  /* the sync ran first (queued), then the heartbeat, then the logout: the logout skips a read still queued
   * (§65), so the sync is answered whole or not at all — never refused */
  int cc = 0, got_hb = 0, got_out = 0;
  json_t *o;
  while ((o = wsc_next(&x, 15000, &cc))) {
    json_int_t id = jint(o, "id");
    if (id == 1) { /* its page may come after the heartbeat's reply: the heartbeat is answered when read */
      assert_int_equal(jint(o, "code"), 0);
      assert_true(sync_msgs(o) >= BACKLOG);
    } else if (id == 2) {
      assert_int_equal(jint(o, "code"), 0);
      got_hb = 1;
    } else if (id == 3) {
      assert_true(got_hb);
      assert_int_equal(jint(o, "code"), 0);
      got_out = 1;
    }
    json_decref(o);
  }
  assert_true(got_out);
  assert_int_equal(cc, 1000);
  wsc_close(&x);
}

/* The server stops (SIGTERM) while x's sync waits: it is answered 70500 at the signal, as the deletion gate's waiting
 * requests are (rel_gate_stop), and the server exits 0. */
static void test_parked_at_stop(void **st)
{
  (void)st;
  wsc_t f[CAP], x;
  char late[24];
  fill(f, "stp", &x, late, sizeof late);
  park_sync(&x, hz("admission", "read_parked"));
  assert_int_equal(kill(srv.pid, SIGTERM), 0);
  int id = 1;
  json_t *o = wsc_take(&x, match_id, &id, 30000);
  assert_non_null(o);
  assert_int_equal(jint(o, "code"), 70500);
  json_decref(o);
  e2e_sync_hold(hold, 0); /* the fillers' reads may run: the stop need not wait for its deadline */
  assert_int_equal(e2e_server_wait_exit(&srv), 0);
  wsc_close(&x);
  for (int i = 0; i < CAP; i++) wsc_close(&f[i]);
}

/* After test_parked_at_stop: the server has exited. */
static int teardown_stopped(void **st)
{
  (void)st;
  unlink(hold);
  if (srv.pid) return e2e_finish(&srv);
  e2e_dir_remove(&srv);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_storm_waits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_parked_closes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_parked_kicked, setup, teardown),
    cmocka_unit_test_setup_teardown(test_parked_then_logout, setup, teardown),
    cmocka_unit_test_setup_teardown(test_parked_at_stop, setup, teardown_stopped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
