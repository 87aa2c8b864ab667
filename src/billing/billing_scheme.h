/* billing_scheme.h — which price book (scheme) an app falls under.
 * Pure: no clock, no I/O. Rules P-01, P-40, P-50 of shared/spec/pricing.md. */
#ifndef IMC_BILLING_SCHEME_H
#define IMC_BILLING_SCHEME_H

#include <stdint.h>

typedef enum {
  BILL_SCHEME_LEGACY,   /* S-LEGACY, seed 000 */
  BILL_SCHEME_S2019,    /* S-2019, seed 003 */
  BILL_SCHEME_S2020,    /* S-2020, seed 002 */
  BILL_SCHEME_S2022,    /* S-2022, seed 004: current China */
  BILL_SCHEME_INTL,     /* S-INTL, seed 001: overseas data centers */
  BILL_SCHEME__COUNT
} bill_scheme_t;

/* "legacy", "s2019", "s2020", "s2022", "intl"; NULL for out-of-range values. */
const char *bill_scheme_name(bill_scheme_t s);
/* Parse a scheme name; IMC_E_BILL_SCHEME if unknown. */
int bill_scheme_parse(const char *name, bill_scheme_t *out);
/* The free edition every app of the scheme starts on (L-1):
 * "legacy" for legacy, "trial" for s2019/s2020/s2022, "developer" for intl. */
const char *bill_scheme_free_edition(bill_scheme_t s);

/* 1 if region names a known data center, else 0. Known: "china" and the
 * overseas "singapore", "india", "korea", "germany", "usa", "japan",
 * "indonesia". */
int bill_region_known(const char *region);
/* 1 for overseas regions (P-40), 0 for china. */
int bill_region_overseas(const char *region);

/* Scheme of an app of today:
 *  P-01: the account's first IM app created before 2019-12-27 00:00:00
 *        (UTC+8) → legacy, whatever the region;
 *  P-50: overseas region → intl;
 *  P-40: china → s2022.
 * first_app_created_s: unix seconds of the creation of the account's first IM
 * app (this app's own creation time if it is the first). Era books (s2019,
 * s2020) are never resolved here: an operator assigns them explicitly.
 * Returns 0, IMC_E_INVAL for an unknown region. */
int bill_scheme_resolve(int64_t first_app_created_s, const char *region, bill_scheme_t *out);

/* P-50: a customer (account) that created an IM app before 2022-12-26
 * 00:00:00 (UTC+8) stays on the *original* international scheme, whose
 * prices no seed gives: 1 if first_app_created_s (the account's first app)
 * is before that instant, else 0. */
int bill_scheme_original_intl(int64_t first_app_created_s);
/* P-01: 1 if an account whose first IM app was created at first_app_created_s
 * is legacy (before 2019-12-27 00:00:00 UTC+8), else 0. */
int bill_scheme_legacy(int64_t first_app_created_s);

#endif
