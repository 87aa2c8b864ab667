/* store_rows.h — helpers of the store's unit tests that use a store directly
 * (no writer thread): append a C2C message with both inbox events and both
 * conversation rows, and count a table's rows. Include after cmocka.h,
 * store/store.h, store/store_msg.h and store/sqlite_msg_int.h. */
#ifndef IMC_TEST_STORE_ROWS_H
#define IMC_TEST_STORE_ROWS_H

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store_tmpl.h"

/* from → to in app, at time t0 + random, MsgRandom and client seq random. */
static inline void rows_send(store_t *s, uint32_t app, int64_t t0, uint32_t from, uint32_t to, uint32_t random)
{
  store_msg_append_t a;
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ app, store_c2c_conv(from, to), 0, from, to, t0 + random, random, random, 0, 604800, "{}", 2,
                       NULL, NULL };
  a.inbox_from = a.inbox_to = a.recent_from = a.recent_to = 1;
  assert_int_equal(store_msg_append(s, &a), 0);
}

/* A whole retention pass of one app (both purge walks to their ends, in
 * steps of limit rows); *msgs (if not NULL) = the messages deleted. Returns
 * every row deleted. */
static inline int64_t rows_purge_app(store_t *s, uint32_t app, int64_t before, int limit, int64_t *msgs)
{
  const store_msg_cut_t cut = { app, before, 0 };
  int64_t n, total = 0, cursor = 0;
  uint32_t ucursor = 0;
  int more, calls = 0;
  do {
    assert_int_equal(store_msg_purge_msgs(s, &cut, 1, limit, &cursor, &n, &more), 0);
    total += n;
  } while (more && ++calls < 1000000);
  if (msgs) *msgs = total;
  do {
    assert_int_equal(store_msg_purge_inbox(s, app, before, limit, &ucursor, &n, &more), 0);
    total += n;
  } while (more && ++calls < 1000000);
  assert_false(more);
  return total;
}

/* test_store_open(dir) for a test of what the rows are, not of what survives a
 * power cut: the connection syncs nothing (PRAGMA synchronous=OFF; the store
 * opens at FULL, an fdatasync per commit, most of such a test's time). A
 * store_close and store_open still see every committed row. */
static inline void rows_open_nosync(const char *dir, store_t **s)
{
  assert_int_equal(test_store_open(dir, s), 0);
  assert_int_equal(sqlite3_exec(store__sqlite_db(*s), "PRAGMA synchronous=OFF", NULL, NULL, NULL), SQLITE_OK);
}

static inline int64_t rows_count(store_t *s, const char *table)
{
  char sql[96];
  sqlite3_stmt *st;
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  assert_int_equal(sqlite3_prepare_v2(store__sqlite_db(s), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

#endif
