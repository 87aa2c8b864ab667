/* End-to-end: a dissolved group of more members than group_event_chunk
 * (here 3) tells its members in chunks, each a writer job of its own after
 * the dissolution (docs/decisions/groups.md §5, src/im/group_due.c):
 *  - every member gets group_dissolved exactly once: a synced member online
 *    live, with its useq; each member syncing from 0 afterwards, and again
 *    after a restart; GET /healthz counts the chunks (groups.event_chunks);
 *  - a server killed (SIGKILL) right after the dissolution's reply, while
 *    chunks are still due, appends the rest once restarted: every member
 *    reads exactly one group_dissolved;
 *  - a normal stop (SIGTERM) right after the reply appends the chunks still
 *    due before the writer stops: the next start has none to append;
 *  - every member's copy carries the same time and the group's creation
 *    time (created), so a member of a group created again with the same id
 *    while the old one's chunks are due tells the old group's event apart. */
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
#include "e2e_check.h"
#include "store/store.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static const char *const args[] = { "--group-event-chunk", "3", NULL };


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

/* Import n users prefix0..prefix{n-1} (one multiaccount_import: one commit, where one import per user
 * took 50 ms each under slow_args' writer pace) and create group gid (Work) with all of them, prefix0 the
 * owner. */
static void big_group(const char *prefix, int n, const char *gid)
{
  static char body[1 << 15];
  int len = snprintf(body, sizeof body, "{\"Accounts\":[");
  for (int i = 0; i < n; i++) len += snprintf(body + len, sizeof body - (size_t)len, "%s\"%s%d\"", i ? "," : "", prefix, i);
  snprintf(body + len, sizeof body - (size_t)len, "]}");
  json_t *r = v4(srv.port, app, key, "im_open_login_svc/multiaccount_import", "%s", body);
  assert_int_equal(json_array_size(json_object_get(r, "FailAccounts")), 0);
  v4_ok(r);
  len = snprintf(body, sizeof body, "{\"Type\":\"Private\",\"Name\":\"%s\",\"GroupId\":\"%s\",\"Owner_Account\":\"%s0\","
                                        "\"MemberList\":[", gid, gid, prefix);
  for (int i = 1; i < n; i++)
    len += snprintf(body + len, sizeof body - (size_t)len, "%s{\"Member_Account\":\"%s%d\"}", i > 1 ? "," : "", prefix, i);
  snprintf(body + len, sizeof body - (size_t)len, "]}");
  v4_ok(v4(srv.port, app, key, G("create_group"), "%s", body));
}

/* How many group_dissolved events of gid user reads syncing from 0 (each with a useq), the created and time
 * of the last (when asked), and, with live_ms, the ones that reach the session live within live_ms of each
 * other right after. */
static int dissolved(const char *user, const char *gid, int live_ms, json_int_t *created, json_int_t *time)
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
    if (created) *created = jint(e, "created");
    if (time) *time = jint(e, "time");
    n++;
  }
  json_decref(evs);
  /* a chunk appended right after the sync page reaches this synced session live instead: it counts as the
   * one delivery (a second one, by sync and live both, makes n 2). Every push within live_ms counts: two
   * waits of 1 ms each failed the test when the one live push came during the second. */
  json_t *p;
  while (live_ms && (p = wsc_push(&c, "group_dissolved", live_ms))) {
    if (!strcmp(jstr(p, "group_id"), gid)) n++;
    json_decref(p);
  }
  wsc_close(&c);
  return n;
}

/* The chunks may still be appending: a sync from 0, then what arrives live. */
static int dissolved_in_sync(const char *user, const char *gid) { return dissolved(user, gid, 100, NULL, NULL); }

/* dissolved_in_sync for members prefix0..prefix{n-1} at once: each syncs from 0 on its own session, then
 * every session's pushes within one 100 ms window (begun after the last sync) count too. Each member must
 * read exactly one group_dissolved of gid; a member that reads none is asked again in a next round, for
 * up to retry_ms (0: no second round). One window for all (a member's own window was 100 ms each). */
