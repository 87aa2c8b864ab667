/* sqlite_grp.c — the SQLite backend of store_grp.h.
 *
 * Tables (migration 13 in sqlite.c): grp (one row per live group, PRIMARY
 * KEY (sdkappid, group_no), UNIQUE (sdkappid, group_id)), grp_member
 * (PRIMARY KEY (sdkappid, group_no, user_no), an index by user for "groups
 * of a user") and grp_msg (rowid, UNIQUE (sdkappid, group_no, seq), an index
 * on (sdkappid, group_no, random, chash, from_no) for dedupe, migration 54); grp_purge (migration 18): per
 * group the highest seq the retention purge deleted; grp_apply_mark (migration 52): the application marks
 * of users that left a group, and its floor (store_grp_mark_put). The changes of messages (grp_chg, grp_msg.chg,
 * migration 53) are sqlite_grp_chg.c's; what both files share, sqlite_grp_int.h's.
 *
 * The next seq of a group is read with max(seq) through the unique index in
 * the appending transaction (or the purge mark, when the purge deleted every
 * message): no counter row, nothing cached, so a rolled-back append leaves
 * no trace. The statements of the hot paths — a message's append (its
 * dedupe check, the last seq, the inserts, the sender's and the group's
 * times), the member row, unread counts, history pages and the last listed
 * message — are prepared once per connection and kept (cached(): the
 * connection's cache, store__sqlite_gcache, finalized at its close; each is
 * reset after its use, so none holds a read open); the rest (group
 * changes, membership changes, startup loads, the purge) are prepared per
 * call: far rarer than messages.
 */
#include "store/sqlite_grp_int.h"
#include "store/store_content.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cached statements (at most SQG_STMTS_MAX). */
enum {
  G_DEDUPE, G_LAST_SEQ, G_INSERT, G_INSERT_TO, G_LAST_SEND, G_LAST_MSG, G_UNREAD, G_MEMBER_GET, G_HISTORY_ASC,
  G_HISTORY_DESC, G_LAST_LISTED, G_MARK_GET, G__COUNT
};
_Static_assert(G__COUNT <= SQG_STMTS_MAX, "raise SQG_STMTS_MAX");

/* *st: statement id of the connection's cache, prepared from sql on first use, reset, bindings cleared.
 * Release it with end() (or the helpers taking cached). 0 or IMC_E_IO. */
static int cached(store_t *s, int id, const char *sql, sqlite3_stmt **st)
{
  *st = sq__prepared(s, &store__sqlite_gcache(s)[id], sql);
  return *st ? 0 : IMC_E_IO;
}

/* ---- groups ---------------------------------------------------------------------- */
static int g_put(store_t *s, const store_grp_t *g)
{
  sqlite3_stmt *st;
  if (prep(s, "INSERT OR REPLACE INTO grp(sdkappid,group_no,group_id,type,owner_no,created_at,info,info_seq,info_time,"
              "last_msg) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)", &st))
    return IMC_E_IO;
  BIND(st, g->sdkappid, g->group_no);
  sqlite3_bind_text(st, 3, g->group_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, g->type);
  sqlite3_bind_int64(st, 5, g->owner_no);
  sqlite3_bind_int64(st, 6, g->created_s);
  sqlite3_bind_text(st, 7, g->info, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 8, g->info_seq);
  sqlite3_bind_int64(st, 9, g->info_time_s);
  sqlite3_bind_int64(st, 10, g->last_msg_s);
  return done(st);
}

static int g_del(store_t *s, uint32_t app, uint32_t gno)
{
  static const char *const sql[] = { "DELETE FROM grp_msg WHERE sdkappid=?1 AND group_no=?2",
                                     "DELETE FROM grp_purge WHERE sdkappid=?1 AND group_no=?2",
                                     "DELETE FROM grp_chg WHERE sdkappid=?1 AND group_no=?2",
                                     "DELETE FROM grp_msg_to WHERE sdkappid=?1 AND group_no=?2",
                                     "DELETE FROM grp_member WHERE sdkappid=?1 AND group_no=?2",
                                     "DELETE FROM grp_apply_mark WHERE sdkappid=?1 AND group_no=?2",
                                     "DELETE FROM grp WHERE sdkappid=?1 AND group_no=?2" };
  for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
    sqlite3_stmt *st;
    int rc;
    if (prep(s, sql[i], &st)) return IMC_E_IO;
    BIND(st, app, gno);
    if ((rc = done(st))) return rc;
  }
  return 0;
}

