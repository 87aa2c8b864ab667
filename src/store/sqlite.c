/* sqlite.c — the SQLite backend of store.h.
 *
 * One connection per store_t; statements are prepared once and cached in a
 * table indexed by an enum (the SQL text lives next to its enum row). A
 * writing open runs the migrations it has not run yet (sqlite_schema.c:
 * ordered SQL scripts, one transaction each, recorded in PRAGMA
 * user_version); a reader open requires the current version. */
#include "store/sqlite_int.h"
#include "store/sqlite_pcache.h"
#include "store/sqlite_vfs.h"
#include "store/store.h"
#include "util/err.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- migrations: sqlite_schema.c (sq__migrations, sq__schema_version) ---- */

/* ---- statements --------------------------------------------------------------- */
#define STMTS(X) \
  X(DATA_VERSION, "PRAGMA data_version") \
  X(META_GET, "SELECT value FROM meta WHERE key=?1") \
  X(META_SET, "INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value") \
  X(CUST_INS, "INSERT INTO customers(name,created_at) VALUES(?1,?2)") \
  X(CUST_GET, "SELECT id,name,created_at FROM customers WHERE id=?1") \
  X(CUST_LIST, "SELECT id,name,created_at FROM customers ORDER BY id") \
  X(CUST_FIRST, "SELECT min(created_at) FROM apps WHERE customer_id=?1") \
  X(APP_INS, "INSERT INTO apps(sdkappid,customer_id,name,secret_key,admins,region,created_at,scheme,edition,status)" \
             " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)") \
  X(APP_GET, "SELECT sdkappid,customer_id,name,secret_key,admins,region,created_at,scheme,edition,status FROM apps WHERE sdkappid=?1") \
  X(APP_LIST, "SELECT sdkappid,customer_id,name,secret_key,admins,region,created_at,scheme,edition,status FROM apps" \
              " WHERE ?1=0 OR customer_id=?1 ORDER BY sdkappid") \
  X(APP_MANY, "SELECT a.sdkappid,a.customer_id,a.name,a.secret_key,a.admins,a.region,a.created_at,a.scheme,a.edition," \
              "a.status FROM json_each(?1) j CROSS JOIN apps a WHERE a.sdkappid=j.value") /* ids ascending: by sdkappid */ \
  X(APP_RANGE, "SELECT sdkappid,customer_id,name,secret_key,admins,region,created_at,scheme,edition,status FROM apps" \
               " WHERE sdkappid BETWEEN ?1 AND ?2 ORDER BY sdkappid") /* dense ids (sq__ids_dense): the others skipped */ \
  X(APP_MAX, "SELECT max(sdkappid) FROM apps") \
  X(APP_SET_STATUS, "UPDATE apps SET status=?2 WHERE sdkappid=?1") \
  X(APP_SET_EDITION, "UPDATE apps SET edition=?2 WHERE sdkappid=?1") \
  X(APP_SET_SCHEME, "UPDATE apps SET scheme=?2 WHERE sdkappid=?1") \
  X(APP_SET_NAME, "UPDATE apps SET name=?2 WHERE sdkappid=?1") \
  X(APP_NEXT_USER, "SELECT max(next_user_no, coalesce((SELECT max(user_no) FROM accounts WHERE sdkappid=?1), 0) + 1)" \
                   " FROM apps WHERE sdkappid=?1") /* migration 29 */ \
  X(ACC_GET, "SELECT user_no FROM accounts WHERE sdkappid=?1 AND user_id=?2") \
  X(ACC_INS, "INSERT INTO accounts(sdkappid,user_id,user_no,nick,face_url,created_at) VALUES(?1,?2,?3,?4,?5,?6)" \
             " ON CONFLICT(sdkappid,user_id) DO NOTHING") \
  X(ACC_REG, "INSERT OR IGNORE INTO usage_reg(sdkappid,user_no,created_at) VALUES(?1,?2,?3)") \
  X(ACC_UPD, "UPDATE accounts SET nick=coalesce(?3,nick), face_url=coalesce(?4,face_url) WHERE sdkappid=?1 AND user_id=?2") \
  X(ACC_DEL, "DELETE FROM accounts WHERE sdkappid=?1 AND user_id=?2") \
  /* the peers' conversation rows with a deleted account (?2: its user_no), found through its own rows (a key \
   * lookup per peer): no list shows them, and the trim would count them among the kept */ \
  X(ACC_DEL_PEER_ROWS, "DELETE FROM c2c_recent WHERE sdkappid=?1 AND peer_no=?2 AND user_no IN " SQ_ACC_PEERS_OF) \
  X(ACC_DEL_PEER_LOG, "DELETE FROM c2c_recent_log WHERE sdkappid=?1 AND peer_no=?2 AND user_no IN " SQ_ACC_PEERS_OF) \
  /* the trim's pairs naming the account (migration 55): those of peers whose row went (each names a row of \
   * the account: sqlite_msg_trim.c), then its own */ \
  X(ACC_DEL_TRIMMED_OF, "DELETE FROM c2c_trimmed WHERE sdkappid=?1 AND peer_no=?2 AND user_no IN " SQ_ACC_PEERS_OF) \
  X(ACC_DEL_TRIMMED, "DELETE FROM c2c_trimmed WHERE user_no=?2 AND sdkappid=?1") \
  X(ACC_COUNT, "SELECT count(*) FROM accounts WHERE sdkappid=?1") \
  X(ACC_EACH, "SELECT user_id,user_no FROM accounts WHERE sdkappid=?1") \
  X(ACC_GONE_EACH, "SELECT user_id,user_no FROM accounts_gone WHERE sdkappid=?1 ORDER BY user_no") /* migration 37 */ \
  X(USAGE_DAU, "SELECT count(*) FROM usage_login WHERE sdkappid=?1 AND day=?2") \
  X(KICK_SET, "INSERT INTO kicks(sdkappid,user_no,kicked_at) VALUES(?1,?2,?3) ON CONFLICT(sdkappid,user_no)" \
              " DO UPDATE SET kicked_at=max(kicked_at,excluded.kicked_at)") \
  X(KICK_EACH, "SELECT sdkappid,user_no,kicked_at FROM kicks") \
  X(CHANGES_LAST, "SELECT coalesce(max(seq),0) FROM changes") \
  X(CHANGES_SINCE, "SELECT seq,kind,key FROM changes WHERE seq>?1 ORDER BY seq LIMIT ?2") \
  X(TXN_BEGIN, "BEGIN") \
  X(TXN_BEGIN_IMM, "BEGIN IMMEDIATE") \
  X(TXN_COMMIT, "COMMIT") \
  X(TXN_ROLLBACK, "ROLLBACK") \
  X(TXN_SAVEPOINT, "SAVEPOINT job") \
  X(TXN_RELEASE, "RELEASE job") \
  X(TXN_ROLLBACK_TO, "ROLLBACK TO job")

