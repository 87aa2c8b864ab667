/* store.h — durable storage behind one interface.
 *
 * A backend is a versioned table of function pointers (like sqlite3_vfs):
 * store_t's first member points at its store_vtab_t, and the store_* functions
 * below dispatch through it, so a PostgreSQL backend can implement the same
 * header. SQLite (store_open) is the default: WAL, synchronous=FULL (nothing
 * acknowledged is lost on kill -9 or power loss; the server's writer
 * connection runs NORMAL and syncs the WAL on a thread of its own before it
 * acknowledges anything: store_writer.h, "Sync"), busy_timeout for the CLI
 * writing while a server runs, versioned migrations applied at open.
 *
 * A store_t is one connection: use it from one thread at a time. After
 * startup the server's loop thread holds none: it writes through the writer
 * thread (store_writer.h: one connection, capped queue, group commit), reads
 * through the reader pool (store_reader.h: read-only connections, capped
 * queue) and learns about other processes' writes from the change log
 * (store_changes_since below) — docs/decisions/store-pipeline.md. The CLI
 * opens its own store_t. Every function returns 0 or a negative IMC_E_*;
 * strings passed in are copied; records passed out are filled into caller
 * memory.
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

/* One row of the change log: a write the server must learn about, made by
 * any process (the CLI, the server's own writer, another node). kind names
 * what changed, key which one (STORE_CHANGE_* below). */
typedef struct store_change {
  int64_t seq;                           /* increasing; gaps are possible */
  char kind[16];
  char key[64];
} store_change_t;

/* Change kinds and what key holds. Each is appended in the same transaction
 * as the write it describes, whoever writes. */
#define STORE_CHANGE_APP_CREATE "app.create"   /* key: SDKAppID (decimal); a new app */
#define STORE_CHANGE_APP_UPDATE "app.update"   /* key: SDKAppID; name, key, admins, region, scheme, edition or
                                                * status changed, or an order (package, add-on) was recorded */
#define STORE_CHANGE_META "meta"               /* key: the meta key (e.g. operator_token_sha256) */
#define STORE_CHANGE_WALLET_CREDIT "wallet.credit" /* key: customer id; a top-up or refund was posted */

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
/* An issued bill or correction document (immutable: the database refuses
 * updates and deletes). seq is gap-free per deployment over both; number =
 * "IMC-<usage month>-<seq, 6 digits>" (IMC-2026-11-000123). body is the
 * bill's JSON (bill_render_json; a correction's is the corrected bill in
 * full). corrects_seq: 0 for a bill; for a correction the seq of the bill
 * it corrects (corrects = that bill's number). due_fen: what the document
 * asks to pay — a bill's postpaid_fen, a correction's difference from the
 * document before it (negative: refunded at issue). paid: a `payment`
 * ledger entry with reference "bill-<number>" exists. */
typedef struct store_bill {
  int64_t seq;
  char number[32];
  uint32_t sdkappid;
  int64_t customer_id;
  int32_t month;                         /* yyyymm of the usage */
  int64_t issued_at_s;
  int64_t total_fen, prepaid_fen, postpaid_fen;
  int paid;
  char *body;                            /* the JSON; store_bill_get: malloc'd, the caller frees it */
  int64_t corrects_seq;                  /* 0: a bill; else the seq of the bill this corrects */
  char corrects[32];                     /* that bill's number ("" for a bill) */
  int64_t due_fen;                       /* bill: postpaid_fen; correction: the difference */
} store_bill_t;