static int g_each(store_t *s, store_grp_cb cb, void *ud)
{
  sqlite3_stmt *st;
  int rc;
  if (prep(s, "SELECT g.sdkappid,g.group_no,g.group_id,g.type,g.owner_no,g.created_at,g.info,g.info_seq,g.info_time,"
              "g.last_msg,coalesce(a.user_id,''),coalesce((SELECT max(u.created_at) FROM usage_group u"
              " WHERE u.sdkappid=g.sdkappid AND u.group_id=g.group_id AND u.dissolved_at IS NULL),0)"
              " FROM grp g LEFT JOIN accounts a ON a.sdkappid=g.sdkappid"
              " AND a.user_no=g.owner_no ORDER BY g.sdkappid, g.group_no", &st))
    return IMC_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_grp_t g = { (uint32_t)sqlite3_column_int64(st, 0), (uint32_t)sqlite3_column_int64(st, 1), txt(st, 2),
                      sqlite3_column_int(st, 3), (uint32_t)sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
                      txt(st, 6), (uint32_t)sqlite3_column_int64(st, 7), sqlite3_column_int64(st, 8),
                      sqlite3_column_int64(st, 9), txt(st, 10), sqlite3_column_int64(st, 11) };
    cb(ud, &g);
  }
  sqlite3_finalize(st);
  return sq__map_rc(rc);
}

/* ---- members --------------------------------------------------------------------- */
#define MCOLS "m.sdkappid,m.group_no,m.user_no,m.role,m.msg_flag,m.join_time,m.mute_until,m.read_seq,m.last_send," \
              "m.name_card,m.data,coalesce(a.user_id,''),m.conv_hidden,m.pinned_at,m.pin_seq,m.apply_seq"
#define MJOIN " LEFT JOIN accounts a ON a.sdkappid=m.sdkappid AND a.user_no=m.user_no"

static int member_rows(sqlite3_stmt *st, store_grp_member_cb cb, void *ud, int *n, int is_cached)
{
  int rc;
  *n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_grp_member_t m = { (uint32_t)sqlite3_column_int64(st, 2), sqlite3_column_int(st, 3),
                             sqlite3_column_int(st, 4), sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6),
                             (uint32_t)sqlite3_column_int64(st, 7), sqlite3_column_int64(st, 8), txt(st, 9),
                             txt(st, 10), txt(st, 11), (uint32_t)sqlite3_column_int64(st, 12),
                             sqlite3_column_int64(st, 13), sqlite3_column_int64(st, 14),
                             (uint32_t)sqlite3_column_int64(st, 15) };
    cb(ud, (uint32_t)sqlite3_column_int64(st, 0), (uint32_t)sqlite3_column_int64(st, 1), &m);
    (*n)++;
  }
  end(st, is_cached);
  return sq__map_rc(rc);
}

static int m_put(store_t *s, uint32_t app, uint32_t gno, const store_grp_member_t *m)
{
  sqlite3_stmt *st;
  if (prep(s, "INSERT OR REPLACE INTO grp_member(sdkappid,group_no,user_no,role,msg_flag,join_time,mute_until,read_seq,"
              "last_send,name_card,data,apply_seq) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)", &st))
    return IMC_E_IO;
  BIND(st, app, gno, m->user_no, m->role, m->msg_flag, m->join_s, m->mute_until_s, m->read_seq, m->last_send_s);
  sqlite3_bind_int64(st, 12, m->apply_seq);
  sqlite3_bind_text(st, 10, m->name_card ? m->name_card : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 11, m->data ? m->data : "", -1, SQLITE_STATIC);
  return done(st);
}

static int m_del(store_t *s, uint32_t app, uint32_t gno, uint32_t user)
{
  sqlite3_stmt *st;
  int rc;
  if (prep(s, "DELETE FROM grp_member WHERE sdkappid=?1 AND group_no=?2 AND user_no=?3", &st)) return IMC_E_IO;
  BIND(st, app, gno, user);
  if ((rc = done(st))) return rc;
  return sqlite3_changes(sq__db(s)) ? 0 : IMC_E_NOTFOUND;
}

static int m_set(store_t *s, uint32_t app, uint32_t gno, uint32_t user, const char *field, int64_t v, const char *text)
{
  static const char *const cols[] = { "role",      "msg_flag", "mute_until", "read_seq",
                                      "last_send", "name_card", "data",      "conv_hidden", "apply_seq" };
  size_t i;
  for (i = 0; i < sizeof cols / sizeof cols[0] && strcmp(cols[i], field); i++) {}
  if (i == sizeof cols / sizeof cols[0]) return IMC_E_INVAL;
  char sql[128];
  snprintf(sql, sizeof sql, "UPDATE grp_member SET %s=?4 WHERE sdkappid=?1 AND group_no=?2 AND user_no=?3", cols[i]);
  sqlite3_stmt *st;
  int rc;
  if (prep(s, sql, &st)) return IMC_E_IO;
  BIND(st, app, gno, user);
  if (i == 5 || i == 6) sqlite3_bind_text(st, 4, text ? text : "", -1, SQLITE_STATIC);
  else sqlite3_bind_int64(st, 4, v);
  if ((rc = done(st))) return rc;
  return sqlite3_changes(sq__db(s)) ? 0 : IMC_E_NOTFOUND;
}

