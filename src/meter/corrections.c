/* corrections.c — correction documents (docs/decisions/billing-corrections.md,
 * docs/billing.md "Corrections"): a bill is never edited; when usage of a
 * billed month changes afterwards (a late event, M-7, or an import), the
 * month is priced again and, if the rendered bill differs from the last
 * document issued for it, a correction is issued: a new numbered document in
 * the bills series that references the bill, holds the corrected bill in
 * full and asks for the difference of the postpaid amount (paid from the
 * wallet like a bill, or credited when negative). The database queues the
 * months to look at (bill_recheck, filled by triggers on the usage rows in
 * the writing transaction); the day job drains the queue. Idempotent: a
 * month priced again without change issues nothing, and the queue entry is
 * removed in the transaction that handled it. */
#include "meter/meter.h"
#include "meter/meter_int.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The last document issued for a bill: the bill or its latest correction. */
typedef struct last_doc { int64_t postpaid_fen; char *body; char number[32]; int nomem; } last_doc_t;

static void on_correction(void *ud, const store_bill_t *b)
{
  last_doc_t *l = ud;
  char *c = strdup(b->body ? b->body : "");
  if (!c) { l->nomem = 1; return; }
  free(l->body);
  l->body = c;
  l->postpaid_fen = b->postpaid_fen;
  memcpy(l->number, b->number, sizeof l->number);
}

/* A damaged last document (its text does not parse, §91) differs from any
 * price of the month, so it is restated by the correction whatever the usage
 * (§107); its difference comes from the document's postpaid column, which
 * the damage does not touch. Logged, naming both documents: an operator
 * sees which document lost its lines and which one now states them. Logged
 * inside the transaction that writes the correction: if that transaction
 * fails (the job logs the failure), the rerun logs again. */
static void log_restated(const last_doc_t *l, const store_bill_t *c)
{
  IMC_WARN("meter", "event=bill_damaged_restated damaged=%s restated_by=%s sdkappid=%u month=%04d-%02d difference_fen=%lld"
           " msg=\"the last document of the month does not parse: a correction restates it, its difference from the"
           " damaged document's postpaid column\"",
           l->number, c->number, c->sdkappid, c->month / 100, c->month % 100, (long long)c->due_fen);
}

/* Inside the caller's transaction: price (app, month) again and issue a
 * correction when the bill changed. *issued = 1 and *out filled (out->body
 * malloc'd) when one was issued. Refusals (book, orders, pricing) come before
 * any write, with err. */
static int correct_txn(store_t *s, uint32_t app, int32_t month, int64_t now_s, int default_tz, meter_orders_fn fn, void *ud,
                       store_bill_t *out, int *issued, char *err, size_t cap)
{
  *issued = 0;
  memset(out, 0, sizeof *out);
  store_bill_t bill;
  int rc = store_bill_get(s, app, month, &bill);
  if (rc) return rc == IMC_E_NOTFOUND ? 0 : rc; /* no bill: nothing to correct */
  last_doc_t last = { .postpaid_fen = bill.postpaid_fen, .body = bill.body };
  memcpy(last.number, bill.number, sizeof last.number);
  store_app_t a;
  int tz;
  char *json = NULL;
  int64_t t[3];
  int damaged = 0; /* the last document does not parse */
  if (!(rc = store_bill_corrections(s, bill.seq, on_correction, &last)) && last.nomem) rc = IMC_E_NOMEM;
  if (!rc && (rc = store_app_get(s, app, &a))) imc_errf(err, cap, rc, "app %u: %s", app, imc_strerror(rc));
  if (!rc && (rc = meter_app_zone(s, app, default_tz, &tz))) imc_errf(err, cap, rc, "the billing zone of app %u", app);
  if (!rc) rc = meter__bill_price(s, &a, month, tz, fn, ud, NULL, NULL, &json, t, err, cap);
  int differs = !rc && strcmp(json, last.body) != 0;
  if (differs) { /* is the last document whole, or damaged (§107)? */
    json_t *doc = meter__bill_doc(last.body, &damaged);
    if (!doc && !damaged) rc = IMC_E_NOMEM;
    json_decref(doc);
  }
  if (!rc && differs) {
    store_bill_t in = { .sdkappid = app, .customer_id = bill.customer_id, .month = month, .issued_at_s = now_s,
                        .total_fen = t[0], .prepaid_fen = t[1], .postpaid_fen = t[2], .body = json,
                        .corrects_seq = bill.seq, .due_fen = t[2] - last.postpaid_fen };
    if (!(rc = store_bill_insert(s, &in, out))) {
      snprintf(out->corrects, sizeof out->corrects, "%s", bill.number);
      if (!(rc = meter__bill_settle_new(s, out, now_s))) {
        *issued = 1;
        json = NULL;
        if (damaged) log_restated(&last, out);
      }
    }
    if (rc) out->body = NULL;
  }
  free(json);
  free(last.body); /* the bill's body or the latest correction's */
  return rc;
}

