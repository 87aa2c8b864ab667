/* Unit tests for src/tenant: scheme resolution at app creation (P-01, P-40,
 * P-50), free edition (L-1), key format, SDKAppID allocation, registry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include "tenant/tenant.h"
#include "util/date.h"
#include "util/err.h"
#include "tmpdir.h"
#include "store_tmpl.h"

static char dir[64];
static store_t *s;

static int setup(void **st)
{
  (void)st;
  if (test_tmpdir_make(dir, sizeof dir, "tenant")) return -1;
  return test_store_open(dir, &s);
}

static int teardown(void **st)
{
  (void)st;
  store_close(s);
  return test_tmpdir_remove(dir);
}

static int64_t day(int y, int m, int d) { return imc_day_start(imc_days_from_civil(y, m, d), IMC_TZ_CHINA_S); }

static void test_user_ids(void **st)
{
  (void)st;
  assert_true(tenant_user_id_valid("alice"));
  assert_true(tenant_user_id_valid("a_b-c.d@e!"));
  assert_true(tenant_user_id_valid("12345678901234567890123456789012"));
  assert_false(tenant_user_id_valid("123456789012345678901234567890123"));
  assert_false(tenant_user_id_valid(""));
  assert_false(tenant_user_id_valid("a b"));
  assert_false(tenant_user_id_valid("tab\t"));
  assert_false(tenant_user_id_valid("\xe4\xb8\xad"));
  assert_false(tenant_user_id_valid(NULL));
}

static void test_schemes(void **st)
{
  (void)st;
  int64_t old_cust, new_cust;
  store_app_t a;
  const int64_t now = day(2026, 11, 23);
  assert_int_equal(tenant_customer_create(s, "old", now, &old_cust), 0);
  assert_int_equal(tenant_customer_create(s, "new", now, &new_cust), 0);
  assert_int_equal(tenant_customer_create(s, "", now, &new_cust), IMC_E_INVAL);
  /* P-01: first app before 2019-12-27 00:00 UTC+8 → legacy, and so are later apps */
  tenant_app_params_t p = { .customer_id = old_cust, .name = "a1", .region = "china", .created_at_s = day(2019, 12, 27) - 1, .now_s = now };
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  assert_string_equal(a.scheme, "legacy");
  assert_string_equal(a.edition, "legacy");
  assert_int_equal(a.sdkappid, TENANT_SDKAPPID_FIRST);
  assert_int_equal(strlen(a.secret_key), 64);
  assert_int_equal(strspn(a.secret_key, "0123456789abcdef"), 64);
  assert_int_equal(a.n_admins, 1);
  assert_string_equal(a.admins[0], "administrator");
  p.created_at_s = 0; p.name = "a2"; p.region = "singapore";
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  assert_string_equal(a.scheme, "legacy");
  assert_int_equal(a.sdkappid, TENANT_SDKAPPID_FIRST + 1);
  /* exactly at the cutoff: not legacy; P-40 china → s2022 trial */
  p = (tenant_app_params_t){ .customer_id = new_cust, .name = "b1", .region = "china", .created_at_s = day(2019, 12, 27), .now_s = now };
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  assert_string_equal(a.scheme, "s2022");
  assert_string_equal(a.edition, "trial");
  /* P-50 overseas → intl developer */
  p.region = "germany"; p.created_at_s = 0;
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  assert_string_equal(a.scheme, "intl");
  assert_string_equal(a.edition, "developer");
  /* explicit grandfathered scheme */
  p.region = "china"; p.scheme = "s2019";
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  assert_string_equal(a.scheme, "s2019");
  assert_string_equal(a.edition, "trial");
  p.scheme = "s1999";
  assert_int_equal(tenant_app_create(s, &p, &a), IMC_E_BILL_SCHEME);
  p.scheme = NULL; p.region = "mars";
  assert_int_equal(tenant_app_create(s, &p, &a), IMC_E_INVAL);
  p.region = "china"; p.customer_id = 999;
  assert_int_equal(tenant_app_create(s, &p, &a), IMC_E_NOTFOUND);
}