/* A pin takes the next of the user's pin orders (sqlite_pin.c sq__pin_take: both kinds, never given twice), an
 * unpin clears it. */
static int m_pin(store_t *s, uint32_t app, uint32_t gno, uint32_t user, int64_t at)
{
  sqlite3_stmt *st;
  int64_t order = 0;
  int rc;
  if (at > 0 && (rc = sq__pin_take(s, app, user, &order))) return rc;
  if (prep(s, "UPDATE grp_member SET pinned_at=?4, pin_seq=?5 WHERE sdkappid=?1 AND group_no=?2 AND user_no=?3"
              " AND role<3", &st))
    return IMC_E_IO;
  BIND(st, app, gno, user, at, at > 0 ? order : 0);
  if ((rc = done(st))) return rc;
  return sqlite3_changes(sq__db(s)) ? 0 : IMC_E_NOTFOUND;
}

/* The pinned member rows only, through their partial index (migration 42; named, so that a missing index
 * fails the preparation instead of reading every member row of the app, as the planner did without it). */
static int m_pinned_count(store_t *s, uint32_t app, uint32_t user, uint32_t except, int64_t *n)
{
  sqlite3_stmt *st;
  if (prep(s, "SELECT count(*) FROM grp_member INDEXED BY grp_member_pinned WHERE sdkappid=?1 AND user_no=?2"
              " AND pinned_at>0 AND role<3 AND group_no!=?3", &st))
    return IMC_E_IO;
  BIND(st, app, user, except);
  return scalar(st, n);
}

static int m_each(store_t *s, uint32_t app, uint32_t gno, int64_t off, int limit, store_grp_member_cb cb, void *ud)
{
  sqlite3_stmt *st;
  int n;
  if (!app) {
    if (prep(s, "SELECT " MCOLS " FROM grp_member m" MJOIN, &st)) return IMC_E_IO;
    return member_rows(st, cb, ud, &n, 0);
  }
  if (prep(s, "SELECT " MCOLS " FROM grp_member m" MJOIN " WHERE m.sdkappid=?1 AND m.group_no=?2"
              " AND m.role<3 ORDER BY m.join_time, m.user_no LIMIT ?3 OFFSET ?4", &st))
    return IMC_E_IO;
  BIND(st, app, gno, limit < 0 ? -1 : limit, off);
  return member_rows(st, cb, ud, &n, 0);
}

static int m_applications(store_t *s, uint32_t app, uint32_t gno, int64_t off, int limit, store_grp_member_cb cb,
                          void *ud)
{
  sqlite3_stmt *st;
  int n;
  if (prep(s, "SELECT " MCOLS " FROM grp_member m" MJOIN " WHERE m.sdkappid=?1 AND m.group_no=?2"
              " AND m.role=3 ORDER BY m.join_time, m.user_no LIMIT ?3 OFFSET ?4", &st))
    return IMC_E_IO;
  BIND(st, app, gno, limit < 0 ? -1 : limit, off);
  return member_rows(st, cb, ud, &n, 0);
}

static int m_get(store_t *s, uint32_t app, uint32_t gno, uint32_t user, store_grp_member_cb cb, void *ud)
{
  sqlite3_stmt *st;
  int n, rc;
  if (cached(s, G_MEMBER_GET, "SELECT " MCOLS " FROM grp_member m" MJOIN " WHERE m.sdkappid=?1 AND m.group_no=?2"
             " AND m.user_no=?3 AND m.role<3", &st))
    return IMC_E_IO;
  BIND(st, app, gno, user);
  if ((rc = member_rows(st, cb, ud, &n, 1))) return rc;
  return n ? 0 : IMC_E_NOTFOUND;
}

/* The user's rows through grp_member_user, named: left to itself the planner (no ANALYZE statistics) took the
 * primary key's (sdkappid) prefix, which reads every member row of the app, and sorted them
 * (docs/decisions/store-query-plans.md). The sort is over the user's groups only. */
static int m_joined(store_t *s, uint32_t app, uint32_t user, store_grp_member_cb cb, void *ud)
{
  sqlite3_stmt *st;
  int n;
  if (prep(s, "SELECT " MCOLS " FROM grp_member m INDEXED BY grp_member_user" MJOIN " WHERE m.sdkappid=?1 AND m.user_no=?2"
              " AND m.role<3 ORDER BY m.join_time, m.group_no", &st))
    return IMC_E_IO;
  BIND(st, app, user);
  return member_rows(st, cb, ud, &n, 0);
}

/* Two reads by group number, merged: the numbers (index grp_member_user: an index entry holds the
 * primary key, so no row is read) and the state of the pinned or deleted ones (the partial index
 * grp_member_conv covers the columns). Both run in the caller's transaction. */
