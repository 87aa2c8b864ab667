/* sqlite_int.h — what the files of the SQLite backend share: the connection
 * handle of a store_t, the statement cache of the metering rows
 * (sqlite_usage.c) and its vtable entries, and the message part
 * (sqlite_msg.c) hooked into the connection's life cycle, and the migrations
 * with their runner (sqlite_schema.c). */
#ifndef IMC_STORE_SQLITE_INT_H
#define IMC_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"

#define SQU_STMTS_MAX 40
#define SQW_STMTS_MAX 8
#define SQG_STMTS_MAX 16
#define SQR_STMTS_MAX 4

/* Helpers every file of the backend uses. sq__prepared: *slot prepared from
 * sql on first use (persistent, finalized with the connection), reset and
 * its bindings cleared; NULL if it cannot be prepared. sq__run: step a
 * statement whose rows are not needed, reset it, 0 or IMC_E_* (IMC_E_IO for
 * NULL). sq__bind_text: v, or NULL for a null pointer (copied). sq__copy_col:
 * column col as text into buf (NUL-terminated; IMC_E_TOOBIG if it does not fit). */
sqlite3_stmt *sq__prepared(store_t *s, sqlite3_stmt **slot, const char *sql);
int sq__run(sqlite3_stmt *s);
void sq__bind_text(sqlite3_stmt *s, int i, const char *v);
int sq__copy_col(sqlite3_stmt *s, int col, char *buf, size_t cap);

sqlite3 *store__sqlite_db(store_t *s);
/* SQU_STMTS_MAX cached statements of sqlite_usage.c (finalized at close). */
sqlite3_stmt **store__sqlite_ucache(store_t *s);
/* SQW_STMTS_MAX cached statements of sqlite_wallet.c (finalized at close). */
sqlite3_stmt **store__sqlite_wcache(store_t *s);
/* SQG_STMTS_MAX cached statements of sqlite_grp.c (finalized at close). */
sqlite3_stmt **store__sqlite_gcache(store_t *s);
/* SQR_STMTS_MAX cached statements of sqlite_rel.c (finalized at close). */
sqlite3_stmt **store__sqlite_rcache(store_t *s);
/* The wallet ledger and orders (sqlite_wallet.c): the vtable's entries. */
int sqw_wallet_balance(store_t *, int64_t, int64_t *);
int sqw_ledger_append(store_t *, const store_ledger_t *, store_ledger_t *);
int sqw_ledger_each(store_t *, int64_t, store_ledger_cb, void *);
int sqw_order_insert(store_t *, const store_order_t *, int64_t *);
int sqw_order_get_ref(store_t *, uint32_t, const char *, store_order_t *);
int sqw_order_each(store_t *, uint32_t, store_order_cb, void *);

int squ_login_each(store_t *, uint32_t, int32_t, int32_t, store_usage_login_cb, void *);
int squ_add(store_t *, uint32_t, int32_t, const char *, int64_t);
int squ_max(store_t *, uint32_t, int32_t, const char *, int64_t);
int squ_event(store_t *, uint32_t, const char *, int32_t, const char *, int64_t, int64_t, int *);
int squ_day_each(store_t *, int, uint32_t, int32_t, int32_t, store_usage_day_cb, void *);
int squ_group(store_t *, uint32_t, const char *, int, int64_t, int);
int squ_group_last(store_t *, uint32_t, const char *, int64_t *);
int squ_group_each(store_t *, uint32_t, int64_t, store_usage_group_cb, void *);
int squ_import_doc(store_t *, uint32_t, int32_t, const char *, const char *, int64_t, int64_t *);
int squ_import_put(store_t *, uint32_t, int32_t, const char *, int64_t, int64_t);
int squ_import_count(store_t *, uint32_t, int32_t, int64_t *);
int squ_bill_insert(store_t *, const store_bill_t *, store_bill_t *);
int squ_bill_get(store_t *, uint32_t, int32_t, store_bill_t *);
int squ_bill_each(store_t *, int64_t, int, store_bill_cb, void *);
int squ_bill_corrections(store_t *, int64_t, store_bill_cb, void *);
int squ_bill_recheck_each(store_t *, int, store_app_month_cb, void *);
int squ_bill_recheck_done(store_t *, uint32_t, int32_t);
int squ_bill_recheck_add(store_t *, uint32_t, int32_t, int *);
int squ_bill_month_apps(store_t *, int32_t, int, store_app_month_cb, void *);
/* ids[0..n) as a JSON array (malloc'd, *len bytes, no NUL), for "FROM json_each(?) j CROSS JOIN t
 * WHERE t.sdkappid=j.value": one statement for a batch of apps, SQLite seeking each in the array's
 * order (rows come in it: callers check the ids ascend with sq__ids_ascending). NULL: out of memory. */
