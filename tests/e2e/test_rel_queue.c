/* End-to-end: a relationship change is acknowledged only once durable, and
 * one refused by a full writer queue (60018) changes nothing — not even in
 * the server's memory. The writer queue holds one job; the test holds the
 * database's write lock (as a long CLI command would), so friend_add 1 is
 * taken by the writer and waits, friend_add 2 fills the queue and
 * friend_add 3 is refused at once. After the lock is released 1 and 2
 * commit; a restart shows the same. */
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


/* Wait (up to 30 s) until `inflight` writer jobs are submitted and not
 * done, `queued` of them not yet taken by the writer thread. */
static void wait_writer(int port, long long inflight, long long queued)
{
  for (int waited = 0; waited < 30000; waited += 10) {
    if (e2e_healthz_stat(port, "admission", "inflight") == inflight && e2e_healthz_stat(port, "writer", "queued") == queued)
      return;
    e2e_sleep_ms(10);
  }
  fail_msg("the writer never had %lld jobs in flight with %lld queued", inflight, queued);
}

/* Just after the server's 1 s tick wrote the meter's counts of the REST calls before (a writer job of its
 * own): the next tick, whose meter job would compete with the test's for the writer queue's one slot (taking
 * it, or refusing a friend_add 60018 while it waits to be handed over), is about a second away. The calls
 * before left counts, so a tick writes them: wait for the writer's job count to move, then for it to idle. */
static void after_a_tick(int port)
{
  long long jobs = e2e_healthz_stat(port, "writer", "jobs");
  int waited = 0;
  while (e2e_healthz_stat(port, "writer", "jobs") == jobs && waited < 30000) { e2e_sleep_ms(5); waited += 5; }
  if (waited >= 30000) fail_msg("no meter job in 30 s");
  wait_writer(port, 0, 0);
}

static int v4_send(int port, uint32_t app, const char *key, const char *cmd, const char *json_body)
{
  char sig[1024], req[4096];
  e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
  int fd = e2e_connect(port);
  assert_true(fd >= 0);
  int n = snprintf(req, sizeof req,
                   "POST /v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=1&contenttype=json HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   cmd, app, sig, strlen(json_body), json_body);
  assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
  return fd;
}

static json_t *read_reply(int fd)
{
  static char body[1 << 16];
  assert_int_equal(e2e_http_read(fd, body, sizeof body, 5000), 200);
  close(fd);
  return json_loads(body, 0, NULL);
}

static const char *relation(int port, uint32_t app, const char *key, const char *from, const char *to)
{
  static char rel[64];
  json_t *r = v4(port, app, key, "sns/friend_check", "{\"From_Account\":\"%s\",\"To_Account\":[\"%s\"]}", from, to);
  assert_non_null(r);
  snprintf(rel, sizeof rel, "%s", json_string_value(json_object_get(json_array_get(json_object_get(r, "InfoItem"), 0), "Relation")));
  json_decref(r);
  return rel;
}

#define ADD(from, to) "{\"From_Account\":\"" from "\",\"ForceAddFlags\":1,\"AddFriendItem\":[{\"To_Account\":\"" to "\",\"AddSource\":\"AddSource_Type_X\"}]}"

static void test_full_queue_refuses_and_undoes(void **st)
{
  (void)st;
  e2e_server_t srv;
  uint32_t app;
  char key[80];
  static const char *const args[] = { "--writer-max-jobs", "1", NULL };
  assert_int_equal(e2e_start(&srv, "china", &app, key, args), 0);
  const char *const users[] = { "q_a", "q_b", "q_c", "q_d", NULL };
  import_users(srv.port, app, key, users);
  after_a_tick(srv.port);
  store_t *lock;
  assert_int_equal(store_open(srv.dir, &lock), 0);
  assert_int_equal(store_exec(lock, "BEGIN IMMEDIATE"), 0);
  int fd1 = v4_send(srv.port, app, key, "sns/friend_add", ADD("q_a", "q_b"));
  /* the writer took it and waits for the lock (polled, not a fixed sleep:
   * under the sanitizers on a busy host 300 ms was not always enough) */
  wait_writer(srv.port, 1, 0);
  int fd2 = v4_send(srv.port, app, key, "sns/friend_add", ADD("q_a", "q_c"));
  wait_writer(srv.port, 2, 1); /* and this one waits in the queue's one slot */
  int fd3 = v4_send(srv.port, app, key, "sns/friend_add", ADD("q_a", "q_d"));
  json_t *r3 = read_reply(fd3);
  assert_int_equal(json_integer_value(json_object_get(r3, "ErrorCode")), 60018);
  json_decref(r3);
  /* refused: not in memory either (the first two are, awaiting their commit) */
  assert_string_equal(relation(srv.port, app, key, "q_a", "q_d"), "CheckResult_Type_NoRelation");
  assert_string_equal(relation(srv.port, app, key, "q_d", "q_a"), "CheckResult_Type_NoRelation");
  assert_int_equal(store_exec(lock, "ROLLBACK"), 0);
  store_close(lock);
  json_t *r1 = read_reply(fd1), *r2 = read_reply(fd2);
  assert_int_equal(json_integer_value(json_object_get(r1, "ErrorCode")), 0);
  assert_int_equal(json_integer_value(json_object_get(r2, "ErrorCode")), 0);
  json_decref(r1);
  json_decref(r2);
  e2e_server_kill(&srv);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  assert_string_equal(relation(srv.port, app, key, "q_a", "q_b"), "CheckResult_Type_BothWay");
  assert_string_equal(relation(srv.port, app, key, "q_a", "q_c"), "CheckResult_Type_BothWay");
  assert_string_equal(relation(srv.port, app, key, "q_a", "q_d"), "CheckResult_Type_NoRelation");
  json_t *g = v4(srv.port, app, key, "sns/friend_get", "{\"From_Account\":\"q_a\",\"StartIndex\":0}");
  assert_int_equal(json_integer_value(json_object_get(g, "FriendNum")), 2);
  assert_int_equal(json_integer_value(json_object_get(g, "StandardSequence")), 2);
  json_decref(g);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_full_queue_refuses_and_undoes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