static int m_convs(store_t *s, uint32_t app, uint32_t user, store_grp_conv_t **out, size_t *n)
{
  sqlite3_stmt *st;
  store_grp_conv_t *a = NULL;
  size_t len = 0, cap = 0;
  int rc;
  *out = NULL;
  *n = 0;
  if (prep(s, "SELECT group_no FROM grp_member INDEXED BY grp_member_user WHERE sdkappid=?1 AND user_no=?2"
              " ORDER BY group_no", &st))
    return IMC_E_IO;
  BIND(st, app, user);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (len == cap) {
      size_t nc = cap ? cap * 2 : 16;
      store_grp_conv_t *b = realloc(a, nc * sizeof *b);
      if (!b) { sqlite3_finalize(st); free(a); return IMC_E_NOMEM; }
      a = b;
      cap = nc;
    }
    a[len++] = (store_grp_conv_t){ (uint32_t)sqlite3_column_int64(st, 0), 0, 0, 0 };
  }
  sqlite3_finalize(st);
  if ((rc = sq__map_rc(rc))) { free(a); return rc; }
  if (prep(s, "SELECT group_no, conv_hidden, pinned_at, pin_seq FROM grp_member INDEXED BY grp_member_conv"
              " WHERE sdkappid=?1 AND user_no=?2 AND (pinned_at>0 OR conv_hidden>0) AND role<3 ORDER BY group_no", &st)) {
    free(a);
    return IMC_E_IO;
  }
  BIND(st, app, user);
  size_t i = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint32_t gno = (uint32_t)sqlite3_column_int64(st, 0);
    while (i < len && a[i].group_no < gno) i++;
    if (i == len) continue; /* cannot be: one transaction reads both */
    if (a[i].group_no != gno) continue;
    a[i].hidden_seq = (uint32_t)sqlite3_column_int64(st, 1);
    a[i].pinned_at_s = sqlite3_column_int64(st, 2);
    a[i].pin_seq = sqlite3_column_int64(st, 3);
  }
  sqlite3_finalize(st);
  if ((rc = sq__map_rc(rc))) { free(a); return rc; }
  *out = a;
  *n = len;
  return 0;
}

/* ---- messages -------------------------------------------------------------------- */
/* The group's last seq: its highest stored message, or the highest the
 * retention purge deleted if that is higher (a group whose every message
 * expired goes on from there, never from 1 again). */
static int last_seq(store_t *s, uint32_t app, uint32_t gno, int64_t *out)
{
  sqlite3_stmt *st;
  if (cached(s, G_LAST_SEQ, "SELECT max(coalesce((SELECT max(seq) FROM grp_msg WHERE sdkappid=?1 AND group_no=?2),0),"
             " coalesce((SELECT seq FROM grp_purge WHERE sdkappid=?1 AND group_no=?2),0))", &st))
    return IMC_E_IO;
  BIND(st, app, gno);
  return scalar_c(st, out);
}

/* The send dedupe (store_grp_msg_append; docs/decisions/messaging-c2c-checks2.md §69, groups-messages.md §18):
 * the group's first message of the sender (by_name: one that is no account) with m's Random, the hash of m's
 * content (chash: the row's is its original content's, a modification keeps it) and time_s >= since. Through
 * grp_msg_dedupe (sdkappid, group_no, random, chash, from_no), newest first: an index key's entries are in
 * rowid order, the group's seq order, so no sorter. The walk reads one sender's messages of one Random and one
 * content: each was stored because no earlier one of them was within its own send's window, so their live
 * times rise along seq whatever the clock did, and the walk stops at the first live one older than since.
 * An imported message is never the original (§20: its Random is the old system's, as for C2C imports): it
 * is stored without a hash, so in no key; one imported before §20 (hashed by migration 54) is passed.
 * Messages of another Random, content or sender are never read: the walk is a seek and, for a true resend,
 * a row or two, however many messages the group has of that Random. *dup = 1 and m's seq and time the
 * original's when found. */
