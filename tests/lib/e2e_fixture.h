/* e2e_fixture.h — the common end-to-end test file's fixture (include once,
 * after e2e.h, in a test file whose tests share one server): srv, its app in
 * the region E2E_FIXTURE_REGION (define it before the include; "china" when
 * not) and the app's key, and the cmocka group setup (start: e2e_start) and
 * teardown (stop: e2e_finish) that make and end them. Test-only. */
#ifndef IMC_TESTS_E2E_FIXTURE_H
#define IMC_TESTS_E2E_FIXTURE_H

#include "e2e.h"

#ifndef E2E_FIXTURE_REGION
#define E2E_FIXTURE_REGION "china"
#endif

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, E2E_FIXTURE_REGION, &app, key, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

#endif
