/* report.c — one app's month of usage from storage (meter.h meter_report):
 * DAU and MAU from the durable login rows (M-2, M-3), group figures from the
 * groups' lives (M-4), daily counters and peaks from usage_day, new accounts
 * from usage_reg, merged with
 * imported figures (docs/metering.md "Imported usage"). */
#include "meter/meter.h"
#include "meter/meter_int.h"
#include "store/store.h"
#include "util/date.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

int64_t meter_mbps(int64_t bps) { return bps <= 0 ? 0 : (bps + 999999) / 1000000; } /* M-5: a started Mbps counts */

typedef struct rep_ctx {
  meter_report_t *r;
  meter_uset_t mau;
  int rc;
  meter_group_iv_t *iv;
  size_t niv, cap;
  /* imported month-level figures */
  int64_t imp_mau, imp_peak_dau, imp_peak_groups;
  int64_t imp_calls[METER_CALL_KINDS];
  int64_t first_day;           /* the month's first day (days since the epoch) */
  int64_t groups_until_s;      /* the month's end in the app's zone: lives created before it count */
} rep_ctx_t;

static meter_day_row_t *row_of(rep_ctx_t *c, int32_t day)
{
  int dd = day % 100;
  return day / 100 == c->r->month && dd >= 1 && dd <= c->r->ndays ? &c->r->days[dd - 1] : NULL;
}

static void on_login(void *ud, uint32_t app, int32_t day, uint32_t user_no)
{
  (void)app;
  rep_ctx_t *c = ud;
  meter_day_row_t *d = row_of(c, day);
  if (d) d->dau++; /* rows are unique per (app, day, user) */
  if (meter_uset_add(&c->mau, user_no) < 0) c->rc = IMC_E_NOMEM;
}

/* Metered daily rows: counters and peaks. */
static void on_day(void *ud, int32_t day, const char *metric, int64_t v)
{
  rep_ctx_t *c = ud;
  meter_day_row_t *d = row_of(c, day);
  if (!d) return;
  static const struct { const char *metric; size_t off; } fields[] = {
    { METER_M_C2C_MSGS, offsetof(meter_day_row_t, c2c_msgs) },
    { METER_M_GROUP_MSGS, offsetof(meter_day_row_t, group_msgs) },
    { METER_M_REST_CALLS, offsetof(meter_day_row_t, rest_calls) },
    { METER_M_REGISTRATIONS, offsetof(meter_day_row_t, registrations) },
    { METER_M_CONN_PEAK, offsetof(meter_day_row_t, conn_peak) },
  };
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    if (!strcmp(metric, fields[i].metric)) { *(int64_t *)((char *)d + fields[i].off) = v; return; }
  if (!strcmp(metric, METER_M_BW_PEAK_BPS)) { d->bandwidth_peak_mbps = meter_mbps(v); return; }
  for (int k = 0; k < METER_CALL_KINDS; k++)
    if (!strcmp(metric, meter_call_metric(k))) { d->call_minutes[k] = v; return; }
}

static void raise_to(int64_t *field, int64_t v, int *imported)
{
  if (v > *field) { *field = v; *imported = 1; }
}

/* Imported rows: set-like figures merged by max; month-level call minutes
 * added to the metered ones (they are minutes the meter never saw). */
static void on_import(void *ud, int32_t day, const char *metric, int64_t v)
{
  rep_ctx_t *c = ud;
  if (day % 100 == 0) {
    if (!strcmp(metric, METER_M_MAU)) c->imp_mau = v;
    /* peaks: the document's month figure, and for a bill also the days' maximum (STORE_USAGE_IMPORT_MAX) */
    else if (!strcmp(metric, "peak_dau")) c->imp_peak_dau = v > c->imp_peak_dau ? v : c->imp_peak_dau;
    else if (!strcmp(metric, "peak_groups")) c->imp_peak_groups = v > c->imp_peak_groups ? v : c->imp_peak_groups;
    else if (!strcmp(metric, "c2c_roaming_months")) c->r->c2c_roaming_months = v;
    else if (!strcmp(metric, "history_days")) c->r->history_days = v;
    else for (int k = 0; k < METER_CALL_KINDS; k++) if (!strcmp(metric, meter_call_metric(k))) c->imp_calls[k] = v;
    return;
  }
  meter_day_row_t *d = row_of(c, day);
  if (!d) return;
  if (!strcmp(metric, METER_M_DAU)) raise_to(&d->dau, v, &d->imported);
  else if (!strcmp(metric, METER_M_GROUPS)) raise_to(&d->groups, v, &d->imported);
  else if (!strcmp(metric, METER_M_BW_MBPS)) raise_to(&d->bandwidth_peak_mbps, v, &d->imported);
}