enum {
#define X(name, sql) S_##name,
  STMTS(X)
#undef X
  S__COUNT
};
static const char *const stmt_sql[S__COUNT] = {
#define X(name, sql) sql,
  STMTS(X)
#undef X
};

typedef struct sq {
  store_t base;
  sqlite3 *db;
  sqlite3_stmt *st[S__COUNT];
  sqlite3_stmt *ust[SQU_STMTS_MAX];       /* sqlite_usage.c */
  sqlite3_stmt *wst[SQW_STMTS_MAX];       /* sqlite_wallet.c */
  sqlite3_stmt *gst[SQG_STMTS_MAX];       /* sqlite_grp.c */
  sqlite3_stmt *rst[SQR_STMTS_MAX];       /* sqlite_rel.c */
  struct sqmsg *msg;             /* sqlite_msg.c state, created on first use */
  struct sqdefer *defer;         /* sqlite_defer.c sums, created on first use */
  struct sqlogin *login;         /* sqlite_login.c state, created on first use */
} sq_t;

static int map_rc(int rc)
{
  switch (rc & 0xff) {
  case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return 0;
  case SQLITE_BUSY: case SQLITE_LOCKED: return IMC_E_BUSY;
  case SQLITE_CONSTRAINT: return IMC_E_EXISTS;
  case SQLITE_NOMEM: return IMC_E_NOMEM;
  case SQLITE_TOOBIG: return IMC_E_TOOBIG;
  default: return IMC_E_IO;
  }
}

/* *slot prepared from sql on first use, then reset; its bindings are kept. */
static sqlite3_stmt *prepared_reset(sqlite3 *db, sqlite3_stmt **slot, const char *sql)
{
  if (!*slot && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) return NULL;
  sqlite3_reset(*slot);
  return *slot;
}

sqlite3_stmt *sq__prepared(store_t *s, sqlite3_stmt **slot, const char *sql)
{
  sqlite3_stmt *st = prepared_reset(((sq_t *)s)->db, slot, sql);
  if (st) sqlite3_clear_bindings(st);
  return st;
}

/* Prepared (cached) statement, reset and with bindings cleared. */
static sqlite3_stmt *stmt(sq_t *q, int id) { return sq__prepared(&q->base, &q->st[id], stmt_sql[id]); }

/* The same without clearing the bindings, for a caller that binds every
 * parameter before each step and leaves no pointer bound after it (a
 * login's import: sqlite3_clear_bindings was ~190 instructions a statement). */
