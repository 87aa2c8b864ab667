/* Unit tests for three bill rules a review found broken: an av_call
 * period's minutes count once, in the month the period starts (P-46,
 * decision billing-call-minutes); international postpaid packages charge one
 * fee a month and a replaced one ends at the next order (P-51, decision
 * billing-edition-changes); call minutes without an av_call package in force
 * are not billed, as a quote refuses them (P-46). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "billing/billing.h"
#include "util/date.h"
#include "util/err.h"

static int64_t D(int y, int m, int d) { return imc_days_from_civil(y, m, d); }

static int bill(bill_scheme_t scheme, const bill_order_t *o, int n, int32_t month, const bill_usage_t *u, bill_t *b)
{
  char err[256];
  bill_input_t in = { .month = month, .orders = o, .norders = n, .usage = u };
  int rc = bill_compute(bill_book_builtin(scheme), &in, b, err, sizeof err);
  if (rc) print_message("bill_compute: %s\n", err);
  return rc;
}

static int64_t line_sum(const bill_t *b, const char *code)
{
  int64_t sum = 0;
  for (int i = 0; i < b->nlines; i++)
    if (!strcmp(b->lines[i].code, code)) sum += b->lines[i].amount_fen;
  return sum;
}

static int line_count(const bill_t *b, const char *code)
{
  int n = 0;
  for (int i = 0; i < b->nlines; i++) n += !strcmp(b->lines[i].code, code);
  return n;
}

/* P-46: basic bought 2026-12-10 (period 12-10..01-09) and again 2027-01-10;
 * January's minutes are covered by January's period only, as a quote for
 * the month prices them: 200,000 audio min - 110,000 = 90,000 x 7 元/1,000. */
static void test_call_minutes_count_in_the_month_the_period_starts(void **st)
{
  (void)st;
  bill_order_t o[3] = {
    { .edition = 1, .start_day = D(2026, 12, 10), .periods = 2 },
    { .is_addon = 1, .addon = BILL_ADDON_AV_CALL, .start_day = D(2026, 12, 10), .periods = 1 },
    { .is_addon = 1, .addon = BILL_ADDON_AV_CALL, .start_day = D(2027, 1, 10), .periods = 1 },
  };
  strcpy(o[1].value_name, "basic");
  strcpy(o[2].value_name, "basic");
  bill_usage_t u;
  memset(&u, 0, sizeof u);
  u.call_minutes[3] = 200000; /* audio: the book's order is dearest first */
  bill_t b;
  assert_int_equal(bill(BILL_SCHEME_S2022, o, 3, 202701, &u, &b), 0);
  assert_int_equal(line_sum(&b, "call_overage"), 63000);

  static bill_quote_req_t q;
  char err[256];
  char *argv[] = { "quote", "--scheme", "s2022", "--edition", "pro", "--bill-month", "2027-01", "--addon", "av_call=basic",
                   "--call-minutes", "audio=200000" };
  assert_int_equal(bill_quote_parse(11, argv, &q, err, sizeof err), 0);
  int e;
  assert_int_equal(bill_quote_resolve(bill_book_builtin(BILL_SCHEME_S2022), &q, &e, err, sizeof err), 0);
  bill_t qb;
  assert_int_equal(bill_quote(bill_book_builtin(BILL_SCHEME_S2022), &q, e, &qb, err, sizeof err), 0);
  assert_int_equal(line_sum(&qb, "call_overage"), 63000);

  /* December: only December's period, once */
  u.call_minutes[3] = 110001;
  assert_int_equal(bill(BILL_SCHEME_S2022, o, 3, 202612, &u, &b), 0);
  assert_int_equal(line_sum(&b, "call_overage"), 1);
  /* without the renewal, January's minutes are billed beyond an empty pool
   * (the package was in force on Jan 1..9, its minutes counted in December) */
  u.call_minutes[3] = 1000;
  assert_int_equal(bill(BILL_SCHEME_S2022, o, 2, 202701, &u, &b), 0);
  assert_int_equal(line_sum(&b, "call_overage"), 700);
  assert_int_equal(b.nbreaks, 0);
}

