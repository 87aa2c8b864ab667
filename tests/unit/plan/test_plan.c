/* The edition catalog, cell by cell. The expected values are written here
 * from shared/spec/pricing.md §6 (both tables), P-15/P-16 (S-2019), P-36
 * (S-2020), P-08 (legacy) and the recorded decisions — not read from the
 * catalog — and every (scheme, edition, limit) cell is checked at N (allowed)
 * and N+1 (refused with its compatible ErrorCode), unlimited cells at a huge
 * count; then every feature gate on every edition, every add-on's effect,
 * the region and time rules (P-55, international push 48 h after approval),
 * P-17, P-54, P-56 and bad arguments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "plan/plan.h"
#include "util/err.h"

#define U PLAN_UNLIMITED

/* Limit columns of the expectation table. */
static const plan_item_t cols[] = {
  PLAN_L_USERS, PLAN_L_FRIENDS, PLAN_L_GROUPS_PER_USER, PLAN_L_MEMBERS_INITIAL, PLAN_L_GROUPS, PLAN_L_AVCHATROOMS,
  PLAN_L_DAILY_NEW_GROUPS, PLAN_L_DAILY_NEW_BCHATROOMS, PLAN_L_FREE_DAU, PLAN_L_FREE_MAU, PLAN_L_HISTORY_DAYS,
  PLAN_L_C2C_HISTORY_DAYS, PLAN_L_RECENT_CONVERSATIONS,
};
#define NCOLS (sizeof cols / sizeof *cols)

typedef struct cell_row {
  const char *scheme, *edition;
  int64_t v[NCOLS];
  int features;            /* 0 none, 1 all, 2 all with push on application */
} cell_row_t;

static const cell_row_t rows[] = {
  /*                          users friends gpu  members groups avchat daily bchat  dau   mau  hist c2c recent */
  { "legacy", "legacy",     { U,    U,      U,   U,      U,     U,     U,    U,     U,    U,   7,   7,  100 }, 0 }, /* P-08 */
  { "s2019",  "trial",      { 100,  20,     50,  20,     5000,  10,    U,    U,     100,  U,   7,   7,  100 }, 0 }, /* P-15 */
  { "s2019",  "pro",        { U,    1000,   200, 200,    U,     50,    U,    U,     U,    U,   7,   7,  100 }, 0 }, /* P-16 */
  { "s2020",  "trial",      { 100,  20,     50,  20,     5000,  10,    U,    U,     100,  U,   7,   7,  100 }, 0 }, /* P-36 */
  { "s2020",  "pro",        { U,    3000,   200, 200,    U,     50,    U,    U,     U,    U,   7,   7,  100 }, 0 }, /* P-36 */
  { "s2022",  "trial",      { 100,  20,     50,  20,     100,   10,    100,  5,     100,  U,   7,   7,  100 }, 0 }, /* §6 */
  { "s2022",  "pro",        { U,    3000,   500, 200,    U,     50,    10000, 5,    U,    U,   7,   7,  100 }, 0 },
  { "s2022",  "ultimate",   { U,    3000,   1000, 2000,  U,     U,     10000, 5,    U,    U,   30,  30, 500 }, 1 },
  { "intl",   "developer",  { 100,  20,     50,  20,     100,   10,    100,  5,     U,    100, 7,   7,  100 }, 1 }, /* §6 intl */
  { "intl",   "standard",   { U,    3000,   500, 200,    U,     50,    10000, 5,    U,    U,   7,   7,  100 }, 0 },
  { "intl",   "pro",        { U,    3000,   1000, 2000,  U,     U,     10000, 5,    U,    U,   30,  30, 500 }, 2 },
};

