/* A stored message's content as the send dedupe compares it
 * (store_content.h; docs/decisions/messaging-c2c-checks2.md §69): the packed
 * text up to its OfflinePushInfo member. Every row of the table is a pair of
 * bodies and whether they are the same content; the hash agrees with the
 * byte comparison on every row. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "store/store_content.h"

#define BODY(t) "{\"MsgBody\":[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"" t "\"}}]"

static const struct { const char *a, *b; int same; } rows[] = {
  { BODY("hi") "}", BODY("hi") "}", 1 },
  { BODY("hi") "}", BODY("ho") "}", 0 },
  /* OfflinePushInfo is no content: another one, or none, is the same message */
  { BODY("hi") "}", BODY("hi") ",\"OfflinePushInfo\":{\"PushFlag\":0,\"Desc\":\"d\"}}", 1 },
  { BODY("hi") ",\"OfflinePushInfo\":{\"Desc\":\"a\"}}", BODY("hi") ",\"OfflinePushInfo\":{\"Desc\":\"b\"}}", 1 },
  /* a vendor member named like it inside OfflinePushInfo: the first is the object's own */
  { BODY("hi") ",\"OfflinePushInfo\":{\"AndroidInfo\":{\"x\":1,\"OfflinePushInfo\":2}}}", BODY("hi") "}", 1 },
  /* CloudCustomData is content */
  { BODY("hi") ",\"CloudCustomData\":\"c\"}", BODY("hi") "}", 0 },
  { BODY("hi") ",\"CloudCustomData\":\"c\"}", BODY("hi") ",\"CloudCustomData\":\"d\"}", 0 },
  { BODY("hi") ",\"CloudCustomData\":\"c\"}", BODY("hi") ",\"CloudCustomData\":\"c\",\"OfflinePushInfo\":{}}", 1 },
  { BODY("hi") ",\"CloudCustomData\":\"\"}", BODY("hi") "}", 0 }, /* an empty string is given */
  /* a string holding the member's name is escaped: no cut there */
  { BODY(",\\\"OfflinePushInfo\\\":a") "}", BODY(",\\\"OfflinePushInfo\\\":b") "}", 0 },
  /* texts that are not a packed object are their own content */
  { "{}", "{}", 1 },
  { "", "", 1 },
  { "{}", "", 0 },
  { "abc", "abd", 0 },
  /* lengths around the hash's 8-byte steps */
  { "{\"MsgBody\":[]}", "{\"MsgBody\":[1]}", 0 },
  { "{\"MsgBody\":[12345]}", "{\"MsgBody\":[12346]}", 0 },
};

static void test_rows(void **st)
{
  (void)st;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    size_t al = strlen(rows[i].a), bl = strlen(rows[i].b);
    if (store_content_same(rows[i].a, al, rows[i].b, bl) != rows[i].same)
      fail_msg("row %zu: same %d expected", i, rows[i].same);
    if ((store_content_hash(rows[i].a, al) == store_content_hash(rows[i].b, bl)) != rows[i].same)
      fail_msg("row %zu: the hash disagrees", i);
  }
}

/* The content of a packed object is its text up to the OfflinePushInfo
 * member, or up to the closing brace. */
static void test_len(void **st)
{
  (void)st;
  const char *with = BODY("hi") ",\"OfflinePushInfo\":{}}", *without = BODY("hi") "}";
  assert_int_equal(store_content_len(with, strlen(with)), strlen(BODY("hi")));
  assert_int_equal(store_content_len(without, strlen(without)), strlen(BODY("hi")));
  assert_int_equal(store_content_len("", 0), 0);
}

/* Every one-byte change and every length of a text of 1 to 40 bytes is
 * another hash (a smoke test of the mixing, not a proof). */
static void test_hash_spreads(void **st)
{
  (void)st;
  char t[41];
  memset(t, 'a', sizeof t);
  for (size_t n = 1; n <= 40; n++) {
    uint64_t h = store_content_hash(t, n);
    assert_true(h != store_content_hash(t, n - 1));
    for (size_t i = 0; i < n; i++) {
      t[i] = 'b';
      assert_true(store_content_hash(t, n) != h);
      t[i] = 'a';
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rows),
    cmocka_unit_test(test_len),
    cmocka_unit_test(test_hash_spreads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
