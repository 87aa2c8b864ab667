/* End-to-end: kill -9 in the middle of the server's stepped jobs (the
 * monthly bill run and the day change go in writer transactions of
 * --day-batch apps; src/api/jobs.c), then a restart finishes each job
 * exactly once. Each test sets up 30 apps in the data directory, starts the
 * server on the test clock with --day-batch 1 (30 steps per pass: under CPU
 * contention 15 steps of 2 were all done before the test got the lock), moves the
 * clock over the job without waiting for the reply, and once at least one
 * step has committed takes the database's write lock itself (the server's
 * next step then waits for it), checks that the job is part-way, kills the
 * server with SIGKILL and restarts it on the same day, where the job runs
 * again at start-up:
 *  - the October bill run of 30 legacy apps (1,000 元 each; the wallet
 *    covers 10): after the restart every app has exactly one October bill,
 *    the numbers run gap-free from IMC-2026-10-000001, bills 1–10 are paid
 *    by one `payment` each and the rest are open, the balance is 0, and the
 *    usage rows of October are the same rows as before; then late usage
 *    raises every app's October: the day change of 2 November, killed
 *    part-way through its correction steps, issues after the restart exactly
 *    one correction per bill, numbered on in the same gap-free series;
 *  - the day change of 1 November for 30 pro apps on auto-renew whose
 *    October package ends: after the restart each app has exactly one
 *    renewal, the wallet has exactly one debit per order and its balance is
 *    the top-up minus the orders' prices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "meter/meter.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"

/* The kill lands after the first step of 15, whatever the count: the
 * properties (each app billed or renewed once, numbers gap-free, the
 * wallet's cover ending part-way through the run) hold at any size. */
#define NAPPS 30
#define NPAID (NAPPS / 3) /* bills the top-up covers */
#define TZ (8 * 3600)

static e2e_server_t srv;
static char auth[160];

static int64_t day_of(int y, int m, int d) { return imc_days_from_civil(y, m, d); }
static int64_t start_of(int y, int m, int d) { return imc_day_start(day_of(y, m, d), TZ); }

/* An integer from one SQL query on the data directory's database. */
static int64_t q1(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* The same, or -1 when the query fails (a read without a lock may meet one). */
static int64_t peek(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  return v;
}

static sqlite3 *db_open(void)
{
  char path[400];
  snprintf(path, sizeof path, "%s/imcloud.db", srv.dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 20000);
  return db;
}

/* Lines of the server log that contain both a and b. */
static int log_count(const char *a, const char *b)
{
  char *log = e2e_server_log(&srv);
  int n = 0;
  for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n"))
    n += strstr(line, a) && strstr(line, b);
  free(log);
  return n;
}

/* Wait until the server logs a run of job (`job ran` or `job failed`) beyond
 * `seen` runs so far. */
static void wait_job(const char *job, int seen)
{
  char key[64];
  snprintf(key, sizeof key, "job=%s ", job);
  for (int i = 0; i < 6000; i++) { /* a sanitizer build on a busy box takes minutes for 600 steps */
    if (log_count(key, "msg=\"job ran\"") > seen) return;
    usleep(50 * 1000);
  }
  char *log = e2e_server_log(&srv);
  fail_msg("no run of %s in 300 s; log:\n%s", job, log ? log : "");
}

/* A data directory with customer 1 and the operator token (before any server). */
static void dir_with_customer(void)
{
  char out[512];
  e2e_dir_init(&srv);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "customer create --name first --json"), 0);
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "operator token --json"), 0);
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", json_string_value(json_object_get(j, "token")));
  json_decref(j);
}

static void start_on(const char *date)
{
  const char *args[] = { "--test-clock", "--test-clock-start", date, "--day-batch", "1", NULL };
  if (e2e_server_start(&srv, args)) {
    char *log = e2e_server_log(&srv);
    fail_msg("server did not start:\n%s", log ? log : "");
  }
}

/* Send the clock move and leave its reply unread (the reply comes when every
 * job on the way has run): the connection, closed by the caller. */
static int clock_move_async(const char *now)
{
  char body[96], req[512];
  snprintf(body, sizeof body, "{\"now\":\"%s\"}", now);
  snprintf(req, sizeof req, "POST /operator/v1/clock HTTP/1.1\r\nHost: t\r\n%sContent-Type: application/json\r\n"
           "Content-Length: %zu\r\n\r\n%s", auth, strlen(body), body);
  int fd = e2e_connect(srv.port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, req, strlen(req)), 0);
  return fd;
}