static sqlite3_stmt *stmt_bound(sq_t *q, int id) { return prepared_reset(q->db, &q->st[id], stmt_sql[id]); }

void sq__bind_text(sqlite3_stmt *s, int i, const char *v)
{
  if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(s, i);
}

int sq__run(sqlite3_stmt *s)
{
  if (!s) return IMC_E_IO;
  int rc = sqlite3_step(s);
  int r = map_rc(rc);
  sqlite3_reset(s);
  return r;
}

#define Q(s) ((sq_t *)(s))

sqlite3 *sq__db(store_t *s) { return Q(s)->db; }
struct sqmsg **sq__msg_slot(store_t *s) { return &Q(s)->msg; }
struct sqdefer **sq__defer_slot(store_t *s) { return &Q(s)->defer; }
struct sqlogin **sq__login_slot(store_t *s) { return &Q(s)->login; }
int sq__map_rc(int rc) { return map_rc(rc); }

/* The database whose sync failed in this process (store_db_keep_wal), "" while none: one per process in a
 * server; a test that breaks a second one names it instead (the first's connections closed before). */
static pthread_mutex_t keep_wal_mu = PTHREAD_MUTEX_INITIALIZER;
static char keep_wal_path[4096];

void store_db_keep_wal(const char *path)
{
  if (!path || !*path) return;
  pthread_mutex_lock(&keep_wal_mu);
  snprintf(keep_wal_path, sizeof keep_wal_path, "%s", path);
  pthread_mutex_unlock(&keep_wal_mu);
}

void sq__close_db(sqlite3 *db)
{
  const char *path = db ? sqlite3_db_filename(db, "main") : NULL;
  pthread_mutex_lock(&keep_wal_mu);
  int keep = path && *keep_wal_path && !strcmp(path, keep_wal_path);
  pthread_mutex_unlock(&keep_wal_mu);
  /* the last connection to close would checkpoint: it takes the frames an earlier copy reached as copied and
   * synced, syncs the database once more and then deletes or truncates the WAL */
  if (keep) sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
  sqlite3_close(db);
}

static void sq_close(store_t *s)
{
  sq_t *q = Q(s);
  for (int i = 0; i < S__COUNT; i++) sqlite3_finalize(q->st[i]);
  for (int i = 0; i < SQU_STMTS_MAX; i++) sqlite3_finalize(q->ust[i]);
  for (int i = 0; i < SQW_STMTS_MAX; i++) sqlite3_finalize(q->wst[i]);
  for (int i = 0; i < SQG_STMTS_MAX; i++) sqlite3_finalize(q->gst[i]);
  for (int i = 0; i < SQR_STMTS_MAX; i++) sqlite3_finalize(q->rst[i]);
  sq__msg_free(q->msg);
  sq__defer_free(q->defer);
  sq__login_free(q->db, q->login);
  sq__close_db(q->db);
  free(q);
}

/* The transaction statements the writer and the readers run per batch and
 * per job: prepared once instead of parsed by sqlite3_exec every time. */
static const int txn_stmts[] = { S_TXN_SAVEPOINT, S_TXN_RELEASE, S_TXN_ROLLBACK_TO, S_TXN_BEGIN_IMM, S_TXN_COMMIT,
                                 S_TXN_BEGIN, S_TXN_ROLLBACK };

static int sq_exec(store_t *s, const char *sql)
{
  int was_autocommit = sqlite3_get_autocommit(Q(s)->db), rc;
  if (!strncmp(sql, "ROLLBACK", 8)) { /* cached next sequences and account numbers may be gone */
    sq__msg_rollback(Q(s)->msg);
    sq__login_rollback(s);
  } else if ((rc = sq__msg_flush(s))) return rc; /* held C2C rows go into the scope they were made in */
  if ((rc = sq__defer_before(s, sql))) return rc; /* sums due first */
  size_t i = 0, n = sizeof txn_stmts / sizeof txn_stmts[0];
  while (i < n && strcmp(sql, stmt_sql[txn_stmts[i]])) i++;
  rc = i < n ? sq__run(stmt(Q(s), txn_stmts[i])) : map_rc(sqlite3_exec(Q(s)->db, sql, NULL, NULL, NULL));
  sq__defer_after(s, sql, rc == 0, was_autocommit);
  return rc;
}

static int sq_data_version(store_t *s, uint64_t *v)
{
  sqlite3_stmt *st = stmt(Q(s), S_DATA_VERSION);
  if (!st) return IMC_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *v = (uint64_t)sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : map_rc(rc);
}

