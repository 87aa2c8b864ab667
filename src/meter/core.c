/* core.c — the in-memory meter (meter.h): per app, a ring of day slots for
 * the late window and a ring of month slots, each with its exact user set,
 * plus the live counters flushed to storage. Pure: time is an argument.
 * One owner thread.
 *
 * Invariant: every day slot in use holds a day within
 * [now_day − METER_LATE_DAYS, now_day] of its app's zone, where now_day is
 * the day of the latest time seen (meter_advance or an event); 37 days fit in
 * DAY_SLOTS, so a slot is reused only after its day left the window. Month
 * slots are kept while any of their days is inside the window. A slot's
 * pending flush values are moved to the orphan list before it is reused, so
 * a leap of the (test) clock loses nothing. */
#include "meter/meter.h"
#include "util/date.h"
#include "util/err.h"
#include "util/u64map.h"

#include <stdlib.h>
#include <string.h>

#define DAY_SLOTS 64
#define MONTH_SLOTS 4

const char *const meter_call_kinds[METER_CALL_KINDS] = { "audio", "video_sd", "video_hd", "video_fhd" };
static const char *const call_metrics[METER_CALL_KINDS] = { "call_audio", "call_video_sd", "call_video_hd", "call_video_fhd" };

int meter_call_kind(const char *name)
{
  for (int i = 0; i < METER_CALL_KINDS; i++) if (!strcmp(name, meter_call_kinds[i])) return i;
  return IMC_E_INVAL;
}

const char *meter_call_metric(int kind) { return kind >= 0 && kind < METER_CALL_KINDS ? call_metrics[kind] : NULL; }

typedef struct mday {
  int64_t day;                 /* day index in the app's zone */
  int32_t yyyymmdd;
  int mslot;
  meter_uset_t users;
  int64_t rest_pending;        /* REST calls not yet flushed */
  int64_t conn_peak, conn_sent;
  int64_t bw_peak, bw_sent;    /* bits per second */
} mday_t;

typedef struct mmonth {
  int32_t yyyymm;
  int64_t last_day;            /* day index of the month's last day */
  meter_uset_t users;
} mmonth_t;

typedef struct mapp {
  uint32_t app;
  int tz;
  int used;                    /* has had an event (its zone is fixed) */
  mday_t *days[DAY_SLOTS];
  mmonth_t *months[MONTH_SLOTS];
  mday_t *last;                /* hot-path cache: the slot of the last event */
  int64_t conn_now;
  int64_t bw_sec;              /* unix second being summed */
  uint64_t bw_bytes;
} mapp_t;

struct meter {
  int tz;
  int64_t now_s;
  u64map_t apps;
  mapp_t *last;                /* hot-path cache */
  meter_delta_t *orphans;      /* pending values of slots reused before a flush */
  size_t norphans, orphans_cap;
};

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
static int64_t day_of(int64_t t, int tz) { return floor_div(t + tz, 86400); }

int meter_create(int tz_offset_s, meter_t **out)
{
  if (tz_offset_s < -14 * 3600 || tz_offset_s > 14 * 3600) return IMC_E_RANGE;
  meter_t *m = calloc(1, sizeof *m);
  if (!m) return IMC_E_NOMEM;
  m->tz = tz_offset_s;
  m->now_s = INT64_MIN / 2;
  u64map_init(&m->apps);
  *out = m;
  return 0;
}

static void day_free(mday_t *d) { if (d) { meter_uset_free(&d->users); free(d); } }
static void month_free(mmonth_t *mo) { if (mo) { meter_uset_free(&mo->users); free(mo); } }

void meter_free(meter_t *m)
{
  if (!m) return;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&m->apps, &it); u64map_next(&m->apps, &it, NULL, &v);) {
    mapp_t *a = v;
    for (int d = 0; d < DAY_SLOTS; d++) day_free(a->days[d]);
    for (int k = 0; k < MONTH_SLOTS; k++) month_free(a->months[k]);
    free(a);
  }
  u64map_free(&m->apps);
  free(m->orphans);
  free(m);
}

static mapp_t *app_find(const meter_t *m, uint32_t app)
{
  if (m->last && m->last->app == app) return m->last;
  return u64map_get(&m->apps, (uint64_t)app + 1);
}

