/* Unit tests for util/textwidth: display columns of UTF-8 text (ASCII, CJK,
 * fullwidth forms, combining marks, emoji, invalid bytes) and padding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/textwidth.h"

static void test_code_points(void **st)
{
  (void)st;
  static const struct { uint32_t cp; int w; } rows[] = {
    { 'a', 1 }, { ' ', 1 }, { 0x7E, 1 }, { 0x0A, 0 }, { 0x7F, 0 }, { 0x9F, 0 }, { 0xA0, 1 }, { 0xE9, 1 },
    { 0x0301, 0 },   /* combining acute */
    { 0x200B, 0 },   /* zero-width space */
    { 0xFE0F, 0 },   /* variation selector-16 */
    { 0x2014, 1 },   /* em dash: Ambiguous, narrow here */
    { 0x00B7, 1 },   /* middle dot: Ambiguous */
    { 0x1100, 2 },   /* hangul jamo */
    { 0x3000, 2 },   /* ideographic space */
    { 0x3001, 2 },   /* ideographic comma */
    { 0x3042, 2 },   /* hiragana a */
    { 0x4E07, 2 },   /* 万 */
    { 0x5143, 2 },   /* 元 */
    { 0x9FFF, 2 }, { 0xA000, 2 }, { 0xAC00, 2 }, { 0xD7A3, 2 }, { 0xD7A4, 1 },
    { 0xFF08, 2 },   /* fullwidth ( */
    { 0xFF61, 1 },   /* halfwidth ideographic full stop */
    { 0xFFE5, 2 },   /* fullwidth yen sign */
    { 0x1F600, 2 },  /* grinning face */
    { 0x1F321, 1 },  /* thermometer: text presentation, narrow */
    { 0x20000, 2 },  /* CJK extension B */
    { 0x2FFFE, 1 },
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
    if (imc_cp_width(rows[i].cp) != rows[i].w) fail_msg("U+%04X: width %d, want %d", rows[i].cp, imc_cp_width(rows[i].cp), rows[i].w);
}

static void test_strings(void **st)
{
  (void)st;
  assert_int_equal(imc_text_width(NULL), 0);
  assert_int_equal(imc_text_width(""), 0);
  assert_int_equal(imc_text_width("Pro"), 3);
  assert_int_equal(imc_text_width("专业版 / Pro"), 12);
  assert_int_equal(imc_text_width("amount 元"), 9);
  assert_int_equal(imc_text_width("（中国数据中心）"), 16);
  assert_int_equal(imc_text_width("e\xcc\x81"), 1);          /* e + combining acute */
  assert_int_equal(imc_text_width("\xff\xfe"), 2);           /* invalid bytes: one column each */
  assert_int_equal(imc_text_width("\xe4\xb8"), 2);           /* truncated sequence */
  assert_int_equal(imc_text_width("a\xf0\x9f\x98\x80" "b"), 4); /* emoji */
  assert_int_equal(imc_text_pad("元", 5), 3);
  assert_int_equal(imc_text_pad("专业版", 4), 0);
  assert_int_equal(imc_text_pad("abc", -1), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_code_points), cmocka_unit_test(test_strings) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
