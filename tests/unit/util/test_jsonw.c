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
#include <math.h>
#include <stdio.h>
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
  /* every count of digits, each side of every power of ten, and 0..1000, as printf writes them */
  char want[32];
  uint64_t vals[1100];
  size_t n = 0;
  for (uint64_t p = 10; p && p <= UINT64_MAX / 10; p *= 10) { vals[n++] = p - 1; vals[n++] = p; vals[n++] = p + 1; }
  for (uint64_t v = 0; v <= 1000; v++) vals[n++] = v;
  /* where the digits switch from 64-bit to 32-bit divisions: each side of 2^32, and a value whose low
   * 32-bit part alone would print differently */
  for (uint64_t d = 0; d < 12; d++) { vals[n++] = (uint64_t)UINT32_MAX - 5 + d; vals[n++] = 100ull * UINT32_MAX + d; }
  vals[n++] = 429496729600ull;
  vals[n++] = 1ull << 40;
  for (size_t i = 0; i < n; i++) {
    jsonw_reset(&w);
    jsonw_u64(&w, vals[i]);
    snprintf(want, sizeof want, "%llu", (unsigned long long)vals[i]);
    assert_string_equal(w.buf, want);
  }
  /* the text form (a number written twice in a frame): the same digits, signed, the extremes filling the buffer */
  static const int64_t svals[] = { INT64_MIN, INT64_MIN + 1, -1000000007, -10, -1, 0, 9, 10, 1584669680, INT64_MAX };
  for (size_t i = 0; i < sizeof svals / sizeof svals[0]; i++) {
    char buf[JSONW_INT_MAX_CHARS];
    size_t len = 0;
    const char *p = jsonw_i64_text(svals[i], buf, &len);
    snprintf(want, sizeof want, "%lld", (long long)svals[i]);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(p, want, len);
    assert_ptr_equal(p + len, buf + sizeof buf);
  }
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

/* Strings each side of the inline limit (JSONW_STR_INLINE_MAX), with a byte
 * to escape at every place or none, behind 0..40 bytes already written (the
 * buffer's edge falls anywhere): as jansson writes them. */
static void test_str_inline_edges(void **st)
{
  (void)st;
  jsonw_t w;
  jsonw_init(&w, 1 << 16);
  char s[64], pre[64];
  memset(pre, 'p', sizeof pre);
  static const char esc[] = { '"', '\\', '\n', 0x1f };
  for (size_t n = 0; n <= JSONW_STR_INLINE_MAX + 3; n++)
    for (size_t at = 0; at <= n; at++) /* at == n: nothing to escape */
      for (size_t f = 0; f <= 40; f += 3) {
        for (size_t i = 0; i < n; i++) s[i] = (char)('a' + i % 26);
        if (at < n) s[at] = esc[(n + at) % sizeof esc];
        jsonw_free(&w);
        jsonw_init(&w, 1 << 16);
        jsonw_raw(&w, pre, f);
        jsonw_str(&w, s, n);
        json_t *j = json_stringn(s, n);
        char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_int_equal(w.failed, 0);
        assert_int_equal(w.len, f + strlen(want));
        assert_memory_equal(w.buf + f, want, strlen(want) + 1);
        free(want);
        json_decref(j);
      }
  jsonw_free(&w);
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (uint32_t)(rng >> 32) % n;
}

static double rnd_real(void)
{
  static const double fixed[] = { 0.0, -0.0, 1.0, -1.5, 0.1, 1e21, 1e22, 1e-7, 123456789012345680.0, 5e-324,
                                  1.7976931348623157e308, 2.2250738585072014e-308, 3.0e100, 1e-100, 100.0 };
  if (rnd(3) == 0) return fixed[rnd(sizeof fixed / sizeof fixed[0])];
  uint64_t bits = (uint64_t)rnd(UINT32_MAX) << 32 | rnd(UINT32_MAX);
  double d;
  memcpy(&d, &bits, sizeof d);
  return isfinite(d) ? d : 42.25;
}

static json_t *rnd_json(int depth)
{
  static const char *const strs[] = { "", "a", "\"q\"", "back\\slash", "tab\t", "\x01\x1f", "\xc3\xa9\xe4\xb8\x87", "/" };
  switch (rnd(depth > 3 ? 5 : 7)) {
  case 0: return json_string(strs[rnd(sizeof strs / sizeof strs[0])]);
  case 1: return json_integer((json_int_t)((uint64_t)rnd(UINT32_MAX) << 32 | rnd(UINT32_MAX)));
  case 2: return json_real(rnd_real());
  case 3: return rnd(2) ? json_true() : rnd(2) ? json_false() : json_null();
  case 4: return json_stringn("n\0ul", 4);
  case 5: {
    json_t *a = json_array();
    for (uint32_t i = 0, n = rnd(4); i < n; i++) json_array_append_new(a, rnd_json(depth + 1));
    return a;
  }
  default: {
    json_t *o = json_object();
    for (uint32_t i = 0, n = rnd(4); i < n; i++) {
      char k[16];
      snprintf(k, sizeof k, "%s%u", strs[rnd(sizeof strs / sizeof strs[0])], rnd(50));
      json_object_set_new(o, k, rnd_json(depth + 1));
    }
    return o;
  }
  }
}

/* jsonw_json writes every value json_dumps(…, JSON_COMPACT) would, byte for
 * byte: random trees with reals of every magnitude (random bit patterns),
 * integers at any size, escaped strings and keys, insertion-ordered objects. */
static void test_json_as_jansson(void **st)
{
  (void)st;
  jsonw_t w;
  jsonw_init(&w, 1 << 20);
  for (int iter = 0; iter < 20000; iter++) {
    json_t *v = rnd_json(0);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(want);
    jsonw_reset(&w);
    jsonw_json(&w, v);
    assert_int_equal(w.failed, 0);
    assert_string_equal(w.buf, want);
    free(want);
    json_decref(v);
  }
  /* json_dumps refuses a non-finite real; so does the writer */
  json_t *inf = json_real(1.0);
  jsonw_reset(&w);
  json_real_set(inf, INFINITY); /* jansson refuses it: the value stays 1.0 */
  jsonw_json(&w, inf);
  assert_string_equal(w.buf, "1.0");
  json_decref(inf);
  size_t len = 0;
  char *t = jsonw_take(&w, &len);
  assert_string_equal(t, "1.0");
  assert_int_equal(len, 3);
  assert_null(w.buf);
  free(t);
  jsonw_free(&w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_strings_as_jansson),
    cmocka_unit_test(test_integers),
    cmocka_unit_test(test_cap_is_sticky),
    cmocka_unit_test(test_str_inline_edges),
    cmocka_unit_test(test_json_as_jansson),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
