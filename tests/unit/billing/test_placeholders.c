/* Golden tests for the prices a bill needs that a built-in book leaves to
 * the operator (bill_book_placeholders; P-59, P-20) and for the original
 * international scheme's cut-off (bill_scheme_original_intl, P-50). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "billing/billing.h"
#include "util/date.h"

static const struct {
  bill_scheme_t scheme;
  const char *edition, *region;
  int n;
  const char *names;
} rows[] = {
  /* intl: the developer edition is capped and free; Standard and Pro need their package price and the MAU overage rate */
  { BILL_SCHEME_INTL, "developer", "singapore", 0, "" },
  { BILL_SCHEME_INTL, "standard", "singapore", 2, "the standard package price (P-59); the MAU overage rate (P-59)" },
  { BILL_SCHEME_INTL, "pro", "germany", 2, "the pro package price (P-59); the MAU overage rate (P-59)" },
  /* S-2019 / S-2020 bandwidth is 2 元/Mbps/day in china only ("国际带宽费用请咨询客服") */
  { BILL_SCHEME_S2019, "pro", "china", 0, "" },
  { BILL_SCHEME_S2019, "pro", "india", 1, "the AV chat room bandwidth rate outside china (P-20)" },
  { BILL_SCHEME_S2020, "pro", "korea", 1, "the AV chat room bandwidth rate outside china (P-35)" },
  { BILL_SCHEME_S2020, "trial", "korea", 0, "" },   /* the trial is billed nothing (P-30) */
  { BILL_SCHEME_S2022, "pro", "china", 0, "" },
  { BILL_SCHEME_S2022, "ultimate", "china", 0, "" },
  { BILL_SCHEME_LEGACY, "legacy", "usa", 0, "" },
  { BILL_SCHEME_INTL, "gold", "usa", 0, "" },       /* unknown edition: none */
};

static void test_placeholder_rows(void **st)
{
  (void)st;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const bill_book_t *b = bill_book_builtin(rows[i].scheme);
    assert_non_null(b);
    char out[400];
    int n = bill_book_placeholders(b, rows[i].edition, rows[i].region, out, sizeof out);
    if (n != rows[i].n || strcmp(out, rows[i].names))
      fail_msg("%s %s %s: %d \"%s\", want %d \"%s\"", bill_scheme_name(rows[i].scheme), rows[i].edition, rows[i].region, n, out,
               rows[i].n, rows[i].names);
  }
  /* a short buffer is truncated and terminated; the count is whole */
  char small[12];
  assert_int_equal(bill_book_placeholders(bill_book_builtin(BILL_SCHEME_INTL), "pro", "usa", small, sizeof small), 2);
  assert_string_equal(small, "the pro pac");
}

static void test_original_intl_cutoff(void **st)
{
  (void)st;
  int64_t cut = imc_day_start(imc_days_from_civil(2022, 12, 26), IMC_TZ_CHINA_S); /* 2022-12-26T00:00:00+08:00 */
  assert_int_equal(bill_scheme_original_intl(cut - 1), 1);
  assert_int_equal(bill_scheme_original_intl(cut), 0);
  assert_int_equal(bill_scheme_original_intl(1546272000), 1); /* 2019 */
  assert_int_equal(bill_scheme_original_intl(INT64_MAX), 0);  /* a customer without apps */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_placeholder_rows),
    cmocka_unit_test(test_original_intl_cutoff),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
