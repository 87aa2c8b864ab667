/* net_frame_concat: a batch of pre-encoded frames in one shared buffer holds
 * exactly their bytes back to back, counts their messages, and leaves the
 * inputs usable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "net/net.h"
#include "net/net_int.h"

static void test_concat(void **state)
{
  (void)state;
  static char big[300];
  memset(big, 'b', sizeof big);
  net_frame_t *a = net_frame_new_text("hello", 5), *b = net_frame_new_text(big, sizeof big);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(net_frame_bytes(a), 2 + 5);            /* short header */
  assert_int_equal(net_frame_bytes(b), 4 + sizeof big);   /* 16-bit length */
  net_frame_t *in[] = { a, b, a };
  net_frame_t *c = net_frame_concat(in, 3);
  assert_non_null(c);
  assert_int_equal(net_frame_msgs(c), 3);
  assert_int_equal(net_frame_bytes(c), 2 * net_frame_bytes(a) + net_frame_bytes(b));
  assert_memory_equal(c->bytes, a->bytes, a->len);
  assert_memory_equal(c->bytes + a->len, b->bytes, b->len);
  assert_memory_equal(c->bytes + a->len + b->len, a->bytes, a->len);
  /* a batch of batches counts every message */
  net_frame_t *in2[] = { c, b };
  net_frame_t *d = net_frame_concat(in2, 2);
  assert_int_equal(net_frame_msgs(d), 4);
  assert_null(net_frame_concat(in, 0));
  net_frame_unref(d);
  net_frame_unref(c);
  assert_int_equal(a->refs, 1); /* inputs untouched */
  net_frame_unref(a);
  net_frame_unref(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_concat) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
