/* Unit tests for the in-memory meter (src/meter core.c, uset.c, groups.c):
 * pure, no I/O, time passed in. Day boundaries in UTC+8 (23:59:59 vs
 * 00:00:00 local), duplicates, late events and the 35-day window, month
 * rollover, the roaring → bitset switch, the peak DAU date, group figures,
 * the live counters and their flush. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "meter/meter.h"
#include "util/date.h"
#include "util/err.h"

#define APP 1400000001u
#define TZ IMC_TZ_CHINA_S

/* unix seconds of a local (UTC+8) time */
static int64_t local(int y, int mo, int d, int h, int mi, int s)
{
  return imc_day_start(imc_days_from_civil(y, mo, d), TZ) + h * 3600 + mi * 60 + s;
}

static void test_day_boundary(void **st)
{
  (void)st;
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  /* 23:59:59 on 30 Nov local is 15:59:59 UTC; 00:00:00 on 1 Dec local is 16:00:00 UTC */
  assert_int_equal(meter_login(m, APP, 1, local(2026, 11, 30, 23, 59, 59)), 1);
  assert_int_equal(meter_login(m, APP, 1, local(2026, 12, 1, 0, 0, 0)), 1); /* a new day, a new month */
  assert_int_equal(meter_dau(m, APP, 20261130), 1);
  assert_int_equal(meter_dau(m, APP, 20261201), 1);
  assert_int_equal(local(2026, 12, 1, 0, 0, 0) % 86400, 16 * 3600);
  meter_month_t mo;
  meter_month(m, APP, 202611, &mo);
  assert_int_equal(mo.mau, 1);
  meter_month(m, APP, 202612, &mo);
  assert_int_equal(mo.mau, 1);
  meter_free(m);
}

static void test_duplicates_and_months(void **st)
{
  (void)st;
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  int64_t t = local(2026, 10, 5, 9, 0, 0);
  assert_int_equal(meter_login(m, APP, 7, t), 1);
  assert_int_equal(meter_login(m, APP, 7, t + 10), 0);   /* P-43: the same user again that day adds nothing */
  assert_int_equal(meter_login(m, APP, 7, t + 3600), 0);
  assert_int_equal(meter_login(m, APP, 8, t), 1);
  assert_int_equal(meter_login(m, APP, 7, t + 86400), 1); /* next day: counted again for DAU … */
  assert_int_equal(meter_dau(m, APP, 20261005), 2);
  assert_int_equal(meter_dau(m, APP, 20261006), 1);
  meter_month_t mo;
  meter_month(m, APP, 202610, &mo);
  assert_int_equal(mo.mau, 2);                             /* … but once for MAU (P-52) */
  assert_int_equal(meter_login(m, APP, 0, t), IMC_E_INVAL);
  /* another app is separate */
  assert_int_equal(meter_login(m, APP + 1, 7, t), 1);
  assert_int_equal(meter_dau(m, APP + 1, 20261005), 1);
  assert_int_equal(meter_dau(m, APP, 20261005), 2);
  meter_free(m);
}

static void test_late_events(void **st)
{
  (void)st;
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  int64_t now = local(2026, 12, 31, 12, 0, 0);
  meter_advance(m, now);
  assert_int_equal(meter_login(m, APP, 1, now), 1);
  /* a late event lands in its own day, once */
  assert_int_equal(meter_login(m, APP, 2, local(2026, 12, 2, 8, 0, 0)), 1);
  assert_int_equal(meter_login(m, APP, 2, local(2026, 12, 2, 9, 0, 0)), 0);
  assert_int_equal(meter_dau(m, APP, 20261202), 1);
  assert_int_equal(meter_dau(m, APP, 20261231), 1);
  /* 35 days back (26 Nov) is accepted, 36 (25 Nov) refused and changes nothing */
  assert_int_equal(meter_login(m, APP, 3, local(2026, 11, 26, 0, 0, 0)), 1);
  assert_int_equal(meter_login(m, APP, 4, local(2026, 11, 25, 23, 59, 59)), IMC_E_METER_LATE);
  assert_int_equal(meter_dau(m, APP, 20261125), 0);
  meter_month_t mo;
  meter_month(m, APP, 202611, &mo);
  assert_int_equal(mo.mau, 1);
  meter_month(m, APP, 202612, &mo);
  assert_int_equal(mo.mau, 2);
  /* when now moves on, old days leave memory; their late events are refused */
  meter_advance(m, local(2027, 1, 10, 0, 0, 0));
  assert_int_equal(meter_dau(m, APP, 20261126), 0);
  assert_int_equal(meter_dau(m, APP, 20261231), 1);
  assert_int_equal(meter_login(m, APP, 9, local(2026, 12, 5, 23, 59, 59)), IMC_E_METER_LATE); /* 36 days before 10 Jan */
  assert_int_equal(meter_login(m, APP, 9, local(2026, 12, 6, 0, 0, 0)), 1);                    /* 35 days */
  meter_free(m);
}