int meter_bill_correct(store_t *s, int in_txn, uint32_t app, int32_t month, int64_t now_s, int default_tz, meter_orders_fn fn,
                       void *ud, store_bill_t *out, int *issued, char *err, size_t cap)
{
  if (cap) err[0] = 0;
  if (!in_txn && store_exec(s, "BEGIN IMMEDIATE")) return imc_errf(err, cap, IMC_E_BUSY, "the database is busy");
  int rc = correct_txn(s, app, month, now_s, default_tz, fn, ud, out, issued, err, cap);
  if (!rc) rc = store_bill_recheck_done(s, app, month);
  if (!in_txn) {
    if (!rc && (rc = store_exec(s, "COMMIT"))) imc_errf(err, cap, rc, "storing the correction failed");
    if (rc) store_exec(s, "ROLLBACK");
  }
  if (rc) { free(out->body); out->body = NULL; *issued = 0; }
  if (rc && cap && !err[0]) imc_errf(err, cap, rc, "app %u: %s", app, imc_strerror(rc));
  return rc;
}

/* The refusals of an operator's recheck, before anything is written (§109). */
static int recheck_ok(store_t *s, uint32_t app, int32_t month, int64_t now_s, int default_tz, char *err, size_t cap)
{
  store_app_t a;
  int tz, rc = store_app_get(s, app, &a);
  if (rc) return rc == IMC_E_NOTFOUND ? imc_errf(err, cap, rc, "no app %u", app) : rc;
  if ((rc = meter_app_zone(s, app, default_tz, &tz))) return imc_errf(err, cap, rc, "the billing zone of app %u", app);
  if (month % 100 < 1 || month % 100 > 12) return imc_errf(err, cap, IMC_E_BILL_MONTH, "bad month %d", month);
  if (now_s < meter__month_end(month, tz))
    return imc_errf(err, cap, IMC_E_BILL_MONTH, "%04d-%02d has not ended yet in the billing zone of app %u: it has no bill to recheck",
                    month / 100, month % 100, app);
  store_bill_t b;
  if ((rc = store_bill_get(s, app, month, &b)) == IMC_E_NOTFOUND)
    return imc_errf(err, cap, rc, "app %u has no bill for %04d-%02d: nothing to recheck (the bill run issues it)", app, month / 100,
                    month % 100);
  if (!rc) free(b.body);
  return rc;
}

int meter_bill_recheck_queue(store_t *s, int in_txn, uint32_t app, int32_t month, int64_t now_s, int default_tz, int *added,
                             char *err, size_t cap)
{
  if (cap) err[0] = 0;
  *added = 0;
  if (!in_txn && store_exec(s, "BEGIN IMMEDIATE")) return imc_errf(err, cap, IMC_E_BUSY, "the database is busy");
  int rc = recheck_ok(s, app, month, now_s, default_tz, err, cap);
  if (!rc) rc = store_bill_recheck_add(s, app, month, added); /* one entry per billed month: the queue's cap */
  if (!in_txn) {
    if (!rc && (rc = store_exec(s, "COMMIT"))) imc_errf(err, cap, rc, "storing the recheck failed");
    if (rc) store_exec(s, "ROLLBACK");
  }
  if (rc) *added = 0;
  if (rc && cap && !err[0]) imc_errf(err, cap, rc, "app %u: %s", app, imc_strerror(rc));
  return rc;
}

void meter_bill_recheck_log(uint32_t app, int32_t month, int added, const char *by)
{
  IMC_INFO("meter", "event=bill_recheck_queued sdkappid=%u month=%04d-%02d by=%s already_queued=%d"
           " msg=\"the month is rechecked by the next correction run (the day job)\"", app, month / 100, month % 100, by, !added);
}

typedef struct queue { meter_app_month_t *v; size_t n, cap; int nomem; } queue_t;

static void on_queued(void *ud, uint32_t app, int32_t month)
{
  queue_t *q = ud;
  if (q->n == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 64;
    void *v = realloc(q->v, cap * sizeof *q->v);
    if (!v) { q->nomem = 1; return; }
    q->v = v;
    q->cap = cap;
  }
  q->v[q->n].app = app;
  q->v[q->n++].month = month;
}

