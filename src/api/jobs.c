/* jobs.c — the server's scheduled jobs and the test clock (docs/billing.md
 * "Scheduled jobs", docs/operator-api.md "Test clock").
 *
 * One table of jobs {name, run, next}: each has the clock time it is next
 * due (srv->jobs.next_s). When no job is in flight the earliest due job
 * starts (ties in table order): on the server's tick (tick_ms, 1 s by
 * default), on the purge timer, and as
 * soon as the job before it finishes, so jobs due together run back to back
 * rather than one a second; at start every job except the retention purge is
 * due at once, so a server that was down catches up (each job is
 * idempotent). Jobs that write run as one writer job each
 * (store_writer_submit, one transaction, durable before anything follows);
 * the loop never touches the database. What a job changed in the apps
 * reaches the registry in its done(): every app's record and plan facts for
 * the job's day (api_fresh), and sessions of apps it suspended end with 4005.
 *
 *   bill_run        00:00 on the 1st (billing zone): the previous month
 *                   billed for every app in steps of day_batch apps, each its
 *                   own writer transaction (run_bill, meter_bill_run_apps);
 *                   bills the wallet covers are paid. Idempotent: a crash
 *                   half-way is finished by the run at the next start.
 *                   Apps whose month has not ended in their region's zone
 *                   are left; the job is due again when the first of those
 *                   months ends (again_s).
 *   day             00:00 every day, in bounded steps (run_day): correction
 *                   documents for billed months whose usage changed since
 *                   (meter_bill_corrections_step), every app's life-cycle jobs
 *                   (tenant_app_lifecycle_run: auto-renew, suspension after
 *                   the grace days, resumption), open bills paid from the
 *                   wallet where it covers them, arrears (meter_arrears_run),
 *                   then every app's plan facts refreshed for the new day.
 *   arrears         the moment the next open bill becomes overdue (issue +
 *                   7 days, P-14, P-45): the customer's apps are suspended.
 *   retention_purge 00:00 every day, and every msg_purge_interval_ms (0:
 *                   msg_purge_interval_s) of real time (the purge timer,
 *                   server.c): im_c2c_purge (retention cutoffs on the
 *                   clock).
 *
 * The test clock (`imcloud serve --test-clock`): POST /operator/v1/clock
 * moves the clock to a later time; on the way every job that falls due runs,
 * in time order, with the clock set to the moment it fell due; then the
 * clock is set to the target and the reply lists what ran. Loop thread only, except the run
 * functions (writer thread; they touch only their job_run_t). */
#include "api/api_int.h"
#include "meter/meter.h"
#include "util/clock.h"
#include "util/date.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- apps refreshed by a write (writer thread → loop) ------------------------ */
static void on_fresh_app(void *ud, const store_app_t *a)
{
  api_fresh_t *f = ud;
  if (f->nomem) return;
  if (f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 16;
    api_app_fresh_t *v = realloc(f->v, cap * sizeof *v);
    if (!v) { f->nomem = 1; return; }
    f->v = v;
    f->cap = cap;
  }
  memset(&f->v[f->n], 0, sizeof f->v[f->n]);
  f->v[f->n++].rec = *a;
}

int api_fresh_load(store_t *s, api_fresh_t *f, int64_t customer_id, uint32_t sdkappid, int64_t day)
{
  size_t first = f->n;
  int rc;
  if (sdkappid) {
    store_app_t a;
    if ((rc = store_app_get(s, sdkappid, &a))) return rc;
    on_fresh_app(f, &a);
  } else if ((rc = store_app_list(s, customer_id, on_fresh_app, f))) {
    return rc;
  }
  if (f->nomem) return IMC_E_NOMEM;
  for (size_t i = first; i < f->n; i++) {
    api_app_fresh_t *x = &f->v[i];
    store_order_t *v = NULL;
    int n = 0;
    x->lc_rc = tenant_app_orders(s, x->rec.sdkappid, &v, &n);
    if (!x->lc_rc) x->lc_rc = tenant_lifecycle(&x->rec, v, n, day, &x->lc);
    free(v);
    if (x->lc_rc) memset(&x->lc, 0, sizeof x->lc); /* refuse rather than guess (plan.ready = 0) */
    if (x->lc_rc == IMC_E_NOMEM || x->lc_rc == IMC_E_IO) return x->lc_rc;
  }
  return 0;
}

