/* store.h — durable storage behind one interface.
 *
 * A backend is a versioned table of function pointers (like sqlite3_vfs):
 * store_t's first member points at its store_vtab_t, and the store_* functions
 * below dispatch through it, so a PostgreSQL backend can implement the same
 * header. SQLite (store_open) is the default: WAL, synchronous=FULL (nothing
 * acknowledged is lost on kill -9 or power loss), busy_timeout for the CLI
 * writing while a server runs, versioned migrations applied at open.
 *
 * A store_t is one connection: use it from one thread at a time. The server
 * writes only through the writer thread (store_writer.h); the CLI opens its
 * own store_t. Every function returns 0 or a negative IMC_E_*; strings passed
 * in are copied; records passed out are filled into caller memory.
 */
#ifndef IMC_STORE_H
#define IMC_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_ADMINS_MAX 10

typedef struct store_customer {
  int64_t id;
  char name[128];
  int64_t created_at_s;
} store_customer_t;

typedef struct store_app {
  uint32_t sdkappid;
  int64_t customer_id;
  char name[128];
  char secret_key[65];                   /* 64 hex chars */
  char admins[STORE_ADMINS_MAX][33];
  int n_admins;
  char region[24];
  int64_t created_at_s;
  char scheme[16];                       /* legacy | s2019 | s2020 | s2022 | intl */
  char edition[24];
  char status[16];                       /* active | suspended */
} store_app_t;

/* One wallet ledger entry (append-only). amount_fen is signed: credits
 * (topup, refund) are positive, debits (order, payment) negative;
 * balance_fen is the balance after the entry. */
typedef struct store_ledger {
  int64_t id, customer_id, at_s;
  char kind[12];                         /* topup | order | payment | refund */
  int64_t amount_fen, balance_fen;
  char reason[201];
  char reference[65];                    /* unique per customer: replays are no-ops */
  int replayed;                          /* out: the reference existed already */
} store_ledger_t;

/* One prepaid order period of an app (L-5): a package (item = edition code)
 * or an add-on (item = add-on name, value / value_name), valid from
 * start_day to end_day inclusive (day indexes; period `period` of an order
 * first bought on anchor_day, L-2). Append-only. pay: prepaid (debited by
 * ledger entry ledger_id), postpaid (billed monthly, ledger_id 0) or
 * included (0 fen). book: the price book that priced it ("s2022@2022-06-01"). */
typedef struct store_order {
  int64_t id;
  uint32_t sdkappid;
  int64_t customer_id, at_s;
  char kind[8];                          /* package | addon */
  char item[24];
  int64_t value;
  char value_name[16];
  int64_t anchor_day;
  int32_t period;
  int64_t start_day, end_day;
  char book[40];
  int64_t price_fen;
  char pay[12];
  int64_t ledger_id;
  char reference[65];
} store_order_t;

typedef struct store store_t;
typedef void (*store_customer_cb)(void *ud, const store_customer_t *c);
typedef void (*store_app_cb)(void *ud, const store_app_t *a);
typedef void (*store_account_cb)(void *ud, const char *user_id, uint32_t user_no);
typedef void (*store_ledger_cb)(void *ud, const store_ledger_t *e);
typedef void (*store_order_cb)(void *ud, const store_order_t *o);

typedef struct store_vtab {
  int version;                           /* 1 */
  const char *name;                      /* "sqlite" */
  void (*close)(store_t *);
  int (*exec)(store_t *, const char *sql);   /* transaction control: BEGIN…/COMMIT/SAVEPOINT… */
  int (*data_version)(store_t *, uint64_t *);
  int (*meta_get)(store_t *, const char *key, char *buf, size_t cap);
  int (*meta_set)(store_t *, const char *key, const char *value);
  int (*customer_create)(store_t *, const char *name, int64_t now_s, int64_t *id);
  int (*customer_get)(store_t *, int64_t id, store_customer_t *);
  int (*customer_list)(store_t *, store_customer_cb, void *);
  int (*customer_first_app_created)(store_t *, int64_t customer_id, int64_t *created_s);
  int (*app_insert)(store_t *, const store_app_t *);
  int (*app_get)(store_t *, uint32_t sdkappid, store_app_t *);
  int (*app_list)(store_t *, int64_t customer_id, store_app_cb, void *);
  int (*app_next_sdkappid)(store_t *, uint32_t *);
  int (*app_set)(store_t *, uint32_t sdkappid, const char *field, const char *value);
  int (*account_import)(store_t *, uint32_t sdkappid, const char *user_id, const char *nick, const char *face,
                        int64_t now_s, uint32_t *user_no);
  int (*account_delete)(store_t *, uint32_t sdkappid, const char *user_id);
  int (*account_get)(store_t *, uint32_t sdkappid, const char *user_id, uint32_t *user_no);
  int (*account_count)(store_t *, uint32_t sdkappid, int64_t *n);
  int (*account_each)(store_t *, uint32_t sdkappid, store_account_cb, void *);
  int (*usage_login)(store_t *, uint32_t sdkappid, int32_t day_yyyymmdd, uint32_t user_no);
  int (*usage_dau)(store_t *, uint32_t sdkappid, int32_t day_yyyymmdd, int64_t *count);
  int (*wallet_balance)(store_t *, int64_t customer_id, int64_t *balance_fen);
  int (*ledger_append)(store_t *, const store_ledger_t *in, store_ledger_t *out);
  int (*ledger_each)(store_t *, int64_t customer_id, store_ledger_cb, void *);
  int (*order_insert)(store_t *, const store_order_t *, int64_t *id);
  int (*order_get_ref)(store_t *, uint32_t sdkappid, const char *reference, store_order_t *);
  int (*order_each)(store_t *, uint32_t sdkappid, store_order_cb, void *);
  int (*in_txn)(store_t *);
} store_vtab_t;