typedef struct store store_t;
typedef void (*store_change_cb)(void *ud, const store_change_t *c);
typedef void (*store_customer_cb)(void *ud, const store_customer_t *c);
typedef void (*store_app_cb)(void *ud, const store_app_t *a);
typedef void (*store_account_cb)(void *ud, const char *user_id, uint32_t user_no);
typedef void (*store_ledger_cb)(void *ud, const store_ledger_t *e);
typedef void (*store_kick_cb)(void *ud, uint32_t sdkappid, uint32_t user_no, int64_t kicked_at_s);
typedef void (*store_order_cb)(void *ud, const store_order_t *o);
typedef void (*store_usage_login_cb)(void *ud, uint32_t sdkappid, int32_t day_yyyymmdd, uint32_t user_no);
typedef void (*store_usage_day_cb)(void *ud, int32_t day_yyyymmdd, const char *metric, int64_t value);
typedef void (*store_usage_group_cb)(void *ud, int live, int64_t created_s, int64_t dissolved_s);
typedef void (*store_bill_cb)(void *ud, const store_bill_t *b);
typedef void (*store_app_month_cb)(void *ud, uint32_t sdkappid, int32_t month);
struct store_usage_row;
typedef void (*store_usage_row_cb)(void *ud, const struct store_usage_row *r);

struct store_msg_vtab; /* store_msg.h */
struct store_grp_vtab; /* store_grp.h */
struct store_rel_vtab; /* store_rel.h */

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
  int (*kick_set)(store_t *, uint32_t sdkappid, uint32_t user_no, int64_t at_s);
  int (*kick_each)(store_t *, store_kick_cb, void *);
  int (*in_transaction)(store_t *);     /* 1 inside BEGIN…COMMIT, 0 in autocommit */
  int (*changes_last)(store_t *, int64_t *seq);
  int (*changes_since)(store_t *, int64_t after_seq, int limit, store_change_cb, void *);
  int (*order_insert)(store_t *, const store_order_t *, int64_t *id);
  int (*order_get_ref)(store_t *, uint32_t sdkappid, const char *reference, store_order_t *);
  int (*order_each)(store_t *, uint32_t sdkappid, store_order_cb, void *);
  /* metering (sqlite_usage.c) */
  int (*usage_login_each)(store_t *, uint32_t sdkappid, int32_t day_from, int32_t day_to, store_usage_login_cb, void *);
  int (*usage_add)(store_t *, uint32_t sdkappid, int32_t day, const char *metric, int64_t n);
  int (*usage_max)(store_t *, uint32_t sdkappid, int32_t day, const char *metric, int64_t value);
  int (*usage_event)(store_t *, uint32_t sdkappid, const char *event_id, int32_t day, const char *metric,
                     int64_t amount, int64_t at_s, int *replayed);
  int (*usage_day_each)(store_t *, int imported, uint32_t sdkappid, int32_t day_from, int32_t day_to,
                        store_usage_day_cb, void *);
  int (*usage_group)(store_t *, uint32_t sdkappid, const char *group_id, int live, int64_t at_s, int dissolve);
  int (*usage_group_each)(store_t *, uint32_t sdkappid, int64_t until_s, store_usage_group_cb, void *);
  int (*usage_import_doc)(store_t *, uint32_t sdkappid, int32_t month, const char *source, const char *body,
                          int64_t now_s, int64_t *id);
  int (*usage_import_put)(store_t *, uint32_t sdkappid, int32_t day, const char *metric, int64_t value, int64_t doc_id);
  int (*usage_import_count)(store_t *, uint32_t sdkappid, int32_t month, int64_t *n);
  int (*usage_registrations)(store_t *, uint32_t sdkappid, int64_t from_s, int64_t to_s, int tz_offset_s,
                             store_usage_day_cb, void *);
  /* bills (sqlite_usage.c) */
  int (*bill_insert)(store_t *, const store_bill_t *in, store_bill_t *out);
  int (*bill_get)(store_t *, uint32_t sdkappid, int32_t month, store_bill_t *out);
  int (*bill_each)(store_t *, int64_t customer_id, int unpaid_only, store_bill_cb, void *);
  const struct store_msg_vtab *msg;      /* one-to-one messages (store_msg.h) */
  const struct store_grp_vtab *grp;      /* groups (store_grp.h) */
  const struct store_rel_vtab *rel;      /* relationship rows (store_rel.h) */
  /* correction documents (sqlite_usage.c) */
  int (*bill_corrections)(store_t *, int64_t bill_seq, store_bill_cb, void *);
  int (*bill_recheck_each)(store_t *, int limit, store_app_month_cb, void *);
  int (*bill_recheck_done)(store_t *, uint32_t sdkappid, int32_t month);
  int (*bill_month_apps)(store_t *, int32_t month, int billed, store_app_month_cb, void *);
  /* a batch of apps (sqlite_usage.c) */
  int (*usage_apps_each)(store_t *, int table, const uint32_t *sdkappids, size_t n, int64_t from, int64_t to,
                         store_usage_row_cb, void *);
  int (*app_get_many)(store_t *, const uint32_t *sdkappids, size_t n, store_app_cb, void *);
  int (*usage_add_at_commit)(store_t *, uint32_t sdkappid, int32_t day, const char *metric, int64_t n);
  int (*account_gone_each)(store_t *, uint32_t sdkappid, store_account_cb, void *);
  int (*usage_registered)(store_t *, uint32_t sdkappid, int64_t before_s, int64_t *n);
  int (*usage_group_last)(store_t *, uint32_t sdkappid, const char *group_id, int64_t *created_s);
  int (*bill_recheck_add)(store_t *, uint32_t sdkappid, int32_t month, int *added);
} store_vtab_t;