void api_fresh_apply(api_srv_t *srv, api_fresh_t *f)
{
  for (size_t i = 0; i < f->n; i++) {
    api_app_fresh_t *x = &f->v[i];
    const tenant_app_t *was = tenant_registry_app(srv->reg, x->rec.sdkappid);
    int multi_before = was && was->plan.ready && api_quota_multi_device(srv, was);
    if (tenant_registry_app_upsert(srv->reg, &x->rec, &x->lc)) {
      IMC_WARN("jobs", "msg=\"app not refreshed in the registry; the change log brings it\" app=%u", x->rec.sdkappid);
      continue;
    }
    cws_app_facts_changed(srv, x->rec.sdkappid, multi_before);
  }
  free(f->v);
  memset(f, 0, sizeof *f);
}

void api_app_zone(api_srv_t *srv, uint32_t sdkappid, int tz, int tz_rc)
{
  int rc = tz_rc ? tz_rc : srv->meter ? meter_app_tz(srv->meter, sdkappid, tz) : 0;
  if (rc)
    IMC_WARN("meter", "msg=\"billing zone not applied: the app's events stay dated in the zone they were\" app=%u err=%s",
             sdkappid, imc_err_name(rc));
}

/* ---- the jobs ------------------------------------------------------------------ */
typedef struct job_run {
  store_job_t job;
  api_srv_t *srv;
  int idx;                       /* row of `jobs` */
  int64_t at;                    /* clock time it runs at (when it fell due, or now) */
  int64_t day;                   /* natural day of `at` in the billing zone */
  int tz;
  json_t *result;                /* built by run() */
  api_fresh_t fresh;
  int64_t next_overdue_s;        /* -1: unknown (keep the arrears schedule) */
  int64_t again_s;               /* > at: due again then (a bill run that left apps whose month has not ended) */
  char err[256];
  /* a job in steps (the day change): run() sets more = 1 to be submitted again
   * as a new writer job; each step is its own bounded transaction */
  int more, stage;
  size_t cursor;
  struct day_state *day_st;
} job_run_t;

typedef struct app_ids { uint32_t *v; size_t n, cap; int nomem; } app_ids_t;

/* Room for one more element of size elem in *v (n used, *cap allocated):
 * 0, or -1 when out of memory (nothing changed). */
static int grow(void *v, size_t *cap, size_t n, size_t elem)
{
  if (n < *cap) return 0;
  size_t c = *cap ? *cap * 2 : 64;
  void *p = realloc(*(void **)v, c * elem);
  if (!p) return -1;
  *(void **)v = p;
  *cap = c;
  return 0;
}

static void on_app_id(void *ud, const store_app_t *a)
{
  app_ids_t *l = ud;
  if (l->nomem || (l->nomem = grow(&l->v, &l->cap, l->n, sizeof *l->v))) return;
  l->v[l->n++] = a->sdkappid;
}

static int fatal(int rc) { return rc == IMC_E_IO || rc == IMC_E_BUSY || rc == IMC_E_NOMEM; }

/* The day change in steps of day_batch (config, default 500) queued months, apps or customers, each its own
 * writer job (a bounded transaction, so a CLI write waits for one step, not
 * for every app): corrections; the life cycle of each app; arrears of each
 * customer (open documents paid first); each app's fresh record. A step that
 * fails fails the job, which is retried from the start a minute later: every
 * step is idempotent (a life-cycle run or an arrears pass already done for
 * the day changes nothing), so a crash half-way is finished by the rerun. */
typedef struct day_state {
  app_ids_t apps;
  meter_app_month_t *queue;        /* the corrections queue, listed at the first step */
  size_t nqueue;
  int64_t *custs;
  size_t ncusts, custs_cap;
  int nomem;
  int renewed, suspended, resumed, failed;
  int steps;                       /* writer jobs (transactions) the day change took */
  char first[256];
  meter_correction_stats_t co;
  char cerr[256];
  meter_arrears_stats_t ar;        /* summed over the steps */
  int32_t month;                   /* the bill run: the usage month billed */
  meter_bill_run_stats_t bill;     /* the bill run: summed over the steps */
} day_state_t;

static void on_customer(void *ud, const store_customer_t *c)
{
  day_state_t *d = ud;
  if (d->nomem || (d->nomem = grow(&d->custs, &d->custs_cap, d->ncusts, sizeof *d->custs))) return;
  d->custs[d->ncusts++] = c->id;
}

