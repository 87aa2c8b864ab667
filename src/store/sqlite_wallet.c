/* sqlite_wallet.c — the money rows of the SQLite backend: every customer's
 * wallet ledger (an append-only list of signed amounts in fen, each carrying
 * the balance after it, a replay of a reference answered with the entry it
 * made) and the orders paid from it. The vtable's wallet_balance,
 * ledger_append, ledger_each, order_insert, order_get_ref and order_each
 * (store.h says what each promises). Statements are prepared on first use into
 * the connection's cache (store__sqlite_wcache), finalized at its close. */
#include <stdint.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "util/err.h"

#define ORDER_COLS "id,sdkappid,customer_id,at,kind,item,value,value_name,anchor_day,period,start_day,end_day," \
                   "book,price_fen,pay,ledger_id,reference"
#define WSTMTS(X) \
  X(LEDGER_BAL, "SELECT balance_fen FROM ledger WHERE customer_id=?1 ORDER BY id DESC LIMIT 1") \
  X(LEDGER_REF, "SELECT id,customer_id,at,kind,amount_fen,balance_fen,reason,reference FROM ledger" \
                " WHERE customer_id=?1 AND reference=?2") \
  X(LEDGER_INS, "INSERT INTO ledger(customer_id,at,kind,amount_fen,balance_fen,reason,reference)" \
                " VALUES(?1,?2,?3,?4,?5,?6,?7)") \
  X(LEDGER_EACH, "SELECT id,customer_id,at,kind,amount_fen,balance_fen,reason,reference FROM ledger" \
                 " WHERE customer_id=?1 ORDER BY id") \
  X(ORDER_INS, "INSERT INTO orders(sdkappid,customer_id,at,kind,item,value,value_name,anchor_day,period,start_day," \
               "end_day,book,price_fen,pay,ledger_id,reference) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)") \
  X(ORDER_REF, "SELECT " ORDER_COLS " FROM orders WHERE sdkappid=?1 AND reference=?2") \
  X(ORDER_EACH, "SELECT " ORDER_COLS " FROM orders WHERE sdkappid=?1 ORDER BY id") \
  X(ORDER_ALL, "SELECT " ORDER_COLS " FROM orders ORDER BY sdkappid, id")

enum {
#define X(name, sql) W_##name,
  WSTMTS(X)
#undef X
  W__COUNT
};
static const char *const wsql[W__COUNT] = {
#define X(name, sql) sql,
  WSTMTS(X)
#undef X
};
_Static_assert(W__COUNT <= SQW_STMTS_MAX, "raise SQW_STMTS_MAX");

static sqlite3_stmt *wst(store_t *s, int id) { return sq__prepared(s, &store__sqlite_wcache(s)[id], wsql[id]); }

/* ---- the ledger ------------------------------------------------------------------- */
static void row_ledger(sqlite3_stmt *st, store_ledger_t *e)
{
  e->id = sqlite3_column_int64(st, 0);
  e->customer_id = sqlite3_column_int64(st, 1);
  e->at_s = sqlite3_column_int64(st, 2);
  sq__copy_col(st, 3, e->kind, sizeof e->kind);
  e->amount_fen = sqlite3_column_int64(st, 4);
  e->balance_fen = sqlite3_column_int64(st, 5);
  sq__copy_col(st, 6, e->reason, sizeof e->reason);
  sq__copy_col(st, 7, e->reference, sizeof e->reference);
}

int sqw_wallet_balance(store_t *s, int64_t customer_id, int64_t *bal)
{
  sqlite3_stmt *st = wst(s, W_LEDGER_BAL);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, customer_id);
  int rc = sqlite3_step(st);
  *bal = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  int r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
  sqlite3_reset(st);
  return r;
}

