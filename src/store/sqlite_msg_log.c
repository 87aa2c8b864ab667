/* sqlite_msg_log.c — the C2C inbox's log, the conversation rows' log, and
 * their merges.
 *
 * Both logs are on for a new connection (caps LOG_CAP_ROWS,
 * sqlite_msg_int.h; docs/decisions/messaging-c2c-commit.md §19: their
 * merges cost more writer work in total than they save on the
 * acknowledgement's path, but end to end they shorten the p99 at moderate
 * load). A log turned off (cap 0, sq__msg_log_caps) is still read, and
 * drained by idle merges to the last row.
 *
 * An append's inbox events go to c2c_inbox_log (migration 31; keyed as
 * c2c_inbox, (user_no, sdkappid, useq), since migration 32), and a new
 * conversation's two rows to c2c_recent_log (migration 32, keyed as
 * c2c_recent, (user_no, sdkappid, peer_no), the key alone). Written
 * straight into c2c_inbox and c2c_recent, whose keys lead with the user,
 * every row of a small commit dirtied a page of its own (4 KB of WAL per
 * row, most of a send's WAL volume and of the writer's instructions:
 * docs/decisions/messaging-c2c-append.md §16–§18). A log is much smaller
 * than its table (at most LOG_CAP_ROWS rows, a few hundred pages), so the
 * rows of a commit share its pages, and its key makes every read of it a
 * seek: a sync page, max(useq), a user's conversation rows cost what their
 * own rows cost, not a scan of the log (§17's unkeyed log cost a sync page
 * ~2.2 M instructions at a cap of 4,096).
 *
 * The merge moves a log's rows into its table in chunks of LOG_CHUNK_ROWS
 * rows in key order, each one transaction (INSERT … SELECT, then DELETE of
 * the same key range): every snapshot sees each row exactly once, in the
 * log or in the table. Idle chunks sweep the keys: each starts past the
 * key the last one ended at (sqmsg.sweep), and past the last key the sweep
 * starts again at the first. So a user's rows wait in the log for a whole
 * sweep, about LOG_MIN_ROWS rows' worth of traffic, and a chunk moves them
 * together into that user's few table pages: in a table much larger than a
 * chunk (a day of traffic), a chunk of the log's first rows dirtied about a
 * table page per row (§23). The INSERTs are OR FAIL / OR IGNORE: with the default
 * ABORT, SQLite gave the many-row statement a statement journal and copied
 * every table page it first touched into it (about a page per row;
 * docs/decisions/messaging-c2c-commit.md §20). A failing merge fails its
 * caller, which rolls back (merge_range's savepoint, or the job's). The writer thread merges one chunk per call after a
 * batch while no job waits and a log holds LOG_MIN_ROWS or more (a merge of
 * a few rows dirties as many table pages as writing them directly did),
 * the inbox log's chunks first. An append that finds a log at its cap
 * writes its rows straight into the table, as before the logs (a writer
 * that is never idle, at full rate, fills the logs once and then pays what
 * it paid before, with no merge on top). A log's row count is an estimate
 * (sqpend_t.log_rows, rlog_rows: counted by the appends, read back at every
 * merge step).
 *
 * Readers read both: INBOX_EVS and MAX_USEQ (the writer's next-useq miss
 * too) take the inbox and its log; RECENT_ROWS takes c2c_recent's rows and
 * the log's that the table lacks — an upsert of read_seq, pin, hide or
 * clear writes c2c_recent directly while the pair's log row waits, and the
 * merge's INSERT OR IGNORE then leaves that row as it is. The hourly
 * passes read the tables alone, so they merge first the rows they are about
 * to read, by key range (sqlite_msg.c, sqlite_msg_trim.c): the retention
 * purge each user's inbox events as its walk reaches the user (the walk
 * finds users in the inbox or its log), the conversation trim its user's
 * rows, the trim's walk the rows of the users its step reaches. Until
 * wave 16 each merged a whole log first, a stop that grew with the cap.
 * A restart finds the logs as committed; idle turns merge them.
 *
 * State: the sweep's position per log (struct sqmsg.sweep); runs on the
 * connection's thread. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#include <stdint.h>
#include <string.h>

static const struct { int count, nth, ins, del; } logs[] = {
  [SQ_LOG_INBOX] = { M_LOG_COUNT, M_LOG_NTH, M_LOG_MERGE, M_LOG_DELETE },
  [SQ_LOG_RECENT] = { M_RLOG_COUNT, M_RLOG_NTH, M_RLOG_MERGE, M_RLOG_DELETE },
};

static int64_t *rows_of(struct sqmsg *m, int log)
{
  return log == SQ_LOG_INBOX ? &m->pend.log_rows : &m->pend.rlog_rows;
}

static int run_range(store_t *s, int id, const int64_t lo[3], const int64_t hi[3])
{
  sqlite3_stmt *st = sq__msg_stmt(s, id);
  if (!st) return IMC_E_IO;
  BIND(st, hi[0], hi[1], hi[2], lo[0], lo[1], lo[2]);
  int rc = sq__map_rc(sqlite3_step(st));
  sqlite3_reset(st);
  return rc;
}

static const int64_t key_first[3] = { -1, 0, 0 }, key_last[3] = { INT64_MAX, 0, 0 }; /* below / above every key */