static int msg_dup(store_t *s, store_grp_msg_t *m, int64_t chash, int64_t since, const char *by_name, int *dup)
{
  sqlite3_stmt *st;
  int rc;
  if (cached(s, G_DEDUPE, "SELECT seq,time_s,flags&16,?4<>0 OR from_id=?6 FROM grp_msg WHERE sdkappid=?1"
             " AND group_no=?2 AND random=?3 AND chash=?5 AND from_no=?4 ORDER BY id DESC", &st))
    return IMC_E_IO;
  BIND(st, m->sdkappid, m->group_no, m->random, m->from_no, chash);
  sqlite3_bind_text(st, 6, by_name ? by_name : "", -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t t = sqlite3_column_int64(st, 1);
    if (!sqlite3_column_int(st, 3) || sqlite3_column_int(st, 2)) continue; /* another name's (from_no 0), an import */
    if (t < since) { rc = SQLITE_DONE; break; }
    m->seq = (uint32_t)sqlite3_column_int64(st, 0); /* the lowest seq so far */
    m->time_s = t;
    *dup = 1;
  }
  end(st, 1);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

static int msg_append(store_t *s, store_grp_msg_t *m, int64_t since, int *dup)
{
  sqlite3_stmt *st;
  int rc;
  *dup = 0;
  /* the sender stored by name when it is no account (the App admin's identifier; NULL for notices) */
  const char *by_name = !m->from_no && m->from_id && m->from_id[0] ? m->from_id : NULL;
  /* the content's hash: the dedupe's key, stored with the row (grp_msg.chash, migration 54); none for an
   * import, which is never a send's original (§20) */
  int imported = (m->flags & STORE_GMSG_IMPORTED) != 0;
  int64_t chash = imported ? 0 : (int64_t)store_content_hash(m->body, m->body_len);
  if (since && (m->from_no || by_name) && ((rc = msg_dup(s, m, chash, since, by_name, dup)) || *dup)) return rc;
  int64_t max;
  if ((rc = last_seq(s, m->sdkappid, m->group_no, &max))) return rc;
  if (max >= UINT32_MAX) return IMC_E_RANGE;
  m->seq = (uint32_t)max + 1;
  if (cached(s, G_INSERT, "INSERT INTO grp_msg(sdkappid,group_no,seq,from_no,time_s,random,flags,priority,body,from_id,"
             "chash) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)", &st))
    return IMC_E_IO;
  BIND(st, m->sdkappid, m->group_no, m->seq, m->from_no, m->time_s, m->random, m->flags, m->priority);
  sqlite3_bind_text(st, 9, m->body, (int)m->body_len, SQLITE_STATIC);
  if (by_name) sqlite3_bind_text(st, 10, by_name, -1, SQLITE_STATIC);
  if (!imported) sqlite3_bind_int64(st, 11, chash); /* else NULL (bindings are cleared) */
  if ((rc = done_c(st))) return rc;
  for (size_t i = 0; (m->flags & STORE_GMSG_TARGETED) && i < m->n_to; i++) {
    if (cached(s, G_INSERT_TO, "INSERT OR IGNORE INTO grp_msg_to(sdkappid,group_no,seq,user_no) VALUES(?1,?2,?3,?4)", &st))
      return IMC_E_IO;
    BIND(st, m->sdkappid, m->group_no, m->seq, m->to[i]);
    if ((rc = done_c(st))) return rc;
  }
  /* LastSendMsgTime: the sender's member row takes the message's second, written only when the second
   * is later than the one it holds, so a member's messages write its row at most once per second (a
   * look-up through the primary key otherwise); no row (the App admin, a live room): nothing */
  if (m->from_no && !(m->flags & STORE_GMSG_SYSTEM)) {
    if (cached(s, G_LAST_SEND, "UPDATE grp_member SET last_send=?4 WHERE sdkappid=?1 AND group_no=?2 AND user_no=?3"
               " AND role<3 AND last_send<?4", &st))
      return IMC_E_IO;
    BIND(st, m->sdkappid, m->group_no, m->from_no, m->time_s);
    if ((rc = done_c(st))) return rc;
  }
  /* LastMsgTime: the group row takes the second of a message that moves it (not a notice, not NoLastMsg),
   * written only when it is later than the one stored, as the loop raises it in memory: at most once per
   * second per group, and a restart rebuilds the value every acknowledged message left */
  if (STORE_GMSG_MOVES_LAST_MSG(m->flags)) {
    if (cached(s, G_LAST_MSG, "UPDATE grp SET last_msg=?3 WHERE sdkappid=?1 AND group_no=?2 AND last_msg<?3", &st))
      return IMC_E_IO;
    BIND(st, m->sdkappid, m->group_no, m->time_s);
    if ((rc = done_c(st))) return rc;
  }
  return 0;
}

/* Delete the recipients of one targeted message. */
static int del_targets(store_t *s, uint32_t app, uint32_t gno, int64_t seq)
{
  sqlite3_stmt *st;
  if (prep(s, "DELETE FROM grp_msg_to WHERE sdkappid=?1 AND group_no=?2 AND seq=?3", &st)) return IMC_E_IO;
  BIND(st, app, gno, seq);
  return done(st);
}

static int msg_targets(store_t *s, uint32_t app, uint32_t gno, uint32_t seq, uint32_t *to, size_t *n)
{
  sqlite3_stmt *st;
  int rc;
  *n = 0;
  if (prep(s, "SELECT user_no FROM grp_msg_to WHERE sdkappid=?1 AND group_no=?2 AND seq=?3 ORDER BY user_no LIMIT ?4", &st))
    return IMC_E_IO;
  BIND(st, app, gno, seq, STORE_GMSG_TARGETS_MAX);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) to[(*n)++] = (uint32_t)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return sq__map_rc(rc);
}