struct store { const store_vtab_t *vt; };

/* Open (creating) data_dir/imcloud.db with the SQLite backend and migrate it
 * to the current schema. IMC_E_IO (cannot open), IMC_E_CONFIG (the file has
 * a newer schema than this binary knows). */
int store_open(const char *data_dir, store_t **out);
/* Open a read-only connection (store_reader.h): writes fail with IMC_E_IO.
 * The schema must be current (store_open migrates; this does not):
 * IMC_E_CONFIG otherwise, IMC_E_IO if the database cannot be opened. */
int store_open_reader(const char *data_dir, store_t **out);
void store_close(store_t *s);
/* The page cache of connection s: at most kib KiB (SQLite: PRAGMA
 * cache_size=-kib; store_open sets 64 MiB). store_cache_kib: its bound now,
 * in KiB as the connection reports it (0 if it cannot be read). The caller
 * owns s (no other thread uses it meanwhile). 0, or IMC_E_IO. */
int store_cache_set_kib(store_t *s, int64_t kib);
int64_t store_cache_kib(store_t *s);

/* Run transaction-control SQL (BEGIN IMMEDIATE, COMMIT, ROLLBACK, SAVEPOINT x,
 * RELEASE x, ROLLBACK TO x). IMC_E_BUSY if the database stayed locked. */
int store_exec(store_t *s, const char *sql);
/* 1 if a transaction is open on this connection and can still commit, 0 if
 * not. After a failing statement inside BEGIN…COMMIT, 0 means the engine
 * dropped the whole transaction on its own (SQLite rolls back on some IOERR,
 * FULL, NOMEM…; a PostgreSQL backend answers 0 for an aborted transaction). */
int store_in_transaction(store_t *s);
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
/* The apps among sdkappids[0..n) (n <= 100,000, strictly ascending) that
 * exist, by sdkappid, in one statement (the bill run reads a batch of apps
 * this way). IMC_E_INVAL (n, ids not ascending). */
int store_app_get_many(store_t *s, const uint32_t *sdkappids, size_t n, store_app_cb cb, void *ud);
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
/* Every deleted account of the app whose UserID is kept (deleted since
 * migration 37), ascending user number: a UserID deleted more than once
 * comes once per number, its latest deletion last. A deleted account is no
 * account: store_account_get/count/each and the account rules never see it;
 * only the names of stored messages (store_msg.h from_id, to_id, peer_id)
 * and history lookups by UserID (tenant_registry_account_find_gone) do. */
int store_account_gone_each(store_t *s, uint32_t sdkappid, store_account_cb cb, void *ud);

/* Record that user_no logged in on that natural day; idempotent. */
int store_usage_login(store_t *s, uint32_t sdkappid, int32_t day_yyyymmdd, uint32_t user_no);
/* Distinct users recorded for that day (M-2 DAU). */
int store_usage_dau(store_t *s, uint32_t sdkappid, int32_t day_yyyymmdd, int64_t *count);