/* As soon as `progress` (a count query) is at least 1, hold the write lock
 * (the server's next step then waits for it), check that the job is part-way
 * (0 < progress < total) and kill the server; then release the lock. Until
 * a read (which takes no lock: WAL) sees the first step, nothing is locked:
 * a lock held while the server works on earlier jobs of the clock move (the
 * bill run before the day change) makes their steps wait in SQLite's busy
 * handler, which sleeps up to 100 ms between tries. Then the lock is tried
 * without waiting, again and again: the server's steps follow each other
 * closely, and a waiting BEGIN would only get in after the last one. */
static void kill_part_way(const char *progress, int64_t total)
{
  sqlite3 *db = db_open();
  sqlite3_busy_timeout(db, 0);
  int64_t n = 0;
  for (time_t end = time(NULL) + 120; time(NULL) < end && peek(db, progress) <= 0;) usleep(500);
  for (time_t end = time(NULL) + 120; time(NULL) < end;) {
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) { sched_yield(); continue; }
    if ((n = q1(db, progress)) > 0) break;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  }
  if (n <= 0 || n >= total) fail_msg("the job was not part-way when the lock was taken: %lld of %lld", (long long)n, (long long)total);
  e2e_server_kill(&srv);
  fprintf(stderr, "killed with %lld of %lld done\n", (long long)n, (long long)total);
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(db);
}

/* An app of customer 1 created on 1 October (00:00, UTC+8), written straight into the database. */
static store_app_t add_app(store_t *s, const char *scheme, const char *edition)
{
  store_app_t a = { 0 };
  assert_int_equal(store_app_next_sdkappid(s, &a.sdkappid), 0);
  a.customer_id = 1;
  strcpy(a.name, "bulk"); strcpy(a.secret_key, "0123456789abcdef"); strcpy(a.region, "china");
  snprintf(a.scheme, sizeof a.scheme, "%s", scheme);
  snprintf(a.edition, sizeof a.edition, "%s", edition);
  a.created_at_s = start_of(2026, 10, 1);
  assert_int_equal(store_app_insert(s, &a), 0);
  return a;
}

/* The usage rows of October: count and sum over the three usage tables. */
static void usage_fingerprint(sqlite3 *db, int64_t out[2])
{
  out[0] = q1(db, "SELECT (SELECT count(*) FROM usage_import WHERE day/100=202610)+(SELECT count(*) FROM usage_day"
                  " WHERE day/100=202610)+(SELECT count(*) FROM usage_login WHERE day/100=202610)");
  out[1] = q1(db, "SELECT (SELECT coalesce(sum(value),0) FROM usage_import WHERE day/100=202610)+(SELECT"
                  " coalesce(sum(value),0) FROM usage_day WHERE day/100=202610)");
}

