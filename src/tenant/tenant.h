/* tenant.h — customers, apps and accounts: the rules shared by the CLI, the
 * operator API and the server, and the server's in-memory registry.
 *
 * The creation functions take a store_t and run synchronously (CLI process,
 * or the server's writer thread). The registry is owned by the server's loop
 * thread (no locks): apps by SDKAppID and, per app, accounts by UserID →
 * dense user number. Pointers to tenant_app_t stay valid until the next
 * tenant_registry_reload_apps() or tenant_registry_free(); never keep one
 * across an asynchronous step — look the app up again by SDKAppID.
 */
#ifndef IMC_TENANT_H
#define IMC_TENANT_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"
#include "store/store.h"

#define TENANT_SDKAPPID_FIRST 1400000001u

/* 1 if uid is a valid UserID: 1–32 bytes of printable ASCII 0x21–0x7E. */
int tenant_user_id_valid(const char *uid);

/* Create a customer. IMC_E_INVAL (name empty or over 127 bytes). */
int tenant_customer_create(store_t *s, const char *name, int64_t now_s, int64_t *id);

typedef struct tenant_app_params {
  int64_t customer_id;
  const char *name;          /* 1–127 bytes */
  const char *region;        /* china, singapore, india, korea, germany, usa, japan, indonesia */
  int64_t created_at_s;      /* 0 = now_s; an operator importing a customer gives the real date */
  const char *scheme;        /* NULL = resolve by P-01/P-40/P-50; else an explicit (grandfathered) scheme */
  int64_t now_s;
} tenant_app_params_t;

/* Create an app: next free SDKAppID ≥ 1400000001, a 64-hex-char secret key
 * from the CSPRNG, admins ["administrator"], status active, the scheme
 * resolved from the customer's first app's creation time and the region
 * (P-01, P-40, P-50) unless given, and the scheme's free edition (L-1).
 * Runs in one transaction. Errors: IMC_E_NOTFOUND (customer), IMC_E_INVAL
 * (name/region), IMC_E_BILL_SCHEME (scheme), storage errors. */
int tenant_app_create(store_t *s, const tenant_app_params_t *p, store_app_t *out);
/* The input rules of tenant_app_create, without touching storage, so a
 * front end can name the one wrong field: 0, or IMC_E_INVAL /
 * IMC_E_BILL_SCHEME with *field ("name", "region", "scheme", "created_at")
 * and *rule ("must be 1-127 bytes") set to static strings (either may be NULL). */
int tenant_app_check(const tenant_app_params_t *p, const char **field, const char **rule);

/* ---- wallets (wallet.c) --------------------------------------------------- */
/* Ledger entry kinds and their sign: topup and refund credit the wallet,
 * order (a prepaid purchase) and payment (a postpaid bill) debit it. */
typedef enum { TENANT_LEDGER_TOPUP, TENANT_LEDGER_ORDER, TENANT_LEDGER_PAYMENT, TENANT_LEDGER_REFUND,
               TENANT_LEDGER__COUNT } tenant_ledger_kind_t;
const char *tenant_ledger_kind_name(tenant_ledger_kind_t k);
int tenant_ledger_kind_parse(const char *name, tenant_ledger_kind_t *out);

#define TENANT_WALLET_MAX_FEN 100000000000000LL /* 1,000,000,000,000 元: one entry's ceiling */

/* Post one ledger entry for a customer, in its own transaction unless
 * in_txn (the server's writer thread already runs jobs in one).
 * amount_fen is the positive magnitude; the kind gives the sign. reason:
 * 1–200 bytes; reference: 1–64 printable ASCII bytes, unique per customer
 * (a replay of the same kind and amount returns the stored entry with
 * replayed = 1; a different one is IMC_E_EXISTS). Errors: IMC_E_INVAL (bad
 * amount, reason or reference), IMC_E_NOTFOUND (customer),
 * IMC_E_WALLET_FUNDS (a debit larger than the balance: nothing written). */
/* The input rules of tenant_wallet_post, without touching storage: 0, or
 * IMC_E_INVAL with *field ("amount_fen", "reason", "reference") and *rule
 * ("must be 1-200 bytes") set to static strings (either may be NULL). */