static void day_state_free(job_run_t *r)
{
  if (!r->day_st) return;
  free(r->day_st->apps.v);
  free(r->day_st->queue);
  free(r->day_st->custs);
  free(r->day_st);
  r->day_st = NULL;
}

static int day_result(job_run_t *r)
{
  day_state_t *d = r->day_st;
  char ds[16];
  int y, m, dd;
  imc_civil_from_days(r->day, &y, &m, &dd);
  snprintf(ds, sizeof ds, "%04d-%02d-%02d", y, m, dd);
  r->result = json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "date", ds, "apps", (int)r->fresh.n,
                        "renewed", d->renewed, "suspended", d->suspended, "resumed", d->resumed, "failed", d->failed,
                        "bills_paid", d->ar.bills_paid, "customers_in_arrears", d->ar.in_arrears,
                        "arrears_suspended", d->ar.suspended, "arrears_resumed", d->ar.resumed,
                        "corrections", d->co.issued, "corrections_failed", d->co.failed);
  /* a member left out: no result (§85). Not api_field_put: the day job runs at the start and on its own time, and
   * must not move the count of a test's injected failure (field_json) */
  if (r->result && (json_object_set_new(r->result, "steps", json_integer(d->steps)) ||
                    (d->failed && json_object_set_new(r->result, "first_failure", json_string(d->first))) ||
                    (d->co.failed && json_object_set_new(r->result, "first_correction_failure", json_string(d->cerr))))) {
    json_decref(r->result);
    r->result = NULL;
  }
  return r->result ? 0 : IMC_E_NOMEM;
}

static int run_day(store_t *s, job_run_t *r)
{
  day_state_t *d = r->day_st;
  int rc = 0;
  size_t end, batch = (size_t)r->srv->cfg->day_batch;
  r->more = 1;
  if (d) d->steps++;
  switch (r->stage) {
  case 0: /* corrections first (one that asks for money is paid, or counted by the arrears steps), day_batch queued months a step */
    if (!d) { /* the first step lists the queue, the apps and the customers once */
      if (!(d = r->day_st = calloc(1, sizeof *d))) return IMC_E_NOMEM;
      d->steps = 1;
      if ((rc = meter_bill_recheck_list(s, &d->queue, &d->nqueue))) return rc;
      if ((rc = store_app_list(s, 0, on_app_id, &d->apps)) || (rc = store_customer_list(s, on_customer, d))) return rc;
      if (d->apps.nomem || d->nomem) return IMC_E_NOMEM;
      r->cursor = 0;
    }
    end = d->nqueue - r->cursor < batch ? d->nqueue - r->cursor : batch;
    if ((rc = meter_bill_corrections_step(s, d->queue + r->cursor, end, r->at, r->tz, meter_orders_tenant, NULL, &d->co, d->cerr,
                                          sizeof d->cerr))) {
      snprintf(r->err, sizeof r->err, "%s", d->cerr);
      return rc;
    }
    if ((r->cursor += end) >= d->nqueue) { r->stage = 1; r->cursor = 0; }
    return 0;
  case 1: /* life cycles */
    for (end = r->cursor + batch; r->cursor < d->apps.n && r->cursor < end; r->cursor++) {
      tenant_run_t ran;
      char why[256] = "";
      int r1 = tenant_app_lifecycle_run(s, d->apps.v[r->cursor], r->day, r->at, &ran, why, sizeof why);
      if (r1 && fatal(r1)) return r1;
      if (r1) { if (!d->failed++) snprintf(d->first, sizeof d->first, "%s", why); }
      else { d->renewed += ran.renewed; d->suspended += ran.suspended; d->resumed += ran.resumed; }
    }
    if (r->cursor >= d->apps.n) { r->stage = 2; r->cursor = 0; }
    return 0;
  case 2: /* arrears, customer by customer */
    for (end = r->cursor + batch; r->cursor < d->ncusts && r->cursor < end; r->cursor++) {
      meter_arrears_stats_t ar;
      if ((rc = meter_arrears_run(s, d->custs[r->cursor], 1, r->at, r->tz, &ar))) return rc;
      d->ar.bills_paid += ar.bills_paid;
      d->ar.in_arrears += ar.in_arrears;
      d->ar.suspended += ar.suspended;
      d->ar.resumed += ar.resumed;
      if (ar.next_overdue_s && (!d->ar.next_overdue_s || ar.next_overdue_s < d->ar.next_overdue_s))
        d->ar.next_overdue_s = ar.next_overdue_s;
    }
    if (r->cursor >= d->ncusts) { r->stage = 3; r->cursor = 0; }
    return 0;
  default: /* every app's record and plan facts for the new day */
    for (end = r->cursor + batch; r->cursor < d->apps.n && r->cursor < end; r->cursor++)
      if ((rc = api_fresh_load(s, &r->fresh, 0, d->apps.v[r->cursor], r->day)) && rc != IMC_E_NOTFOUND) return rc;
    if (r->cursor < d->apps.n) return 0;
    r->more = 0;
    r->next_overdue_s = d->ar.next_overdue_s;
    return day_result(r);
  }
}