struct store { const store_vtab_t *vt; };

/* Open (creating) data_dir/imcloud.db with the SQLite backend and migrate it
 * to the current schema. IMC_E_IO (cannot open), IMC_E_CONFIG (the file has
 * a newer schema than this binary knows). */
int store_open(const char *data_dir, store_t **out);
void store_close(store_t *s);

/* Run transaction-control SQL (BEGIN IMMEDIATE, COMMIT, ROLLBACK, SAVEPOINT x,
 * RELEASE x, ROLLBACK TO x). IMC_E_BUSY if the database stayed locked. */
int store_exec(store_t *s, const char *sql);
/* A number that changes when another connection commits (PRAGMA data_version). */
int store_data_version(store_t *s, uint64_t *v);

/* Key/value settings (e.g. the operator token hash). get: IMC_E_NOTFOUND if
 * unset, IMC_E_TOOBIG if it does not fit cap. */
int store_meta_get(store_t *s, const char *key, char *buf, size_t cap);
int store_meta_set(store_t *s, const char *key, const char *value);

int store_customer_create(store_t *s, const char *name, int64_t now_s, int64_t *id);
int store_customer_get(store_t *s, int64_t id, store_customer_t *out);   /* IMC_E_NOTFOUND */
int store_customer_list(store_t *s, store_customer_cb cb, void *ud);       /* by id */
/* Creation time of the customer's first app; INT64_MAX if it has none. */
int store_customer_first_app_created(store_t *s, int64_t customer_id, int64_t *created_s);

int store_app_insert(store_t *s, const store_app_t *a);                   /* IMC_E_EXISTS */
int store_app_get(store_t *s, uint32_t sdkappid, store_app_t *out);        /* IMC_E_NOTFOUND */
/* Apps of one customer (customer_id > 0) or all (0), by sdkappid. */
int store_app_list(store_t *s, int64_t customer_id, store_app_cb cb, void *ud);
/* Smallest free SDKAppID ≥ 1400000001 above every existing one. */
int store_app_next_sdkappid(store_t *s, uint32_t *out);
/* Update one of the fields "status", "edition", "scheme", "name". */
int store_app_set(store_t *s, uint32_t sdkappid, const char *field, const char *value);

/* Import an account; idempotent: an existing account keeps its user number
 * (nick/face updated when non-NULL). A new account gets the app's next dense
 * user number (1, 2, 3, … never reused, even after a delete). */
int store_account_import(store_t *s, uint32_t sdkappid, const char *user_id, const char *nick, const char *face,
                         int64_t now_s, uint32_t *user_no);
int store_account_delete(store_t *s, uint32_t sdkappid, const char *user_id);          /* IMC_E_NOTFOUND */
int store_account_get(store_t *s, uint32_t sdkappid, const char *user_id, uint32_t *user_no); /* IMC_E_NOTFOUND */
int store_account_count(store_t *s, uint32_t sdkappid, int64_t *n);
int store_account_each(store_t *s, uint32_t sdkappid, store_account_cb cb, void *ud);

/* Record that user_no logged in on that natural day; idempotent. */
int store_usage_login(store_t *s, uint32_t sdkappid, int32_t day_yyyymmdd, uint32_t user_no);
/* Distinct users recorded for that day (M-2 DAU). */
int store_usage_dau(store_t *s, uint32_t sdkappid, int32_t day_yyyymmdd, int64_t *count);

/* Wallets. The balance of a customer without entries is 0. */
int store_wallet_balance(store_t *s, int64_t customer_id, int64_t *balance_fen);
/* Append one entry (call inside a transaction: the balance is read, then
 * written). A reference already used by that customer: the same kind and
 * amount is an idempotent replay (0, out = the stored entry, replayed = 1),
 * anything else IMC_E_EXISTS. IMC_E_WALLET_FUNDS if the balance would go
 * below zero (nothing written). */
int store_ledger_append(store_t *s, const store_ledger_t *in, store_ledger_t *out);
int store_ledger_each(store_t *s, int64_t customer_id, store_ledger_cb cb, void *ud); /* oldest first */

/* Orders (append-only; the database refuses updates and deletes). insert:
 * IMC_E_EXISTS when the app already has that reference (callers look it up
 * first: the tenant order functions treat a replay as a no-op). get_ref:
 * IMC_E_NOTFOUND. each: one app's orders oldest first, or with sdkappid 0
 * every order by app, then oldest first (one query for the registry). */
int store_order_insert(store_t *s, const store_order_t *o, int64_t *id);
int store_order_get_ref(store_t *s, uint32_t sdkappid, const char *reference, store_order_t *out);
int store_order_each(store_t *s, uint32_t sdkappid, store_order_cb cb, void *ud);
/* 1 while a transaction is open on this connection (e.g. inside a writer
 * job), so a function can nest with a SAVEPOINT instead of BEGIN. */
int store_in_txn(store_t *s);
#endif
