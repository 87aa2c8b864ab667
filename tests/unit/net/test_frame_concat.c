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

/* A small frame, once unreferenced, is reused for the next small one (ws.c's
 * pool) and holds exactly the new bytes; a big one and a batch are not pooled. */
static void test_small_frames_reused(void **state)
{
  (void)state;
  static char big[NET_SMALL_FRAME];
  memset(big, 'x', sizeof big);
  net_frame_t *a = net_frame_new_text("first frame, a longer text", 26);
  assert_non_null(a);
  net_frame_t *keep = a;
  net_frame_unref(a);
  net_frame_t *b = net_frame_new_text("hi", 2);
  assert_ptr_equal(b, keep);                       /* reused */
  assert_int_equal(net_frame_bytes(b), 4);
  assert_memory_equal(b->bytes, "\x81\x02" "hi", 4);
  assert_int_equal(net_frame_msgs(b), 1);
  assert_int_equal(b->refs, 1);
  net_frame_t *c = net_frame_new_text(big, sizeof big); /* over the small size: its own allocation */
  assert_non_null(c);
  assert_int_equal(c->small, 0);
  assert_int_equal(net_frame_bytes(c), 4 + sizeof big);
  net_frame_t *in[] = { b, b };
  net_frame_t *d = net_frame_concat(in, 2);
  assert_int_equal(d->small, 0);
  net_frame_unref(d);
  net_frame_unref(c);
  net_frame_unref(b);
  /* a frame with two references goes back only after the second unref */
  net_frame_t *e = net_frame_new_text("ee", 2);
  e->refs++;
  net_frame_unref(e);
  net_frame_t *f = net_frame_new_text("ff", 2);
  assert_ptr_not_equal(f, e);
  assert_memory_equal(e->bytes, "\x81\x02" "ee", 4); /* untouched */
  net_frame_unref(e);
  net_frame_unref(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_concat), cmocka_unit_test(test_small_frames_reused) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
