/* sqlite_msg_log.c — the C2C inbox's log, the conversation rows' log, and
 * their merges.
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
 * The conversation log (migration 32, docs/decisions/messaging-c2c-storage.md
 * §18): a new conversation's two rows go to c2c_recent_log, a WITHOUT ROWID
 * table keyed as c2c_recent (user_no, sdkappid, peer_no) holding only the
 * key. It stays small (LOG_CAP_ROWS, ~20 leaf pages), so a small commit
 * dirties a few of its pages instead of one c2c_recent page per row, and a
 * reader finds a user's rows by a seek (RECENT_ROWS in sqlite_msg_int.h:
 * the table's rows, then the log's that the table lacks — an upsert of
 * read_seq, pin, hide or clear writes c2c_recent directly, and the merge's
 * INSERT OR IGNORE then leaves that row as it is). Idle merges take one
 * chunk per call, the inbox log's first; a conversation chunk is the rows
 * of the users up to the LOG_CHUNK_ROWS-th row in key order. The trim and
 * its walk merge the whole conversation log first (sqlite_msg.c). Past the
 * cap rows go straight to c2c_recent (INSERT OR IGNORE), as before.
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

/* Run ins then del with upto, atomically (see sq__log_merge); *moved: the rows del deleted. */
static int merge_pair(store_t *s, int ins, int del, int64_t upto, int64_t *moved)
{
  sqlite3 *db = sq__db(s);
  int own = sqlite3_get_autocommit(db); /* outside a transaction: the two statements need one of their own */
  if (own && sqlite3_exec(db, "SAVEPOINT log_merge", NULL, NULL, NULL) != SQLITE_OK) return IMC_E_BUSY;
  int rc = run_upto(s, ins, upto);
  if (!rc) rc = run_upto(s, del, upto);
  *moved = rc ? 0 : sqlite3_changes(db);
  if (own) {
    if (rc) sqlite3_exec(db, "ROLLBACK TO log_merge", NULL, NULL, NULL);
    if (sqlite3_exec(db, "RELEASE log_merge", NULL, NULL, NULL) != SQLITE_OK && !rc) rc = IMC_E_IO;
  }
  return rc;
}

int sq__log_merge(store_t *s, int64_t upto)
{
  int64_t moved;
  int rc = merge_pair(s, M_LOG_MERGE, M_LOG_DELETE, upto, &moved);
  struct sqmsg *m = *sq__msg_slot(s);
  if (!rc && m && upto == INT64_MAX) m->pend.log_rows = 0;
  return rc;
}

int sq__rlog_merge_all(store_t *s)
{
  int64_t moved;
  int rc = merge_pair(s, M_RLOG_MERGE, M_RLOG_DELETE, INT64_MAX, &moved);
  struct sqmsg *m = *sq__msg_slot(s);
  if (!rc && m) m->pend.rlog_rows = 0;
  return rc;
}

/* One chunk of the conversation log: the rows of its users up to the
 * LOG_CHUNK_ROWS-th row's (key order: a user's rows go together, so a
 * chunk can hold one user's rows more than that). */
static int rlog_step(store_t *s, struct sqmsg *m, int64_t min, int *more)
{
  int64_t n, upto, moved;
  sqlite3_stmt *st = sq__msg_stmt(s, M_RLOG_COUNT);
  int rc = scalar(st, &n);
  if (rc) return rc;
  m->pend.rlog_rows = n; /* the estimate corrected (a rollback or an ignored duplicate leaves it high) */
  if (n < min) return 0;
  if (!(st = sq__msg_stmt(s, M_RLOG_NTH))) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, LOG_CHUNK_ROWS - 1);
  if ((rc = scalar(st, &upto))) return rc;
  if (n < LOG_CHUNK_ROWS) upto = INT64_MAX; /* fewer rows than a chunk: all of them */
  if ((rc = merge_pair(s, M_RLOG_MERGE, M_RLOG_DELETE, upto, &moved))) return rc;
  m->pend.rlog_rows = n - moved;
  *more = m->pend.rlog_rows >= min;
  return 0;
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
  if (m->pend.log_rows < min) return rlog_step(s, m, min, more); /* one chunk per call: the other log's turn */
  int64_t upto = lo + LOG_CHUNK_ROWS - 1 < hi ? lo + LOG_CHUNK_ROWS - 1 : hi;
  if ((rc = sq__log_merge(s, upto))) return rc;
  m->pend.log_rows = hi - upto;
  *more = m->pend.log_rows >= min || m->pend.rlog_rows >= min;
  return 0;
}