char *sq__id_list(const uint32_t *ids, size_t n, int *len);
int sq__ids_ascending(const uint32_t *ids, size_t n); /* 1: strictly ascending */
/* 1: the ascending ids[0..n) span fewer than 2n sdkappids — a batch read by walking the apps table
 * from the first to the last (skipping the others) rather than through the JSON array */
int sq__ids_dense(const uint32_t *ids, size_t n);
int squ_apps_each(store_t *, int, const uint32_t *, size_t, int64_t, int64_t, store_usage_row_cb, void *);
int squ_registrations(store_t *, uint32_t, int64_t, int64_t, int, store_usage_day_cb, void *);
int squ_registered(store_t *, uint32_t, int64_t, int64_t *);
/* n more registrations of app on UTC day utc_day in usage_reg_day (sqlite_defer.c writes them at commit). */
int squ_reg_day_add(store_t *s, uint32_t app, int32_t utc_day, int64_t n);
#include "store/store_msg.h"

struct sqmsg; /* per-connection message state: statements, next-seq caches */

/* The connection of a SQLite store_t. */
/* An app row's admins column (sqlite_admins.c). sq__admins_json: a's admins
 * as a JSON array (malloc'd; NULL: out of memory). sq__admins_read: text
 * (len bytes) into a->admins/n_admins (a zeroed before): the first
 * STORE_ADMINS_MAX strings, each cut to fit, other values skipped, none when
 * text is not an array. Read with jsonr (no allocation: a bill run reads
 * 100,000 app rows), with jansson where jsonr cannot decide (more values
 * than its tokens, a string over 255 bytes), with the same result. */
char *sq__admins_json(const store_app_t *a);
void sq__admins_read(const char *text, size_t len, store_app_t *a);
sqlite3 *sq__db(store_t *s);
/* The slot holding the connection's message state (NULL until first use). */
struct sqmsg **sq__msg_slot(store_t *s);
/* Free the message state (connection close). */
void sq__msg_free(struct sqmsg *m);
/* A ROLLBACK (of a job's savepoint or of a batch) ran: forget the cached
 * next sequences, which may describe rows that no longer exist. */
void sq__msg_rollback(struct sqmsg *m);
/* Write the C2C appends' held rows before a transaction statement (sq_exec;
 * sqlite_msg_pend.c): 0 or the error of the write (the caller rolls back). */
int sq__msg_flush(store_t *s);
/* Hold a relationship event's payload row with the held C2C rows (inside a transaction: sqlite_rel.c ev_put), written
 * by the same flushes (sqlite_msg_pend.c). 0, IMC_E_NOMEM, or a flush's error. */
int sq__msg_rel_hold(store_t *s, uint32_t app, uint32_t user, uint32_t useq, int64_t at_s, const char *payload);
/* Map a SQLite result code to IMC_E_* (0 for OK/DONE/ROW). */
int sq__map_rc(int rc);
/* Close db (any connection of this process to a database, NULL too): without SQLite's checkpoint at close when its
 * database was named by store_db_keep_wal (store_ckpt.h), else as sqlite3_close does. */
void sq__close_db(sqlite3 *db);

/* Counters added at commit (sqlite_defer.c): the slot of the connection's
 * sums; store_usage_add_at_commit; sq_exec calls _before ahead of each
 * transaction statement (an error: do not run it) and _after once it ran
 * (ok: it succeeded; was_autocommit: no transaction was open before it). */
struct sqdefer;
struct sqdefer **sq__defer_slot(store_t *s);
void sq__defer_free(struct sqdefer *d);
int sq__defer_add(store_t *s, uint32_t sdkappid, int32_t day, const char *metric, int64_t n);
/* One registration of the app on UTC day utc_day (days since 1970-01-01) for usage_reg_day (migration 49), summed
 * and written at commit as sq__defer_add's counters are (squ_reg_day_add). 0, IMC_E_NOMEM or a write's error. */
int sq__defer_reg(store_t *s, uint32_t sdkappid, int32_t utc_day);
/* Write the sums kept so far now (a read of their tables in this transaction then sees them). 0 or a write's error. */
int sq__defer_flush(store_t *s);
int sq__defer_before(store_t *s, const char *sql);
void sq__defer_after(store_t *s, const char *sql, int ok, int was_autocommit);

/* A login's usage row and the bill recheck it may queue (sqlite_login.c; the
 * vtable's usage_login). The connection's commit and rollback hooks belong to
 * that file: nothing else may set them. sq__login_bills_changed: this
 * connection inserted a bill (squ_bill_insert); sq__login_free: at close. */
