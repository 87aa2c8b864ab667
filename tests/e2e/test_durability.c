/* End-to-end durability: kill -9 the server while it is acknowledging
 * account imports from several pipelined connections, restart it, and check
 * that every acknowledged import is there ("nothing acknowledged is ever
 * lost"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define CONNS 4
#define PER_CONN 400

static void test_kill9_keeps_acknowledged(void **st)
{
  (void)st;
  e2e_server_t srv;
  uint32_t app;
  char key[80], sig[1024];
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  static const char *const args[] = { "--rest-rate-limit", "1000000", NULL };
  assert_int_equal(e2e_server_start(&srv, args), 0);
  e2e_usersig(app, key, "administrator", 3600, sig, sizeof sig);
  int fds[CONNS];
  static char req[PER_CONN * 1400];
  for (int c = 0; c < CONNS; c++) {
    fds[c] = e2e_connect(srv.port);
    assert_true(fds[c] >= 0);
    size_t o = 0;
    for (int i = 0; i < PER_CONN; i++) {
      char body[64];
      int bl = snprintf(body, sizeof body, "{\"UserID\":\"d%d_%d\"}", c, i);
      o += (size_t)snprintf(req + o, sizeof req - o,
                            "POST /v4/im_open_login_svc/account_import?sdkappid=%u&identifier=administrator&usersig=%s&random=%d&contenttype=json HTTP/1.1\r\n"
                            "Host: x\r\nContent-Length: %d\r\n\r\n%s", app, sig, i, bl, body);
    }
    assert_int_equal(e2e_send(fds[c], req, o), 0);
  }
  /* read acknowledgements until about half are in, then kill -9 */
  int acked[CONNS] = { 0 }, total = 0;
  char body[4096];
  while (total < CONNS * PER_CONN / 2) {
    for (int c = 0; c < CONNS; c++) {
      if (acked[c] == PER_CONN) continue;
      int s = e2e_http_read(fds[c], body, sizeof body, 5000);
      assert_int_equal(s, 200);
      assert_non_null(strstr(body, "\"ErrorCode\":0"));
      acked[c]++;
      total++;
    }
  }
  e2e_server_kill(&srv);
  /* responses already in the socket buffers were acknowledged too */
  for (int c = 0; c < CONNS; c++) {
    while (acked[c] < PER_CONN && e2e_http_read(fds[c], body, sizeof body, 200) == 200) { acked[c]++; total++; }
    close(fds[c]);
  }
  print_message("acknowledged %d of %d before kill -9\n", total, CONNS * PER_CONN);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  for (int c = 0; c < CONNS; c++) {
    for (int i = 0; i < acked[c]; i += 50) {
      char check[4096], out[65536];
      size_t o = (size_t)snprintf(check, sizeof check, "{\"CheckItem\":[");
      for (int k = i; k < i + 50 && k < acked[c]; k++)
        o += (size_t)snprintf(check + o, sizeof check - o, "%s{\"UserID\":\"d%d_%d\"}", k > i ? "," : "", c, k);
      snprintf(check + o, sizeof check - o, "]}");
      assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "im_open_login_svc/account_check", check, out, sizeof out), 200);
      if (strstr(out, "NotImported")) fail_msg("an acknowledged import was lost: conn %d near %d: %s", c, i, out);
    }
  }
  assert_int_equal(e2e_server_stop(&srv), 0);
  e2e_dir_remove(&srv);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_kill9_keeps_acknowledged) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
