/* step_count.h — a store's SQLite work counted in virtual machine steps
 * (SQLITE_STMTSTATUS_VM_STEP), summed over every statement of its
 * connection in a profile trace callback: a count of work, not a time, so
 * a step test bounds a read without timing it. For unit tests of
 * src/store that use a store directly (no writer thread): one counter per
 * test program. Test-only. */
#ifndef IMC_TESTS_STEP_COUNT_H
#define IMC_TESTS_STEP_COUNT_H

#include <sqlite3.h>
#include <stdint.h>

#include "store/sqlite_int.h"

static int64_t steps;                         /* the steps since step_trace(s, 1) or the test's last reset */
static int (*step_skip)(const char *sql);     /* a statement whose steps are left out (NULL: none) */

static inline int step_profile(unsigned type, void *ud, void *p, void *x)
{
  (void)type; (void)ud; (void)x;
  int64_t n = sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 1);
  if (!step_skip || !step_skip(sqlite3_sql(p))) steps += n;
  return 0;
}

/* Counting on or off. On: every prepared statement's count is reset first
 * (a count holds the steps since its statement last finished while traced)
 * and steps starts at 0. Off: steps keeps what was counted. */
static inline void step_trace(store_t *s, int on)
{
  sqlite3 *db = store__sqlite_db(s);
  if (on)
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p))
      sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 1);
  assert_int_equal(sqlite3_trace_v2(db, on ? SQLITE_TRACE_PROFILE : 0, on ? step_profile : NULL, NULL), SQLITE_OK);
  if (on) steps = 0;
}

#endif