static void each_dissolved_once(const char *prefix, int n, const char *gid, int retry_ms)
{
  enum { MAXN = 32 };
  wsc_t c[MAXN];
  int done[MAXN] = { 0 }, cnt[MAXN];
  char name[32];
  assert_true(n <= MAXN);
  for (int waited = 0;; waited += 150) {
    int missing = 0;
    for (int i = 0; i < n; i++) {
      if (done[i]) continue;
      snprintf(name, sizeof name, "%s%d", prefix, i);
      assert_int_equal(wsc_login(&c[i], srv.port, app, key, name, "Web"), 0);
      json_t *evs = wsc_sync_live(&c[i]), *e;
      assert_non_null(evs);
      size_t k;
      cnt[i] = 0;
      json_array_foreach(evs, k, e) {
        if (strcmp(jstr(e, "type"), "group_dissolved") || strcmp(jstr(e, "group_id"), gid)) continue;
        assert_true(jint(e, "useq") > 0);
        cnt[i]++;
      }
      json_decref(evs);
    }
    usleep(100 * 1000); /* the live window of every session of this round */
    for (int i = 0; i < n; i++) {
      if (done[i]) continue;
      json_t *p;
      while ((p = wsc_push(&c[i], "group_dissolved", 1))) {
        if (!strcmp(jstr(p, "group_id"), gid)) cnt[i]++;
        json_decref(p);
      }
      wsc_close(&c[i]);
      if (cnt[i] > 1) fail_msg("%s%d read %d group_dissolved of %s", prefix, i, cnt[i], gid);
      done[i] = cnt[i] == 1;
      missing += !done[i];
    }
    if (!missing) return;
    if (waited >= retry_ms) fail_msg("%d members of %s read no group_dissolved", missing, gid);
    usleep(50 * 1000);
  }
}

static void test_chunks_reach_every_member(void **st)
{
  (void)st;
  big_group("ch", 10, "chunked");
  wsc_t d;
  assert_int_equal(wsc_login(&d, srv.port, app, key, "ch5", "Web"), 0);
  json_decref(wsc_sync_live(&d));
  json_int_t before = event_chunks();
  v4_ok(v4(srv.port, app, key, G("destroy_group"), "{\"GroupId\":\"chunked\"}"));
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
  for (int pass = 0; pass < 2; pass++) {
    each_dissolved_once("ch", 10, "chunked", 0);
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
  v4_ok(v4(srv.port, app, key, G("destroy_group"), "{\"GroupId\":\"killed\"}"));
  e2e_server_kill(&srv); /* 7 chunks: most still due */
  assert_int_equal(e2e_server_start(&srv, args), 0);
  each_dissolved_once("ck", 20, "killed", 3000);
  char name[32];
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  for (int i = 0; i < 20; i += 7) {
    snprintf(name, sizeof name, "ck%d", i);
    assert_int_equal(dissolved_in_sync(name, "killed"), 1);
  }
}

/* A server whose writer commits at most every 50 ms (writer_pace_us) and whose stop waits for no request
 * (shutdown_timeout_ms 0): a dissolution's chunks are still due for a while after its reply. */
static const char *const slow_args[] = { "--group-event-chunk", "3", "--writer-pace-us", "50000",
                                         "--shutdown-timeout-ms", "0", NULL };

/* Every chunk appended (the server was stopped or waited for): a sync from 0 only. */
static int dissolved_of(const char *user, const char *gid, json_int_t *created, json_int_t *time)
{
  return dissolved(user, gid, 0, created, time);
}

/* A normal stop (SIGTERM) right after the dissolution's reply, while most chunks are still due, appends
 * them before the writer stops: no WARN, the next start appends no chunk, every member reads exactly one
 * group_dissolved, each with the same time. */
static void test_stop_while_chunks_are_due(void **st)
{
  (void)st;
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, slow_args), 0);
  big_group("cs", 20, "stopped");
  v4_ok(v4(srv.port, app, key, G("destroy_group"), "{\"GroupId\":\"stopped\"}"));
  assert_int_equal(e2e_server_stop(&srv), 0); /* 7 chunks, one per 50 ms commit: most still due at the signal */
  char *log = e2e_server_log(&srv);
  assert_null(strstr(log, "appending due group events"));
  assert_non_null(strstr(log, "group events due appended before stopping"));
  free(log);
  assert_int_equal(e2e_server_start(&srv, args), 0);
  usleep(300000);
  assert_int_equal(event_chunks(), 0); /* the stop left nothing to append */
  char name[32];
  json_int_t created0 = 0, time0 = 0;
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "cs%d", i);
    json_int_t created = 0, time = 0;
    assert_int_equal(dissolved_of(name, "stopped", &created, &time), 1);
    if (!i) { created0 = created; time0 = time; }
    assert_true(created0 > 0 && time0 >= created0);
    assert_int_equal(created, created0); /* one payload for every chunk */
    assert_int_equal(time, time0);
  }
}

