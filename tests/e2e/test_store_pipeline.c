/* End-to-end: the storage pipeline seen from outside (docs/decisions/
 * store-pipeline.md). The writer queue cap refuses a write with 60018 while
 * another process holds the database's write lock, and the queued writes
 * still commit once it lets go. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "store/store.h"

static void sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static int code_of(const char *body)
{
  json_t *j = json_loads(body, 0, NULL);
  if (!j) fail_msg("reply is not JSON: %s", body);
  int c = (int)json_integer_value(json_object_get(j, "ErrorCode"));
  json_decref(j);
  return c;
}

/* Send a v4 request on a fresh connection without reading the reply. */
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

/* writer_max_jobs = 1. The test holds the write lock (as a long CLI command
 * would): write 1 is taken by the writer thread, which waits for the lock;
 * write 2 fills the queue; write 3 is refused at once with 60018 and nothing
 * of it is written. After the lock is released writes 1 and 2 commit. */
static void test_writer_queue_full(void **st)
{
  (void)st;
  e2e_server_t srv;
  uint32_t app;
  char key[80], body[4096];
  static const char *const args[] = { "--writer-max-jobs", "1", NULL };
  assert_int_equal(e2e_start(&srv, "china", &app, key, args), 0);
  store_t *lock;
  assert_int_equal(store_open(srv.dir, &lock), 0);
  assert_int_equal(store_exec(lock, "BEGIN IMMEDIATE"), 0);
  int fd1 = v4_send(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"u1\"}");
  sleep_ms(300); /* the writer took write 1 and waits for the lock */
  int fd2 = v4_send(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"u2\"}");
  sleep_ms(300);
  int fd3 = v4_send(srv.port, app, key, "im_open_login_svc/account_import", "{\"UserID\":\"u3\"}");
  assert_int_equal(e2e_http_read(fd3, body, sizeof body, 2000), 200);
  assert_int_equal(code_of(body), 60018);
  assert_non_null(strstr(body, "server busy"));
  assert_int_equal(store_exec(lock, "ROLLBACK"), 0);
  store_close(lock);
  assert_int_equal(e2e_http_read(fd1, body, sizeof body, 5000), 200);
  assert_int_equal(code_of(body), 0);
  assert_int_equal(e2e_http_read(fd2, body, sizeof body, 5000), 200);
  assert_int_equal(code_of(body), 0);
  close(fd1); close(fd2); close(fd3);
  int rc = e2e_v4(srv.port, app, key, "administrator", "im_open_login_svc/account_check",
                  "{\"CheckItem\":[{\"UserID\":\"u1\"},{\"UserID\":\"u2\"},{\"UserID\":\"u3\"}]}", body, sizeof body);
  assert_int_equal(rc, 200);
  json_t *j = json_loads(body, 0, NULL);
  json_t *items = json_object_get(j, "ResultItem");
  assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "AccountStatus")), "Imported");
  assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "AccountStatus")), "Imported");
  assert_string_equal(json_string_value(json_object_get(json_array_get(items, 2), "AccountStatus")), "NotImported");
  json_decref(j);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_writer_queue_full),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
