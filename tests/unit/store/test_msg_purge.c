/* The retention purge of C2C inbox events (sqlite_msg.c purge_inbox): it
 * walks user numbers in chunks across calls; since migration 26 the inbox
 * leads with user_no, so the walk steps through the numbers of every app.
 * Two apps share user numbers (and each has one the other lacks): purging
 * one app deletes exactly its expired events, keeps each of its users'
 * newest event, and never touches the other app. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "tmpdir.h"

#define APP 1400000001u
#define APP2 1400000002u

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgpurge");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static int events;
static void count(void *ud, const store_inbox_ev_t *e) { (void)ud; (void)e; events++; }

static int inbox_len(store_t *s, uint32_t app, uint32_t user)
{
  uint32_t max;
  events = 0;
  assert_int_equal(store_msg_inbox_page(s, app, user, 0, 100, 0, count, NULL, &max), 0);
  return events;
}

static void test_purge_walk_two_apps(void **st)
{
  (void)st;
  store_t *s;
  uint32_t useq;
  int64_t n, total = 0;
  /* APP: users 1, 2, 3, 7; APP2: users 1, 2, 3, 5. Four events each at t = 100..103. */
  static const uint32_t users[2][4] = { { 1, 2, 3, 7 }, { 1, 2, 3, 5 } };
  assert_int_equal(store_open(dir, &s), 0);
  for (int a = 0; a < 2; a++)
    for (int u = 0; u < 4; u++)
      for (int k = 0; k < 4; k++)
        assert_int_equal(store_msg_inbox_add(s, a ? APP2 : APP, users[a][u], STORE_EV_READ, 1, 1, 100 + k, &useq), 0);
  /* chunks of 2 below t = 1000: three events of each of APP's four users */
  int calls = 0;
  do {
    assert_int_equal(store_msg_purge(s, APP, 1000, 2, &n), 0);
    total += n;
  } while (n == 2 && ++calls < 100);
  assert_int_equal(total, 12);
  for (int u = 0; u < 4; u++) {
    assert_int_equal(inbox_len(s, APP, users[0][u]), 1);
    assert_int_equal(inbox_len(s, APP2, users[1][u]), 4);
  }
  /* a second pass finds nothing more */
  assert_int_equal(store_msg_purge(s, APP, 1000, 2, &n), 0);
  assert_int_equal(n, 0);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_purge_walk_two_apps, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
