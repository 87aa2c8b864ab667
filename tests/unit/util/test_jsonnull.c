/* Unit tests for util/jsonnull: every null member goes, at every depth of
 * objects and of arrays of objects; null array elements, and every other
 * value, stay as they were (rows: input, the compact text expected). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/jsonnull.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_rows(void **st)
{
  (void)st;
  static const struct { const char *in, *out; } rows[] = {
    { "{}", "{}" },
    { "{\"a\":null}", "{}" },
    { "{\"a\":null,\"b\":1,\"c\":null}", "{\"b\":1}" },
    { "{\"a\":{\"b\":null,\"c\":{\"d\":null}}}", "{\"a\":{\"c\":{}}}" },
    /* objects inside arrays, at any depth */
    { "{\"l\":[{\"x\":null,\"y\":\"v\"},{\"z\":[{\"w\":null}]}]}", "{\"l\":[{\"y\":\"v\"},{\"z\":[{}]}]}" },
    { "[[{\"a\":null}],{\"b\":null}]", "[[{}],{}]" },
    /* a null element is no member: it stays */
    { "{\"To\":[null]}", "{\"To\":[null]}" },
    { "[null,{\"a\":null},null]", "[null,{},null]" },
    /* other values untouched: false, 0, "" and "null" are values */
    { "{\"f\":false,\"z\":0,\"s\":\"\",\"n\":\"null\",\"r\":1.5,\"t\":true}",
      "{\"f\":false,\"z\":0,\"s\":\"\",\"n\":\"null\",\"r\":1.5,\"t\":true}" },
    { "null", "null" },
    { "7", "7" },
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    json_error_t e;
    json_t *v = json_loads(rows[i].in, JSON_DECODE_ANY, &e);
    if (!v) fail_msg("row %zu: %s", i, e.text);
    jsonnull_drop(v);
    char *got = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (strcmp(got, rows[i].out)) fail_msg("row %zu: %s, expected %s", i, got, rows[i].out);
    free(got);
    json_decref(v);
  }
  jsonnull_drop(NULL); /* nothing to walk */
}

/* jsonnull_drop_keys: a named member whose object lost every member to the drop goes too, at every depth and
 * through named members nested in it; an object given empty, an unnamed one and arrays stay (§70). */
static void test_emptied_keys(void **st)
{
  (void)st;
  static const char *const keys[] = { "P", "A", NULL };
  static const struct { const char *in, *out; } rows[] = {
    { "{\"P\":{\"T\":null,\"D\":null},\"k\":1}", "{\"k\":1}" },
    { "{\"P\":{\"A\":{\"S\":null}}}", "{}" },
    { "{\"P\":{\"F\":0,\"A\":{\"S\":null}}}", "{\"P\":{\"F\":0}}" },
    { "{\"P\":{\"A\":{\"S\":null},\"T\":null}}", "{}" },
    /* given empty: a value, kept */
    { "{\"P\":{}}", "{\"P\":{}}" },
    { "{\"P\":{\"A\":{},\"T\":null}}", "{\"P\":{\"A\":{}}}" },
    /* not named: emptied, kept */
    { "{\"Q\":{\"T\":null}}", "{\"Q\":{}}" },
    { "{\"x\":{\"P\":{\"T\":null}}}", "{\"x\":{}}" },
    /* in arrays' objects, as jsonnull_drop; an array is not an object */
    { "{\"l\":[{\"P\":{\"T\":null}}]}", "{\"l\":[{}]}" },
    { "{\"P\":[{\"T\":null}]}", "{\"P\":[{}]}" },
    { "{\"P\":null}", "{}" },
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    json_error_t e;
    json_t *v = json_loads(rows[i].in, JSON_DECODE_ANY, &e);
    if (!v) fail_msg("row %zu: %s", i, e.text);
    jsonnull_drop_keys(v, keys);
    char *got = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (strcmp(got, rows[i].out)) fail_msg("row %zu: %s, expected %s", i, got, rows[i].out);
    free(got);
    json_decref(v);
  }
  /* a named key holding a NUL byte is matched whole: "P\0x" is not "P" */
  json_t *o = json_pack("{s:{s:n}}", "k", "T");
  json_object_setn_new(o, "P\0x", 3, json_pack("{s:n}", "T"));
  jsonnull_drop_keys(o, keys);
  assert_int_equal(json_object_size(o), 2);
  json_decref(o);
}

/* A key holding a NUL byte (jansson's parser refuses one, a tree built by
 * code may hold it) is that key, not its prefix. */
static void test_nul_keys(void **st)
{
  (void)st;
  json_t *o = json_object();
  json_object_setn_new(o, "a\0b", 3, json_null());
  json_object_set_new(o, "a", json_integer(1));
  jsonnull_drop(o);
  assert_int_equal(json_object_size(o), 1);
  assert_int_equal(json_integer_value(json_object_get(o, "a")), 1);
  json_object_setn_new(o, "a\0b", 3, json_integer(2));
  json_object_set_new(o, "a", json_null());
  jsonnull_drop(o);
  assert_int_equal(json_object_size(o), 1);
  assert_int_equal(json_integer_value(json_object_getn(o, "a\0b", 3)), 2);
  json_decref(o);
}

/* A thousand members, every other one null: the walk deletes while it
 * iterates and misses none. */
static void test_many_members(void **st)
{
  (void)st;
  json_t *o = json_object();
  char k[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(k, sizeof k, "k%d", i);
    json_object_set_new(o, k, i % 2 ? json_integer(i) : json_null());
  }
  jsonnull_drop(o);
  assert_int_equal(json_object_size(o), 500);
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) assert_true(json_is_integer(v));
  json_decref(o);
}

/* As deep as jansson parses, a null at the bottom goes. */
static void test_deepest(void **st)
{
  (void)st;
  enum { DEPTH = 2046 }; /* 2047 nested objects: the deepest json_loadb takes */
  size_t cap = DEPTH * 6 + 16, n = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  for (int i = 0; i < DEPTH; i++) { memcpy(s + n, "{\"a\":", 5); n += 5; }
  memcpy(s + n, "{\"b\":null}", 10);
  n += 10;
  for (int i = 0; i < DEPTH; i++) s[n++] = '}';
  json_t *v = json_loadb(s, n, 0, NULL);
  assert_non_null(v);
  jsonnull_drop(v);
  json_t *p = v;
  for (int i = 0; i < DEPTH; i++) p = json_object_get(p, "a");
  assert_true(json_is_object(p));
  assert_int_equal(json_object_size(p), 0);
  json_decref(v);
  free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rows),
    cmocka_unit_test(test_emptied_keys),
    cmocka_unit_test(test_nul_keys),
    cmocka_unit_test(test_many_members),
    cmocka_unit_test(test_deepest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
