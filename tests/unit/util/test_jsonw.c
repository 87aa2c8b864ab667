/* Unit tests for util/jsonw: strings escaped exactly as jansson's compact
 * dump escapes them (every ASCII byte, NUL included, and UTF-8), integers at
 * their limits, and the cap: a write past it fails, stickily, until reset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/err.h"
#include "util/jsonw.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void test_strings_as_jansson(void **st)
{
  (void)st;
  jsonw_t w;
  jsonw_init(&w, 1 << 16);
  char s[3];
  for (int c = 0; c < 0x80; c++) { /* each ASCII byte alone and between two letters */
    s[0] = 'a';
    s[1] = (char)c;
    s[2] = 'b';
    for (int form = 0; form < 2; form++) {
      const char *p = form ? s : s + 1;
      size_t n = form ? 3 : 1;
      json_t *j = json_stringn(p, n);
      char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
      jsonw_reset(&w);
      jsonw_str(&w, p, n);
      assert_int_equal(w.failed, 0);
      assert_string_equal(w.buf, want);
      free(want);
      json_decref(j);
    }
  }
  static const char utf8[] = "\xc3\xa9\xe4\xb8\x87\xf0\x9f\x98\x80\"\\/\n";
  json_t *j = json_string(utf8);
  char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  jsonw_reset(&w);
  jsonw_str(&w, utf8, strlen(utf8));
  assert_string_equal(w.buf, want);
  free(want);
  json_decref(j);
  jsonw_free(&w);
}

static void test_integers(void **st)
{
  (void)st;
  jsonw_t w;
  jsonw_init(&w, 256);
  jsonw_i64(&w, INT64_MIN);
  jsonw_lit(&w, ",");
  jsonw_i64(&w, INT64_MAX);
  jsonw_lit(&w, ",");
  jsonw_u64(&w, UINT64_MAX);
  jsonw_lit(&w, ",");
  jsonw_i64(&w, 0);
  jsonw_lit(&w, ",");
  jsonw_i64(&w, -7);
  assert_string_equal(w.buf, "-9223372036854775808,9223372036854775807,18446744073709551615,0,-7");
  jsonw_free(&w);
}

static void test_cap_is_sticky(void **st)
{
  (void)st;
  jsonw_t w;
  jsonw_init(&w, 8);
  jsonw_lit(&w, "12345678");              /* exactly the cap */
  assert_int_equal(w.failed, 0);
  assert_int_equal(w.len, 8);
  jsonw_lit(&w, "9");                     /* one past */
  assert_int_equal(w.failed, IMC_E_TOOBIG);
  jsonw_reset(&w);
  assert_int_equal(w.failed, 0);
  jsonw_str(&w, "\x01\x02", 2);           /* "\u0001\u0002" is 14 bytes: fails part-way */
  assert_int_equal(w.failed, IMC_E_TOOBIG);
  jsonw_lit(&w, "x");                     /* still failed: a no-op */
  assert_int_equal(w.failed, IMC_E_TOOBIG);
  jsonw_reset(&w);
  jsonw_str(&w, "ab", 2);
  assert_string_equal(w.buf, "\"ab\"");
  jsonw_free(&w);
  assert_null(w.buf);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_strings_as_jansson),
    cmocka_unit_test(test_integers),
    cmocka_unit_test(test_cap_is_sticky),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
