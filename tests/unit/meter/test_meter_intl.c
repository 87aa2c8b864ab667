/* Unit tests for billing international apps (src/meter/bills.c, books.c):
 * an app whose customer created an app before 2022-12-26 is on the original
 * international scheme and is refused (P-50); a Standard app is refused
 * while its package price and MAU overage rate are the built-in book's
 * placeholders (P-59), with a message naming them; the bill run skips both,
 * counts them and records the first reason, and bills the rest; with the
 * operator's book (tenant_pricebooks_dir, prices set) the Standard app is
 * billed at the operator's prices; the original-scheme apps stay refused,
 * naming where their book goes, until the operator's intl_original.json
 * bills them at its own prices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "meter/meter.h"
#include "store/store.h"
#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

#define TZ IMC_TZ_CHINA_S

static char dir[64];
static store_t *s;
static int64_t nov1;

static uint32_t add_app(int64_t cust, const char *edition, int64_t created)
{
  store_app_t a = { 0 };
  assert_int_equal(store_app_next_sdkappid(s, &a.sdkappid), 0);
  a.customer_id = cust;
  strcpy(a.name, "x"); strcpy(a.secret_key, "k"); strcpy(a.region, "singapore");
  strcpy(a.scheme, "intl"); strcpy(a.edition, edition);
  a.created_at_s = created;
  assert_int_equal(store_app_insert(s, &a), 0);
  return a.sdkappid;
}

/* A Standard package for October (the server's provider reads stored orders). */
static int standard_orders(void *ud, store_t *st, const store_app_t *app, int32_t month, bill_order_t *orders, int cap, int *n,
                           char *err, size_t errcap)
{
  (void)ud; (void)st; (void)month; (void)cap; (void)err; (void)errcap;
  memset(orders, 0, sizeof *orders);
  *n = 0;
  if (strcmp(app->edition, "standard")) return 0;
  orders[0].edition = bill_book_edition_find(bill_book_builtin(BILL_SCHEME_INTL), "standard");
  orders[0].start_day = imc_days_from_civil(2026, 10, 1);
  orders[0].periods = 1;
  *n = 1;
  return 0;
}

static int setup(void **st)
{
  (void)st;
  nov1 = imc_day_start(imc_days_from_civil(2026, 11, 1), TZ);
  return test_tmpdir_make(dir, sizeof dir, "intl") || test_store_open(dir, &s);
}

static int teardown(void **st)
{
  (void)st;
  tenant_pricebooks_dir(NULL);
  store_close(s);
  return test_tmpdir_remove(dir);
}