int sqw_ledger_append(store_t *s, const store_ledger_t *in, store_ledger_t *out)
{
  sqlite3_stmt *st = wst(s, W_LEDGER_REF);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, in->customer_id);
  sq__bind_text(st, 2, in->reference);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) { /* a replay: the same entry again is a no-op; another one is a conflict */
    row_ledger(st, out);
    sqlite3_reset(st);
    out->replayed = 1;
    return strcmp(out->kind, in->kind) || out->amount_fen != in->amount_fen ? IMC_E_EXISTS : 0;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__map_rc(rc);
  int64_t bal;
  if ((rc = sqw_wallet_balance(s, in->customer_id, &bal))) return rc;
  int64_t nb;
  if (__builtin_add_overflow(bal, in->amount_fen, &nb)) return IMC_E_RANGE;
  if (nb < 0) return IMC_E_WALLET_FUNDS;
  st = wst(s, W_LEDGER_INS);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, in->customer_id);
  sqlite3_bind_int64(st, 2, in->at_s);
  sq__bind_text(st, 3, in->kind);
  sqlite3_bind_int64(st, 4, in->amount_fen);
  sqlite3_bind_int64(st, 5, nb);
  sq__bind_text(st, 6, in->reason);
  sq__bind_text(st, 7, in->reference);
  if ((rc = sq__run(st))) return rc;
  *out = *in;
  out->id = sqlite3_last_insert_rowid(sq__db(s));
  out->balance_fen = nb;
  out->replayed = 0;
  return 0;
}

int sqw_ledger_each(store_t *s, int64_t customer_id, store_ledger_cb cb, void *ud)
{
  sqlite3_stmt *st = wst(s, W_LEDGER_EACH);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, customer_id);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_ledger_t e;
    row_ledger(st, &e);
    e.replayed = 0;
    cb(ud, &e);
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* ---- orders -------------------------------------------------------------------- */
static void row_order(sqlite3_stmt *st, store_order_t *o)
{
  memset(o, 0, sizeof *o);
  o->id = sqlite3_column_int64(st, 0);
  o->sdkappid = (uint32_t)sqlite3_column_int64(st, 1);
  o->customer_id = sqlite3_column_int64(st, 2);
  o->at_s = sqlite3_column_int64(st, 3);
  sq__copy_col(st, 4, o->kind, sizeof o->kind);
  sq__copy_col(st, 5, o->item, sizeof o->item);
  o->value = sqlite3_column_int64(st, 6);
  sq__copy_col(st, 7, o->value_name, sizeof o->value_name);
  o->anchor_day = sqlite3_column_int64(st, 8);
  o->period = (int32_t)sqlite3_column_int64(st, 9);
  o->start_day = sqlite3_column_int64(st, 10);
  o->end_day = sqlite3_column_int64(st, 11);
  sq__copy_col(st, 12, o->book, sizeof o->book);
  o->price_fen = sqlite3_column_int64(st, 13);
  sq__copy_col(st, 14, o->pay, sizeof o->pay);
  o->ledger_id = sqlite3_column_int64(st, 15);
  sq__copy_col(st, 16, o->reference, sizeof o->reference);
}

int sqw_order_insert(store_t *s, const store_order_t *o, int64_t *id)
{
  sqlite3_stmt *st = wst(s, W_ORDER_INS);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, o->sdkappid);
  sqlite3_bind_int64(st, 2, o->customer_id);
  sqlite3_bind_int64(st, 3, o->at_s);
  sq__bind_text(st, 4, o->kind);
  sq__bind_text(st, 5, o->item);
  sqlite3_bind_int64(st, 6, o->value);
  sq__bind_text(st, 7, o->value_name);
  sqlite3_bind_int64(st, 8, o->anchor_day);
  sqlite3_bind_int64(st, 9, o->period);
  sqlite3_bind_int64(st, 10, o->start_day);
  sqlite3_bind_int64(st, 11, o->end_day);
  sq__bind_text(st, 12, o->book);
  sqlite3_bind_int64(st, 13, o->price_fen);
  sq__bind_text(st, 14, o->pay);
  sqlite3_bind_int64(st, 15, o->ledger_id);
  sq__bind_text(st, 16, o->reference);
  int rc = sq__run(st);
  if (!rc) *id = sqlite3_last_insert_rowid(sq__db(s));
  return rc;
}

int sqw_order_get_ref(store_t *s, uint32_t sdkappid, const char *reference, store_order_t *out)
{
  sqlite3_stmt *st = wst(s, W_ORDER_REF);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  sq__bind_text(st, 2, reference);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) row_order(st, out);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? IMC_E_NOTFOUND : sq__map_rc(rc);
}

int sqw_order_each(store_t *s, uint32_t sdkappid, store_order_cb cb, void *ud)
{
  sqlite3_stmt *st = wst(s, sdkappid ? W_ORDER_EACH : W_ORDER_ALL);
  int rc;
  if (!st) return IMC_E_IO;
  if (sdkappid) sqlite3_bind_int64(st, 1, sdkappid);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_order_t o;
    row_order(st, &o);
    cb(ud, &o);
  }
  sqlite3_reset(st);
  return sq__map_rc(rc);
}