/* The bill run in steps of day_batch apps, each its own writer job (a
 * bounded transaction: a CLI write waits for one step, not for every app);
 * the last step runs the arrears pass. A failed step fails the job, which is
 * retried from the start a minute later: apps already billed are found
 * (existing), so a crash half-way bills nothing twice and skips nothing. */
static int run_bill(store_t *s, job_run_t *r)
{
  day_state_t *d = r->day_st;
  size_t batch = (size_t)r->srv->cfg->day_batch;
  int rc;
  r->more = 1;
  if (!d) { /* the first step lists the apps once */
    if (!(d = r->day_st = calloc(1, sizeof *d))) return IMC_E_NOMEM;
    d->month = meter_bill_due_month(r->at, r->tz);
    if ((rc = store_app_list(s, 0, on_app_id, &d->apps))) return rc;
    if (d->apps.nomem) return IMC_E_NOMEM;
    r->cursor = 0;
  }
  d->steps++;
  size_t n = d->apps.n - r->cursor < batch ? d->apps.n - r->cursor : batch;
  if ((rc = meter_bill_run_apps(s, d->month, r->at, r->tz, meter_orders_tenant, NULL, d->apps.v + r->cursor, n, &d->bill,
                                d->first, sizeof d->first))) {
    snprintf(r->err, sizeof r->err, "%s", d->first);
    return rc;
  }
  r->cursor += n;
  if (r->cursor < d->apps.n) return 0;
  r->more = 0;
  meter_arrears_stats_t ar;
  if ((rc = meter_arrears_run(s, 0, 0, r->at, r->tz, &ar))) return rc;
  r->next_overdue_s = ar.next_overdue_s;
  char m[16];
  snprintf(m, sizeof m, "%04d-%02d", d->month / 100, d->month % 100);
  const meter_bill_run_stats_t *st = &d->bill;
  r->result = json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "month", m, "apps", st->apps, "issued", st->issued, "existing",
                        st->existing, "paid", st->paid, "failed", st->failed, "later", st->later, "steps", d->steps);
  if (st->later) r->again_s = st->later_s; /* apps of a region west of the billing zone: billed when their month ends */
  if (r->result && st->failed) json_object_set_new(r->result, "first_failure", json_string(d->first));
  return r->result ? 0 : IMC_E_NOMEM;
}

static int run_arrears(store_t *s, job_run_t *r)
{
  meter_arrears_stats_t ar;
  int rc = meter_arrears_run(s, 0, 0, r->at, r->tz, &ar);
  if (rc) return rc;
  r->next_overdue_s = ar.next_overdue_s;
  if ((rc = api_fresh_load(s, &r->fresh, 0, 0, r->day))) return rc;
  r->result = json_pack("{s:i,s:i,s:i}", "customers_in_arrears", ar.in_arrears, "suspended", ar.suspended, "resumed", ar.resumed);
  return r->result ? 0 : IMC_E_NOMEM;
}

enum { JOB_BILL, JOB_DAY, JOB_ARREARS, JOB_PURGE, JOB__COUNT };

static const struct job_def {
  const char *name;
  int (*run)(store_t *s, job_run_t *r);   /* writer thread; NULL: started on the loop (purge) */
} jobs[JOB__COUNT] = { /* at one instant they run in this order */
  [JOB_BILL] = { "bill_run", run_bill },
  [JOB_DAY] = { "day", run_day },
  [JOB_ARREARS] = { "arrears", run_arrears },
  [JOB_PURGE] = { "retention_purge", NULL },
};

_Static_assert(JOB__COUNT == API_JOBS, "api_jobs_t holds one next_s per job");

/* ---- scheduling (loop thread) --------------------------------------------------- */
typedef struct clock_move {
  net_req_t *req;
  int64_t target_s;
  json_t *ran;
  int bad;       /* a job's row could not be added to ran: the move's reply is 500 NOMEM (§85) */
} clock_move_t;