/* ---- metering rows (docs/metering.md; src/meter/ is the reader) ----------
 * Days are yyyymmdd in the app's billing zone; a month-level row has day
 * yyyymm00. Metric names are meter.h's METER_M_*. */
/* usage_login rows with day in [day_from, day_to] of one app (sdkappid > 0)
 * or of every app of the apps table (0; rows of a number without an app row are not read), ordered by
 * app and day. */
int store_usage_login_each(store_t *s, uint32_t sdkappid, int32_t day_from, int32_t day_to,
                           store_usage_login_cb cb, void *ud);
/* Add n to a daily counter (call inside the writer job of the event counted,
 * so the count commits with the event). */
int store_usage_add(store_t *s, uint32_t sdkappid, int32_t day, const char *metric, int64_t n);
/* The same, written once per (app, day, metric) just before the COMMIT of
 * the open transaction instead of now: a group commit of many counted events
 * upserts the counter row once. Exact: an add undone by ROLLBACK TO a
 * savepoint opened before it, or by ROLLBACK, is never written. Reads of the
 * counter inside the transaction do not see it yet. Outside a transaction it
 * is store_usage_add. IMC_E_INVAL (empty metric); at COMMIT, the upsert's
 * error fails the COMMIT (store_exec returns it, nothing committed). */
int store_usage_add_at_commit(store_t *s, uint32_t sdkappid, int32_t day, const char *metric, int64_t n);
/* Raise a daily peak to value (kept when the stored one is higher): idempotent. */
int store_usage_max(store_t *s, uint32_t sdkappid, int32_t day, const char *metric, int64_t value);
/* Record an identified additive event (call minutes): the first time an
 * event_id (1-64 bytes, unique per app) is seen, amount is added to (day,
 * metric) and *replayed = 0; a replay with the same day, metric and amount
 * changes nothing (*replayed = 1); a replay that differs is IMC_E_EXISTS. */
int store_usage_event(store_t *s, uint32_t sdkappid, const char *event_id, int32_t day, const char *metric,
                      int64_t amount, int64_t at_s, int *replayed);
/* Daily rows (metered: imported = 0, usage_day; imported: 1, usage_import)
 * with day in [day_from, day_to], by day. */
int store_usage_day_each(store_t *s, int imported, uint32_t sdkappid, int32_t day_from, int32_t day_to,
                         store_usage_day_cb cb, void *ud);
/* A group's life (M-4). dissolve = 0: group_id was created at at_s (a replay
 * is a no-op); 1: the incarnation created at or before at_s and not yet
 * dissolved was dissolved at at_s (none: a no-op — a replay). live: an
 * AVChatRoom/BChatRoom. */
int store_usage_group(store_t *s, uint32_t sdkappid, const char *group_id, int live, int64_t at_s, int dissolve);
/* Lives of the groups created before until_s (dissolved_s = INT64_MAX while
 * they exist). */
int store_usage_group_each(store_t *s, uint32_t sdkappid, int64_t until_s, store_usage_group_cb cb, void *ud);
/* The latest start (at_s of store_usage_group's creation) of group_id's lives, dissolved or not, into *created_s;
 * 0 when the id never had one. A new life of the id starts after it (docs/decisions/groups-events.md). IMC_E_INVAL
 * (an id empty or over 64 bytes), IMC_E_IO. */
int store_usage_group_last(store_t *s, uint32_t sdkappid, const char *group_id, int64_t *created_s);
/* Keep an imported usage document (immutable) and return its id; then
 * store its figures with store_usage_import_put (a figure imported again for
 * the same day and metric replaces the earlier one). */
int store_usage_import_doc(store_t *s, uint32_t sdkappid, int32_t month, const char *source, const char *body,
                           int64_t now_s, int64_t *id);
