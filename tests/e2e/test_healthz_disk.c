/* End-to-end: GET /healthz "disk" counts the bytes the server wrote to its
 * WAL and to its database file (store_ckpt.h store_disk_bytes; the
 * coalescing VFS's counters). The server checkpoints every 16 WAL pages
 * (--wal-checkpoint-pages 16), so a few dozen acknowledged sends both grow
 * the WAL and get copied into the database:
 *   - each acknowledged send committed at least one WAL frame (a page and
 *     its 24-byte header) more than was counted before it;
 *   - after the checkpoints the database file's count has grown too;
 *   - the counters never go back;
 *   - "ckpt" "ends" names why cycles of pinned rounds ended with their
 *     blocking round (store_ckpt.h store_ckpt_end_t): four counts, which
 *     together are no more than the checkpoints run;
 *   - "ckpt" "final_syncs" counts the blocking rounds whose database sync
 *     ran beside the next transaction: every such round that copied. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"

#define FRAME_BYTES (4096 + 24)

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  static const char *const args[] = { "--wal-checkpoint-pages", "16", NULL };
  return e2e_start(&srv, "china", &app, key, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static long long wal(void) { return e2e_healthz_stat(srv.port, "disk", "wal_bytes"); }
static long long db(void) { return e2e_healthz_stat(srv.port, "disk", "db_bytes"); }

static void test_disk_bytes_follow_commits(void **st)
{
  (void)st;
  const char *users[] = { "da", "db", NULL };
  import_users(srv.port, app, key, users);
  wsc_t a;
  assert_int_equal(wsc_login(&a, srv.port, app, key, "da", "Web"), 0);
  long long wal0 = wal(), db0 = db();
  assert_true(wal0 >= 0 && db0 >= 0);
  long long before = wal0;
  for (int i = 0; i < 40; i++) {
    json_t *r = wsc_rpc(&a, "send", "\"to\":\"db\",\"random\":%d,\"body\":" TEXT("counted"), 900 + i);
    assert_non_null(r);
    assert_int_equal(jint(r, "code"), 0);
    json_decref(r);
    long long now = wal();
    if (now < before + FRAME_BYTES) fail_msg("send %d acknowledged: WAL bytes %lld, %lld before it", i, now, before);
    before = now;
  }
  /* 40 commits of a frame or more each passed the 16-page threshold: checkpoints copied pages into the database */
  long long db1 = 0;
  for (int waited = 0; waited < 10000 && (db1 = db()) <= db0; waited += 10) e2e_sleep_ms(10);
  if (db1 <= db0) fail_msg("database bytes %lld after 40 commits past a 16-page threshold, %lld before", db1, db0);
  assert_true(wal() >= before);
  wsc_close(&a);
  char body[16384];
  assert_int_equal(e2e_http_timeout(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body, 30000), 200);
  json_t *o = json_loads(body, 0, NULL), *ck = json_object_get(o, "ckpt"), *ends = json_object_get(ck, "ends");
  assert_true(json_is_object(ends));
  assert_int_equal(json_object_size(ends), 4);
  long long sum = 0;
  static const char *const names[] = { "few", "flat", "wal_cap", "rounds" };
  for (int i = 0; i < 4; i++) {
    json_t *n = json_object_get(ends, names[i]);
    if (!json_is_integer(n) || json_integer_value(n) < 0) fail_msg("ckpt.ends.%s: %s", names[i], body);
    sum += json_integer_value(n);
  }
  long long runs = json_integer_value(json_object_get(ck, "runs")), failed = json_integer_value(json_object_get(ck, "failed"));
  assert_true(sum <= runs);
  /* every blocking round that copied ran its database sync beside the next transaction */
  json_t *fs = json_object_get(ck, "final_syncs"), *fmax = json_object_get(ck, "final_sync_max_us");
  if (!json_is_integer(fs) || !json_is_integer(fmax) || json_integer_value(fmax) < 0) fail_msg("ckpt.final_sync*: %s", body);
  json_t *cmax = json_object_get(ck, "copy_max_us"); /* the pinned rounds' copies: none without a pinned round */
  if (!json_is_integer(cmax) || json_integer_value(cmax) < 0 ||
      (json_integer_value(cmax) > 0 && json_integer_value(json_object_get(ck, "pinned")) == 0))
    fail_msg("ckpt.copy_max_us: %s", body);
  if (json_integer_value(fs) + failed < sum || json_integer_value(fs) > runs) fail_msg("ckpt.final_syncs: %s", body);
  json_decref(o);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_disk_bytes_follow_commits, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