static void test_peak_dau_date(void **st)
{
  (void)st;
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  static const int dau[] = { 3, 5, 2, 5, 1 }; /* 1–5 Nov; peak 5 first on the 2nd */
  uint32_t u = 1;
  for (int d = 0; d < 5; d++)
    for (int i = 0; i < dau[d]; i++) assert_int_equal(meter_login(m, APP, u + (uint32_t)i, local(2026, 11, d + 1, 10, 0, 0)), 1);
  meter_month_t mo;
  meter_month(m, APP, 202611, &mo);
  assert_int_equal(mo.peak_dau, 5);
  assert_int_equal(mo.peak_dau_date, 20261102);
  assert_int_equal(mo.mau, 5);
  meter_month(m, APP, 202610, &mo);
  assert_int_equal(mo.peak_dau, 0);
  assert_int_equal(mo.peak_dau_date, 0);
  meter_free(m);
}

static void test_uset_switch(void **st)
{
  (void)st;
  meter_uset_t dense = { 0 }, sparse = { 0 };
  for (uint32_t x = 1; x <= 20000; x++) assert_int_equal(meter_uset_add(&dense, x), 1);
  assert_true(meter_uset_is_flat(&dense));                /* 20,000 of 20,001 numbers: flat */
  assert_int_equal(dense.card, 20000);
  for (uint32_t x = 1; x <= 20000; x += 7) assert_int_equal(meter_uset_add(&dense, x), 0);
  assert_int_equal(meter_uset_add(&dense, 5000000), 1);   /* the flat set grows */
  assert_true(meter_uset_has(&dense, 5000000));
  assert_false(meter_uset_has(&dense, 4999999));
  assert_int_equal(dense.card, 20001);
  for (uint32_t i = 0; i < 20000; i++) assert_int_equal(meter_uset_add(&sparse, i * 1000 + 1), 1);
  assert_false(meter_uset_is_flat(&sparse));              /* 20,000 of 20,000,000: roaring */
  assert_int_equal(meter_uset_add(&sparse, 1001), 0);
  assert_true(meter_uset_has(&sparse, 19999001));
  assert_false(meter_uset_has(&sparse, 2));
  assert_true(meter_uset_bytes(&sparse) < 20000 * 4);
  assert_int_equal(sparse.card, 20000);
  meter_uset_free(&dense);
  meter_uset_free(&sparse);
  /* a small flat set that meets one far number goes sparse, keeping its members */
  meter_uset_t s = { 0 };
  for (uint32_t x = 1; x <= 100; x++) assert_int_equal(meter_uset_add(&s, x), 1);
  assert_true(meter_uset_is_flat(&s));
  assert_int_equal(meter_uset_add(&s, 9000000), 1);
  assert_false(meter_uset_is_flat(&s));
  for (uint32_t x = 1; x <= 100; x++) assert_int_equal(meter_uset_add(&s, x), 0);
  assert_int_equal(s.card, 101);
  meter_uset_free(&s);
  /* a set started flat (a big app's next day) takes any number */
  assert_int_equal(meter_uset_init_flat(&s, 1000000), 0);
  assert_true(meter_uset_is_flat(&s));
  assert_int_equal(meter_uset_add(&s, 999999), 1);
  assert_int_equal(meter_uset_add(&s, 999999), 0);
  assert_int_equal(s.card, 1);
  meter_uset_free(&s);
}