static mapp_t *app_get(meter_t *m, uint32_t app)
{
  mapp_t *a = app_find(m, app);
  if (!a) {
    if (!(a = calloc(1, sizeof *a))) return NULL;
    a->app = app;
    a->tz = m->tz;
    a->bw_sec = INT64_MIN;
    if (u64map_put(&m->apps, (uint64_t)app + 1, a)) { free(a); return NULL; }
  }
  m->last = a;
  return a;
}

int meter_app_tz(meter_t *m, uint32_t app, int tz_offset_s)
{
  if (tz_offset_s < -14 * 3600 || tz_offset_s > 14 * 3600) return IMC_E_RANGE;
  mapp_t *a = app_get(m, app);
  if (!a) return IMC_E_NOMEM;
  if (a->used && a->tz != tz_offset_s) return IMC_E_EXISTS;
  a->tz = tz_offset_s;
  return 0;
}

static int orphan(meter_t *m, uint32_t app, int32_t day, const char *metric, int64_t v, int additive)
{
  if (m->norphans == m->orphans_cap) {
    size_t cap = m->orphans_cap ? m->orphans_cap * 2 : 16;
    meter_delta_t *o = realloc(m->orphans, cap * sizeof *o);
    if (!o) return IMC_E_NOMEM;
    m->orphans = o;
    m->orphans_cap = cap;
  }
  m->orphans[m->norphans++] = (meter_delta_t){ app, day, metric, v, additive };
  return 0;
}

/* Release a day slot, keeping what it had not flushed yet. */
static void day_retire(meter_t *m, mapp_t *a, int i)
{
  mday_t *d = a->days[i];
  if (!d) return;
  if (d->rest_pending) orphan(m, a->app, d->yyyymmdd, METER_M_REST_CALLS, d->rest_pending, 1);
  if (d->conn_peak > d->conn_sent) orphan(m, a->app, d->yyyymmdd, METER_M_CONN_PEAK, d->conn_peak, 0);
  if (d->bw_peak > d->bw_sent) orphan(m, a->app, d->yyyymmdd, METER_M_BW_PEAK_BPS, d->bw_peak, 0);
  if (a->last == d) a->last = NULL;
  day_free(d);
  a->days[i] = NULL;
}

static void app_evict(meter_t *m, mapp_t *a)
{
  int64_t oldest = day_of(m->now_s, a->tz) - METER_LATE_DAYS;
  for (int i = 0; i < DAY_SLOTS; i++)
    if (a->days[i] && a->days[i]->day < oldest) day_retire(m, a, i);
  for (int k = 0; k < MONTH_SLOTS; k++)
    if (a->months[k] && a->months[k]->last_day < oldest) { month_free(a->months[k]); a->months[k] = NULL; }
}

/* Eviction runs when now enters a new quarter hour: every real zone offset is
 * a multiple of 15 minutes, so a day leaves the window exactly at such a
 * boundary, and the hot path never walks all apps. */
void meter_advance(meter_t *m, int64_t now_s)
{
  if (now_s <= m->now_s) return;
  int64_t q0 = floor_div(m->now_s, 900), q1 = floor_div(now_s, 900);
  m->now_s = now_s;
  if (q0 == q1) return;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&m->apps, &it); u64map_next(&m->apps, &it, NULL, &v);) app_evict(m, v);
}

/* A big app stays big: a new day (month) set starts flat, sized like the
 * previous one, when that one ended flat (no roaring phase, no switch). On
 * NOMEM the set simply starts empty. */
static void inherit(meter_uset_t *s, const meter_uset_t *prev)
{
  if (meter_uset_is_flat(prev) && prev->nwords > 1) meter_uset_init_flat(s, prev->nwords * 64 - 1);
}

static int64_t month_key(int y, int mo) { return (int64_t)y * 12 + mo - 1; }