static void test_refused_then_operator_book(void **st)
{
  (void)st;
  int64_t old_cust, new_cust;
  assert_int_equal(store_customer_create(s, "old", 1, &old_cust), 0);
  assert_int_equal(store_customer_create(s, "new", 1, &new_cust), 0);
  int64_t dec25 = imc_day_start(imc_days_from_civil(2022, 12, 26), TZ) - 1, dec26 = dec25 + 1;
  uint32_t orig = add_app(old_cust, "developer", dec25);       /* created 2022-12-25 23:59:59 (UTC+8) */
  uint32_t orig2 = add_app(old_cust, "developer", 1780000000);  /* a later app of the same customer: still original */
  uint32_t std = add_app(new_cust, "standard", dec26);
  uint32_t dev = add_app(new_cust, "developer", dec26);
  char *json, err[256];
  int64_t t[3];
  assert_int_equal(meter_bill_compute(s, orig2, 202610, TZ, standard_orders, NULL, &json, t, err, sizeof err), IMC_E_BILL_BOOK);
  assert_non_null(strstr(err, "is on the original international scheme"));
  assert_non_null(strstr(err, "before 2022-12-26, P-50"));
  assert_non_null(strstr(err, "at DIR/intl_original.json (DIR: imcloud serve --pricebooks-dir DIR"));
  assert_int_equal(meter_bill_compute(s, std, 202610, TZ, standard_orders, NULL, &json, t, err, sizeof err), IMC_E_BILL_BOOK);
  char want[256];
  snprintf(want, sizeof want, "app %u (intl standard, singapore) is not billed until the operator sets the standard package price (P-59); "
           "the MAU overage rate (P-59) in its price book", std);
  assert_string_equal(err, want);
  /* a free, capped Developer app of a current customer is billed (0) */
  assert_int_equal(meter_bill_compute(s, dev, 202610, TZ, standard_orders, NULL, &json, t, err, sizeof err), 0);
  assert_int_equal(t[0], 0);
  free(json);
  /* the bill run skips the refused apps, counts them, records the first reason, bills the rest */
  meter_bill_run_stats_t r;
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, standard_orders, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.apps, 4);
  assert_int_equal(r.issued, 1);
  assert_int_equal(r.failed, 3);
  assert_non_null(strstr(err, "original international scheme"));
  store_bill_t b;
  assert_int_equal(store_bill_get(s, orig, 202610, &b), IMC_E_NOTFOUND);
  assert_int_equal(store_bill_get(s, std, 202610, &b), IMC_E_NOTFOUND);
  /* the operator's copy of the intl book with its prices set: 1,500 元 Standard, 800 元 per 10,000 MAU */
  FILE *in = fopen("data/pricebooks/intl.json", "rb");
  assert_non_null(in);
  json_error_t je;
  json_t *book = json_loadf(in, 0, &je);
  fclose(in);
  assert_non_null(book);
  json_t *ed;
  size_t i;
  json_array_foreach(json_object_get(book, "editions"), i, ed) {
    json_t *pk = json_object_get(ed, "package");
    if (!json_is_object(pk)) continue;
    json_object_del(pk, "operator_config");
    if (!strcmp(json_string_value(json_object_get(ed, "code")), "standard")) json_object_set_new(pk, "fen", json_integer(150000));
  }
  json_array_foreach(json_object_get(book, "items"), i, ed) {
    json_object_del(ed, "operator_config");
    if (!strcmp(json_string_value(json_object_get(ed, "code")), "mau_overage")) json_object_set_new(ed, "block_fen", json_integer(80000));
  }
  json_object_set_new(book, "operator_config", json_false());
  char books[128], path[160];
  snprintf(books, sizeof books, "%s/books", dir);
  snprintf(path, sizeof path, "mkdir -p '%s'", books);
  assert_int_equal(system(path), 0);
  snprintf(path, sizeof path, "%s/intl.json", books);
  assert_int_equal(json_dump_file(book, path, 0), 0);
  json_decref(book);
  tenant_pricebooks_dir(books);
  assert_int_equal(store_usage_login(s, std, 20261005, 1), 0);
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, standard_orders, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.issued, 1);                 /* the Standard app; the original-scheme apps stay refused */
  assert_int_equal(r.failed, 2);
  assert_int_equal(store_bill_get(s, std, 202610, &b), 0);
  assert_int_equal(b.total_fen, 150000);
  free(b.body);
  /* the original scheme has no built-in book: the refusal says where the operator's goes */
  assert_int_equal(meter_bill_compute(s, orig, 202610, TZ, standard_orders, NULL, &json, t, err, sizeof err), IMC_E_BILL_BOOK);
  snprintf(want, sizeof want, "at %s/intl_original.json", books);
  assert_non_null(strstr(err, want));
  /* the operator's book for the original scheme (Standard at 2,000 元) bills the customer's apps, a Standard one at its price */
  uint32_t orig3 = add_app(old_cust, "standard", 1780000000);
  in = fopen(path, "rb");
  assert_non_null(in);
  book = json_loadf(in, 0, &je);
  fclose(in);
  assert_non_null(book);
  json_array_foreach(json_object_get(book, "editions"), i, ed)
    if (!strcmp(json_string_value(json_object_get(ed, "code")), "standard"))
      json_object_set_new(json_object_get(ed, "package"), "fen", json_integer(200000));
  snprintf(path, sizeof path, "%s/intl_original.json", books);
  assert_int_equal(json_dump_file(book, path, 0), 0);
  json_decref(book);
  assert_int_equal(store_usage_login(s, orig3, 20261005, 1), 0);
  assert_int_equal(meter_bill_run(s, 0, 202610, nov1, TZ, standard_orders, NULL, &r, err, sizeof err), 0);
  assert_int_equal(r.issued, 3);
  assert_int_equal(r.failed, 0);
  assert_int_equal(store_bill_get(s, orig3, 202610, &b), 0);
  assert_int_equal(b.total_fen, 200000);
  free(b.body);
  assert_int_equal(store_bill_get(s, orig, 202610, &b), 0);
  assert_int_equal(b.total_fen, 0);
  free(b.body);
  tenant_pricebooks_dir(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_refused_then_operator_book, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
