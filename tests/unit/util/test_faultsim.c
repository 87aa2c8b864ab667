/* faultsim (src/util/faultsim.h): the Nth call of a site named by
 * IMCLOUD_TEST_FAIL fails once, every other call and every site not named
 * passes, and malformed entries are ignored (the plan is read at the first
 * call, so the variable is set before it). Every site has a name of its own,
 * and the last site of the enum fails as the first does (a site past the
 * armed mask's width would alias another or shift out of range: UBSan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/faultsim.h"

#define LAST_SITE ((imc_fault_site_t)(IMC_FAULT__COUNT - 1))

/* The plan of every test below (read once, at the first call): push_encode: its 2nd and 5th call; push_send: its
 * 3rd; the last site: its 2nd; the rest is malformed or names no site. */
static int plan_set(void **st)
{
  (void)st;
  char plan[256];
  snprintf(plan, sizeof plan, "push_encode:2,nope:1,push_send:3,push_send:0,push_send:x,push_encode:5,,push_send,%s:2",
           imc_fault_site_name(LAST_SITE));
  return setenv("IMCLOUD_TEST_FAIL", plan, 1);
}

static void test_sites_named_once(void **st)
{
  (void)st;
  for (int s = 0; s < IMC_FAULT__COUNT; s++) {
    const char *name = imc_fault_site_name((imc_fault_site_t)s);
    assert_non_null(name); /* a site appended to the enum without its name */
    for (int t = 0; t < s; t++) assert_string_not_equal(name, imc_fault_site_name((imc_fault_site_t)t));
  }
  assert_null(imc_fault_site_name(IMC_FAULT__COUNT));
}

static void test_last_site_fails(void **st)
{
  (void)st;
  int want[] = { 0, 1, 0, 0 };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) assert_int_equal(imc_fault(LAST_SITE), want[i]);
  assert_int_equal(imc_fault(IMC_FAULT_REPLY_JSON), 0); /* a site the plan does not name */
}

static void test_nth_calls_fail_once(void **st)
{
  (void)st;
  int want_encode[] = { 0, 1, 0, 0, 1, 0, 0 }, want_send[] = { 0, 0, 1, 0, 0 };
  for (size_t i = 0; i < sizeof want_encode / sizeof *want_encode; i++) {
    assert_int_equal(imc_fault(IMC_FAULT_PUSH_ENCODE), want_encode[i]);
    if (i < sizeof want_send / sizeof *want_send) assert_int_equal(imc_fault(IMC_FAULT_PUSH_SEND), want_send[i]);
  }
  setenv("IMCLOUD_TEST_FAIL", "push_encode:8", 1); /* read once: a later change is not seen */
  assert_int_equal(imc_fault(IMC_FAULT_PUSH_ENCODE), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sites_named_once),
    cmocka_unit_test(test_last_site_fails),
    cmocka_unit_test(test_nth_calls_fail_once),
  };
  return cmocka_run_group_tests(tests, plan_set, NULL);
}