int tenant_wallet_check(int64_t amount_fen, const char *reason, const char *reference, const char **field, const char **rule);
int tenant_wallet_post(store_t *s, int in_txn, int64_t customer_id, tenant_ledger_kind_t kind, int64_t amount_fen,
                       const char *reason, const char *reference, int64_t now_s, store_ledger_t *out);

/* One entry as JSON (new reference): {"id","at","kind","amount_fen",
 * "balance_fen","reason","reference"} — the CLI and the operator API print
 * the same objects. */
struct json_t;
struct json_t *tenant_ledger_json(const store_ledger_t *e);

/* ---- editions: orders and the life cycle (orders.c, lifecycle.c) --------- */
/* docs/editions.md "Purchases and the life cycle". Days are day indexes
 * (util/date.h) of natural days in the billing time zone (M-1). */

typedef enum { TENANT_LC_FREE, TENANT_LC_ACTIVE, TENANT_LC_GRACE, TENANT_LC_LAPSED } tenant_lc_state_t;
const char *tenant_lc_state_name(tenant_lc_state_t s); /* "free", "active", "grace", "lapsed" */

typedef struct tenant_lifecycle {
  tenant_lc_state_t state;
  int edition;               /* edition whose limits apply (the free one in grace and after) */
  int package_edition;       /* highest package covering the day, -1 none */
  int64_t package_end_day;   /* last day of the latest package period begun by the day, -1 none */
  int64_t grace_end_day;     /* last day to renew (L-3: end + the book's grace days), -1 none */
  plan_app_t plan;           /* the facts plan_check takes: effective edition, region, add-ons in force */
  plan_app_t keep;           /* the facts of the limits on stored data (C2C and group history retention, recent
                              * conversations kept): plan's, except in grace and after a lapse, where they stay the
                              * last package's edition's with the retention add-ons in force, so a renewal resumes the app with
                              * everything intact (P-45) while admission limits fall back to the free edition's */
} tenant_lifecycle_t;

/* Pure: the app's state on `day` from its record and all its orders (any
 * order). FREE: on the free edition, or a scheme without packages (legacy);
 * ACTIVE: a package covers the day (the highest edition applies); GRACE:
 * within the book's grace days after the last package ended (the free
 * edition's limits apply); LAPSED: after that (the app is to be suspended).
 * Add-on orders covering the day raise plan's limits when the effective
 * edition may hold them. Errors: IMC_E_BILL_SCHEME, IMC_E_BILL_EDITION (the
 * record names neither), IMC_E_INVAL (region). */
int tenant_lifecycle(const store_app_t *app, const store_order_t *orders, int n, int64_t day, tenant_lifecycle_t *out);

/* Load all orders of an app, oldest first, or with sdkappid 0 of every app
 * by app then oldest first (*out malloc'd, caller frees). */
int tenant_app_orders(store_t *s, uint32_t sdkappid, store_order_t **out, int *n);
/* Load the app and its orders and compute its state on `day`. */
int tenant_app_state(store_t *s, uint32_t sdkappid, int64_t day, store_app_t *app, tenant_lifecycle_t *lc);

/* ---- price books (books.c) ------------------------------------------------- */
/* The price book of app a: the one its orders are priced with (below) and
 * its bills are computed with (meter) — DIR/<scheme>.json of the operator's
 * directory (tenant_pricebooks_dir, else the meta setting "pricebooks_dir"),
 * else the built-in book; an intl app on the original international scheme
 * (P-50) only DIR/intl_original.json. *book lives as long as the process.
 * Errors (err says which): IMC_E_BILL_SCHEME, IMC_E_BILL_BOOK (unreadable,
 * invalid or of another scheme; P-50 without the operator's book), storage
 * errors. Thread-safe. */