static void test_kill_during_bill_run(void **st)
{
  (void)st;
  dir_with_customer();
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < NAPPS; i++) { /* legacy apps created on 1 October: billed on imported peak DAU, 1,000 元 each */
    store_app_t a = add_app(s, "legacy", "legacy");
    int64_t doc;
    assert_int_equal(store_usage_import_doc(s, a.sdkappid, 202610, "test", "{}", 1, &doc), 0);
    assert_int_equal(store_usage_import_put(s, a.sdkappid, 20261003, METER_M_DAU, 4000 + i, doc), 0);
    assert_int_equal(store_usage_import_put(s, a.sdkappid, 20261017, METER_M_DAU, 9000, doc), 0);
  }
  store_ledger_t e;
  assert_int_equal(tenant_wallet_post(s, 1, 1, TENANT_LEDGER_TOPUP, NPAID * 100000, "top-up", "t1", start_of(2026, 10, 1), &e), 0);
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);

  start_on("2026-10-31");
  wait_job("day", 0); /* the start-up jobs (September: nothing to bill) */
  sqlite3 *db = db_open();
  int64_t before[2];
  usage_fingerprint(db, before);
  assert_int_equal(before[0], 2 * NAPPS);
  sqlite3_close(db);
  int fd = clock_move_async("2026-11-01T00:00:00+08:00");
  kill_part_way("SELECT count(*) FROM bills WHERE month=202610", NAPPS);
  close(fd);

  int runs = log_count("job=bill_run ", "msg=\"job ran\""), days0 = log_count("job=day ", "msg=\"job ran\"");
  start_on("2026-11-01"); /* the bill run is due at start: it finishes October */
  wait_job("bill_run", runs);
  wait_job("day", days0); /* and 1 November's day job follows it: counted before the next clock move, not after */
  db = db_open();
  assert_int_equal(q1(db, "SELECT count(*) FROM bills WHERE month=202610 AND corrects=0"), NAPPS);
  assert_int_equal(q1(db, "SELECT count(DISTINCT sdkappid) FROM bills WHERE month=202610"), NAPPS);
  assert_int_equal(q1(db, "SELECT count(*) FROM bills"), NAPPS); /* no correction, no other month */
  assert_int_equal(q1(db, "SELECT min(seq) FROM bills"), 1);
  assert_int_equal(q1(db, "SELECT max(seq) FROM bills"), NAPPS); /* gap-free */
  assert_int_equal(q1(db, "SELECT count(*) FROM bills WHERE number<>printf('IMC-2026-10-%06d', seq)"), 0);
  assert_int_equal(q1(db, "SELECT count(*) FROM bills WHERE postpaid_fen<>100000 OR total_fen<>100000"), 0);
  /* the wallet paid bills 1..NPAID, each once, and nothing else */
  assert_int_equal(q1(db, "SELECT count(*) FROM ledger WHERE kind='payment'"), NPAID);
  assert_int_equal(q1(db, "SELECT count(DISTINCT reference) FROM ledger WHERE kind='payment'"), NPAID);
  char paid_sql[200];
  snprintf(paid_sql, sizeof paid_sql, "SELECT count(*) FROM ledger l JOIN bills b ON l.reference='bill-'||b.number"
           " WHERE l.kind='payment' AND b.seq<=%d AND l.amount_fen=-100000", NPAID);
  assert_int_equal(q1(db, paid_sql), NPAID);
  assert_int_equal(q1(db, "SELECT balance_fen FROM ledger ORDER BY id DESC LIMIT 1"), 0);
  int64_t after[2];
  usage_fingerprint(db, after);
  assert_int_equal(after[0], before[0]);
  assert_int_equal(after[1], before[1]);
  sqlite3_close(db);
  /* the server's own reading: the bill of the last app is open, the first paid */
  char out[4096];
  assert_int_equal(e2e_cli(&srv, out, sizeof out, "bill --sdkappid 1400000001 --month 2026-10 --json"), 0);
  json_t *b = json_loads(out, 0, NULL);
  assert_non_null(b);
  assert_string_equal(json_string_value(json_object_get(b, "status")), "paid");
  assert_string_equal(json_string_value(json_object_get(b, "number")), "IMC-2026-10-000001");
  json_decref(b);

  /* late October usage for every app (peak DAU 15,000: 2,000 元): the day change of 2 November issues 30
   * corrections of +1,000 元 in steps of 2 queued months; killed part-way, the start-up day change finishes */
  store_t *s2;
  assert_int_equal(store_open(srv.dir, &s2), 0);
  assert_int_equal(store_exec(s2, "BEGIN IMMEDIATE"), 0);
  for (uint32_t app = 1400000001; app < 1400000001 + NAPPS; app++) {
    int64_t doc;
    assert_int_equal(store_usage_import_doc(s2, app, 202610, "late", "{}", 2, &doc), 0);
    assert_int_equal(store_usage_import_put(s2, app, 20261017, METER_M_DAU, 15000, doc), 0);
  }
  assert_int_equal(store_exec(s2, "COMMIT"), 0);
  store_close(s2);
  db = db_open();
  assert_int_equal(q1(db, "SELECT count(*) FROM bill_recheck"), NAPPS);
  sqlite3_close(db);
  int days = log_count("job=day ", "msg=\"job ran\"");
  fd = clock_move_async("2026-11-02T00:00:00+08:00");
  kill_part_way("SELECT count(*) FROM bills WHERE corrects>0", NAPPS);
  close(fd);
  start_on("2026-11-02");
  wait_job("day", days);
  db = db_open();
  assert_int_equal(q1(db, "SELECT count(*) FROM bill_recheck"), 0);
  assert_int_equal(q1(db, "SELECT count(*) FROM bills WHERE corrects>0"), NAPPS);
  assert_int_equal(q1(db, "SELECT count(DISTINCT corrects) FROM bills WHERE corrects>0"), NAPPS); /* one per bill */
  assert_int_equal(q1(db, "SELECT count(*) FROM bills WHERE corrects>0 AND (due_fen<>100000 OR postpaid_fen<>200000)"), 0);
  assert_int_equal(q1(db, "SELECT max(seq) FROM bills"), 2 * NAPPS); /* gap-free over bills and corrections */
  assert_int_equal(q1(db, "SELECT count(*) FROM bills"), 2 * NAPPS);
  assert_int_equal(q1(db, "SELECT count(*) FROM bills WHERE number<>printf('IMC-2026-10-%06d', seq)"), 0);
  assert_int_equal(q1(db, "SELECT count(*) FROM ledger WHERE kind='payment'"), NPAID); /* the wallet is empty: nothing more paid */
  sqlite3_close(db);
}