static void move_step(api_srv_t *srv);
static void start_due(api_srv_t *srv);
static void refuse(net_req_t *req, int status, int err, const char *msg);

static int64_t next_day_start(int64_t at, int tz) { return imc_day_start(imc_day_of(at, tz) + 1, tz); }

static int64_t next_month_start(int64_t at, int tz)
{
  int y, m, d;
  imc_civil_from_days(imc_day_of(at, tz), &y, &m, &d);
  return imc_day_start(imc_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1), tz);
}

/* When a job that ran at `at` is next due. */
static int64_t next_due(api_srv_t *srv, int idx, int64_t at)
{
  int tz = srv->tz_offset_s;
  switch (idx) {
  case JOB_BILL: return next_month_start(at, tz);
  case JOB_DAY: return next_day_start(at, tz);
  case JOB_ARREARS: return srv->jobs.next_s[JOB_ARREARS]; /* set from the job's result */
  default: return next_day_start(at, tz); /* and every msg_purge_interval_ms of real time (api_jobs_due_now) */
  }
}

static void job_finish(api_srv_t *srv, job_run_t *r, int rc)
{
  srv->jobs.running = 0;
  char at[32];
  imc_datetime_format(r->at, srv->tz_offset_s, at, sizeof at);
  if (!rc) {
    srv->jobs.runs[r->idx]++;
    api_fresh_apply(srv, &r->fresh);
    if (r->next_overdue_s >= 0) srv->jobs.next_s[JOB_ARREARS] = r->next_overdue_s ? r->next_overdue_s : INT64_MAX;
    srv->jobs.next_s[r->idx] = r->again_s > r->at ? r->again_s : next_due(srv, r->idx, r->at);
    if (r->idx == JOB_ARREARS && srv->jobs.next_s[JOB_ARREARS] <= r->at) srv->jobs.next_s[JOB_ARREARS] = INT64_MAX;
    char *t = r->result ? json_dumps(r->result, JSON_COMPACT) : NULL;
    IMC_INFO("jobs", "msg=\"job ran\" job=%s at=%s result=%s", jobs[r->idx].name, at, t ? t : "{}");
    free(t);
  } else {
    srv->jobs.failures[r->idx]++;
    free(r->fresh.v);
    json_decref(r->result);
    r->result = json_pack("{s:s,s:s}", "error", imc_err_name(rc), "message", r->err[0] ? r->err : imc_strerror(rc));
    srv->jobs.next_s[r->idx] = r->at + 60; /* retried a minute (of clock time) later */
    IMC_WARN("jobs", "msg=\"job failed\" job=%s at=%s err=%s why=\"%s\"", jobs[r->idx].name, at, imc_err_name(rc), r->err);
  }
  clock_move_t *m = srv->jobs.move;
  if (m) {
    json_t *row = json_pack("{s:s,s:s,s:I,s:b}", "job", jobs[r->idx].name, "at", at, "at_s", (json_int_t)r->at, "ok", !rc);
    if (row && r->result && json_object_update(row, r->result)) m->bad = 1;
    api_list_add(m->ran, row, &m->bad); /* a job left out of ran: the move's reply is 500 (§85) */
  }
  json_decref(r->result);
  day_state_free(r);
  free(r);
  if (m) {
    if (rc) { /* the move stops where the job failed: the clock stays there */
      char now[32], msg[160];
      imc_datetime_format(imc_clock_now_s(), srv->tz_offset_s, now, sizeof now);
      snprintf(msg, sizeof msg, "a job failed; the clock stopped at %s", now);
      if (m->bad) refuse(m->req, 500, IMC_E_NOMEM, msg); /* no ran without a job it ran */
      else api_reply_json(m->req, 500, json_pack("{s:{s:s,s:s},s:s,s:o}", "error", "code", imc_err_name(rc), "message", msg, "now", now,
                                            "ran", m->ran));
      srv->jobs.move = NULL;
      free(m);
      return;
    }
    move_step(srv);
    return;
  }
  start_due(srv); /* the next due job at once, not at the next tick (a failed one is due a minute on) */
}

