/* billing_int.h — price-book representation shared by the files of the
 * billing module (book.c loads it, compute.c prices with it, render.c prints
 * it). Not for other modules: they use billing.h.
 *
 * Every string is a pointer into the book's JSON document (jansson keeps
 * string values alive as long as the root), so a book owns exactly one
 * allocation tree: `root` plus this struct. */
#ifndef IMC_BILLING_INT_H
#define IMC_BILLING_INT_H

#include <jansson.h>

#include "billing/billing.h"

#define BOOK_MAX_EDITIONS 8
#define BOOK_MAX_ITEMS 12
#define BOOK_MAX_OFFERS 8
#define BOOK_MAX_TIERS 8
#define BOOK_UNLIMITED (-1)   /* a limit or free amount given as null */
#define BOOK_PRICE_MAX 100000000LL /* 1,000,000 元: larger prices are a typo */

/* How an item turns usage into a quantity (one function each in compute.c). */
typedef enum {
  BOOK_F_BLOCKS_OVER_FREE, /* ceil(max(0, metric - free) / block) blocks x block_fen */
  BOOK_F_PER_UNIT_SUM,     /* sum of the daily values x unit_fen */
  BOOK_F_MONTHS_X_BLOCKS,  /* metric months x ceil(base / block) x block_fen */
  BOOK_F_TIER_BY_EDITION,  /* smallest tier >= metric, price by edition; free up to the edition's amount */
  BOOK_F_CALL_MINUTES,     /* minutes beyond the av_call package, per kind */
  BOOK_F__COUNT
} book_formula_t;

typedef struct book_edition {
  const char *code, *name_zh, *name_en;
  int rank;
  int has_package;
  int64_t package_fen;
  bill_kind_t package_kind;
  const char *package_rule;
  int package_placeholder;          /* package "operator_config": the price is the operator's (P-59) */
  int overage;                      /* 0: capped (trial), no postpaid usage items */
  const char *overage_rule;
  int64_t free[BILL_M__COUNT];      /* BOOK_UNLIMITED where not given */
  int64_t lim_users, lim_groups;    /* BOOK_UNLIMITED = no limit */
  const char *limits_rule;
} book_edition_t;

typedef struct book_tier { int64_t days, fen; int included; const char *rule; } book_tier_t;

typedef struct book_call_kind {
  const char *kind, *name_zh, *name_en;
  int64_t weight, fen_per_1000;
} book_call_kind_t;

typedef struct book_item {
  const char *code, *name_zh, *name_en, *unit_zh, *unit_en, *rule;
  book_formula_t formula;
  bill_metric_t metric, base;
  int free_from_edition;            /* "free": "edition" */
  int64_t free_fixed;               /* "free": N */
  int64_t block, block_fen, unit_fen;
  int32_t from_month, until_month;  /* yyyymm; 0 = open */
  int tiers_for[BOOK_MAX_EDITIONS]; /* number of tiers per edition (0: cannot buy) */
  book_tier_t tiers[BOOK_MAX_EDITIONS][BOOK_MAX_TIERS];
  int nkinds;
  book_call_kind_t kinds[BILL_CALL_KINDS];
  int placeholder;                  /* "operator_config": the rate is the operator's (P-59) */
  int overseas_placeholder;         /* "overseas_operator_config": the rate holds in china only (P-20) */
} book_item_t;

typedef enum { BOOK_V_NONE, BOOK_V_NUMBER, BOOK_V_NAME } book_value_t;

typedef struct book_offer {
  int64_t value;                    /* BOOK_V_NUMBER */
  const char *value_name;           /* BOOK_V_NAME */
  const char *name_zh;              /* optional ("万人大群") */
  int any_value;
  int64_t fen;
  int included;
  int64_t included_minutes;         /* av_call */
  const char *rule;
} book_offer_t;

typedef struct book_addon {
  int present;
  const char *name_zh, *name_en, *rule;
  bill_kind_t kind;
  book_value_t value_type;
  int noffers[BOOK_MAX_EDITIONS];   /* 0: that edition cannot buy it */
  book_offer_t offers[BOOK_MAX_EDITIONS][BOOK_MAX_OFFERS];
} book_addon_t;

struct bill_book {
  json_t *root;
  bill_scheme_t scheme;
  const char *title_zh, *title_en, *rule;
  int64_t effective_from, effective_to;   /* day index; INT64_MIN / INT64_MAX when open */
  int operator_config;
  const char *config_note;
  int64_t grace_days;                     /* "lifecycle".grace_days (L-3, P-11); 0 without */
  int neditions;
  book_edition_t editions[BOOK_MAX_EDITIONS];
  int nitems;
  book_item_t items[BOOK_MAX_ITEMS];
  book_addon_t addons[BILL_ADDON__COUNT];
  int call_item;                          /* index of the call-minutes item or -1 */
};

/* Metric names as they appear in books and usage documents. */
const char *bill__metric_name(bill_metric_t m);
int bill__metric_parse(const char *s, bill_metric_t *out);

/* yyyymm validity (1970..9999, 01..12). */
int bill__month_ok(int32_t yyyymm);

/* Append-only text buffer for the renderers (truncates, counts what it needed). */
typedef struct bill_buf { char *p; size_t cap, len; } bill_buf_t;
void bill__put(bill_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
