/* bench_store.h — the store benches' fixtures: an app of the customer with
 * `users` accounts (UserIDs prefix0, prefix1, …), and a Work group of all of
 * them, written directly through the store (no server). Header-only (static
 * functions), for the benches in bench/. */
#ifndef IMC_BENCH_STORE_H
#define IMC_BENCH_STORE_H

#include "store/store.h"
#include "store/store_grp.h"

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

/* Opens the store in dir, makes customer "bench", an app of `members` accounts (bench_store_app) and group
 * number gno ("bench", Work, no[0] the owner, created at t_s) with every account a member, each step its own
 * transaction. *s, *sdkappid, *no (malloc'ed): the caller's. 0 or the failing call's error (what names it). */
static inline int bench_store_group(const char *dir, long members, const char *prefix, uint32_t gno, int64_t t_s, store_t **s,
                             uint32_t *sdkappid, uint32_t **no, const char **what)
{
  int64_t cust;
  int rc;
  *what = "store_open";
  if ((rc = store_open(dir, s))) return rc;
  *what = "customer";
  if ((rc = store_customer_create(*s, "bench", 1, &cust))) return rc;
  if ((rc = bench_store_app(*s, cust, members, prefix, sdkappid, no, what))) return rc;
  store_grp_t g = { .sdkappid = *sdkappid, .group_no = gno, .group_id = "bench", .type = 1, .owner_no = (*no)[0],
                    .created_s = t_s, .info = "{\"Name\":\"bench\"}" };
  *what = "group";
  if ((rc = store_exec(*s, "BEGIN IMMEDIATE")) || (rc = store_grp_put(*s, &g))) return rc;
  *what = "member";
  for (long u = 0; u < members; u++) {
    store_grp_member_t m = { .user_no = (*no)[u], .role = u ? 0 : 2, .join_s = t_s, .name_card = "", .data = "" };
    if ((rc = store_grp_member_put(*s, *sdkappid, gno, &m))) return rc;
  }
  *what = "commit";
  return store_exec(*s, "COMMIT");
}

#endif
