/* bills.c — the monthly bill run (L-6, P-14): each app's usage month priced
 * by the billing library from stored usage and its purchase history, stored
 * as a numbered immutable bill (store.h "bills"), paid from the customer's
 * wallet when it covers the postpaid amount. Idempotent per (app, month):
 * the database holds at most one bill for it and issuing is one transaction. */
#include "billing/billing.h"
#include "meter/meter.h"
#include "meter/meter_int.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "util/json_whole.h"
#include "util/jsonload.h"
#include "util/jsonw.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int meter_orders_none(void *ud, store_t *s, const store_app_t *app, int32_t month, bill_order_t *orders, int cap, int *n,
                      char *err, size_t errcap)
{
  (void)ud; (void)s; (void)month; (void)orders; (void)cap;
  const bill_book_t *b;
  int rc = tenant_app_book(s, app, &b, err, errcap);
  if (rc) return rc;
  *n = 0;
  if (bill_book_edition_find(b, app->edition) == bill_book_free_edition(b)) return 0;
  return imc_errf(err, errcap, IMC_E_BILL_EDITION,
                  "app %u is on the %s edition: its bill needs its purchase history (orders), which this deployment does not store yet",
                  app->sdkappid, app->edition);
}

/* Metered figures → the billing library's usage (M-2 … M-6). */
static void to_usage(const meter_report_t *r, const bill_book_t *b, bill_usage_t *u)
{
  memset(u, 0, sizeof *u);
  u->peak_dau = r->peak_dau;
  u->mau = r->mau;
  u->peak_groups = r->peak_groups;
  for (int i = 0; i < r->ndays; i++)
    if (r->days[i].bandwidth_peak_mbps) u->bw_mbps[u->bw_days++] = r->days[i].bandwidth_peak_mbps; /* M-5: per day */
  u->c2c_roaming_months = r->c2c_roaming_months;
  u->history_days = r->history_days;
  for (int j = 0; j < BILL_CALL_KINDS && bill_book_call_kind(b, j); j++) {
    int k = meter_call_kind(bill_book_call_kind(b, j));
    if (k >= 0) u->call_minutes[j] = r->call_minutes[k];
  }
  u->given = (1u << BILL_M__COUNT) - 1;
}

/* Refuse, before anything is read or written, an app whose bill the book
 * cannot price: one whose edition depends on prices the operator has not set
 * (P-59, P-20; bill_book_placeholders). err names what is missing. (An app on
 * the original international scheme, P-50, has no book until the operator
 * gives one: tenant_app_book refuses it.) */
static int refuse_unpriced(const store_app_t *a, const bill_book_t *b, char *err, size_t cap)
{
  char missing[400];
  if (bill_book_placeholders(b, a->edition, a->region, missing, sizeof missing))
    return imc_errf(err, cap, IMC_E_BILL_BOOK, "app %u (%s %s, %s) is not billed until the operator sets %s in its price book",
                    a->sdkappid, a->scheme, a->edition, a->region, missing);
  return 0;
}

/* One part of a month's bill: app a (with the scheme and edition of the
 * part) priced with book b on the usage in r and its orders of that scheme
 * into bill. retention: add the retention add-ons held in the month
 * (meter__usage_retention). */
static int price_part(store_t *s, const store_app_t *a, int32_t month, const meter_report_t *r, int retention,
                      meter_orders_fn orders_fn, void *ud, const bill_book_t *b, bill_t *bill, char *err, size_t cap)
{
  int rc;
  bill_order_t orders[BILL_MAX_ORDERS];
  int n = 0;
  bill_usage_t u;
  to_usage(r, b, &u);
  if (retention && (rc = meter__usage_retention(s, a, month, &u, err, cap))) return rc; /* P-21, P-35, P-46: from the orders */
  if ((rc = orders_fn(ud, s, a, month, orders, BILL_MAX_ORDERS, &n, err, cap))) return rc;
  bill_input_t in = { .month = month, .orders = orders, .norders = n, .usage = &u, .strict = 0 };
  return bill_compute(b, &in, bill, err, cap);
}

/* The book of a (refused when it cannot price a's bill), or NULL with *rc. */
static const bill_book_t *part_book(store_t *s, const store_app_t *a, int *rc, char *err, size_t cap)
{
  const bill_book_t *b = NULL;
  if (!(*rc = tenant_app_book(s, a, &b, err, cap)) && (*rc = refuse_unpriced(a, b, err, cap))) b = NULL;
  return b;
}