static void test_dau_across_switch(void **st)
{
  (void)st;
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  int64_t t = local(2026, 11, 3, 12, 0, 0);
  /* every user twice, in an order that switches mid-way; the count stays exact */
  for (uint32_t x = 1; x <= 50000; x++) assert_int_equal(meter_login(m, APP, x, t), 1);
  for (uint32_t x = 50000; x >= 1; x--) assert_int_equal(meter_login(m, APP, x, t + 1), 0);
  assert_int_equal(meter_dau(m, APP, 20261103), 50000);
  meter_month_t mo;
  meter_month(m, APP, 202611, &mo);
  assert_int_equal(mo.mau, 50000);
  /* the next day starts flat like this one: still exact */
  for (uint32_t x = 1; x <= 50000; x += 2) assert_int_equal(meter_login(m, APP, x, t + 86400), 1);
  assert_int_equal(meter_dau(m, APP, 20261104), 25000);
  meter_month(m, APP, 202611, &mo);
  assert_int_equal(mo.mau, 50000);
  meter_free(m);
}

static void test_app_zone(void **st)
{
  (void)st;
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  assert_int_equal(meter_app_tz(m, APP, 0), 0);            /* a UTC region */
  int64_t t = local(2026, 11, 30, 23, 30, 0);             /* 15:30 UTC on the 30th */
  assert_int_equal(meter_login(m, APP, 1, t + 3600), 1); /* 00:30 UTC+8 on 1 Dec is 16:30 UTC on 30 Nov */
  assert_int_equal(meter_dau(m, APP, 20261130), 1);
  assert_int_equal(meter_app_tz(m, APP, 3600), IMC_E_EXISTS);
  assert_int_equal(meter_app_tz(m, APP, 0), 0);
  assert_int_equal(meter_app_tz(m, APP + 1, 15 * 3600), IMC_E_RANGE);
  meter_free(m);
}

static void test_groups(void **st)
{
  (void)st;
  int64_t d0 = imc_days_from_civil(2026, 11, 1);
  int64_t t0 = imc_day_start(d0, TZ);
  const meter_group_iv_t iv[] = {
    { t0 - 86400, INT64_MAX, 0 },                  /* existed before the month */
    { t0 + 100, t0 + 200, 0 },                     /* day 1: +1 −1 */
    { t0 + 150, INT64_MAX, 0 },                    /* day 1: +1 → peak 3 at 150 */
    { t0 + 86400 - 1, t0 + 86400, 0 },             /* 23:59:59 → 00:00:00: peaks on day 1 only */
    { t0 + 86400, t0 + 2 * 86400 + 5, 0 },         /* day 2 created at 00:00:00 (after the dissolution) */
    { t0 + 300, INT64_MAX, 1 },                    /* live: not counted (M-4) */
    { t0 + 500, t0 + 500, 0 },                     /* never existed */
  };
  meter_group_day_t g[3];
  int64_t acc;
  assert_int_equal(meter_groups_days(iv, sizeof iv / sizeof *iv, 0, d0, 3, TZ, g, &acc), 0);
  assert_int_equal(g[0].peak, 3);
  assert_int_equal(g[0].created, 3);
  assert_int_equal(g[0].net_new, 2);
  assert_int_equal(g[1].peak, 3);   /* starts at 3 (the 23:59:59 one), −1 then +1 at 00:00:00 */
  assert_int_equal(g[1].net_new, 0);
  assert_int_equal(g[2].peak, 3);
  assert_int_equal(g[2].net_new, -1);
  assert_int_equal(g[0].end, 3);
  assert_int_equal(g[2].end, 2);
  assert_int_equal(acc, 5);
  assert_int_equal(meter_groups_days(iv, sizeof iv / sizeof *iv, 1, d0, 3, TZ, g, &acc), 0);
  assert_int_equal(g[0].peak, 1);
  assert_int_equal(acc, 1);
}

typedef struct got { int n; meter_delta_t d[16]; } got_t;
static void collect(void *ud, const meter_delta_t *d) { got_t *g = ud; if (g->n < 16) g->d[g->n++] = *d; }
static const meter_delta_t *find(const got_t *g, const char *metric, int32_t day)
{
  for (int i = 0; i < g->n; i++) if (!strcmp(g->d[i].metric, metric) && g->d[i].day == day) return &g->d[i];
  return NULL;
}

