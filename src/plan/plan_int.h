/* plan_int.h — the catalog as the files of src/plan share it: one
 * plan_scheme_t per price book, parsed once from the book's JSON
 * (plan_catalog.c) and read by the check (plan_check.c) and the renderers
 * (plan_render.c). Strings point into the built-in books' JSON documents,
 * which live for the process. Not for other modules: they use plan.h. */
#ifndef IMC_PLAN_INT_H
#define IMC_PLAN_INT_H

#include "billing/billing.h"
#include "plan/plan.h"

#define PLAN_MAX_EDITIONS 8
#define PLAN_MAX_OFFERS 8
#define PLAN_MAX_LIST 8
#define PLAN_MAX_DECISIONS 16

/* A refusal's static description, one row per plan_item_t (plan_catalog.c). */
typedef struct plan_item_def {
  const char *key;          /* book key: "friends"; NULL for derived limits */
  const char *label;        /* "friends per user" */
  int err;                  /* IMC_E_* refusal */
  const char *unreached;    /* NULL, or why no request of this server reaches the item: it refuses nothing
                               (docs/editions.md names these rows) */
} plan_item_def_t;
extern const plan_item_def_t plan__items[PLAN__COUNT];

/* Values the book offers an edition for a number-valued add-on. */
typedef struct plan_offers {
  int n;
  int any_value;                    /* legacy: any value, included */
  int64_t value[PLAN_MAX_OFFERS];
  int64_t per_customer[PLAN_MAX_OFFERS]; /* P-17: 0 = no per-customer quota */
} plan_offers_t;

typedef struct plan_edition {
  const char *code, *name_zh, *name_en;
  int overage;
  int64_t value[PLAN__COUNT];       /* limits: n or PLAN_UNLIMITED; features: plan_feat_t */
  const char *limits_rule, *features_rule;
  int avchat_unlimited_offered;     /* avchatroom_unlimited add-on sold or included */
  plan_offers_t member_cap, groups_per_user, history_days;
  int roaming;                      /* may hold roaming/history-extension months */
} plan_edition_t;

typedef struct plan_list { int n; const char *v[PLAN_MAX_LIST]; const char *rule; } plan_list_t;

typedef struct plan_scheme {
  int loaded;
  bill_scheme_t scheme;
  int neditions;
  plan_edition_t ed[PLAN_MAX_EDITIONS];
  const char *roaming_scope;        /* "c2c" or "all" for the roaming item, NULL without one */
  int64_t roaming_days_per_month;   /* history days one held month keeps */
  int64_t receipt_max_members;
  plan_list_t receipt_types, community_regions, live_elements;
  const char *receipt_rule;
  int64_t push_delay_s;             /* intl: on_application delay; -1 without */
  int64_t grace_days;               /* "lifecycle": days to renew after a package expires; -1 without */
  const char *grace_rule;
  const char *push_rule;
  int ndecisions;
  const char *decision_rule[PLAN_MAX_DECISIONS], *decision_text[PLAN_MAX_DECISIONS];
} plan_scheme_t;

/* The catalog (NULL entries never: a failed scheme has loaded == 0). */
const plan_scheme_t *plan__scheme(bill_scheme_t s);

#endif