/* The month an app moved to another scheme (P-07) is one bill: the lines of
 * the days before the move, priced on the scheme it left (old), come first,
 * their detail naming the scheme and days; the amounts add up
 * (docs/decisions/billing-scheme-change.md). IMC_E_BILL_USAGE when the lines
 * do not fit one bill. */
static int merge_old(bill_t *bill, const bill_t *old, const char *scheme, int64_t first_day, int64_t switch_day, char *err,
                     size_t cap)
{
  if (bill->nlines + old->nlines > BILL_MAX_LINES || bill->nbreaks + old->nbreaks > BILL_MAX_BREAKS)
    return imc_errf(err, cap, IMC_E_BILL_USAGE, "the %s part and the rest of %04d-%02d have more than %d lines together", scheme,
                    bill->month / 100, bill->month % 100, BILL_MAX_LINES);
  char a[16], b[16];
  imc_date_format(first_day, a, sizeof a);
  imc_date_format(switch_day - 1, b, sizeof b);
  memmove(bill->lines + old->nlines, bill->lines, (size_t)bill->nlines * sizeof *bill->lines);
  for (int i = 0; i < old->nlines; i++) {
    bill->lines[i] = old->lines[i];
    snprintf(bill->lines[i].detail, sizeof bill->lines[i].detail, "%s %s..%s: %s", scheme, a, b, old->lines[i].detail);
  }
  bill->nlines += old->nlines;
  for (int i = 0; i < old->nbreaks; i++)
    snprintf(bill->breaks[bill->nbreaks++], sizeof bill->breaks[0], "%s %s..%s: %s", scheme, a, b, old->breaks[i]);
  bill->total_fen += old->total_fen;
  bill->prepaid_fen += old->prepaid_fen;
  bill->postpaid_fen += old->postpaid_fen;
  return 0;
}

/* The bill of a month the app moved in: the two parts, each on its own days
 * (meter__report_days), merged into bill; *book = the new scheme's. */
static int price_split(store_t *s, const store_app_t *a, const store_app_t *old, int32_t month, int tz, int64_t first_day,
                       int64_t switch_day, meter_orders_fn orders_fn, void *ud, bill_t *bill, const bill_book_t **book,
                       char *err, size_t cap)
{
  int rc, sw_dd = (int)(switch_day - first_day + 1);
  const bill_book_t *ob = part_book(s, old, &rc, err, cap);
  if (!ob) return rc;
  if (!(*book = part_book(s, a, &rc, err, cap))) return rc;
  meter_report_t *r = malloc(sizeof *r);
  bill_t *ob_bill = malloc(sizeof *ob_bill);
  if (!r || !ob_bill) { rc = IMC_E_NOMEM; goto out; }
  if ((rc = meter__report_days(s, a->sdkappid, month, tz, 1, sw_dd - 1, r)) ||
      (rc = price_part(s, old, month, r, 0, orders_fn, ud, ob, ob_bill, err, cap))) goto out; /* legacy holds no retention (P-08) */
  if ((rc = meter__report_days(s, a->sdkappid, month, tz, sw_dd, 31, r)) ||
      (rc = price_part(s, a, month, r, 1, orders_fn, ud, *book, bill, err, cap))) goto out;
  rc = merge_old(bill, ob_bill, old->scheme, first_day, switch_day, err, cap);
out:
  if (rc && rc != IMC_E_NOMEM && cap && !err[0]) imc_errf(err, cap, rc, "usage of app %u: %s", a->sdkappid, imc_strerror(rc));
  free(r);
  free(ob_bill);
  return rc;
}

/* meter__bill_price with the JSON rendered into w (reset first; w->buf holds it on success).
 * An app that moved to another scheme (P-07, tenant_app_scheme_change) is
 * billed on the scheme it left for the months before the move, on both for
 * the month of the move (price_split), on its scheme since for the rest. */
