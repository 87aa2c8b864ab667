/* e2e_rel.h — REST relationship helpers for end-to-end tests (the account-deletion tests'
 * holders: friends and blocklists, read with their sequences). Header-only; needs e2e_msg.h's v4,
 * jint and jstr; every failure fails the test (cmocka). */
#ifndef IMC_TESTS_E2E_REL_H
#define IMC_TESTS_E2E_REL_H

#include "e2e_msg.h"

/* r is a v4 reply with ErrorCode 0 (freed). */
static inline void rel_expect_ok(json_t *r)
{
  assert_non_null(r);
  if (jint(r, "ErrorCode") != 0) fail_msg("expected OK, got %s", json_dumps(r, JSON_COMPACT));
  json_decref(r);
}

/* x and y friends both ways. */
static inline void rel_befriend(int port, uint32_t app, const char *key, const char *x, const char *y)
{
  rel_expect_ok(v4(port, app, key, "sns/friend_add", "{\"From_Account\":\"%s\",\"AddFriendItem\":[{\"To_Account\":\"%s\","
                   "\"AddSource\":\"AddSource_Type_Web\"}],\"AddType\":\"Add_Type_Both\",\"ForceAddFlags\":1}", x, y));
}

/* The UserIDs of reply r's array field at key `items`, "a,d," (the list's order), into out; r freed; returns
 * r's integer seq_field. */
static inline long long rel_list_of(json_t *r, const char *items, const char *seq_field, char *out, size_t cap)
{
  assert_int_equal(jint(r, "ErrorCode"), 0);
  size_t i, n = 0;
  json_t *v;
  out[0] = 0;
  json_array_foreach(json_object_get(r, items), i, v)
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s,", jstr(v, "To_Account"));
  long long seq = jint(r, seq_field);
  json_decref(r);
  return seq;
}

/* user's friends as listed, and its StandardSequence. */
static inline long long rel_friends_of(int port, uint32_t app, const char *key, const char *user, char *out, size_t cap)
{
  return rel_list_of(v4(port, app, key, "sns/friend_get", "{\"From_Account\":\"%s\",\"StartIndex\":0}", user),
                     "UserDataItem", "StandardSequence", out, cap);
}

/* user's blocklist as listed, and its CurruentSequence. */
static inline long long rel_blocked_by(int port, uint32_t app, const char *key, const char *user, char *out, size_t cap)
{
  return rel_list_of(v4(port, app, key, "sns/black_list_get", "{\"From_Account\":\"%s\",\"StartIndex\":0,"
                        "\"MaxLimited\":100,\"LastSequence\":0}", user), "BlackListItem", "CurruentSequence", out, cap);
}

#endif
