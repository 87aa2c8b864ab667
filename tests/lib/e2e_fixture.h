/* e2e_fixture.h — the common end-to-end test file's fixture (include once,
 * after e2e.h, in a test file whose tests share one server): srv, its app in
 * the china region and the app's key, and the cmocka group setup (start:
 * e2e_start) and teardown (stop: e2e_finish) that make and end them.
 * Test-only. */
#ifndef IMC_TESTS_E2E_FIXTURE_H
#define IMC_TESTS_E2E_FIXTURE_H

#include "e2e.h"

static e2e_server_t srv;
static uint32_t app;
static char key[80];

static int setup(void **st)
{
  (void)st;
  return e2e_start(&srv, "china", &app, key, NULL);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

#endif
