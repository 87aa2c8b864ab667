/* End-to-end durability: a client process imports accounts as fast as it can
 * over several pipelined connections and records every acknowledged UserID;
 * the server is killed with SIGKILL in the middle; after a restart every
 * acknowledged import must be there ("nothing acknowledged is ever lost"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

#define CONNS 4
#define WINDOW 16        /* requests in flight per connection */

/* Child: keep WINDOW requests in flight per connection; log acks. */
static void client(int port, uint32_t app, const char *sig, const char *ack_path)
{
  FILE *acks = fopen(ack_path, "w");
  int fds[CONNS], sent[CONNS] = { 0 }, got[CONNS] = { 0 };
  char body[4096], req[2048];
  for (int c = 0; c < CONNS; c++) fds[c] = e2e_connect(port);
  for (;;) {
    for (int c = 0; c < CONNS; c++) {
      while (sent[c] - got[c] < WINDOW) {
        char b[64];
        int bl = snprintf(b, sizeof b, "{\"UserID\":\"d%d_%d\"}", c, sent[c]);
        int n = snprintf(req, sizeof req,
                         "POST /v4/im_open_login_svc/account_import?sdkappid=%u&identifier=administrator&usersig=%s&random=1&contenttype=json HTTP/1.1\r\n"
                         "Host: x\r\nContent-Length: %d\r\n\r\n%s", app, sig, bl, b);
        if (e2e_send(fds[c], req, (size_t)n)) _exit(0);
        sent[c]++;
      }
      if (e2e_http_read(fds[c], body, sizeof body, 2000) != 200 || !strstr(body, "\"ErrorCode\":0")) _exit(0);
      fprintf(acks, "d%d_%d\n", c, got[c]++);
      fflush(acks);
    }
  }
}

static void test_kill9_keeps_acknowledged(void **st)
{
  (void)st;
  e2e_server_t srv;
  uint32_t app;
  char key[80], sig[1024], ack_path[300];
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  static const char *const args[] = { "--rest-rate-limit", "1000000", NULL };
  assert_int_equal(e2e_server_start(&srv, args), 0);
  e2e_usersig(app, key, "administrator", 3600, sig, sizeof sig);
  snprintf(ack_path, sizeof ack_path, "%s/acks.txt", srv.dir);
  pid_t pid = fork();
  if (pid == 0) client(srv.port, app, sig, ack_path);
  usleep(700 * 1000);
  e2e_server_kill(&srv);          /* SIGKILL while imports are flowing */
  waitpid(pid, NULL, 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  FILE *f = fopen(ack_path, "r");
  assert_non_null(f);
  char line[64], batch[4096], out[65536];
  int total = 0, n = 0;
  size_t o = 0;
  for (;;) {
    int more = fgets(line, sizeof line, f) != NULL;
    if (more) {
      line[strcspn(line, "\n")] = 0;
      o += (size_t)snprintf(batch + o, sizeof batch - o, "%s{\"UserID\":\"%s\"}", n ? "," : "{\"CheckItem\":[", line);
      n++;
      total++;
    }
    if (n == 50 || (!more && n)) {
      snprintf(batch + o, sizeof batch - o, "]}");
      assert_int_equal(e2e_v4(srv.port, app, key, "administrator", "im_open_login_svc/account_check", batch, out, sizeof out), 200);
      if (strstr(out, "NotImported")) fail_msg("an acknowledged import was lost: %s", out);
      n = 0;
      o = 0;
    }
    if (!more) break;
  }
  fclose(f);
  print_message("%d acknowledged imports survived kill -9\n", total);
  assert_true(total > 0);
  assert_int_equal(e2e_server_stop(&srv), 0);
  e2e_dir_remove(&srv);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_kill9_keeps_acknowledged) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