int store_usage_import_put(store_t *s, uint32_t sdkappid, int32_t day, const char *metric, int64_t value, int64_t doc_id);
/* Number of documents imported for a month. */
int store_usage_import_count(store_t *s, uint32_t sdkappid, int32_t month, int64_t *n);
/* New accounts per day (metric "registrations", day yyyymmdd in the zone
 * tz_offset_s) created in [from_s, to_s); every account number ever created
 * counts, deleted ones too (recorded by the database when the account row is
 * inserted). */
int store_usage_registrations(store_t *s, uint32_t sdkappid, int64_t from_s, int64_t to_s, int tz_offset_s,
                              store_usage_day_cb cb, void *ud);
/* The number of registrations (as store_usage_registrations counts them) created before before_s, into *n: the
 * app's counts per UTC day before the midnight nearest before_s, corrected by the registrations between that
 * midnight and before_s (at most half a day's), so the work grows with the app's days, not its accounts.
 * IMC_E_IO on a database error. */
int store_usage_registered(store_t *s, uint32_t sdkappid, int64_t before_s, int64_t *n);

/* ---- bills (src/meter/bills.c is the writer) -------------------------------
 * insert: call inside a transaction; assigns the next seq and the number
 * (out->seq, out->number; the other fields are copied from in, paid = 0).
 * in->seq: 0 (the next seq is read from the table), or the next seq as the
 * caller knows it — one more than the seq of the bill it inserted last in
 * this same transaction (a bill run numbering a batch: no max(seq) read per
 * bill); if a bill took that seq meanwhile (the insert is refused), max(seq)
 * is read and the insert tried once more. A seq higher than the next would
 * leave a gap in the series: pass it only as said.
 * IMC_E_EXISTS if the app's month is billed already (nothing written).
 * get: IMC_E_NOTFOUND if the month has no bill. each: the bills of one
 * customer (customer_id > 0) or all (0), oldest first; unpaid_only skips paid
 * ones. get: out->body is malloc'd (the caller frees it); each: b->body is
 * valid during the callback. */
int store_bill_insert(store_t *s, const store_bill_t *in, store_bill_t *out);
int store_bill_get(store_t *s, uint32_t sdkappid, int32_t month, store_bill_t *out);
int store_bill_each(store_t *s, int64_t customer_id, int unpaid_only, store_bill_cb cb, void *ud);
/* Correction documents: insert one with store_bill_insert and
 * in->corrects_seq = the bill's seq (then IMC_E_EXISTS never applies;
 * in->due_fen is stored as given; for a bill due_fen is its postpaid_fen).
 * store_bill_get and the uniqueness rule see bills only; store_bill_each
 * lists both. corrections: those of one bill, oldest first (b->body valid
 * during the callback). The recheck queue (docs/decisions/billing-corrections.md):
 * the database queues (app, month) whenever a usage row of a month that has
 * a bill is written; recheck_each lists up to limit entries (by app, month);
 * recheck_done removes one (call in the transaction that handled it). */
int store_bill_corrections(store_t *s, int64_t bill_seq, store_bill_cb cb, void *ud);
int store_bill_recheck_each(store_t *s, int limit, store_app_month_cb cb, void *ud);
int store_bill_recheck_done(store_t *s, uint32_t sdkappid, int32_t month);
/* Queue (app, month) by hand (an operator's recheck, §109): *added = 1 if it
 * was not queued yet, 0 if it was (nothing written). The caller checks that
 * the month has a bill (one entry per billed month: the queue's cap). */
int store_bill_recheck_add(store_t *s, uint32_t sdkappid, int32_t month, int *added);
/* billed = 1: the apps that have a bill (not a correction) for usage month
 * yyyymm; billed = 0: the apps that have none (the ones a bill run issues);
 * by sdkappid. */
int store_bill_month_apps(store_t *s, int32_t month, int billed, store_app_month_cb cb, void *ud);

/* The usage rows of a batch of apps, one statement per table (the bill run
 * reads a batch of apps this way instead of one query per app and table). */