static int price(store_t *s, const store_app_t *ap, int32_t month, int tz, meter_orders_fn orders_fn, void *ud,
                 const meter_report_t *rep, bill_t *work, jsonw_t *w, int64_t totals[3], char *err, size_t cap)
{
  store_app_t a = *ap, old = *ap;
  uint32_t app = a.sdkappid;
  int rc;
  jsonw_reset(w);
  tenant_scheme_change_t ch;
  if ((rc = tenant_app_scheme_change(s, app, &ch))) return imc_errf(err, cap, rc, "the scheme history of app %u: %s", app, imc_strerror(rc));
  int y = month / 100, m = month % 100;
  int64_t first = imc_days_from_civil(y, m, 1), last = first + imc_days_in_month(y, m) - 1;
  int64_t switch_day = ch.at_s ? imc_day_of(ch.at_s, tz) : INT64_MIN; /* the first day on the new scheme, in the billing zone */
  if (ch.at_s) {
    snprintf(old.scheme, sizeof old.scheme, "%s", ch.scheme);
    snprintf(old.edition, sizeof old.edition, "%s", ch.edition);
  }
  if (switch_day > last) a = old; /* a month before the move: on the book in force then */
  int split = switch_day > first && switch_day <= last;
  const bill_book_t *b = split ? NULL : part_book(s, &a, &rc, err, cap);
  if (!split && !b) return rc;
  meter_report_t *r = rep || split ? NULL : malloc(sizeof *r);
  bill_t *bill = work ? work : malloc(sizeof *bill);
  if ((!rep && !split && !r) || !bill) { rc = IMC_E_NOMEM; goto out; }
  if (split) {
    if ((rc = price_split(s, &a, &old, month, tz, first, switch_day, orders_fn, ud, bill, &b, err, cap))) goto out;
  } else {
    if (!rep && (rc = meter__report_tz(s, app, month, tz, 1, r))) { imc_errf(err, cap, rc, "usage of app %u: %s", app, imc_strerror(rc)); goto out; }
    if ((rc = price_part(s, &a, month, rep ? rep : r, 1, orders_fn, ud, b, bill, err, cap))) goto out;
  }
  bill_render_json(b, bill, w);
  if (split && !w->failed && w->len && w->buf[w->len - 1] == '}') { /* the document says when the scheme changed */
    char day[16], until[16];
    imc_date_format(switch_day, day, sizeof day);
    imc_date_format(switch_day - 1, until, sizeof until);
    w->buf[--w->len] = 0;
    jsonw_lit(w, ",\"scheme_change\":{\"from_scheme\":");
    jsonw_str(w, old.scheme, strlen(old.scheme));
    jsonw_lit(w, ",\"from_edition\":");
    jsonw_str(w, old.edition, strlen(old.edition));
    jsonw_lit(w, ",\"until\":");
    jsonw_str(w, until, strlen(until));
    jsonw_lit(w, ",\"day\":");
    jsonw_str(w, day, strlen(day));
    jsonw_lit(w, "}}");
  }
  if ((rc = w->failed)) { imc_errf(err, cap, rc, "rendering the bill of app %u: %s", app, imc_strerror(rc)); goto out; }
  totals[0] = bill->total_fen;
  totals[1] = bill->prepaid_fen;
  totals[2] = bill->postpaid_fen;
out:
  free(r);
  if (bill != work) free(bill);
  return rc;
}

int meter__bill_price(store_t *s, const store_app_t *a, int32_t month, int tz, meter_orders_fn orders_fn, void *ud,
                      const meter_report_t *rep, bill_t *work, char **json, int64_t totals[3], char *err, size_t cap)
{
  jsonw_t w;
  size_t len;
  jsonw_init(&w, METER_BILL_JSON_MAX);
  int rc = price(s, a, month, tz, orders_fn, ud, rep, work, &w, totals, err, cap);
  *json = rc ? NULL : jsonw_take(&w, &len);
  jsonw_free(&w);
  return rc;
}

int meter_bill_compute(store_t *s, uint32_t app, int32_t month, int default_tz, meter_orders_fn orders_fn, void *ud,
                       char **json, int64_t totals[3], char *err, size_t cap)
{
  if (cap) err[0] = 0;
  *json = NULL;
  store_app_t a;
  int tz, rc = store_app_get(s, app, &a);
  if (rc) return rc == IMC_E_NOTFOUND ? imc_errf(err, cap, rc, "no app %u", app) : rc;
  if ((rc = meter_app_zone(s, app, default_tz, &tz))) return imc_errf(err, cap, rc, "the billing zone of app %u: %s", app, imc_strerror(rc));
  return meter__bill_price(s, &a, month, tz, orders_fn, ud, NULL, NULL, json, totals, err, cap);
}