/* A group id dissolved and created again while the old group's chunks are still due: the old events go to
 * the old members only, each naming the old group's creation time, which the new group's events and
 * group_list do not carry; a member of both reads one group_dissolved, the old group's. */
static void test_reused_id_while_chunks_are_due(void **st)
{
  (void)st;
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, slow_args), 0);
  big_group("ru", 12, "reused");
  json_t *r = v4(srv.port, app, key, G("get_group_info"), "{\"GroupIdList\":[\"reused\"]}");
  assert_non_null(r);
  json_int_t old_created = json_integer_value(json_object_get(json_array_get(json_object_get(r, "GroupInfo"), 0), "CreateTime"));
  json_decref(r);
  usleep(1100000); /* the new group is created in a later second */
  static const char *const nu[] = { "nu0", "nu1", NULL };
  import_users(srv.port, app, key, nu);
  v4_ok(v4(srv.port, app, key, G("destroy_group"), "{\"GroupId\":\"reused\"}"));
  /* at once, the chunks due: ru0 owns the new group, ru1 is in both, nu0 and nu1 only in the new one */
  v4_ok(v4(srv.port, app, key, G("create_group"), "{\"Type\":\"Private\",\"Name\":\"n\",\"GroupId\":\"reused\","
                                               "\"Owner_Account\":\"ru0\",\"MemberList\":[{\"Member_Account\":\"ru1\"},"
                                               "{\"Member_Account\":\"nu0\"},{\"Member_Account\":\"nu1\"}]}"));
  assert_true(event_chunks() < 4); /* 12 members, 3 per chunk: not all appended yet */
  r = v4(srv.port, app, key, G("get_group_info"), "{\"GroupIdList\":[\"reused\"]}");
  json_int_t new_created = json_integer_value(json_object_get(json_array_get(json_object_get(r, "GroupInfo"), 0), "CreateTime"));
  json_decref(r);
  assert_true(new_created > old_created);
  /* the new group kicks nu1: its group_kicked names the new group */
  v4_ok(v4(srv.port, app, key, G("delete_group_member"), "{\"GroupId\":\"reused\",\"MemberToDel_Account\":[\"nu1\"]}"));
  for (int waited = 0; waited < 5000 && event_chunks() < 4; waited += 50) usleep(50000);
  assert_int_equal(event_chunks(), 4);
  char name[32];
  for (int i = 0; i < 12; i++) {
    snprintf(name, sizeof name, "ru%d", i);
    json_int_t created = 0, time = 0;
    assert_int_equal(dissolved_of(name, "reused", &created, &time), 1);
    assert_int_equal(created, old_created);
  }
  json_int_t created = 0, time = 0;
  assert_int_equal(dissolved_of("nu0", "reused", &created, &time), 0);
  assert_int_equal(dissolved_of("nu1", "reused", &created, &time), 0);
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "nu1", "Web"), 0);
  json_t *evs = wsc_sync_live(&c), *e;
  size_t i;
  int kicked = 0;
  json_array_foreach(evs, i, e) {
    if (strcmp(jstr(e, "type"), "group_kicked")) continue;
    assert_int_equal(jint(e, "created"), new_created);
    kicked++;
  }
  json_decref(evs);
  assert_int_equal(kicked, 1);
  wsc_close(&c);
  /* ru1's group_list shows the new group with its own creation time */
  assert_int_equal(wsc_login(&c, srv.port, app, key, "ru1", "Web"), 0);
  r = wsc_rpc(&c, "group_list", "%s", "");
  assert_non_null(r);
  json_t *g;
  int seen = 0;
  json_array_foreach(json_object_get(r, "groups"), i, g)
    if (!strcmp(jstr(g, "group_id"), "reused")) { assert_int_equal(jint(g, "created"), new_created); seen++; }
  json_decref(r);
  assert_int_equal(seen, 1);
  wsc_close(&c);
}

/* The metered lives (usage_group) of the test below: bit k set when the life (created old + k, dissolved
 * old + k, the last one still open) is there. */
