/* End-to-end: the client WebSocket protocol (docs/protocol.md) and bad
 * frames against the real server over real sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "e2e.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
/* The login deadline is long enough for test_login_errors' nine requests on
 * one connection under the sanitizers on a busy CI host (700 ms was not),
 * and short enough for test_login_timeout to wait for it. */
static const char *const ws_args[] = { "--ws-login-timeout-ms", "3000", "--ws-max-frame-bytes", "4096",
                                       "--ws-max-queued-bytes", "1048576", NULL };

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, "china", &app, key, ws_args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Send text, return the next text reply. */
static void rpc(int fd, const char *req, char *out, size_t cap)
{
  assert_int_equal(e2e_ws_send_text(fd, req), 0);
  assert_true(e2e_ws_recv_text(fd, out, cap, 3000) >= 0);
}

static void expect_close(int fd, int code)
{
  char buf[4096];
  int op = 0, cc = 0;
  for (;;) {
    int n = e2e_ws_recv(fd, &op, buf, sizeof buf, 8000, &cc);
    if (n < 0) fail_msg("no close frame (expected %d)", code);
    if (op == 8) break;
  }
  assert_int_equal(cc, code);
}

static void test_login_heartbeat_logout(void **st)
{
  (void)st;
  char reply[4096];
  int fd = e2e_ws_login(srv.port, app, key, "u1", "Web", reply, sizeof reply);
  assert_true(fd >= 0);
  assert_non_null(strstr(reply, "\"id\":1"));
  assert_non_null(strstr(reply, "\"server_time\":"));
  rpc(fd, "{\"id\":\"hb\",\"op\":\"heartbeat\"}", reply, sizeof reply);
  assert_non_null(strstr(reply, "\"id\":\"hb\""));
  assert_non_null(strstr(reply, "\"code\":0"));
  rpc(fd, "{\"id\":2,\"op\":\"login\",\"sdkappid\":1,\"user_id\":\"x\",\"usersig\":\"x\",\"platform\":\"Web\",\"device_id\":\"d\"}", reply, sizeof reply);
  assert_non_null(strstr(reply, "\"code\":70402")); /* already logged in */
  rpc(fd, "{\"id\":3,\"op\":\"teleport\"}", reply, sizeof reply);
  assert_non_null(strstr(reply, "\"code\":60009"));
  rpc(fd, "{\"id\":4,\"op\":\"logout\"}", reply, sizeof reply);
  assert_non_null(strstr(reply, "\"code\":0"));
  expect_close(fd, 1000);
  close(fd);
}

static void test_login_errors(void **st)
{
  (void)st;
  char reply[4096], sig[1024], req[2048], expired[1024];
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  rpc(fd, "{\"id\":1,\"op\":\"heartbeat\"}", reply, sizeof reply);
  assert_non_null(strstr(reply, "\"code\":70003")); /* log in first */
  e2e_usersig(app, key, "u2", 3600, sig, sizeof sig);
  e2e_usersig(app, key, "u2", -10, expired, sizeof expired);
  struct { const char *user, *sig, *platform; unsigned app; int code; } cases[] = {
    { "u2", sig, "Web", 1, 70020 },            /* unknown app */
    { "u3", sig, "Web", 0, 70013 },            /* UserSig of another user */
    { "u2", "AAAA", "Web", 0, 70003 },         /* undecodable */
    { "u2", expired, "Web", 0, 70001 },        /* expired */
    { "u2", sig, "Fridge", 0, 70402 },         /* unknown platform */
    { "", sig, "Web", 0, 70402 },              /* bad user id */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(req, sizeof req,
             "{\"id\":%zu,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\",\"platform\":\"%s\",\"device_id\":\"d\"}",
             i, cases[i].app ? cases[i].app : app, cases[i].user, cases[i].sig, cases[i].platform);
    rpc(fd, req, reply, sizeof reply);
    char want[32];
    snprintf(want, sizeof want, "\"code\":%d", cases[i].code);
    if (!strstr(reply, want)) fail_msg("case %zu: %s", i, reply);
  }
  /* a forged signature: flip one character of a valid token's payload */
  char forged[1024];
  snprintf(forged, sizeof forged, "%s", sig);
  forged[20] = forged[20] == 'A' ? 'B' : 'A';
  snprintf(req, sizeof req, "{\"id\":9,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"u2\",\"usersig\":\"%s\",\"platform\":\"Web\",\"device_id\":\"d\"}", app, forged);
  rpc(fd, req, reply, sizeof reply);
  assert_true(strstr(reply, "\"code\":70009") || strstr(reply, "\"code\":70003") || strstr(reply, "\"code\":70005"));
  /* still usable: a good login now works */
  snprintf(req, sizeof req, "{\"id\":10,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"u2\",\"usersig\":\"%s\",\"platform\":\"Web\",\"device_id\":\"d\"}", app, sig);
  rpc(fd, req, reply, sizeof reply);
  assert_non_null(strstr(reply, "\"code\":0"));
  close(fd);
}