static void on_group(void *ud, int live, int64_t created, int64_t dissolved)
{
  rep_ctx_t *c = ud;
  if (c->niv == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    meter_group_iv_t *n = realloc(c->iv, cap * sizeof *n);
    if (!n) { c->rc = IMC_E_NOMEM; return; }
    c->iv = n;
    c->cap = cap;
  }
  c->iv[c->niv++] = (meter_group_iv_t){ created, dissolved, live };
}

/* The group figures of the month from the lives in c->iv (M-4); frees them. */
static int groups(rep_ctx_t *c)
{
  meter_report_t *r = c->r;
  meter_group_day_t g[31], lg[31];
  int64_t acc, live_acc;
  int rc = c->rc;
  if (!rc && !c->niv) return 0; /* no lives: the figures stay the 0 of rep_begin (imports are merged after this) */
  if (!rc) rc = meter_groups_days(c->iv, c->niv, 0, c->first_day, r->ndays, r->tz_offset_s, g, &acc);
  if (!rc) rc = meter_groups_days(c->iv, c->niv, 1, c->first_day, r->ndays, r->tz_offset_s, lg, &live_acc);
  free(c->iv);
  c->iv = NULL;
  c->niv = c->cap = 0;
  if (rc) return rc;
  for (int i = 0; i < r->ndays; i++) {
    r->days[i].groups = g[i].peak;
    r->days[i].net_new_groups = g[i].net_new;
    r->days[i].live_groups_peak = lg[i].peak;
    r->days[i].groups_created = g[i].created;
    r->days[i].groups_end = g[i].end;
  }
  r->accumulated_groups = acc;
  return 0;
}

int meter_report(store_t *s, uint32_t app, int32_t yyyymm, int default_tz, meter_report_t *out)
{
  int y = yyyymm / 100, mo = yyyymm % 100;
  if (mo < 1 || mo > 12 || y < 1970 || y > 9999) return IMC_E_INVAL;
  int tz, rc = meter_app_zone(s, app, default_tz, &tz);
  return rc ? rc : meter__report_tz(s, app, yyyymm, tz, 0, out);
}

/* An empty report of app's month yyyymm in zone tz, and its reading state. */
static void rep_begin(rep_ctx_t *c, meter_report_t *r, uint32_t app, int32_t yyyymm, int tz)
{
  int y = yyyymm / 100, mo = yyyymm % 100;
  memset(r, 0, sizeof *r);
  memset(c, 0, sizeof *c);
  c->r = r;
  r->app = app;
  r->month = yyyymm;
  r->tz_offset_s = tz;
  r->ndays = imc_days_in_month(y, mo);
  for (int i = 0; i < r->ndays; i++) r->days[i].date = yyyymm * 100 + i + 1;
  c->first_day = imc_days_from_civil(y, mo, 1);
  c->groups_until_s = imc_day_start(c->first_day + r->ndays, tz);
}

/* The login rows are read: MAU is the set's size (M-3); the set is dropped. */
static void mau_close(rep_ctx_t *c)
{
  c->r->mau = (int64_t)c->mau.card;
  meter_uset_free(&c->mau);
}

/* The month's figures from the days, merged with the imported month-level
 * ones; frees what c holds. rc: the reading's result (freed all the same). */