int64_t meter__month_end(int32_t month, int tz)
{
  int y = month / 100, m = month % 100;
  return imc_day_start(imc_days_from_civil(y, m, imc_days_in_month(y, m)) + 1, tz);
}

/* What a run knows of one customer's wallet inside its transaction (no one
 * else writes the ledger meanwhile): a bill the balance does not cover stays
 * open without a refused debit being tried (P-14). */
typedef struct wallet_memo { int64_t customer_id, balance_fen; int known; } wallet_memo_t;

/* meter__bill_settle_new for a new bill, with the balance remembered in m (NULL: none). */
static int settle(store_t *s, wallet_memo_t *m, store_bill_t *b, int64_t now_s)
{
  int rc;
  if (!m || b->due_fen <= 0) return meter__bill_settle_new(s, b, now_s);
  if (!m->known || m->customer_id != b->customer_id) {
    if ((rc = store_wallet_balance(s, b->customer_id, &m->balance_fen))) return rc;
    m->customer_id = b->customer_id;
    m->known = 1;
  }
  if (m->balance_fen < b->due_fen) return 0; /* open: the debit would be refused */
  rc = meter__bill_settle_new(s, b, now_s);
  if (!rc && b->paid) m->balance_fen -= b->due_fen;
  else m->known = 0;
  return rc;
}

/* Issue inside the caller's transaction. Everything that can refuse an app
 * (book, orders, pricing) runs before the first write; *wrote = 1 once the
 * bill row is written (a later failure must roll the transaction back).
 * unbilled: the caller has just listed the app among those without a bill
 * for the month, so it is not looked up first (if one was issued since, the
 * insert is refused and that bill is read instead). rep, work: see
 * meter__bill_price; w: the JSON writer the bill is rendered into; m: see
 * settle. next_seq: NULL, or the seq the next bill gets when known (0: not
 * yet), kept by a caller that issues several bills in one transaction (the
 * run's batch): set after each insert, so only the first reads max(seq).
 * out->body: a bill that existed, malloc'd (the caller frees it);
 * a new one, w->buf (valid until w is used again). */
static int issue_txn(store_t *s, const store_app_t *a, int32_t month, int64_t now_s, int tz, meter_orders_fn fn, void *ud,
                     int unbilled, const meter_report_t *rep, bill_t *work, jsonw_t *w, wallet_memo_t *m, int64_t *next_seq,
                     store_bill_t *out, int *existed, int *wrote, char *err, size_t cap)
{
  *wrote = *existed = 0;
  int rc = unbilled ? IMC_E_NOTFOUND : store_bill_get(s, a->sdkappid, month, out);
  if (!rc) { *existed = 1; return 0; }
  if (rc != IMC_E_NOTFOUND) return rc;
  int64_t t[3];
  if ((rc = price(s, a, month, tz, fn, ud, rep, work, w, t, err, cap))) return rc;
  store_bill_t in = { .sdkappid = a->sdkappid, .customer_id = a->customer_id, .month = month, .issued_at_s = now_s,
                      .total_fen = t[0], .prepaid_fen = t[1], .postpaid_fen = t[2], .body = w->buf,
                      .seq = next_seq ? *next_seq : 0 };
  rc = store_bill_insert(s, &in, out);
  if (!rc && next_seq) *next_seq = out->seq + 1;
  if (rc == IMC_E_EXISTS && unbilled && !(rc = store_bill_get(s, a->sdkappid, month, out))) { *existed = 1; return 0; }
  if (rc) { out->body = NULL; return rc; }
  *wrote = 1;
  if ((rc = settle(s, m, out, now_s))) { out->body = NULL; return rc; }
  return 0;
}