/* Compatible ErrorCode of each limit / feature refusal (rest-api-reference §3.1). */
static int want_code(plan_item_t w)
{
  switch (w) {
  case PLAN_L_USERS: return 70398;
  case PLAN_L_FRIENDS: return 30010;
  case PLAN_L_FRIENDS_PEER: return 30014;
  case PLAN_L_GROUPS_PER_USER: return 10037;
  case PLAN_L_MEMBERS_INITIAL: return 10038;
  case PLAN_L_MEMBERS: return 10014;
  case PLAN_L_GROUPS: return 10058;
  case PLAN_L_AVCHATROOMS: return 10036;
  case PLAN_L_DAILY_NEW_GROUPS: case PLAN_L_DAILY_NEW_BCHATROOMS: return 10006;
  case PLAN_L_BIG_GROUPS: return 10038;
  case PLAN_L_FREE_DAU: case PLAN_L_FREE_MAU: return 72000;
  case PLAN_F_ALL_MEMBER_PUSH: return 90045;
  case PLAN_F_COMMUNITY: return 11000;
  case PLAN_F_GROUP_READ_RECEIPTS: case PLAN_F_GROUP_TARGETED_MSG: case PLAN_F_GROUP_COUNTERS: return 10059;
  case PLAN_F_MESSAGE_EXTENSIONS: return 10008;
  case PLAN_F_LIVE_GROUP_MEMBERS: case PLAN_F_LIVE_GROUP_BROADCAST: case PLAN_F_LIVE_GROUP_BANS: return 10007;
  case PLAN_F_USER_STATUS: return 72001;
  case PLAN_F_LOCAL_SEARCH: case PLAN_F_CONVERSATION_MARKS: case PLAN_F_CONVERSATION_GROUPS: return 7013;
  default: return 0; /* retention, multi-device, live-group history: behaviour, not a reply */
  }
}

static plan_app_t app_of(const char *scheme, const char *edition, const char *region)
{
  plan_app_t a;
  int rc = plan_app_init(&a, scheme, edition, region);
  if (rc) printf("plan_app_init(%s, %s, %s) = %s\n", scheme, edition, region, imc_err_name(rc));
  assert_int_equal(rc, 0);
  return a;
}

static const int64_t NOW = 1790000000; /* 2026-09-22; only the push delay reads it */

static void expect_boundary(const plan_app_t *a, plan_item_t w, int64_t n, const char *ctx)
{
  plan_verdict_t v;
  char where[160];
  snprintf(where, sizeof where, "%s %s", ctx, plan_item_key(w));
  if (n == U) {
    assert_int_equal(plan_limit(a, NOW, w), U);
    int rc = plan_check(a, NOW, w, 999999999999LL, 1, &v);
    if (rc) printf("%s: unlimited refused: %s\n", where, v.msg);
    assert_int_equal(rc, 0);
    return;
  }
  if (plan_limit(a, NOW, w) != n) printf("%s: limit %lld, want %lld\n", where, (long long)plan_limit(a, NOW, w), (long long)n);
  assert_int_equal(plan_limit(a, NOW, w), n);
  /* N allowed: in use N-1 adding 1, and 0 adding N */
  if (n > 0) {
    assert_int_equal(plan_check(a, NOW, w, n - 1, 1, &v), 0);
    assert_string_equal(v.msg, "");
  }
  assert_int_equal(plan_check(a, NOW, w, 0, n, &v), 0);
  /* N+1 refused: in use N adding 1, and 0 adding N+1 */
  int rc = plan_check(a, NOW, w, n, 1, &v);
  if (!rc) printf("%s: N+1 allowed\n", where);
  assert_true(rc < 0);
  assert_int_equal(rc, plan_item_error(w));
  assert_int_equal(v.err, rc);
  assert_int_equal(imc_err_compat(rc), want_code(w));
  assert_true(plan_check(a, NOW, w, 0, n + 1, &v) == rc);
  /* the message names the limit and the app's edition */
  assert_non_null(strstr(v.msg, plan_item_label(w)));
  assert_null(strchr(v.msg, '\n'));
}

