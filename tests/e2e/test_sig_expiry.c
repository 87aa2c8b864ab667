/* End-to-end tests of a session's UserSig lifetime (docs/protocol.md
 * "login", "renew", close 4006; decisions §81 and §86): a logged-in session
 * ends once its UserSig's expiry has passed with a `kicked` push and close
 * 4006; `renew` with a valid UserSig of the same app and user moves the
 * expiry, and one refused changes nothing; sessions with expiries far away
 * are untouched; a request in flight at the expiry is done but not
 * answered, and a login whose UserSig expired while it was being recorded
 * is refused; a renew after the account's deletion finds the session ended.
 *
 * Most run on the test clock (`serve --test-clock`): the test issues its
 * UserSigs at the server's time and moves the clock to the expiry's last
 * second (the session still answers) and one second on (it has ended by the
 * time the move is answered: a request sent after it is not answered). One
 * group runs on the real clock with the server's tick and deadline wheel a
 * minute away (`--tick-ms 60000 --net-wheel-tick-ms 60000`): the close
 * comes once the expiry's second has ended, never before, and within the
 * test's 10 s wait only because the expiry's own timer fires (§86; the
 * tick, which closed sessions before it, would close them a minute late). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "auth/usersig.h"
#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[256];
static char auth[160];
static int real_clock; /* the group on the real clock: no operator clock */

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--test-clock", NULL };
  real_clock = 0;
  return op_start_sync_held(&srv, hold, sizeof hold, "sigexp", &app, key, auth, sizeof auth, args);
}