int meter__bill_settle_new(store_t *s, store_bill_t *b, int64_t now_s)
{
  if (!b->due_fen) return 0;
  char reason[96], ref[48];
  snprintf(ref, sizeof ref, "bill-%s", b->number);
  if (b->corrects_seq) snprintf(reason, sizeof reason, "correction %s of bill %s", b->number, b->corrects);
  else snprintf(reason, sizeof reason, "bill %s", b->number);
  store_ledger_t e;
  if (b->due_fen < 0) /* a correction downwards: the difference is credited */
    return tenant_wallet_post(s, 1, b->customer_id, TENANT_LEDGER_REFUND, -b->due_fen, reason, ref, now_s, &e);
  /* P-14: paid from the wallet when it covers the document, else open */
  int rc = tenant_wallet_post(s, 1, b->customer_id, TENANT_LEDGER_PAYMENT, b->due_fen, reason, ref, now_s, &e);
  if (!rc) b->paid = 1;
  return rc == IMC_E_WALLET_FUNDS ? 0 : rc;
}

int meter_bill_issue(store_t *s, int in_txn, uint32_t app, int32_t month, int64_t now_s, int default_tz,
                     meter_orders_fn fn, void *ud, store_bill_t *out, int *existed, char *err, size_t cap)
{
  if (cap) err[0] = 0;
  *existed = 0;
  memset(out, 0, sizeof *out);
  store_app_t a;
  int tz, rc = store_app_get(s, app, &a);
  if (rc) return rc == IMC_E_NOTFOUND ? imc_errf(err, cap, rc, "no app %u", app) : rc;
  if ((rc = meter_app_zone(s, app, default_tz, &tz))) return rc;
  if (month % 100 < 1 || month % 100 > 12 || now_s < meter__month_end(month, tz))
    return imc_errf(err, cap, IMC_E_BILL_MONTH, "%04d-%02d has not ended yet: its bill is issued on the 1st of the next month",
                    month / 100, month % 100);
  if (!in_txn && (rc = store_exec(s, "BEGIN IMMEDIATE"))) return imc_errf(err, cap, rc, "the database is busy");
  int wrote;
  jsonw_t w;
  size_t len;
  jsonw_init(&w, METER_BILL_JSON_MAX);
  rc = issue_txn(s, &a, month, now_s, tz, fn, ud, 0, NULL, NULL, &w, NULL, NULL, out, existed, &wrote, err, cap);
  if (!rc && !*existed) out->body = jsonw_take(&w, &len); /* the caller's */
  jsonw_free(&w);
  if (!in_txn) {
    if (!rc && (rc = store_exec(s, "COMMIT"))) imc_errf(err, cap, rc, "storing the bill failed");
    if (rc) store_exec(s, "ROLLBACK");
  }
  if (rc && out->body) { free(out->body); out->body = NULL; }
  if (rc && cap && !err[0]) imc_errf(err, cap, rc, "app %u: %s", app, imc_strerror(rc));
  return rc;
}

typedef struct app_ids { uint32_t *v; size_t n, cap; int nomem; } app_ids_t;

static void push_id(app_ids_t *ids, uint32_t id)
{
  if (ids->n == ids->cap) {
    size_t cap = ids->cap ? ids->cap * 2 : 64;
    uint32_t *v = realloc(ids->v, cap * sizeof *v);
    if (!v) { ids->nomem = 1; return; }
    ids->v = v;
    ids->cap = cap;
  }
  ids->v[ids->n++] = id;
}

static void on_unbilled(void *ud, uint32_t app, int32_t month) { (void)month; push_id(ud, app); }
static void on_billed_count(void *ud, uint32_t app, int32_t month)
{
  (void)app; (void)month;
  meter_bill_run_stats_t *st = ud;
  st->apps++;
  st->existing++;
}

#define RUN_BATCH 1000        /* apps read together (their rows, then their usage, one statement per table) */
#define RUN_COMMIT_BATCHES 10 /* batches per transaction of meter_bill_run (10,000 apps, about 0.1 s of the write lock: one fsync each) */

/* Billing zones by region, looked up once per run. */
typedef struct zones { int n; struct { char region[24]; int tz; } z[16]; } zones_t;

static int zone_of(store_t *s, zones_t *zs, const store_app_t *a, int default_tz, int *tz)
{
  for (int i = 0; i < zs->n; i++) if (!strcmp(zs->z[i].region, a->region)) { *tz = zs->z[i].tz; return 0; }
  int rc = meter_app_zone(s, a->sdkappid, default_tz, tz);
  if (!rc && zs->n < 16) { snprintf(zs->z[zs->n].region, sizeof zs->z[0].region, "%s", a->region); zs->z[zs->n++].tz = *tz; }
  return rc;
}