static mmonth_t *month_get(mapp_t *a, int y, int mo, int *slot)
{
  int64_t key = month_key(y, mo);
  int i = (int)(((key % MONTH_SLOTS) + MONTH_SLOTS) % MONTH_SLOTS);
  mmonth_t *s = a->months[i];
  if (s && s->yyyymm != y * 100 + mo) { month_free(s); a->months[i] = s = NULL; } /* evicted month (window rule) */
  if (!s) {
    if (!(s = calloc(1, sizeof *s))) return NULL;
    s->yyyymm = y * 100 + mo;
    s->last_day = imc_days_from_civil(y, mo, imc_days_in_month(y, mo));
    const mmonth_t *prev = a->months[(i + MONTH_SLOTS - 1) % MONTH_SLOTS];
    if (prev && prev->yyyymm == (mo == 1 ? (y - 1) * 100 + 12 : y * 100 + mo - 1)) inherit(&s->users, &prev->users);
    a->months[i] = s;
  }
  *slot = i;
  return s;
}

/* The slot of t's day, creating it; NULL with *err set when late or out of
 * memory. Moves now forward when t is later. */
static mday_t *day_get(meter_t *m, mapp_t *a, int64_t t, int *err)
{
  int64_t day = day_of(t, a->tz);
  a->used = 1;
  if (t > m->now_s) meter_advance(m, t);
  if (a->last && a->last->day == day) return a->last;
  if (day < day_of(m->now_s, a->tz) - METER_LATE_DAYS) { *err = IMC_E_METER_LATE; return NULL; }
  int i = (int)(((day % DAY_SLOTS) + DAY_SLOTS) % DAY_SLOTS);
  mday_t *d = a->days[i];
  if (d && d->day != day) { day_retire(m, a, i); d = NULL; }
  if (!d) {
    int y, mo, dd, ms;
    imc_civil_from_days(day, &y, &mo, &dd);
    if (!(d = calloc(1, sizeof *d))) { *err = IMC_E_NOMEM; return NULL; }
    if (!month_get(a, y, mo, &ms)) { free(d); *err = IMC_E_NOMEM; return NULL; }
    d->day = day;
    d->yyyymmdd = y * 10000 + mo * 100 + dd;
    d->mslot = ms;
    const mday_t *prev = a->days[(i + DAY_SLOTS - 1) % DAY_SLOTS];
    if (prev && prev->day == day - 1) inherit(&d->users, &prev->users);
    a->days[i] = d;
  }
  a->last = d;
  return d;
}

int meter_login(meter_t *m, uint32_t app, uint32_t user_no, int64_t t_s)
{
  if (!user_no) return IMC_E_INVAL;
  mapp_t *a = app_get(m, app);
  if (!a) return IMC_E_NOMEM;
  int err = 0;
  mday_t *d = day_get(m, a, t_s, &err);
  if (!d) return err;
  int rc = meter_uset_add(&d->users, user_no);
  if (rc < 0) return rc;
  /* P-52: a user already counted for the day is already in the month */
  if (rc == 1 && meter_uset_add(&a->months[d->mslot]->users, user_no) < 0) return IMC_E_NOMEM;
  return rc;
}

static const mday_t *day_find(const meter_t *m, uint32_t app, int32_t yyyymmdd)
{
  const mapp_t *a = app_find(m, app);
  if (!a) return NULL;
  int64_t day = imc_yyyymmdd_day(yyyymmdd);
  const mday_t *d = a->days[((day % DAY_SLOTS) + DAY_SLOTS) % DAY_SLOTS];
  return d && d->day == day ? d : NULL;
}

int64_t meter_dau(const meter_t *m, uint32_t app, int32_t yyyymmdd)
{
  const mday_t *d = day_find(m, app, yyyymmdd);
  return d ? (int64_t)d->users.card : 0;
}

int meter_seen(const meter_t *m, uint32_t app, uint32_t user_no, int32_t yyyymmdd, int *in_day, int *in_month)
{
  *in_day = *in_month = 0;
  const mday_t *d = day_find(m, app, yyyymmdd);
  if (d) *in_day = meter_uset_has(&d->users, user_no);
  const mapp_t *a = app_find(m, app);
  for (int k = 0; a && k < MONTH_SLOTS; k++)
    if (a->months[k] && a->months[k]->yyyymm == yyyymmdd / 100) *in_month = meter_uset_has(&a->months[k]->users, user_no);
  return 0;
}

int64_t meter_mau(const meter_t *m, uint32_t app, int32_t yyyymm)
{
  const mapp_t *a = app_find(m, app);
  for (int k = 0; a && k < MONTH_SLOTS; k++)
    if (a->months[k] && a->months[k]->yyyymm == yyyymm) return (int64_t)a->months[k]->users.card;
  return 0;
}