static void test_kill_during_day_job(void **st)
{
  (void)st;
  dir_with_customer();
  store_t *s;
  assert_int_equal(store_open(srv.dir, &s), 0);
  store_ledger_t e;
  const int64_t topup = 100000000000LL; /* 10 亿元: covers every order */
  assert_int_equal(tenant_wallet_post(s, 0, 1, TENANT_LEDGER_TOPUP, topup, "top-up", "t1", start_of(2026, 10, 1), &e), 0);
  assert_int_equal(store_exec(s, "BEGIN IMMEDIATE"), 0);
  for (int i = 0; i < NAPPS; i++) { /* trial apps created on 1 October, pro from that day (to 31 October), auto-renew on */
    store_app_t a = add_app(s, "s2022", "trial");
    store_order_t o;
    int replayed;
    char err[200];
    if (tenant_app_upgrade(s, a.sdkappid, "pro", day_of(2026, 10, 1), NULL, start_of(2026, 10, 1), &o, &replayed, err, sizeof err))
      fail_msg("upgrade: %s", err);
    assert_int_equal(tenant_app_set_auto_renew(s, a.sdkappid, 1), 0);
  }
  assert_int_equal(store_exec(s, "COMMIT"), 0);
  store_close(s);

  start_on("2026-10-31");
  wait_job("day", 0); /* 31 October: the packages still run, nothing renewed */
  sqlite3 *db = db_open();
  assert_int_equal(q1(db, "SELECT count(*) FROM orders WHERE period=1"), 0);
  sqlite3_close(db);
  int days = log_count("job=day ", "msg=\"job ran\"");
  int fd = clock_move_async("2026-11-01T00:00:00+08:00");
  kill_part_way("SELECT count(*) FROM orders WHERE period=1", NAPPS); /* the day change's life-cycle steps renew */
  close(fd);
  assert_int_equal(log_count("job=day ", "msg=\"job ran\""), days); /* killed before the day change finished */

  start_on("2026-11-01"); /* the day change is due at start: it renews the others */
  wait_job("day", days);
  db = db_open();
  assert_int_equal(q1(db, "SELECT count(*) FROM orders WHERE period=1"), NAPPS);
  assert_int_equal(q1(db, "SELECT count(DISTINCT sdkappid) FROM orders WHERE period=1"), NAPPS);
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE period=1 AND start_day=%lld", (long long)day_of(2026, 11, 1));
  assert_int_equal(q1(db, sql), NAPPS); /* each the period from 1 November */
  assert_int_equal(q1(db, "SELECT count(*) FROM orders"), 2 * NAPPS);
  /* one debit per order, of its price, and the balance is the top-up minus them */
  assert_int_equal(q1(db, "SELECT count(*) FROM ledger WHERE kind='order'"), 2 * NAPPS);
  assert_int_equal(q1(db, "SELECT count(*) FROM ledger WHERE kind NOT IN ('order','topup')"), 0);
  assert_int_equal(q1(db, "SELECT count(*) FROM orders o JOIN ledger l ON l.id=o.ledger_id AND l.amount_fen=-o.price_fen"),
                   2 * NAPPS);
  int64_t spent = q1(db, "SELECT sum(price_fen) FROM orders");
  assert_true(spent > 0);
  assert_int_equal(q1(db, "SELECT balance_fen FROM ledger ORDER BY id DESC LIMIT 1"), topup - spent);
  assert_int_equal(q1(db, "SELECT -sum(amount_fen) FROM ledger WHERE kind='order'"), spent);
  sqlite3_close(db);
}

static int teardown(void **st)
{
  (void)st;
  return e2e_finish(&srv);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_kill_during_bill_run, teardown),
    cmocka_unit_test_teardown(test_kill_during_day_job, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
