/* End-to-end: a change of a message past the group retention is never handed over by group_sync, and the
 * retention purge deletes it with its message; the group's change counter never goes back
 * (docs/decisions/groups-messages.md §17). The server runs on the test clock with the purge every second. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_check.h"
#include "e2e_op.h"
#include "store/store_grp.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];
static char auth[160]; /* the operator token: moves the test clock */
static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-11-20", "--msg-purge-interval-s", "1", NULL };
#define RETENTION 604800 /* the new app's edition: 7 history days */

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  e2e_make_app(&srv, "china", &app, key);
  if (op_token_auth(&srv, auth, sizeof auth)) return -1;
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* group_sync from (after, chg): its changes as "change=seq" joined by ","; the change cursor into *cursor. */
static void sync_changes(wsc_t *c, json_int_t after, json_int_t chg, char *out, size_t cap, json_int_t *cursor)
{
  json_t *r = wsc_rpc(c, "group_sync", "\"group_id\":\"cr-1\",\"after_seq\":%lld,\"after_change\":%lld", (long long)after,
                      (long long)chg), *e;
  size_t i;
  assert_int_equal(jint(r, "code"), 0);
  assert_true(json_is_true(json_object_get(r, "complete")));
  out[0] = 0;
  json_array_foreach(json_object_get(r, "changes"), i, e)
    snprintf(out + strlen(out), cap - strlen(out), "%s%lld=%lld", out[0] ? "," : "", (long long)jint(e, "change"),
             (long long)jint(e, "msg.seq"));
  *cursor = jint(r, "change");
  json_decref(r);
}

static int rows;
static void count_row(void *ud, const store_grp_msg_t *m) { (void)ud; (void)m; rows++; }

/* Wait for the purge pass (every second here) to leave `want` rows of group 1 on disk. */
static void expect_stored(int want)
{
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  for (int tries = 0; tries < 100; tries++) {
    rows = 0;
    assert_int_equal(store_grp_msg_history(s, app, 1, 0, 0, 0, 0, 100, count_row, NULL), 0);
    if (rows == want) break;
    usleep(100000);
  }
  store_close(s);
  assert_int_equal(rows, want);
}

static void test_expired_changes_gone(void **st)
{
  (void)st;
  int64_t now = op_clock_now(srv.port, auth);
  import_users(srv.port, app, key, (const char *const[]){ "e_a", "e_b", NULL });
  v4_ok(call(G("import_group"), "{\"Type\":\"Public\",\"Name\":\"old\",\"GroupId\":\"cr-1\",\"Owner_Account\":\"e_a\","
                                "\"CreateTime\":%lld,\"MemberList\":[{\"Member_Account\":\"e_b\"}]}",
             (long long)(now - RETENTION - 100)));
  /* seq 2 expires 50 s from now, seq 3 is recent */
  v4_ok(call(G("import_group_msg"), "{\"GroupId\":\"cr-1\",\"MsgList\":[{\"From_Account\":\"e_a\",\"SendTime\":%lld,"
                                    "\"Random\":1,\"MsgBody\":" TEXT("soon") "},{\"From_Account\":\"e_a\",\"SendTime\":%lld,"
                                    "\"Random\":2,\"MsgBody\":" TEXT("new") "}]}",
             (long long)(now - RETENTION + 50), (long long)(now - 10)));
  wsc_t c;
  assert_int_equal(wsc_login(&c, srv.port, app, key, "e_b", "Web"), 0);
  char got[128];
  json_int_t cur;
  sync_changes(&c, 3, 0, got, sizeof got, &cur);
  assert_string_equal(got, "");
  v4_ok(call(G("group_msg_recall"), "{\"GroupId\":\"cr-1\",\"MsgSeqList\":[{\"MsgSeq\":2}]}")); /* change 1 */
  v4_ok(call("openim/modify_group_msg", "{\"GroupId\":\"cr-1\",\"MsgSeq\":3,\"MsgBody\":" TEXT("n2") "}")); /* 2 */
  sync_changes(&c, 3, 0, got, sizeof got, &cur);
  assert_string_equal(got, "1=2,2=3");
  /* seq 2 passes the retention: its change is no longer handed over, purged or not, and the cursor still
   * reaches the group's last change */
  op_clock_advance(srv.port, auth, 100);
  sync_changes(&c, 3, 0, got, sizeof got, &cur);
  assert_string_equal(got, "2=3");
  assert_int_equal(cur, 2);
  expect_stored(1); /* the notice and seq 2 purged, with seq 2's change */
  store_t *s;
  uint32_t last = 0;
  assert_int_equal(store_open(srv.dir, &s), 0);
  assert_int_equal(store_grp_msg_last_change(s, app, 1, &last), 0);
  store_close(s);
  assert_int_equal(last, 2); /* the counter stays */
  sync_changes(&c, 3, 0, got, sizeof got, &cur);
  assert_string_equal(got, "2=3");
  v4_ok(call("openim/modify_group_msg", "{\"GroupId\":\"cr-1\",\"MsgSeq\":3,\"MsgBody\":" TEXT("n3") "}"));
  sync_changes(&c, 3, 2, got, sizeof got, &cur);
  assert_string_equal(got, "3=3");
  wsc_close(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_expired_changes_gone) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
