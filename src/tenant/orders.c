/* orders.c — prepaid orders per app (L-5) and the edition life cycle that
 * acts on them: upgrades (package orders), add-ons, renewals, auto-renewal,
 * suspension after the grace period and resumption (docs/editions.md,
 * "Purchases and the life cycle").
 *
 * An order is priced by the app's price book on its day T (tenant_app_book
 * and bill_order_price: the book and the function the bills use), valid T to T-1 of the next month (L-2,
 * bill_period_start), debits the customer's wallet with an `order` ledger
 * entry and is recorded, all in one transaction: a short balance
 * (IMC_E_WALLET_FUNDS) or any other refusal writes nothing. References are
 * idempotent: the same reference again returns the stored order (replayed).
 * Each function owns a transaction (BEGIN IMMEDIATE) when called outside
 * one (the CLI) and nests in a SAVEPOINT inside one (a writer-thread job of
 * the server, e.g. an operator API endpoint).
 * The per-app settings in meta the life cycle reads and writes are
 * settings.c's. */
#include "billing/billing.h"
#include "tenant/tenant_int.h"
#include "util/date.h"
#include "util/err.h"
#include "util/json_whole.h"
#include "util/num.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>

static int failf(char *err, size_t cap, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int failf(char *err, size_t cap, int code, const char *fmt, ...)
{
  if (cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
  }
  return code;
}


/* ---- transactions: own one from the CLI, nest in a writer job's ------------------- */
typedef struct txn { store_t *s; int nested; } txn_t;

static int txn_open(txn_t *t, store_t *s)
{
  t->s = s;
  t->nested = store_in_transaction(s);
  return store_exec(s, t->nested ? "SAVEPOINT tenant_order" : "BEGIN IMMEDIATE");
}

/* Commit (rc == 0) or roll back everything since txn_open; returns rc, or
 * the commit's error. */
static int txn_close(txn_t *t, int rc)
{
  if (t->nested) {
    if (rc) store_exec(t->s, "ROLLBACK TO tenant_order");
    int rc2 = store_exec(t->s, "RELEASE tenant_order");
    return rc ? rc : rc2;
  }
  if (rc) { store_exec(t->s, "ROLLBACK"); return rc; }
  return store_exec(t->s, "COMMIT");
}

/* ---- loading ------------------------------------------------------------------ */
typedef struct olist { store_order_t *v; int n, cap, oom; } olist_t;

static void on_order(void *ud, const store_order_t *o)
{
  olist_t *l = ud;
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 16;
    store_order_t *v = realloc(l->v, (size_t)cap * sizeof *v);
    if (!v) { l->oom = 1; return; }
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = *o;
}

int tenant_app_orders(store_t *s, uint32_t sdkappid, store_order_t **out, int *n)
{
  olist_t l = { 0 };
  int rc = store_order_each(s, sdkappid, on_order, &l);
  if (!rc && l.oom) rc = IMC_E_NOMEM;
  if (rc) { free(l.v); return rc; }
  *out = l.v;
  *n = l.n;
  return 0;
}

int tenant_app_state(store_t *s, uint32_t sdkappid, int64_t day, store_app_t *app, tenant_lifecycle_t *lc)
{
  int rc = store_app_get(s, sdkappid, app);
  if (rc) return rc;
  store_order_t *v;
  int n;
  if ((rc = tenant_app_orders(s, sdkappid, &v, &n))) return rc;
  rc = tenant_lifecycle(app, v, n, day, lc);
  free(v);
  if (!rc) rc = tenant_app_push_approved(s, sdkappid, &lc->plan.push_approved_at_s);
  return rc;
}

/* ---- pricing one order ------------------------------------------------------------- */
typedef struct place {
  store_t *s;
  store_app_t app;
  bill_scheme_t scheme;
  const bill_book_t *book;
  store_order_t *orders;
  int norders;
  char *err;
  size_t errcap;
} place_t;

static int edition_of(const place_t *p, const char *code)
{
  return code ? bill_book_edition_find(p->book, code) : -1;
}

/* The order's price book: "s2022@2022-06-01" (its first day, or "open"),
 * "intl@2022-12-26 (operator)" for an operator's book (tenant_app_book). */
static void book_label(const place_t *p, char *out, size_t cap)
{
  int64_t from, to;
  bill_book_effective(p->book, &from, &to);
  char d[16];
  imc_date_format(from == INT64_MIN ? 0 : from, d, sizeof d);
  snprintf(out, cap, "%s@%s%s", bill_scheme_name(p->scheme), from == INT64_MIN ? "open" : d,
           tenant_book_is_operator(p->book) ? " (operator)" : "");
}

/* Price, debit and record one order period; the caller holds the transaction. */
static int record(place_t *p, store_order_t *o, const bill_order_t *bo, int held, int64_t now_s)
{
  int64_t fen;
  bill_kind_t kind;
  int included;
  int rc = bill_order_price(p->book, bo, held, &fen, &kind, &included, p->err, p->errcap);
  if (rc) return rc;
  book_label(p, o->book, sizeof o->book);
  o->price_fen = fen;
  snprintf(o->pay, sizeof o->pay, "%s", included || !fen ? "included" : kind == BILL_PREPAID ? "prepaid" : "postpaid");
  o->sdkappid = p->app.sdkappid;
  o->customer_id = p->app.customer_id;
  o->at_s = now_s;
  if (!strcmp(o->pay, "prepaid")) {
    char ref[65], reason[201], a[16], b[16], val[40] = "";
    snprintf(ref, sizeof ref, "order-%u-%.40s", p->app.sdkappid, o->reference); /* references are <= 40 bytes */
    imc_date_format(o->start_day, a, sizeof a);
    imc_date_format(o->end_day, b, sizeof b);
    if (o->value) snprintf(val, sizeof val, "=%lld", (long long)o->value);
    else if (o->value_name[0]) snprintf(val, sizeof val, "=%s", o->value_name);
    snprintf(reason, sizeof reason, "app %u %s %s%s %s..%s (%s)", p->app.sdkappid, o->kind, o->item, val, a, b, o->book);
    store_ledger_t e;
    rc = tenant_wallet_post(p->s, 1, p->app.customer_id, TENANT_LEDGER_ORDER, fen, reason, ref, now_s, &e);
    if (rc == IMC_E_WALLET_FUNDS) {
      int64_t bal = 0;
      store_wallet_balance(p->s, p->app.customer_id, &bal);
      return failf(p->err, p->errcap, rc, "the order costs %lld fen, customer %lld has %lld fen: top up first",
                   (long long)fen, (long long)p->app.customer_id, (long long)bal);
    }
    if (rc) return failf(p->err, p->errcap, rc, "wallet: %s", imc_strerror(rc));
    o->ledger_id = e.id;
  }
  return store_order_insert(p->s, o, &o->id);
}

/* Open the app, its book and its orders. */
static int place_open(place_t *p, store_t *s, uint32_t sdkappid, char *err, size_t errcap)
{
  memset(p, 0, sizeof *p);
  p->s = s;
  p->err = err;
  p->errcap = errcap;
  if (errcap) err[0] = 0;
  int rc = store_app_get(s, sdkappid, &p->app);
  if (rc) return failf(err, errcap, rc, rc == IMC_E_NOTFOUND ? "no app %u" : "app %u: storage error", sdkappid);
  if (bill_scheme_parse(p->app.scheme, &p->scheme)) return failf(err, errcap, IMC_E_BILL_SCHEME, "app %u has an unknown scheme", sdkappid);
  if ((rc = tenant_app_book(s, &p->app, &p->book, err, errcap))) return rc; /* the book its bills are priced with */
  return tenant_app_orders(s, sdkappid, &p->orders, &p->norders);
}

/* An order is dated on a day the app's book priced it: from the book's first
 * day, and for an app moved off legacy (P-07) from the day of the move: the
 * day of the move's instant in the app's billing zone (tenant_app_zone, the
 * server's default zone as `serve` stored it), the first day its bills price
 * on the new scheme (bills.c price); the days before are legacy's, billed
 * with legacy's orders only. It was the China day of the move, which in
 * another zone is a day earlier or later than the bills' (billing-scheme-change.md §6). */
static int book_in_force(place_t *p, int64_t day)
{
  int64_t from, to;
  char a[16], b[16];
  tenant_scheme_change_t ch;
  int tz = IMC_TZ_CHINA_S;
  int rc = tenant_app_scheme_change(p->s, p->app.sdkappid, &ch);
  if (!rc && ch.at_s && !(rc = tenant_zone_default(p->s, IMC_TZ_CHINA_S, &tz))) rc = tenant_app_zone(p->s, p->app.sdkappid, tz, &tz);
  if (rc) return failf(p->err, p->errcap, rc, "app %u: its scheme history: %s", p->app.sdkappid, imc_strerror(rc));
  int64_t moved = ch.at_s ? imc_day_of(ch.at_s, tz) : INT64_MIN;
  if (day < moved) {
    char t[32];
    imc_date_format(moved, b, sizeof b);
    imc_date_format(day, a, sizeof a);
    snprintf(t, sizeof t, "UTC%c%02d:%02d", tz < 0 ? '-' : '+', abs(tz) / 3600, abs(tz) % 3600 / 60);
    return failf(p->err, p->errcap, IMC_E_BILL_NO_BOOK, "app %u moved from %s to %s on %s (%s, P-07); no order can be dated %s",
                 p->app.sdkappid, ch.scheme, p->app.scheme, b, t, a);
  }
  bill_book_effective(p->book, &from, &to);
  if (day >= from) return 0;
  imc_date_format(day, a, sizeof a);
  imc_date_format(from, b, sizeof b);
  return failf(p->err, p->errcap, IMC_E_BILL_NO_BOOK, "the %s price book starts on %s; no order can be dated %s",
               p->app.scheme, b, a);
}

/* A replay of the same reference returns the stored order. */
static int replay(place_t *p, const store_order_t *want, store_order_t *out, int *replayed)
{
  store_order_t o;
  int rc = store_order_get_ref(p->s, p->app.sdkappid, want->reference, &o);
  if (rc == IMC_E_NOTFOUND) return 0;
  if (rc) return rc;
  if (strcmp(o.kind, want->kind) || strcmp(o.item, want->item) || o.value != want->value ||
      strcmp(o.value_name, want->value_name))
    return failf(p->err, p->errcap, IMC_E_EXISTS, "reference %s was used for a different order (%s %s)", want->reference,
                 o.kind, o.item);
  *out = o;
  *replayed = 1;
  return 1;
}

/* Before any validation: a retried command with the same reference is a
 * no-op that returns the stored order (1), a different order with that
 * reference is IMC_E_EXISTS. */
static int pre_replay(place_t *p, const char *kind, const char *item, int64_t value, const char *value_name,
                      const char *reference, store_order_t *out, int *replayed)
{
  store_order_t want;
  memset(&want, 0, sizeof want);
  snprintf(want.kind, sizeof want.kind, "%s", kind);
  snprintf(want.item, sizeof want.item, "%s", item);
  want.value = value;
  snprintf(want.value_name, sizeof want.value_name, "%s", value_name ? value_name : "");
  snprintf(want.reference, sizeof want.reference, "%s", reference);
  return replay(p, &want, out, replayed);
}

static int ref_ok(place_t *p, const char *reference)
{
  size_t n = reference ? strlen(reference) : 0;
  for (size_t i = 0; i < n; i++)
    if (reference[i] < 0x21 || reference[i] > 0x7e) n = 0;
  if (n >= 1 && n <= TENANT_ORDER_REF_MAX) return 0;
  return failf(p->err, p->errcap, IMC_E_INVAL, "a reference is 1-%d printable ASCII bytes", TENANT_ORDER_REF_MAX);
}

/* An order the caller dates (upgrade, add-on) must start in a month whose
 * bill is not issued: refused otherwise (IMC_E_BILL_MONTH_ISSUED); the caller
 * chose the day. A renewal starts where the package's last period ends,
 * which may be in a billed month: its insert queues that month's correction
 * (trigger bill_recheck_orders_INSERT, migration 35). */
static int month_open(place_t *p, int64_t day)
{
  int y, m, d;
  imc_civil_from_days(day, &y, &m, &d);
  store_bill_t b;
  int rc = store_bill_get(p->s, p->app.sdkappid, y * 100 + m, &b);
  if (rc == IMC_E_NOTFOUND) return 0;
  if (rc) return failf(p->err, p->errcap, rc, "app %u: storage error", p->app.sdkappid);
  free(b.body); /* the document: store_bill_get's copy */
  return failf(p->err, p->errcap, IMC_E_BILL_MONTH_ISSUED,
               "the %04d-%02d bill of app %u is issued (%s): an order cannot start in a billed month", y, m,
               p->app.sdkappid, b.number);
}

/* dated: the order starts on the day the caller gave (upgrade, add-on), which must be in a month not billed
 * yet (month_open); a renewal starts where the package's last period ends. */
static int run_txn(place_t *p, store_order_t *o, const bill_order_t *bo, int held, const char *set_edition, int dated,
                   int64_t now_s, store_order_t *out, int *replayed)
{
  txn_t t;
  int rc = txn_open(&t, p->s);
  if (rc) return failf(p->err, p->errcap, rc, "database busy");
  rc = replay(p, o, out, replayed);
  if (rc == 1) return txn_close(&t, 0);
  if (!rc && dated) rc = month_open(p, o->start_day);
  if (!rc) rc = record(p, o, bo, held, now_s);
  if (!rc && set_edition) rc = store_app_set(p->s, p->app.sdkappid, "edition", set_edition);
  if ((rc = txn_close(&t, rc))) {
    if (p->errcap && !p->err[0]) snprintf(p->err, p->errcap, "%s", imc_strerror(rc));
    return rc;
  }
  *out = *o;
  return 0;
}

static void order_period(store_order_t *o, int64_t anchor, int32_t k)
{
  o->anchor_day = anchor;
  o->period = k;
  o->start_day = bill_period_start(anchor, k);
  o->end_day = bill_period_start(anchor, k + 1) - 1; /* L-2: T to T-1 */
}

int tenant_order_day_check(const store_app_t *a, int64_t day, int tz_offset_s, char *err, size_t errcap)
{
  int64_t created = imc_day_of(a->created_at_s, tz_offset_s);
  if (day >= created) return 0;
  char d[16], c[16];
  imc_date_format(day, d, sizeof d);
  imc_date_format(created, c, sizeof c);
  return failf(err, errcap, IMC_E_ORDER_BEFORE_APP, "app %u was created on %s: no order can be dated %s, before it",
               a->sdkappid, c, d);
}

/* ---- upgrade: a package order ------------------------------------------------------ */
int tenant_app_upgrade(store_t *s, uint32_t sdkappid, const char *edition, int64_t day, const char *reference,
                       int64_t now_s, store_order_t *out, int *replayed, char *err, size_t errcap)
{
  place_t p;
  *replayed = 0;
  int rc = place_open(&p, s, sdkappid, err, errcap);
  if (rc) goto done;
  char ref[TENANT_ORDER_REF_MAX + 1];
  if (reference) snprintf(ref, sizeof ref, "%s", reference);
  else snprintf(ref, sizeof ref, "package-%.16s-%lld", edition ? edition : "", (long long)day);
  if ((rc = ref_ok(&p, reference ? reference : ref))) goto done;
  if ((rc = pre_replay(&p, "package", edition ? edition : "", 0, "", ref, out, replayed))) {
    if (rc != 1) goto done;
    rc = 0;
    /* a retry returns the order only while no later package order replaced it: after one (a postpaid
     * change back to this edition on the same day, P-57) the same command asks for a new order */
    for (int i = 0; i < p.norders && !rc; i++) /* a renewal of the same edition replaces nothing */
      if (!strcmp(p.orders[i].kind, "package") && p.orders[i].id > out->id && strcmp(p.orders[i].item, out->item)) {
        *replayed = 0;
        rc = failf(err, errcap, IMC_E_EXISTS, "reference %s is an order a later package order replaced: give a new reference", ref);
      }
    goto done;
  }
  int e = edition_of(&p, edition), cur = edition_of(&p, p.app.edition);
  if (e < 0) { rc = failf(err, errcap, IMC_E_BILL_EDITION, "%s has no edition '%s'", p.app.scheme, edition ? edition : ""); goto done; }
  if (e == 0) {
    rc = failf(err, errcap, IMC_E_PLAN_EDITION_CHANGE, "%s is the free edition: it has no package%s", edition,
               cur > 0 ? ", and an upgrade cannot be undone (P-44)" : "");
    goto done;
  }
  if ((rc = book_in_force(&p, day))) goto done;
  tenant_lifecycle_t lc;
  if ((rc = tenant_lifecycle(&p.app, p.orders, p.norders, day, &lc))) goto done;
  if (lc.state == TENANT_LC_ACTIVE && lc.package_edition > e) {
    /* a prepaid higher package still runs: a lower one bought now would be
     * paid for days it cannot apply (the highest package applies) */
    for (int i = 0; i < p.norders; i++) {
      const store_order_t *x = &p.orders[i];
      if (strcmp(x->kind, "package") || strcmp(x->pay, "prepaid") || x->start_day > day || x->end_day < day ||
          edition_of(&p, x->item) <= e)
        continue;
      char b[16];
      imc_date_format(x->end_day, b, sizeof b);
      rc = failf(err, errcap, IMC_E_PLAN_EDITION_CHANGE, "the %s package runs until %s: order %s after it (during the grace days)",
                 x->item, b, edition);
      goto done;
    }
  }
  if (lc.state == TENANT_LC_ACTIVE && lc.package_edition == e) {
    char b[16];
    imc_date_format(lc.package_end_day, b, sizeof b);
    rc = failf(err, errcap, IMC_E_PLAN_EDITION_CHANGE, "the %s package is held until %s: renew it (imcloud app renew)", edition, b);
    goto done;
  }
  store_order_t o;
  memset(&o, 0, sizeof o);
  snprintf(o.kind, sizeof o.kind, "package");
  snprintf(o.item, sizeof o.item, "%s", edition);
  order_period(&o, day, 0);
  snprintf(o.reference, sizeof o.reference, "%s", ref);
  bill_order_t bo = { .edition = e, .start_day = day, .periods = 1 };
  int64_t fen;
  bill_kind_t kind;
  int incl;
  if ((rc = bill_order_price(p.book, &bo, e, &fen, &kind, &incl, err, errcap))) goto done;
  if (kind == BILL_POSTPAID) o.end_day = imc_days_from_civil(9999, 12, 31); /* P-51: billed monthly until changed */
  rc = run_txn(&p, &o, &bo, e, edition, 1, now_s, out, replayed);
done:
  free(p.orders);
  return rc;
}

/* ---- renewal: the next period of the package held ----------------------------------- */
int tenant_app_renew(store_t *s, uint32_t sdkappid, int64_t day, const char *reference, int64_t now_s,
                     store_order_t *out, int *replayed, char *err, size_t errcap)
{
  place_t p;
  *replayed = 0;
  int rc = place_open(&p, s, sdkappid, err, errcap);
  if (rc) goto done;
  char ref[TENANT_ORDER_REF_MAX + 1];
  if (reference) snprintf(ref, sizeof ref, "%s", reference);
  else snprintf(ref, sizeof ref, "renew-%.16s-%lld", p.app.edition, (long long)day);
  if ((rc = ref_ok(&p, reference ? reference : ref))) goto done; /* the caller's: a copy is cut at the limit */
  if ((rc = pre_replay(&p, "package", p.app.edition, 0, "", ref, out, replayed))) {
    /* a renewal continues a period (period > 0, or a first day before its start): the reference of a
     * purchase is not one, and answering it as replayed renewed nothing (a renewal made long after a
     * lapse starts afresh and looks like a purchase: its retry is refused too, never done twice) */
    if (rc == 1 && !(out->period > 0 || out->anchor_day != out->start_day)) {
      *replayed = 0;
      rc = failf(err, errcap, IMC_E_EXISTS, "reference %s was used for a purchase, not a renewal: give a new reference", ref);
    }
    rc = rc == 1 ? 0 : rc;
    goto done;
  }
  const store_order_t *last = NULL;
  for (int i = 0; i < p.norders; i++)
    if (!strcmp(p.orders[i].kind, "package") && !strcmp(p.orders[i].item, p.app.edition) &&
        (!last || p.orders[i].end_day > last->end_day))
      last = &p.orders[i];
  if (!last) {
    rc = failf(err, errcap, IMC_E_PLAN_EDITION_CHANGE, "app %u holds no %s package to renew (%s)", sdkappid, p.app.edition,
               edition_of(&p, p.app.edition) == 0 ? "the free edition has none" : "buy one: imcloud app upgrade");
    goto done;
  }
  if (!strcmp(last->pay, "postpaid")) { /* P-51: it runs, billed monthly, until the next package order */
    rc = failf(err, errcap, IMC_E_EXISTS, "app %u's %s package is postpaid: it runs and is billed monthly until the edition "
               "changes (P-51); there is no period to renew", sdkappid, p.app.edition);
    goto done;
  }
  if (last->start_day > day) {
    char b[16];
    imc_date_format(last->start_day, b, sizeof b);
    rc = failf(err, errcap, IMC_E_EXISTS, "already renewed: the next period starts %s", b);
    goto done;
  }
  if ((rc = book_in_force(&p, day))) goto done;
  store_order_t o;
  memset(&o, 0, sizeof o);
  snprintf(o.kind, sizeof o.kind, "package");
  snprintf(o.item, sizeof o.item, "%s", p.app.edition);
  /* L-2: renewal continues the period; after a whole period without a
   * package (long past the grace) a new period starts on the renewal day */
  order_period(&o, last->anchor_day, last->period + 1);
  if (o.end_day < day) order_period(&o, day, 0);
  snprintf(o.reference, sizeof o.reference, "%s", ref);
  int e = edition_of(&p, o.item);
  bill_order_t bo = { .edition = e, .start_day = o.start_day, .periods = 1 };
  rc = run_txn(&p, &o, &bo, e, NULL, 0, now_s, out, replayed);
done:
  free(p.orders);
  return rc;
}

/* ---- add-ons ---------------------------------------------------------------------------- */
/* A retention add-on (retention.c): a postpaid setting from `day` until the
 * next order of the same add-on, recorded without a debit. */
static int retention_buy(place_t *p, const char *addon, int64_t value, const char *value_name, int64_t day,
                         const char *reference, int64_t now_s, store_order_t *out, int *replayed)
{
  if (value_name && value_name[0])
    return failf(p->err, p->errcap, IMC_E_BILL_ADDON, "%s takes a number (%s=2)", addon, addon);
  char ref[TENANT_ORDER_REF_MAX + 1];
  if (reference) snprintf(ref, sizeof ref, "%s", reference);
  else snprintf(ref, sizeof ref, "addon-%.20s-%lld-%lld", addon, (long long)value, (long long)day);
  int rc = ref_ok(p, reference ? reference : ref); /* the caller's: a copy is cut at the limit */
  if (rc) return rc;
  if ((rc = pre_replay(p, "addon", addon, value, "", ref, out, replayed))) {
    if (rc != 1) return rc;
    /* a retry returns the order only while it is still the setting: after a
     * later order of the add-on the same command means a new setting */
    for (int i = 0; i < p->norders; i++)
      if (p->orders[i].id == out->id && tenant_order_last_day(p->orders, p->norders, i) < p->orders[i].end_day) {
        *replayed = 0;
        return failf(p->err, p->errcap, IMC_E_EXISTS, "reference %s is an order a later %s order replaced: give a new reference",
                     ref, addon);
      }
    return 0;
  }
  if ((rc = book_in_force(p, day))) return rc;
  if ((rc = tenant_retention_check(&p->app, p->orders, p->norders, addon, value, day, p->err, p->errcap))) return rc;
  char book[40];
  book_label(p, book, sizeof book);
  store_order_t o;
  tenant_retention_order(&p->app, addon, value, day, ref, book, now_s, &o);
  txn_t t;
  if ((rc = txn_open(&t, p->s))) return failf(p->err, p->errcap, rc, "database busy");
  rc = replay(p, &o, out, replayed);
  if (rc == 1) return txn_close(&t, 0);
  if (!rc) rc = month_open(p, o.start_day);
  if (!rc) rc = store_order_insert(p->s, &o, &o.id);
  if ((rc = txn_close(&t, rc))) {
    if (p->errcap && !p->err[0]) snprintf(p->err, p->errcap, "%s", imc_strerror(rc));
    return rc;
  }
  *out = o;
  return 0;
}

int tenant_addon_buy(store_t *s, uint32_t sdkappid, const char *addon, int64_t value, const char *value_name, int64_t day,
                     const char *reference, int64_t now_s, store_order_t *out, int *replayed, char *err, size_t errcap)
{
  place_t p;
  *replayed = 0;
  int rc = place_open(&p, s, sdkappid, err, errcap);
  if (rc) goto done;
  if (tenant_retention_addon(addon, NULL)) {
    rc = retention_buy(&p, addon, value, value_name, day, reference, now_s, out, replayed);
    goto done;
  }
  bill_addon_t a;
  if (bill_addon_parse(addon, &a)) { rc = failf(err, errcap, IMC_E_BILL_ADDON, "unknown add-on '%s'", addon); goto done; }
  if (value_name && strlen(value_name) >= sizeof ((store_order_t *)0)->value_name) {
    rc = failf(err, errcap, IMC_E_BILL_ADDON, "add-on value too long");
    goto done;
  }
  char ref[TENANT_ORDER_REF_MAX + 1];
  if (reference) snprintf(ref, sizeof ref, "%s", reference);
  else snprintf(ref, sizeof ref, "addon-%.20s-%lld%s%.15s-%lld", addon, (long long)value, value_name ? "-" : "",
                value_name ? value_name : "", (long long)day);
  if ((rc = ref_ok(&p, reference ? reference : ref))) goto done; /* the caller's: a copy is cut at the limit */
  if ((rc = pre_replay(&p, "addon", addon, value, value_name, ref, out, replayed))) { rc = rc == 1 ? 0 : rc; goto done; }
  if ((rc = book_in_force(&p, day))) goto done;
  store_order_t o;
  memset(&o, 0, sizeof o);
  snprintf(o.kind, sizeof o.kind, "addon");
  snprintf(o.item, sizeof o.item, "%s", addon);
  o.value = value;
  snprintf(o.value_name, sizeof o.value_name, "%s", value_name ? value_name : "");
  /* the same add-on held on that day: buying it again continues its period
   * (one period ahead at most, like renew) */
  const store_order_t *cur = NULL;
  for (int i = 0; i < p.norders; i++) {
    const store_order_t *x = &p.orders[i];
    if (!strcmp(x->kind, "addon") && !strcmp(x->item, addon) && x->value == value && !strcmp(x->value_name, o.value_name) &&
        (!cur || x->end_day > cur->end_day))
      cur = x;
  }
  if (cur && cur->start_day > day) {
    char b[16];
    imc_date_format(cur->start_day, b, sizeof b);
    rc = failf(err, errcap, IMC_E_EXISTS, "%s is already bought for the period starting %s", addon, b);
    goto done;
  }
  int64_t start = day;
  if (cur && cur->end_day >= day) {
    order_period(&o, cur->anchor_day, cur->period + 1);
    start = o.start_day;
  } else {
    order_period(&o, day, 0);
  }
  snprintf(o.reference, sizeof o.reference, "%s", ref);
  /* L-4: validated against the edition in force when its period starts */
  tenant_lifecycle_t at;
  if ((rc = tenant_lifecycle(&p.app, p.orders, p.norders, start, &at))) goto done;
  bill_order_t bo = { .is_addon = 1, .addon = a, .value = value, .start_day = start, .periods = 1 };
  snprintf(bo.value_name, sizeof bo.value_name, "%s", o.value_name);
  rc = run_txn(&p, &o, &bo, at.edition, NULL, 1, now_s, out, replayed);
done:
  free(p.orders);
  return rc;
}

/* ---- legacy -> trial (P-07) ------------------------------------------------------------- */
int tenant_app_legacy_to_trial(store_t *s, uint32_t sdkappid, int approved, int64_t now_s, char *err, size_t errcap)
{
  store_app_t a;
  int rc = store_app_get(s, sdkappid, &a);
  if (rc) return failf(err, errcap, rc, "no app %u", sdkappid);
  if (strcmp(a.scheme, "legacy")) return failf(err, errcap, IMC_E_PLAN_EDITION_CHANGE, "app %u is not a legacy app", sdkappid);
  if (!approved)
    return failf(err, errcap, IMC_E_PLAN_EDITION_CHANGE, "a legacy app becomes trial only after the operator approves the ticket (P-07): add --approved");
  bill_scheme_t to;
  if ((rc = bill_scheme_resolve(now_s, a.region, &to))) return failf(err, errcap, rc, "region %s", a.region); /* P-40, P-50 */
  txn_t t;
  if ((rc = txn_open(&t, s))) return failf(err, errcap, rc, "database busy");
  char was[96];
  snprintf(was, sizeof was, "%lld %s %s", (long long)now_s, a.scheme, a.edition); /* the bills' scheme history */
  rc = store_app_set(s, sdkappid, "scheme", bill_scheme_name(to));
  if (!rc) rc = store_app_set(s, sdkappid, "edition", bill_scheme_free_edition(to));
  if (!rc) rc = tenant__meta_app_set(s, sdkappid, "scheme_change", was);
  rc = txn_close(&t, rc);
  return rc ? failf(err, errcap, rc, "%s", imc_strerror(rc)) : 0;
}

int tenant_app_scheme_change(store_t *s, uint32_t sdkappid, tenant_scheme_change_t *out)
{
  memset(out, 0, sizeof *out);
  char v[96];
  int rc = tenant__meta_app_get(s, sdkappid, "scheme_change", v, sizeof v);
  if (rc || !v[0]) return rc;
  long long at;
  int used = 0;
  if (sscanf(v, "%lld %15s %23s%n", &at, out->scheme, out->edition, &used) != 3 || v[used] || at <= 0) {
    memset(out, 0, sizeof *out);
    return IMC_E_CONFIG;
  }
  out->at_s = at;
  return 0;
}

/* ---- suspension ----------------------------------------------------------------------------- */
static int set_status(store_t *s, uint32_t sdkappid, const char *status, const char *by)
{
  txn_t t;
  int rc = txn_open(&t, s);
  if (rc) return rc;
  rc = store_app_set(s, sdkappid, "status", status);
  if (!rc) rc = tenant__meta_app_set(s, sdkappid, "suspended_by", by);
  return txn_close(&t, rc);
}

int tenant_app_suspend(store_t *s, uint32_t sdkappid) { return set_status(s, sdkappid, "suspended", "operator"); }

int tenant_app_resume(store_t *s, uint32_t sdkappid, int64_t day, char *err, size_t errcap)
{
  store_app_t a;
  tenant_lifecycle_t lc;
  int rc = tenant_app_state(s, sdkappid, day, &a, &lc);
  if (rc) return failf(err, errcap, rc, "app %u: %s", sdkappid, rc == IMC_E_NOTFOUND ? "no such app" : imc_strerror(rc));
  if (lc.state == TENANT_LC_LAPSED)
    return failf(err, errcap, IMC_E_PLAN_EXPIRED, "the %s package of app %u lapsed: renew it (imcloud app renew)", a.edition, sdkappid);
  char by[16];
  if ((rc = tenant_app_suspended_by(s, sdkappid, by, sizeof by))) return failf(err, errcap, rc, "app %u: storage error", sdkappid);
  if (!strcmp(by, "arrears")) /* P-14, P-45: only paying ends it */
    return failf(err, errcap, IMC_E_APP_IN_ARREARS, "app %u is suspended for arrears: a top-up that pays the customer's "
                 "overdue bills resumes it", sdkappid);
  return set_status(s, sdkappid, "active", "");
}

int tenant_app_set_arrears(store_t *s, uint32_t sdkappid, int arrears, int64_t day, int *changed)
{
  *changed = 0;
  store_app_t a;
  tenant_lifecycle_t lc;
  char by[16];
  int rc = tenant_app_state(s, sdkappid, day, &a, &lc);
  if (!rc) rc = tenant_app_suspended_by(s, sdkappid, by, sizeof by);
  if (rc) return rc;
  if (arrears && !strcmp(a.status, "active")) rc = set_status(s, sdkappid, "suspended", "arrears"); /* P-14, P-45 */
  else if (!arrears && !strcmp(a.status, "suspended") && !strcmp(by, "arrears"))
    rc = lc.state == TENANT_LC_LAPSED ? tenant__meta_app_set(s, sdkappid, "suspended_by", "lapse") /* still lapsed: renew it */
                                      : set_status(s, sdkappid, "active", "");
  else return 0;
  if (!rc) *changed = 1;
  return rc;
}

/* ---- the jobs of one app on one day -------------------------------------------------------- */
int tenant_app_lifecycle_run(store_t *s, uint32_t sdkappid, int64_t day, int64_t now_s, tenant_run_t *ran,
                             char *err, size_t errcap)
{
  memset(ran, 0, sizeof *ran);
  store_app_t a;
  tenant_lifecycle_t lc;
  int rc = tenant_app_state(s, sdkappid, day, &a, &lc);
  if (rc) return failf(err, errcap, rc, "app %u: %s", sdkappid, imc_strerror(rc));
  int on = 0;
  if ((rc = tenant_app_auto_renew(s, sdkappid, &on))) return rc;
  if (on && (lc.state == TENANT_LC_GRACE || lc.state == TENANT_LC_LAPSED)) {
    store_order_t o;
    int replayed;
    rc = tenant_app_renew(s, sdkappid, day, NULL, now_s, &o, &replayed, ran->renew_error, sizeof ran->renew_error);
    if (!rc) {
      ran->renewed = 1;
      ran->renewal = o;
      if ((rc = tenant_app_state(s, sdkappid, day, &a, &lc))) return rc;
    } else if (rc != IMC_E_WALLET_FUNDS) {
      return failf(err, errcap, rc, "auto-renew: %s", ran->renew_error);
    }
  }
  char by[16];
  if ((rc = tenant_app_suspended_by(s, sdkappid, by, sizeof by))) return rc;
  if (lc.state == TENANT_LC_LAPSED && !strcmp(a.status, "active")) {
    if ((rc = set_status(s, sdkappid, "suspended", "lapse"))) return rc; /* L-3, P-11, P-45 */
    ran->suspended = 1;
  } else if (lc.state != TENANT_LC_LAPSED && !strcmp(a.status, "suspended") && !strcmp(by, "lapse")) {
    if ((rc = set_status(s, sdkappid, "active", ""))) return rc;       /* renewing resumes it (P-45) */
    ran->resumed = 1;
  }
  ran->state = lc.state;
  return 0;
}

json_t *tenant_order_json(const store_order_t *o)
{
  char a[16], b[16], t[16];
  imc_date_format(o->start_day, a, sizeof a);
  imc_date_format(o->end_day, b, sizeof b);
  imc_date_format(o->anchor_day, t, sizeof t);
  json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:i,s:s,s:I,s:s,s:I,s:s,s:I}", "id", (json_int_t)o->id,
                        "sdkappid", (json_int_t)o->sdkappid, "kind", o->kind, "item", o->item, "valid_from", a,
                        "valid_to", b, "period", (int)o->period, "first_day", t, "price_fen", (json_int_t)o->price_fen,
                        "pay", o->pay, "ledger_id", (json_int_t)o->ledger_id, "book", o->book, "at", (json_int_t)o->at_s);
  int bad = 0; /* whole or NULL (§90) */
  if (o->value) jwhole_put(j, "value", json_integer(o->value), &bad);
  else if (o->value_name[0]) jwhole_put(j, "value", json_string(o->value_name), &bad);
  jwhole_put(j, "reference", json_string(o->reference), &bad);
  return jwhole_take(j, bad);
}