/* Every (scheme, edition, limit) cell at N and N+1. */
static void test_limit_cells(void **st)
{
  (void)st;
  assert_null(plan_catalog_error());
  int cells = 0;
  for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
    plan_app_t a = app_of(rows[r].scheme, rows[r].edition, "china");
    char ctx[64];
    snprintf(ctx, sizeof ctx, "%s %s", rows[r].scheme, rows[r].edition);
    for (size_t c = 0; c < NCOLS; c++, cells++) {
      expect_boundary(&a, cols[c], rows[r].v[c], ctx);
      /* the edition's own value as the catalog lists it */
      int e = -1;
      for (int i = 0; i < plan_editions(a.scheme); i++)
        if (!strcmp(plan_edition_code(a.scheme, i), rows[r].edition)) e = i;
      assert_int_equal(plan_edition_value(a.scheme, e, cols[c]), rows[r].v[c]);
    }
    /* the twin items share their value and carry their own code */
    expect_boundary(&a, PLAN_L_FRIENDS_PEER, rows[r].v[1], ctx);
    expect_boundary(&a, PLAN_L_MEMBERS, rows[r].v[3], ctx);
    /* no add-on with a per-customer quota held: no 万人大群 count */
    expect_boundary(&a, PLAN_L_BIG_GROUPS, U, ctx);
  }
  /* every edition of every scheme is in the table */
  int eds = 0;
  for (int s = 0; s < BILL_SCHEME__COUNT; s++) eds += plan_editions((bill_scheme_t)s);
  assert_int_equal(eds, (int)(sizeof rows / sizeof *rows));
  printf("%d limit cells\n", cells);
}

/* Every feature gate on every edition. */
static void test_feature_cells(void **st)
{
  (void)st;
  for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
    plan_app_t a = app_of(rows[r].scheme, rows[r].edition, "singapore");
    for (int w = PLAN_FIRST_FEATURE; w < PLAN__COUNT; w++) {
      plan_verdict_t v;
      int on = rows[r].features == 1 || (rows[r].features == 2 && w != PLAN_F_ALL_MEMBER_PUSH);
      int rc = plan_check(&a, NOW, (plan_item_t)w, 0, 0, &v);
      if ((rc == 0) != on) printf("%s %s %s: rc %d, want %s\n", rows[r].scheme, rows[r].edition, plan_item_key(w), rc, on ? "on" : "off");
      assert_int_equal(rc == 0, on);
      assert_int_equal(plan_limit(&a, NOW, (plan_item_t)w), on);
      if (!on) {
        assert_int_equal(imc_err_compat(rc), want_code((plan_item_t)w));
        assert_non_null(strstr(v.msg, plan_item_label((plan_item_t)w)));
      }
    }
  }
  /* the refusal names the editions that have the feature */
  plan_app_t a = app_of("s2022", "pro", "china");
  plan_verdict_t v;
  assert_int_equal(plan_check(&a, NOW, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), IMC_E_PLAN_PUSH);
  assert_non_null(strstr(v.msg, "s2022 pro"));
  assert_non_null(strstr(v.msg, "editions that have it: s2022 ultimate (旗舰版)"));
  a = app_of("s2019", "pro", "china");
  assert_int_equal(plan_check(&a, NOW, PLAN_F_COMMUNITY, 0, 0, &v), IMC_E_PLAN_COMMUNITY);
  assert_non_null(strstr(v.msg, "no edition of the s2019 scheme has it"));
  /* a limit refusal lists the other editions and what add-ons reach */
  a = app_of("s2022", "pro", "china");
  assert_int_equal(plan_check(&a, NOW, PLAN_L_MEMBERS, 200, 1, &v), IMC_E_PLAN_GROUP_FULL);
  assert_non_null(strstr(v.msg, "ultimate 2,000 (add-ons up to 6,000)"));
}

typedef struct hold_case {
  const char *scheme, *edition;
  plan_hold_t hold;
  int64_t value;
  int rc;                 /* plan_app_hold */
  plan_item_t item;       /* checked at N / N+1 when rc == 0 */
  int64_t n;
} hold_case_t;