struct bill_book;
int tenant_app_book(store_t *s, const store_app_t *a, const struct bill_book **book, char *err, size_t errcap);
/* 1 if b is an operator's book (not the built-in book of its scheme). */
int tenant_book_is_operator(const struct bill_book *b);
/* Use the books in dir (DIR/<scheme>.json; a scheme without a file keeps the
 * built-in book) instead of the setting "pricebooks_dir": `imcloud bill
 * --pricebooks DIR`, `imcloud serve --pricebooks-dir DIR`. NULL or "" clears
 * it. For the process; thread-safe. */
void tenant_pricebooks_dir(const char *dir);
/* Record dir (its absolute path; NULL or "" = the built-in books) as the
 * setting "pricebooks_dir" of the data directory, which every process
 * without tenant_pricebooks_dir reads: `serve` at start, so that the CLI's
 * orders and bills use the server's books. 0, IMC_E_CONFIG (dir does not
 * resolve, or its path is over 511 bytes), storage errors. */
int tenant_pricebooks_dir_record(store_t *s, const char *dir);
/* For the calling thread, until tenant_books_unpin: tenant_app_book uses the
 * setting "pricebooks_dir" as read now instead of reading it per call (a
 * bill run pins it for one transaction). 0 or storage errors (nothing pinned). */
int tenant_books_pin(store_t *s);
void tenant_books_unpin(void);

#define TENANT_ORDER_REF_MAX 40

/* Orders. Each is priced by the app's price book (tenant_app_book) on `day` (T),
 * runs T to T-1 (L-2), debits the customer's wallet (`order` ledger entry,
 * reference "order-<sdkappid>-<reference>") when prepaid and not free, and
 * is recorded — in one transaction; any refusal writes nothing. reference:
 * NULL = derived from the command and the day (so a retried command is a
 * replay: 0, *replayed = 1, *out = the stored order); else 1-40 printable
 * bytes. err gets a one-line reason. Errors common to all: IMC_E_NOTFOUND
 * (app), IMC_E_INVAL (reference), IMC_E_BILL_NO_BOOK (day before the book's
 * first day), IMC_E_WALLET_FUNDS (balance short), IMC_E_EXISTS (reference
 * used by a different order), storage errors.
 *
 * upgrade: a package of `edition` from `day` (period 0); the app's edition
 * becomes it. IMC_E_BILL_EDITION (unknown), IMC_E_PLAN_EDITION_CHANGE (the
 * free edition — P-44: trial cannot be bought back; or that package already
 * covers the day: renew instead; or a higher prepaid package still runs:
 * a lower one is ordered after it). While two packages run, the higher one
 * applies. An intl package is postpaid (P-51): recorded without a debit,
 * valid until the next change. */
/* Whether an order of app a may be dated `day` (a day index in the zone
 * tz_offset_s the caller reads its days in): 0, or IMC_E_ORDER_BEFORE_APP
 * with err when day is before the day the app was created in that zone (the
 * order would run, and be paid, for days no bill of the app covers). The
 * front ends (CLI, operator API) call it before an upgrade, renewal or
 * add-on dated by the operator; the app's creation time comes from the same
 * clock as the order's day (imc_clock_now_s: the server's test clock). */
int tenant_order_day_check(const store_app_t *a, int64_t day, int tz_offset_s, char *err, size_t errcap);
int tenant_app_upgrade(store_t *s, uint32_t sdkappid, const char *edition, int64_t day, const char *reference,
                       int64_t now_s, store_order_t *out, int *replayed, char *err, size_t errcap);
/* renew: the next period of the app's edition package (continues the
 * period from the first T; a new period from `day` when a whole period was
 * missed). IMC_E_PLAN_EDITION_CHANGE: no package of that edition ever;
 * IMC_E_EXISTS: the next period is already bought. */
int tenant_app_renew(store_t *s, uint32_t sdkappid, int64_t day, const char *reference, int64_t now_s,
                     store_order_t *out, int *replayed, char *err, size_t errcap);
/* addon buy: an add-on by name (imcloud quote's names) with a number
 * (member_cap=2000), a name (av_call=basic; value_name) or neither;
 * validated against the edition in force when its period starts (L-4;
 * trial: local audit only). Buying one still held continues its period;
 * IMC_E_EXISTS when its next period is already bought. IMC_E_BILL_ADDON,
 * IMC_E_BILL_ADDON_FORBIDDEN (the offers in err). */
