/* The first append to a conversation without a message skips its max(seq)
 * read once the connection's filter of conversations with a message is
 * complete (sqlite_msg_nf.c; docs/decisions/messaging-c2c-commit.md §21),
 * and every seq stays exact: conversations stored before a restart, in two
 * apps, a rolled-back first message, a filter that grows (and scans again)
 * past its load, before and after the scan finished. The store is used
 * directly (no writer thread); store_msg_merge(IDLE) is the writer's hook
 * that runs the scan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_msg_int.h"
#include "store/store.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "store_rows.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define APP 1400000001u
#define APP2 1400000002u
#define T0 1700000000

static char dir[64];
static int max_reads; /* runs of the max(seq) statement (sqlite3_trace_v2) */

static int on_trace(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)p;
  if (!strncmp((const char *)x, "SELECT max(seq) FROM c2c_msg", 28)) max_reads++;
  return 0;
}

static int setup(void **st)
{
  (void)st;
  return test_tmpdir_make(dir, sizeof dir, "msgnewconv");
}

static int teardown(void **st)
{
  (void)st;
  return test_tmpdir_remove(dir);
}

static store_t *open_traced(void)
{
  store_t *s;
  assert_int_equal(test_store_open(dir, &s), 0);
  assert_int_equal(sqlite3_trace_v2(store__sqlite_db(s), SQLITE_TRACE_STMT, on_trace, NULL), SQLITE_OK);
  return s;
}

/* from → to in app; returns the stored seq */
static uint32_t send(store_t *s, uint32_t app, uint32_t from, uint32_t to)
{
  static uint32_t random;
  store_msg_append_t a;
  memset(&a, 0, sizeof a);
  random++;
  a.m = (store_msg_t){ app, store_c2c_conv(from, to), 0, from, to, T0, random, random, 0, 604800, "{}", 2, NULL, NULL };
  a.dedupe_since_s = T0 - 300;
  a.inbox_from = a.inbox_to = a.recent_from = a.recent_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.dup, 0);
  return a.m.seq;
}

static void scan(store_t *s)
{
  int more = 1;
  while (more) assert_int_equal(store_msg_merge(s, STORE_MERGE_IDLE, &more), 0);
}

static void test_new_conv_skips_max_seq(void **st)
{
  (void)st;
  store_t *s = open_traced();
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 1; i <= 3; i++) assert_int_equal(send(s, APP, 1, 2), (uint32_t)i);
  assert_int_equal(send(s, APP, 4, 3), 1);
  assert_int_equal(send(s, APP2, 2, 1), 1);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);

  s = open_traced(); /* a new connection: its filter is made by the scan */
  max_reads = 0;
  assert_int_equal(send(s, APP, 1, 2), 4); /* before the scan: max(seq) as before */
  assert_int_equal(max_reads, 1);
  scan(s);
  max_reads = 0;
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t u = 100; u < 300; u += 2) assert_int_equal(send(s, APP, u, u + 1), 1);
  assert_true(max_reads <= 4); /* new conversations: no max(seq) (a false positive of the filter may read one) */
  assert_int_equal(send(s, APP, 3, 4), 2);  /* stored before the restart: found by the scan */
  assert_int_equal(send(s, APP2, 1, 2), 2); /* the same pair in another app */
  assert_int_equal(send(s, APP2, 3, 4), 1); /* a pair that has messages in the other app only */
  assert_int_equal(send(s, APP, 1, 2), 5);
  assert_int_equal(store_exec(s, "COMMIT"), 0);

  /* a first message rolled back: the conversation is empty again, and its seq starts at 1 */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(send(s, APP, 500, 501), 1);
  assert_int_equal(store_exec(s, "ROLLBACK"), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  assert_int_equal(send(s, APP, 501, 500), 1);
  assert_int_equal(send(s, APP, 500, 501), 2);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  /* the rollback cleared the seq caches: the conversations this connection made are in its filter, and read */
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t u = 100; u < 300; u += 2) assert_int_equal(send(s, APP, u + 1, u), 2);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);
}

/* A filter that starts at one block grows (and scans again) past its load:
 * no conversation with a message is ever answered "empty". */
static void test_filter_grows_exact(void **st)
{
  (void)st;
  store_t *s = open_traced();
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t u = 0; u < 600; u++) assert_int_equal(send(s, APP, 2 * u + 2, 2 * u + 1), 1);
  for (uint32_t i = 1; i <= 50; i++) assert_int_equal(send(s, APP, 5000, 5001), i); /* passed by a seek */
  assert_int_equal(send(s, APP, 5003, 5000), 1); /* the next conversation in key order */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);

  s = open_traced();
  struct sqmsg *m = sq__msg_state(s);
  assert_non_null(m);
  m->nf.min_blocks = 1; /* 40 keys: the scan of 600 overflows it twice */
  scan(s);
  assert_int_equal(m->nf.ready, 1);
  assert_true(m->nf.nblocks >= 16);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t u = 0; u < 600; u++) assert_int_equal(send(s, APP, 2 * u + 1, 2 * u + 2), 2);
  assert_int_equal(send(s, APP, 5001, 5000), 51);
  assert_int_equal(send(s, APP, 5000, 5003), 2);
  max_reads = 0;
  for (uint32_t u = 0; u < 3000; u++) assert_int_equal(send(s, APP, 10000 + 2 * u, 10001 + 2 * u), 1);
  assert_true(max_reads < 3000); /* most skipped, though the filter is past its load */
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  uint32_t before = m->nf.nblocks;
  scan(s); /* past the load: a bigger filter, scanned again */
  assert_true(m->nf.nblocks > before);
  assert_int_equal(m->nf.ready, 1);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (uint32_t u = 0; u < 3000; u++) assert_int_equal(send(s, APP, 10001 + 2 * u, 10000 + 2 * u), 2);
  for (uint32_t u = 0; u < 600; u++) assert_int_equal(send(s, APP, 2 * u + 2, 2 * u + 1), 3);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);
}

/* The filter alone: no false negative; few false positives at its load. */
static void test_filter_no_false_negative(void **st)
{
  (void)st;
  sqnf_t f;
  memset(&f, 0, sizeof f);
  f.nblocks = 64;
  f.bits = calloc(64 * 8, sizeof *f.bits);
  assert_non_null(f.bits);
  uint64_t x = 12345;
  for (int i = 0; i < 64 * NF_LOAD; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    sq__nf_add(&f, (uint32_t)(x >> 60), x);
  }
  x = 12345;
  for (int i = 0; i < 64 * NF_LOAD; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    assert_int_equal(sq__nf_maybe(&f, (uint32_t)(x >> 60), x), 1);
  }
  int fp = 0;
  for (int i = 0; i < 100000; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    fp += sq__nf_maybe(&f, 7, x | 1ULL << 63);
  }
  assert_true(fp < 5000); /* measured ~1.5 % at NF_LOAD keys per block */
  sq__nf_free(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_new_conv_skips_max_seq, setup, teardown),
    cmocka_unit_test_setup_teardown(test_filter_grows_exact, setup, teardown),
    cmocka_unit_test(test_filter_no_false_negative),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
