/* billing.h — the pure billing library: price books as data, bills for a
 * month of usage, quotes. No clock, no I/O, no globals written after
 * bill_books_builtin() has returned once; every function is safe to call from
 * any thread on const books.
 *
 * Money is integer fen (int64_t). Every rounding is explicit and named in the
 * book ("rounding": "ceil" = a started block counts whole). Rule ids (P-xx)
 * of shared/spec/pricing.md travel from the book into every line item.
 *
 * Ownership: a bill_book_t is owned by whoever loaded it (bill_book_free);
 * the built-in books are owned by the library and live for the process.
 * Every string in a bill_t points into its book or into the bill itself, so a
 * bill must not outlive the book it was computed from.
 */
#ifndef IMC_BILLING_H
#define IMC_BILLING_H

#include <stddef.h>
#include <stdint.h>

#include "billing/billing_scheme.h"

/* ---- usage ---------------------------------------------------------------- */

/* Usage metrics a book can price. The JSON names are the book's "metric". */
typedef enum {
  BILL_M_PEAK_DAU,           /* "peak_dau": highest daily DAU of the month (P-24, M-2) */
  BILL_M_MAU,                /* "mau": distinct users of the month (M-3) */
  BILL_M_PEAK_GROUPS,        /* "peak_groups": highest group count (M-4) */
  BILL_M_BANDWIDTH,          /* "bandwidth_mbps": daily peak Mbps, one value per day (M-5) */
  BILL_M_ROAMING_MONTHS,     /* "c2c_roaming_months": C2C roaming extension, whole months (P-21) */
  BILL_M_HISTORY_DAYS,       /* "history_days": history retention setting in days (P-46) */
  BILL_M_CALL_MINUTES,       /* "call_minutes": minutes per call kind (M-6) */
  BILL_M__COUNT
} bill_metric_t;

#define BILL_MAX_DAYS 31
#define BILL_CALL_KINDS 8
/* Largest accepted usage value: keeps every product far below INT64_MAX. */
#define BILL_USAGE_MAX 1000000000000LL /* 10^12 */

typedef struct bill_usage {
  int64_t peak_dau, mau, peak_groups;
  int32_t bw_days;                       /* entries used in bw_mbps */
  int64_t bw_mbps[BILL_MAX_DAYS];        /* daily peaks; order does not matter */
  int64_t c2c_roaming_months;
  int64_t history_days;                  /* 0 = the edition's free retention */
  int64_t call_minutes[BILL_CALL_KINDS]; /* indexed like the book's call kinds */
  uint32_t given;                        /* bit (1u << bill_metric_t): set by the caller/parser */
} bill_usage_t;

/* Parse a usage document (the "usage import" format, docs/billing.md):
 *   {"peak_dau":N, "mau":N, "peak_groups":N, "bandwidth_mbps":[N,...],
 *    "c2c_roaming_months":N, "history_days":N,
 *    "call_minutes":{"audio":N,"video_sd":N,...},
 *    "days":[{"date":"YYYY-MM-DD","dau":N,"groups":N,"bandwidth_mbps":N}, ...]}
 * "days" derives peak_dau / peak_groups (maximum) and bandwidth (one value
 * per day) and may not be combined with the same fields given directly.
 * Every number is an integer in [0, BILL_USAGE_MAX]; unknown keys, wrong
 * types, duplicate dates, more than 31 days, or call kinds the book does not
 * know are errors. book may be NULL (then call kinds are not accepted).
 * month_yyyymm, if non-zero, requires every "date" in that month.
 * Returns 0 or IMC_E_BILL_USAGE with a one-line reason in err. */
struct bill_book;
int bill_usage_parse_json(const char *text, size_t len, const struct bill_book *book, int32_t month_yyyymm,
                          bill_usage_t *out, char *err, size_t errcap);

/* ---- books ---------------------------------------------------------------- */

typedef struct bill_book bill_book_t;

/* Parse and validate one price-book document. Returns 0 and a new book, or
 * IMC_E_BILL_BOOK with a reason naming the offending field. */
int bill_book_load(const char *json, size_t len, bill_book_t **out, char *err, size_t errcap);
void bill_book_free(bill_book_t *b);

/* The built-in books (data/pricebooks/<scheme>.json compiled into the binary),
 * parsed on first use. NULL only if the embedded data is broken (a build bug;
 * `make check` proves it is not). */
const bill_book_t *bill_book_builtin(bill_scheme_t s);
/* Why bill_book_builtin(s) is NULL (the loader's message), or NULL. */
const char *bill_book_builtin_error(bill_scheme_t s);

bill_scheme_t bill_book_scheme(const bill_book_t *b);
/* First day (day index, util/date.h) the book was offered, INT64_MIN when
 * the book gives no start (legacy). No month before it can be billed on it. */
