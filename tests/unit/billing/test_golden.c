/* Golden bills, to the fen, through the real quote interface
 * (bill_quote_parse -> bill_quote_resolve -> bill_quote on the built-in
 * books). First every worked example of the seeds (P-06, P-19, P-20, P-21,
 * P-22), then cases derived by hand from the rules: boundaries (exactly at a
 * free quota, one above, exactly at a block edge, one above), the legacy
 * 2022-05/2022-06 switch (P-04), and each add-on on each edition that may or
 * may not buy it. Every expected number is worked out in the comment next to
 * it; none is copied from the program's output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "util/err.h"
#include "util/jsonw.h"

typedef struct golden {
  const char *args;      /* after "quote" */
  int64_t total;         /* fen; ignored when err != 0 */
  const char *lines;     /* "code=amount code=amount" that must be present (may be "") */
  int err;               /* expected IMC_E_* or 0 */
  int breaks;            /* expected hard-limit breaks (0/1) */
} golden_t;

#define M "--bill-month 2026-10 "
static const golden_t cases[] = {
  /* ---- seed worked examples ---- */
  /* P-06: legacy, peak DAU 22,000 -> 3 x 1,000; groups 202,000 -> 102,000 excess -> 2 x 1,000; total 5,000 元 */
  { "--scheme legacy --edition legacy --bill-month 2022-06 --peak-dau 22000 --peak-groups 202000", 500000, "dau=300000 groups_overage=200000", 0, 0 },
  /* P-19: 150,000 DAU on the S-2019 pro package -> one started 100,000 above the included 100,000 = 10,000 元 (+999 package) */
  { "--scheme s2019 --edition pro --bill-month 2020-03 --peak-dau 150000", 1099900, "dau_overage=1000000 package=99900", 0, 0 },
  /* P-20: daily peaks 300, 500, 200 Mbps -> 2 x 1,000 = 2,000 元 */
  { "--scheme s2019 --edition pro --bill-month 2020-03 --bandwidth-mbps 300,500,200", 299900, "bandwidth=200000", 0, 0 },
  /* P-21: 200,000 DAU, C2C roaming extended 2 months -> 500 x 2 x 2 = 2,000 元; DAU 100,000 over the included -> 10,000 元 */
  { "--scheme s2019 --edition pro --bill-month 2020-03 --peak-dau 200000 --c2c-roaming-months 2", 1299900, "c2c_roaming=200000 dau_overage=1000000", 0, 0 },
  /* P-22: 1,000,000 accumulated groups -> 900,000 beyond 100,000 -> 9 x 1,000 = 9,000 元 */
  { "--scheme s2019 --edition pro --bill-month 2020-03 --peak-groups 1000000", 999900, "groups_overage=900000", 0, 0 },

  /* ---- S-2022 boundaries (P-41, P-42): pro 999, free 10,000 DAU / 100,000 groups ---- */
  { "--scheme s2022 --edition pro " M "--peak-dau 10000", 99900, "package=99900", 0, 0 },          /* at the free quota */
  { "--scheme s2022 --edition pro " M "--peak-dau 10001", 199900, "dau_overage=100000", 0, 0 },     /* one above: 1 started block */
  { "--scheme s2022 --edition pro " M "--peak-dau 20000", 199900, "dau_overage=100000", 0, 0 },     /* block edge */
  { "--scheme s2022 --edition pro " M "--peak-dau 20001", 299900, "dau_overage=200000", 0, 0 },     /* one above the edge */
  { "--scheme s2022 --edition pro " M "--peak-groups 100000", 99900, "", 0, 0 },
  { "--scheme s2022 --edition pro " M "--peak-groups 100001", 199900, "groups_overage=100000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--peak-groups 200000", 199900, "groups_overage=100000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--peak-groups 200001", 299900, "groups_overage=200000", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--peak-dau 22000 --peak-groups 202000", 299900 + 200000 + 200000, "package=299900", 0, 0 },
  /* trial: free, capped (P-42): no overage line; above 100 users it breaks a limit */
  { "--scheme s2022 --edition trial " M "--peak-dau 100 --peak-groups 100", 0, "", 0, 0 },
  { "--scheme s2022 --edition trial " M "--peak-dau 101", 0, "", 0, 1 },
  { "--scheme s2022 --edition trial " M "--peak-groups 101", 0, "", 0, 1 },

  /* ---- legacy (P-03, P-04, P-05) ---- */
  { "--scheme legacy --edition legacy --bill-month 2022-06 --peak-dau 0", 0, "", 0, 0 },
  { "--scheme legacy --edition legacy --bill-month 2022-06 --peak-dau 1", 100000, "dau=100000", 0, 0 },        /* free 0: first DAU starts a block */
  { "--scheme legacy --edition legacy --bill-month 2022-06 --peak-dau 10000", 100000, "dau=100000", 0, 0 },
  { "--scheme legacy --edition legacy --bill-month 2022-06 --peak-dau 10001", 200000, "dau=200000", 0, 0 },
  /* 2022-05 is the last usage month on the old rule: 10,000 元 per started 100,000 */
  { "--scheme legacy --edition legacy --bill-month 2022-05 --peak-dau 22000", 1000000, "dau=1000000", 0, 0 },
  { "--scheme legacy --edition legacy --bill-month 2022-05 --peak-dau 100000", 1000000, "dau=1000000", 0, 0 },
  { "--scheme legacy --edition legacy --bill-month 2022-05 --peak-dau 100001", 2000000, "dau=2000000", 0, 0 },
  { "--scheme legacy --edition legacy --bill-month 2022-07 --peak-dau 22000 --peak-groups 202000", 500000, "", 0, 0 },
  { "--scheme legacy --edition legacy --bill-month 2022-06 --peak-groups 100000", 0, "", 0, 0 },
  { "--scheme legacy --edition legacy --bill-month 2022-06 --peak-groups 100001", 100000, "groups_overage=100000", 0, 0 },

  /* ---- S-2019 / S-2020 boundaries (P-19, P-32, P-21, P-35) ---- */
  { "--scheme s2019 --edition pro " M "--peak-dau 100000", 99900, "", 0, 0 },
  { "--scheme s2019 --edition pro " M "--peak-dau 100001", 1099900, "dau_overage=1000000", 0, 0 },
  { "--scheme s2019 --edition pro " M "--peak-dau 200000", 1099900, "dau_overage=1000000", 0, 0 },
  { "--scheme s2019 --edition pro " M "--peak-dau 200001", 2099900, "dau_overage=2000000", 0, 0 },
  { "--scheme s2020 --edition pro " M "--peak-dau 150000", 1099900, "dau_overage=1000000", 0, 0 },
  { "--scheme s2020 --edition pro " M "--peak-dau 100000 --c2c-roaming-months 1", 149900, "c2c_roaming=50000", 0, 0 },
  /* 3 months x 2 started 100,000 DAU x 500 = 3,000 元; DAU 1 over -> 10,000 元 */
  { "--scheme s2020 --edition pro " M "--peak-dau 100001 --c2c-roaming-months 3", 1399900, "c2c_roaming=300000 dau_overage=1000000", 0, 0 },
  { "--scheme s2020 --edition pro " M "--bandwidth-mbps 1", 100100, "bandwidth=200", 0, 0 },
  { "--scheme s2019 --edition pro " M "--bandwidth-mbps 0,0", 99900, "", 0, 0 },
  { "--scheme s2019 --edition trial " M "--peak-dau 150000", 0, "", 0, 1 },
  { "--scheme s2020 --edition pro " M "--peak-groups 200001", 299900, "groups_overage=200000", 0, 0 },

  /* ---- S-2022 add-ons (P-46, P-47, P-48) on every edition ---- */
  { "--scheme s2022 --edition pro " M "--addon avchatroom_unlimited", 199900, "avchatroom_unlimited=100000", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon avchatroom_unlimited", 299900, "avchatroom_unlimited=0", 0, 0 },
  { "--scheme s2022 --edition trial " M "--addon avchatroom_unlimited", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition pro " M "--addon member_cap=2000", 149900, "member_cap=50000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--addon member_cap=200", 99900, "member_cap=0", 0, 0 },
  { "--scheme s2022 --edition pro " M "--addon member_cap=6000", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon member_cap=6000", 349900, "member_cap=50000", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon member_cap=2000", 299900, "member_cap=0", 0, 0 },
  /* issue 16: seed 000's 旗舰版 column: "200人/群：免费", "500个群/人：免费", "1000个群/人：免费" */
  { "--scheme s2022 --edition ultimate " M "--addon member_cap=200", 299900, "member_cap=0", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon groups_per_user=500", 299900, "groups_per_user=0", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon groups_per_user=1000", 299900, "groups_per_user=0", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon member_cap=200 --addon groups_per_user=500 --addon avchatroom_unlimited", 299900, "member_cap=0 groups_per_user=0 avchatroom_unlimited=0", 0, 0 },
  { "--scheme s2022 --edition trial " M "--addon member_cap=2000", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition pro " M "--addon groups_per_user=1000", 209900, "groups_per_user=110000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--addon groups_per_user=3000", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon groups_per_user=3000", 389900, "groups_per_user=90000", 0, 0 },
  { "--scheme s2022 --edition trial " M "--addon groups_per_user=1000", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition trial " M "--addon local_audit", 100000, "local_audit=100000", 0, 0 },      /* P-47: every edition */
  { "--scheme s2022 --edition pro " M "--addon local_audit", 199900, "local_audit=100000", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon local_audit", 399900, "local_audit=100000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--addon av_call=basic", 149900, "av_call=50000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--addon av_call=advanced", 199900, "av_call=100000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--addon av_call=premium", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon av_call=premium", 449900, "av_call=150000", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--addon av_call=basic", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition trial " M "--addon av_call=basic", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition pro " M "--addon member_cap", 0, NULL, IMC_E_BILL_ADDON, 0 },              /* needs a value */
  { "--scheme s2022 --edition pro " M "--addon local_audit=1", 0, NULL, IMC_E_BILL_ADDON, 0 },           /* takes none */
  /* history retention tiers (P-46; ultimate 30 days free, P-48); a value between tiers takes the next tier */
  { "--scheme s2022 --edition pro " M "--history-days 7", 99900, "", 0, 0 },
  { "--scheme s2022 --edition pro " M "--history-days 8", 149900, "history=50000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--history-days 30", 149900, "history=50000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--history-days 31", 199900, "history=100000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--history-days 360", 349900, "history=250000", 0, 0 },
  { "--scheme s2022 --edition pro " M "--history-days 361", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2022 --edition ultimate " M "--history-days 30", 299900, "", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--history-days 31", 349900, "history=50000", 0, 0 },
  { "--scheme s2022 --edition ultimate " M "--history-days 360", 499900, "history=200000", 0, 0 },
  { "--scheme s2022 --edition trial " M "--history-days 8", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  /* call minutes (P-46, weights and rates are configuration): basic includes 110,000 */
  { "--scheme s2022 --edition pro " M "--addon av_call=basic --call-minutes audio=110000", 149900, "", 0, 0 },
  { "--scheme s2022 --edition pro " M "--addon av_call=basic --call-minutes audio=110001", 149901, "call_overage=1", 0, 0 }, /* 0.7 fen -> 1 */
  /* 12,223 FHD min x 9 = 110,007 > 110,000: 12,222 covered, 1 min at 63 元/1,000 = 6.3 fen -> 7 */
  { "--scheme s2022 --edition pro " M "--addon av_call=basic --call-minutes video_fhd=12223", 149907, "call_overage=7", 0, 0 },
  { "--scheme s2022 --edition pro " M "--call-minutes audio=5", 0, NULL, IMC_E_BILL_USAGE, 0 },          /* no package */

  /* ---- S-2019 / S-2020 add-ons (P-13, P-17, P-34) ---- */
  { "--scheme s2019 --edition pro " M "--addon member_cap=10000", 299900, "member_cap=200000", 0, 0 },   /* 万人大群 */
  { "--scheme s2019 --edition pro " M "--addon member_cap=6000", 199900, "member_cap=100000", 0, 0 },
  { "--scheme s2020 --edition pro " M "--addon member_cap=10000", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2019 --edition trial " M "--addon member_cap=2000", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2019 --edition pro " M "--addon groups_per_user=700", 189900, "groups_per_user=90000", 0, 0 },
  { "--scheme s2020 --edition pro " M "--addon groups_per_user=400", 149900, "groups_per_user=50000", 0, 0 },
  { "--scheme s2020 --edition pro " M "--addon avchatroom_unlimited", 199900, "avchatroom_unlimited=100000", 0, 0 },
  { "--scheme s2019 --edition pro " M "--addon local_audit", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme s2020 --edition trial " M "--addon avchatroom_unlimited", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },

  /* ---- legacy add-ons (P-08, P-48) ---- */
  { "--scheme legacy --edition legacy " M "--addon member_cap=6000", 0, "member_cap=0", 0, 0 },
  { "--scheme legacy --edition legacy " M "--addon avchatroom_unlimited", 0, "avchatroom_unlimited=0", 0, 0 },
  /* issue 16: seed 004 sells local audit to trial, pro and ultimate only; legacy becomes trial first (P-07) */
  { "--scheme legacy --edition legacy " M "--addon local_audit", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme legacy --edition legacy " M "--addon av_call=basic", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },
  { "--scheme legacy --edition legacy " M "--history-days 8", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },

  /* ---- international (P-51, P-59 operator configuration defaults) ---- */
  { "--scheme intl --edition developer " M "--mau 100", 0, "", 0, 0 },
  { "--scheme intl --edition developer " M "--mau 101", 0, "", 0, 1 },
  { "--scheme intl --edition standard " M "--mau 10000", 99900, "package=99900", 0, 0 },
  { "--scheme intl --edition standard " M "--mau 10001", 199900, "mau_overage=100000", 0, 0 },
  { "--scheme intl --edition pro " M "--mau 30000", 499900, "mau_overage=200000", 0, 0 },
  { "--scheme intl --edition standard " M "--addon local_audit", 0, NULL, IMC_E_BILL_ADDON_FORBIDDEN, 0 },

  /* ---- usage a book cannot price (strict quotes) ---- */
  { "--scheme s2022 --edition pro " M "--bandwidth-mbps 5", 0, NULL, IMC_E_BILL_USAGE, 0 },
  { "--scheme s2019 --edition pro " M "--history-days 30", 0, NULL, IMC_E_BILL_USAGE, 0 },
  { "--scheme s2022 --edition pro " M "--c2c-roaming-months 1", 0, NULL, IMC_E_BILL_USAGE, 0 },
  { "--scheme s2022 --edition gold " M, 0, NULL, IMC_E_BILL_EDITION, 0 },
  /* issue 16: usage the book (or the edition) does not bill is refused, as docs/billing.md promises */
  { "--scheme s2019 --edition trial " M "--c2c-roaming-months 1", 0, NULL, IMC_E_BILL_USAGE, 0 },   /* P-15: trial buys nothing */
  { "--scheme s2020 --edition trial " M "--c2c-roaming-months 2", 0, NULL, IMC_E_BILL_USAGE, 0 },   /* P-30 */
  { "--scheme s2019 --edition trial " M "--bandwidth-mbps 300,500", 0, NULL, IMC_E_BILL_USAGE, 0 },
  { "--scheme s2020 --edition trial " M "--bandwidth-mbps 1", 0, NULL, IMC_E_BILL_USAGE, 0 },
  { "--scheme s2022 --edition pro " M "--mau 50000", 0, NULL, IMC_E_BILL_USAGE, 0 },               /* s2022 bills peak DAU */
  { "--scheme s2022 --edition trial " M "--mau 1", 0, NULL, IMC_E_BILL_USAGE, 0 },
  { "--scheme legacy --edition legacy --bill-month 2022-06 --mau 5", 0, NULL, IMC_E_BILL_USAGE, 0 },
  { "--scheme intl --edition standard " M "--peak-dau 20000", 0, NULL, IMC_E_BILL_USAGE, 0 },     /* intl bills MAU */
  { "--scheme intl --edition developer " M "--peak-dau 1", 0, NULL, IMC_E_BILL_USAGE, 0 },
  /* the same metrics at zero, and on the editions that bill them, are accepted */
  { "--scheme s2019 --edition trial " M "--c2c-roaming-months 0 --bandwidth-mbps 0", 0, "", 0, 0 },
  { "--scheme s2022 --edition pro " M "--mau 0", 99900, "", 0, 0 },
  { "--scheme intl --edition standard " M "--peak-dau 0 --mau 10000", 99900, "", 0, 0 },
};

static int split(char *s, char **argv, int cap)
{
  int n = 0;
  argv[n++] = "quote";
  for (char *t = strtok(s, " "); t && n < cap; t = strtok(NULL, " ")) argv[n++] = t;
  return n;
}

static int run(const char *args, bill_t *bill, const bill_book_t **book, char *err, size_t cap)
{
  static bill_quote_req_t req;
  char buf[512], *argv[40];
  snprintf(buf, sizeof buf, "%s", args);
  int argc = split(buf, argv, 40);
  int rc = bill_quote_parse(argc, argv, &req, err, cap);
  if (rc) return rc;
  *book = bill_book_builtin(req.scheme);
  assert_non_null(*book);
  int e;
  if ((rc = bill_quote_resolve(*book, &req, &e, err, cap))) return rc;
  return bill_quote(*book, &req, e, bill, err, cap);
}

static int64_t line_amount(const bill_t *b, const char *code)
{
  int64_t sum = -1;
  for (int i = 0; i < b->nlines; i++)
    if (!strcmp(b->lines[i].code, code)) sum = (sum < 0 ? 0 : sum) + b->lines[i].amount_fen;
  return sum;
}

static void test_golden(void **st)
{
  (void)st;
  int failed = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const golden_t *g = &cases[i];
    bill_t bill;
    const bill_book_t *book = NULL;
    char err[256] = "";
    int rc = run(g->args, &bill, &book, err, sizeof err);
    if (rc != g->err) {
      printf("case %zu [%s]: rc %d (%s), want %d\n", i, g->args, rc, err, g->err);
      failed++;
      continue;
    }
    if (rc) { if (!err[0]) { printf("case %zu: error without a reason\n", i); failed++; } continue; }
    int64_t sum = 0;
    for (int k = 0; k < bill.nlines; k++) sum += bill.lines[k].amount_fen;
    if (bill.total_fen != g->total || sum != bill.total_fen || bill.prepaid_fen + bill.postpaid_fen != bill.total_fen) {
      printf("case %zu [%s]: total %lld (lines %lld), want %lld\n", i, g->args, (long long)bill.total_fen, (long long)sum, (long long)g->total);
      failed++;
    }
    if ((bill.nbreaks > 0) != g->breaks) { printf("case %zu [%s]: breaks %d, want %d\n", i, g->args, bill.nbreaks, g->breaks); failed++; }
    char want[256];
    snprintf(want, sizeof want, "%s", g->lines ? g->lines : "");
    for (char *t = strtok(want, " "); t; t = strtok(NULL, " ")) {
      char *eq = strchr(t, '=');
      *eq = 0;
      int64_t amt = line_amount(&bill, t);
      if (amt != atoll(eq + 1)) { printf("case %zu [%s]: line %s = %lld, want %s\n", i, g->args, t, (long long)amt, eq + 1); failed++; }
    }
    for (int k = 0; k < bill.nlines; k++)
      if (!bill.lines[k].rule[0]) { printf("case %zu: line %s has no rule id\n", i, bill.lines[k].code); failed++; }
  }
  printf("%zu golden cases\n", sizeof cases / sizeof *cases);
  assert_int_equal(failed, 0);
}

/* Bad quote arguments: each is refused by the parser with a reason. */
static void test_bad_arguments(void **st)
{
  (void)st;
  static const struct { const char *args; int err; } bad[] = {
    { "--scheme s2022 --edition pro --bill-month 2026-13", IMC_E_BILL_MONTH },
    { "--scheme s2022 --edition pro --bill-month 2026-1", IMC_E_BILL_MONTH },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --peak-dau -5", IMC_E_BILL_NUMBER },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --peak-dau 12x", IMC_E_BILL_NUMBER },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --mau 1e5", IMC_E_BILL_NUMBER },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --peak-dau 1000000000001", IMC_E_BILL_NUMBER },
    { "--scheme s2033 --edition pro --bill-month 2026-10", IMC_E_BILL_SCHEME },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --addon gold", IMC_E_BILL_ADDON },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --addon local_audit --addon local_audit", IMC_E_BILL_ADDON },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --addon member_cap=0", IMC_E_BILL_NUMBER },
    { "--scheme s2022 --edition pro --bill-month 2026-02 --bandwidth-mbps 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", IMC_E_BILL_USAGE },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --bandwidth-mbps 1,,2", IMC_E_BILL_NUMBER },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --peak-dau 1 --peak-dau 2", IMC_E_USAGE },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --frobnicate", IMC_E_USAGE },
    { "--scheme s2022 --edition pro --bill-month 2026-10 extra", IMC_E_USAGE },
    { "--scheme s2022 --bill-month 2026-10", IMC_E_USAGE },
    { "--edition pro --bill-month 2026-10", IMC_E_USAGE },
    { "--scheme s2022 --edition pro", IMC_E_USAGE },
    { "--scheme s2022 --edition pro --bill-month", IMC_E_USAGE },
    { "--scheme s2022 --edition pro --bill-month 2026-10 --json=1", IMC_E_USAGE },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    static bill_quote_req_t req;
    char buf[512], *argv[48], err[256] = "";
    snprintf(buf, sizeof buf, "%s", bad[i].args);
    int argc = split(buf, argv, 48);
    int rc = bill_quote_parse(argc, argv, &req, err, sizeof err);
    if (rc != bad[i].err) printf("bad case %zu [%s]: rc %d (%s), want %d\n", i, bad[i].args, rc, err, bad[i].err);
    assert_int_equal(rc, bad[i].err);
    assert_true(err[0] != 0);
    assert_null(strchr(err, '\n')); /* one line */
  }
}

static void compare(const char *args, bill_compare_t *c, const bill_book_t **book)
{
  static bill_quote_req_t req;
  char buf[512], *argv[40], err[256];
  snprintf(buf, sizeof buf, "%s", args);
  int argc = split(buf, argv, 40);
  assert_int_equal(bill_quote_parse(argc, argv, &req, err, sizeof err), 0);
  *book = bill_book_builtin(req.scheme);
  int e;
  assert_int_equal(bill_quote_resolve(*book, &req, &e, err, sizeof err), 0);
  bill_quote_compare(*book, &req, c);
}

static void test_compare(void **st)
{
  (void)st;
  static bill_compare_t c;
  const bill_book_t *b;
  /* trial with 22,000 DAU breaks its limits; pro 999 + 2 x 1,000 = 2,999 beats ultimate 2,999 + 2,000 */
  compare("--scheme s2022 --compare --bill-month 2026-10 --peak-dau 22000", &c, &b);
  assert_int_equal(c.n, 3);
  assert_true(c.e[0].ok && c.e[0].breaks);
  assert_int_equal(c.e[1].bill.total_fen, 299900);
  assert_int_equal(c.e[2].bill.total_fen, 499900);
  assert_int_equal(c.cheapest, 1);
  /* everything pro must buy is included in ultimate: 999+1,000+500+1,100+500 = 4,099 > 2,999 */
  compare("--scheme s2022 --compare --bill-month 2026-10 --addon avchatroom_unlimited --addon member_cap=2000 "
          "--addon groups_per_user=1000 --history-days 30", &c, &b);
  assert_false(c.e[0].ok); /* trial cannot buy add-ons */
  assert_int_equal(c.e[1].bill.total_fen, 409900);
  assert_int_equal(c.e[2].bill.total_fen, 299900);
  assert_int_equal(c.cheapest, 2);
  /* issue 16: ultimate's free value-added rows: pro pays 999 + 0 (200 included) + 1,000 + 1,100 = 3,099,
   * ultimate 2,999 with all three included -> ultimate is cheapest */
  compare("--scheme s2022 --compare --bill-month 2026-10 --addon member_cap=200 --addon avchatroom_unlimited "
          "--addon groups_per_user=1000", &c, &b);
  assert_false(c.e[0].ok);
  assert_true(c.e[1].ok && c.e[2].ok);
  assert_int_equal(c.e[1].bill.total_fen, 309900);
  assert_int_equal(c.e[2].bill.total_fen, 299900);
  assert_int_equal(c.cheapest, 2);
  /* small usage: the free edition is cheapest */
  compare("--scheme intl --compare --bill-month 2026-10 --mau 50", &c, &b);
  assert_int_equal(c.cheapest, 0);
  /* renderers produce JSON a parser accepts and name the cheapest */
  jsonw_t w;
  jsonw_init(&w, 1 << 16);
  bill_render_compare_json(b, &c, &w);
  assert_int_equal(w.failed, 0);
  assert_non_null(strstr(w.buf, "\"cheapest\":\"developer\""));
  jsonw_free(&w);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_golden), cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_compare),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