static void test_bad_json_keeps_connection(void **st)
{
  (void)st;
  char reply[4096];
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  const char *bad[] = { "not json", "[1,2,3]", "{\"id\":1}", "{\"id\":1,\"op\":5}", "{\"op\":\"login\",\"op\":\"x\"}" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rpc(fd, bad[i], reply, sizeof reply);
    if (!strstr(reply, "\"code\":60003")) fail_msg("%s → %s", bad[i], reply);
  }
  rpc(fd, "{\"id\":7,\"op\":\"heartbeat\"}", reply, sizeof reply);
  assert_non_null(strstr(reply, "\"code\":70003"));
  close(fd);
}

static void test_second_device_same_platform(void **st)
{
  (void)st;
  char buf[4096];
  int a = e2e_ws_login(srv.port, app, key, "dup", "iPhone", NULL, 0);
  int other = e2e_ws_login(srv.port, app, key, "dup", "PC", NULL, 0);
  assert_true(a >= 0 && other >= 0);
  int b = e2e_ws_login(srv.port, app, key, "dup", "iPhone", NULL, 0);
  assert_true(b >= 0);
  assert_true(e2e_ws_recv_text(a, buf, sizeof buf, 3000) > 0);
  assert_non_null(strstr(buf, "\"type\":\"kicked\""));
  expect_close(a, 4002);
  /* the PC session is untouched */
  assert_int_equal(e2e_ws_send_text(other, "{\"id\":1,\"op\":\"heartbeat\"}"), 0);
  assert_true(e2e_ws_recv_text(other, buf, sizeof buf, 3000) > 0);
  assert_non_null(strstr(buf, "\"code\":0"));
  close(a); close(b); close(other);
}

static void test_login_timeout(void **st)
{
  (void)st;
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_true(fd >= 0);
  expect_close(fd, 4001);
  close(fd);
}

static void test_bad_frames(void **st)
{
  (void)st;
  int fd = e2e_ws_connect(srv.port, "/ws");
  assert_int_equal(e2e_ws_send_frame(fd, 2, 1, "\x01\x02", 2, 1), 0); /* binary */
  expect_close(fd, 1003);
  close(fd);
  fd = e2e_ws_connect(srv.port, "/ws");
  assert_int_equal(e2e_ws_send_frame(fd, 1, 1, "\xff\xfe{}", 4, 1), 0); /* not UTF-8 */
  expect_close(fd, 1007);
  close(fd);
  fd = e2e_ws_connect(srv.port, "/ws");
  char big[5000];
  memset(big, 'a', sizeof big);
  assert_int_equal(e2e_ws_send_frame(fd, 1, 1, big, sizeof big, 1), 0); /* over 4096 */
  expect_close(fd, 1009);
  close(fd);
  fd = e2e_ws_connect(srv.port, "/ws");
  assert_int_equal(e2e_ws_send_frame(fd, 1, 1, "{}", 2, 0), 0); /* unmasked */
  expect_close(fd, 1002);
  close(fd);
  /* a 16-bit length field holding 5 (not minimally encoded): refused (ws_frame.c) */
  fd = e2e_ws_connect(srv.port, "/ws");
  static const char nonminimal[] = "\x81\xfe\x00\x05\x00\x00\x00\x00hello";
  assert_int_equal(e2e_send(fd, nonminimal, sizeof nonminimal - 1), 0);
  expect_close(fd, 1002);
  close(fd);
  /* a close frame whose reason is not UTF-8 (RFC 6455 §5.5.1, §8.1): 1007, not an echo of its code */
  fd = e2e_ws_connect(srv.port, "/ws");
  assert_int_equal(e2e_ws_send_frame(fd, 8, 1, "\x03\xe8\xff\xfe", 4, 1), 0);
  expect_close(fd, 1007);
  close(fd);
  /* a valid reason: the code is echoed */
  fd = e2e_ws_connect(srv.port, "/ws");
  assert_int_equal(e2e_ws_send_frame(fd, 8, 1, "\x0b\xb9" "bye", 5, 1), 0);
  expect_close(fd, 3001);
  close(fd);
  /* fragmented text is reassembled */
  char buf[4096];
  fd = e2e_ws_connect(srv.port, "/ws");
  assert_int_equal(e2e_ws_send_frame(fd, 1, 0, "{\"id\":5,", 8, 1), 0);
  assert_int_equal(e2e_ws_send_frame(fd, 9, 1, "hi", 2, 1), 0); /* ping between fragments */
  assert_int_equal(e2e_ws_send_frame(fd, 0, 1, "\"op\":\"heartbeat\"}", 17, 1), 0);
  int op, cc;
  assert_true(e2e_ws_recv(fd, &op, buf, sizeof buf, 3000, &cc) >= 0);
  assert_int_equal(op, 10); /* pong */
  assert_string_equal(buf, "hi");
  assert_true(e2e_ws_recv_text(fd, buf, sizeof buf, 3000) > 0);
  assert_non_null(strstr(buf, "\"id\":5"));
  assert_non_null(strstr(buf, "\"code\":70003"));
  close(fd);
  /* the server still serves everyone else */
  fd = e2e_ws_login(srv.port, app, key, "after-bad", "Web", NULL, 0);
  assert_true(fd >= 0);
  close(fd);
}

