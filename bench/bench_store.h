/* bench_store.h — the store benches' fixture: an app of the customer with
 * `users` accounts (UserIDs prefix0, prefix1, …), written directly through
 * the store (no server). Header-only (static functions), for the benches in bench/. */
#ifndef IMC_BENCH_STORE_H
#define IMC_BENCH_STORE_H

#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Creates the app (*sdkappid) and its accounts in one transaction; *no gets
 * a malloc'ed array of their user numbers (the caller frees it). 0 or the
 * failing call's error (what names it). */
static int bench_store_app(store_t *s, int64_t cust, long users, const char *prefix, uint32_t *sdkappid, uint32_t **no,
                           const char **what)
{
  store_app_t a = { 0 };
  int rc;
  *what = "app";
  if ((rc = store_app_next_sdkappid(s, &a.sdkappid))) return rc;
  a.customer_id = cust;
  strcpy(a.name, "bench"); strcpy(a.secret_key, "k"); strcpy(a.region, "china");
  strcpy(a.scheme, "legacy"); strcpy(a.edition, "legacy");
  a.n_admins = 1; strcpy(a.admins[0], "administrator");
  if ((rc = store_app_insert(s, &a))) return rc;
  *what = "accounts";
  if (!(*no = malloc((size_t)users * sizeof **no))) return -1;
  if ((rc = store_exec(s, "BEGIN IMMEDIATE"))) return rc;
  for (long u = 0; u < users; u++) {
    char uid[32];
    snprintf(uid, sizeof uid, "%s%ld", prefix, u);
    if ((rc = store_account_import(s, a.sdkappid, uid, NULL, NULL, 1, &(*no)[u]))) return rc;
  }
  *sdkappid = a.sdkappid;
  return store_exec(s, "COMMIT");
}

#endif
