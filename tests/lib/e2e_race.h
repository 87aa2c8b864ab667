/* e2e_race.h — racing requests in end-to-end tests (header-only; include
 * after cmocka.h, sqlite3.h and e2e_msg.h): hold the server's database write
 * lock from the test so that the writer's jobs queue behind it, send v4
 * requests without waiting for their replies, wait until they reach the
 * writer, then read the replies once the lock is let go. Test-only. */
#ifndef IMC_TESTS_E2E_RACE_H
#define IMC_TESTS_E2E_RACE_H

#include "e2e_msg.h"

#include <unistd.h>

/* Take the write lock of srv's database (BEGIN IMMEDIATE on a connection of
 * the test's own); race_unlock lets it go. */
static inline sqlite3 *race_lock(const e2e_server_t *srv)
{
  char path[400];
  sqlite3 *db;
  snprintf(path, sizeof path, "%s/imcloud.db", srv->dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  return db;
}

static inline void race_unlock(sqlite3 *db)
{
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* Send a v4 request as the app's administrator on the open connection fd without waiting for the reply
 * (pipelined behind the requests sent on it). */
static inline void race_send_on(int fd, uint32_t app, const char *key, const char *cmd, const char *body)
{
  char sig[1024], req[4096];
  e2e_usersig(app, key, "administrator", 86400, sig, sizeof sig);
  int n = snprintf(req, sizeof req,
                   "POST /v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=1&contenttype=json HTTP/1.1\r\n"
                   "Host: t\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   cmd, app, sig, strlen(body), body);
  assert_true(n > 0 && (size_t)n < sizeof req);
  assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
}

/* Send a v4 request as the app's administrator on a fresh connection
 * without waiting for the reply; the connection for race_read. */
static inline int race_send(const e2e_server_t *srv, uint32_t app, const char *key, const char *cmd, const char *body)
{
  int fd = e2e_connect(srv->port);
  assert_true(fd >= 0);
  race_send_on(fd, app, key, cmd, body);
  return fd;
}

/* The reply of race_send's request, parsed (caller decrefs); closes fd. */
static inline json_t *race_read(int fd)
{
  static char body[1 << 16];
  assert_int_equal(e2e_http_read(fd, body, sizeof body, 15000), 200);
  close(fd);
  json_t *j = json_loads(body, 0, NULL);
  assert_non_null(j);
  return j;
}

/* Wait until n writer jobs are in flight (submitted, not completed). */
static inline void race_inflight(const e2e_server_t *srv, long long n)
{
  for (int waited = 0; waited < 10000; waited += 10) {
    if (e2e_healthz_stat(srv->port, "admission", "inflight") >= n) return;
    usleep(10000);
  }
  fail_msg("the requests did not reach the writer");
}

#endif