static void test_registry(void **st)
{
  (void)st;
  uint32_t no;
  assert_int_equal(store_account_import(s, TENANT_SDKAPPID_FIRST, "alice", NULL, NULL, 1, &no), 0);
  tenant_registry_t *r;
  assert_int_equal(tenant_registry_load(s, &r), 0);
  assert_int_equal(tenant_registry_app_count(r), 5);
  const tenant_app_t *a = tenant_registry_app(r, TENANT_SDKAPPID_FIRST);
  assert_non_null(a);
  assert_true(tenant_app_is_admin(a, "administrator"));
  assert_false(tenant_app_is_admin(a, "alice"));
  assert_true(tenant_app_active(a));
  assert_false(tenant_app_free_edition(a)); /* legacy */
  assert_null(tenant_registry_app(r, 42));
  assert_int_equal(tenant_registry_account_find(r, TENANT_SDKAPPID_FIRST, "alice", &no), 0);
  assert_int_equal(no, 1);
  assert_int_equal(tenant_registry_account_find(r, TENANT_SDKAPPID_FIRST, "bob", &no), IMC_E_NOTFOUND);
  for (int i = 0; i < 5000; i++) {
    char uid[16];
    snprintf(uid, sizeof uid, "u%d", i);
    assert_int_equal(tenant_registry_account_put(r, TENANT_SDKAPPID_FIRST + 2, uid, (uint32_t)i + 1), 0);
  }
  for (int i = 0; i < 5000; i += 2) {
    char uid[16];
    snprintf(uid, sizeof uid, "u%d", i);
    tenant_registry_account_remove(r, TENANT_SDKAPPID_FIRST + 2, uid);
  }
  assert_int_equal(tenant_registry_account_count(r, TENANT_SDKAPPID_FIRST + 2), 2500);
  for (int i = 0; i < 5000; i++) {
    char uid[16];
    snprintf(uid, sizeof uid, "u%d", i);
    int rc = tenant_registry_account_find(r, TENANT_SDKAPPID_FIRST + 2, uid, &no);
    if (i % 2) { assert_int_equal(rc, 0); assert_int_equal(no, (uint32_t)i + 1); }
    else assert_int_equal(rc, IMC_E_NOTFOUND);
    /* the reverse index names the survivors by number and forgets the removed */
    const char *back = tenant_registry_account_id(r, TENANT_SDKAPPID_FIRST + 2, (uint32_t)i + 1);
    if (i % 2) assert_string_equal(back, uid);
    else assert_null(back);
  }
  assert_string_equal(tenant_registry_account_id(r, TENANT_SDKAPPID_FIRST, 1), "alice"); /* loaded from the store */
  assert_null(tenant_registry_account_id(r, TENANT_SDKAPPID_FIRST, 2));
  assert_null(tenant_registry_account_id(r, TENANT_SDKAPPID_FIRST + 2, 0));
  assert_null(tenant_registry_account_id(r, TENANT_SDKAPPID_FIRST + 2, 1u << 30));
  assert_null(tenant_registry_account_id(r, 42, 1));
  /* a renumbered account moves in the reverse index */
  assert_int_equal(tenant_registry_account_put(r, TENANT_SDKAPPID_FIRST + 2, "u1", 6000), 0);
  assert_null(tenant_registry_account_id(r, TENANT_SDKAPPID_FIRST + 2, 2));
  assert_string_equal(tenant_registry_account_id(r, TENANT_SDKAPPID_FIRST + 2, 6000), "u1");
  assert_int_equal(tenant_registry_account_put(r, TENANT_SDKAPPID_FIRST + 2, "u1", 2), 0);
  assert_int_equal(tenant_registry_account_put(r, 7, "x", 1), IMC_E_NOTFOUND);
  /* reload sees a new app and a status change, keeps accounts */
  int64_t cust;
  store_app_t na;
  assert_int_equal(tenant_customer_create(s, "late", 1, &cust), 0);
  tenant_app_params_t p = { .customer_id = cust, .name = "late", .region = "india", .now_s = day(2026, 1, 1) };
  assert_int_equal(tenant_app_create(s, &p, &na), 0);
  assert_int_equal(store_app_set(s, TENANT_SDKAPPID_FIRST + 2, "status", "suspended"), 0);
  assert_int_equal(tenant_registry_reload_apps(r, s), 0);
  assert_non_null(tenant_registry_app(r, na.sdkappid));
  assert_false(tenant_app_active(tenant_registry_app(r, TENANT_SDKAPPID_FIRST + 2)));
  assert_int_equal(tenant_registry_account_count(r, TENANT_SDKAPPID_FIRST + 2), 2500);
  tenant_registry_free(r);
}

