/* End-to-end: login pacing (src/api/ws_pace.c), once with
 * --ws-logins-per-turn 1 and once with a time budget of 1 µs per turn (and
 * no count limit worth the name). The server is stopped (SIGSTOP) while 40 connections send their login
 * frames, one of them a heartbeat right behind its login and one a close
 * frame, and a REST request arrives; on SIGCONT one poll
 * returns them all at once. Expected: at most one login starts per turn, so
 * most wait (GET /healthz: logins.deferred); every waiting login is still
 * answered OK and in order of arrival within its connection; the heartbeat
 * behind a waiting login gets "login in progress"; the login of a connection
 * that sent a close frame behind it is dropped (the user never goes online);
 * the REST request is answered. */
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

#include "e2e.h"
#include "e2e_msg.h"

#define CONNS 40

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup_count(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-logins-per-turn", "1", NULL };
  return e2e_start(&srv, "singapore", &app, key, args);
}

/* the first login of a turn always starts and takes more than 1 µs */
static int setup_time(void **st)
{
  (void)st;
  static const char *const args[] = { "--ws-logins-per-turn", "100000", "--ws-login-turn-us", "1", NULL };
  return e2e_start(&srv, "singapore", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void test_storm_is_paced(void **st)
{
  (void)st;
  int fd[CONNS];
  char sig[1024], msg[2048], buf[8192];
  for (int i = 0; i < CONNS; i++) assert_true((fd[i] = e2e_ws_connect(srv.port, "/ws")) >= 0);
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "logins", "deferred"), 0);

  assert_int_equal(kill(srv.pid, SIGSTOP), 0);
  for (int i = 0; i < CONNS; i++) {
    char user[24]; /* "pace_" and any int: gcc -O1 checks the whole range */
    snprintf(user, sizeof user, "pace_%02d", i);
    e2e_usersig(app, key, user, 86400, sig, sizeof sig);
    snprintf(msg, sizeof msg,
             "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\",\"platform\":\"Web\",\"device_id\":\"d\"}",
             app, user, sig);
    assert_int_equal(e2e_ws_send_text(fd[i], msg), 0);
  }
  /* behind its login, which waits: "login in progress" */
  assert_int_equal(e2e_ws_send_text(fd[CONNS - 1], "{\"id\":2,\"op\":\"heartbeat\"}"), 0);
  /* a close frame behind its login: the session is gone before the login's turn comes */
  assert_int_equal(e2e_ws_send_frame(fd[CONNS - 2], 0x8, 1, "\x03\xe8", 2, 1), 0);
  static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(e2e_send(rest, get, sizeof get - 1), 0);
  usleep(200 * 1000);   /* everything is in the server's socket buffers */
  assert_int_equal(kill(srv.pid, SIGCONT), 0);

  assert_int_equal(e2e_http_read(rest, buf, sizeof buf, 5000), 200);
  close(rest);
  for (int i = 0; i < CONNS; i++) {
    if (i == CONNS - 2) continue;
    assert_true(e2e_ws_recv_text(fd[i], buf, sizeof buf, 10000) > 0);
    json_t *r = json_loads(buf, 0, NULL);
    assert_non_null(r);
    if (i == CONNS - 1) { /* the heartbeat's answer comes first: the login was still waiting */
      assert_int_equal(jint(r, "id"), 2);
      assert_string_equal(jstr(r, "msg"), "login in progress");
      json_decref(r);
      assert_true(e2e_ws_recv_text(fd[i], buf, sizeof buf, 10000) > 0);
      r = json_loads(buf, 0, NULL);
      assert_non_null(r);
    }
    assert_string_equal(jstr(r, "op"), "login");
    if (jint(r, "code") != 0) fail_msg("conn %d: %s", i, buf);
    json_decref(r);
  }
  /* one login per turn (by count, or by time): nearly all of the 40 waited */
  json_int_t deferred = e2e_healthz_stat(srv.port, "logins", "deferred");
  if (deferred < CONNS / 2) fail_msg("only %lld of %d logins waited for a later turn", (long long)deferred, CONNS);
  assert_int_equal(e2e_healthz_stat(srv.port, "logins", "waiting"), 0);
  /* the paced sessions work */
  json_t *q = v4(srv.port, app, key, "openim/query_online_status", "{\"To_Account\":[\"pace_00\",\"pace_38\",\"pace_39\"]}");
  assert_non_null(q);
  json_t *res = json_object_get(q, "QueryResult"), *e;
  size_t k;
  int online = 0;
  json_array_foreach(res, k, e) {
    const char *who = jstr(e, "To_Account"), *st = jstr(e, "Status");
    if (!strcmp(who, "pace_38") && !strcmp(st, "Online")) fail_msg("a login whose connection closed while it waited went online");
    online += !strcmp(st, "Online");
  }
  assert_int_equal(online, 2); /* pace_00 and pace_39 */
  json_decref(q);
  for (int i = 0; i < CONNS; i++) close(fd[i]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_storm_is_paced, setup_count, teardown),
    cmocka_unit_test_setup_teardown(test_storm_is_paced, setup_time, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