int sq__copy_col(sqlite3_stmt *s, int col, char *buf, size_t cap)
{
  const unsigned char *t = sqlite3_column_text(s, col);
  size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;
  if (n + 1 > cap) return IMC_E_TOOBIG;
  memcpy(buf, t ? (const char *)t : "", n);
  buf[n] = 0;
  return 0;
}

static int sq_meta_get(store_t *s, const char *key, char *buf, size_t cap)
{
  sqlite3_stmt *st = stmt(Q(s), S_META_GET);
  if (!st) return IMC_E_IO;
  sq__bind_text(st, 1, key);
  int rc = sqlite3_step(st);
  int r = rc == SQLITE_ROW ? sq__copy_col(st, 0, buf, cap) : rc == SQLITE_DONE ? IMC_E_NOTFOUND : map_rc(rc);
  sqlite3_reset(st);
  return r;
}

static int sq_meta_set(store_t *s, const char *key, const char *value)
{
  sqlite3_stmt *st = stmt(Q(s), S_META_SET);
  if (!st) return IMC_E_IO;
  sq__bind_text(st, 1, key);
  sq__bind_text(st, 2, value);
  return sq__run(st);
}

static int sq_customer_create(store_t *s, const char *name, int64_t now_s, int64_t *id)
{
  sqlite3_stmt *st = stmt(Q(s), S_CUST_INS);
  if (!st) return IMC_E_IO;
  sq__bind_text(st, 1, name);
  sqlite3_bind_int64(st, 2, now_s);
  int rc = sq__run(st);
  if (!rc) *id = sqlite3_last_insert_rowid(Q(s)->db);
  return rc;
}

static void row_customer(sqlite3_stmt *st, store_customer_t *c)
{
  c->id = sqlite3_column_int64(st, 0);
  sq__copy_col(st, 1, c->name, sizeof c->name);
  c->created_at_s = sqlite3_column_int64(st, 2);
}

static int sq_customer_get(store_t *s, int64_t id, store_customer_t *out)
{
  sqlite3_stmt *st = stmt(Q(s), S_CUST_GET);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) row_customer(st, out);
  int r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? IMC_E_NOTFOUND : map_rc(rc);
  sqlite3_reset(st);
  return r;
}

static int sq_customer_list(store_t *s, store_customer_cb cb, void *ud)
{
  sqlite3_stmt *st = stmt(Q(s), S_CUST_LIST);
  int rc;
  if (!st) return IMC_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_customer_t c;
    row_customer(st, &c);
    cb(ud, &c);
  }
  sqlite3_reset(st);
  return map_rc(rc);
}

static int sq_customer_first_app_created(store_t *s, int64_t customer_id, int64_t *created)
{
  sqlite3_stmt *st = stmt(Q(s), S_CUST_FIRST);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, customer_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *created = sqlite3_column_type(st, 0) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : map_rc(rc);
}


static int sq_app_insert(store_t *s, const store_app_t *a)
{
  sqlite3_stmt *st = stmt(Q(s), S_APP_INS);
  char *admins = sq__admins_json(a);
  if (!st || !admins) { free(admins); return st ? IMC_E_NOMEM : IMC_E_IO; }
  sqlite3_bind_int64(st, 1, a->sdkappid);
  sqlite3_bind_int64(st, 2, a->customer_id);
  sq__bind_text(st, 3, a->name);
  sq__bind_text(st, 4, a->secret_key);
  sq__bind_text(st, 5, admins);
  sq__bind_text(st, 6, a->region);
  sqlite3_bind_int64(st, 7, a->created_at_s);
  sq__bind_text(st, 8, a->scheme);
  sq__bind_text(st, 9, a->edition);
  sq__bind_text(st, 10, a->status[0] ? a->status : "active");
  int rc = sq__run(st);
  free(admins);
  return rc;
}


static void row_app(sqlite3_stmt *st, store_app_t *a)
{
  memset(a, 0, sizeof *a);
  a->sdkappid = (uint32_t)sqlite3_column_int64(st, 0);
  a->customer_id = sqlite3_column_int64(st, 1);
  sq__copy_col(st, 2, a->name, sizeof a->name);
  sq__copy_col(st, 3, a->secret_key, sizeof a->secret_key);
  sq__admins_read((const char *)sqlite3_column_text(st, 4), (size_t)sqlite3_column_bytes(st, 4), a);
  sq__copy_col(st, 5, a->region, sizeof a->region);
  a->created_at_s = sqlite3_column_int64(st, 6);
  sq__copy_col(st, 7, a->scheme, sizeof a->scheme);
  sq__copy_col(st, 8, a->edition, sizeof a->edition);
  sq__copy_col(st, 9, a->status, sizeof a->status);
}