static int rep_end(rep_ctx_t *c, int rc)
{
  meter_report_t *r = c->r;
  meter_uset_free(&c->mau);
  free(c->iv);
  c->iv = NULL;
  if (!rc) rc = c->rc;
  if (rc) return rc;
  for (int i = 0; i < r->ndays; i++) {
    const meter_day_row_t *d = &r->days[i];
    if (d->dau > r->peak_dau) { r->peak_dau = d->dau; r->peak_dau_date = d->date; } /* the first day reaching it */
    if (d->groups > r->peak_groups) r->peak_groups = d->groups;
    r->bandwidth_mbps_days += d->bandwidth_peak_mbps;
    r->c2c_msgs += d->c2c_msgs;
    r->group_msgs += d->group_msgs;
    for (int k = 0; k < METER_CALL_KINDS; k++) r->call_minutes[k] += d->call_minutes[k];
  }
  if (c->imp_peak_dau > r->peak_dau) { r->peak_dau = c->imp_peak_dau; r->peak_dau_date = 0; } /* day unknown */
  if (c->imp_peak_groups > r->peak_groups) r->peak_groups = c->imp_peak_groups;
  if (c->imp_mau > r->mau) r->mau = c->imp_mau;
  for (int k = 0; k < METER_CALL_KINDS; k++) r->call_minutes[k] += c->imp_calls[k];
  return 0;
}

static void on_import_row(void *ud, const store_usage_row_t *row) { on_import(ud, row->day, row->metric, row->value); }

int meter__report_tz(store_t *s, uint32_t app, int32_t yyyymm, int tz, int for_bill, meter_report_t *out)
{
  rep_ctx_t c;
  rep_begin(&c, out, app, yyyymm, tz);
  meter_report_t *r = out;
  int32_t first = yyyymm * 100 + 1, last = yyyymm * 100 + r->ndays;
  int64_t ndocs = 0;
  int rc = store_usage_login_each(s, app, first, last, on_login, &c);
  mau_close(&c);
  if (!rc) rc = c.rc;
  if (!rc) rc = store_usage_day_each(s, 0, app, first, last, on_day, &c);
  if (!rc && !for_bill)
    rc = store_usage_registrations(s, app, imc_day_start(c.first_day, tz), c.groups_until_s, tz, on_day, &c);
  if (!rc) rc = store_usage_group_each(s, app, c.groups_until_s, on_group, &c);
  if (!rc) rc = groups(&c);
  if (!rc && for_bill) { /* imported daily DAU and groups as their month's maximum (what a bill prices) */
    rc = store_usage_apps_each(s, STORE_USAGE_IMPORT_BILL, &app, 1, yyyymm * 100, last, on_import_row, &c);
    if (!rc) rc = store_usage_apps_each(s, STORE_USAGE_IMPORT_MAX, &app, 1, yyyymm * 100, last, on_import_row, &c);
  } else if (!rc) {
    rc = store_usage_day_each(s, 1, app, yyyymm * 100, last, on_import, &c);
  }
  if (!rc && !for_bill) rc = store_usage_import_count(s, app, yyyymm, &ndocs);
  if ((rc = rep_end(&c, rc))) return rc;
  r->imported_docs = (int)ndocs;
  return 0;
}

int meter__report_days(store_t *s, uint32_t app, int32_t yyyymm, int tz, int from_dd, int to_dd, meter_report_t *out)
{
  rep_ctx_t c;
  rep_begin(&c, out, app, yyyymm, tz);
  meter_report_t *r = out;
  if (from_dd < 1) from_dd = 1;
  if (to_dd > r->ndays) to_dd = r->ndays;
  int32_t first = yyyymm * 100 + from_dd, last = yyyymm * 100 + to_dd;
  int rc = store_usage_login_each(s, app, first, last, on_login, &c);
  mau_close(&c);
  if (!rc) rc = c.rc;
  if (!rc) rc = store_usage_day_each(s, 0, app, first, last, on_day, &c);
  if (!rc) rc = store_usage_group_each(s, app, c.groups_until_s, on_group, &c);
  if (!rc) rc = groups(&c);
  for (int i = 0; !rc && i < r->ndays; i++) /* the group figures of the days outside the range */
    if (i + 1 < from_dd || i + 1 > to_dd) {
      int32_t date = r->days[i].date;
      memset(&r->days[i], 0, sizeof r->days[i]);
      r->days[i].date = date;
    }
  /* imported daily rows of the range; the undated month-level ones (day 00) with the first day */
  if (!rc) rc = store_usage_day_each(s, 1, app, from_dd == 1 ? yyyymm * 100 : first, last, on_import, &c);
  return rep_end(&c, rc);
}