static void test_login_usage_is_durable(void **st)
{
  (void)st;
  int fd = e2e_ws_login(srv.port, app, key, "metered", "Mac", NULL, 0);
  assert_true(fd >= 0);
  close(fd);
  fd = e2e_ws_login(srv.port, app, key, "metered", "Mac", NULL, 0); /* same day: idempotent */
  close(fd);
  e2e_server_kill(&srv);
  char out[256], cmd[600];
  snprintf(cmd, sizeof cmd, "sqlite3 '%s/imcloud.db' \"select count(*) from usage_login u join accounts a on a.sdkappid=u.sdkappid and a.user_no=u.user_no where a.user_id='metered'\"", srv.dir);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_non_null(fgets(out, sizeof out, p));
  pclose(p);
  assert_int_equal(atoi(out), 1);
  assert_int_equal(e2e_server_start(&srv, ws_args), 0);
}

/* SIGTERM with a logged-in WebSocket and an idle keep-alive HTTP connection
 * open: the WebSocket gets close 1001, the server exits 0 promptly (a
 * connection closing during shutdown must not stall the close chain). */
static void test_graceful_stop_with_open_connections(void **st)
{
  (void)st;
  int fd = e2e_ws_login(srv.port, app, key, "stayer", "PC", NULL, 0);
  assert_true(fd >= 0);
  int hfd = e2e_connect(srv.port);
  assert_true(hfd >= 0);
  const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(e2e_send(hfd, req, sizeof req - 1), 0);
  char body[8192]; /* the whole /healthz body: it grows with every counter */
  assert_int_equal(e2e_http_read(hfd, body, sizeof body, 3000), 200);
  assert_int_equal(e2e_server_stop(&srv), 0);
  expect_close(fd, 1001);
  close(fd);
  close(hfd);
  assert_int_equal(e2e_server_start(&srv, ws_args), 0);
}

/* Ping frames are activity: a logged-in client that only pings is not closed
 * by the idle timeout; once it stops, it is closed with 4004. */
static void test_pings_keep_an_idle_session(void **st)
{
  (void)st;
  e2e_server_t s2;
  uint32_t app2;
  char key2[80], buf[2048];
  static const char *const args[] = { "--ws-idle-timeout-ms", "1200", NULL };
  assert_int_equal(e2e_start(&s2, "china", &app2, key2, args), 0);
  int fd = e2e_ws_login(s2.port, app2, key2, "pinger", "Web", NULL, 0);
  assert_true(fd >= 0);
  int op, cc = 0;
  for (int i = 0; i < 5; i++) { /* 2 s of pings only, well past 1.2 s */
    assert_int_equal(e2e_ws_send_frame(fd, 9, 1, "p", 1, 1), 0);
    assert_true(e2e_ws_recv(fd, &op, buf, sizeof buf, 2000, &cc) >= 0);
    assert_int_equal(op, 10); /* pong, not a close */
    usleep(400 * 1000);
  }
  assert_int_equal(e2e_ws_send_text(fd, "{\"id\":1,\"op\":\"heartbeat\"}"), 0);
  assert_true(e2e_ws_recv_text(fd, buf, sizeof buf, 2000) > 0);
  assert_non_null(strstr(buf, "\"code\":0"));
  assert_true(e2e_ws_recv(fd, &op, buf, sizeof buf, 4000, &cc) >= 0); /* silence: closed */
  assert_int_equal(op, 8);
  assert_int_equal(cc, 4004);
  close(fd);
  assert_int_equal(e2e_finish(&s2), 0);
}

