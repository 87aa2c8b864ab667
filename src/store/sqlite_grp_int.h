/* sqlite_grp_int.h — what the files of the SQLite group backend share (sqlite_grp.c: groups, members,
 * messages and the rest of store_grp.h; sqlite_grp_chg.c: the changes of stored messages): the statement
 * helpers, the columns and conditions of a message row and the reading of such rows. Each file's thread is
 * its connection's. */
#ifndef IMC_STORE_SQLITE_GRP_INT_H
#define IMC_STORE_SQLITE_GRP_INT_H

#include "store/sqlite_int.h"
#include "store/store_grp.h"
#include "util/err.h"

static inline int prep(store_t *s, const char *sql, sqlite3_stmt **st)
{
  return sqlite3_prepare_v2(sq__db(s), sql, -1, st, NULL) == SQLITE_OK ? 0 : IMC_E_IO;
}

/* Done with st: a cached statement is reset (kept for the next call), another finalized. */
static inline void end(sqlite3_stmt *st, int is_cached)
{
  if (is_cached) sqlite3_reset(st);
  else sqlite3_finalize(st);
}

static inline void bind_ints(sqlite3_stmt *st, int n, const int64_t *v)
{
  for (int i = 0; i < n; i++) sqlite3_bind_int64(st, i + 1, v[i]);
}
#define BIND(st, ...) bind_ints(st, (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]){ __VA_ARGS__ })

/* Step to the end; finalize (done_c, scalar_c: reset a cached statement). */
static inline int done_as(sqlite3_stmt *st, int is_cached)
{
  int rc = sqlite3_step(st);
  end(st, is_cached);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq__map_rc(rc);
}
static inline int done(sqlite3_stmt *st) { return done_as(st, 0); }
static inline int done_c(sqlite3_stmt *st) { return done_as(st, 1); }

static inline int scalar_as(sqlite3_stmt *st, int64_t *out, int is_cached)
{
  int rc = sqlite3_step(st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  end(st, is_cached);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}
static inline int scalar(sqlite3_stmt *st, int64_t *out) { return scalar_as(st, out, 0); }
static inline int scalar_c(sqlite3_stmt *st, int64_t *out) { return scalar_as(st, out, 1); }

static inline const char *txt(sqlite3_stmt *st, int col)
{
  const char *t = (const char *)sqlite3_column_text(st, col);
  return t ? t : "";
}

/* A row of table alias t that is delete_group_msg_by_sender's placeholder of a group's last message: flagged
 * DELETED (256), or, stored before that flag existed, RECALLED (1) with exactly the body it was given then (a
 * recall keeps the body, and no send, import or modify stores an empty MsgBody), so old placeholders need no
 * rewrite of the table. */
#define PLACEHOLDER(t) "(" t "flags&256<>0 OR (" t "flags&1<>0 AND " t "body='{\"MsgBody\":[]}'))"

/* The columns of a message row as store_grp_msg_t carries them (msg_rows), of table alias m joined with its
 * sender's account as a. */
#define GMSG_COLS                                                                                                   \
  "SELECT m.seq,m.from_no,m.time_s,m.random,m.flags,m.priority,m.body,"                                             \
  "coalesce(a.user_id," SQ_GONE_ID("m.sdkappid", "m.from_no") ",m.from_id,''),"                                   \
  " CASE WHEN m.flags&64 THEN (SELECT json_group_array(b.user_id) FROM grp_msg_to t JOIN accounts b"               \
  " ON b.sdkappid=t.sdkappid AND b.user_no=t.user_no WHERE t.sdkappid=m.sdkappid AND t.group_no=m.group_no"        \
  " AND t.seq=m.seq) END, m.chg FROM grp_msg m"
#define GMSG_JOIN " LEFT JOIN accounts a ON a.sdkappid=m.sdkappid AND a.user_no=m.from_no"
/* A row viewer ?7 may see: a targeted message (flags 64) only if it sent it or is a recipient (?7 = 0: every
 * message). GMSG_VISIBLE, a row it may read: also not a deleted message's placeholder (PLACEHOLDER), which
 * only the changes (GMSG_SEEN) return, as the deletion of a message the viewer holds (§19). */
#define GMSG_SEEN                                                                                                   \
  " AND (?7=0 OR m.flags&64=0 OR m.from_no=?7 OR EXISTS(SELECT 1 FROM grp_msg_to t"                              \
  " WHERE t.sdkappid=m.sdkappid AND t.group_no=m.group_no AND t.seq=m.seq AND t.user_no=?7))"
#define GMSG_VISIBLE " AND NOT " PLACEHOLDER("m.") GMSG_SEEN

/* Each row of st (GMSG_COLS) to cb (its change set); st released with end(). 0 or a storage error. */
int sq__grp_msg_rows(sqlite3_stmt *st, int is_cached, uint32_t app, uint32_t gno, store_grp_msg_cb cb, void *ud);

/* sqlite_grp_chg.c: store_grp_msg_change, store_grp_msg_changes, store_grp_msg_last_change,
 * store_grp_msg_del_sender (store_grp.h). */
int sq__grp_msg_change(store_t *s, uint32_t app, uint32_t gno, uint32_t seq, uint32_t *chg);
int sq__grp_msg_changes(store_t *s, uint32_t app, uint32_t gno, uint32_t after_chg, uint32_t upto_seq, int64_t since,
                        int limit, uint32_t viewer, store_grp_msg_cb cb, void *ud);
int sq__grp_msg_last_change(store_t *s, uint32_t app, uint32_t gno, uint32_t *chg);
int sq__grp_msg_del_sender(store_t *s, uint32_t app, uint32_t gno, uint32_t from, uint32_t after, uint32_t upto,
                           int limit, store_grp_msg_cb cb, void *ud);

#endif
