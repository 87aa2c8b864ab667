/* End-to-end: dates and limits of the billing life cycle on a test-clock
 * server whose billing zone is UTC (--billing-tz-offset-s 0), not UTC+8
 * (docs/decisions/billing-scheme-change.md, docs/billing.md):
 *  - `app create --created-at` dates the app in the stored billing zone
 *    (it took UTC+8's midnight whatever the zone). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "e2e_msg.h"
#include "e2e_op.h"

static e2e_server_t srv;
static char auth[160];

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&srv);
  if (op_auth_init(&srv, "first", auth, sizeof auth)) return -1;
  static const char *const args[] = { "--test-clock", "--test-clock-start", "2026-12-01", "--billing-tz-offset-s", "0", NULL };
  return e2e_server_start(&srv, args);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

/* --created-at is a day of the billing zone the server stored (UTC here), as --at and --month are. */
static void test_created_at_in_billing_zone(void **st)
{
  (void)st;
  char out[4096];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "customer create --name zoned --json"), 0);
  json_t *c = json_loads(out, 0, NULL);
  int64_t cust = jint(c, "id");
  json_decref(c);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "app create --customer %lld --name z --region china --created-at 2019-12-26 --json",
                           (long long)cust), 0);
  json_t *a = json_loads(out, 0, NULL);
  assert_non_null(a);
  assert_int_equal(jint(a, "created_at"), 1577318400); /* 2019-12-26T00:00:00Z (UTC+8's midnight: 1577289600) */
  assert_string_equal(jstr(a, "created_date"), "2019-12-26");
  assert_string_equal(jstr(a, "scheme"), "legacy");
  json_decref(a);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_created_at_in_billing_zone),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
