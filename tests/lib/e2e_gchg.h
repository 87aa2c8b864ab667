/* e2e_gchg.h — the group steps of the tests of message changes (docs/decisions/groups-messages.md §17, §19):
 * log in, create a Public group, send a text (targeted or not), recall, modify, and one group_sync page from
 * two cursors. Include after e2e_call.h and e2e_check.h in a file with file-scope `srv`, `app` and `key` (as
 * e2e_call.h says), included after them; every step fails the test on an error. Test-only. */
#ifndef IMC_TESTS_E2E_GCHG_H
#define IMC_TESTS_E2E_GCHG_H

#include "e2e_call.h"
#include "e2e_check.h"

static inline void login(wsc_t *c, const char *user)
{
  assert_int_equal(wsc_login(c, srv.port, app, key, user, "Web"), 0);
}

/* A message of from (to: a JSON array of recipients, or NULL) with text: its seq. */
static inline json_int_t send_text(const char *gid, const char *from, const char *to, const char *text)
{
  static int random = 1;
  json_t *r = to ? call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"%s\",\"To_Account\":%s,\"Random\":%d,"
                                            "\"MsgBody\":" TEXT("%s") "}", gid, from, to, random++, text)
                 : call(G("send_group_msg"), "{\"GroupId\":\"%s\",\"From_Account\":\"%s\",\"Random\":%d,"
                                            "\"MsgBody\":" TEXT("%s") "}", gid, from, random++, text);
  if (jint(r, "ErrorCode")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  json_int_t seq = jint(r, "MsgSeq");
  json_decref(r);
  return seq;
}

static inline void recall(const char *gid, json_int_t seq)
{
  json_t *r = call(G("group_msg_recall"), "{\"GroupId\":\"%s\",\"MsgSeqList\":[{\"MsgSeq\":%lld}]}", gid, (long long)seq);
  assert_int_equal(jint(r, "ErrorCode"), 0);
  assert_int_equal(jint(json_array_get(json_object_get(r, "RecallRetList"), 0), "RetCode"), 0);
  json_decref(r);
}

static inline void modify(const char *gid, json_int_t seq, const char *text)
{
  v4_ok(call("openim/modify_group_msg", "{\"GroupId\":\"%s\",\"MsgSeq\":%lld,\"MsgBody\":" TEXT("%s") "}", gid,
             (long long)seq, text));
}

static inline void create(const char *gid, const char *owner, const char *members)
{
  v4_ok(call(G("create_group"), "{\"Type\":\"Public\",\"Name\":\"c\",\"GroupId\":\"%s\",\"Owner_Account\":\"%s\","
                                "\"MemberList\":%s}", gid, owner, members));
}

/* One group_sync page from (after, chg) (chg < 0: no after_change); limit 0: the default. */
static inline json_t *sync_page(wsc_t *c, const char *gid, json_int_t after, json_int_t chg, int limit)
{
  char lim[32] = "", ch[48] = "";
  if (limit) snprintf(lim, sizeof lim, ",\"limit\":%d", limit);
  if (chg >= 0) snprintf(ch, sizeof ch, ",\"after_change\":%lld", (long long)chg);
  json_t *r = wsc_rpc(c, "group_sync", "\"group_id\":\"%s\",\"after_seq\":%lld%s%s", gid, (long long)after, ch, lim);
  assert_non_null(r);
  if (jint(r, "code")) fail_msg("%s", json_dumps(r, JSON_COMPACT));
  return r;
}

#endif