int tenant_addon_buy(store_t *s, uint32_t sdkappid, const char *addon, int64_t value, const char *value_name, int64_t day,
                     const char *reference, int64_t now_s, store_order_t *out, int *replayed, char *err, size_t errcap);
/* Retention add-ons (retention.c, docs/decisions/retention-addons.md):
 * c2c_roaming_months=N (S-2019 C2C roaming, P-21; S-2020 history extension,
 * P-35) and history_days=N (the P-46 tiers of S-2022, intl, legacy), bought
 * through tenant_addon_buy like any add-on. Each is a postpaid setting: no
 * debit, in force from its day until the app's next order of the same
 * add-on (value 0 = back to the free retention), raising plan's
 * PLAN_HOLD_ROAMING_MONTHS / PLAN_HOLD_HISTORY_DAYS while the edition in
 * force may hold it; the monthly bill prices the highest value held in the
 * month. tenant_addon_buy refuses: IMC_E_BILL_ADDON (a name value, out of
 * range), IMC_E_BILL_ADDON_FORBIDDEN (the book sells the other one, or the
 * edition in force on the day is not offered that value: the offers in
 * err), IMC_E_EXISTS (the same value already in force; 0 with nothing held).
 *
 * retention_addon: 1 if `addon` is one of them (*hold, if not NULL, the
 * plan hold it sets), else 0. */
int tenant_retention_addon(const char *addon, plan_hold_t *hold);
/* The validation of such an order on `day` against the app's orders (no
 * storage): 0 or the refusals above, with err. */
int tenant_retention_check(const store_app_t *app, const store_order_t *orders, int n, const char *addon, int64_t value,
                           int64_t day, char *err, size_t errcap);
/* Fill the order row of a retention add-on (price 0, pay postpaid, day to
 * 9999-12-31: superseded by the next order of the add-on). */
void tenant_retention_order(const store_app_t *app, const char *addon, int64_t value, int64_t day, const char *reference,
                            const char *book, int64_t now_s, store_order_t *o);
/* Last day order v[i] runs among the app's orders v[0..n): its end_day, or
 * for a retention add-on the day before the next order of the same add-on
 * (by start day, then id). in_force: start_day <= day <= that last day. */
int64_t tenant_order_last_day(const store_order_t *v, int n, int i);
int tenant_order_in_force(const store_order_t *v, int n, int i, int64_t day);
/* 1 if order o was priced by a book of `scheme` (its label
 * "s2022@2022-06-01", "intl@2022-12-26 (operator)"): an app that moved to
 * another scheme (P-07) keeps the orders of the scheme it left, which
 * neither its bills on the new scheme nor its limits count. */
int tenant_order_of_scheme(const store_order_t *o, const char *scheme);

/* P-07: a legacy app becomes its region's current scheme's free edition
 * (s2022 trial in China, intl developer overseas) once the operator
 * approved (approved != 0; else IMC_E_PLAN_EDITION_CHANGE). */
int tenant_app_legacy_to_trial(store_t *s, uint32_t sdkappid, int approved, int64_t now_s, char *err, size_t errcap);
/* The app's move to another scheme (P-07), kept with its time in the same
 * transaction as the move (meta "app.<sdkappid>.scheme_change" =
 * "<unix seconds> <scheme> <edition>", written once: an app leaves legacy
 * once and never returns). Bills price the usage before it on the scheme it
 * left (docs/decisions/billing-scheme-change.md). *out: at_s = 0 when the
 * app never changed scheme; else when, and the scheme and edition it was on
 * before. 0, IMC_E_CONFIG (a malformed value), storage errors. */
/* Billing zones (M-1, zone.c): tenant_app_zone: *tz = the app's region's
 * zone (meta "billing_tz:<region>"), else default_tz; tenant_zone_default:
 * *tz = the server's default zone as `serve` stores it (meta
 * TENANT_ZONE_KEY), else fallback_tz. Seconds east of UTC. 0,
 * IMC_E_NOTFOUND (no such app), IMC_E_CONFIG (a bad setting), storage
 * errors. meter_app_zone and meter_zone_default are these. */
