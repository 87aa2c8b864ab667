/* e2e_damage.h — damage a stored row in a stopped server's SQLite file
 * (docs/decisions/messaging-c2c-checks3.md §88, §90): e2e_damage(srv, sql,
 * app, random) runs sql with ?1 = app and ?2 = random on srv's
 * imcloud.db and fails the test unless it changed exactly one row. The
 * server must be stopped (e2e_server_stop). E2E_C2C_DAMAGE(body) and
 * E2E_GRP_DAMAGE(gid, body) are such statements: a one-to-one message's
 * body, or a body of group gid, by the message's random, set to a literal.
 * e2e_damage_bill(srv, number) tears the document of a stored bill or
 * correction past the immutability trigger (§91, §107);
 * e2e_damage_bill_restart does it between a stop and a start of srv.
 * e2e_db_int reads one number from the database (a running server's too:
 * WAL), e2e_log_line looks for a server log line holding given words.
 * Test-only. */
#ifndef IMC_TESTS_E2E_DAMAGE_H
#define IMC_TESTS_E2E_DAMAGE_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

/* srv's database, opened with flags (SQLITE_OPEN_READWRITE or READONLY), waiting up to 5 s for the server's lock. */
static inline sqlite3 *e2e_db_open(const e2e_server_t *srv, int flags)
{
  char path[300];
  sqlite3 *db;
  snprintf(path, sizeof path, "%s/imcloud.db", srv->dir);
  assert_int_equal(sqlite3_open_v2(path, &db, flags, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  return db;
}

static inline void e2e_damage(const e2e_server_t *srv, const char *sql, uint32_t app, int64_t random)
{
  sqlite3 *db = e2e_db_open(srv, SQLITE_OPEN_READWRITE);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, app);
  sqlite3_bind_int64(st, 2, random);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  assert_int_equal(sqlite3_changes(db), 1);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* The stored document of bill (or correction) `number` torn to text that does not parse, as disk damage or a
 * manual edit would leave it: the immutability trigger is dropped for the update and made again. */
static inline void e2e_damage_bill(const e2e_server_t *srv, const char *number)
{
  char sql[600];
  snprintf(sql, sizeof sql,
           "DROP TRIGGER bills_no_update; UPDATE bills SET body='{\"edition\":\"torn' WHERE number='%s';"
           "CREATE TRIGGER bills_no_update BEFORE UPDATE ON bills BEGIN SELECT RAISE(ABORT, 'bills are immutable'); END;",
           number);
  sqlite3 *db = e2e_db_open(srv, SQLITE_OPEN_READWRITE);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_total_changes(db), 1); /* the one document torn */
  sqlite3_close(db);
}

/* Stop srv, tear document `number`, start srv again: on the test clock from `day` (YYYY-MM-DD), or on the
 * real clock without options when day is NULL. */
static inline void e2e_damage_bill_restart(e2e_server_t *srv, const char *number, const char *day)
{
  const char *const clock[] = { "--test-clock", "--test-clock-start", day, NULL };
  assert_int_equal(e2e_server_stop(srv), 0);
  e2e_damage_bill(srv, number);
  assert_int_equal(e2e_server_start(srv, day ? clock : NULL), 0);
}

/* The first column of the first row of sql (a count) on srv's database. */
static inline int64_t e2e_db_int(const e2e_server_t *srv, const char *sql)
{
  sqlite3 *db = e2e_db_open(srv, SQLITE_OPEN_READONLY);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/* 1 if one line of srv's log holds every one of the words w[0..n). */
static inline int e2e_log_line(const e2e_server_t *srv, const char *const *w, size_t n)
{
  char *log = e2e_server_log(srv);
  int found = 0;
  for (char *l = log; l && *l && !found;) {
    char *nl = strchr(l, '\n');
    if (nl) *nl = 0;
    found = 1;
    for (size_t i = 0; i < n && found; i++) found = strstr(l, w[i]) != NULL;
    l = nl ? nl + 1 : l + strlen(l);
  }
  free(log);
  return found;
}

/* The warning of §107: the damaged document restated by a correction, both named. */
static inline int e2e_damage_restated_warned(const e2e_server_t *srv, const char *damaged, const char *restated_by)
{
  const char *const w[] = { "level=warn", "event=bill_damaged_restated", damaged, restated_by };
  return e2e_log_line(srv, w, 4);
}

#define E2E_C2C_DAMAGE(body) "UPDATE c2c_msg SET body='" body "' WHERE sdkappid=?1 AND random=?2"
#define E2E_GRP_DAMAGE(gid, body)                                                                                  \
  "UPDATE grp_msg SET body='" body "' WHERE sdkappid=?1 AND random=?2 AND group_no="                             \
  "(SELECT group_no FROM grp WHERE sdkappid=?1 AND group_id='" gid "')"

#endif
