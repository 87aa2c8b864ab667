/* End-to-end: a message whose stored body does not parse (§88: delivered
 * marked damaged) can be repaired by a modify that gives MsgBody, and a
 * modify that gives only CloudCustomData — nothing it could merge into — is
 * refused 90007 with nothing changed (docs/decisions/messaging-c2c-checks3.md
 * §90). The bodies are damaged in the SQLite file while the server is
 * stopped (e2e_damage.h). One-to-one (REST modify_c2c_msg) and group (REST
 * modify_group_msg): the refusal, then the repair (pushed as an ordinary
 * modify; WebSocket history / group_history and REST admin_getroammsg /
 * group_msg_get_simple show the new body, not damaged), then an ordinary
 * CloudCustomData modify of the repaired message. Until 2026-12-06 every
 * modify of a damaged message answered 70500 ("retry") for ever. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_call.h"
#include "e2e_check.h"
#include "e2e_damage.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

/* The refusal: 90007 naming the damage, ActionStatus FAIL. */
static void refused(json_t *r)
{
  v4_code(r, 90007);
  assert_string_equal(jstr(r, "ActionStatus"), "FAIL");
  if (!strstr(jstr(r, "ErrorInfo"), "damaged")) fail_msg("ErrorInfo does not name the damage: %s", json_dumps(r, 0));
  json_decref(r);
}

/* A push's message text. */
static const char *text(json_t *p)
{
  return jstr(json_array_get(json_object_get(json_object_get(p, "msg"), "body"), 0), "MsgContent.Text");
}

/* The one message of a list: its text ("" none), damaged (1/0), its CloudCustomData ("" none) into out. */
static void one(json_t *list, const char *body, const char *flag, const char *cloud, char *out, size_t cap)
{
  json_t *m = json_array_get(list, 0); /* each read asks for the one newest */
  const char *t = jstr(json_array_get(json_object_get(m, body), 0), "MsgContent.Text");
  int d = json_is_true(json_object_get(m, flag)) || jint(m, flag) == 1;
  snprintf(out, cap, "%s|%s|%s", t, d ? "damaged" : "-", jstr(m, cloud));
}

/* A sync from 0 made live: the one-to-one message's events ("msg", "modify") with their text, "[damaged]" for one
 * without a body. */
static void sync_texts(wsc_t *bob, char *out, size_t cap)
{
  json_t *all = wsc_sync_live(bob), *e;
  size_t i;
  assert_non_null(all);
  out[0] = 0;
  json_array_foreach(all, i, e) {
    json_t *m = json_object_get(e, "msg");
    if (!m) continue;
    const char *t = json_is_true(json_object_get(m, "damaged")) ? "[damaged]" : text(e);
    snprintf(out + strlen(out), cap - strlen(out), "%s:%s,", jstr(e, "type"), t);
  }
  json_decref(all);
}