typedef enum store_usage_table {
  STORE_USAGE_LOGIN,   /* usage_login: day, user_no */
  STORE_USAGE_DAY,     /* usage_day (metered): day, metric, value */
  STORE_USAGE_IMPORT,  /* usage_import: day, metric, value */
  STORE_USAGE_GROUP,   /* usage_group: live, created_s, dissolved_s (INT64_MAX while it exists) */
  /* usage_import as a bill reads it, in two scans: */
  STORE_USAGE_IMPORT_BILL, /* the month-level rows (day `from`) and the daily "bandwidth_mbps" rows */
  STORE_USAGE_IMPORT_MAX,  /* per app (that exists) the maximum over days (from, to] of its daily "dau" and of its
                            * daily "groups": rows day `from`, metric "peak_dau" / "peak_groups" (none without days) */
} store_usage_table_t;
typedef struct store_usage_row {
  uint32_t sdkappid;
  int32_t day;                 /* yyyymmdd (login, day, import) */
  uint32_t user_no;            /* login */
  const char *metric;          /* day, import: valid during the callback */
  int64_t value;               /* day, import */
  int live;                    /* group */
  int64_t created_s, dissolved_s; /* group */
} store_usage_row_t;
/* Rows of table for the apps sdkappids[0..n) (n <= 100,000, strictly
 * ascending), grouped by app in ascending sdkappid: login, day and import rows with day in [from, to];
 * group lives created before `to` (from unused). The same rows as
 * store_usage_login_each / store_usage_day_each / store_usage_group_each for
 * each app. 0, IMC_E_INVAL (bad table or n, ids not ascending), IMC_E_NOMEM, IMC_E_IO. */
int store_usage_apps_each(store_t *s, store_usage_table_t table, const uint32_t *sdkappids, size_t n, int64_t from,
                          int64_t to, store_usage_row_cb cb, void *ud);

/* Wallets. The balance of a customer without entries is 0. */
int store_wallet_balance(store_t *s, int64_t customer_id, int64_t *balance_fen);
/* Append one entry (call inside a transaction: the balance is read, then
 * written). A reference already used by that customer: the same kind and
 * amount is an idempotent replay (0, out = the stored entry, replayed = 1),
 * anything else IMC_E_EXISTS. IMC_E_WALLET_FUNDS if the balance would go
 * below zero (nothing written). */
int store_ledger_append(store_t *s, const store_ledger_t *in, store_ledger_t *out);
int store_ledger_each(store_t *s, int64_t customer_id, store_ledger_cb cb, void *ud); /* oldest first */

/* Kick times: record that every UserSig of (app, user) issued at or before
 * at_s is void (a later kick wins; an earlier one is ignored), and list them
 * all (the server loads them at start). */
int store_kick_set(store_t *s, uint32_t sdkappid, uint32_t user_no, int64_t at_s);
int store_kick_each(store_t *s, store_kick_cb cb, void *ud);

/* The change log (store_change_t above). A reader remembers the last seq it
 * applied and asks for what follows; the log is an ordinary table, so any
 * backend can keep it (SQLite fills it with triggers, hence also for writes by
 * an older CLI binary of the same schema). Only operator-level writes are
 * logged (apps, orders, meta), never accounts, usage or messages, so it stays
 * small and is not pruned. */
/* Highest seq in the log (0 when empty). */
int store_changes_last(store_t *s, int64_t *seq);
/* Rows with seq > after_seq, oldest first, at most limit (≥ 1) of them. */
int store_changes_since(store_t *s, int64_t after_seq, int limit, store_change_cb cb, void *ud);

/* Orders (append-only; the database refuses updates and deletes). insert:
 * IMC_E_EXISTS when the app already has that reference (callers look it up
 * first: the tenant order functions treat a replay as a no-op). get_ref:
 * IMC_E_NOTFOUND. each: one app's orders oldest first, or with sdkappid 0
 * every order by app, then oldest first (one query for the registry). */
int store_order_insert(store_t *s, const store_order_t *o, int64_t *id);
int store_order_get_ref(store_t *s, uint32_t sdkappid, const char *reference, store_order_t *out);
int store_order_each(store_t *s, uint32_t sdkappid, store_order_cb cb, void *ud);
#endif
