/* End-to-end: no reply before the sync that makes its commit durable
 * (store_writer.h, "Sync"). The server runs with IMCLOUD_TEST_SYNC_HOLD set:
 * while the hold file exists its writer's sync thread does not sync the WAL.
 * With the file in place a WebSocket send and a REST sendmsg are sent; the
 * first batch commits — another connection reads its message, and GET
 * /healthz counts a batch committed and not synced (a later one waits in
 * the writer's open transaction for that sync) — but neither sender gets a
 * reply, the recipient's live device gets no push and the count of syncs
 * (made or skipped) does not move. Once the file is removed both replies (code 0) and the push arrive
 * and /healthz shows the batches synced. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "store/store.h"
#include "store/store_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char hold[128];

static void sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static int setup(void **st)
{
  (void)st;
  return e2e_start_sync_held(&srv, hold, sizeof hold, "sync", "china", &app, key, NULL);
}

static int teardown(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return e2e_finish(&srv);
}

static int rows;
static void count_row(void *ud, const store_msg_t *m) { (void)ud; (void)m; rows++; }

/* Messages stored in the conversation of a and b, read by a connection of
 * the test's own (what the reader pool would see). */
static int stored_messages(const char *a, const char *b)
{
  store_t *s;
  uint32_t na, nb;
  assert_int_equal(store_open_reader(srv.dir, &s), 0);
  assert_int_equal(store_account_get(s, app, a, &na), 0);
  assert_int_equal(store_account_get(s, app, b, &nb), 0);
  rows = 0;
  assert_int_equal(store_msg_history(s, app, store_c2c_conv(na, nb), 0, 0, 0, INT64_MAX, 100, count_row, NULL), 0);
  store_close(s);
  return rows;
}

static void test_no_reply_before_sync(void **st)
{
  (void)st;
  const char *users[] = { "sa", "sb", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a, b;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "sa", "Web"), 0);
  assert_int_equal(wsc_login(&b, srv.port, app, key, "sb", "Web"), 0);
  json_decref(wsc_sync_live(&b)); /* b is live: a stored message is pushed to it */
  for (int waited = 0; e2e_healthz_stat(srv.port, "sync", "unsynced") && waited < 30000; waited += 10) sleep_ms(10); /* ASan on a loaded box: slow */
  assert_int_equal(e2e_healthz_stat(srv.port, "sync", "unsynced"), 0);

  e2e_sync_hold(hold, 1);
  assert_int_equal(e2e_ws_send_text(a.fd, "{\"id\":7,\"op\":\"send\",\"to\":\"sb\",\"random\":4242,"
                                          "\"body\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"held\"}}]}"), 0);
  /* the REST send on a raw connection, its reply read later */
  char sig[1024], req[4096];
  const char *body = "{\"From_Account\":\"sa\",\"To_Account\":\"sb\",\"MsgRandom\":4343,\"SyncOtherMachine\":2,"
                     "\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"held rest\"}}]}";
  e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
  int rest = e2e_connect(srv.port);
  assert_true(rest >= 0);
  int n = snprintf(req, sizeof req,
                   "POST /v4/openim/sendmsg?sdkappid=%u&identifier=administrator&usersig=%s&random=1&contenttype=json "
                   "HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   app, sig, strlen(body), body);
  assert_int_equal(e2e_send(rest, req, (size_t)n), 0);

  /* committed (readable elsewhere) and waiting for its sync; the other one
   * in the same batch or in the next transaction, which waits for that sync */
  for (int waited = 0; stored_messages("sa", "sb") < 1 && waited < 10000; waited += 10) sleep_ms(10);
  assert_true(stored_messages("sa", "sb") >= 1);
  assert_true(e2e_healthz_stat(srv.port, "sync", "unsynced") >= 1);
  /* syncs made or skipped: the held batch's sync is skipped when a sync of a batch just before the hold
   * (the server's own bookkeeping) ran after its WAL write and covered it (store_writer.h, "Sync") */
  long long syncs = e2e_healthz_stat(srv.port, "sync", "syncs") + e2e_healthz_stat(srv.port, "sync", "skipped");
  /* nothing answered, nothing pushed while the sync is held */
  char out[4096];
  assert_int_equal(wsc_read(&a, 400), -1);
  assert_int_equal(wsc_read(&b, 100), -1);
  assert_int_equal(e2e_http_read(rest, out, sizeof out, 100), -1);
  assert_int_equal(e2e_healthz_stat(srv.port, "sync", "syncs") + e2e_healthz_stat(srv.port, "sync", "skipped"), syncs);
  assert_true(e2e_healthz_stat(srv.port, "sync", "unsynced") >= 1);

  e2e_sync_hold(hold, 0);
  int id = 7;
  json_t *r = wsc_take(&a, match_id, &id, 10000);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  json_decref(r);
  assert_int_equal(e2e_http_read(rest, out, sizeof out, 10000), 200);
  json_t *o = json_loads(out, 0, NULL);
  assert_int_equal(jint(o, "ErrorCode"), 0);
  json_decref(o);
  close(rest);
  json_t *p = wsc_push(&b, "msg", 10000);
  assert_non_null(p);
  json_decref(p);
  assert_true(e2e_healthz_stat(srv.port, "sync", "syncs") + e2e_healthz_stat(srv.port, "sync", "skipped") > syncs);
  for (int waited = 0; e2e_healthz_stat(srv.port, "sync", "unsynced") && waited < 30000; waited += 10) sleep_ms(10); /* ASan on a loaded box: slow */
  assert_int_equal(e2e_healthz_stat(srv.port, "sync", "unsynced"), 0);
  assert_int_equal(e2e_healthz_stat(srv.port, "sync", "failed"), 0);
  wsc_close(&a);
  wsc_close(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_no_reply_before_sync),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