static void job_done(void *arg, int rc)
{
  job_run_t *r = arg;
  if (!rc && r->more) { /* the next step, as a new writer job (its own transaction) */
    r->more = 0;
    if (!(rc = store_writer_submit(r->srv->writer, &r->job))) return;
    snprintf(r->err, sizeof r->err, "the writer queue is full: the job is retried");
  }
  job_finish(r->srv, r, rc);
}

static void purge_done(void *ud, int rc, int64_t deleted)
{
  job_run_t *r = ud;
  if (!rc) r->result = json_pack("{s:I}", "deleted", (json_int_t)deleted);
  job_finish(r->srv, r, rc);
}

static int writer_run(store_t *s, void *arg)
{
  job_run_t *r = arg;
  return jobs[r->idx].run(s, r);
}

/* Start job idx at clock time at. 0, or IMC_E_OVERLOADED / IMC_E_NOMEM
 * (nothing started). */
static int job_start(api_srv_t *srv, int idx, int64_t at)
{
  job_run_t *r = calloc(1, sizeof *r);
  if (!r) return IMC_E_NOMEM;
  r->srv = srv;
  r->idx = idx;
  r->at = at;
  r->tz = srv->tz_offset_s;
  r->day = imc_day_of(at, r->tz);
  r->next_overdue_s = -1;
  srv->jobs.running = idx + 1;
  if (!jobs[idx].run) {
    im_c2c_purge(srv->c2c, purge_done, r);
    return 0;
  }
  r->job.run = writer_run;
  r->job.done = job_done;
  r->job.arg = r;
  int rc = store_writer_submit(srv->writer, &r->job);
  if (rc) { srv->jobs.running = 0; free(r); }
  return rc;
}

/* The earliest job due at or before t (ties: table order), -1 none. */
static int earliest_due(api_srv_t *srv, int64_t t)
{
  int best = -1;
  for (int i = 0; i < JOB__COUNT; i++)
    if (srv->jobs.next_s[i] <= t && (best < 0 || srv->jobs.next_s[i] < srv->jobs.next_s[best])) best = i;
  return best;
}

void api_jobs_init(api_srv_t *srv)
{
  memset(&srv->jobs, 0, sizeof srv->jobs); /* next_s 0: due at once */
  srv->jobs.next_s[JOB_PURGE] = next_day_start(imc_clock_now_s(), srv->tz_offset_s);
}

/* Start the earliest due job unless one is in flight, a clock move runs the
 * jobs or the server is stopping; again when it finishes (job_finish). A job
 * that finishes inside job_start (the purge refused at once) calls this from
 * job_finish: that inner call returns at once and the loop here goes on to
 * the next due job, so nothing recurses. A failed job is due a minute later
 * and a start the writer queue refuses waits for the tick: nothing spins. */
static void start_due(api_srv_t *srv)
{
  if (srv->jobs.starting) return;
  srv->jobs.starting = 1;
  while (!srv->jobs.running && !srv->jobs.move && !srv->stopping) {
    int64_t now = imc_clock_now_s();
    int idx = earliest_due(srv, now);
    if (idx < 0) break;
    int rc = job_start(srv, idx, now);
    if (rc) {
      IMC_DEBUG("jobs", "msg=\"job deferred to the next tick\" job=%s err=%s", jobs[idx].name, imc_err_name(rc));
      break;
    }
  }
  srv->jobs.starting = 0;
}

void api_jobs_due_now(api_srv_t *srv, const char *name)
{
  int64_t now = imc_clock_now_s();
  for (int i = 0; i < JOB__COUNT; i++)
    if (!strcmp(jobs[i].name, name) && srv->jobs.next_s[i] > now) srv->jobs.next_s[i] = now;
  start_due(srv);
}

void api_jobs_tick(api_srv_t *srv)
{
  srv->jobs.ticks++;
  start_due(srv);
}

/* {"ticks","running":name|null,"jobs":[{"job","next","next_s","runs","failures"}…]} in table order; next null: not scheduled. */
void api_jobs_get(api_srv_t *srv, net_req_t *req)
{
  json_t *o = json_pack("{s:I,s:o,s:[]}", "ticks", (json_int_t)srv->jobs.ticks, "running",
                        srv->jobs.running ? json_string(jobs[srv->jobs.running - 1].name) : json_null(), "jobs");
  json_t *list = json_object_get(o, "jobs");
  int bad = !list; /* a job left out: 500 NOMEM, never a list without it (§85) */
  for (int i = 0; !bad && i < JOB__COUNT; i++) {
    int64_t next = srv->jobs.next_s[i];
    char at[32];
    if (next != INT64_MAX) imc_datetime_format(next, srv->tz_offset_s, at, sizeof at);
    api_list_add(list, json_pack("{s:s,s:o,s:o,s:I,s:I}", "job", jobs[i].name, "next",
                                 next != INT64_MAX ? json_string(at) : json_null(), "next_s",
                                 next != INT64_MAX ? json_integer(next) : json_null(), "runs",
                                 (json_int_t)srv->jobs.runs[i], "failures", (json_int_t)srv->jobs.failures[i]), &bad);
  }
  if (bad) { json_decref(o); refuse(req, 500, IMC_E_NOMEM, "out of memory: the jobs could not be listed"); return; }
  api_reply_json(req, 200, o);
}