/* The month rules every bill run checks first. */
static int run_month_ok(int32_t month, int64_t now_s, int default_tz, char *err, size_t cap)
{
  if (month % 100 < 1 || month % 100 > 12) return imc_errf(err, cap, IMC_E_BILL_MONTH, "bad month %d", month);
  if (now_s < meter__month_end(month, default_tz))
    return imc_errf(err, cap, IMC_E_BILL_MONTH, "%04d-%02d has not ended yet: its bill run is on the 1st of the next month",
                    month / 100, month % 100);
  return 0;
}

/* A batch of the run: up to RUN_BATCH apps to issue, their zones and usage reports. */
typedef struct run_batch {
  store_app_t app[RUN_BATCH];
  uint32_t id[RUN_BATCH];
  int tz[RUN_BATCH];
  meter_report_t rep[RUN_BATCH];
  bill_t bill;                 /* each app's bill while it is priced */
  jsonw_t w;                   /* and its JSON */
  size_t napps;                /* rows read into app */
} run_batch_t;

/* The run's first failure into err, naming the app (a pricing refusal such
 * as "legacy (旧版本 IM) cannot extend history_days beyond 7" did not say
 * which of the run's apps it was) unless the reason starts with it. */
static void first_failure(char *err, size_t cap, int rc, uint32_t app, const char *why)
{
  char self[24];
  int n = snprintf(self, sizeof self, "app %u ", app);
  if (!strncmp(why, self, (size_t)n)) imc_errf(err, cap, rc, "%s", why);
  else imc_errf(err, cap, rc, "app %u: %s", app, why[0] ? why : imc_strerror(rc));
}

/* Issue the bills of the batch's m apps inside the open transaction (the
 * reports read by one statement per usage table, the wallet balance of each
 * customer read once), adding to *st. A storage error stops it (rc). */
static int issue_batch(store_t *s, run_batch_t *k, size_t m, int32_t month, int64_t now_s, meter_orders_fn fn, void *ud,
                       int unbilled, meter_bill_run_stats_t *st, char *err, size_t cap)
{
  int rc = tenant_books_pin(s);
  if (!rc && (rc = meter__report_apps(s, k->id, k->tz, m, month, k->rep))) imc_errf(err, cap, rc, "reading the usage of %zu apps: %s", m, imc_strerror(rc));
  wallet_memo_t memo = { 0 };
  int64_t next_seq = 0; /* the batch is inside one transaction: max(seq) is read for its first bill only */
  for (size_t j = 0; !rc && j < m; j++) {
    const store_app_t *a = &k->app[j];
    store_bill_t b;
    char why[256];
    int existed, wrote;
    why[0] = 0;
    st->apps++;
    int r = issue_txn(s, a, month, now_s, k->tz[j], fn, ud, unbilled, &k->rep[j], &k->bill, &k->w, &memo, &next_seq, &b, &existed, &wrote,
                      why, sizeof why);
    if (r && (wrote || r == IMC_E_IO || r == IMC_E_BUSY || r == IMC_E_NOMEM)) { rc = imc_errf(err, cap, r, "app %u: %s", a->sdkappid, why[0] ? why : imc_strerror(r)); break; }
    if (r) { if (!st->failed++) first_failure(err, cap, r, a->sdkappid, why); continue; }
    if (existed) { st->existing++; free(b.body); }
    else { st->issued++; st->paid += b.paid; }
  }
  tenant_books_unpin();
  return rc;
}

static void on_batch_app(void *ud, const store_app_t *a)
{
  run_batch_t *k = ud;
  if (k->napps < RUN_BATCH) k->app[k->napps++] = *a;
}

/* Bill the apps ids[0..n) (ascending) for month, adding to *st. unbilled:
 * the ids were just listed as the apps without a bill for the month (see
 * issue_txn); else each app's bill is looked up first. In batches of
 * RUN_BATCH apps (their rows read by one statement, then their usage); not
 * in_txn: BEGIN … COMMIT every RUN_COMMIT_BATCHES batches, a storage error
 * rolls back the transaction in progress only. */