/* An app's accounts table doubles a step at a time (registry.c): no put or
 * removal moves more than a step and the rest of a cluster, and every
 * account stays findable, by name and by number, while both tables hold
 * some — through puts, renumberings and removals in the middle of the
 * moves. A one-shot doubling moved the whole table in one login's
 * completion on the loop (moves_max was 32,768 here). */
static void test_accounts_grow_in_steps(void **st)
{
  (void)st;
  enum { N = 40000, APP = TENANT_SDKAPPID_FIRST + 2 };
  tenant_registry_t *r;
  assert_int_equal(tenant_registry_load(s, &r), 0);
  size_t base = tenant_registry_account_count(r, APP);
  static uint32_t want[N]; /* the number each account should have, 0 = removed or not yet put */
  memset(want, 0, sizeof want);
  char uid[16];
  uint32_t no;
  for (int i = 0; i < N; i++) {
    snprintf(uid, sizeof uid, "g%d", i);
    assert_int_equal(tenant_registry_account_put(r, APP, uid, (uint32_t)i + 1000), 0);
    want[i] = (uint32_t)i + 1000;
    if (i % 7 == 3) { /* a renumbering and a removal of older accounts, wherever they are */
      int k = i / 2;
      snprintf(uid, sizeof uid, "g%d", k);
      assert_int_equal(tenant_registry_account_put(r, APP, uid, (uint32_t)(N + k) + 1000), 0);
      want[k] = (uint32_t)(N + k) + 1000;
      k = i / 3;
      snprintf(uid, sizeof uid, "g%d", k);
      tenant_registry_account_remove(r, APP, uid);
      want[k] = 0;
    }
    if (i % 4999 == 0 || i == N - 1)
      for (int k = 0; k <= i; k++) {
        snprintf(uid, sizeof uid, "g%d", k);
        int rc = tenant_registry_account_find(r, APP, uid, &no);
        if (!want[k]) { assert_int_equal(rc, IMC_E_NOTFOUND); continue; }
        assert_int_equal(rc, 0);
        assert_int_equal(no, want[k]);
        assert_string_equal(tenant_registry_account_id(r, APP, want[k]), uid);
      }
  }
  size_t moved = tenant_registry_account_moves_max(r, APP);
  assert_true(moved >= 64);  /* the table grew, in steps */
  assert_true(moved < 1024); /* a step is 64 slots and the rest of a cluster, not the table */
  assert_true(tenant_registry_account_count(r, APP) > base + N / 2);
  assert_int_equal(tenant_registry_account_moves_max(r, 42), 0);
  tenant_registry_free(r); /* both tables' strings freed (ASan build) */
}

/* Another connection (the server's writer) holds the write lock and commits
 * while the CLI creates an app: the create waits for the lock and succeeds.
 * It used to open a deferred transaction, read, and then find its snapshot
 * stale when it tried to write (SQLITE_BUSY_SNAPSHOT, which no busy timeout
 * waits out): "imcloud app: resource busy, try again". */
static void *commit_later(void *arg)
{
  struct timespec ts = { 0, 300 * 1000000L };
  nanosleep(&ts, NULL);
  return (void *)(intptr_t)store_exec(arg, "COMMIT");
}