static int sq_app_get(store_t *s, uint32_t sdkappid, store_app_t *out)
{
  sqlite3_stmt *st = stmt(Q(s), S_APP_GET);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) row_app(st, out);
  int r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? IMC_E_NOTFOUND : map_rc(rc);
  sqlite3_reset(st);
  return r;
}

static int sq_app_list(store_t *s, int64_t customer_id, store_app_cb cb, void *ud)
{
  sqlite3_stmt *st = stmt(Q(s), S_APP_LIST);
  int rc;
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, customer_id);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_app_t a;
    row_app(st, &a);
    cb(ud, &a);
  }
  sqlite3_reset(st);
  return map_rc(rc);
}

static int sq_app_get_many(store_t *s, const uint32_t *ids, size_t n, store_app_cb cb, void *ud)
{
  if (n > 100000 || !sq__ids_ascending(ids, n)) return IMC_E_INVAL;
  if (!n) return 0;
  int len = 0, range = sq__ids_dense(ids, n);
  char *list = range ? NULL : sq__id_list(ids, n, &len);
  if (!range && !list) return IMC_E_NOMEM;
  sqlite3_stmt *st = stmt(Q(s), range ? S_APP_RANGE : S_APP_MANY);
  if (!st) { free(list); return IMC_E_IO; }
  if (range) {
    sqlite3_bind_int64(st, 1, ids[0]);
    sqlite3_bind_int64(st, 2, ids[n - 1]);
  } else {
    sqlite3_bind_text(st, 1, list, len, SQLITE_STATIC);
  }
  int rc;
  size_t at = 0;
  store_app_t a;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (range) { /* an app of the range that is not asked for is skipped before its row is read */
      uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
      while (at < n && ids[at] < id) at++;
      if (at == n || ids[at] != id) continue;
    }
    row_app(st, &a);
    cb(ud, &a);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  free(list);
  return map_rc(rc);
}

static int sq_app_next_sdkappid(store_t *s, uint32_t *out)
{
  sqlite3_stmt *st = stmt(Q(s), S_APP_MAX);
  if (!st) return IMC_E_IO;
  int rc = sqlite3_step(st);
  int64_t max = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL ? sqlite3_column_int64(st, 0) : 1400000000;
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return map_rc(rc);
  if (max < 1400000000) max = 1400000000;
  if (max >= UINT32_MAX) return IMC_E_RANGE;
  *out = (uint32_t)(max + 1);
  return 0;
}

static int sq_app_set(store_t *s, uint32_t sdkappid, const char *field, const char *value)
{
  static const struct { const char *field; int stmt; } fields[] = {
    { "status", S_APP_SET_STATUS }, { "edition", S_APP_SET_EDITION },
    { "scheme", S_APP_SET_SCHEME }, { "name", S_APP_SET_NAME },
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (strcmp(field, fields[i].field)) continue;
    sqlite3_stmt *st = stmt(Q(s), fields[i].stmt);
    if (!st) return IMC_E_IO;
    sqlite3_bind_int64(st, 1, sdkappid);
    sq__bind_text(st, 2, value);
    int rc = sq__run(st);
    if (!rc && sqlite3_changes(Q(s)->db) == 0) rc = IMC_E_NOTFOUND;
    return rc;
  }
  return IMC_E_INVAL;
}

static int sq_account_get(store_t *s, uint32_t sdkappid, const char *user_id, uint32_t *user_no)
{
  sqlite3_stmt *st = stmt(Q(s), S_ACC_GET);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  sq__bind_text(st, 2, user_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *user_no = (uint32_t)sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? IMC_E_NOTFOUND : map_rc(rc);
}

int sq__app_next_user(store_t *s, uint32_t sdkappid, int64_t *no)
{
  sqlite3_stmt *st = stmt_bound((sq_t *)s, S_APP_NEXT_USER);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *no = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE) return IMC_E_NOTFOUND; /* no such app */
  return rc == SQLITE_ROW ? 0 : map_rc(rc);
}