int64_t bill_book_effective_from(const bill_book_t *b);
int bill_book_editions(const bill_book_t *b);
/* Edition code ("pro") and names by index, or NULL. */
const char *bill_book_edition_code(const bill_book_t *b, int edition);
const char *bill_book_edition_name_zh(const bill_book_t *b, int edition);
const char *bill_book_edition_name_en(const bill_book_t *b, int edition);
/* Index of an edition code, or -1. */
int bill_book_edition_find(const bill_book_t *b, const char *code);
/* Index of the scheme's free edition (rank 0, L-1). */
int bill_book_free_edition(const bill_book_t *b);
/* Call kinds of the book's call-minute item (NULL when i is out of range). */
const char *bill_book_call_kind(const bill_book_t *b, int i);
/* The book's parsed JSON document, for modules that read sections the
 * billing library does not (plan/: limits, features, capability rules).
 * Owned by the book; valid as long as the book. */
struct json_t;
const struct json_t *bill_book_doc(const bill_book_t *b);
/* 1 if some item of the book prices metric m. */
int bill_book_prices(const bill_book_t *b, bill_metric_t m);
/* The prices a bill of edition `edition` (a code) for an app in `region`
 * depends on that the book leaves to the operator (P-59: intl Standard and
 * Pro packages and MAU overage, marked "operator_config" in a book marked
 * "operator_config"; P-20: bandwidth
 * outside china, "请咨询客服", marked "overseas_operator_config"): the
 * edition's package price, and — when the edition is billed for usage —
 * every such item. Writes their names, "; "-separated (e.g. "the standard
 * package price (P-59); the MAU overage rate, per 10,000 MAU (P-59)"), into
 * out (truncated to cap, NUL-terminated) and returns how many; 0 means the
 * bill is fully priced by the book. An unknown edition counts none. */
int bill_book_placeholders(const bill_book_t *b, const char *edition, const char *region, char *out, size_t cap);

/* ---- purchases ------------------------------------------------------------ */

/* Add-on codes known to the library (the book says who may buy which). */
typedef enum {
  BILL_ADDON_AVCHATROOM_UNLIMITED,
  BILL_ADDON_MEMBER_CAP,
  BILL_ADDON_GROUPS_PER_USER,
  BILL_ADDON_LOCAL_AUDIT,
  BILL_ADDON_AV_CALL,
  BILL_ADDON__COUNT
} bill_addon_t;

const char *bill_addon_name(bill_addon_t a);
int bill_addon_parse(const char *name, bill_addon_t *out);

/* One prepaid order: a package (edition) or an add-on, bought on day T and
 * renewed for `periods` consecutive periods; period k runs from T + k months
 * to the day before T + k+1 months (L-2, P-31; a day-of-month the target
 * month lacks is clamped to its last day, see bill_period_start). */
typedef struct bill_order {
  int is_addon;
  int edition;          /* package: edition index */
  bill_addon_t addon;   /* add-on */
  int64_t value;        /* add-on numeric value (member_cap=2000) or 0 */
  char value_name[16];  /* add-on named value (av_call=basic) or "" */
  int64_t start_day;    /* day index (util/date.h) of T */
  int32_t periods;      /* >= 1 */
  int64_t end_day;      /* 0: runs its periods (then its grace days); else the last day it
                         * is in force, before the end of its periods: a postpaid package
                         * replaced by the app's next package order (P-51), no grace days;
                         * before start_day when replaced on its first day */
} bill_order_t;

/* Day index of the first day of period k of an order starting on start_day:
 * the same day-of-month k months later, clamped to that month's last day. */
int64_t bill_period_start(int64_t start_day, int32_t k);

#define BILL_MAX_ORDERS 32

typedef struct bill_input {
  int32_t month;                 /* usage month, yyyymm (202206) */
  const bill_order_t *orders;    /* purchase history relevant to the month */
  int norders;
  const bill_usage_t *usage;
  int strict;                    /* quotes: usage the book cannot price is an error */
} bill_input_t;

typedef enum { BILL_PREPAID, BILL_POSTPAID } bill_kind_t;

/* The price of one period of an order bought while holding edition
 * `held` (an add-on must be offered to that edition, L-4; a package names its
 * own edition in o->edition). Sets *fen, *kind (prepaid / postpaid) and
 * *included (part of the edition, 0 fen). Returns 0, or IMC_E_BILL_EDITION,
 * IMC_E_BILL_ADDON (malformed value), IMC_E_BILL_ADDON_FORBIDDEN (not sold to
 * that edition, with the offers in err) — the same reasons bill_compute gives.
 * A free edition (no package) prices 0, prepaid, included. */
int bill_order_price(const bill_book_t *b, const bill_order_t *o, int held, int64_t *fen, bill_kind_t *kind,
                     int *included, char *err, size_t errcap);

/* Days the book was offered to new apps (day indexes; INT64_MIN / INT64_MAX
 * when open). An order dated before *from is priced by no book. */
void bill_book_effective(const bill_book_t *b, int64_t *from, int64_t *to);

/* ---- bills ---------------------------------------------------------------- */