int sq__grp_msg_rows(sqlite3_stmt *st, int is_cached, uint32_t app, uint32_t gno, store_grp_msg_cb cb, void *ud)
{
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_grp_msg_t m = { app, gno, (uint32_t)sqlite3_column_int64(st, 0), (uint32_t)sqlite3_column_int64(st, 1),
                          sqlite3_column_int64(st, 2), (uint32_t)sqlite3_column_int64(st, 3),
                          (uint32_t)sqlite3_column_int64(st, 4), sqlite3_column_int(st, 5), txt(st, 6),
                          (size_t)sqlite3_column_bytes(st, 6), txt(st, 7), NULL, 0,
                          (const char *)sqlite3_column_text(st, 8), (uint32_t)sqlite3_column_int64(st, 9) };
    cb(ud, &m);
  }
  end(st, is_cached);
  return sq__map_rc(rc);
}

/* Its recipients come as a JSON array of UserIDs (GMSG_COLS). */
static int msg_history_as(store_t *s, uint32_t app, uint32_t gno, uint32_t after, uint32_t upto, int64_t since,
                          int newest, int limit, uint32_t viewer, store_grp_msg_cb cb, void *ud)
{
  sqlite3_stmt *st;
  char sql[1400];
  snprintf(sql, sizeof sql,
           GMSG_COLS GMSG_JOIN " WHERE m.sdkappid=?1 AND m.group_no=?2 AND m.seq>?3 AND m.seq<=?4 AND m.time_s>=?6"
           GMSG_VISIBLE " ORDER BY m.seq %s LIMIT ?5", newest ? "DESC" : "ASC");
  if (cached(s, newest ? G_HISTORY_DESC : G_HISTORY_ASC, sql, &st)) return IMC_E_IO;
  BIND(st, app, gno, after, upto ? upto : UINT32_MAX, limit, since, viewer);
  return sq__grp_msg_rows(st, 1, app, gno, cb, ud);
}

static int msg_history(store_t *s, uint32_t app, uint32_t gno, uint32_t after, uint32_t upto, int64_t since,
                       int newest, int limit, store_grp_msg_cb cb, void *ud)
{
  return msg_history_as(s, app, gno, after, upto, since, newest, limit, 0, cb, ud);
}

static int msg_update(store_t *s, const char *sql, uint32_t app, uint32_t gno, uint32_t seq, int64_t v,
                      const char *text, size_t len)
{
  sqlite3_stmt *st;
  int rc;
  if (prep(s, sql, &st)) return IMC_E_IO;
  BIND(st, app, gno, seq);
  if (text) sqlite3_bind_text(st, 4, text, (int)len, SQLITE_STATIC);
  else sqlite3_bind_int64(st, 4, v);
  if ((rc = done(st))) return rc;
  return sqlite3_changes(sq__db(s)) ? 0 : IMC_E_NOTFOUND;
}

static int msg_set_flags(store_t *s, uint32_t app, uint32_t gno, uint32_t seq, uint32_t bits)
{
  return msg_update(s, "UPDATE grp_msg SET flags=flags|?4 WHERE sdkappid=?1 AND group_no=?2 AND seq=?3", app, gno,
                    seq, bits, NULL, 0);
}

static int msg_set_body(store_t *s, uint32_t app, uint32_t gno, uint32_t seq, const char *body, size_t len)
{
  return msg_update(s, "UPDATE grp_msg SET body=?4, flags=flags|8 WHERE sdkappid=?1 AND group_no=?2 AND seq=?3", app,
                    gno, seq, 0, body, len);
}

static int msg_unread(store_t *s, uint32_t app, uint32_t gno, uint32_t user, uint32_t after, uint32_t upto,
                      int64_t since, int64_t *n)
{
  sqlite3_stmt *st;
  /* +time_s: read the group's messages after the position through (sdkappid, group_no, seq), not every
   * message of the app since the horizon through (sdkappid, time_s), which the planner chose */
  if (cached(s, G_UNREAD, "SELECT count(*) FROM grp_msg WHERE sdkappid=?1 AND group_no=?2 AND seq>?3 AND seq<=?6"
             " AND from_no!=?4 AND (flags&35)=0 AND +time_s>=?5", &st))
    return IMC_E_IO;
  BIND(st, app, gno, after, user, since, upto);
  return scalar_c(st, n);
}

static int msg_last_seq(store_t *s, uint32_t app, uint32_t gno, uint32_t *seq)
{
  int64_t v;
  int rc = last_seq(s, app, gno, &v);
  if (!rc) *seq = (uint32_t)v;
  return rc;
}

/* The mask tests of STORE_GMSG_COUNTS_RECENT in SQL: the newest row with neither SYSTEM, NO_LAST nor
 * DELETED, and not IMPORTED without LISTED, nor an older placeholder (PLACEHOLDER); read down the
 * (sdkappid, group_no, seq) index from the top. */