/* ---- the test clock (operator API) ------------------------------------------------ */
static void clock_reply(api_srv_t *srv, net_req_t *req, int status, json_t *ran, int bad)
{
  char now[32];
  int64_t t = imc_clock_now_s();
  imc_datetime_format(t, srv->tz_offset_s, now, sizeof now);
  json_t *o = json_pack("{s:s,s:I,s:I,s:b}", "now", now, "now_s", (json_int_t)t, "now_ms", (json_int_t)imc_clock_now_ms(), "test_clock",
                        imc_clock_is_test());
  if (ran) api_field_put(o, "ran", ran, &bad);
  if (!(o = api_json_whole(o, bad))) { refuse(req, 500, IMC_E_NOMEM, "out of memory: the reply could not be made (read GET /operator/v1/clock)"); return; }
  api_reply_json(req, status, o);
}

void api_clock_file_save(api_srv_t *srv)
{
  if (imc_clock_file_save(srv->cfg->data))
    IMC_WARN("jobs", "msg=\"the data directory's test-clock file could not be %s: the CLI dates by another clock than "
             "the server's\" dir=%s errno=%d", imc_clock_is_test() ? "written" : "removed", srv->cfg->data, errno);
}

static void move_step(api_srv_t *srv)
{
  clock_move_t *m = srv->jobs.move;
  if (srv->stopping) {
    api_reply_json(m->req, 503, json_pack("{s:{s:s,s:s},s:o}", "error", "code", "SHUTDOWN", "message", "the server is stopping",
                                          "ran", m->ran));
    srv->jobs.move = NULL;
    free(m);
    return;
  }
  int idx = earliest_due(srv, m->target_s);
  if (idx < 0) { /* nothing else falls due on the way */
    int64_t now_ms = imc_clock_now_ms();
    if (m->target_s * 1000 > now_ms) imc_clock_test_set(m->target_s * 1000);
    api_clock_file_save(srv);
    cws_sig_tick(srv); /* sessions whose UserSig expired on the way end now, before the reply (§86) */
    srv->jobs.move = NULL;
    clock_reply(srv, m->req, 200, m->ran, m->bad);
    free(m);
    return;
  }
  int64_t due = srv->jobs.next_s[idx], now = imc_clock_now_s();
  if (due > now) imc_clock_test_set(due * 1000);
  api_clock_file_save(srv);
  cws_sig_tick(srv); /* as at the end: the sessions expired by the job's time end before it runs */
  int rc = job_start(srv, idx, due > now ? due : now);
  if (rc) {
    char now_s[32], msg[200];
    imc_datetime_format(imc_clock_now_s(), srv->tz_offset_s, now_s, sizeof now_s);
    snprintf(msg, sizeof msg, "the %s job could not start (%s); the clock stopped at %s: retry", jobs[idx].name, imc_strerror(rc), now_s);
    api_reply_json(m->req, 503, json_pack("{s:{s:s,s:s},s:s,s:o}", "error", "code", imc_err_name(rc), "message", msg, "now", now_s,
                                          "ran", m->ran));
    srv->jobs.move = NULL;
    free(m);
  }
}

static void refuse(net_req_t *req, int status, int err, const char *msg)
{
  api_reply_json(req, status, json_pack("{s:{s:s,s:s}}", "error", "code", imc_err_name(err), "message", msg));
}

static int clock_enabled(api_srv_t *srv, net_req_t *req)
{
  if (srv->cfg->test_clock && imc_clock_is_test()) return 1;
  refuse(req, 403, IMC_E_TEST_CLOCK_OFF, "the test clock is off: start the server with imcloud serve --test-clock (never in production)");
  return 0;
}