static void test_live_counters_flush(void **st)
{
  (void)st;
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  int64_t t = local(2026, 11, 3, 12, 0, 0);
  for (int i = 0; i < 5; i++) assert_int_equal(meter_rest_call(m, APP, t), 0);
  assert_int_equal(meter_conn(m, APP, +1, t), 0);
  assert_int_equal(meter_conn(m, APP, +1, t), 0);
  assert_int_equal(meter_conn(m, APP, +1, t), 0);
  assert_int_equal(meter_conn(m, APP, -1, t), 0);
  assert_int_equal(meter_conn_now(m, APP), 2);
  assert_int_equal(meter_conn_peak(m, APP, 20261103), 3);
  /* M-5: 1,000,000 bytes in one second = 8,000,000 bit/s; then a quieter second */
  assert_int_equal(meter_live_bytes(m, APP, 600000, t), 0);
  assert_int_equal(meter_live_bytes(m, APP, 400000, t), 0);
  assert_int_equal(meter_live_bytes(m, APP, 10, t + 1), 0);
  assert_int_equal(meter_bw_peak_bps(m, APP, 20261103), 8000000);
  got_t g = { 0 };
  meter_flush(m, t + 2, collect, &g);
  assert_int_equal(g.n, 3);
  assert_int_equal(find(&g, METER_M_REST_CALLS, 20261103)->value, 5);
  assert_true(find(&g, METER_M_REST_CALLS, 20261103)->additive);
  assert_int_equal(find(&g, METER_M_CONN_PEAK, 20261103)->value, 3);
  assert_int_equal(find(&g, METER_M_BW_PEAK_BPS, 20261103)->value, 8000000);
  assert_int_equal(meter_mbps(8000000), 8);
  assert_int_equal(meter_mbps(8000001), 9);
  /* nothing new: nothing flushed; a failed write given back is sent again */
  g.n = 0;
  meter_flush(m, t + 3, collect, &g);
  assert_int_equal(g.n, 0);
  meter_rest_call(m, APP, t + 3);
  meter_flush(m, t + 4, collect, &g);
  assert_int_equal(g.n, 1);
  meter_unflush(m, &g.d[0]);
  g.n = 0;
  meter_flush(m, t + 5, collect, &g);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.d[0].value, 1);
  /* a day that leaves memory before a flush keeps its pending values */
  meter_rest_call(m, APP, t + 6);
  meter_advance(m, t + 40 * 86400);
  g.n = 0;
  meter_flush(m, t + 40 * 86400, collect, &g);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.d[0].day, 20261103);
  assert_int_equal(g.d[0].value, 1);
  meter_free(m);
}

static void test_restore(void **st)
{
  (void)st;
  meter_t *m;
  assert_int_equal(meter_create(TZ, &m), 0);
  meter_advance(m, local(2026, 12, 10, 12, 0, 0));
  /* 1 Nov is outside the window (5 Nov onwards) but November is still in memory: MAU only */
  assert_int_equal(meter_restore_login(m, APP, 1, 20261101), 0);
  assert_int_equal(meter_restore_login(m, APP, 2, 20261120), 0);
  assert_int_equal(meter_restore_login(m, APP, 2, 20261120), 0);
  assert_int_equal(meter_restore_login(m, APP, 3, 20261001), 0); /* October left memory */
  assert_int_equal(meter_dau(m, APP, 20261101), 0);
  assert_int_equal(meter_dau(m, APP, 20261120), 1);
  meter_month_t mo;
  meter_month(m, APP, 202611, &mo);
  assert_int_equal(mo.mau, 2);
  /* after the rebuild a live login of a counted user is a duplicate */
  assert_int_equal(meter_login(m, APP, 2, local(2026, 11, 20, 18, 0, 0)), 0);
  assert_int_equal(meter_restore_peak(m, APP, 20261209, METER_M_CONN_PEAK, 40), 0);
  assert_int_equal(meter_conn(m, APP, +1, local(2026, 12, 9, 13, 0, 0)), 0);
  assert_int_equal(meter_conn_peak(m, APP, 20261209), 40);
  got_t g = { 0 };
  meter_flush(m, local(2026, 12, 10, 12, 0, 1), collect, &g);
  assert_int_equal(g.n, 0); /* the stored peak is not re-sent */
  meter_free(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_day_boundary),
    cmocka_unit_test(test_duplicates_and_months),
    cmocka_unit_test(test_late_events),
    cmocka_unit_test(test_peak_dau_date),
    cmocka_unit_test(test_uset_switch),
    cmocka_unit_test(test_dau_across_switch),
    cmocka_unit_test(test_app_zone),
    cmocka_unit_test(test_groups),
    cmocka_unit_test(test_live_counters_flush),
    cmocka_unit_test(test_restore),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