static int setup_real(void **st)
{
  (void)st;
  static const char *const args[] = { "--tick-ms", "60000", "--net-wheel-tick-ms", "60000", NULL };
  real_clock = 1;
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

static int teardown_real(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static int release(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return 0;
}

/* The wall clock as the server reads it (CLOCK_REALTIME), in ms: time() may read the coarse clock, a tick
 * behind, and see the expiry's second still running after the server closed the session past it. */
static int64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's second: its test clock, or the wall clock in the real-clock group. */
static int64_t now_s(void) { return real_clock ? wall_ms() / 1000 : op_clock_now(srv.port, auth); }

/* Move the test clock to second t (not earlier than now); answered once the sessions expired by then ended. */
static void clock_to(int64_t t)
{
  int64_t now = now_s();
  assert_true(t >= now);
  op_clock_advance(srv.port, auth, t - now);
  assert_int_equal(now_s(), t);
}

/* A UserSig for (sdkappid, user) signed with k, issued at `at` for expire seconds. */
static void sig_at(uint32_t sdkappid, const char *k, const char *user, int64_t at, int64_t expire, char *out, size_t cap)
{
  assert_int_equal(auth_usersig_gen(sdkappid, k, user, at, expire, out, cap), 0);
}

/* Log user in on a fresh connection (platform) with a UserSig of expire seconds from now; *due: its expiry
 * (unix s). */
static void login_on(wsc_t *c, const char *user, const char *platform, int64_t expire, int64_t *due)
{
  char sig[1024], reply[4096];
  int64_t now = now_s();
  sig_at(app, key, user, now, expire, sig, sizeof sig);
  memset(c, 0, sizeof *c);
  c->next_id = 100;
  c->fd = e2e_ws_login_sig(srv.port, app, user, sig, platform, reply, sizeof reply);
  if (c->fd < 0) fail_msg("login of %s: %s", user, reply);
  if (due) *due = now + expire;
}

static void login_for(wsc_t *c, const char *user, int64_t expire, int64_t *due) { login_on(c, user, "Web", expire, due); }

static void heartbeat_ok(wsc_t *c)
{
  json_t *r = wsc_rpc(c, "heartbeat", "%s", "");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
}

/* Send a heartbeat without reading its reply; its id. */
static int heartbeat_send(wsc_t *c)
{
  char frame[64];
  int id = ++c->next_id;
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"heartbeat\"}", id);
  assert_int_equal(e2e_ws_send_text(c->fd, frame), 0);
  return id;
}

/* The session ends by the server: the `kicked` push with reason, then close code. No reply to any of its
 * requests comes before it (ids at or above no_reply_from). */
static void ends_kicked(wsc_t *c, const char *reason, int code, int no_reply_from)
{
  int cc = 0, kicked = 0;
  for (;;) {
    json_t *o = wsc_next(c, 30000, &cc);
    if (!o) break;
    json_t *id = json_object_get(o, "id");
    if (json_is_integer(id) && json_integer_value(id) >= no_reply_from) fail_msg("a reply before the close: id %d", (int)json_integer_value(id));
    if (!kicked && jstr(o, "type") && !strcmp(jstr(o, "type"), "kicked")) {
      assert_string_equal(jstr(o, "reason"), reason);
      kicked = 1;
    }
    json_decref(o);
  }
  assert_true(kicked);
  assert_int_equal(cc, code);
  wsc_close(c);
}

/* The session ends as an expired one after its UserSig's expiry `due` (the server's second is past it). */
static void ends_expired(wsc_t *c, int64_t due, int no_reply_from)
{
  ends_kicked(c, "UserSig expired", 4006, no_reply_from);
  assert_true(now_s() > due);
}

/* On the test clock: the session answers in its expiry's last second; moved one second on, it has ended by
 * the time the move is answered (a heartbeat sent after the move gets no reply). */
static void expires_at(wsc_t *c, int64_t due)
{
  clock_to(due);
  heartbeat_ok(c);
  clock_to(due + 1);
  ends_expired(c, due, heartbeat_send(c));
}

/* Reply code of a `renew` with usersig (NULL: the member left out). */
static int renew(wsc_t *c, const char *usersig, json_t **reply)
{
  json_t *r = usersig ? wsc_rpc(c, "renew", "\"usersig\":\"%s\"", usersig) : wsc_rpc(c, "renew", "%s", "");
  assert_non_null(r);
  assert_string_equal(jstr(r, "op"), "renew");
  int code = (int)jint(r, "code");
  if (reply) *reply = r;
  else json_decref(r);
  return code;
}

static void test_closes_at_expiry(void **st)
{
  (void)st;
  wsc_t c;
  int64_t due;
  login_on(&c, "ex1", "Android", 2, &due);
  heartbeat_ok(&c);
  expires_at(&c, due);
  /* gone from presence: a mobile device is Offline, not PushOnline (as after a kick) */
  json_t *r = v4(srv.port, app, key, "openim/query_online_status", "{\"To_Account\":[\"ex1\"]}");
  assert_non_null(r);
  json_t *q = json_array_get(json_object_get(r, "QueryResult"), 0);
  assert_non_null(q);
  assert_string_equal(json_string_value(json_object_get(q, "Status")), "Offline");
  json_decref(r);
}

static void test_renew_moves_expiry(void **st)
{
  (void)st;
  wsc_t c;
  int64_t due1, now = now_s(), due2 = now + 8;
  char sig[1024];
  login_for(&c, "rn1", 2, &due1);
  sig_at(app, key, "rn1", now, 8, sig, sizeof sig);
  json_t *r;
  assert_int_equal(renew(&c, sig, &r), 0);
  assert_int_equal(jint(r, "expire_at"), due2);
  json_decref(r);
  clock_to(due1 + 1); /* past the old expiry */
  heartbeat_ok(&c);
  expires_at(&c, due2);
}

static void test_renew_refused_changes_nothing(void **st)
{
  (void)st;
  wsc_t c;
  int64_t due, now = now_s();
  char sig[1024], other_key[80];
  login_for(&c, "rf1", 4, &due);
  sig_at(app, key, "someone", now, 86400, sig, sizeof sig);
  assert_int_equal(renew(&c, sig, NULL), 70013); /* another user */
  sig_at(app + 1, key, "rf1", now, 86400, sig, sizeof sig);
  assert_int_equal(renew(&c, sig, NULL), 70014); /* another app */
  memcpy(other_key, key, sizeof other_key);
  other_key[0] = other_key[0] == 'a' ? 'b' : 'a';
  sig_at(app, other_key, "rf1", now, 86400, sig, sizeof sig);
  assert_int_equal(renew(&c, sig, NULL), 70009); /* forged: signed with another key */
  sig_at(app, key, "rf1", now - 100, 10, sig, sizeof sig);
  assert_int_equal(renew(&c, sig, NULL), 70001); /* expired */
  assert_int_equal(renew(&c, "not-a-usersig", NULL), 70003);
  assert_int_equal(renew(&c, NULL, NULL), 70002);
  assert_int_equal(renew(&c, "", NULL), 70002);
  heartbeat_ok(&c);
  expires_at(&c, due); /* at the login's expiry: no refused one moved it a day on */
  /* before a login: not logged in, nothing to renew */
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  wsc_t n = { .fd = fd, .next_id = 1 };
  sig_at(app, key, "rf1", now, 86400, sig, sizeof sig);
  json_t *r;
  assert_int_equal(renew(&n, sig, &r), 70003); /* "log in first" */
  assert_string_equal(jstr(r, "msg"), "log in first");
  json_decref(r);
  wsc_close(&n);
}

/* Many sessions whose UserSigs last 180 days, and one of a second: the short one ends, the others stay. */
static void test_far_expiries_unaffected(void **st)
{
  (void)st;
  enum { FAR = 40 };
  wsc_t far[FAR], short1;
  char user[32];
  for (int i = 0; i < FAR; i++) {
    snprintf(user, sizeof user, "far%d", i);
    login_for(&far[i], user, 180 * 86400, NULL);
  }
  int64_t due;
  login_for(&short1, "near1", 1, &due);
  expires_at(&short1, due);
  for (int i = 0; i < FAR; i++) {
    heartbeat_ok(&far[i]);
    int cc;
    json_t *o;
    while ((o = wsc_next(&far[i], 0, &cc))) { /* nothing else came: no kick */
      fail_msg("far%d got %s", i, jstr(o, "type") ? jstr(o, "type") : "a frame");
    }
    assert_int_equal(cc, 0);
    wsc_close(&far[i]);
  }
}

/* A request in flight at the expiry (its writer job waits for the held
 * sync): the session ends at the expiry without its reply; the request is
 * done all the same (the message reaches its recipient once durable). */
static void test_pending_request_at_expiry(void **st)
{
  (void)st;
  wsc_t bob, amy;
  int64_t due;
  login_for(&bob, "pbob", 86400, NULL);
  json_t *ev = wsc_sync_live(&bob);
  assert_non_null(ev);
  json_decref(ev);
  login_for(&amy, "pamy", 3, &due);
  e2e_sync_hold(hold, 1);
  int id = ++amy.next_id;
  char frame[512];
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"send\",\"to\":\"pbob\",\"random\":4242,\"body\":%s}", id,
           TEXT("sent before the expiry"));
  assert_int_equal(e2e_ws_send_text(amy.fd, frame), 0);
  assert_int_equal(e2e_server_took_all(srv.port, amy.fd, 10000), 0); /* read: its job waits for the sync */
  clock_to(due + 1);
  ends_expired(&amy, due, id); /* no reply to the send before the close */
  e2e_sync_hold(hold, 0);
  json_t *m = wsc_push(&bob, "msg", 10000);
  assert_non_null(m);
  assert_string_equal(jstr(m, "peer"), "pamy");
  json_decref(m);
  wsc_close(&bob);
}