/* Called inside a transaction (the writer's batch or an autocommit wrapper). */
static int account_import_txn(sq_t *q, uint32_t sdkappid, const char *user_id, const char *nick, const char *face,
                              int64_t now_s, uint32_t *user_no)
{
  int rc;
  if (nick || face) { /* an existing account takes the profile fields */
    if (!(rc = sq_account_get(&q->base, sdkappid, user_id, user_no))) {
      sqlite3_stmt *st = stmt(q, S_ACC_UPD);
      if (!st) return IMC_E_IO;
      sqlite3_bind_int64(st, 1, sdkappid);
      sq__bind_text(st, 2, user_id);
      sq__bind_text(st, 3, nick);
      sq__bind_text(st, 4, face);
      return sq__run(st);
    }
    if (rc != IMC_E_NOTFOUND) return rc;
  }
  /* Without profile fields (a login's import) the INSERT comes first: its
   * own key check finds an existing account (DO NOTHING, then read), so a
   * new one costs no lookup before it (5,400 instructions). */
  /* the next number: above every account's and every deleted account's
   * (migration 29), read without writing the app row (rewriting it per new
   * account was a sixth of a new user's login in the writer) */
  sqlite3_stmt *st;
  int64_t no = 0;
  if (!sq__login_next_no(&q->base, sdkappid, &no) && /* once per write transaction and app (sqlite_login.c) */
      (rc = sq__app_next_user(&q->base, sdkappid, &no)))
    return rc;
  if (no <= 0 || no > UINT32_MAX) return IMC_E_RANGE;
  st = stmt_bound(q, S_ACC_INS);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC); /* not copied: unbound again right after the step */
  sqlite3_bind_int64(st, 3, no);
  sq__bind_text(st, 4, nick);
  sq__bind_text(st, 5, face);
  sqlite3_bind_int64(st, 6, now_s);
  rc = sq__run(st);
  sqlite3_bind_null(st, 2); /* the statement keeps no pointer to the caller's string (nick, face: copies) */
  if (rc) return rc;
  if (!sqlite3_changes(q->db)) return sq_account_get(&q->base, sdkappid, user_id, user_no); /* it exists */
  sq__login_next_no_set(&q->base, sdkappid, no + 1);
  /* the registration (metering), in the same transaction; written here, not
   * by a trigger: a trigger made the INSERT a statement transaction with its
   * own sub-journal, half of a new account's cost (migration 23) */
  if (!(st = stmt_bound(q, S_ACC_REG))) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  sqlite3_bind_int64(st, 2, no);
  sqlite3_bind_int64(st, 3, now_s);
  if ((rc = sq__run(st))) return rc;
  /* its UTC day's count (usage_reg_day, migration 49: app info's running total adds days), summed in memory and
   * written once per app and day before the COMMIT (sqlite_defer.c): an upsert per account cost 5,100 instructions */
  if (sqlite3_changes(q->db) && (rc = sq__defer_reg(&q->base, sdkappid, (int32_t)(now_s / 86400 - (now_s % 86400 < 0)))))
    return rc;
  *user_no = (uint32_t)no;
  return 0;
}

static int sq_account_import(store_t *s, uint32_t sdkappid, const char *user_id, const char *nick, const char *face,
                             int64_t now_s, uint32_t *user_no)
{
  sq_t *q = Q(s);
  int own = sqlite3_get_autocommit(q->db); /* not inside a caller's transaction: make one */
  if (own && sq_exec(s, "BEGIN IMMEDIATE")) return IMC_E_BUSY;
  int rc = account_import_txn(q, sdkappid, user_id, nick, face, now_s, user_no);
  if (own) { if (rc || sq_exec(s, "COMMIT")) { sq_exec(s, "ROLLBACK"); rc = rc ? rc : IMC_E_IO; } }
  return rc;
}

static int sq_account_delete(store_t *s, uint32_t sdkappid, const char *user_id)
{
  /* in this order: each reads the account's peers (SQ_ACC_PEERS_OF), the trim's pairs among them */
  static const int steps[] = { S_ACC_DEL_PEER_ROWS, S_ACC_DEL_PEER_LOG, S_ACC_DEL_TRIMMED_OF, S_ACC_DEL_TRIMMED };
  uint32_t no = 0;
  int rc = sq__msg_flush(s); /* held C2C rows first: the peers' rows below may be among them */
  if (!rc && !(rc = s->vt->account_get(s, sdkappid, user_id, &no))) {
    for (size_t k = 0; k < sizeof steps / sizeof steps[0] && !rc; k++) {
      sqlite3_stmt *d = stmt(Q(s), steps[k]);
      if (!d) return IMC_E_IO;
      sqlite3_bind_int64(d, 1, sdkappid);
      sqlite3_bind_int64(d, 2, no);
      rc = sq__run(d);
    }
  }
  if (rc) return rc; /* IMC_E_NOTFOUND: no such account */
  sqlite3_stmt *st = stmt(Q(s), S_ACC_DEL);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  sq__bind_text(st, 2, user_id);
  rc = sq__run(st);
  if (!rc && sqlite3_changes(Q(s)->db) == 0) rc = IMC_E_NOTFOUND;
  return rc;
}

static int count1(sq_t *q, int id, int64_t a, int64_t b, int64_t *n)
{
  sqlite3_stmt *st = stmt(q, id);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, a);
  sqlite3_bind_int64(st, 2, b);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : map_rc(rc);
}

static int sq_account_count(store_t *s, uint32_t sdkappid, int64_t *n) { return count1(Q(s), S_ACC_COUNT, sdkappid, 0, n); }