/* ---- a batch of apps: one statement per usage table ----------------------------- */
typedef struct batch {
  rep_ctx_t *c;                /* one per app, in the order of apps */
  const uint32_t *apps;
  size_t n, at;                /* at: the app whose rows arrive (rows come grouped by app, ascending) */
  store_usage_table_t table;
} batch_t;

/* The app a scan has finished with: its set of users is counted (M-3) and
 * dropped, its group lives become the group figures (the set or the lives of
 * one app are in memory at a time). */
static void batch_close(batch_t *b, size_t i)
{
  rep_ctx_t *c = &b->c[i];
  if (b->table == STORE_USAGE_LOGIN) {
    mau_close(c);
  } else if (b->table == STORE_USAGE_GROUP) {
    int rc = groups(c);
    if (rc && !c->rc) c->rc = rc;
  }
}

static void on_batch_row(void *ud, const store_usage_row_t *row)
{
  batch_t *b = ud;
  while (b->at < b->n && b->apps[b->at] < row->sdkappid) batch_close(b, b->at++);
  if (b->at == b->n || b->apps[b->at] != row->sdkappid) return;
  rep_ctx_t *c = &b->c[b->at];
  switch (b->table) {
  case STORE_USAGE_LOGIN: on_login(c, row->sdkappid, row->day, row->user_no); break;
  case STORE_USAGE_DAY: on_day(c, row->day, row->metric, row->value); break;
  case STORE_USAGE_IMPORT: case STORE_USAGE_IMPORT_BILL: case STORE_USAGE_IMPORT_MAX:
    on_import(c, row->day, row->metric, row->value);
    break;
  case STORE_USAGE_GROUP: if (row->created_s < c->groups_until_s) on_group(c, row->live, row->created_s, row->dissolved_s); break;
  }
}

int meter__report_apps(store_t *s, const uint32_t *apps, const int *tz, size_t n, int32_t yyyymm, meter_report_t *out)
{
  for (size_t i = 1; i < n; i++)
    if (apps[i - 1] >= apps[i]) return IMC_E_INVAL; /* rows are matched to apps by walking both in order */
  if (!n) return 0;
  rep_ctx_t *c = calloc(n, sizeof *c);
  if (!c) return IMC_E_NOMEM;
  int64_t until = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    rep_begin(&c[i], &out[i], apps[i], yyyymm, tz[i]);
    if (c[i].groups_until_s > until) until = c[i].groups_until_s;
  }
  int32_t first = yyyymm * 100 + 1, last = yyyymm * 100 + out[0].ndays;
  /* the order of meter__report_tz: metered rows, group lives, then the imported figures merged over them */
  static const struct { store_usage_table_t t; int month_rows; } scans[] = {
    { STORE_USAGE_LOGIN, 0 }, { STORE_USAGE_DAY, 0 }, { STORE_USAGE_GROUP, 0 },
    { STORE_USAGE_IMPORT_BILL, 1 }, { STORE_USAGE_IMPORT_MAX, 1 },
  };
  int rc = 0;
  for (size_t k = 0; !rc && k < sizeof scans / sizeof *scans; k++) {
    batch_t b = { c, apps, n, 0, scans[k].t };
    rc = store_usage_apps_each(s, b.table, apps, n, scans[k].month_rows ? yyyymm * 100 : first,
                               b.table == STORE_USAGE_GROUP ? until : last, on_batch_row, &b);
    while (b.at < n) batch_close(&b, b.at++);
  }
  for (size_t i = 0; i < n; i++) {
    int r = rep_end(&c[i], rc);
    if (!rc) rc = r;
  }
  free(c);
  return rc;
}