static void test_app_create_while_writer_commits(void **st)
{
  (void)st;
  int64_t cust;
  assert_int_equal(tenant_customer_create(s, "racing", 1, &cust), 0);
  store_t *w;
  assert_int_equal(test_store_open(dir, &w), 0);
  assert_int_equal(store_exec(w, "BEGIN IMMEDIATE"), 0);
  uint32_t no;
  assert_int_equal(store_account_import(w, TENANT_SDKAPPID_FIRST, "writer", NULL, NULL, 1, &no), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, commit_later, w), 0);
  tenant_app_params_t p = { .customer_id = cust, .name = "racing", .region = "china", .now_s = day(2026, 1, 1) };
  store_app_t a;
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  void *rc;
  pthread_join(t, &rc);
  assert_int_equal((int)(intptr_t)rc, 0);
  store_close(w);
}

/* An app's own WebSocket cap in meta: unset, set, 0, unset again; the refusals; the stored values and keys
 * the server's change log reads. */
static void test_app_max_websockets(void **st)
{
  (void)st;
  int64_t cust, n;
  store_app_t a;
  const int64_t now = day(2026, 11, 23);
  assert_int_equal(tenant_customer_create(s, "ws", now, &cust), 0);
  tenant_app_params_t p = { .customer_id = cust, .name = "w1", .region = "china", .now_s = now };
  assert_int_equal(tenant_app_create(s, &p, &a), 0);
  assert_int_equal(tenant_app_max_websockets(s, a.sdkappid, &n), 0);
  assert_int_equal(n, -1);
  assert_int_equal(tenant_app_set_max_websockets(s, a.sdkappid, 7), 0);
  assert_int_equal(tenant_app_max_websockets(s, a.sdkappid, &n), 0);
  assert_int_equal(n, 7);
  assert_int_equal(tenant_app_set_max_websockets(s, a.sdkappid, 0), 0);
  assert_int_equal(tenant_app_max_websockets(s, a.sdkappid, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(tenant_app_set_max_websockets(s, a.sdkappid, -1), 0);
  assert_int_equal(tenant_app_max_websockets(s, a.sdkappid, &n), 0);
  assert_int_equal(n, -1);
  assert_int_equal(tenant_app_set_max_websockets(s, a.sdkappid, -2), IMC_E_RANGE);
  assert_int_equal(tenant_app_set_max_websockets(s, a.sdkappid, TENANT_APP_WS_MAX + 1), IMC_E_RANGE);
  assert_int_equal(tenant_app_set_max_websockets(s, a.sdkappid + 1000, 1), IMC_E_NOTFOUND);
  static const struct { const char *value; int rc; int64_t n; } values[] = {
    { "", 0, -1 }, { "0", 0, 0 }, { "16777216", 0, 16777216 }, { "16777217", IMC_E_INVAL, -1 }, { "-1", IMC_E_INVAL, -1 },
    { "3x", IMC_E_INVAL, -1 }, { " 3", IMC_E_INVAL, -1 },
  };
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    assert_int_equal(tenant_app_max_websockets_parse(values[i].value, &n), values[i].rc);
    assert_int_equal(n, values[i].n);
  }
  assert_int_equal(tenant_app_max_websockets_key_app("app.1400000001.max_websockets"), 1400000001u);
  assert_int_equal(tenant_app_max_websockets_key_app("app.1400000001.max_websockets_x"), 0);
  assert_int_equal(tenant_app_max_websockets_key_app("app.0.max_websockets"), 0);
  assert_int_equal(tenant_app_max_websockets_key_app("app.4294967296.max_websockets"), 0);
  assert_int_equal(tenant_app_max_websockets_key_app("app.1.auto_renew"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_user_ids), cmocka_unit_test(test_schemes), cmocka_unit_test(test_registry),
                                      cmocka_unit_test(test_accounts_grow_in_steps),
                                      cmocka_unit_test(test_app_create_while_writer_commits),
                                      cmocka_unit_test(test_app_max_websockets) };
  return cmocka_run_group_tests(tests, setup, teardown);
}