static int account_rows(store_t *s, int id, uint32_t sdkappid, store_account_cb cb, void *ud)
{
  sqlite3_stmt *st = stmt(Q(s), id);
  int rc;
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, (const char *)sqlite3_column_text(st, 0), (uint32_t)sqlite3_column_int64(st, 1));
  sqlite3_reset(st);
  return map_rc(rc);
}

static int sq_account_each(store_t *s, uint32_t sdkappid, store_account_cb cb, void *ud)
{
  return account_rows(s, S_ACC_EACH, sdkappid, cb, ud);
}

static int sq_account_gone_each(store_t *s, uint32_t sdkappid, store_account_cb cb, void *ud)
{
  return account_rows(s, S_ACC_GONE_EACH, sdkappid, cb, ud);
}

static int sq_usage_dau(store_t *s, uint32_t sdkappid, int32_t day, int64_t *n) { return count1(Q(s), S_USAGE_DAU, sdkappid, day, n); }

/* ---- kicks ---------------------------------------------------------------------- */
static int sq_kick_set(store_t *s, uint32_t sdkappid, uint32_t user_no, int64_t at_s)
{
  sqlite3_stmt *st = stmt(Q(s), S_KICK_SET);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, sdkappid);
  sqlite3_bind_int64(st, 2, user_no);
  sqlite3_bind_int64(st, 3, at_s);
  return sq__run(st);
}

static int sq_kick_each(store_t *s, store_kick_cb cb, void *ud)
{
  sqlite3_stmt *st = stmt(Q(s), S_KICK_EACH);
  int rc;
  if (!st) return IMC_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    cb(ud, (uint32_t)sqlite3_column_int64(st, 0), (uint32_t)sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
  sqlite3_reset(st);
  return map_rc(rc);
}

static int sq_in_transaction(store_t *s) { return !sqlite3_get_autocommit(Q(s)->db); }

/* ---- change log ----------------------------------------------------------------- */
static int sq_changes_last(store_t *s, int64_t *seq) { return count1(Q(s), S_CHANGES_LAST, 0, 0, seq); }

static int sq_changes_since(store_t *s, int64_t after, int limit, store_change_cb cb, void *ud)
{
  if (limit < 1) return IMC_E_INVAL;
  sqlite3_stmt *st = stmt(Q(s), S_CHANGES_SINCE);
  if (!st) return IMC_E_IO;
  sqlite3_bind_int64(st, 1, after);
  sqlite3_bind_int64(st, 2, limit);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_change_t c;
    c.seq = sqlite3_column_int64(st, 0);
    if (sq__copy_col(st, 1, c.kind, sizeof c.kind) || sq__copy_col(st, 2, c.key, sizeof c.key)) continue; /* not ours: skip */
    cb(ud, &c);
  }
  sqlite3_reset(st);
  return map_rc(rc);
}

static const store_vtab_t sqlite_vtab = {
  1, "sqlite", sq_close, sq_exec, sq_data_version, sq_meta_get, sq_meta_set,
  sq_customer_create, sq_customer_get, sq_customer_list, sq_customer_first_app_created,
  sq_app_insert, sq_app_get, sq_app_list, sq_app_next_sdkappid, sq_app_set,
  sq_account_import, sq_account_delete, sq_account_get, sq_account_count, sq_account_each,
  sq__usage_login, sq_usage_dau,
  sqw_wallet_balance, sqw_ledger_append, sqw_ledger_each,
  sq_kick_set, sq_kick_each,
  sq_in_transaction, sq_changes_last, sq_changes_since,
  sqw_order_insert, sqw_order_get_ref, sqw_order_each,
  squ_login_each, squ_add, squ_max, squ_event, squ_day_each, squ_group, squ_group_each,
  squ_import_doc, squ_import_put, squ_import_count, squ_registrations,
  squ_bill_insert, squ_bill_get, squ_bill_each,
  &sq__msg_vtab,
  &sq__grp_vtab,
  &sq__rel_vtab,
  squ_bill_corrections, squ_bill_recheck_each, squ_bill_recheck_done, squ_bill_month_apps,
  squ_apps_each, sq_app_get_many,
  sq__defer_add,
  sq_account_gone_each,
  squ_registered,
  squ_group_last,
  squ_bill_recheck_add,
};

sqlite3 *store__sqlite_db(store_t *s) { return Q(s)->db; }