int meter_bill_recheck_list(store_t *s, meter_app_month_t **v, size_t *n)
{
  queue_t q = { 0 };
  int rc = store_bill_recheck_each(s, INT32_MAX, on_queued, &q);
  if (!rc && q.nomem) rc = IMC_E_NOMEM;
  if (rc) { free(q.v); q.v = NULL; q.n = 0; }
  *v = q.v;
  *n = q.n;
  return rc;
}

int meter_bill_corrections_step(store_t *s, const meter_app_month_t *v, size_t n, int64_t now_s, int default_tz,
                                meter_orders_fn fn, void *ud, meter_correction_stats_t *st, char *err, size_t cap)
{
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    st->checked++;
    store_bill_t b;
    int issued;
    char why[256] = "";
    int r = correct_txn(s, v[i].app, v[i].month, now_s, default_tz, fn, ud, &b, &issued, why, sizeof why);
    if (r == IMC_E_IO || r == IMC_E_BUSY || r == IMC_E_NOMEM || r == IMC_E_EXISTS) {
      rc = imc_errf(err, cap, r, "app %u: %s", v[i].app, why[0] ? why : imc_strerror(r));
      break;
    }
    if (r) { if (!st->failed++) imc_errf(err, cap, r, "%s", why); continue; } /* stays queued: tried again next time */
    if ((rc = store_bill_recheck_done(s, v[i].app, v[i].month))) { free(b.body); break; }
    if (issued) {
      st->issued++;
      st->paid += b.paid;
      st->refunded += b.due_fen < 0;
      free(b.body);
    }
  }
  return rc;
}

#define CORRECT_BATCH 1000 /* queued months per transaction */

int meter_bill_corrections_run(store_t *s, int in_txn, int64_t now_s, int default_tz, meter_orders_fn fn, void *ud,
                               meter_correction_stats_t *st, char *err, size_t cap)
{
  memset(st, 0, sizeof *st);
  if (cap) err[0] = 0;
  meter_app_month_t *v;
  size_t n;
  int rc = meter_bill_recheck_list(s, &v, &n);
  for (size_t i = 0; !rc && i < n; i += CORRECT_BATCH) {
    size_t k = n - i < CORRECT_BATCH ? n - i : CORRECT_BATCH;
    if (!in_txn && (rc = store_exec(s, "BEGIN IMMEDIATE"))) { imc_errf(err, cap, rc, "the database is busy"); break; }
    rc = meter_bill_corrections_step(s, v + i, k, now_s, default_tz, fn, ud, st, err, cap);
    if (!in_txn) {
      if (!rc && (rc = store_exec(s, "COMMIT"))) imc_errf(err, cap, rc, "committing corrections failed");
      if (rc) store_exec(s, "ROLLBACK"); /* this batch only: its months stay queued */
    }
  }
  free(v);
  return rc;
}

/* ---- documents as JSON: each bill with the corrections that follow it ----- */
typedef struct docs { json_t *arr; uint32_t app; int32_t month; int64_t now; int nomem; } docs_t;

static void on_doc(void *ud, const store_bill_t *b)
{
  docs_t *d = ud;
  if ((d->app && b->sdkappid != d->app) || (d->month && b->month != d->month)) return;
  json_t *o = meter_bill_json(b, d->now);
  if (!o) { d->nomem = 1; return; }
  if (!b->corrects_seq) {
    if (json_object_set_new(o, "corrections", json_array()) || json_array_append_new(d->arr, o)) d->nomem = 1;
    return;
  }
  /* a correction follows its bill in seq order: find the bill, newest first */
  for (size_t i = json_array_size(d->arr); i-- > 0;) {
    json_t *bill = json_array_get(d->arr, i);
    if (json_integer_value(json_object_get(bill, "seq")) == b->corrects_seq) {
      if (json_array_append_new(json_object_get(bill, "corrections"), o)) d->nomem = 1;
      return;
    }
  }
  json_decref(o); /* its bill is not in the list (filtered out) */
}

int meter_bills_json(store_t *s, int64_t customer_id, uint32_t app, int32_t month, int64_t now_s, json_t **out)
{
  docs_t d = { json_array(), app, month, now_s, 0 };
  *out = NULL;
  if (!d.arr) return IMC_E_NOMEM;
  int rc;
  if (month) { /* one bill: its row, then its corrections */
    store_bill_t b;
    if (!(rc = store_bill_get(s, app, month, &b))) {
      on_doc(&d, &b);
      int64_t seq = b.seq;
      free(b.body);
      rc = store_bill_corrections(s, seq, on_doc, &d);
    }
  } else {
    rc = store_bill_each(s, customer_id, 0, on_doc, &d);
  }
  if (!rc && d.nomem) rc = IMC_E_NOMEM;
  if (rc) { json_decref(d.arr); return rc; }
  *out = d.arr;
  return 0;
}
