/* faultsim (src/util/faultsim.h): the Nth call of a site named by
 * IMCLOUD_TEST_FAIL fails once, every other call and every site not named
 * passes, and malformed entries are ignored (the plan is read at the first
 * call, so the variable is set before it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "util/faultsim.h"

static void test_nth_calls_fail_once(void **st)
{
  (void)st;
  /* push_encode: its 2nd and 5th call; push_send: its 3rd; the rest is malformed or names no site */
  setenv("IMCLOUD_TEST_FAIL", "push_encode:2,nope:1,push_send:3,push_send:0,push_send:x,push_encode:5,,push_send", 1);
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
    cmocka_unit_test(test_nth_calls_fail_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
