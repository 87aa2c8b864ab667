/* End-to-end: HTTP pipelining and half-close with asynchronous replies
 * (issue 11, defect 4). A write request (account_import) is answered only
 * after the writer thread commits it, so its reply is still pending when a
 * later request in the same packet fails to parse: the earlier reply must go
 * out first, then the error, then the server closes. A client that shuts
 * down its sending side after a request still gets the reply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char sig[1024];

static int setup(void **st)
{
  (void)st;
  if (e2e_start(&srv, "china", &app, key, NULL)) return -1;
  e2e_usersig(app, key, "administrator", 3600, sig, sizeof sig);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* Append one account_import request for user to buf at *o. */
static void add_import(char *buf, size_t cap, size_t *o, const char *user)
{
  char b[128];
  int bl = snprintf(b, sizeof b, "{\"UserID\":\"%s\"}", user);
  *o += (size_t)snprintf(buf + *o, cap - *o,
                         "POST /v4/im_open_login_svc/account_import?sdkappid=%u&identifier=administrator&usersig=%s"
                         "&random=1&contenttype=json HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s",
                         app, sig, bl, b);
}

static void assert_imported(const char *user)
{
  char body[4096], req[128];
  snprintf(req, sizeof req, "{\"CheckItem\":[{\"UserID\":\"%s\"}]}", user);
  assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "im_open_login_svc/account_check", req, body, sizeof body), 200);
  if (!strstr(body, "\"Imported\"")) fail_msg("%s not imported: %s", user, body);
}

/* Two imports, then `bad`: 200, 200, then `status`, then EOF. */
static void pipeline_then(const char *tag, const char *bad, int status)
{
  char req[16384], body[4096], u1[64], u2[64];
  size_t o = 0;
  snprintf(u1, sizeof u1, "pl_%s_1", tag);
  snprintf(u2, sizeof u2, "pl_%s_2", tag);
  add_import(req, sizeof req, &o, u1);
  add_import(req, sizeof req, &o, u2);
  o += (size_t)snprintf(req + o, sizeof req - o, "%s", bad);
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, o), 0);
  for (int i = 0; i < 2; i++) {
    int s = e2e_http_read(fd, body, sizeof body, 5000);
    if (s != 200 || !strstr(body, "\"ErrorCode\":0")) fail_msg("%s: reply %d is %d %s", tag, i + 1, s, body);
  }
  int s = e2e_http_read(fd, body, sizeof body, 5000);
  if (s != status) fail_msg("%s: error reply %d, want %d", tag, s, status);
  char rest[64];
  assert_int_equal(e2e_recv_all(fd, rest, sizeof rest, 3000), 0); /* then the server closes */
  close(fd);
  assert_imported(u1);
  assert_imported(u2);
}

static void test_parse_error_after_pending(void **st)
{
  (void)st;
  pipeline_then("garbage", "GARBAGE\r\n\r\n", 400);
}

static void test_413_after_pending(void **st)
{
  (void)st;
  pipeline_then("toobig", "POST /v4/a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{", 413);
}

static void test_431_after_pending(void **st)
{
  (void)st;
  char big[10000];
  int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(big + n, 'a', 9000);
  strcpy(big + n + 9000, "\r\n\r\n");
  pipeline_then("hdrs", big, 431);
}

/* The client sends one request and shuts down its side (FIN): the reply
 * still comes, then the server closes. */
static void test_half_close(void **st)
{
  (void)st;
  char req[8192], body[4096], rest[64];
  size_t o = 0;
  add_import(req, sizeof req, &o, "hc_1");
  add_import(req, sizeof req, &o, "hc_2");
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, o), 0);
  assert_int_equal(shutdown(fd, SHUT_WR), 0);
  for (int i = 0; i < 2; i++) {
    int s = e2e_http_read(fd, body, sizeof body, 5000);
    if (s != 200 || !strstr(body, "\"ErrorCode\":0")) fail_msg("half-close reply %d: %d %s", i + 1, s, body);
  }
  assert_int_equal(e2e_recv_all(fd, rest, sizeof rest, 3000), 0);
  close(fd);
  assert_imported("hc_1");
  assert_imported("hc_2");
}

/* Half-close in the middle of a second request: the first is answered, the
 * incomplete one is dropped, the connection closes. */
static void test_half_close_partial(void **st)
{
  (void)st;
  char req[8192], body[4096], rest[64];
  size_t o = 0;
  add_import(req, sizeof req, &o, "hcp_1");
  o += (size_t)snprintf(req + o, sizeof req - o, "POST /v4/im_open_login_svc/account_import HTTP/1.1\r\nHost: x\r\nContent-Len");
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, o), 0);
  assert_int_equal(shutdown(fd, SHUT_WR), 0);
  int s = e2e_http_read(fd, body, sizeof body, 5000);
  if (s != 200) fail_msg("half-close partial: %d %s", s, body);
  assert_int_equal(e2e_recv_all(fd, rest, sizeof rest, 3000), 0);
  close(fd);
  assert_imported("hcp_1");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_error_after_pending), cmocka_unit_test(test_413_after_pending),
    cmocka_unit_test(test_431_after_pending), cmocka_unit_test(test_half_close),
    cmocka_unit_test(test_half_close_partial),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