typedef struct { int64_t old; int seen; } lives_t;
static void on_life(void *ud, int live, int64_t created_s, int64_t dissolved_s)
{
  lives_t *l = ud;
  for (int k = 0; k < 3; k++)
    if (!live && created_s == l->old + k && dissolved_s == (k < 2 ? l->old + k : INT64_MAX)) l->seen |= 1 << k;
}

static json_int_t create_time(const char *gid)
{
  json_t *r = v4(srv.port, app, key, G("get_group_info"), "{\"GroupIdList\":[\"%s\"]}", gid);
  assert_non_null(r);
  json_t *t = json_object_get(json_array_get(json_object_get(r, "GroupInfo"), 0), "CreateTime");
  assert_true(json_is_integer(t));
  json_int_t v = json_integer_value(t);
  json_decref(r);
  return v;
}

/* The same, with the id created again in the same second as the old group (the test clock stands still): the new
 * group's creation time is one second later than the old one's, so the old group's late group_dissolved (its
 * created) is still told apart; a third life in that second is one second later again. Before, both lives had
 * the clock's second: equal created on the old event and the new group. */
static void test_reused_id_in_the_same_second(void **st)
{
  (void)st;
  static const char *const clock_args[] = { "--group-event-chunk", "3", "--writer-pace-us", "50000",
                                            "--shutdown-timeout-ms", "0", "--test-clock", NULL };
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, clock_args), 0);
  big_group("sa", 12, "again");
  json_int_t old_created = create_time("again");
  v4_ok(v4(srv.port, app, key, G("destroy_group"), "{\"GroupId\":\"again\"}"));
  v4_ok(v4(srv.port, app, key, G("create_group"), "{\"Type\":\"Private\",\"Name\":\"n\",\"GroupId\":\"again\","
                                               "\"Owner_Account\":\"sa0\",\"MemberList\":[{\"Member_Account\":\"sa1\"}]}"));
  assert_true(event_chunks() < 4); /* the old group's chunks are still due */
  json_int_t new_created = create_time("again");
  assert_int_equal(new_created, old_created + 1);
  for (int waited = 0; waited < 5000 && event_chunks() < 4; waited += 50) usleep(50000);
  assert_int_equal(event_chunks(), 4);
  json_int_t created = 0, time = 0;
  assert_int_equal(dissolved_of("sa1", "again", &created, &time), 1); /* in both: the old group's event */
  assert_int_equal(created, old_created);
  assert_int_equal(time, old_created); /* the dissolution's clock */
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "sa1", "Web"), 0);
  json_t *r = wsc_rpc(&c, "group_list", "%s", ""), *g;
  assert_non_null(r);
  size_t i;
  int seen = 0;
  json_array_foreach(json_object_get(r, "groups"), i, g)
    if (!strcmp(jstr(g, "group_id"), "again")) { assert_int_equal(jint(g, "created"), new_created); seen++; }
  json_decref(r);
  assert_int_equal(seen, 1);
  wsc_close(&c);
  /* a third life in the same second; its dissolution (still that second by the clock) ends it */
  v4_ok(v4(srv.port, app, key, G("destroy_group"), "{\"GroupId\":\"again\"}"));
  v4_ok(v4(srv.port, app, key, G("create_group"), "{\"Type\":\"Private\",\"Name\":\"n\",\"GroupId\":\"again\","
                                               "\"Owner_Account\":\"sa0\"}"));
  assert_int_equal(create_time("again"), old_created + 2);
  /* each life is metered from its start (usage_group is keyed by it: the second life's row was dropped as the
   * first's replay), the second ended at its start; a restart keeps the creation time (the stored row's) */
  assert_int_equal(e2e_server_stop(&srv), 0);
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  lives_t l = { old_created, 0 };
  assert_int_equal(store_usage_group_each(s, app, INT64_MAX, on_life, &l), 0);
  store_close(s);
  assert_int_equal(l.seen, 7);
  assert_int_equal(e2e_server_start(&srv, clock_args), 0);
  assert_int_equal(create_time("again"), old_created + 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_chunks_reach_every_member),
    cmocka_unit_test(test_killed_while_chunks_are_due),
    cmocka_unit_test(test_reused_id_while_chunks_are_due),
    cmocka_unit_test(test_stop_while_chunks_are_due),
    cmocka_unit_test(test_reused_id_in_the_same_second),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