void meter_month(const meter_t *m, uint32_t app, int32_t yyyymm, meter_month_t *out)
{
  memset(out, 0, sizeof *out);
  const mapp_t *a = app_find(m, app);
  if (!a) return;
  for (int k = 0; k < MONTH_SLOTS; k++)
    if (a->months[k] && a->months[k]->yyyymm == yyyymm) out->mau = (int64_t)a->months[k]->users.card;
  int y = yyyymm / 100, mo = yyyymm % 100;
  for (int dd = 1; dd <= imc_days_in_month(y, mo); dd++) { /* first day reaching the peak (M-2) */
    int64_t n = meter_dau(m, app, yyyymm * 100 + dd);
    if (n > out->peak_dau) { out->peak_dau = n; out->peak_dau_date = yyyymm * 100 + dd; }
  }
}

int meter_tz_default(const meter_t *m) { return m->tz; }

int32_t meter_day_of(meter_t *m, uint32_t app, int64_t t_s)
{
  const mapp_t *a = app_find(m, app);
  return imc_day_yyyymmdd(day_of(t_s, a ? a->tz : m->tz));
}

int meter_restore_login(meter_t *m, uint32_t app, uint32_t user_no, int32_t yyyymmdd)
{
  if (!user_no) return IMC_E_INVAL;
  mapp_t *a = app_get(m, app);
  if (!a) return IMC_E_NOMEM;
  int64_t day = imc_yyyymmdd_day(yyyymmdd);
  int64_t oldest = day_of(m->now_s, a->tz) - METER_LATE_DAYS;
  if (day >= oldest) {
    int rc = meter_login(m, app, user_no, imc_day_start(day, a->tz));
    return rc < 0 ? rc : 0;
  }
  int y = yyyymmdd / 10000, mo = yyyymmdd / 100 % 100, slot;
  if (imc_days_from_civil(y, mo, imc_days_in_month(y, mo)) < oldest) return 0; /* the month left memory */
  a->used = 1;
  mmonth_t *mm = month_get(a, y, mo, &slot);
  if (!mm) return IMC_E_NOMEM;
  return meter_uset_add(&mm->users, user_no) < 0 ? IMC_E_NOMEM : 0;
}

int meter_restore_peak(meter_t *m, uint32_t app, int32_t yyyymmdd, const char *metric, int64_t value)
{
  mapp_t *a = app_get(m, app);
  if (!a) return IMC_E_NOMEM;
  int err = 0;
  mday_t *d = day_get(m, a, imc_day_start(imc_yyyymmdd_day(yyyymmdd), a->tz), &err);
  if (!d) return err == IMC_E_METER_LATE ? 0 : err;
  if (!strcmp(metric, METER_M_CONN_PEAK)) {
    if (value > d->conn_peak) d->conn_peak = value;
    if (value > d->conn_sent) d->conn_sent = value;
  } else if (!strcmp(metric, METER_M_BW_PEAK_BPS)) {
    if (value > d->bw_peak) d->bw_peak = value;
    if (value > d->bw_sent) d->bw_sent = value;
  } else {
    return IMC_E_INVAL;
  }
  return 0;
}

/* ---- live counters ------------------------------------------------------------ */
int meter_rest_call(meter_t *m, uint32_t app, int64_t t_s)
{
  mapp_t *a = app_get(m, app);
  if (!a) return IMC_E_NOMEM;
  int err = 0;
  mday_t *d = day_get(m, a, t_s, &err);
  if (!d) return err;
  d->rest_pending++;
  return 0;
}

int meter_conn(meter_t *m, uint32_t app, int delta, int64_t t_s)
{
  mapp_t *a = app_get(m, app);
  if (!a) return IMC_E_NOMEM;
  int err = 0;
  mday_t *d = day_get(m, a, t_s, &err);
  if (!d) return err;
  a->conn_now += delta;
  if (a->conn_now < 0) a->conn_now = 0;
  if (a->conn_now > d->conn_peak) d->conn_peak = a->conn_now;
  return 0;
}

