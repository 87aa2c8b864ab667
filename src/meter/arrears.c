/* arrears.c — unpaid postpaid bills and the apps of their customer (P-14,
 * P-45): a bill unpaid METER_BILL_GRACE_DAYS after issue puts every app of
 * the customer into arrears (suspended, reason "arrears", through
 * tenant_app_set_arrears); once no overdue bill is left — a top-up paid them
 * (meter_bill_settle) — the apps suspended for arrears are resumed. */
#include "meter/meter.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

typedef struct app_ref { uint32_t sdkappid; int64_t customer_id; } app_ref_t;
typedef struct apps { app_ref_t *v; size_t n, cap; int nomem; } apps_t;

static void on_app(void *ud, const store_app_t *a)
{
  apps_t *l = ud;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    app_ref_t *v = realloc(l->v, cap * sizeof *v);
    if (!v) { l->nomem = 1; return; }
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n].sdkappid = a->sdkappid;
  l->v[l->n++].customer_id = a->customer_id;
}

static int by_customer(const void *a, const void *b)
{
  const app_ref_t *x = a, *y = b;
  return x->customer_id < y->customer_id ? -1 : x->customer_id > y->customer_id;
}

typedef struct due { int64_t now, next; int overdue; } due_t;

static void on_unpaid(void *ud, const store_bill_t *b)
{
  due_t *d = ud;
  if (b->paid || b->due_fen <= 0) return;
  int64_t at = b->issued_at_s + METER_BILL_GRACE_DAYS * 86400;
  if (d->now >= at) d->overdue = 1;
  else if (!d->next || at < d->next) d->next = at;
}

int meter_arrears_run(store_t *s, int64_t customer_id, int settle, int64_t now_s, int tz_offset_s, meter_arrears_stats_t *st)
{
  memset(st, 0, sizeof *st);
  apps_t l = { 0 };
  int rc = store_app_list(s, customer_id, on_app, &l);
  if (!rc && l.nomem) rc = IMC_E_NOMEM;
  if (!rc && l.n) qsort(l.v, l.n, sizeof *l.v, by_customer);
  int64_t day = imc_day_of(now_s, tz_offset_s);
  for (size_t i = 0; !rc && i < l.n;) {
    size_t j = i;
    while (j < l.n && l.v[j].customer_id == l.v[i].customer_id) j++;
    int64_t cust = l.v[i].customer_id;
    st->customers++;
    if (settle) {
      int paid = 0;
      if ((rc = meter_bill_settle(s, cust, now_s, &paid))) break;
      st->bills_paid += paid;
    }
    due_t d = { now_s, 0, 0 };
    if ((rc = store_bill_each(s, cust, 1, on_unpaid, &d))) break;
    if (d.next && (!st->next_overdue_s || d.next < st->next_overdue_s)) st->next_overdue_s = d.next;
    for (size_t k = i; k < j && !rc; k++) {
      store_app_t a;
      int changed = 0;
      if ((rc = store_app_get(s, l.v[k].sdkappid, &a))) break;
      int was_active = !strcmp(a.status, "active");
      if ((rc = tenant_app_set_arrears(s, a.sdkappid, d.overdue, day, &changed))) break;
      if (changed && was_active) st->suspended++;
      else if (changed) st->resumed++;
    }
    st->in_arrears += d.overdue;
    i = j;
  }
  free(l.v);
  return rc;
}