static int msg_last_listed(store_t *s, uint32_t app, uint32_t gno, uint32_t *seq, int64_t *time_s)
{
  sqlite3_stmt *st;
  int rc;
  *seq = 0;
  *time_s = 0;
  if (cached(s, G_LAST_LISTED, "SELECT seq, time_s FROM grp_msg WHERE sdkappid=?1 AND group_no=?2 AND (flags&?3)=0"
             " AND (flags&?4)!=?5 AND NOT " PLACEHOLDER("") " ORDER BY seq DESC LIMIT 1", &st))
    return IMC_E_IO;
  BIND(st, app, gno, STORE_GMSG_SYSTEM | STORE_GMSG_NO_LAST | STORE_GMSG_DELETED, STORE_GMSG_IMPORTED | STORE_GMSG_LISTED,
       STORE_GMSG_IMPORTED);
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    *seq = (uint32_t)sqlite3_column_int64(st, 0);
    *time_s = sqlite3_column_int64(st, 1);
  }
  end(st, 1);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* Raise each group's purge mark to the highest seq deleted (marks: n pairs
 * group_no, seq). */
static int raise_marks(store_t *s, uint32_t app, const int64_t (*marks)[2], size_t n)
{
  for (size_t i = 0; i < n; i++) {
    sqlite3_stmt *st;
    int rc;
    if (prep(s, "INSERT INTO grp_purge(sdkappid,group_no,seq) VALUES(?1,?2,?3)"
                " ON CONFLICT(sdkappid,group_no) DO UPDATE SET seq=max(seq,excluded.seq)", &st))
      return IMC_E_IO;
    BIND(st, app, marks[i][0], marks[i][1]);
    if ((rc = done(st))) return rc;
  }
  return 0;
}

static int msg_purge(store_t *s, uint32_t app, int64_t before, int limit, int64_t *deleted)
{
  enum { MARKS = 64 };
  int64_t marks[MARKS][2];
  size_t n = 0;
  sqlite3_stmt *st;
  int rc;
  *deleted = 0;
  /* RETURNING rows are produced after the whole DELETE ran (first step), so
   * the marks can be written while the rows are read */
  if (prep(s, "DELETE FROM grp_msg WHERE id IN (SELECT id FROM grp_msg WHERE sdkappid=?1 AND time_s<?2 LIMIT ?3)"
              " RETURNING group_no, seq, flags", &st))
    return IMC_E_IO;
  BIND(st, app, before, limit);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t gno = sqlite3_column_int64(st, 0), seq = sqlite3_column_int64(st, 1);
    size_t i = 0;
    (*deleted)++;
    if ((sqlite3_column_int64(st, 2) & STORE_GMSG_TARGETED) && (rc = del_targets(s, app, (uint32_t)gno, seq))) {
      sqlite3_finalize(st);
      return rc;
    }
    while (i < n && marks[i][0] != gno) i++;
    if (i == n && n == MARKS) { /* a chunk across many groups: write what is held */
      if ((rc = raise_marks(s, app, (const int64_t (*)[2])marks, n))) { sqlite3_finalize(st); return rc; }
      n = i = 0;
    }
    if (i == n) { marks[n][0] = gno; marks[n][1] = seq; n++; }
    else if (seq > marks[i][1]) marks[i][1] = seq;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return sq__map_rc(rc);
  return raise_marks(s, app, (const int64_t (*)[2])marks, n);
}

static int msg_expired(store_t *s, uint32_t app, uint32_t gno, uint32_t seq, int64_t since, int *expired)
{
  sqlite3_stmt *st;
  int64_t v;
  int rc;
  if (prep(s, "SELECT EXISTS(SELECT 1 FROM grp_purge WHERE sdkappid=?1 AND group_no=?2 AND seq>=?3)"
              " OR EXISTS(SELECT 1 FROM grp_msg WHERE sdkappid=?1 AND group_no=?2 AND seq=?3 AND time_s<?4)", &st))
    return IMC_E_IO;
  BIND(st, app, gno, seq, since);
  if ((rc = scalar(st, &v))) return rc;
  *expired = v != 0;
  return 0;
}

/* ---- a deleted account -------------------------------------------------------------- */
static int user_gone(store_t *s, uint32_t app, uint32_t user_no)
{
  /* the owner's groups through index grp_owner (migration 46), named: a missing index fails the preparation */
  static const char *const sql[] = { "DELETE FROM grp_member WHERE sdkappid=?1 AND user_no=?2",
                                     "UPDATE grp INDEXED BY grp_owner SET owner_no=0 WHERE sdkappid=?1 AND owner_no=?2" };
  for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
    sqlite3_stmt *st;
    int rc;
    if (prep(s, sql[i], &st)) return IMC_E_IO;
    BIND(st, app, user_no);
    if ((rc = done(st))) return rc;
  }
  return 0;
}

