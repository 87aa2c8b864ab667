/* sqlite_login.c — a login's usage row (usage_login: one per app, day and
 * user, store_usage_login) and the bill recheck it queues when the app's month
 * of that day already has a bill (bill_recheck, read by meter/corrections.c).
 *
 * Migration 15 queued the recheck with a trigger on the row, which ran a
 * sub-program and a bills lookup for every new login row (about 5,000 of a
 * login's writer instructions), while a bill for a login's month almost never
 * exists: bills are issued after their month ended, and a login is metered on
 * the day it happens. So the highest month any bill was issued for is read
 * once per write transaction and kept (billed_max); a row of a later month
 * queues nothing, a row of that month or an earlier one runs the trigger's own
 * statement (migration 28 dropped the trigger). The memo is exact while it is
 * kept: it is read with the write lock held (after the row's INSERT), no
 * other connection can add a bill before this transaction ends, the
 * connection's commit and rollback hooks (they belong to this file) forget it
 * when the transaction ends, and squ_bill_insert forgets it when this
 * connection adds a bill (a memo left too high by a ROLLBACK TO only costs an
 * exact check). Outside a transaction the row and its recheck are written in
 * one (BEGIN IMMEDIATE), as the trigger made them atomic. Thread of the
 * connection. */
#include "store/sqlite_int.h"
#include "util/err.h"

#include <stdlib.h>

enum { L_INS, L_BILLED_MAX, L_RECHECK, L__COUNT };
static const char *const lsql[L__COUNT] = {
  [L_INS] = "INSERT OR IGNORE INTO usage_login(sdkappid,day,user_no) VALUES(?1,?2,?3)",
  /* one seek from the end of bills_month_app (migration 25) */
  [L_BILLED_MAX] = "SELECT coalesce(max(month),0) FROM bills WHERE corrects=0",
  /* what trigger bill_recheck_usage_login_INSERT ran (migration 15) */
  [L_RECHECK] = "INSERT INTO bill_recheck(sdkappid,month) SELECT ?1,?2 WHERE EXISTS(SELECT 1 FROM bills"
                " WHERE sdkappid=?1 AND month=?2 AND corrects=0) AND NOT EXISTS(SELECT 1 FROM bill_recheck"
                " WHERE sdkappid=?1 AND month=?2)",
};

struct sqlogin {
  sqlite3_stmt *st[L__COUNT];
  int32_t billed_max;   /* the highest month with a bill (0: none); valid when billed_known */
  int billed_known;
  uint32_t no_app;      /* the app whose next account number is no_next; 0: none known */
  int64_t no_next;
};

/* The transaction ended: what was read under its write lock may be stale. */
static void forget(struct sqlogin *l)
{
  l->billed_known = 0;
  l->no_app = 0;
}
static int on_commit(void *p) { forget(p); return 0; }
static void on_rollback(void *p) { forget(p); }

/* The connection's state, made (and the hooks set) on first use; NULL: out of memory. */
static struct sqlogin *state(store_t *s)
{
  struct sqlogin **slot = sq__login_slot(s);
  if (*slot) return *slot;
  if (!(*slot = calloc(1, sizeof **slot))) return NULL;
  sqlite3_commit_hook(sq__db(s), on_commit, *slot);
  sqlite3_rollback_hook(sq__db(s), on_rollback, *slot);
  return *slot;
}

static sqlite3_stmt *lst(store_t *s, struct sqlogin *l, int id)
{
  if (!l->st[id] && sqlite3_prepare_v3(sq__db(s), lsql[id], -1, SQLITE_PREPARE_PERSISTENT, &l->st[id], NULL) != SQLITE_OK)
    return NULL;
  return l->st[id];
}

/* Step st (bound), reset it: 0 or IMC_E_*; a row's first column into *v when v. */
static int step(sqlite3_stmt *st, int64_t *v)
{
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && v) *v = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* Inside a transaction: the row, and the recheck if it is new and its month billed. */
static int login_txn(store_t *s, struct sqlogin *l, uint32_t sdkappid, int32_t day, uint32_t user_no)
{
  sqlite3_stmt *st = lst(s, l, L_INS);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  sqlite3_bind_int64(st, 2, day);
  sqlite3_bind_int64(st, 3, user_no);
  int rc = step(st, NULL);
  if (rc || !sqlite3_changes(sq__db(s))) return rc; /* the user's row of the day was there: nothing new to price */
  int32_t month = day / 100;
  if (!l->billed_known) {
    int64_t m = 0;
    if (!(st = lst(s, l, L_BILLED_MAX))) return IMC_E_IO;
    if ((rc = step(st, &m))) return rc;
    l->billed_max = (int32_t)m;
    l->billed_known = 1;
  }
  if (month > l->billed_max) return 0; /* no app has a bill for this month yet */
  if (!(st = lst(s, l, L_RECHECK))) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  sqlite3_bind_int64(st, 2, month);
  return step(st, NULL);
}

int sq__usage_login(store_t *s, uint32_t sdkappid, int32_t day, uint32_t user_no)
{
  struct sqlogin *l = state(s);
  if (!l) return IMC_E_NOMEM;
  int own = sqlite3_get_autocommit(sq__db(s)); /* not inside a caller's transaction: make one */
  if (own && store_exec(s, "BEGIN IMMEDIATE")) return IMC_E_BUSY;
  int rc = login_txn(s, l, sdkappid, day, user_no);
  if (own && (rc || store_exec(s, "COMMIT"))) {
    store_exec(s, "ROLLBACK");
    rc = rc ? rc : IMC_E_IO;
  }
  return rc;
}

/* The next account number of an app, kept the same way (account_import_txn
 * in sqlite.c): read once per write transaction, then counted on. Kept only
 * while the write lock is held; no other connection can add an account
 * before the transaction ends; a deletion only raises apps.next_user_no to
 * at most the number kept (migration 29); a ROLLBACK TO (sq_exec) forgets
 * it, so a rolled-back account's number is given again (a ROLLBACK TO
 * that bypassed sq_exec would leave it too high: a gap, never a reuse). */
int sq__login_next_no(store_t *s, uint32_t sdkappid, int64_t *no)
{
  struct sqlogin *l = *sq__login_slot(s);
  if (!l || !l->no_app || l->no_app != sdkappid) return 0;
  *no = l->no_next;
  return 1;
}

void sq__login_next_no_set(store_t *s, uint32_t sdkappid, int64_t next)
{
  struct sqlogin *l = state(s);
  if (!l || sqlite3_get_autocommit(sq__db(s))) return; /* outside a transaction: nothing to keep it in */
  l->no_app = sdkappid;
  l->no_next = next;
}

void sq__login_rollback(store_t *s)
{
  struct sqlogin *l = *sq__login_slot(s);
  if (l) forget(l);
}

void sq__login_bills_changed(store_t *s)
{
  struct sqlogin *l = *sq__login_slot(s);
  if (l) l->billed_known = 0;
}

void sq__login_free(sqlite3 *db, struct sqlogin *l)
{
  if (!l) return;
  sqlite3_commit_hook(db, NULL, NULL);
  sqlite3_rollback_hook(db, NULL, NULL);
  for (int i = 0; i < L__COUNT; i++) sqlite3_finalize(l->st[i]);
  free(l);
}
