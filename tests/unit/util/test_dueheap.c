/* Unit tests for src/util/dueheap: random pushes, due-time moves and
 * removals checked against a reference array; every item always knows its
 * position, the top is always the earliest, and the array shrinks again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/dueheap.h"
#include "util/err.h"

#include "xorshift.h"

enum { N = 5000 };

typedef struct item { uint32_t pos, due, tag; int in; } item_t;
static item_t items[N];

static void pos_of(void *item, uint32_t pos) { ((item_t *)item)->pos = pos; }

/* Every item in the heap sits where it was told, with its due and tag;
 * every other is told 0; the order holds; the top is the earliest. */
static void check(const dueheap_t *h)
{
  uint32_t in = 0, min = UINT32_MAX;
  for (int i = 0; i < N; i++) {
    if (!items[i].in) { assert_int_equal(items[i].pos, 0); continue; }
    in++;
    const dueheap_ent_t *e = dueheap_at(h, items[i].pos);
    assert_non_null(e);
    assert_ptr_equal(e->item, &items[i]);
    assert_int_equal(e->due, items[i].due);
    assert_int_equal(e->tag, items[i].tag);
    if (items[i].due < min) min = items[i].due;
  }
  assert_int_equal(h->len, in);
  for (uint32_t p = 2; p <= h->len; p++) assert_true(dueheap_at(h, p / 2)->due <= dueheap_at(h, p)->due);
  if (in) assert_int_equal(dueheap_top(h)->due, min);
  else assert_null(dueheap_top(h));
  assert_null(dueheap_at(h, 0));
  assert_null(dueheap_at(h, h->len + 1));
}

static void test_dueheap_against_reference(void **st)
{
  (void)st;
  dueheap_t h;
  dueheap_init(&h, pos_of);
  memset(items, 0, sizeof items);
  rng_state = 0x2545F4914F6CDD1Dull;
  for (int step = 0; step < 60000; step++) {
    item_t *it = &items[rnd() % N];
    unsigned what = (unsigned)(rnd() % 10);
    uint32_t due = (uint32_t)(rnd() % 1000) * (rnd() % 4 ? 1u : 4000000u); /* ties, and far ones */
    if (!it->in) {
      if (what >= 6) continue; /* grow to about half the items */
      assert_int_equal(dueheap_reserve(&h), 0);
      it->due = due;
      it->tag = (uint32_t)(it - items);
      it->in = 1;
      dueheap_push(&h, it, due, it->tag);
    } else if (what < 5) {
      it->due = due;
      dueheap_update(&h, it->pos, due);
    } else {
      dueheap_ent_t e = dueheap_remove(&h, it->pos);
      assert_ptr_equal(e.item, it);
      assert_int_equal(e.due, it->due);
      assert_int_equal(e.tag, it->tag);
      it->in = 0;
    }
    if (step % 997 == 0) check(&h);
  }
  check(&h);
  /* popping the top gives the items earliest first */
  uint32_t last = 0;
  while (h.len) {
    const dueheap_ent_t *t = dueheap_top(&h);
    assert_true(t->due >= last);
    last = t->due;
    item_t *it = t->item;
    dueheap_remove(&h, it->pos);
    it->in = 0;
  }
  check(&h);
  assert_true(h.cap <= 64); /* halved on the way down */
  dueheap_free(&h);
  assert_int_equal(h.len, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_dueheap_against_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
