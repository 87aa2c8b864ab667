/* sqlite_migrate.c — running the migrations (sqlite_schema.c) at open. The
 * scripts a database has not run yet run together in one transaction: one
 * sync for a new database's whole schema, not one per script, and an upgrade
 * that fails, or whose process is killed, leaves the database at the version
 * it had (its tables and user_version unchanged; the next start runs them all
 * again). An upgrade — a database at version 1 or more — says what it does on
 * the log (module store, level info): a line when it starts, one per script
 * with its time, one when it committed with the whole time; a failure names
 * the script and SQLite's message (error, whatever the level). A new
 * database's schema is one debug line. While the scripts run, SQLite's
 * temporary files are files whatever the connection's temp_store (the
 * writer's is MEMORY): a script's UPDATE keeps the original of every page it
 * changes in a statement journal, which in memory grew with the table
 * (migration 54 over 3 M group messages: +290 MB of RSS). The connection's
 * setting is put back after. docs/decisions/messaging-c2c-checks4.md §94. */
#include "store/sqlite_int.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>

int sq__schema_read(sqlite3 *db, int *version)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return IMC_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : sq__map_rc(rc);
}

/* one error line: the step that failed (a script's version, or what), SQLite's message, the version kept */
static void failed(sqlite3 *db, const char *step, int from)
{
  char q[256];
  IMC_ERROR("store", "msg=\"schema migration failed\" step=%s err=%s kept=%d", step, imc_log_q(q, sizeof q, sqlite3_errmsg(db)),
            from);
}

static long long ms_since(int64_t t0) { return (long long)(imc_clock_mono_ms() - t0); }

/* the pending scripts from `from` on, inside the caller's transaction: 0, or -1 (logged) */
static int run_scripts(sqlite3 *db, int from)
{
  for (int v = from; v < sq__schema_version; v++) {
    int64_t t = imc_clock_mono_ms();
    if (sqlite3_exec(db, sq__migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
      char step[16];
      snprintf(step, sizeof step, "%d", v + 1);
      failed(db, step, from);
      return -1;
    }
    if (from) IMC_INFO("store", "msg=\"schema migration\" version=%d ms=%lld", v + 1, ms_since(t));
  }
  char set[64];
  snprintf(set, sizeof set, "PRAGMA user_version=%d", sq__schema_version);
  if (sqlite3_exec(db, set, NULL, NULL, NULL) != SQLITE_OK) {
    failed(db, "user_version", from);
    return -1;
  }
  return 0;
}

static int newer(int version)
{
  IMC_ERROR("store", "msg=\"database schema newer than this binary\" version=%d binary=%d", version, sq__schema_version);
  return IMC_E_CONFIG;
}

/* PRAGMA temp_store's value (0 default, 1 file, 2 memory), -1 if it cannot be read */
static int temp_store(sqlite3 *db)
{
  sqlite3_stmt *st;
  int v = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA temp_store", -1, &st, NULL) != SQLITE_OK) return -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* the scripts from `from` on, the write lock held (BEGIN IMMEDIATE): ends the transaction */
static int migrate(sqlite3 *db, int from)
{
  int64_t t0 = imc_clock_mono_ms();
  if (from) IMC_INFO("store", "msg=\"migrating schema\" from=%d to=%d", from, sq__schema_version);
  int rc = run_scripts(db, from);
  int64_t tc = imc_clock_mono_ms();
  if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    failed(db, "commit", from);
    rc = -1;
  }
  if (rc) {
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return IMC_E_IO;
  }
  if (from) IMC_INFO("store", "msg=\"schema migrated\" from=%d to=%d ms=%lld commit_ms=%lld", from, sq__schema_version,
                     ms_since(t0), ms_since(tc));
  else IMC_DEBUG("store", "msg=\"schema created\" version=%d ms=%lld", sq__schema_version, ms_since(t0));
  return 0;
}

/* under the write lock: the version read again (another process may have migrated while we waited for the lock) */
static int locked(sqlite3 *db)
{
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return IMC_E_BUSY;
  int from = 0, rc = sq__schema_read(db, &from);
  if (rc || from >= sq__schema_version) {
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc ? IMC_E_IO : from > sq__schema_version ? newer(from) : 0;
  }
  return migrate(db, from);
}

int sq__migrate(sqlite3 *db)
{
  int from = 0;
  if (sq__schema_read(db, &from)) return IMC_E_IO;
  if (from > sq__schema_version) return newer(from);
  if (from == sq__schema_version) return 0;
  /* set outside the transaction (a change drops the temporary schema; there is none at open), put back after */
  int kept = temp_store(db);
  if (kept != 1 && sqlite3_exec(db, "PRAGMA temp_store=FILE", NULL, NULL, NULL) != SQLITE_OK) return IMC_E_IO;
  int rc = locked(db);
  char set[32];
  snprintf(set, sizeof set, "PRAGMA temp_store=%d", kept);
  if (kept >= 0 && kept != 1 && sqlite3_exec(db, set, NULL, NULL, NULL) != SQLITE_OK && !rc) rc = IMC_E_IO;
  return rc;
}