/* Move the log's rows with lo < key <= hi into its table, atomically:
 * inside the caller's transaction, or in a savepoint of its own outside
 * one. *moved: the rows taken from the log. */
static int merge_range(store_t *s, int log, const int64_t lo[3], const int64_t hi[3], int64_t *moved)
{
  sqlite3 *db = sq__db(s);
  int own = sqlite3_get_autocommit(db); /* outside a transaction: the two statements need one of their own */
  if (own && sqlite3_exec(db, "SAVEPOINT log_merge", NULL, NULL, NULL) != SQLITE_OK) return IMC_E_BUSY;
  int rc = run_range(s, logs[log].ins, lo, hi);
  if (!rc) rc = run_range(s, logs[log].del, lo, hi);
  *moved = rc ? 0 : sqlite3_changes(db);
  if (own) {
    if (rc) sqlite3_exec(db, "ROLLBACK TO log_merge", NULL, NULL, NULL);
    if (sqlite3_exec(db, "RELEASE log_merge", NULL, NULL, NULL) != SQLITE_OK && !rc) rc = IMC_E_IO;
  }
  return rc;
}

int sq__log_merge_keys(store_t *s, int log, const int64_t lo[3], const int64_t hi[3])
{
  int64_t moved;
  int rc = merge_range(s, log, lo, hi, &moved);
  struct sqmsg *m = *sq__msg_slot(s);
  if (!rc && m) *rows_of(m, log) = *rows_of(m, log) > moved ? *rows_of(m, log) - moved : 0;
  return rc;
}

int sq__log_merge_user(store_t *s, int log, uint32_t app, uint32_t user)
{
  const int64_t lo[3] = { user, app, -1 }, hi[3] = { user, app, INT64_MAX };
  return sq__log_merge_keys(s, log, lo, hi);
}

/* One chunk of log if it holds min rows or more: the first LOG_CHUNK_ROWS
 * rows in key order past the key the last chunk ended at (m->sweep), or
 * all the rows past it, after which the next chunk starts at the log's
 * first key again. *did: a chunk moved. */
static int step(store_t *s, struct sqmsg *m, int log, int64_t min, int *did)
{
  int64_t n, moved, hi[3], *lo = m->sweep[log];
  int rc = scalar(sq__msg_stmt(s, logs[log].count), &n);
  *did = 0;
  if (rc) return rc;
  *rows_of(m, log) = n; /* the estimate corrected (a rollback or an ignored duplicate leaves it high) */
  if (n < min) return 0;
  sqlite3_stmt *st = sq__msg_stmt(s, logs[log].nth); /* the chunk's last key */
  if (!st) return IMC_E_IO;
  BIND(st, lo[0], lo[1], lo[2], LOG_CHUNK_ROWS - 1);
  rc = sqlite3_step(st);
  int last = rc == SQLITE_DONE; /* fewer rows than a chunk past lo: take them all, then wrap */
  if (rc == SQLITE_ROW)
    for (int c = 0; c < 3; c++) hi[c] = sqlite3_column_int64(st, c);
  else
    memcpy(hi, key_last, sizeof hi);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && !last) return sq__map_rc(rc);
  if ((rc = merge_range(s, log, lo, hi, &moved))) return rc;
  memcpy(lo, last ? key_first : hi, sizeof hi);
  *rows_of(m, log) = n - moved;
  *did = 1;
  return 0;
}

int sq__log_merge_step(store_t *s, int mode, int *more)
{
  struct sqmsg *m = sq__msg_state(s); /* made here if need be: the scan runs before the first append */
  int rc = 0, did = 0, scan = 0;
  *more = 0;
  if (!m) return 0;
  /* the scan of conversations with a message (sqlite_msg_nf.c): a few seeks per batch while jobs wait */
  if ((rc = sq__nf_step(s, m, mode == STORE_MERGE_BUSY ? NF_STEP_BUSY : NF_STEP_IDLE, &scan))) return rc;
  if (mode == STORE_MERGE_BUSY) return 0; /* a writer with work merges nothing: the caps send rows past the logs */
  if (scan && mode == STORE_MERGE_IDLE) { *more = 1; return 0; } /* idle: the scan first, then the logs */
  /* a log that is off (cap 0, since wave 12) is drained to its last row: only an older database's rows are there */
  int64_t min[2] = { mode == STORE_MERGE_ALL || !m->pend.log_cap ? 1 : LOG_MIN_ROWS,
                     mode == STORE_MERGE_ALL || !m->pend.rlog_cap ? 1 : LOG_MIN_ROWS };
  for (int log = SQ_LOG_INBOX; log <= SQ_LOG_RECENT && !did && !rc; log++) rc = step(s, m, log, min[log], &did);
  *more = !rc && did && (m->pend.log_rows >= min[0] || m->pend.rlog_rows >= min[1]); /* one chunk per call */
  return rc;
}
