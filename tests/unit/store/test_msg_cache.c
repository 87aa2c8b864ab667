/* The writer connection's in-memory knowledge of the C2C tables
 * (sqlite_msg.c): next sequences and the set of conversation rows known to
 * exist must never outlive the rows they describe — after a rollback, after
 * recent_trim — nor break when another connection reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000001u
#define T0 1700000000

static char dir[64];

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgcache");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static int send(store_t *s, uint32_t from, uint32_t to, uint32_t random, store_msg_append_t *a)
{
  memset(a, 0, sizeof *a);
  a->m = (store_msg_t){ APP, store_c2c_conv(from, to), 0, from, to, T0 + random, random, random, 0, 604800, "{}", 2, NULL, NULL };
  a->dedupe_since_s = T0 - 300;
  a->inbox_from = a->inbox_to = a->recent_from = a->recent_to = 1;
  return store_msg_append(s, a);
}

/* A trimmed conversation row comes back with the next message. */
static void test_recent_row_after_trim(void **st)
{
  (void)st;
  store_t *s;
  store_msg_append_t a;
  store_recent_t r;
  int64_t n;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(send(s, 1, 2, 1, &a), 0);
  assert_int_equal(send(s, 1, 3, 2, &a), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), 0);
  int more;
  assert_int_equal(store_msg_recent_trim(s, APP, 1, 1, INT64_MIN, 1000, &n, &more), 0); /* keeps 1 → 3, drops 1 → 2 */
  assert_int_equal(more, 0);
  assert_int_equal(n, 1);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), IMC_E_NOTFOUND);
  assert_int_equal(send(s, 1, 2, 3, &a), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), 0);
  assert_int_equal(r.last_seq, 2);
  assert_int_equal(store_msg_recent_get(s, APP, 2, 1, &r), 0);
  store_close(s);
}

/* A rolled-back append leaves no row behind, and the next one recreates it
 * with the same sequences. */
static void test_recent_row_after_rollback(void **st)
{
  (void)st;
  store_t *s;
  store_msg_append_t a;
  store_recent_t r;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(send(s, 5, 6, 1, &a), 0);
  assert_int_equal(a.m.seq, 1);
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 5, 6, &r), IMC_E_NOTFOUND);
  assert_int_equal(send(s, 5, 6, 2, &a), 0);
  assert_int_equal(a.m.seq, 1);
  assert_int_equal(a.useq_to, 1);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 5, 6, &r), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 6, 5, &r), 0);
  store_close(s);
}

/* Both conversation rows of a message are written in one statement when
 * neither is known to exist, and the missing one alone when the other is:
 * each order ends with both rows. */
static void test_recent_rows_one_side_known(void **st)
{
  (void)st;
  store_t *s;
  store_msg_append_t a;
  store_recent_t r;
  assert_int_equal(test_store_open(dir, &s), 0);
  /* 1 → 2 without the recipient's row: then 2 → 1 needs only 2's row */
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(1, 2), 0, 1, 2, T0, 1, 1, 0, 604800, "{}", 2, NULL, NULL };
  a.inbox_from = a.inbox_to = a.recent_from = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 1, 2, &r), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 2, 1, &r), IMC_E_NOTFOUND);
  assert_int_equal(send(s, 2, 1, 2, &a), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 2, 1, &r), 0);
  assert_int_equal(r.last_seq, 2);
  /* 5 → 6 with the sender's row only: the same direction again needs only 6's row */
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(5, 6), 0, 5, 6, T0, 3, 3, 0, 604800, "{}", 2, NULL, NULL };
  a.inbox_from = a.inbox_to = a.recent_from = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 6, 5, &r), IMC_E_NOTFOUND);
  assert_int_equal(send(s, 5, 6, 4, &a), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 5, 6, &r), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 6, 5, &r), 0);
  /* only the recipient's row asked for */
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(7, 8), 0, 7, 8, T0, 5, 5, 0, 604800, "{}", 2, NULL, NULL };
  a.inbox_to = a.recent_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.useq_from, 0);
  assert_int_equal(a.useq_to, 1);
  assert_int_equal(store_msg_recent_get(s, APP, 8, 7, &r), 0);
  assert_int_equal(store_msg_recent_get(s, APP, 7, 8, &r), IMC_E_NOTFOUND);
  store_close(s);
}

/* The dedupe check is skipped in an empty conversation only: a resend into
 * a conversation that has messages is found (within the same batch and
 * after a reopen: the next seq then comes from the database). */
static void test_dedupe_after_first_message(void **st)
{
  (void)st;
  store_t *s;
  store_msg_append_t a;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(send(s, 1, 2, 7, &a), 0);
  assert_int_equal(a.dup, 0);
  assert_int_equal(a.m.seq, 1);
  assert_int_equal(send(s, 1, 2, 7, &a), 0);
  assert_int_equal(a.dup, 1);
  assert_int_equal(a.m.seq, 1);
  assert_int_equal(send(s, 2, 1, 7, &a), 0); /* the other sender: a new message */
  assert_int_equal(a.dup, 0);
  assert_int_equal(a.m.seq, 2);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(send(s, 1, 2, 7, &a), 0);
  assert_int_equal(a.dup, 1);
  assert_int_equal(a.m.seq, 1);
  assert_int_equal(a.useq_to, 0);
  store_close(s);
}

