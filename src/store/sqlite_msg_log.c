/* sqlite_msg_log.c — the C2C inbox's log and its merge.
 *
 * An append's inbox events go to c2c_inbox_log (migration 31), a rowid
 * table without a key: rowid order is commit order, and the rows of one
 * commit fill the log's last pages. Written straight into c2c_inbox, whose
 * key leads with the user, every event of a small commit dirtied a page of
 * its own (4 KB of WAL per event, most of a send's WAL volume and of the
 * writer's instructions: docs/decisions/messaging-c2c-storage.md §17). The
 * merge moves the log's oldest rows into c2c_inbox in log order, in chunks
 * of LOG_CHUNK_ROWS, each one transaction (INSERT … SELECT, then DELETE of
 * the same rowids): every snapshot sees each event exactly once, in the log
 * or in c2c_inbox. The writer thread merges chunks after a batch while no
 * job waits and the log holds LOG_MIN_ROWS or more (a merge of a few rows
 * dirties as many inbox pages as writing them directly did). The log's cap,
 * LOG_CAP_ROWS, bounds what a reader of the log scans: an append that finds
 * the log at its cap writes its events straight into c2c_inbox, as before
 * the log (a writer that is never idle, at full rate, pays what it paid
 * then and no merge on top: a merge costs as much per row as the direct
 * insert in a big commit). The log's row count is an estimate
 * (sqpend_t.log_rows: counted by the appends, read back at every merge
 * step).
 *
 * Readers read both (INBOX_EVS, MAX_USEQ in sqlite_msg_int.h). The writer's
 * connection, whose next-useq cache is the truth, never scans the log: a
 * cache miss reads max(useq) from c2c_inbox alone, which is exact while
 * every user with an event in the log is cached (log_known: the connection
 * wrote every log row since its cache was last cleared). At its first miss
 * after a start or a cache clear (a rollback, a full cache) it does not
 * know that, and merges the whole log first — once. A restart finds the
 * log as it was committed; that first miss or the first idle turn merges
 * it.
 *
 * State: none of its own; runs on the connection's thread. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#include <stdint.h>

int sq__log_range(store_t *s, int64_t *lo, int64_t *hi)
{
  sqlite3_stmt *st = sq__msg_stmt(s, M_LOG_RANGE);
  *lo = *hi = 0;
  if (!st) return IMC_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) { *lo = sqlite3_column_int64(st, 0); *hi = sqlite3_column_int64(st, 1); }
  sqlite3_reset(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

static int run_upto(store_t *s, int id, int64_t upto)
{
  sqlite3_stmt *st = sq__msg_stmt(s, id);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, upto);
  int rc = sq__map_rc(sqlite3_step(st));
  sqlite3_reset(st);
  return rc;
}

int sq__log_merge(store_t *s, int64_t upto)
{
  sqlite3 *db = sq__db(s);
  int own = sqlite3_get_autocommit(db); /* outside a transaction: the two statements need one of their own */
  if (own && sqlite3_exec(db, "SAVEPOINT log_merge", NULL, NULL, NULL) != SQLITE_OK) return IMC_E_BUSY;
  int rc = run_upto(s, M_LOG_MERGE, upto);
  if (!rc) rc = run_upto(s, M_LOG_DELETE, upto);
  struct sqmsg *m = *sq__msg_slot(s);
  if (!rc && m && upto == INT64_MAX) m->pend.log_rows = 0;
  if (own) {
    if (rc) sqlite3_exec(db, "ROLLBACK TO log_merge", NULL, NULL, NULL);
    if (sqlite3_exec(db, "RELEASE log_merge", NULL, NULL, NULL) != SQLITE_OK && !rc) rc = IMC_E_IO;
  }
  return rc;
}

int sq__log_merge_step(store_t *s, int mode, int *more)
{
  int64_t lo, hi, min = mode == STORE_MERGE_ALL ? 1 : LOG_MIN_ROWS;
  *more = 0;
  if (mode == STORE_MERGE_BUSY) return 0; /* a writer with work merges nothing: the log's cap sends events past it instead */
  int rc = sq__log_range(s, &lo, &hi);
  struct sqmsg *m = *sq__msg_slot(s);
  if (rc || !m) return rc;
  m->pend.log_rows = hi ? hi - lo + 1 : 0; /* the estimate corrected (a rollback leaves it high) */
  if (m->pend.log_rows < min) return 0;
  int64_t upto = lo + LOG_CHUNK_ROWS - 1 < hi ? lo + LOG_CHUNK_ROWS - 1 : hi;
  if ((rc = sq__log_merge(s, upto))) return rc;
  m->pend.log_rows = hi - upto;
  *more = m->pend.log_rows >= min;
  return 0;
}