/* ---- inbox events due (migration 45) ------------------------------------------------- */
static int due_put(store_t *s, uint32_t app, int64_t at_s, const char *payload, const uint32_t *users, size_t n)
{
  unsigned char *b = malloc(n * 4);
  if (!b) return IMC_E_NOMEM;
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 4; k++) b[i * 4 + (size_t)k] = (unsigned char)(users[i] >> (8 * k));
  sqlite3_stmt *st;
  if (prep(s, "INSERT INTO grp_events_due(sdkappid,at,payload,users) VALUES(?1,?2,?3,?4)", &st)) { free(b); return IMC_E_IO; }
  BIND(st, app, at_s);
  sqlite3_bind_text(st, 3, payload, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 4, b, (int)(n * 4), free);
  return done(st);
}

static int due_first(store_t *s, store_grp_due_t *out)
{
  sqlite3_stmt *st;
  memset(out, 0, sizeof *out);
  if (prep(s, "SELECT id,sdkappid,at,payload,users FROM grp_events_due ORDER BY id LIMIT 1", &st)) return IMC_E_IO;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) { sqlite3_finalize(st); return rc == SQLITE_DONE ? IMC_E_NOTFOUND : sq__map_rc(rc); }
  out->id = sqlite3_column_int64(st, 0);
  out->sdkappid = (uint32_t)sqlite3_column_int64(st, 1);
  out->at_s = sqlite3_column_int64(st, 2);
  const unsigned char *b = sqlite3_column_blob(st, 4);
  out->n = (size_t)sqlite3_column_bytes(st, 4) / 4;
  out->payload = strdup(txt(st, 3));
  out->users = malloc(out->n ? out->n * sizeof *out->users : 1);
  for (size_t i = 0; out->users && i < out->n; i++)
    out->users[i] = (uint32_t)b[i * 4] | (uint32_t)b[i * 4 + 1] << 8 | (uint32_t)b[i * 4 + 2] << 16 |
                    (uint32_t)b[i * 4 + 3] << 24;
  sqlite3_finalize(st);
  if (!out->payload || !out->users) { store_grp_due_free(out); return IMC_E_NOMEM; }
  return 0;
}

static int due_del(store_t *s, int64_t id)
{
  sqlite3_stmt *st;
  if (prep(s, "DELETE FROM grp_events_due WHERE id=?1", &st)) return IMC_E_IO;
  BIND(st, id);
  return done(st);
}

static int due_count(store_t *s, int64_t *n)
{
  sqlite3_stmt *st;
  if (prep(s, "SELECT count(*) FROM grp_events_due", &st)) return IMC_E_IO;
  int rc = sqlite3_step(st);
  *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : sq__map_rc(rc);
}

/* ---- application marks (migration 52) ------------------------------------------------ */
/* Cached: a join reads one per member added, an application the group's floor. */
static int mark_get(store_t *s, uint32_t app, uint32_t gno, uint32_t user, uint32_t *mark)
{
  sqlite3_stmt *st;
  int64_t v;
  int rc;
  if (cached(s, G_MARK_GET, "SELECT mark FROM grp_apply_mark WHERE sdkappid=?1 AND group_no=?2 AND user_no=?3", &st))
    return IMC_E_IO;
  BIND(st, app, gno, user);
  if ((rc = scalar_c(st, &v))) return rc;
  *mark = (uint32_t)v;
  return 0;
}

/* The bound reads the group's user rows (at most kept + 1) by the primary key's prefix. */
static int mark_put(store_t *s, uint32_t app, uint32_t gno, uint32_t user, uint32_t mark, int64_t kept)
{
  sqlite3_stmt *st;
  int rc;
  if (prep(s, mark ? "INSERT OR REPLACE INTO grp_apply_mark(sdkappid,group_no,user_no,mark) VALUES(?1,?2,?3,?4)"
                   : "DELETE FROM grp_apply_mark WHERE sdkappid=?1 AND group_no=?2 AND user_no=?3", &st))
    return IMC_E_IO;
  if (mark) BIND(st, app, gno, user, mark);
  else BIND(st, app, gno, user);
  if ((rc = done(st)) || !mark || !user) return rc;
  if (prep(s, "DELETE FROM grp_apply_mark WHERE sdkappid=?1 AND group_no=?2 AND user_no IN (SELECT user_no FROM"
              " grp_apply_mark WHERE sdkappid=?1 AND group_no=?2 AND user_no>0 ORDER BY mark DESC, user_no DESC"
              " LIMIT -1 OFFSET ?3)", &st))
    return IMC_E_IO;
  BIND(st, app, gno, kept < 1 ? 1 : kept);
  return done(st);
}

const store_grp_vtab_t sq__grp_vtab = {
  1, g_put, g_del, g_each, m_put, m_del, m_set, m_each, m_get, m_joined,
  msg_append, msg_history, msg_set_flags, msg_set_body, sq__grp_msg_del_sender, msg_unread, msg_last_seq,
  msg_purge, msg_expired, msg_history_as, msg_targets, user_gone, m_applications, msg_last_listed, m_pin,
  m_pinned_count, m_convs, due_put, due_first, due_del, due_count, mark_get, mark_put,
  sq__grp_msg_change, sq__grp_msg_changes, sq__grp_msg_last_change,
};