/* The upgrade request and the first frame in one write: the frame's bytes
 * follow the request's last line in the same read, and are the WebSocket's,
 * not the start of a next HTTP request (http_strict.c hands a message's
 * lines on by the run, ending each run at its message's end). The frame
 * holds no LF, so scanned as HTTP it would wait as a partial line. */
static void test_upgrade_and_frame_in_one_write(void **st)
{
  (void)st;
  static const char text[] = "{\"id\":\"hb1\",\"op\":\"heartbeat\"}";
  char buf[1024], reply[4096];
  int n = snprintf(buf, sizeof buf, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  size_t len = sizeof text - 1;
  buf[n++] = (char)0x81;                 /* FIN, text */
  buf[n++] = (char)(0x80 | len);         /* masked, < 126 bytes */
  memset(buf + n, 0, 4);                 /* mask key 0: the payload as is */
  n += 4;
  memcpy(buf + n, text, len);
  n += (int)len;
  assert_null(memchr(buf + n - len - 6, '\n', len + 6));
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, buf, (size_t)n), 0);
  size_t h = 0; /* the 101's head, byte by byte: the frame's answer follows it */
  while (h + 1 < sizeof buf) {
    struct pollfd p = { fd, POLLIN, 0 };
    assert_true(poll(&p, 1, 3000) == 1);
    assert_int_equal(read(fd, buf + h, 1), 1);
    h++;
    if (h >= 4 && !memcmp(buf + h - 4, "\r\n\r\n", 4)) break;
  }
  buf[h] = 0;
  assert_non_null(strstr(buf, " 101 "));
  assert_true(e2e_ws_recv_text(fd, reply, sizeof reply, 3000) >= 0);
  assert_non_null(strstr(reply, "\"id\":\"hb1\"")); /* answered (not logged in: refused, but read) */
  close(fd);
}

/* Pongs are replies like any other: a peer that pings and never reads is
 * closed (1008) once its queue passes ws_max_queued_bytes (1 MiB here),
 * instead of the server queueing pongs without bound (it did: GBs). */
static void test_ping_flood_is_capped(void **st)
{
  (void)st;
  int fd = e2e_connect_small(srv.port); /* the kernel keeps little of the pongs for us: they stay in the server's queue */
  assert_true(fd >= 0);
  static const char up[] = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  assert_int_equal(e2e_send(fd, up, sizeof up - 1), 0);
  char head[1024];
  size_t hl = 0;
  while (hl < 4 || memcmp(head + hl - 4, "\r\n\r\n", 4)) { /* the 101 answer, byte by byte: no frame read with it */
    assert_true(hl + 1 < sizeof head);
    assert_int_equal(recv(fd, head + hl, 1, 0), 1);
    hl++;
  }
  assert_memory_equal(head, "HTTP/1.1 101", 12);
  char pay[125];
  memset(pay, 'p', sizeof pay);
  size_t sent = 0;
  /* 8 MiB of pings, eight times the cap, unread; the server stops reading us first (its close is queued) */
  for (int i = 0; i < 8 * 8400; i++) {
    if (e2e_ws_send_frame(fd, 9, 1, pay, sizeof pay, 1)) break;
    sent += sizeof pay;
  }
  assert_true(sent >= (1u << 20)); /* enough to pass the cap */
  /* the pongs the server kept, then its close (1008), or the end of the
   * connection if the close grace (5 s) tore it down before we read that far */
  char buf[4096];
  int op = 0, cc = 0, pongs = 0;
  for (;;) {
    int n = e2e_ws_recv(fd, &op, buf, sizeof buf, 8000, &cc);
    if (n < 0) {
      char b;
      ssize_t r = recv(fd, &b, 1, MSG_DONTWAIT);
      if (!(r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)))
        fail_msg("the connection stays open after %d pongs", pongs);
      break;
    }
    if (op == 10) pongs++;
    if (op == 8) { assert_int_equal(cc, 1008); break; }
  }
  assert_true((size_t)pongs * sizeof pay < sent); /* not every ping was answered */
  close(fd);
  fd = e2e_ws_login(srv.port, app, key, "after-pings", "Web", NULL, 0);
  assert_true(fd >= 0);
  close(fd);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_login_heartbeat_logout), cmocka_unit_test(test_login_errors),
    cmocka_unit_test(test_bad_json_keeps_connection), cmocka_unit_test(test_second_device_same_platform),
    cmocka_unit_test(test_login_timeout), cmocka_unit_test(test_bad_frames), cmocka_unit_test(test_login_usage_is_durable),
    cmocka_unit_test(test_graceful_stop_with_open_connections), cmocka_unit_test(test_pings_keep_an_idle_session),
    cmocka_unit_test(test_upgrade_and_frame_in_one_write), cmocka_unit_test(test_ping_flood_is_capped),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