static int bill_ids(store_t *s, int in_txn, int32_t month, int64_t now_s, int default_tz, meter_orders_fn fn, void *ud,
                    const uint32_t *ids, size_t n, int unbilled, meter_bill_run_stats_t *st, char *err, size_t cap)
{
  zones_t zs = { 0 };
  run_batch_t *k = malloc(sizeof *k);
  if (!k) return IMC_E_NOMEM;
  jsonw_init(&k->w, METER_BILL_JSON_MAX);
  int rc = 0, open = 0, batches = 0;
  size_t i = 0;
  while (!rc && i < n) {
    size_t want = 0, m = 0;
    for (; i < n && want < RUN_BATCH; i++) {
      assert(!i || ids[i - 1] < ids[i]);
      k->id[want++] = ids[i];
    }
    if (!want) break;
    if (!in_txn && !open) { /* the batch's reads and writes in one transaction */
      if ((rc = store_exec(s, "BEGIN IMMEDIATE"))) { imc_errf(err, cap, rc, "the database is busy"); break; }
      open = 1;
    }
    k->napps = 0;
    if ((rc = store_app_get_many(s, k->id, want, on_batch_app, k))) break; /* an app no longer there has no bill */
    for (size_t j = 0; !rc && j < k->napps; j++) {
      const store_app_t *a = &k->app[j];
      if ((rc = zone_of(s, &zs, a, default_tz, &k->tz[m]))) break;
      if (a->created_at_s >= meter__month_end(month, k->tz[m])) continue; /* created after the month: nothing to bill */
      int64_t end = meter__month_end(month, k->tz[m]);
      if (now_s < end) { /* not ended in its zone (west of the run's): left for a later run, the others go on */
        st->later++;
        if (!st->later_s || end < st->later_s) st->later_s = end;
        continue;
      }
      if (m != j) k->app[m] = *a;
      k->id[m++] = a->sdkappid;
    }
    if (!rc && m) rc = issue_batch(s, k, m, month, now_s, fn, ud, unbilled, st, err, cap);
    if (open && !rc && (++batches % RUN_COMMIT_BATCHES == 0 || i == n)) {
      open = 0;
      if ((rc = store_exec(s, "COMMIT"))) { imc_errf(err, cap, rc, "committing bills failed"); open = 1; }
    }
  }
  if (open) {
    if (!rc && (rc = store_exec(s, "COMMIT"))) imc_errf(err, cap, rc, "committing bills failed");
    if (rc) store_exec(s, "ROLLBACK"); /* this transaction only: earlier ones stay, a rerun finishes */
  }
  jsonw_free(&k->w);
  free(k);
  return rc;
}

int meter_bill_run(store_t *s, int in_txn, int32_t month, int64_t now_s, int default_tz, meter_orders_fn fn, void *ud,
                   meter_bill_run_stats_t *st, char *err, size_t cap)
{
  memset(st, 0, sizeof *st);
  if (cap) err[0] = 0;
  int rc = run_month_ok(month, now_s, default_tz, err, cap);
  if (rc) return rc;
  /* the apps with a bill are counted, not read; those without one are listed first (issuing writes
   * bills while a list is read) */
  app_ids_t ids = { 0 };
  rc = store_bill_month_apps(s, month, 1, on_billed_count, st);
  if (!rc) rc = store_bill_month_apps(s, month, 0, on_unbilled, &ids);
  if (!rc && ids.nomem) rc = IMC_E_NOMEM;
  if (!rc) rc = bill_ids(s, in_txn, month, now_s, default_tz, fn, ud, ids.v, ids.n, 1, st, err, cap);
  free(ids.v);
  return rc;
}

int meter_bill_run_apps(store_t *s, int32_t month, int64_t now_s, int default_tz, meter_orders_fn fn, void *ud,
                        const uint32_t *ids, size_t n, meter_bill_run_stats_t *st, char *err, size_t cap)
{
  int rc = run_month_ok(month, now_s, default_tz, err, cap);
  return rc ? rc : bill_ids(s, 1, month, now_s, default_tz, fn, ud, ids, n, 0, st, err, cap);
}

int32_t meter_bill_due_month(int64_t now_s, int tz)
{
  int y, m, d;
  imc_civil_from_days(imc_day_of(now_s, tz), &y, &m, &d);
  return m == 1 ? (y - 1) * 100 + 12 : y * 100 + m - 1;
}

typedef struct unpaid { store_bill_t *v; size_t n, cap; int nomem; } unpaid_t;

