/* e2e_damage.h — damage a stored row in a stopped server's SQLite file
 * (docs/decisions/messaging-c2c-checks3.md §88, §90): e2e_damage(srv, sql,
 * app, random) runs sql with ?1 = app and ?2 = random on srv's
 * imcloud.db and fails the test unless it changed exactly one row. The
 * server must be stopped (e2e_server_stop). E2E_C2C_DAMAGE(body) and
 * E2E_GRP_DAMAGE(gid, body) are such statements: a one-to-one message's
 * body, or a body of group gid, by the message's random, set to a literal.
 * e2e_damage_bill(srv, number) tears the document of a stored bill or
 * correction past the immutability trigger (§91, §107).
 * Test-only. */
#ifndef IMC_TESTS_E2E_DAMAGE_H
#define IMC_TESTS_E2E_DAMAGE_H

#include <sqlite3.h>
#include <stdio.h>

#include "e2e.h"

static inline void e2e_damage(const e2e_server_t *srv, const char *sql, uint32_t app, int64_t random)
{
  char path[300];
  sqlite3 *db;
  sqlite3_stmt *st;
  snprintf(path, sizeof path, "%s/imcloud.db", srv->dir);
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
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
  char path[300], sql[600];
  sqlite3 *db;
  snprintf(path, sizeof path, "%s/imcloud.db", srv->dir);
  snprintf(sql, sizeof sql,
           "DROP TRIGGER bills_no_update; UPDATE bills SET body='{\"edition\":\"torn' WHERE number='%s';"
           "CREATE TRIGGER bills_no_update BEFORE UPDATE ON bills BEGIN SELECT RAISE(ABORT, 'bills are immutable'); END;",
           number);
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_total_changes(db), 1); /* the one document torn */
  sqlite3_close(db);
}

#define E2E_C2C_DAMAGE(body) "UPDATE c2c_msg SET body='" body "' WHERE sdkappid=?1 AND random=?2"
#define E2E_GRP_DAMAGE(gid, body)                                                                                  \
  "UPDATE grp_msg SET body='" body "' WHERE sdkappid=?1 AND random=?2 AND group_no="                             \
  "(SELECT group_no FROM grp WHERE sdkappid=?1 AND group_id='" gid "')"

#endif