static void c2c_state(wsc_t *bob, const char *want)
{
  char got[200];
  json_t *r = wsc_rpc(bob, "history", "\"peer\":\"alice\",\"limit\":1");
  assert_int_equal(jint(r, "code"), 0);
  one(json_object_get(r, "msgs"), "body", "damaged", "cloud_custom_data", got, sizeof got);
  if (strcmp(got, want)) fail_msg("history: %s, want %s", got, want);
  json_decref(r);
  r = call("openim/admin_getroammsg", "{\"Operator_Account\":\"bob\",\"Peer_Account\":\"alice\",\"MaxCnt\":1,"
                                      "\"MinTime\":0,\"MaxTime\":0}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  one(json_object_get(r, "MsgList"), "MsgBody", "IsDamaged", "CloudCustomData", got, sizeof got);
  if (strcmp(got, want)) fail_msg("admin_getroammsg: %s, want %s", got, want);
  json_decref(r);
}

static void grp_state(wsc_t *bob, const char *want)
{
  char got[200];
  json_t *r = wsc_rpc(bob, "group_history", "\"group_id\":\"g1\",\"limit\":1");
  assert_int_equal(jint(r, "code"), 0);
  one(json_object_get(r, "msgs"), "body", "damaged", "cloud_custom_data", got, sizeof got);
  if (strcmp(got, want)) fail_msg("group_history: %s, want %s", got, want);
  json_decref(r);
  r = call(G("group_msg_get_simple"), "{\"GroupId\":\"g1\",\"ReqMsgNumber\":1}");
  assert_int_equal(jint(r, "ErrorCode"), 0);
  one(json_object_get(r, "RspMsgList"), "MsgBody", "IsDamaged", "CloudCustomData", got, sizeof got);
  if (strcmp(got, want)) fail_msg("group_msg_get_simple: %s, want %s", got, want);
  json_decref(r);
}

static void test_a_damaged_message_is_repaired_by_a_modify_with_its_body(void **st)
{
  (void)st;
  assert_int_equal(e2e_start(&srv, "china", &app, key, NULL), 0);
  import_users(srv.port, app, key, (const char *const[]){ "alice", "bob", NULL });
  json_t *r = call("openim/sendmsg", "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgRandom\":7,"
                                     "\"CloudCustomData\":\"c0\",\"MsgBody\":" TEXT("m1") "}");
  char mk[80];
  snprintf(mk, sizeof mk, "%s", jstr(r, "MsgKey"));
  json_decref(r);
  json_decref(call(G("create_group"), "{\"Owner_Account\":\"alice\",\"Type\":\"Public\",\"GroupId\":\"g1\","
                                      "\"Name\":\"g\",\"MemberList\":[{\"Member_Account\":\"bob\"}]}"));
  r = call(G("send_group_msg"), "{\"GroupId\":\"g1\",\"From_Account\":\"alice\",\"Random\":7,"
                                "\"CloudCustomData\":\"c0\",\"MsgBody\":" TEXT("g1") "}");
  json_int_t gseq = jint(r, "MsgSeq");
  json_decref(r);
  assert_int_equal(e2e_server_stop(&srv), 0);
  e2e_damage(&srv, E2E_C2C_DAMAGE("{\"MsgBody\":[{\"MsgType\":\"TIMTe"), app, 7);
  e2e_damage(&srv, E2E_GRP_DAMAGE("g1", "[1,2]"), app, 7);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  wsc_t bob;
  assert_int_equal(wsc_login(&bob, srv.port, app, key, "bob", "Web"), 0);
  char got[200];
  sync_texts(&bob, got, sizeof got);
  assert_string_equal(got, "msg:[damaged],");

  /* one-to-one: only CloudCustomData cannot be merged into a damaged body: refused, nothing changed */
  c2c_state(&bob, "|damaged|");
  refused(call("openim/modify_c2c_msg", "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgKey\":\"%s\","
                                        "\"CloudCustomData\":\"c1\"}", mk));
  c2c_state(&bob, "|damaged|");
  /* with MsgBody: the body is replaced whole, the row repaired and the modify pushed */
  v4_ok(call("openim/modify_c2c_msg", "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgKey\":\"%s\","
                                      "\"MsgBody\":" TEXT("fixed") "}", mk));
  json_t *p = wsc_push(&bob, "modify", 3000);
  assert_non_null(p);
  assert_string_equal(text(p), "fixed");
  assert_null(json_object_get(json_object_get(p, "msg"), "damaged"));
  assert_true(json_is_true(json_object_get(json_object_get(p, "msg"), "modified")));
  json_decref(p);
  c2c_state(&bob, "fixed|-|");
  /* an ordinary message now: CloudCustomData alone is merged */
  v4_ok(call("openim/modify_c2c_msg", "{\"From_Account\":\"alice\",\"To_Account\":\"bob\",\"MsgKey\":\"%s\","
                                      "\"CloudCustomData\":\"c2\"}", mk));
  c2c_state(&bob, "fixed|-|c2");

  /* the group: the same */
  grp_state(&bob, "|damaged|");
  refused(call("openim/modify_group_msg", "{\"GroupId\":\"g1\",\"MsgSeq\":%lld,\"CloudCustomData\":\"c1\"}",
               (long long)gseq));
  grp_state(&bob, "|damaged|");
  v4_ok(call("openim/modify_group_msg", "{\"GroupId\":\"g1\",\"MsgSeq\":%lld,\"MsgBody\":" TEXT("gfixed") "}",
             (long long)gseq));
  p = wsc_push(&bob, "group_modify", 3000);
  assert_non_null(p);
  assert_string_equal(text(p), "gfixed");
  assert_null(json_object_get(json_object_get(p, "msg"), "damaged"));
  json_decref(p);
  grp_state(&bob, "gfixed|-|");
  v4_ok(call("openim/modify_group_msg", "{\"GroupId\":\"g1\",\"MsgSeq\":%lld,\"CloudCustomData\":\"c2\"}",
             (long long)gseq));
  grp_state(&bob, "gfixed|-|c2");

  /* repaired for good: the rows read whole after a restart, and nothing more is counted damaged */
  wsc_close(&bob);
  assert_int_equal(e2e_server_stop(&srv), 0);
  assert_int_equal(e2e_server_start(&srv, NULL), 0);
  assert_int_equal(wsc_login(&bob, srv.port, app, key, "bob", "Web"), 0);
  sync_texts(&bob, got, sizeof got);
  assert_string_equal(got, "msg:fixed,modify:fixed,modify:fixed,");
  c2c_state(&bob, "fixed|-|c2");
  grp_state(&bob, "gfixed|-|c2");
  assert_int_equal(e2e_healthz_stat(srv.port, "damaged", "rows"), 0);
  wsc_close(&bob);
  assert_int_equal(e2e_finish(&srv), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_a_damaged_message_is_repaired_by_a_modify_with_its_body),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