/* Close the second being summed: its bit rate is a candidate for its day's peak. */
static void bw_close(meter_t *m, mapp_t *a)
{
  if (a->bw_sec == INT64_MIN || !a->bw_bytes) return;
  int err = 0;
  mday_t *d = day_get(m, a, a->bw_sec, &err);
  int64_t bps = (int64_t)(a->bw_bytes * 8);
  if (d && bps > d->bw_peak) d->bw_peak = bps;
  a->bw_bytes = 0;
}

int meter_live_bytes(meter_t *m, uint32_t app, uint64_t bytes, int64_t t_s)
{
  mapp_t *a = app_get(m, app);
  if (!a) return IMC_E_NOMEM;
  int err = 0;
  if (!day_get(m, a, t_s, &err)) return err;
  if (t_s != a->bw_sec) {
    if (t_s < a->bw_sec) { /* a late second: counted alone (buckets are per event second) */
      mday_t *d = day_get(m, a, t_s, &err);
      int64_t bps = (int64_t)(bytes * 8);
      if (d && bps > d->bw_peak) d->bw_peak = bps;
      return d ? 0 : err;
    }
    bw_close(m, a);
    a->bw_sec = t_s;
  }
  a->bw_bytes += bytes;
  return 0;
}

int64_t meter_conn_now(const meter_t *m, uint32_t app)
{
  const mapp_t *a = app_find(m, app);
  return a ? a->conn_now : 0;
}

int64_t meter_conn_peak(const meter_t *m, uint32_t app, int32_t yyyymmdd)
{
  const mday_t *d = day_find(m, app, yyyymmdd);
  return d ? d->conn_peak : 0;
}

int64_t meter_bw_peak_bps(const meter_t *m, uint32_t app, int32_t yyyymmdd)
{
  const mday_t *d = day_find(m, app, yyyymmdd);
  return d ? d->bw_peak : 0;
}

/* ---- flush --------------------------------------------------------------------- */
void meter_flush(meter_t *m, int64_t now_s, void (*cb)(void *ud, const meter_delta_t *d), void *ud)
{
  meter_advance(m, now_s);
  meter_delta_t *orph = m->orphans; /* taken first: cb may give deltas back (meter_unflush) */
  size_t norph = m->norphans;
  m->orphans = NULL;
  m->norphans = m->orphans_cap = 0;
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&m->apps, &it); u64map_next(&m->apps, &it, NULL, &v);) {
    mapp_t *a = v;
    if (a->bw_sec != INT64_MIN && a->bw_sec < now_s) bw_close(m, a);
    for (int k = 0; k < DAY_SLOTS; k++) {
      mday_t *d = a->days[k];
      if (!d) continue;
      if (d->rest_pending) {
        meter_delta_t x = { a->app, d->yyyymmdd, METER_M_REST_CALLS, d->rest_pending, 1 };
        d->rest_pending = 0;
        cb(ud, &x);
      }
      if (d->conn_peak > d->conn_sent) {
        meter_delta_t x = { a->app, d->yyyymmdd, METER_M_CONN_PEAK, d->conn_peak, 0 };
        d->conn_sent = d->conn_peak;
        cb(ud, &x);
      }
      if (d->bw_peak > d->bw_sent) {
        meter_delta_t x = { a->app, d->yyyymmdd, METER_M_BW_PEAK_BPS, d->bw_peak, 0 };
        d->bw_sent = d->bw_peak;
        cb(ud, &x);
      }
    }
  }
  for (size_t i = 0; i < norph; i++) cb(ud, &orph[i]);
  free(orph);
}

void meter_unflush(meter_t *m, const meter_delta_t *d)
{
  orphan(m, d->app, d->day, d->metric, d->value, d->additive);
}

size_t meter_mem_bytes(const meter_t *m)
{
  size_t n = sizeof *m + u64map_bytes(&m->apps) + m->orphans_cap * sizeof(meter_delta_t);
  u64map_iter_t it;
  void *v;
  for (u64map_iter_init(&m->apps, &it); u64map_next(&m->apps, &it, NULL, &v);) {
    const mapp_t *a = v;
    n += sizeof *a;
    for (int k = 0; k < DAY_SLOTS; k++) if (a->days[k]) n += sizeof(mday_t) + meter_uset_bytes(&a->days[k]->users);
    for (int k = 0; k < MONTH_SLOTS; k++) if (a->months[k]) n += sizeof(mmonth_t) + meter_uset_bytes(&a->months[k]->users);
  }
  return n;
}