int store_cache_set_kib(store_t *s, int64_t kib)
{
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA cache_size=-%lld", (long long)kib);
  return sqlite3_exec(store__sqlite_db(s), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : IMC_E_IO;
}

/* A one-integer PRAGMA's value, 0 if it cannot be read. */
static int64_t pragma_i64(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  int64_t v = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

int64_t store_cache_kib(store_t *s)
{
  sqlite3 *db = store__sqlite_db(s);
  int64_t v = pragma_i64(db, "PRAGMA cache_size");
  return v < 0 ? -v : v * pragma_i64(db, "PRAGMA page_size") / 1024; /* negative: KiB; positive: pages */
}
sqlite3_stmt **store__sqlite_ucache(store_t *s) { return Q(s)->ust; }
sqlite3_stmt **store__sqlite_wcache(store_t *s) { return Q(s)->wst; }
sqlite3_stmt **store__sqlite_gcache(store_t *s) { return Q(s)->gst; }
sqlite3_stmt **store__sqlite_rcache(store_t *s) { return Q(s)->rst; }

/* SQLite's allocation statistics take a global mutex on every malloc and
 * free (SQLITE_CONFIG_MEMSTATUS, on by default): 2-3 % of the server's CPU in
 * a login storm. Nothing here reads them. sqlite3_config must precede
 * SQLite's initialisation (the first open); later it is a no-op. */
static pthread_once_t memstatus_once = PTHREAD_ONCE_INIT;
static void memstatus_off(void)
{
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  sq__pcache_install(); /* no sweep of the page cache per COMMIT (sqlite_pcache.h) */
}

/* reader: an existing, migrated database; query_only refuses every write */
static int open_db(const char *data_dir, int reader, store_t **out)
{
  pthread_once(&memstatus_once, memstatus_off);
  char path[4096];
  snprintf(path, sizeof path, "%s/imcloud.db", data_dir);
  sq_t *q = calloc(1, sizeof *q);
  if (!q) return IMC_E_NOMEM;
  q->base.vt = &sqlite_vtab;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (reader ? 0 : SQLITE_OPEN_CREATE);
  /* writing connections: one write call per COMMIT, not two per page (sqlite_vfs.h) */
  if (sqlite3_open_v2(path, &q->db, flags, reader ? NULL : sq__vfs_name()) != SQLITE_OK) {
    sqlite3_close(q->db);
    free(q);
    return IMC_E_IO;
  }
  sqlite3_busy_timeout(q->db, 5000);
  int rc, version = 0;
  if (reader) {
    rc = map_rc(sqlite3_exec(q->db, "PRAGMA query_only=ON; PRAGMA foreign_keys=ON;", NULL, NULL, NULL));
    if (!rc) rc = sq__schema_read(q->db, &version);
    if (!rc && version != sq__schema_version) rc = IMC_E_CONFIG;
  } else {
    /* Writing connection (the writer thread, the CLI). Measured with
     * bench/c2c_store_bench (docs/BENCHMARKS.md): temp_store=MEMORY keeps
     * each job's SAVEPOINT sub-journal in memory (by default it spills to a
     * temporary file past 64 KiB and then every later page of the batch is
     * written there too); a 64 MiB page cache holds a group commit's dirty
     * pages without spilling them into the WAL mid-transaction; checkpoints
     * every 16,384 WAL pages (64 MiB) instead of 1,000 copy each hot page
     * to the database file less often. Together: 78 KB → 2.2 KB written
     * and 172 → 47 µs of CPU per message. The server's writer turns the
     * auto-checkpoint off and checkpoints between batches instead, at the
     * same threshold (store_ckpt.h); the CLI keeps it. */
    rc = map_rc(sqlite3_exec(q->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                             " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=16384;",
                             NULL, NULL, NULL));
    if (!rc) rc = sq__content_fn(q->db);
    if (!rc) rc = sq__migrate(q->db);
    /* No dirty page is written to the WAL before its transaction commits.
     * SQLite 3.40 (Debian 12's) loses a committed transaction on recovery
     * when a transaction spilled pages into the WAL, rolled back to a
     * savepoint and then committed: the WAL's checksum chain breaks there,
     * and recovery drops that commit and every later one. The writer rolls
     * a failed job back to its savepoint inside a batch, so a batch past the
     * page cache would have been exposed (test_store test_no_spill_loss).
     * The cost: a transaction's dirty pages stay in memory however many
     * there are (the writer's batches and the bill run's transactions are
     * capped; migrations above, which use no savepoints, may still spill). */
    if (!rc) rc = map_rc(sqlite3_exec(q->db, "PRAGMA cache_spill=OFF", NULL, NULL, NULL));
  }
  if (rc) { sq_close(&q->base); return rc; }
  *out = &q->base;
  return 0;
}

int store_open(const char *data_dir, store_t **out) { return open_db(data_dir, 0, out); }
int store_open_reader(const char *data_dir, store_t **out) { return open_db(data_dir, 1, out); }