/* A login whose UserSig expires while its writer job waits: refused 70001
 * once it completes, still logged out. */
static void test_login_pending_at_expiry(void **st)
{
  (void)st;
  char sig[1024], msg[2048], reply[4096];
  int64_t now = now_s();
  sig_at(app, key, "plog", now, 1, sig, sizeof sig);
  e2e_ws_login_frame_sig(app, "plog", sig, "Web", "dev-plog", msg, sizeof msg);
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  e2e_sync_hold(hold, 1);
  assert_int_equal(e2e_ws_send_text(fd, msg), 0);
  assert_int_equal(e2e_server_took_all(srv.port, fd, 10000), 0);
  clock_to(now + 2);
  e2e_sync_hold(hold, 0);
  assert_true(e2e_ws_recv_text(fd, reply, sizeof reply, 10000) > 0);
  assert_non_null(strstr(reply, "\"code\":70001"));
  assert_non_null(strstr(reply, "UserSig expired while the login was being recorded"));
  wsc_t c = { .fd = fd, .next_id = 10 };
  json_t *r = wsc_rpc(&c, "heartbeat", "%s", "");
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 70003); /* logged out */
  json_decref(r);
  wsc_close(&c);
}

/* A renew after the account's deletion (REST account_delete): the deletion ended the session at once (kicked
 * "account deleted", close 4003), so the renew is not answered (the session can no longer be extended: no 70107). */
