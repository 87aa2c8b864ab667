/* sqlite_usage.c — the metering rows of the SQLite backend (store.h
 * "metering rows"; tables of migrations 4 and 5): daily counters and peaks
 * (usage_day), identified additive events (usage_event), group lives
 * (usage_group), imported documents and figures (usage_import_doc, immutable;
 * usage_import), registrations (usage_reg, written with each new account),
 * issued bills (bills, immutable, numbered gap-free). Statements are prepared once per connection. */
#include "store/sqlite_int.h"
#include "util/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BILL_COLS "SELECT b.seq,b.number,b.sdkappid,b.customer_id,b.month,b.issued_at,b.total_fen,b.prepaid_fen," \
  "b.postpaid_fen,b.body,EXISTS(SELECT 1 FROM ledger l WHERE l.customer_id=b.customer_id AND l.kind='payment'" \
  " AND l.reference='bill-'||b.number),b.corrects,b.due_fen," \
  "CASE WHEN b.corrects>0 THEN (SELECT o.number FROM bills o WHERE o.seq=b.corrects) END FROM bills b"

/* The month's maximum of an imported daily metric of app `key` (NULL: no such days): one seek
 * from the end of index usage_import_month (migration 22). */
#define IMP_MAX(key, metric) "(SELECT max(value) FROM usage_import INDEXED BY usage_import_month" \
  " WHERE sdkappid=" key " AND metric='" metric "' AND day/100=?2/100 AND day BETWEEN ?2+1 AND ?3)"

/* The rows of a batch of apps, one index seek per app, rows coming by app in ascending sdkappid
 * and by key within an app. The apps drive the loop (CROSS JOIN keeps them outermost), in one of
 * two ways (statement X_APPS and X_RANGE, squ_apps_each picks):
 *  - J: ?1 is a JSON array of the ascending sdkappids (json_each);
 *  - R: the apps table from ?4 to ?5, the batch's first and last (a dense batch: what lies
 *    between is mostly the batch; the others' rows are skipped in C), without the array.
 * An "IN (SELECT value FROM json_each(?1))" filter instead built a temporary index of the array
 * per statement and sorted through it (about 1,500 instructions per app and statement more). */
#define DRV_J "json_each(?1) j", "j.value", ""
#define DRV_R "apps j", "j.sdkappid", " AND j.sdkappid BETWEEN ?4 AND ?5"
#define BATCH_(drv, key, range, cols, table_u, where) \
  "SELECT " key "," cols " FROM " drv " CROSS JOIN " table_u " WHERE u.sdkappid=" key range where