#define TENANT_ZONE_KEY "billing_tz"
int tenant_app_zone(store_t *s, uint32_t app, int default_tz, int *tz);
int tenant_zone_default(store_t *s, int fallback_tz, int *tz);
typedef struct tenant_scheme_change { int64_t at_s; char scheme[16]; char edition[24]; } tenant_scheme_change_t;
int tenant_app_scheme_change(store_t *s, uint32_t sdkappid, tenant_scheme_change_t *out);

/* Auto-renew setting (default off). */
int tenant_app_auto_renew(store_t *s, uint32_t sdkappid, int *on);
int tenant_app_set_auto_renew(store_t *s, uint32_t sdkappid, int on);
/* Operator suspension; resume refuses a lapsed app (IMC_E_PLAN_EXPIRED:
 * renew it). suspended_by: "operator", "lapse", "arrears" or "" (active). */
int tenant_app_suspend(store_t *s, uint32_t sdkappid);
int tenant_app_resume(store_t *s, uint32_t sdkappid, int64_t day, char *err, size_t errcap);
int tenant_app_suspended_by(store_t *s, uint32_t sdkappid, char *buf, size_t cap);
/* Arrears (P-14, P-45: a postpaid bill unpaid 7 days after issue): with
 * arrears set, an active app is suspended with reason "arrears"; cleared, an
 * app suspended for arrears is resumed (or, if its package lapsed meanwhile,
 * stays suspended with reason "lapse": renewing resumes it). An app suspended
 * by the operator or for a lapse is left alone. *changed = 1 if it wrote. */
int tenant_app_set_arrears(store_t *s, uint32_t sdkappid, int arrears, int64_t day, int *changed);
/* International Pro's all-member push is enabled on application: when the
 * operator approved it (unix seconds; 0 = not approved / withdrawn). The
 * gate opens the book's delay (48 h) later (plan_check). tenant_app_state
 * and the registry copy it into plan.push_approved_at_s. */
int tenant_app_push_approved(store_t *s, uint32_t sdkappid, int64_t *at_s);
/* Set: IMC_E_NOTFOUND (no app), IMC_E_INVAL (at_s < 0), or
 * IMC_E_BILL_ADDON_FORBIDDEN with a message in err when the app's price book
 * does not sell all-member push on application (plan_push_on_application:
 * every book but intl), as a retention add-on its book does not sell. */
int tenant_app_set_push_approved(store_t *s, uint32_t sdkappid, int64_t at_s, char *err, size_t errcap);
/* P-17: how many 10,000-member groups an operator added to a customer's
 * quota (a ticket; meta "customer.<id>.big_groups_extra", so the server
 * learns a change through the change log). 0 when never set. Set: extra in
 * 0..TENANT_BIG_GROUPS_EXTRA_MAX; IMC_E_NOTFOUND (customer), IMC_E_RANGE.
 * key_customer: the customer a meta key of this setting names (0 = the key
 * is not this setting's). */
#define TENANT_BIG_GROUPS_EXTRA_MAX 1000000
int tenant_customer_big_groups_extra(store_t *s, int64_t customer_id, int64_t *extra);
int tenant_customer_set_big_groups_extra(store_t *s, int64_t customer_id, int64_t extra);
int64_t tenant_big_groups_extra_key_customer(const char *meta_key);
/* An app's own cap of logged-in WebSockets, set by the operator (meta
 * "app.<sdkappid>.max_websockets", so the server learns a change through
 * the change log): -1 when unset (the server's max_websockets_per_app
 * applies), 0 for no cap for this app, else the cap. get: IMC_E_INVAL for a
 * stored value out of range. set: n in -1..TENANT_APP_WS_MAX (-1 unsets);
 * IMC_E_NOTFOUND (no app), IMC_E_RANGE. parse: a stored value ("" = unset)
 * into *n, IMC_E_INVAL if it is not one. key_app: the app a meta key of this
 * setting names (0 = the key is not this setting's). */