struct sqlogin;
struct sqlogin **sq__login_slot(store_t *s);
int sq__usage_login(store_t *s, uint32_t sdkappid, int32_t day, uint32_t user_no);
void sq__login_bills_changed(store_t *s);
void sq__login_free(sqlite3 *db, struct sqlogin *l);
/* An app's next account number kept for the write transaction (account_import_txn):
 * sq__login_next_no 1 with *no when known; _set after an account was inserted
 * (write lock held) with the number after it; sq__login_rollback: a ROLLBACK ran. */
int sq__login_next_no(store_t *s, uint32_t sdkappid, int64_t *no);
/* The app's next user number (S_APP_NEXT_USER): above every account's,
 * deleted ones' included, since numbers are never reused, so no row of the
 * app's users has a number at or past it. IMC_E_NOTFOUND: no such app. */
int sq__app_next_user(store_t *s, uint32_t sdkappid, int64_t *no);
void sq__login_next_no_set(store_t *s, uint32_t sdkappid, int64_t next);
void sq__login_rollback(store_t *s);

extern const store_msg_vtab_t sq__msg_vtab;
extern const struct store_grp_vtab sq__grp_vtab; /* sqlite_grp.c */
extern const struct store_rel_vtab sq__rel_vtab;

/* The UserID of a number whose accounts row is gone (a deleted account, migration 37), or NULL: read only
 * when the accounts join found no row (coalesce evaluates its arguments in turn, so a live account's
 * name costs no extra seek). Message reads name senders with it (sqlite_msg_int.h, sqlite_grp.c). */
#define SQ_GONE_ID(app, no) "(SELECT ag.user_id FROM accounts_gone ag WHERE ag.sdkappid=" app " AND ag.user_no=" no ")"

/* The users an account deletion looks at (?1 the app, ?2 the deleted account's number): the peers of its own
 * conversation rows, written and waiting in the log, and of its rows the retention trim removed while the peer's
 * row stayed (c2c_trimmed, migration 55: sqlite_msg_trim.c) (a key lookup per peer each). The deletion removes
 * their rows with it (sqlite.c ACC_DEL_PEER_ROWS, ACC_DEL_PEER_LOG), after telling them (sqlite_msg_gone.c). */
#define SQ_ACC_PEERS_OF "(SELECT peer_no FROM c2c_recent WHERE sdkappid=?1 AND user_no=?2" \
                        " UNION SELECT peer_no FROM c2c_recent_log WHERE user_no=?2 AND sdkappid=?1" \
                        " UNION SELECT peer_no FROM c2c_trimmed WHERE user_no=?2 AND sdkappid=?1)"

/* Pins (sqlite_pin.c; migrations 38, 41, 42). *order = the next of user_no's pin orders: one above the last
 * one given (pin_order), over both kinds, so pins of both kinds made in one second list latest first in one
 * order, and an order is never given twice (an unpin does not give it back). Writer thread, inside the pin's
 * job. 0 or IMC_E_IO. */
int sq__pin_take(store_t *s, uint32_t sdkappid, uint32_t user_no, int64_t *order);
/* store_msg_vtab_t.recent_pinned (store_msg.h): through the partial index of pinned rows. */
int sq__pin_count_c2c(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t except_peer, int64_t *n);
/* store_msg_vtab_t.gone_peers (store_msg.h). */
int sq__gone_peers(store_t *s, uint32_t sdkappid, uint32_t user_no, void (*cb)(void *ud, uint32_t peer_no), void *ud);

/* The migrations (sqlite_schema.c): sq__schema_version scripts, in order. */
extern const char *const sq__migrations[];
extern const int sq__schema_version;
/* PRAGMA user_version of db into *version: 0 or IMC_E_*. (sqlite_migrate.c, as the next) */
int sq__schema_read(sqlite3 *db, int *version);
/* Run the migrations db has not run yet, all in one transaction (a
 * concurrent migrator is detected under the write lock; a failing script
 * rolls back them all), an upgrade logged as it goes (start, each script
 * with its time, the end; a failure with the script and SQLite's message):
 * 0, IMC_E_BUSY, IMC_E_IO, or IMC_E_CONFIG for a database newer than this
 * binary (logged too). */
int sq__migrate(sqlite3 *db);
/* Register the SQL function imc_content_hash(body) on db: store_content_hash of a text as a signed 64-bit
 * integer (NULL for NULL). Migration 54 and the C2C body change use it (grp_msg.chash, c2c_msg.orig_hash:
 * messaging-c2c-checks3.md §78, groups-messages.md §18); every writing connection has it before it migrates.
 * 0 or IMC_E_IO. */
int sq__content_fn(sqlite3 *db);

#endif