static void on_unpaid(void *ud, const store_bill_t *b)
{
  unpaid_t *u = ud;
  if (b->due_fen <= 0) return;
  if (u->n == u->cap) {
    size_t cap = u->cap ? u->cap * 2 : 8;
    store_bill_t *v = realloc(u->v, cap * sizeof *v);
    if (!v) { u->nomem = 1; return; }
    u->v = v;
    u->cap = cap;
  }
  u->v[u->n] = *b;
  u->v[u->n++].body = NULL;
}

int meter_bill_settle(store_t *s, int64_t customer_id, int64_t now_s, int *paid)
{
  *paid = 0;
  unpaid_t u = { 0 };
  int rc = store_bill_each(s, customer_id, 1, on_unpaid, &u);
  if (!rc && u.nomem) rc = IMC_E_NOMEM;
  for (size_t i = 0; !rc && i < u.n; i++) {
    char reason[80], ref[48];
    snprintf(reason, sizeof reason, "%s %s", u.v[i].corrects_seq ? "correction" : "bill", u.v[i].number);
    snprintf(ref, sizeof ref, "bill-%s", u.v[i].number);
    store_ledger_t e;
    rc = tenant_wallet_post(s, store_in_transaction(s), customer_id, TENANT_LEDGER_PAYMENT, u.v[i].due_fen, reason, ref, now_s, &e);
    if (rc == IMC_E_WALLET_FUNDS) { rc = 0; break; } /* oldest first: a later bill waits for the older one */
    if (!rc) (*paid)++;
  }
  free(u.v);
  return rc;
}

const char *meter_bill_status(const store_bill_t *b, int64_t now_s)
{
  if (b->paid || b->due_fen <= 0) return "paid";
  return now_s >= b->issued_at_s + METER_BILL_GRACE_DAYS * 86400 ? "overdue" : "open"; /* P-14, P-45 */
}

json_t *meter__bill_doc(const char *body, int *damaged)
{
  const char *text = body ? body : "";
  int oom = 0;
  json_t *o = jsonload_b(text, strlen(text), 0, &oom);
  *damaged = !oom && !json_is_object(o);
  if (*damaged) { json_decref(o); o = NULL; }
  return o;
}

json_t *meter_bill_json(const store_bill_t *b, int64_t now_s)
{
  int damaged, bad = 0; /* whole or NULL (§90) */
  json_t *o = meter__bill_doc(b->body, &damaged);
  if (!o && !damaged) return NULL; /* out of memory: the caller's 500 NOMEM */
  if (damaged) {
    /* a stored body that does not parse (disk damage, a manual edit): the document from its columns, marked,
     * not refused for ever (decisions messaging-c2c-checks3.md §91, as §88 for messages) */
    char month[16];
    snprintf(month, sizeof month, "%04d-%02d", b->month / 100, b->month % 100);
    o = json_object();
    jwhole_put(o, "damaged", json_true(), &bad);
    jwhole_put(o, "bill_month", json_string(month), &bad); /* as a whole document names it (§109) */
    jwhole_put(o, "month", json_string(month), &bad);      /* §91's name, kept for its callers */
    jwhole_put(o, "total_fen", json_integer(b->total_fen), &bad);
    jwhole_put(o, "prepaid_fen", json_integer(b->prepaid_fen), &bad);
    jwhole_put(o, "postpaid_fen", json_integer(b->postpaid_fen), &bad);
  }
  jwhole_put(o, "number", json_string(b->number), &bad);
  jwhole_put(o, "seq", json_integer(b->seq), &bad);
  jwhole_put(o, "sdkappid", json_integer(b->sdkappid), &bad);
  jwhole_put(o, "customer_id", json_integer(b->customer_id), &bad);
  jwhole_put(o, "issued_at", json_integer(b->issued_at_s), &bad);
  jwhole_put(o, "due_at", json_integer(b->issued_at_s + METER_BILL_GRACE_DAYS * 86400), &bad);
  jwhole_put(o, "status", json_string(meter_bill_status(b, now_s)), &bad);
  if (b->corrects_seq) {
    jwhole_put(o, "corrects", json_string(b->corrects), &bad);
    jwhole_put(o, "difference_fen", json_integer(b->due_fen), &bad);
  }
  return jwhole_take(o, bad);
}