#define TENANT_APP_WS_MAX 16777216
int tenant_app_max_websockets(store_t *s, uint32_t sdkappid, int64_t *n);
/* The app's own cap as the server reads it: a stored value that is not a cap is -1 (none), as unset. 0 or the
 * store's error. For the views that show it (the operator API, imcloud app show and list). */
int tenant_app_own_cap(store_t *s, uint32_t sdkappid, int64_t *n);
int tenant_app_set_max_websockets(store_t *s, uint32_t sdkappid, int64_t n);
int tenant_app_max_websockets_parse(const char *value, int64_t *n);
uint32_t tenant_app_max_websockets_key_app(const char *meta_key);

typedef struct tenant_run {
  tenant_lc_state_t state;   /* after the run */
  int renewed, suspended, resumed;
  store_order_t renewal;     /* when renewed */
  char renew_error[200];     /* auto-renew tried and was refused (e.g. balance short): why */
} tenant_run_t;

/* The life-cycle jobs of one app due on `day` (the CLI runs them before
 * acting; the server's job runner / test clock is to call them): with
 * auto-renew on, a package in grace or lapsed is renewed (a short balance
 * leaves it, the reason in ran->renew_error); a lapsed active app is
 * suspended (L-3, P-11, P-45); an app suspended for a lapse that is no
 * longer lapsed is resumed. Idempotent. */
int tenant_app_lifecycle_run(store_t *s, uint32_t sdkappid, int64_t day, int64_t now_s, tenant_run_t *ran,
                             char *err, size_t errcap);

/* The app's state on `day` as JSON (new reference; NULL: no such app or
 * NOMEM): {sdkappid, date, scheme, edition, state, limits_of, status,
 * auto_renew, package_until, grace_until, suspended_by, push_approved_at,
 * all_member_push (at now_s), history_days, c2c_history_days (the
 * retention in force: group / C2C, days; -1 unlimited)}. */
struct json_t *tenant_app_state_json(store_t *s, uint32_t sdkappid, int64_t day, int64_t now_s);

/* One order as JSON (new reference): {"id","sdkappid","kind","item","value"?,
 * "valid_from","valid_to","period","first_day","price_fen","pay","ledger_id",
 * "book","at","reference"}. */
struct json_t *tenant_order_json(const store_order_t *o);
/* The app's add-on orders among v[0..n) as a JSON array (new reference, NULL
 * if out of memory): each tenant_order_json plus "in_force" on `day` and
 * "last_day", the last day it runs (tenant_order_last_day: for a retention
 * add-on the day before the next order of it, 9999-12-31 while none; before
 * "valid_from" when a later order replaced it on its first day). */
struct json_t *tenant_addons_json(const store_order_t *v, int n, int64_t day);

/* ---- registry (server loop thread) -------------------------------------- */
typedef struct tenant_accounts tenant_accounts_t; /* private: UserID → user_no */

typedef struct tenant_app {
  store_app_t rec;
  tenant_accounts_t *accounts;
  tenant_accounts_t *gone;   /* deleted accounts: UserID → the number of its latest deletion (NULL: none) */
  tenant_accounts_t *first;  /* deleted accounts: UserID → the first number it ever had (NULL: none) */
  /* The facts plan_check takes for this app (edition in force, region,
   * add-ons in force) as of the last load, reload or
   * tenant_registry_refresh_plans; `plan.ready` is 0 (every check refused)
   * when the record or the orders could not be read. */
  plan_app_t plan;
  plan_app_t keep;           /* tenant_lifecycle_t.keep: the limits on stored data */
  tenant_lc_state_t lc_state;
} tenant_app_t;

typedef struct tenant_registry tenant_registry_t;

/* Load every app and account. IMC_E_NOMEM or storage errors. */
int tenant_registry_load(store_t *s, tenant_registry_t **out);
void tenant_registry_free(tenant_registry_t *r);
/* Re-read apps (after a change by another process): changed records are
 * updated in place, new apps added with their accounts. */