/* Every add-on's effect on the limit it raises, and the values an edition may not hold. */
static const hold_case_t holds[] = {
  /* member cap: P-46/P-48 s2022 (ultimate's free 200 and 2,000 rows, issue 16), P-17 s2019, P-34 s2020 */
  { "s2022", "pro", PLAN_HOLD_MEMBER_CAP, 2000, 0, PLAN_L_MEMBERS_INITIAL, 2000 },
  { "s2022", "pro", PLAN_HOLD_MEMBER_CAP, 2000, 0, PLAN_L_MEMBERS, 2000 },
  { "s2022", "pro", PLAN_HOLD_MEMBER_CAP, 200, 0, PLAN_L_MEMBERS_INITIAL, 200 },
  { "s2022", "pro", PLAN_HOLD_MEMBER_CAP, 6000, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "s2022", "trial", PLAN_HOLD_MEMBER_CAP, 2000, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "s2022", "ultimate", PLAN_HOLD_MEMBER_CAP, 6000, 0, PLAN_L_MEMBERS_INITIAL, 6000 },
  { "s2022", "ultimate", PLAN_HOLD_MEMBER_CAP, 200, 0, PLAN_L_MEMBERS_INITIAL, 2000 },  /* included rows never lower it */
  { "s2022", "ultimate", PLAN_HOLD_MEMBER_CAP, 2000, 0, PLAN_L_MEMBERS_INITIAL, 2000 },
  { "s2019", "pro", PLAN_HOLD_MEMBER_CAP, 2000, 0, PLAN_L_MEMBERS, 2000 },
  { "s2019", "pro", PLAN_HOLD_MEMBER_CAP, 6000, 0, PLAN_L_MEMBERS, 6000 },
  { "s2019", "pro", PLAN_HOLD_MEMBER_CAP, 10000, 0, PLAN_L_MEMBERS, 10000 },
  { "s2019", "pro", PLAN_HOLD_MEMBER_CAP, 10000, 0, PLAN_L_BIG_GROUPS, 10 },          /* P-17 */
  { "s2019", "pro", PLAN_HOLD_MEMBER_CAP, 6000, 0, PLAN_L_BIG_GROUPS, U },
  { "s2019", "trial", PLAN_HOLD_MEMBER_CAP, 2000, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },  /* P-15 */
  { "s2020", "pro", PLAN_HOLD_MEMBER_CAP, 6000, 0, PLAN_L_MEMBERS_INITIAL, 6000 },
  { "s2020", "pro", PLAN_HOLD_MEMBER_CAP, 10000, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },   /* P-34 has no 万人大群 */
  { "legacy", "legacy", PLAN_HOLD_MEMBER_CAP, 12345, 0, PLAN_L_MEMBERS, U },           /* P-48 free, any value */
  { "intl", "pro", PLAN_HOLD_MEMBER_CAP, 6000, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },     /* seed 001 sells none */
  /* groups per user */
  { "s2022", "pro", PLAN_HOLD_GROUPS_PER_USER, 1000, 0, PLAN_L_GROUPS_PER_USER, 1000 },
  { "s2022", "pro", PLAN_HOLD_GROUPS_PER_USER, 3000, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "s2022", "ultimate", PLAN_HOLD_GROUPS_PER_USER, 3000, 0, PLAN_L_GROUPS_PER_USER, 3000 },
  { "s2022", "ultimate", PLAN_HOLD_GROUPS_PER_USER, 500, 0, PLAN_L_GROUPS_PER_USER, 1000 },
  { "s2022", "trial", PLAN_HOLD_GROUPS_PER_USER, 1000, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "s2019", "pro", PLAN_HOLD_GROUPS_PER_USER, 400, 0, PLAN_L_GROUPS_PER_USER, 400 },
  { "s2019", "pro", PLAN_HOLD_GROUPS_PER_USER, 700, 0, PLAN_L_GROUPS_PER_USER, 700 },
  { "s2019", "pro", PLAN_HOLD_GROUPS_PER_USER, 1000, 0, PLAN_L_GROUPS_PER_USER, 1000 },
  { "s2020", "pro", PLAN_HOLD_GROUPS_PER_USER, 700, 0, PLAN_L_GROUPS_PER_USER, 700 },
  { "s2020", "pro", PLAN_HOLD_GROUPS_PER_USER, 500, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  /* unlimited AVChatRooms */
  { "s2022", "pro", PLAN_HOLD_AVCHATROOM_UNLIMITED, 1, 0, PLAN_L_AVCHATROOMS, U },
  { "s2022", "trial", PLAN_HOLD_AVCHATROOM_UNLIMITED, 1, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "s2019", "pro", PLAN_HOLD_AVCHATROOM_UNLIMITED, 1, 0, PLAN_L_AVCHATROOMS, U },
  { "s2020", "pro", PLAN_HOLD_AVCHATROOM_UNLIMITED, 1, 0, PLAN_L_AVCHATROOMS, U },
  { "s2020", "trial", PLAN_HOLD_AVCHATROOM_UNLIMITED, 1, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "intl", "standard", PLAN_HOLD_AVCHATROOM_UNLIMITED, 1, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  /* retention tiers (P-46: 30/90/180/360 on pro, 90/180/360 on ultimate) */
  { "s2022", "pro", PLAN_HOLD_HISTORY_DAYS, 30, 0, PLAN_L_HISTORY_DAYS, 30 },
  { "s2022", "pro", PLAN_HOLD_HISTORY_DAYS, 360, 0, PLAN_L_C2C_HISTORY_DAYS, 360 },
  { "s2022", "pro", PLAN_HOLD_HISTORY_DAYS, 45, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "s2022", "ultimate", PLAN_HOLD_HISTORY_DAYS, 90, 0, PLAN_L_HISTORY_DAYS, 90 },
  { "s2022", "trial", PLAN_HOLD_HISTORY_DAYS, 30, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "legacy", "legacy", PLAN_HOLD_HISTORY_DAYS, 30, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 }, /* P-08 */
  /* S-2019 C2C roaming (P-21: C2C only) and S-2020 history extension (all history) */
  { "s2019", "pro", PLAN_HOLD_ROAMING_MONTHS, 2, 0, PLAN_L_C2C_HISTORY_DAYS, 60 },
  { "s2019", "pro", PLAN_HOLD_ROAMING_MONTHS, 2, 0, PLAN_L_HISTORY_DAYS, 7 },
  { "s2019", "trial", PLAN_HOLD_ROAMING_MONTHS, 1, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
  { "s2020", "pro", PLAN_HOLD_ROAMING_MONTHS, 3, 0, PLAN_L_HISTORY_DAYS, 90 },
  { "s2020", "pro", PLAN_HOLD_ROAMING_MONTHS, 3, 0, PLAN_L_C2C_HISTORY_DAYS, 90 },
  { "s2022", "pro", PLAN_HOLD_ROAMING_MONTHS, 1, IMC_E_BILL_ADDON_FORBIDDEN, 0, 0 },
};

static void test_addon_effects(void **st)
{
  (void)st;
  for (size_t i = 0; i < sizeof holds / sizeof *holds; i++) {
    const hold_case_t *h = &holds[i];
    plan_app_t a = app_of(h->scheme, h->edition, "china"), before = a;
    int rc = plan_app_hold(&a, h->hold, h->value);
    if (rc != h->rc) printf("hold case %zu: rc %s, want %s\n", i, imc_err_name(rc), imc_err_name(h->rc));
    assert_int_equal(rc, h->rc);
    if (rc) { assert_memory_equal(&a, &before, sizeof a); continue; } /* refused: unchanged */
    char ctx[64];
    snprintf(ctx, sizeof ctx, "hold case %zu", i);
    expect_boundary(&a, h->item, h->n, ctx);
  }
  /* removing an add-on restores the edition's value */
  plan_app_t a = app_of("s2022", "pro", "china");
  assert_int_equal(plan_app_hold(&a, PLAN_HOLD_MEMBER_CAP, 2000), 0);
  assert_int_equal(plan_app_hold(&a, PLAN_HOLD_MEMBER_CAP, 0), 0);
  assert_int_equal(plan_limit(&a, NOW, PLAN_L_MEMBERS), 200);
  assert_int_equal(plan_app_hold(&a, PLAN_HOLD_MEMBER_CAP, -1), IMC_E_RANGE);
}

/* P-17: 万人大群 above 6,000 members, 10 per customer, a ticket raises it. */
static void test_big_groups(void **st)
{
  (void)st;
  plan_app_t a = app_of("s2019", "pro", "china");
  assert_int_equal(plan_big_group_floor(&a), U);
  assert_int_equal(plan_app_hold(&a, PLAN_HOLD_MEMBER_CAP, 10000), 0);
  assert_int_equal(plan_big_group_floor(&a), 6000);
  plan_verdict_t v;
  assert_int_equal(plan_check(&a, NOW, PLAN_L_BIG_GROUPS, 9, 1, &v), 0);
  assert_int_equal(plan_check(&a, NOW, PLAN_L_BIG_GROUPS, 10, 1, &v), IMC_E_PLAN_MEMBERS_CAP);
  assert_non_null(strstr(v.msg, "P-17"));
  assert_int_equal(plan_app_hold(&a, PLAN_HOLD_BIG_GROUPS_EXTRA, 5), 0);
  assert_int_equal(plan_check(&a, NOW, PLAN_L_BIG_GROUPS, 14, 1, &v), 0);
  assert_int_equal(plan_check(&a, NOW, PLAN_L_BIG_GROUPS, 15, 1, &v), IMC_E_PLAN_MEMBERS_CAP);
}

/* P-55: community is never available in Germany and Korea. */
static void test_community_regions(void **st)
{
  (void)st;
  static const struct { const char *scheme, *edition, *region; int ok; } c[] = {
    { "intl", "pro", "singapore", 1 }, { "intl", "pro", "germany", 0 }, { "intl", "pro", "korea", 0 },
    { "intl", "developer", "india", 1 }, { "intl", "developer", "korea", 0 }, { "intl", "standard", "india", 0 },
    { "s2022", "ultimate", "china", 1 },
  };
  for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
    plan_app_t a = app_of(c[i].scheme, c[i].edition, c[i].region);
    plan_verdict_t v;
    int rc = plan_check(&a, NOW, PLAN_F_COMMUNITY, 0, 0, &v);
    assert_int_equal(rc == 0, c[i].ok);
    if (!c[i].ok) assert_int_equal(imc_err_compat(rc), 11000);
    if (!c[i].ok && strcmp(c[i].edition, "standard")) {
      assert_non_null(strstr(v.msg, c[i].region));
      assert_non_null(strstr(v.msg, "P-55"));
    }
  }
}

/* International Pro's all-member push: on application, 48 h after approval. */
static void test_push_on_application(void **st)
{
  (void)st;
  plan_app_t a = app_of("intl", "pro", "singapore");
  plan_verdict_t v;
  assert_int_equal(plan_check(&a, NOW, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), IMC_E_PLAN_PUSH);
  assert_non_null(strstr(v.msg, "not approved"));
  a.push_approved_at_s = NOW;
  assert_int_equal(plan_check(&a, NOW + 48 * 3600 - 1, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), IMC_E_PLAN_PUSH);
  assert_non_null(strstr(v.msg, "1 s to go"));
  assert_int_equal(plan_check(&a, NOW + 48 * 3600, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), 0);
  assert_int_equal(plan_limit(&a, NOW + 48 * 3600, PLAN_F_ALL_MEMBER_PUSH), 1);
  /* developer has it outright; standard never (P-57: lost on a downgrade) */
  plan_app_t d = app_of("intl", "developer", "india");
  assert_int_equal(plan_check(&d, NOW, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), 0);
  plan_app_t s = app_of("intl", "standard", "india");
  s.push_approved_at_s = NOW - 100 * 3600;
  assert_int_equal(plan_check(&s, NOW, PLAN_F_ALL_MEMBER_PUSH, 0, 0, &v), IMC_E_PLAN_PUSH);
  assert_int_equal(plan_check(&s, NOW, PLAN_F_COMMUNITY, 0, 0, &v), IMC_E_PLAN_COMMUNITY);
}

/* P-56 read receipts; P-54 live-group element types. */
static void test_group_rules(void **st)
{
  (void)st;
  plan_app_t u = app_of("s2022", "ultimate", "china"), p = app_of("s2022", "pro", "china");
  plan_verdict_t v;
  assert_int_equal(plan_check_read_receipts(&u, NOW, "Work", 200, &v), 0);
  assert_int_equal(plan_check_read_receipts(&u, NOW, "Public", 1, &v), 0);
  assert_int_equal(plan_check_read_receipts(&u, NOW, "Meeting", 200, &v), 0);
  assert_int_equal(plan_check_read_receipts(&u, NOW, "Work", 201, &v), IMC_E_PLAN_RECEIPT_GROUP);
  assert_non_null(strstr(v.msg, "P-56"));
  assert_int_equal(plan_check_read_receipts(&u, NOW, "AVChatRoom", 10, &v), IMC_E_PLAN_RECEIPT_GROUP);
  assert_int_equal(plan_check_read_receipts(&u, NOW, "Community", 10, &v), IMC_E_PLAN_RECEIPT_GROUP);
  assert_int_equal(plan_check_read_receipts(&p, NOW, "Work", 10, &v), IMC_E_PLAN_ULTIMATE);
  static const struct { const char *t; int ok; } el[] = {
    { "TIMTextElem", 1 }, { "TIMImageElem", 1 }, { "TIMSoundElem", 1 }, { "TIMCustomElem", 1 },
    { "TIMFileElem", 0 }, { "TIMVideoFileElem", 0 }, { "TIMLocationElem", 0 }, { "TIMFaceElem", 0 }, { "", 0 },
  };
  for (size_t i = 0; i < sizeof el / sizeof *el; i++) {
    int rc = plan_check_live_element(&p, el[i].t, &v);
    assert_int_equal(rc == 0, el[i].ok);
    if (!el[i].ok) { assert_int_equal(imc_err_compat(rc), 10007); assert_non_null(strstr(v.msg, "P-54")); }
  }
}

/* Above a lower limit after a downgrade: nothing new until under it. */
static void test_above_limit(void **st)
{
  (void)st;
  plan_app_t a = app_of("intl", "standard", "india");
  plan_verdict_t v;
  assert_int_equal(plan_check(&a, NOW, PLAN_L_GROUPS_PER_USER, 600, 1, &v), IMC_E_PLAN_GROUPS_PER_USER);
  assert_int_equal(plan_check(&a, NOW, PLAN_L_GROUPS_PER_USER, 499, 1, &v), 0);
}

static void test_bad_input(void **st)
{
  (void)st;
  plan_app_t a;
  assert_int_equal(plan_app_init(&a, "s2033", "pro", "china"), IMC_E_BILL_SCHEME);
  assert_int_equal(plan_app_init(&a, "s2022", "gold", "china"), IMC_E_BILL_EDITION);
  assert_int_equal(plan_app_init(&a, "s2022", "developer", "china"), IMC_E_BILL_EDITION);
  assert_int_equal(plan_app_init(&a, "s2022", "pro", "mars"), IMC_E_INVAL);
  assert_int_equal(plan_app_init(&a, "s2022", NULL, "china"), IMC_E_BILL_EDITION);
  a = app_of("s2022", "trial", "china");
  plan_verdict_t v;
  assert_int_equal(plan_check(&a, NOW, PLAN_L_USERS, -1, 1, &v), IMC_E_INVAL);
  assert_int_equal(plan_check(&a, NOW, PLAN_L_USERS, 1, -1, &v), IMC_E_INVAL);
  assert_int_equal(plan_check(&a, NOW, PLAN__COUNT, 0, 0, &v), IMC_E_INVAL);
  assert_int_equal(plan_check(NULL, NOW, PLAN_L_USERS, 0, 0, &v), IMC_E_INVAL);
  a.edition = 9;
  assert_int_equal(plan_check(&a, NOW, PLAN_L_USERS, 0, 0, &v), IMC_E_INVAL);
  /* a zeroed value (facts never loaded) is refused, never taken as legacy's unlimited */
  plan_app_t zero;
  memset(&zero, 0, sizeof zero);
  assert_int_equal(plan_check(&zero, NOW, PLAN_L_USERS, 0, 1, &v), IMC_E_INVAL);
  assert_int_equal(plan_check(&zero, NOW, PLAN_F_COMMUNITY, 0, 0, &v), IMC_E_INVAL);
  assert_int_equal(plan_app_hold(&a, PLAN_HOLD_MEMBER_CAP, 2000), IMC_E_INVAL);
  /* huge counts never overflow */
  a = app_of("s2022", "trial", "china");
  assert_int_equal(plan_check(&a, NOW, PLAN_L_USERS, INT64_MAX, INT64_MAX, &v), IMC_E_ACCOUNT_LIMIT);
  assert_int_equal(plan_check(&a, NOW, PLAN_L_USERS, 0, INT64_MAX, &v), IMC_E_ACCOUNT_LIMIT);
  /* item names round-trip */
  for (int w = 0; w < PLAN__COUNT; w++) {
    plan_item_t back;
    assert_int_equal(plan_item_parse(plan_item_key((plan_item_t)w), &back), 0);
    assert_int_equal(back, w);
    assert_true(plan_item_error((plan_item_t)w) < 0);
  }
}

/* Properties over every scheme, edition and holdable value: an add-on
 * never lowers a limit and never exceeds what plan_edition_max promises;
 * allowed(current, adding) <=> unlimited or current + adding <= limit, so it
 * is monotonic in both counts. 300 random checks per holdable value. */
static int64_t inf(int64_t v) { return v == U ? INT64_MAX : v; }

static void test_properties(void **st)
{
  (void)st;
  static const int64_t values[] = { 1, 30, 45, 90, 180, 200, 360, 400, 500, 700, 1000, 2000, 3000, 6000, 10000, 12345 };
  uint64_t x = 88172645463325252ull;
  int holds_ok = 0, checks = 0;
  for (int sc = 0; sc < BILL_SCHEME__COUNT; sc++) {
    for (int e = 0; e < plan_editions((bill_scheme_t)sc); e++) {
      plan_app_t base;
      assert_int_equal(plan_app_init(&base, bill_scheme_name((bill_scheme_t)sc), plan_edition_code((bill_scheme_t)sc, e), "china"), 0);
      for (int h = 0; h < PLAN_HOLD__COUNT; h++) {
        for (size_t k = 0; k < sizeof values / sizeof *values; k++) {
          plan_app_t a = base;
          if (plan_app_hold(&a, (plan_hold_t)h, values[k])) continue;
          holds_ok++;
          for (int w = 0; w < PLAN_FIRST_FEATURE; w++) {
            /* P-17's per-customer quota exists only with the 万人大群 add-on (before it no group can
             * exceed 6,000 members at all), so it is the one limit an add-on introduces */
            if (w == PLAN_L_BIG_GROUPS) continue;
            int64_t before = plan_limit(&base, NOW, (plan_item_t)w), after = plan_limit(&a, NOW, (plan_item_t)w);
            if (inf(after) < inf(before)) printf("%s %s hold %d=%lld lowers %s\n", bill_scheme_name((bill_scheme_t)sc),
                                                 plan_edition_code((bill_scheme_t)sc, e), h, (long long)values[k], plan_item_key((plan_item_t)w));
            assert_true(inf(after) >= inf(before));
            assert_true(inf(after) <= inf(plan_edition_max((bill_scheme_t)sc, e, (plan_item_t)w)));
          }
          for (int n = 0; n < 300; n++, checks++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            plan_item_t w = (plan_item_t)(x % PLAN__COUNT);
            int64_t cur = (int64_t)((x >> 8) % 12000), add = (int64_t)((x >> 24) % 3);
            plan_verdict_t v;
            int rc = plan_check(&a, NOW, w, cur, add, &v);
            int64_t lim = plan_limit(&a, NOW, w);
            if (w >= PLAN_FIRST_FEATURE) { assert_int_equal(rc == 0, lim == 1); continue; }
            assert_int_equal(rc == 0, lim == U || cur + add <= lim);
            if (!rc && cur > 0) assert_int_equal(plan_check(&a, NOW, w, cur - 1, add, &v), 0);
            if (rc) assert_int_equal(plan_check(&a, NOW, w, cur + 1, add, &v), rc);
          }
        }
      }
    }
  }
  printf("%d holdable values, %d random checks\n", holds_ok, checks);
  assert_true(holds_ok > 30);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_limit_cells), cmocka_unit_test(test_feature_cells), cmocka_unit_test(test_addon_effects),
    cmocka_unit_test(test_big_groups), cmocka_unit_test(test_community_regions), cmocka_unit_test(test_push_on_application),
    cmocka_unit_test(test_group_rules), cmocka_unit_test(test_above_limit), cmocka_unit_test(test_bad_input),
    cmocka_unit_test(test_properties),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