static void test_renew_after_account_delete(void **st)
{
  (void)st;
  wsc_t c;
  char sig[1024];
  login_for(&c, "del1", 86400, NULL);
  heartbeat_ok(&c);
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/account_delete", "{\"DeleteItem\":[{\"UserID\":\"del1\"}]}");
  assert_non_null(r);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
  sig_at(app, key, "del1", now_s(), 86400, sig, sizeof sig);
  int id = ++c.next_id;
  char frame[1400];
  snprintf(frame, sizeof frame, "{\"id\":%d,\"op\":\"renew\",\"usersig\":\"%s\"}", id, sig);
  assert_int_equal(e2e_ws_send_text(c.fd, frame), 0);
  ends_kicked(&c, "account deleted", 4003, id);
}

/* On the real clock (the timer, not the test clock's moves): the close comes, never before the expiry's second
 * has ended. How soon after is not asserted (tests assert no timings; on a loaded box a loop turn can be late);
 * that it comes within the 10 s wait at all says the expiry's own timer closed it: the server's tick, which
 * also ends expired sessions, is a minute away (setup_real). Two sessions, expiring a second apart. */
static void test_closes_on_time(void **st)
{
  (void)st;
  wsc_t c[2];
  int64_t due[2];
  login_for(&c[0], "ot0", 1, &due[0]);
  login_for(&c[1], "ot1", 2, &due[1]);
  for (int i = 0; i < 2; i++) {
    int cc = 0;
    json_t *o;
    while ((o = wsc_next(&c[i], 10000, &cc))) json_decref(o);
    int64_t at = wall_ms(), end_ms = (due[i] + 1) * 1000;
    assert_int_equal(cc, 4006); /* within the 10 s wait: the tick is a minute away */
    wsc_close(&c[i]);
    if (at < end_ms) fail_msg("ot%d closed %lld ms before its expiry's second ended", i, (long long)(end_ms - at));
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_closes_at_expiry, release),
    cmocka_unit_test_teardown(test_renew_moves_expiry, release),
    cmocka_unit_test_teardown(test_renew_refused_changes_nothing, release),
    cmocka_unit_test_teardown(test_far_expiries_unaffected, release),
    cmocka_unit_test_teardown(test_pending_request_at_expiry, release),
    cmocka_unit_test_teardown(test_login_pending_at_expiry, release),
    cmocka_unit_test_teardown(test_renew_after_account_delete, release),
  };
  const struct CMUnitTest real[] = {
    cmocka_unit_test(test_closes_on_time),
  };
  int failed = cmocka_run_group_tests_name("test clock", tests, setup, teardown);
  return failed + cmocka_run_group_tests_name("real clock", real, setup_real, teardown_real);
}
