/* sqlite_rel.c — the relationship rows (store_rel.h) in SQLite: one table
 * rel(sdkappid, user_no, kind, key, val), WITHOUT ROWID, keyed by all four;
 * relationship events in rel_event(sdkappid, user_no, useq, at, payload).
 * The per-row statements (put, delete, get, event put: one call per friend
 * or per inbox event of a fan-out; inside a transaction an event's row is
 * held with the C2C rows instead, sqlite_msg_pend.c) are prepared once per connection
 * (store__sqlite_rcache) and reset after each use, so none keeps a read
 * open; the walks and the purge are prepared per call. */
#include "store/sqlite_int.h"
#include "store/store_rel.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static int step_once(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* The cached statements (at most SQR_STMTS_MAX). */
enum { R_PUT, R_DEL, R_GET, R_EV_PUT, R__COUNT };
_Static_assert(R__COUNT <= SQR_STMTS_MAX, "raise SQR_STMTS_MAX");
static const char *const rsql[R__COUNT] = {
  [R_PUT] = "INSERT OR REPLACE INTO rel(sdkappid,user_no,kind,key,val) VALUES(?,?,?,?,?)",
  [R_DEL] = "DELETE FROM rel WHERE sdkappid=? AND user_no=? AND kind=? AND key=?",
  [R_GET] = "SELECT val FROM rel WHERE sdkappid=? AND user_no=? AND kind=? AND key=?",
  [R_EV_PUT] = "INSERT INTO rel_event(sdkappid,user_no,useq,at,payload) VALUES(?,?,?,?,?)",
};

/* Statement id of the connection's cache, reset with its bindings cleared; NULL if it cannot be prepared. */
static sqlite3_stmt *rst(store_t *s, int id) { return sq__prepared(s, &store__sqlite_rcache(s)[id], rsql[id]); }

/* Step a cached statement once and reset it. */
static int step_cached(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

static int rel_put(store_t *s, uint32_t app, uint32_t user, int kind, const char *key, const char *val)
{
  sqlite3_stmt *st = rst(s, R_PUT);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, user);
  sqlite3_bind_int(st, 3, kind);
  sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, val, -1, SQLITE_STATIC);
  return step_cached(st);
}

static int rel_del(store_t *s, uint32_t app, uint32_t user, int kind, const char *key)
{
  sqlite3_stmt *st = rst(s, R_DEL);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, user);
  sqlite3_bind_int(st, 3, kind);
  sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
  return step_cached(st);
}

static int rel_each(store_t *s, store_rel_cb cb, void *ud)
{
  sqlite3_stmt *st;
  int rc;
  if (sqlite3_prepare_v2(sq__db(s), "SELECT sdkappid,user_no,kind,key,val FROM rel ORDER BY sdkappid,user_no,kind,key",
                         -1, &st, NULL) != SQLITE_OK)
    return IMC_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, (uint32_t)sqlite3_column_int64(st, 0), (uint32_t)sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2),
       (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4));
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

static int rel_get(store_t *s, uint32_t app, uint32_t user, int kind, const char *key, char **val)
{
  sqlite3_stmt *st = rst(s, R_GET);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, user);
  sqlite3_bind_int(st, 3, kind);
  sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *val = strdup((const char *)sqlite3_column_text(st, 0));
    rc = *val ? 0 : IMC_E_NOMEM;
  } else {
    rc = rc == SQLITE_DONE ? IMC_E_NOTFOUND : sq__map_rc(rc);
  }
  sqlite3_reset(st);
  return rc;
}

/* ---- relationship events ----------------------------------------------------------- */
/* Inside a transaction the row is held with its inbox event (sqlite_msg.c inbox_ev) and written with it in a
 * multi-row statement; the reads and the purge below write the held rows first. */
static int ev_put(store_t *s, uint32_t app, uint32_t user, uint32_t useq, int64_t at_s, const char *payload)
{
  if (!sqlite3_get_autocommit(sq__db(s))) return sq__msg_rel_hold(s, app, user, useq, at_s, payload);
  sqlite3_stmt *st = rst(s, R_EV_PUT);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, user);
  sqlite3_bind_int64(st, 3, useq);
  sqlite3_bind_int64(st, 4, at_s);
  sqlite3_bind_text(st, 5, payload, -1, SQLITE_STATIC);
  return step_cached(st);
}

static int ev_range(store_t *s, uint32_t app, uint32_t user, uint32_t after, uint32_t upto, store_rel_event_cb cb,
                    void *ud)
{
  sqlite3_stmt *st;
  int rc = sq__msg_flush(s);
  if (rc) return rc;
  if (sqlite3_prepare_v2(sq__db(s), "SELECT useq,payload FROM rel_event WHERE sdkappid=? AND user_no=? AND useq>? AND"
                         " useq<=? ORDER BY useq", -1, &st, NULL) != SQLITE_OK)
    return IMC_E_IO;
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, user);
  sqlite3_bind_int64(st, 3, after);
  sqlite3_bind_int64(st, 4, upto);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, (uint32_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1));
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

static int ev_purge(store_t *s, uint32_t app, int64_t before_s, int limit, int64_t *deleted)
{
  sqlite3_stmt *st;
  *deleted = 0;
  int rc = sq__msg_flush(s);
  if (rc) return rc;
  if (sqlite3_prepare_v2(sq__db(s), "DELETE FROM rel_event WHERE (sdkappid,user_no,useq) IN (SELECT sdkappid,user_no,useq"
                         " FROM rel_event WHERE sdkappid=?1 AND at<?2 LIMIT ?3)", -1, &st, NULL) != SQLITE_OK)
    return IMC_E_IO;
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, before_s);
  sqlite3_bind_int(st, 3, limit);
  rc = step_once(st);
  if (!rc) *deleted = sqlite3_changes(sq__db(s));
  return rc;
}

const store_rel_vtab_t sq__rel_vtab = { 1, rel_put, rel_del, rel_each, rel_get, ev_put, ev_range, ev_purge };