typedef struct bill_line {
  const char *code;       /* "package", "dau_overage", "member_cap", ... */
  bill_kind_t kind;
  const char *name_zh, *name_en;
  const char *unit_zh, *unit_en;
  int64_t quantity;
  int64_t unit_price_fen; /* price of `per` units */
  int64_t per;            /* 1, or 1000 for per-1,000-minute rates */
  const char *rule;       /* "P-42" */
  int64_t amount_fen;     /* = ceil(quantity * unit_price_fen / per) */
  int included;           /* 1: part of the edition, amount 0 */
  char detail[160];       /* e.g. "peak 22,000, free 0" */
} bill_line_t;

#define BILL_MAX_LINES 40
#define BILL_MAX_BREAKS 8

typedef struct bill {
  int edition;                  /* edition whose quotas and rates apply (highest held in the month) */
  int32_t month;
  int64_t total_fen, prepaid_fen, postpaid_fen;
  int nlines;
  bill_line_t lines[BILL_MAX_LINES];
  int nbreaks;                  /* hard limits of the edition the usage exceeds */
  char breaks[BILL_MAX_BREAKS][80];
} bill_t;

/* Compute the bill of one usage month. Returns 0, or a negative IMC_E_* with
 * a one-line reason in err: IMC_E_BILL_EDITION, IMC_E_BILL_ADDON_FORBIDDEN
 * (an add-on or history tier the edition cannot buy), IMC_E_BILL_USAGE (usage
 * out of range, or with strict set, usage the book cannot price),
 * IMC_E_BILL_MONTH. On error *out is unspecified. */
int bill_compute(const bill_book_t *b, const bill_input_t *in, bill_t *out, char *err, size_t errcap);

/* ---- quotes ---------------------------------------------------------------- */

#define BILL_QUOTE_MAX_ADDONS 8

typedef struct bill_quote_req {
  bill_scheme_t scheme;
  const char *edition;           /* code; NULL with compare */
  int32_t month;                 /* yyyymm */
  bill_usage_t usage;
  int naddons;
  struct { bill_addon_t addon; int64_t value; char value_name[16]; } addons[BILL_QUOTE_MAX_ADDONS];
  int ncalls;                    /* --call-minutes KIND=N,... by name (resolved against the book) */
  struct { char kind[16]; int64_t minutes; } calls[BILL_CALL_KINDS];
  int json, compare;
  const char *usage_file;        /* --usage FILE: read by the caller (bill_usage_parse_json) */
  const char *pricebooks;        /* --pricebooks DIR: books to use instead of the built-in ones */
} bill_quote_req_t;

/* Parse the `imcloud quote` arguments (argv[0] is the verb; see
 * docs/billing.md for the contract). Pure: strings in, request out.
 * Returns 0, 1 for --help, or a negative IMC_E_* with a one-line reason. */
int bill_quote_parse(int argc, char *const *argv, bill_quote_req_t *req, char *err, size_t errcap);

/* Check the request against a book: the edition code (into *edition; -1
 * when none was given) and the call kinds (into usage.call_minutes). */
int bill_quote_resolve(const bill_book_t *b, bill_quote_req_t *req, int *edition, char *err, size_t errcap);

/* Price the request on one edition: builds orders (package and add-ons
 * bought on the 1st of the month) and calls bill_compute with strict set. */
int bill_quote(const bill_book_t *b, const bill_quote_req_t *req, int edition, bill_t *out,
               char *err, size_t errcap);

typedef struct bill_compare {
  int n;
  int32_t month;
  struct {
    int ok;                     /* priced */
    int breaks;                 /* usage breaks a hard limit (priced anyway) */
    char reason[160];           /* why not priced (ok == 0) */
    bill_t bill;
  } e[8];
  int cheapest;                 /* edition index, -1 if none qualifies */
} bill_compare_t;

/* Price the usage on every edition of the book; the cheapest is the lowest
 * total among editions that can be priced and break no hard limit (ties go to
 * the lower rank). */
void bill_quote_compare(const bill_book_t *b, const bill_quote_req_t *req, bill_compare_t *out);

/* ---- rendering. Text: into a caller buffer (returns the bytes needed, like
 * snprintf). JSON: appended to the caller's writer w (util/jsonw.h: compact,
 * strings escaped as jansson escapes them; w->failed is set if the text
 * would pass w's cap or memory runs out, and the caller checks it). */
struct jsonw;
size_t bill_render_text(const bill_book_t *b, const bill_t *bill, char *buf, size_t cap);
void bill_render_json(const bill_book_t *b, const bill_t *bill, struct jsonw *w);
size_t bill_render_compare_text(const bill_book_t *b, const bill_compare_t *c, char *buf, size_t cap);
void bill_render_compare_json(const bill_book_t *b, const bill_compare_t *c, struct jsonw *w);
/* "5,000.00" for 500000 fen (negative with a leading '-'). */
void bill_fen_format(int64_t fen, char *out, size_t cap);

#endif