/* History callback: counts the messages and checks each body is the one
 * its seq was sent with ("b<seq>"). */
static void count_body(void *ud, const store_msg_t *m)
{
  char want[16];
  int n = snprintf(want, sizeof want, "\"b%u\"", m->seq);
  assert_int_equal(m->body_len, (size_t)n);
  assert_memory_equal(m->body, want, (size_t)n);
  (*(int *)ud)++;
}

static int send_body(store_t *s, uint32_t from, uint32_t to, uint32_t random, uint32_t seq_expected,
                     store_msg_append_t *a)
{
  char body[16];
  int n = snprintf(body, sizeof body, "\"b%u\"", seq_expected);
  memset(a, 0, sizeof *a);
  a->m = (store_msg_t){ APP, store_c2c_conv(from, to), 0, from, to, T0, random, random, 0, 604800, body, (size_t)n,
                        NULL, NULL };
  a->dedupe_since_s = T0 - 300;
  a->inbox_from = a->inbox_to = a->recent_from = a->recent_to = 1;
  int rc = store_msg_append(s, a); /* the body is copied: `body` may go now */
  if (!rc) assert_int_equal(a->m.seq, seq_expected);
  return rc;
}

static void count_empty(void *ud, const store_msg_t *m)
{
  assert_int_equal(m->body_len, 0);
  (*(int *)ud)++;
}

static void count_ev(void *ud, const store_inbox_ev_t *e) { (void)e; (*(int *)ud)++; }

/* An append's rows are held and written later (sqlite_msg_pend.c): more
 * than the buffer holds, reads inside the transaction see the held rows, a
 * ROLLBACK TO drops the ones made after its SAVEPOINT and keeps the ones
 * made before it, and what committed is exactly what was kept. */
static void test_held_rows(void **st)
{
  (void)st;
  store_t *s;
  store_msg_append_t a;
  uint64_t conv = store_c2c_conv(1, 2);
  uint32_t max_useq;
  int n;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(store_exec(s, "SAVEPOINT jobs"), 0);
  for (uint32_t i = 1; i <= 70; i++) assert_int_equal(send_body(s, i % 2 ? 1 : 2, i % 2 ? 2 : 1, 100 + i, i, &a), 0);
  assert_int_equal(store_exec(s, "RELEASE jobs"), 0);
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(send_body(s, 1, 2, 500, 71, &a), 0); /* held */
  n = 0;
  assert_int_equal(store_msg_get(s, APP, conv, 71, count_body, &n), 0); /* a read writes the held rows first */
  assert_int_equal(n, 1);
  assert_int_equal(send_body(s, 2, 1, 501, 72, &a), 0);
  assert_int_equal(send_body(s, 1, 3, 502, 1, &a), 0);
  n = 0;
  assert_int_equal(store_msg_inbox_page(s, APP, 1, 0, 1000, 0, count_ev, &n, &max_useq), 0);
  assert_int_equal(n, 73);
  assert_int_equal(max_useq, 73);
  assert_int_equal(send_body(s, 1, 2, 503, 73, &a), 0); /* held, then rolled back */
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  assert_int_equal(store_msg_get(s, APP, conv, 71, count_body, &n), IMC_E_NOTFOUND);
  assert_int_equal(send_body(s, 1, 2, 600, 71, &a), 0); /* held before the SAVEPOINT: survives its ROLLBACK TO */
  assert_int_equal(a.useq_from, 71);
  assert_int_equal(store_exec(s, "SAVEPOINT job"), 0);
  assert_int_equal(store_exec(s, "ROLLBACK TO job"), 0);
  assert_int_equal(store_exec(s, "RELEASE job"), 0);
  assert_int_equal(send_body(s, 1, 2, 600, 71, &a), 0); /* a resend: found among the written rows */
  assert_int_equal(a.dup, 1);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);
  assert_int_equal(test_store_open(dir, &s), 0);
  n = 0;
  assert_int_equal(store_msg_history(s, APP, conv, 0, 0, 0, INT64_MAX, 1000, count_body, &n), 0);
  assert_int_equal(n, 71);
  n = 0;
  assert_int_equal(store_msg_inbox_page(s, APP, 2, 0, 1000, 0, count_ev, &n, &max_useq), 0);
  assert_int_equal(n, 71);
  assert_int_equal(store_msg_recent_get(s, APP, 3, 1, &(store_recent_t){ 0 }), IMC_E_NOTFOUND);
  /* an empty body is held and written as one (NOT NULL) */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ APP, store_c2c_conv(4, 5), 0, 4, 5, T0, 1, 1, 0, 604800, "", 0, NULL, NULL };
  a.inbox_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  n = 0;
  assert_int_equal(store_msg_get(s, APP, store_c2c_conv(4, 5), 1, count_empty, &n), 0);
  assert_int_equal(n, 1);
  store_close(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_recent_row_after_trim, setup, teardown),
    cmocka_unit_test_setup_teardown(test_recent_row_after_rollback, setup, teardown),
    cmocka_unit_test_setup_teardown(test_recent_rows_one_side_known, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dedupe_after_first_message, setup, teardown),
    cmocka_unit_test_setup_teardown(test_held_rows, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