void api_clock_get(api_srv_t *srv, net_req_t *req)
{
  if (!clock_enabled(srv, req)) return;
  clock_reply(srv, req, 200, NULL, 0);
}

void api_clock_post(api_srv_t *srv, net_req_t *req, json_t *body)
{
  if (!clock_enabled(srv, req)) return;
  json_t *now = json_object_get(body, "now"), *adv = json_object_get(body, "advance_s");
  int64_t cur_ms = imc_clock_now_ms(), target;
  if ((now != NULL) == (adv != NULL)) {
    refuse(req, 400, IMC_E_INVAL, "give exactly one of now (\"2026-11-01T00:00:00+08:00\") or advance_s (integer seconds >= 0)");
    return;
  }
  if (now) {
    if (!json_is_string(now) || imc_datetime_parse(json_string_value(now), &target)) {
      refuse(req, 400, IMC_E_INVAL, "now must be an RFC 3339 time with seconds and a zone, e.g. \"2026-11-01T00:00:00+08:00\"");
      return;
    }
  } else {
    if (!json_is_integer(adv) || json_integer_value(adv) < 0 || json_integer_value(adv) > 100LL * 366 * 86400) {
      refuse(req, 400, IMC_E_INVAL, "advance_s must be an integer from 0 to 3162240000 (100 years)");
      return;
    }
    target = cur_ms / 1000 + json_integer_value(adv);
  }
  if (target * 1000 < cur_ms - cur_ms % 1000) {
    char msg[160], c[32];
    imc_datetime_format(cur_ms / 1000, srv->tz_offset_s, c, sizeof c);
    snprintf(msg, sizeof msg, "the clock never moves backwards: it is %s", c);
    refuse(req, 409, IMC_E_CLOCK_BACKWARDS, msg);
    return;
  }
  if (srv->jobs.move) { refuse(req, 409, IMC_E_BUSY, "another clock move is in progress"); return; }
  clock_move_t *m = calloc(1, sizeof *m);
  json_t *ran = json_array();
  if (!m || !ran) { free(m); json_decref(ran); refuse(req, 500, IMC_E_NOMEM, "out of memory"); return; }
  m->req = req;
  m->target_s = target;
  m->ran = ran;
  srv->jobs.move = m;
  if (!srv->jobs.running) move_step(srv); /* else the running job's finish steps on */
}

/* ---- a wallet credit made elsewhere (the CLI's top-up, via the change log) ------- */
typedef struct credit_job {
  store_job_t job;
  api_srv_t *srv;
  int64_t customer_id, now;
  int tz;
  meter_arrears_stats_t st;
  api_fresh_t fresh;
} credit_job_t;

static int credit_run(store_t *s, void *arg)
{
  credit_job_t *c = arg;
  int rc = meter_arrears_run(s, c->customer_id, 1, c->now, c->tz, &c->st);
  return rc ? rc : api_fresh_load(s, &c->fresh, c->customer_id, 0, imc_day_of(c->now, c->tz));
}

static void credit_done(void *arg, int rc)
{
  credit_job_t *c = arg;
  if (!rc) {
    api_fresh_apply(c->srv, &c->fresh);
    if (c->st.next_overdue_s && c->st.next_overdue_s < c->srv->jobs.next_s[JOB_ARREARS]) c->srv->jobs.next_s[JOB_ARREARS] = c->st.next_overdue_s;
    IMC_INFO("jobs", "msg=\"wallet credit applied\" customer=%lld bills_paid=%d apps_resumed=%d", (long long)c->customer_id,
             c->st.bills_paid, c->st.resumed);
  } else {
    free(c->fresh.v);
    IMC_WARN("jobs", "msg=\"wallet credit not applied; the next day job settles it\" customer=%lld err=%s", (long long)c->customer_id,
             imc_err_name(rc));
  }
  free(c);
}

void api_jobs_wallet_credit(api_srv_t *srv, int64_t customer_id)
{
  credit_job_t *c = calloc(1, sizeof *c);
  if (!c) return;
  c->srv = srv;
  c->customer_id = customer_id;
  c->now = imc_clock_now_s();
  c->tz = srv->tz_offset_s;
  c->job.run = credit_run;
  c->job.done = credit_done;
  c->job.arg = c;
  if (store_writer_submit(srv->writer, &c->job)) {
    IMC_WARN("jobs", "msg=\"writer queue full: wallet credit left to the next day job\" customer=%lld", (long long)customer_id);
    free(c);
  }
}