/* P-46: a month with call minutes and no av_call package in force bills
 * none of them and says so; a quote refuses them. */
static void test_call_minutes_without_a_package(void **st)
{
  (void)st;
  bill_order_t trial = { .edition = 0, .start_day = D(2027, 1, 1), .periods = 1 };
  bill_usage_t u;
  memset(&u, 0, sizeof u);
  u.call_minutes[3] = 20000;
  bill_t b;
  assert_int_equal(bill(BILL_SCHEME_S2022, &trial, 1, 202701, &u, &b), 0);
  assert_int_equal(line_count(&b, "call_overage"), 0);
  assert_int_equal(b.total_fen, 0);
  assert_int_equal(b.nbreaks, 1);
  assert_non_null(strstr(b.breaks[0], "20,000"));
  assert_non_null(strstr(b.breaks[0], "av_call"));
  /* a pro app whose package lapsed in December: same */
  bill_order_t o[2] = { { .edition = 1, .start_day = D(2026, 11, 10), .periods = 2 },
                        { .is_addon = 1, .addon = BILL_ADDON_AV_CALL, .start_day = D(2026, 11, 10), .periods = 1 } };
  strcpy(o[1].value_name, "basic");
  assert_int_equal(bill(BILL_SCHEME_S2022, o, 2, 202701, &u, &b), 0);
  assert_int_equal(line_count(&b, "call_overage"), 0);
  assert_int_equal(b.nbreaks, 1);
}

/* P-51: intl Standard 01-10, Pro 01-11, Standard 01-12 (postpaid, each
 * replaced by the next): January pays one fee, Pro's; February is Standard's
 * month (Pro ended on 01-11) and pays Standard once. */
static void test_intl_one_package_fee_a_month(void **st)
{
  (void)st;
  bill_order_t o[3] = {
    { .edition = 1, .start_day = D(2027, 1, 10), .periods = 1, .end_day = D(2027, 1, 10) },
    { .edition = 2, .start_day = D(2027, 1, 11), .periods = 1, .end_day = D(2027, 1, 11) },
    { .edition = 1, .start_day = D(2027, 1, 12), .periods = 2 },
  };
  bill_usage_t u;
  memset(&u, 0, sizeof u);
  bill_t b;
  assert_int_equal(bill(BILL_SCHEME_INTL, o, 3, 202701, &u, &b), 0);
  assert_int_equal(line_count(&b, "package"), 1);
  assert_int_equal(b.total_fen, 299900);
  assert_int_equal(b.edition, 2);
  assert_non_null(strstr(b.lines[0].detail, "pro package 2027-01-11..2027-01-11"));
  assert_int_equal(bill(BILL_SCHEME_INTL, o, 3, 202702, &u, &b), 0);
  assert_int_equal(b.edition, 1); /* no grace days after a replaced package */
  assert_int_equal(line_count(&b, "package"), 1);
  assert_int_equal(b.total_fen, 99900);
  /* the same package ordered twice on one day: the first one never runs */
  bill_order_t twice[2] = {
    { .edition = 2, .start_day = D(2027, 1, 10), .periods = 1, .end_day = D(2027, 1, 9) },
    { .edition = 1, .start_day = D(2027, 1, 10), .periods = 1 },
  };
  assert_int_equal(bill(BILL_SCHEME_INTL, twice, 2, 202701, &u, &b), 0);
  assert_int_equal(b.edition, 1);
  assert_int_equal(b.total_fen, 99900);
  /* prepaid packages still charge every period starting in the month (s2022 upgrade) */
  bill_order_t up[2] = { { .edition = 1, .start_day = D(2026, 10, 1), .periods = 1 },
                         { .edition = 2, .start_day = D(2026, 10, 15), .periods = 1 } };
  assert_int_equal(bill(BILL_SCHEME_S2022, up, 2, 202610, &u, &b), 0);
  assert_int_equal(b.prepaid_fen, 99900 + 299900);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_call_minutes_count_in_the_month_the_period_starts),
    cmocka_unit_test(test_call_minutes_without_a_package),
    cmocka_unit_test(test_intl_one_package_fee_a_month),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