int tenant_registry_reload_apps(tenant_registry_t *r, store_t *s);
/* Insert one app's record, or update it in place keeping its accounts (a
 * change-log entry applied on the loop). lc: the app's life cycle computed
 * with the record (plan facts and state are taken from it), or NULL to keep
 * the app's current ones (a new app: plan.ready = 0 until computed).
 * Pointers to other apps stay valid. IMC_E_NOMEM. */
int tenant_registry_app_upsert(tenant_registry_t *r, const store_app_t *rec, const tenant_lifecycle_t *lc);
const tenant_app_t *tenant_registry_app(const tenant_registry_t *r, uint32_t sdkappid);
/* Recompute every app's plan facts and life-cycle state for `day` from the
 * store (orders). load and reload do it for today (the clock's day in the
 * billing time zone); the job that runs at a day change (expiry) and after a
 * purchase calls it. Returns the first storage error (apps it could not
 * read keep plan.ready = 0). */
int tenant_registry_refresh_plans(tenant_registry_t *r, store_t *s, int64_t day);
size_t tenant_registry_app_count(const tenant_registry_t *r);

/* Account lookup: 0 and *user_no, or IMC_E_NOTFOUND (no account or no app). */
int tenant_registry_account_find(const tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t *user_no);
/* Record a durable account (after its write committed). IMC_E_NOTFOUND (app), IMC_E_NOMEM. */
int tenant_registry_account_put(tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t user_no);
void tenant_registry_account_remove(tenant_registry_t *r, uint32_t sdkappid, const char *user_id);
/* Remove a deleted account (after its delete committed) and remember its
 * number under its UserID for tenant_registry_account_find_gone (a later
 * deletion of the same UserID replaces it). IMC_E_NOTFOUND (app), IMC_E_NOMEM. */
int tenant_registry_account_gone(tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t user_no);
/* For reading stored history by UserID only (never to send, count or check
 * accounts): the account's number, or, when no account has the UserID, the
 * number of the latest deleted account that had it (its messages are kept
 * and still name it, store.h store_account_gone_each). 0 and *user_no, or
 * IMC_E_NOTFOUND. */
int tenant_registry_account_find_gone(const tenant_registry_t *r, uint32_t sdkappid, const char *user_id,
                                      uint32_t *user_no);
/* The number a login of UserID user_id (its account's number user_no, 0 for
 * a login that creates it) is metered under (DAU, MAU, usage_login): the
 * first number the UserID ever had in the app when an account of it was
 * deleted before, else user_no. So a deleted and re-imported account counts
 * once a day and a month, as one user (P-33, P-43, P-52); numbers are never
 * reused, so no other account is ever metered under it. */
uint32_t tenant_registry_meter_no(const tenant_registry_t *r, uint32_t sdkappid, const char *user_id, uint32_t user_no);
/* The UserID of account user_no, or NULL (no such account or app). The
 * string is the registry's: valid until the account is removed. */
const char *tenant_registry_account_id(const tenant_registry_t *r, uint32_t sdkappid, uint32_t user_no);
size_t tenant_registry_account_count(const tenant_registry_t *r, uint32_t sdkappid);
/* The most slots of an app's accounts table that one put or removal moved
 * to the doubled table (0 for no app): the table grows a step at a time
 * (64 slots and the rest of their cluster), never all accounts in one call,
 * so a login's completion on the loop stays short whatever the app's size. */
size_t tenant_registry_account_moves_max(const tenant_registry_t *r, uint32_t sdkappid);

int tenant_app_is_admin(const tenant_app_t *a, const char *identifier);
int tenant_app_active(const tenant_app_t *a);
/* Why a suspended app is refused (logins, REST): IMC_E_PLAN_EXPIRED (60020)
 * when its package lapsed past the grace (as of the last plan refresh),
 * IMC_E_APP_DISABLED (60016) for any other suspension; 0 when usable. */
int tenant_app_refusal(const tenant_app_t *a);
/* 1 when the edition in force (a->plan: the package's, or in grace the
 * scheme's free edition) is a free one (trial, developer); 0 otherwise and
 * while the plan facts are not ready. It read the recorded edition: a pro app
 * in grace (trial limits) could not delete accounts to get back under them. */
int tenant_app_free_edition(const tenant_app_t *a);

#endif
