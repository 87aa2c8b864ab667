/* End-to-end: a dissolved group of more members than group_event_chunk
 * (here 3) tells its members in chunks, each a writer job of its own after
 * the dissolution (docs/decisions/groups.md §5, src/im/group_due.c):
 *  - every member gets group_dissolved exactly once: a synced member online
 *    live, with its useq; each member syncing from 0 afterwards, and again
 *    after a restart; GET /healthz counts the chunks (groups.event_chunks);
 *  - a server killed (SIGKILL) right after the dissolution's reply, while
 *    chunks are still due, appends the rest once restarted: every member
 *    reads exactly one group_dissolved. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--group-event-chunk", "3", NULL };

#define G(cmd) "group_open_http_svc/" cmd

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

static void ok(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode")) fprintf(stderr, "%s\n", jstr(r, "ErrorInfo"));
  assert_int_equal(jint(r, "ErrorCode"), 0);
  json_decref(r);
}

static json_int_t event_chunks(void)
{
  static char body[1 << 16];
  assert_int_equal(e2e_http(srv.port, "GET", "/healthz", NULL, NULL, body, sizeof body), 200);
  json_t *o = json_loads(body, 0, NULL);
  assert_non_null(o);
  json_int_t n = jint(o, "groups.event_chunks");
  json_decref(o);
  return n;
}

/* Import n users prefix0..prefix{n-1} and create group gid (Work) with all of them, prefix0 the owner. */
static void big_group(const char *prefix, int n, const char *gid)
{
  static char body[1 << 15];
  char name[32];
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "%s%d", prefix, i);
    const char *one[] = { name, NULL };
    import_users(srv.port, app, key, one);
  }
  int len = snprintf(body, sizeof body, "{\"Type\":\"Private\",\"Name\":\"%s\",\"GroupId\":\"%s\",\"Owner_Account\":\"%s0\","
                                        "\"MemberList\":[", gid, gid, prefix);
  for (int i = 1; i < n; i++)
    len += snprintf(body + len, sizeof body - (size_t)len, "%s{\"Member_Account\":\"%s%d\"}", i > 1 ? "," : "", prefix, i);
  snprintf(body + len, sizeof body - (size_t)len, "]}");
  ok(v4(srv.port, app, key, G("create_group"), "%s", body));
}

/* How many group_dissolved events of gid user reads syncing from 0 (each with a useq), and live right after. */
static int dissolved_in_sync(const char *user, const char *gid)
{
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, user, "Web"), 0);
  json_t *evs = wsc_sync_live(&c), *e;
  assert_non_null(evs);
  size_t i;
  int n = 0;
  json_array_foreach(evs, i, e) {
    if (strcmp(jstr(e, "type"), "group_dissolved") || strcmp(jstr(e, "group_id"), gid)) continue;
    assert_true(jint(e, "useq") > 0);
    n++;
  }
  json_decref(evs);
  /* a chunk appended right after the sync page reaches this synced session live instead: it counts as the
   * one delivery (a second one, by sync and live both, makes n 2) */
  json_t *p = wsc_push(&c, "group_dissolved", 1);
  if (p && !strcmp(jstr(p, "group_id"), gid)) n++;
  json_decref(p);
  assert_null(wsc_push(&c, "group_dissolved", 1));
  wsc_close(&c);
  return n;
}

static void test_chunks_reach_every_member(void **st)
{
  (void)st;
  big_group("ch", 10, "chunked");
  wsc_t d;
  assert_int_equal(wsc_login(&d, srv.port, app, key, "ch5", "Web"), 0);
  json_decref(wsc_sync_live(&d));
  json_int_t before = event_chunks();
  ok(v4(srv.port, app, key, G("destroy_group"), "{\"GroupId\":\"chunked\"}"));
  json_t *r = wsc_push(&d, "group_dissolved", 3000);
  assert_non_null(r);
  assert_string_equal(jstr(r, "group_id"), "chunked");
  assert_true(jint(r, "useq") > 0);
  json_decref(r);
  assert_null(wsc_push(&d, "group_dissolved", 300));
  wsc_close(&d);
  /* 10 members, 3 per chunk: 4 chunks, each its own job after the dissolution */
  for (int waited = 0; waited < 3000 && event_chunks() < before + 4; waited += 10) usleep(10000);
  assert_int_equal(event_chunks(), before + 4);
  char name[32];
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < 10; i++) {
      snprintf(name, sizeof name, "ch%d", i);
      assert_int_equal(dissolved_in_sync(name, "chunked"), 1);
    }
    if (!pass) {
      assert_int_equal(e2e_server_stop(&srv), 0);
      assert_int_equal(e2e_server_start(&srv, args), 0);
      assert_int_equal(event_chunks(), 0); /* nothing was left to append */
    }
  }
}

static void test_killed_while_chunks_are_due(void **st)
{
  (void)st;
  big_group("ck", 20, "killed");
  ok(v4(srv.port, app, key, G("destroy_group"), "{\"GroupId\":\"killed\"}"));
  e2e_server_kill(&srv); /* 7 chunks: most still due */
  assert_int_equal(e2e_server_start(&srv, args), 0);
  char name[32];
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "ck%d", i);
    int n = 0;
    for (int waited = 0; waited < 3000 && !(n = dissolved_in_sync(name, "killed")); waited += 50) usleep(50000);
    assert_int_equal(n, 1);
  }
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  for (int i = 0; i < 20; i += 7) {
    snprintf(name, sizeof name, "ck%d", i);
    assert_int_equal(dissolved_in_sync(name, "killed"), 1);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_chunks_reach_every_member),
    cmocka_unit_test(test_killed_while_chunks_are_due),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
