/* End-to-end: no reply before the sync that makes its commit durable
 * (store_writer.h, "Sync"). The server runs with IMCLOUD_TEST_SYNC_HOLD set:
 * while the hold file exists its writer's sync thread does not sync the WAL.
 * With the file in place a WebSocket send and a REST sendmsg are sent; the
 * first batch commits — another connection reads its message, and GET
 * /healthz counts a batch committed and not synced (a later one waits in
 * the writer's open transaction for that sync) — but neither sender gets a
 * reply, the recipient's live device gets no push and the count of syncs
 * (made or skipped) does not move. Once the file is removed both replies (code 0) and the push arrive
 * and /healthz shows the batches synced.
 *
 * The window between the commit and its sync as docs/delivery.md
 * ("Committed but not yet synced") describes it: the recipient's other
 * device reads the message with `history`, `sync` and `conversations`
 * (unread 1), the admin with `admin_getroammsg`, while the sender has no
 * reply and the live device no push; a kill -9 in that window loses
 * nothing — after the restart the message is there once, and the sender's
 * resend (same random) is answered with the original msg_key and seq. */
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

/* After each test, passed or failed: the sync runs again (a test that failed while holding it leaves the
 * next one a server that acknowledges nothing). */
static int release(void **st)
{
  (void)st;
  e2e_sync_hold(hold, 0);
  return 0;
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

/* The message with text in a list of MSGs (protocol's "body"), NULL when none; counts them in *n. */
static json_t *find_text(json_t *list, const char *text, int *n)
{
  json_t *e, *found = NULL;
  size_t i;
  *n = 0;
  json_array_foreach(list, i, e) {
    if (strcmp(jstr(json_array_get(json_object_get(e, "body"), 0), "MsgContent.Text"), text)) continue;
    if (!found) found = e;
    (*n)++;
  }
  return found;
}

/* The recipient's history with peer: how many messages carry text; the
 * first one's msg_key and seq into key_out / seq_out when given. */
static int history_count(wsc_t *c, const char *peer, const char *text, char *key_out, json_int_t *seq_out)
{
  json_t *r = wsc_rpc(c, "history", "\"peer\":\"%s\",\"limit\":100", peer);
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  int n;
  json_t *m = find_text(json_object_get(r, "msgs"), text, &n);
  if (m && key_out) snprintf(key_out, 64, "%s", jstr(m, "msg_key"));
  if (m && seq_out) *seq_out = jint(m, "seq");
  json_decref(r);
  return n;
}

static void test_unsynced_window_reads_and_kill9(void **st)
{
  (void)st;
  const char *users[] = { "ka", "kb", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a, live, reader;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "ka", "Web"), 0);
  assert_int_equal(wsc_login(&live, srv.port, app, key, "kb", "Web"), 0);
  assert_int_equal(wsc_login(&reader, srv.port, app, key, "kb", "Android"), 0);
  json_decref(wsc_sync_live(&live));
  for (int waited = 0; e2e_healthz_stat(srv.port, "sync", "unsynced") && waited < 30000; waited += 10) sleep_ms(10);
  assert_int_equal(e2e_healthz_stat(srv.port, "sync", "unsynced"), 0);

  e2e_sync_hold(hold, 1);
  assert_int_equal(e2e_ws_send_text(a.fd, "{\"id\":9,\"op\":\"send\",\"to\":\"kb\",\"random\":5151,\"body\":"
                                          TEXT("not yet synced") "}"), 0);
  char held_key[64] = "";
  json_int_t held_seq = 0;
  for (int waited = 0; !history_count(&reader, "ka", "not yet synced", NULL, NULL) && waited < 10000; waited += 20)
    sleep_ms(20);
  /* committed, not synced: every read shows it */
  assert_int_equal(history_count(&reader, "ka", "not yet synced", held_key, &held_seq), 1);
  assert_int_equal(held_seq, 1);
  assert_true(e2e_healthz_stat(srv.port, "sync", "unsynced") >= 1);
  json_t *evs = wsc_sync_live(&reader);
  assert_non_null(evs);
  json_t *e;
  size_t i;
  int in_sync = 0;
  json_array_foreach(evs, i, e)
    if (!strcmp(jstr(e, "msg.msg_key"), held_key)) in_sync++;
  json_decref(evs);
  assert_int_equal(in_sync, 1);
  json_t *cl = wsc_rpc(&reader, "conversations", "%s", "");
  assert_non_null(cl);
  assert_int_equal(jint(cl, "code"), 0);
  json_t *conv = json_array_get(json_object_get(cl, "conversations"), 0);
  assert_string_equal(jstr(conv, "peer"), "ka");
  assert_int_equal(jint(conv, "last_seq"), 1);
  assert_int_equal(jint(conv, "unread"), 1);
  json_decref(cl);
  json_t *roam = v4(srv.port, app, key, "openim/admin_getroammsg",
                    "{\"Operator_Account\":\"kb\",\"Peer_Account\":\"ka\",\"MaxCnt\":10,\"MinTime\":0,\"MaxTime\":0}");
  assert_non_null(roam);
  assert_int_equal(jint(roam, "ErrorCode"), 0);
  assert_int_equal(jint(roam, "MsgCnt"), 1);
  assert_string_equal(jstr(json_array_get(json_object_get(roam, "MsgList"), 0), "MsgKey"), held_key);
  json_decref(roam);
  /* but not acknowledged, not pushed */
  assert_int_equal(wsc_read(&a, 300), -1);
  assert_int_equal(wsc_read(&live, 100), -1);
  assert_true(e2e_healthz_stat(srv.port, "sync", "unsynced") >= 1);

  /* kill -9 inside the window: the sender never had its reply */
  e2e_server_kill(&srv);
  assert_int_equal(wsc_read(&a, 100), -1);
  wsc_close(&a);
  wsc_close(&live);
  wsc_close(&reader);
  e2e_sync_hold(hold, 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  /* nothing lost: the message is there, once; the resend is answered with the original */
  assert_int_equal(wsc_login(&reader, srv.port, app, key, "kb", "Android"), 0);
  char key2[64] = "";
  json_int_t seq2 = 0;
  assert_int_equal(history_count(&reader, "ka", "not yet synced", key2, &seq2), 1);
  assert_string_equal(key2, held_key);
  assert_int_equal(seq2, 1);
  assert_int_equal(wsc_login(&a, srv.port, app, key, "ka", "Web"), 0);
  json_t *r = wsc_rpc(&a, "send", "\"to\":\"kb\",\"random\":5151,\"body\":" TEXT("not yet synced"));
  assert_non_null(r);
  assert_int_equal(jint(r, "code"), 0);
  assert_string_equal(jstr(r, "msg_key"), held_key);
  assert_int_equal(jint(r, "seq"), 1);
  assert_true(json_is_true(json_object_get(r, "dup")));
  json_decref(r);
  assert_int_equal(history_count(&reader, "ka", "not yet synced", NULL, NULL), 1);
  wsc_close(&a);
  wsc_close(&reader);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_no_reply_before_sync, release),
    cmocka_unit_test_teardown(test_unsynced_window_reads_and_kill9, release),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
