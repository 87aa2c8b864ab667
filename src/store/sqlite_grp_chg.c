/* sqlite_grp_chg.c — the changes of stored group messages in the SQLite backend (store_grp.h
 * store_grp_msg_change / _changes / _last_change / _del_sender; docs/decisions/groups-messages.md §17, §19).
 * Tables (migration 53): grp_chg, per group the number of its last change (deleted with the group by
 * sqlite_grp.c g_del, never by the retention purge); grp_msg.chg, on a message row the number of its last
 * change (0 never changed), and the partial index grp_msg_chg of the changed rows. Prepared per call: changes
 * and their reads are far rarer than messages. */
#include "store/sqlite_grp_int.h"

/* The group's next change number (its grp_chg row, made by its first change; deleted with the group, never by
 * the purge, so a number is never given twice in one life) stamped on message seq: the message first, so a
 * seq that is not there counts nothing. */
int sq__grp_msg_change(store_t *s, uint32_t app, uint32_t gno, uint32_t seq, uint32_t *chg)
{
  sqlite3_stmt *st;
  int64_t v;
  int rc;
  /* a RETURNING statement makes its change on the first step (scalar) */
  if (prep(s, "UPDATE grp_msg SET chg=1+coalesce((SELECT c.chg FROM grp_chg c WHERE c.sdkappid=?1 AND c.group_no=?2),0)"
              " WHERE sdkappid=?1 AND group_no=?2 AND seq=?3 RETURNING chg", &st))
    return IMC_E_IO;
  BIND(st, app, gno, seq);
  if ((rc = scalar(st, &v))) return rc;
  if (!v) return IMC_E_NOTFOUND;
  if (v > UINT32_MAX) return IMC_E_RANGE;
  if (prep(s, "INSERT INTO grp_chg(sdkappid,group_no,chg) VALUES(?1,?2,?3) ON CONFLICT(sdkappid,group_no)"
              " DO UPDATE SET chg=excluded.chg", &st))
    return IMC_E_IO;
  BIND(st, app, gno, v);
  if ((rc = done(st))) return rc;
  *chg = (uint32_t)v;
  return 0;
}

/* Through the partial index grp_msg_chg (changed messages only), named: m.chg>0 lets the planner use it. A
 * deleted message's placeholder comes too (GMSG_SEEN, not GMSG_VISIBLE): its deletion is its last change. */
int sq__grp_msg_changes(store_t *s, uint32_t app, uint32_t gno, uint32_t after_chg, uint32_t upto_seq, int64_t since,
                        int limit, uint32_t viewer, store_grp_msg_cb cb, void *ud)
{
  sqlite3_stmt *st;
  if (prep(s, GMSG_COLS " INDEXED BY grp_msg_chg" GMSG_JOIN " WHERE m.sdkappid=?1 AND m.group_no=?2 AND m.chg>0"
              " AND m.chg>?3 AND m.seq<=?4 AND m.time_s>=?6" GMSG_SEEN " ORDER BY m.chg LIMIT ?5", &st))
    return IMC_E_IO;
  BIND(st, app, gno, after_chg, upto_seq, limit, since, viewer);
  return sq__grp_msg_rows(st, 0, app, gno, cb, ud);
}

int sq__grp_msg_last_change(store_t *s, uint32_t app, uint32_t gno, uint32_t *chg)
{
  sqlite3_stmt *st;
  int64_t v;
  int rc;
  if (prep(s, "SELECT chg FROM grp_chg WHERE sdkappid=?1 AND group_no=?2", &st)) return IMC_E_IO;
  BIND(st, app, gno);
  if ((rc = scalar(st, &v))) return rc;
  *chg = (uint32_t)v;
  return 0;
}

/* delete_group_msg_by_sender (§19): the sender's messages of (after, upto] not yet deleted, at most limit, oldest
 * first, become placeholders numbered base+1, base+2 … in seq order (base the group's counter), in one statement
 * (UPDATE … FROM a numbered list); then the counter moves to the last, and the rows are read back in change order
 * through grp_msg_chg (no row but these has a number above base). */
int sq__grp_msg_del_sender(store_t *s, uint32_t app, uint32_t gno, uint32_t from, uint32_t after, uint32_t upto,
                           int limit, store_grp_msg_cb cb, void *ud)
{
  sqlite3_stmt *st;
  uint32_t base;
  int rc;
  int64_t n;
  if ((rc = sq__grp_msg_last_change(s, app, gno, &base))) return rc;
  /* chash NULL: a deleted message is no send's original (groups-messages.md §18) */
  if (prep(s, "WITH d(seq,r) AS (SELECT seq, row_number() OVER (ORDER BY seq) FROM grp_msg WHERE sdkappid=?1"
              " AND group_no=?2 AND seq>?4 AND seq<=?5 AND from_no=?3 AND NOT " PLACEHOLDER("") " ORDER BY seq LIMIT ?6)"
              " UPDATE grp_msg SET body='{\"MsgBody\":[]}', flags=flags|?7, chg=?8+d.r, chash=NULL FROM d"
              " WHERE grp_msg.sdkappid=?1 AND grp_msg.group_no=?2 AND grp_msg.seq=d.seq", &st))
    return IMC_E_IO;
  BIND(st, app, gno, from, after, upto, limit, STORE_GMSG_RECALLED | STORE_GMSG_DELETED, base);
  if ((rc = done(st))) return rc;
  n = sqlite3_changes(sq__db(s));
  if (!n) return 0;
  if ((int64_t)base + n > UINT32_MAX) return IMC_E_RANGE;
  if (prep(s, "INSERT INTO grp_chg(sdkappid,group_no,chg) VALUES(?1,?2,?3) ON CONFLICT(sdkappid,group_no)"
              " DO UPDATE SET chg=excluded.chg", &st))
    return IMC_E_IO;
  BIND(st, app, gno, (int64_t)base + n);
  if ((rc = done(st))) return rc;
  if (prep(s, GMSG_COLS " INDEXED BY grp_msg_chg" GMSG_JOIN " WHERE m.sdkappid=?1 AND m.group_no=?2 AND m.chg>0"
              " AND m.chg>?3 ORDER BY m.chg", &st))
    return IMC_E_IO;
  BIND(st, app, gno, base);
  return sq__grp_msg_rows(st, 0, app, gno, cb, ud);
}