#define BATCH(...) BATCH_(__VA_ARGS__) /* d expands to drv, key, range first */
#define IMP_MAX_(drv, key, range) "SELECT " key "," IMP_MAX(key, "dau") "," IMP_MAX(key, "groups") " FROM " drv " WHERE 1" range
#define IMP_MAXS(...) IMP_MAX_(__VA_ARGS__)
#define BATCH_STMTS(X, V, d) \
  X(LOGIN_##V, BATCH(d, "u.day,u.user_no,NULL", "usage_login u", " AND u.day BETWEEN ?2 AND ?3")) \
  X(DAY_##V, BATCH(d, "u.day,u.metric,u.value", "usage_day u", " AND u.day BETWEEN ?2 AND ?3")) \
  X(IMP_##V, BATCH(d, "u.day,u.metric,u.value", "usage_import u", " AND u.day BETWEEN ?2 AND ?3")) \
  X(IMP_BILL_##V, BATCH(d, "u.day,u.metric,u.value", "usage_import u", " AND u.day=?2") " UNION ALL " \
                  BATCH(d, "u.day,u.metric,u.value", "usage_import u INDEXED BY usage_import_month", \
                        " AND u.metric='bandwidth_mbps' AND u.day/100=?2/100 AND u.day BETWEEN ?2+1 AND ?3") " ORDER BY 1") \
  X(IMP_MAX_##V, IMP_MAXS(d)) \
  X(GRP_##V, BATCH(d, "u.live,u.created_at,coalesce(u.dissolved_at,9223372036854775807)", "usage_group u", \
                   " AND u.created_at<?3 AND ?2=?2"))

#define USTMTS(X) \
  /* one app: a seek on the key; every app (the restart's load): a seek per app of the apps table. One statement \
   * for both, "(?1=0 OR sdkappid=?1)", read every login row of every app and day (docs/decisions/store-query-plans.md) */ \
  X(LOGIN_EACH, "SELECT sdkappid,day,user_no FROM usage_login WHERE sdkappid=?1 AND day BETWEEN ?2 AND ?3 ORDER BY day") \
  X(LOGIN_ALL, "SELECT a.sdkappid,u.day,u.user_no FROM apps a CROSS JOIN usage_login u WHERE u.sdkappid=a.sdkappid" \
               " AND u.day BETWEEN ?2 AND ?3 ORDER BY a.sdkappid,u.day") \
  X(ADD, "INSERT INTO usage_day(sdkappid,day,metric,value) VALUES(?1,?2,?3,?4)" \
         " ON CONFLICT DO UPDATE SET value=value+excluded.value") \
  X(MAX, "INSERT INTO usage_day(sdkappid,day,metric,value) VALUES(?1,?2,?3,?4)" \
         " ON CONFLICT DO UPDATE SET value=max(value,excluded.value)") \
  X(EV_GET, "SELECT day,metric,amount FROM usage_event WHERE sdkappid=?1 AND event_id=?2") \
  X(EV_INS, "INSERT INTO usage_event(sdkappid,event_id,day,metric,amount,at) VALUES(?1,?2,?3,?4,?5,?6)") \
  X(DAY_EACH, "SELECT day,metric,value FROM usage_day WHERE sdkappid=?1 AND day BETWEEN ?2 AND ?3 ORDER BY day,metric") \
  X(IMP_EACH, "SELECT day,metric,value FROM usage_import WHERE sdkappid=?1 AND day BETWEEN ?2 AND ?3 ORDER BY day,metric") \
  X(GRP_INS, "INSERT OR IGNORE INTO usage_group(sdkappid,group_id,created_at,live) VALUES(?1,?2,?3,?4)") \
  X(GRP_DIS, "UPDATE usage_group SET dissolved_at=?3 WHERE sdkappid=?1 AND group_id=?2 AND dissolved_at IS NULL" \
             " AND created_at<=?3") \
  X(GRP_LAST, "SELECT coalesce(max(created_at),0) FROM usage_group WHERE sdkappid=?1 AND group_id=?2") \
  X(GRP_EACH, "SELECT live,created_at,coalesce(dissolved_at,9223372036854775807) FROM usage_group" \
              " WHERE sdkappid=?1 AND created_at<?2") \
  X(DOC_INS, "INSERT INTO usage_import_doc(sdkappid,month,source,body,at) VALUES(?1,?2,?3,?4,?5)") \
  X(IMP_PUT, "INSERT INTO usage_import(sdkappid,day,metric,value,doc_id) VALUES(?1,?2,?3,?4,?5)" \
             " ON CONFLICT DO UPDATE SET value=excluded.value, doc_id=excluded.doc_id") \
  X(DOC_COUNT, "SELECT count(*) FROM usage_import_doc WHERE sdkappid=?1 AND month=?2") \
  X(BILL_NEXT, "SELECT coalesce(max(seq),0)+1 FROM bills") \
  X(BILL_INS, "INSERT INTO bills(seq,number,sdkappid,customer_id,month,issued_at,total_fen,prepaid_fen,postpaid_fen,body," \
              "corrects,due_fen) VALUES(?11,?12,?1,?2,?4,?3,?5,?6,?7,?8,?9,?10)") \
  X(BILL_GET, BILL_COLS " WHERE b.sdkappid=?1 AND b.month=?2 AND b.corrects=0") \
  /* through the partial index of corrections (migration 15), named, with its condition repeated: "corrects=?1" \
   * alone cannot use it (the planner cannot know ?1 > 0) and read every bill */ \
  X(BILL_CORR, BILL_COLS " INDEXED BY bills_corrects WHERE b.corrects=?1 AND b.corrects>0 ORDER BY b.seq") \
  X(RECHECK_EACH, "SELECT sdkappid,month FROM bill_recheck ORDER BY sdkappid,month LIMIT ?1") \
  X(RECHECK_DONE, "DELETE FROM bill_recheck WHERE sdkappid=?1 AND month=?2") \
  X(RECHECK_ADD, "INSERT OR IGNORE INTO bill_recheck(sdkappid,month) VALUES(?1,?2)") \
  X(BILL_MONTH_APPS, "SELECT sdkappid FROM bills WHERE month=?1 AND corrects=0 ORDER BY sdkappid") \
  X(APP_IDS, "SELECT sdkappid FROM apps ORDER BY sdkappid") \
  X(BILL_EACH, BILL_COLS " WHERE (?1=0 OR b.customer_id=?1) ORDER BY b.seq") \
  BATCH_STMTS(X, APPS, DRV_J) \
  BATCH_STMTS(X, RANGE, DRV_R) \
  /* the registrations of [?2, ?3) only: a range of the key (sdkappid, created_at, user_no) of migration 47; \
   * keyed (sdkappid, user_no), every registration of the app was read and given a day, however few the days */ \
  X(REG_DAYS, "SELECT CAST(strftime('%Y%m%d', created_at + ?4, 'unixepoch') AS INTEGER) d, count(*) FROM usage_reg" \
              " WHERE sdkappid=?1 AND created_at>=?2 AND created_at<?3 GROUP BY d ORDER BY d") \
  /* the registrations before ?2: the days (usage_reg_day, migration 49) before ?3, the UTC midnight nearest ?2, and \
   * the rows between that midnight and ?2 (at most half a day of them, added or taken away); a count(*) of the \
   * key's range before ?2 read one entry per registration the app ever had */ \
  X(REG_DAY_ADD, "INSERT INTO usage_reg_day(sdkappid,day,n) VALUES(?1,?2,?3) ON CONFLICT DO UPDATE SET n=n+excluded.n") \
  X(REG_BEFORE, "SELECT coalesce((SELECT sum(n) FROM usage_reg_day WHERE sdkappid=?1 AND day<?3),0)" \
                " + (SELECT count(*) FROM usage_reg WHERE sdkappid=?1 AND created_at>=?3*86400 AND created_at<?2)" \
                " - (SELECT count(*) FROM usage_reg WHERE sdkappid=?1 AND created_at>=?2 AND created_at<?3*86400)")

enum {
#define X(name, sql) U_##name,
  USTMTS(X)
#undef X
  U__COUNT
};
static const char *const usql[U__COUNT] = {
#define X(name, sql) sql,
  USTMTS(X)
#undef X
};
_Static_assert(U__COUNT <= SQU_STMTS_MAX, "raise SQU_STMTS_MAX");

static sqlite3_stmt *ust(store_t *s, int id) { return sq__prepared(s, &store__sqlite_ucache(s)[id], usql[id]); }

static void bind3(sqlite3_stmt *st, uint32_t app, int64_t b, const char *text)
{
  sqlite3_bind_int64(st, 1, app);
  if (text) sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_int64(st, 2, b);
}

int squ_login_each(store_t *s, uint32_t app, int32_t from, int32_t to, store_usage_login_cb cb, void *ud)
{
  sqlite3_stmt *st = ust(s, app ? U_LOGIN_EACH : U_LOGIN_ALL);
  if (!st) return IMC_E_IO;
  bind3(st, app, from, NULL);
  sqlite3_bind_int64(st, 3, to);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, (uint32_t)sqlite3_column_int64(st, 0), (int32_t)sqlite3_column_int64(st, 1), (uint32_t)sqlite3_column_int64(st, 2));
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

static int put(store_t *s, int id, uint32_t app, int32_t day, const char *metric, int64_t v)
{
  if (!metric || !metric[0]) return IMC_E_INVAL;
  sqlite3_stmt *st = ust(s, id);
  if (!st) return IMC_E_IO;
  bind3(st, app, day, NULL);
  sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, v);
  return sq__run(st);
}

int squ_add(store_t *s, uint32_t app, int32_t day, const char *metric, int64_t n) { return put(s, U_ADD, app, day, metric, n); }
int squ_max(store_t *s, uint32_t app, int32_t day, const char *metric, int64_t v) { return put(s, U_MAX, app, day, metric, v); }

int squ_event(store_t *s, uint32_t app, const char *event_id, int32_t day, const char *metric, int64_t amount,
              int64_t at_s, int *replayed)
{
  size_t n = event_id ? strlen(event_id) : 0;
  if (n == 0 || n > 64 || !metric || !metric[0]) return IMC_E_INVAL;
  sqlite3_stmt *st = ust(s, U_EV_GET);
  if (!st) return IMC_E_IO;
  bind3(st, app, 0, event_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) { /* a replay: the same event again is a no-op, a different one a conflict */
    int same = sqlite3_column_int64(st, 0) == day && !strcmp((const char *)sqlite3_column_text(st, 1), metric) &&
               sqlite3_column_int64(st, 2) == amount;
    sqlite3_reset(st);
    *replayed = 1;
    return same ? 0 : IMC_E_EXISTS;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__map_rc(rc);
  if (!(st = ust(s, U_EV_INS))) return IMC_E_IO;
  bind3(st, app, 0, event_id);
  sqlite3_bind_int64(st, 3, day);
  sqlite3_bind_text(st, 4, metric, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, amount);
  sqlite3_bind_int64(st, 6, at_s);
  if ((rc = sq__run(st)) || (rc = squ_add(s, app, day, metric, amount))) return rc;
  *replayed = 0;
  return 0;
}

int squ_day_each(store_t *s, int imported, uint32_t app, int32_t from, int32_t to, store_usage_day_cb cb, void *ud)
{
  sqlite3_stmt *st = ust(s, imported ? U_IMP_EACH : U_DAY_EACH);
  if (!st) return IMC_E_IO;
  bind3(st, app, from, NULL);
  sqlite3_bind_int64(st, 3, to);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, (int32_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int squ_group(store_t *s, uint32_t app, const char *group_id, int live, int64_t at_s, int dissolve)
{
  size_t n = group_id ? strlen(group_id) : 0;
  if (n == 0 || n > 64) return IMC_E_INVAL;
  sqlite3_stmt *st = ust(s, dissolve ? U_GRP_DIS : U_GRP_INS);
  if (!st) return IMC_E_IO;
  bind3(st, app, 0, group_id);
  sqlite3_bind_int64(st, 3, at_s);
  if (!dissolve) sqlite3_bind_int(st, 4, live ? 1 : 0);
  return sq__run(st);
}

int squ_group_last(store_t *s, uint32_t app, const char *group_id, int64_t *created_s)
{
  size_t n = group_id ? strlen(group_id) : 0;
  if (n == 0 || n > 64) return IMC_E_INVAL;
  sqlite3_stmt *st = ust(s, U_GRP_LAST);
  if (!st) return IMC_E_IO;
  bind3(st, app, 0, group_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *created_s = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : sq__map_rc(rc);
}

int squ_group_each(store_t *s, uint32_t app, int64_t until_s, store_usage_group_cb cb, void *ud)
{
  sqlite3_stmt *st = ust(s, U_GRP_EACH);
  if (!st) return IMC_E_IO;
  bind3(st, app, until_s, NULL);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, sqlite3_column_int(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int squ_import_doc(store_t *s, uint32_t app, int32_t month, const char *source, const char *body, int64_t now_s,
                   int64_t *id)
{
  sqlite3_stmt *st = ust(s, U_DOC_INS);
  if (!st) return IMC_E_IO;
  bind3(st, app, month, NULL);
  sqlite3_bind_text(st, 3, source ? source : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, body ? body : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, now_s);
  int rc = sq__run(st);
  if (!rc) *id = sqlite3_last_insert_rowid(store__sqlite_db(s));
  return rc;
}

int squ_import_put(store_t *s, uint32_t app, int32_t day, const char *metric, int64_t value, int64_t doc_id)
{
  if (!metric || !metric[0]) return IMC_E_INVAL;
  sqlite3_stmt *st = ust(s, U_IMP_PUT);
  if (!st) return IMC_E_IO;
  bind3(st, app, day, NULL);
  sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, value);
  sqlite3_bind_int64(st, 5, doc_id);
  return sq__run(st);
}

int squ_import_count(store_t *s, uint32_t app, int32_t month, int64_t *n)
{
  sqlite3_stmt *st = ust(s, U_DOC_COUNT);
  if (!st) return IMC_E_IO;
  bind3(st, app, month, NULL);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : sq__map_rc(rc);
}

int squ_registrations(store_t *s, uint32_t app, int64_t from_s, int64_t to_s, int tz_offset_s, store_usage_day_cb cb, void *ud)
{
  sqlite3_stmt *st = ust(s, U_REG_DAYS);
  if (!st) return IMC_E_IO;
  bind3(st, app, from_s, NULL);
  sqlite3_bind_int64(st, 3, to_s);
  sqlite3_bind_int(st, 4, tz_offset_s);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, (int32_t)sqlite3_column_int64(st, 0), "registrations", sqlite3_column_int64(st, 1));
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int squ_registered(store_t *s, uint32_t app, int64_t before_s, int64_t *n)
{
  int rc = sq__defer_flush(s); /* this transaction's new accounts: their days are summed in memory until its COMMIT */
  if (rc) return rc;
  sqlite3_stmt *st = ust(s, U_REG_BEFORE);
  if (!st) return IMC_E_IO;
  bind3(st, app, before_s, NULL);
  int64_t half = before_s + 43200; /* the nearest UTC midnight's day, rounded down as the days are */
  sqlite3_bind_int64(st, 3, half / 86400 - (half % 86400 < 0));
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : sq__map_rc(rc);
}

int squ_reg_day_add(store_t *s, uint32_t app, int32_t utc_day, int64_t n)
{
  sqlite3_stmt *st = ust(s, U_REG_DAY_ADD);
  if (!st) return IMC_E_IO;
  bind3(st, app, utc_day, NULL);
  sqlite3_bind_int64(st, 3, n);
  return sq__run(st);
}

/* ---- bills --------------------------------------------------------------------- */
/* "IMC-yyyy-mm-nnnnnn" (at least six digits of seq) into out[32], as
 * snprintf("IMC-%04d-%02d-%06lld") writes it for month 197001..999912. */
static void bill_number(char *out, int32_t month, int64_t seq)
{
  char d[20];
  int n = 0;
  uint64_t v = seq < 0 ? 0 : (uint64_t)seq;
  do { d[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n < 6) d[n++] = '0';
  int y = month / 100, m = month % 100;
  char *p = out;
  memcpy(p, "IMC-", 4);
  p += 4;
  *p++ = (char)('0' + y / 1000 % 10); *p++ = (char)('0' + y / 100 % 10); *p++ = (char)('0' + y / 10 % 10);
  *p++ = (char)('0' + y % 10);
  *p++ = '-';
  *p++ = (char)('0' + m / 10); *p++ = (char)('0' + m % 10);
  *p++ = '-';
  while (n) *p++ = d[--n];
  *p = 0;
}

int squ_bill_insert(store_t *s, const store_bill_t *in, store_bill_t *out)
{
  if (!in->body || in->month < 197001 || in->month > 999912 || in->corrects_seq < 0) return IMC_E_INVAL;
  sqlite3_stmt *st;
  int rc;
  /* a second bill of (app, month) is refused by the partial unique index bills_month_app (IMC_E_EXISTS) */
  /* the next seq, read and used inside the caller's transaction: gap-free (an INSERT … SELECT from
   * bills itself would materialize the SELECT and open a statement journal per bill) */
  int64_t seq = in->seq; /* the caller's, when it inserted seq - 1 in this transaction (store.h) */
  char number[32];
  for (int tries = 0;; tries++) {
    if (seq <= 0) {
      if (!(st = ust(s, U_BILL_NEXT))) return IMC_E_IO;
      rc = sqlite3_step(st);
      seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
      sqlite3_reset(st);
      if (rc != SQLITE_ROW) return sq__map_rc(rc);
    }
    bill_number(number, in->month, seq);
    if (!(st = ust(s, U_BILL_INS))) return IMC_E_IO;
    sqlite3_bind_int64(st, 1, in->sdkappid);
    sqlite3_bind_int64(st, 2, in->customer_id);
    sqlite3_bind_int64(st, 3, in->issued_at_s);
    sqlite3_bind_int64(st, 4, in->month);
    sqlite3_bind_int64(st, 5, in->total_fen);
    sqlite3_bind_int64(st, 6, in->prepaid_fen);
    sqlite3_bind_int64(st, 7, in->postpaid_fen);
    sqlite3_bind_text(st, 8, in->body, -1, SQLITE_STATIC); /* not copied: unbound below, before returning */
    sqlite3_bind_int64(st, 9, in->corrects_seq);
    sqlite3_bind_int64(st, 10, in->corrects_seq ? in->due_fen : in->postpaid_fen);
    sqlite3_bind_int64(st, 11, seq);
    sqlite3_bind_text(st, 12, number, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE) break;
    /* refused with the caller's seq: someone else numbered a bill in between (taking that seq), or
     * the app's month is billed — read max(seq) and try once more, which tells the two apart */
    if ((rc & 0xff) != SQLITE_CONSTRAINT || in->seq <= 0 || tries) return sq__map_rc(rc);
    seq = 0;
  }
  sq__login_bills_changed(s); /* a login row of this month now queues a recheck */
  *out = *in;
  out->seq = seq;
  memcpy(out->number, number, strlen(number) + 1);
  out->paid = 0;
  if (!out->corrects_seq) out->due_fen = out->postpaid_fen;
  return 0;
}

static void row_bill(sqlite3_stmt *st, store_bill_t *b)
{
  b->seq = sqlite3_column_int64(st, 0);
  snprintf(b->number, sizeof b->number, "%s", (const char *)sqlite3_column_text(st, 1));
  b->sdkappid = (uint32_t)sqlite3_column_int64(st, 2);
  b->customer_id = sqlite3_column_int64(st, 3);
  b->month = (int32_t)sqlite3_column_int64(st, 4);
  b->issued_at_s = sqlite3_column_int64(st, 5);
  b->total_fen = sqlite3_column_int64(st, 6);
  b->prepaid_fen = sqlite3_column_int64(st, 7);
  b->postpaid_fen = sqlite3_column_int64(st, 8);
  b->body = (char *)sqlite3_column_text(st, 9);
  b->paid = sqlite3_column_int(st, 10);
  b->corrects_seq = sqlite3_column_int64(st, 11);
  b->due_fen = sqlite3_column_int64(st, 12);
  const unsigned char *c = sqlite3_column_text(st, 13);
  snprintf(b->corrects, sizeof b->corrects, "%s", c ? (const char *)c : "");
}

int squ_bill_get(store_t *s, uint32_t app, int32_t month, store_bill_t *out)
{
  sqlite3_stmt *st = ust(s, U_BILL_GET);
  if (!st) return IMC_E_IO;
  bind3(st, app, month, NULL);
  int rc = sqlite3_step(st);
  int r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? IMC_E_NOTFOUND : sq__map_rc(rc);
  if (!r) {
    row_bill(st, out);
    if (!(out->body = strdup(out->body ? out->body : ""))) r = IMC_E_NOMEM;
  }
  sqlite3_reset(st);
  return r;
}

int squ_bill_each(store_t *s, int64_t customer_id, int unpaid_only, store_bill_cb cb, void *ud)
{
  sqlite3_stmt *st = ust(s, U_BILL_EACH);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, customer_id);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_bill_t b;
    row_bill(st, &b);
    if (!unpaid_only || !b.paid) cb(ud, &b);
  }
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int squ_bill_corrections(store_t *s, int64_t bill_seq, store_bill_cb cb, void *ud)
{
  sqlite3_stmt *st = ust(s, U_BILL_CORR);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, bill_seq);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_bill_t b;
    row_bill(st, &b);
    cb(ud, &b);
  }
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int squ_bill_recheck_each(store_t *s, int limit, store_app_month_cb cb, void *ud)
{
  sqlite3_stmt *st = ust(s, U_RECHECK_EACH);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int(st, 1, limit);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, (uint32_t)sqlite3_column_int64(st, 0), (int32_t)sqlite3_column_int64(st, 1));
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int squ_bill_recheck_done(store_t *s, uint32_t app, int32_t month)
{
  sqlite3_stmt *st = ust(s, U_RECHECK_DONE);
  if (!st) return IMC_E_IO;
  bind3(st, app, month, NULL);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int squ_bill_recheck_add(store_t *s, uint32_t app, int32_t month, int *added)
{
  sqlite3_stmt *st = ust(s, U_RECHECK_ADD);
  *added = 0;
  if (!st) return IMC_E_IO;
  bind3(st, app, month, NULL);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) *added = sqlite3_changes(store__sqlite_db(s)) > 0;
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

/* billed = 0: the apps (ascending) and the month's bills (index bills_month_app: one range, by
 * sdkappid) read side by side, an app reported when the bills have passed it without it. */
int squ_bill_month_apps(store_t *s, int32_t month, int billed, store_app_month_cb cb, void *ud)
{
  sqlite3_stmt *st = ust(s, U_BILL_MONTH_APPS), *ap = billed ? NULL : ust(s, U_APP_IDS);
  if (!st || (!billed && !ap)) return IMC_E_IO;
  sqlite3_bind_int(st, 1, month);
  int rc, brc = SQLITE_ROW;
  int64_t billed_id = -1; /* the month's bill last read (-1: none yet) */
  if (billed) {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) cb(ud, (uint32_t)sqlite3_column_int64(st, 0), month);
  } else {
    while ((rc = sqlite3_step(ap)) == SQLITE_ROW) {
      int64_t app = sqlite3_column_int64(ap, 0);
      while (brc == SQLITE_ROW && billed_id < app)
        if ((brc = sqlite3_step(st)) == SQLITE_ROW) billed_id = sqlite3_column_int64(st, 0);
      if (brc != SQLITE_ROW && brc != SQLITE_DONE) { rc = brc; break; }
      if (brc == SQLITE_DONE || billed_id != app) cb(ud, (uint32_t)app, month);
    }
    sqlite3_reset(ap);
  }
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

/* ---- a batch of apps ------------------------------------------------------------ */
int sq__ids_ascending(const uint32_t *ids, size_t n)
{
  for (size_t i = 1; i < n; i++)
    if (ids[i - 1] >= ids[i]) return 0;
  return 1;
}

int sq__ids_dense(const uint32_t *ids, size_t n)
{
  return n && (uint64_t)ids[n - 1] - ids[0] < 2 * (uint64_t)n; /* at most about as many others as the batch */
}

char *sq__id_list(const uint32_t *ids, size_t n, int *len)
{
  char *list = malloc(n * 11 + 2), *p = list;
  if (!list) return NULL;
  *p++ = '[';
  for (size_t i = 0; i < n; i++) { /* decimal digits without printf (a list per batch of 1,000 apps and table) */
    char d[10];
    int k = 0;
    uint32_t v = ids[i];
    do { d[k++] = (char)('0' + v % 10); v /= 10; } while (v);
    if (i) *p++ = ',';
    while (k) *p++ = d[--k];
  }
  *p++ = ']';
  *len = (int)(p - list);
  return list;
}

int squ_apps_each(store_t *s, int table, const uint32_t *apps, size_t n, int64_t from, int64_t to, store_usage_row_cb cb,
                  void *ud)
{
  static const int stmt_of[][2] = {
    [STORE_USAGE_LOGIN] = { U_LOGIN_APPS, U_LOGIN_RANGE }, [STORE_USAGE_DAY] = { U_DAY_APPS, U_DAY_RANGE },
    [STORE_USAGE_IMPORT] = { U_IMP_APPS, U_IMP_RANGE }, [STORE_USAGE_GROUP] = { U_GRP_APPS, U_GRP_RANGE },
    [STORE_USAGE_IMPORT_BILL] = { U_IMP_BILL_APPS, U_IMP_BILL_RANGE }, [STORE_USAGE_IMPORT_MAX] = { U_IMP_MAX_APPS, U_IMP_MAX_RANGE } };
  if (table < 0 || table > STORE_USAGE_IMPORT_MAX || n > 100000 || !sq__ids_ascending(apps, n)) return IMC_E_INVAL;
  if (!n) return 0;
  int len = 0, range = sq__ids_dense(apps, n);
  char *list = range ? NULL : sq__id_list(apps, n, &len);
  if (!range && !list) return IMC_E_NOMEM;
  sqlite3_stmt *st = ust(s, stmt_of[table][range]);
  if (!st) { free(list); return IMC_E_IO; }
  if (range) {
    sqlite3_bind_int64(st, 4, apps[0]);
    sqlite3_bind_int64(st, 5, apps[n - 1]);
  } else {
    sqlite3_bind_text(st, 1, list, len, SQLITE_STATIC);
  }
  sqlite3_bind_int64(st, 2, from);
  sqlite3_bind_int64(st, 3, to);
  store_usage_row_t r;
  memset(&r, 0, sizeof r);
  int rc;
  size_t at = 0; /* range: the batch's app the rows have reached (others in the range are skipped) */
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    r.sdkappid = (uint32_t)sqlite3_column_int64(st, 0);
    if (range) {
      while (at < n && apps[at] < r.sdkappid) at++;
      if (at == n || apps[at] != r.sdkappid) continue;
    }
    if (table == STORE_USAGE_IMPORT_MAX) { /* a row per metric that has days */
      static const char *const peak[2] = { "peak_dau", "peak_groups" };
      r.day = (int32_t)from;
      for (int k = 0; k < 2; k++) {
        if (sqlite3_column_type(st, 1 + k) == SQLITE_NULL) continue;
        r.metric = peak[k];
        r.value = sqlite3_column_int64(st, 1 + k);
        cb(ud, &r);
      }
      continue;
    }
    if (table == STORE_USAGE_GROUP) {
      r.live = sqlite3_column_int(st, 1);
      r.created_s = sqlite3_column_int64(st, 2);
      r.dissolved_s = sqlite3_column_int64(st, 3);
    } else {
      r.day = (int32_t)sqlite3_column_int64(st, 1);
      if (table == STORE_USAGE_LOGIN) r.user_no = (uint32_t)sqlite3_column_int64(st, 2);
      else { r.metric = (const char *)sqlite3_column_text(st, 2); r.value = sqlite3_column_int64(st, 3); }
    }
    cb(ud, &r);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  free(list);
  return sq__map_rc(rc);
}
