/* End-to-end: a read that completes after the writer has stopped does not
 * reach it (src/api/server.c clears the reader pool's completion hook,
 * store_reader_on_done, before it stops the writer; the hook ends the
 * loop's nap, store_writer_nap_end, on the writer's state).
 *
 * The server runs with IMCLOUD_TEST_READER_DONE_HOLD: while the file exists
 * a read that has run is not handed back, until the pool stops. A history
 * read is made and held there; the server gets SIGTERM. Its stop waits for
 * the read (shutdown_timeout_ms 300), stops the writer (its state freed),
 * then the pool, whose stop lets the held read complete: the hook must no
 * longer be called. The server must exit 0; under the sanitizer build the
 * call on the freed writer is a heap-use-after-free, which aborts it
 * (checked: without the clearing in the stop path, the sanitizer build's
 * server failed this test). Nothing here measures time. */
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

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char dhold[128];

static int setup(void **st)
{
  (void)st;
  snprintf(dhold, sizeof dhold, "/tmp/imcloud-napstop-done-%d", (int)getpid());
  unlink(dhold);
  setenv("IMCLOUD_TEST_READER_DONE_HOLD", dhold, 1);
  const char *args[] = { "--shutdown-timeout-ms", "300", NULL };
  int rc = e2e_start(&srv, "singapore", &app, key, args);
  unsetenv("IMCLOUD_TEST_READER_DONE_HOLD");
  return rc;
}

static int teardown(void **st)
{
  (void)st;
  unlink(dhold);
  if (srv.pid) return e2e_finish(&srv);
  e2e_dir_remove(&srv);
  return 0;
}

static void test_read_completing_after_the_writer_stopped(void **st)
{
  (void)st;
  const char *users[] = { "sa", "sb", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "sa", "Web"), 0);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"sb\",\"random\":9,\"body\":" TEXT("before"));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  FILE *f = fopen(dhold, "w");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(e2e_ws_send_text(a.fd, "{\"id\":90,\"op\":\"history\",\"peer\":\"sb\",\"limit\":10}"), 0);
  /* the read runs and is held before its hand-back: 200 ms is plenty (were it not yet, the stop would still
   * have to exit 0; the test would only not reach the case) */
  usleep(200000);
  json_t *none = wsc_take(&a, match_id, &(int){ 90 }, 0);
  if (none) fail_msg("the held read was answered: %s", json_dumps(none, JSON_COMPACT));
  assert_int_equal(kill(srv.pid, SIGTERM), 0);
  assert_int_equal(e2e_server_wait_exit(&srv), 0);
  srv.pid = 0;
  wsc_close(&a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_read_completing_after_the_writer_stopped, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
