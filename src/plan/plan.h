/* plan.h — the edition catalog: every hard limit and feature gate of every
 * edition of every scheme, and the one question the server asks at each
 * point of use: "may this app do this now — and if not, which limit, which
 * compatible ErrorCode, which message?"
 *
 * Pure: no clock, no I/O, no logging. The catalog is read from the price
 * books (data/pricebooks/<scheme>.json, embedded by the billing module's
 * loader): per edition "limits", "free", "overage" and "features", per book
 * "capability_rules" (P-54, P-55, P-56, the international push delay),
 * "decisions" (how the project settled what the seeds leave open) and the
 * add-on offers and retention items that raise limits. No other module holds
 * a limit literal. Time-dependent facts (the time of the action, the
 * approval of international Pro's all-member push, counts) are passed in by
 * the caller; nothing here reads a clock.
 *
 * Threads: plan_catalog() parses the built-in books once (pthread_once);
 * afterwards everything is read-only and safe from any thread. A plan_app_t
 * is a small caller-owned value (no pointers to free); build one per app
 * when its scheme, edition, region or add-ons change and keep it with the
 * app.
 *
 * How callers use it (one line at each enforcement point; `v.msg` is the
 * human message for the reply's ErrorInfo, imc_err_compat(rc) its ErrorCode):
 *
 *   plan_verdict_t v;
 *   if ((rc = plan_check(&app_plan, now_s, PLAN_L_FRIENDS, my_friends, 1, &v))) return reply(rc, v.msg);
 *
 * Limits take the count in use (`current`) and the amount being added
 * (`adding`): allowed iff current + adding <= limit (an unlimited limit always
 * allows). Features take current = adding = 0. Refusals of a limit the app
 * is already above (after a downgrade) are the same refusals: data above a
 * lower limit is kept, nothing new may be added until under it.
 *
 * Enforcement points (P = &app->plan of tenant_registry_app(); the server's
 * registry keeps it current, tenant.h; now = imc_clock_now_s()):
 *   account_import, multiaccount_import (each new item)
 *       plan_check(P, now, PLAN_L_USERS, accounts_in_app, 1, &v)              70398
 *   friend add / import / accept
 *       plan_check(P, now, PLAN_L_FRIENDS, own_friends, n_new, &v)            30010
 *       plan_check(P, now, PLAN_L_FRIENDS_PEER, peer_friends, 1, &v)          30014
 *   create with members, add / import member, join, accept (non-live types; per user)
 *       plan_check(P, now, PLAN_L_GROUPS_PER_USER, groups_user_joined, 1, &v) 10037
 *   create / import member list, MaxMemberNum on create and modify
 *       plan_check(P, now, PLAN_L_MEMBERS_INITIAL, 0, n_or_max_member_num, &v) 10038
 *   add / join / accept into an existing non-live group
 *       plan_check(P, now, PLAN_L_MEMBERS, members_now, n_new, &v)            10014
 *   create / import a non-live group (dissolved groups not counted)
 *       plan_check(P, now, PLAN_L_GROUPS, nonlive_groups, 1, &v)              10058
 *   create an AVChatRoom
 *       plan_check(P, now, PLAN_L_AVCHATROOMS, avchatrooms, 1, &v)            10036
 *   create / import any group (net of today's dissolutions of today's groups)
 *       plan_check(P, now, PLAN_L_DAILY_NEW_GROUPS, net_new_today, 1, &v)     10006
 *       BChatRoom also PLAN_L_DAILY_NEW_BCHATROOMS with today's net BChatRooms 10006
 *   MaxMemberNum above plan_big_group_floor(P) (P-17)
 *       plan_check(P, now, PLAN_L_BIG_GROUPS, customer_big_groups, 1, &v)     10038
 *   login that opens the long connection, user not yet counted today / this month
 *       plan_check(P, now, PLAN_L_FREE_DAU, dau_today, 1, &v)                 72000
 *       plan_check(P, now, PLAN_L_FREE_MAU, mau_month, 1, &v)                 72000
 *   second login on the same platform
 *       plan_check(P, now, PLAN_F_MULTI_DEVICE, 0, 0, &v) != 0 -> kick the older one (today's behaviour)
 *   send to an AVChatRoom: plan_check_live_element(P, MsgType, &v) per element  10007
 *   AVChatRoom join: PLAN_F_LIVE_GROUP_HISTORY would decide whether earlier messages are sent (not
 *       read yet: live rooms keep no messages; docs/editions.md says so)
 *   history, sync, purge job: plan_limit(P, now, PLAN_L_HISTORY_DAYS / PLAN_L_C2C_HISTORY_DAYS)
 *   conversation list: plan_limit(P, now, PLAN_L_RECENT_CONVERSATIONS)
 *   feature endpoints: plan_check(P, now, PLAN_F_x, 0, 0, &v) — all-member push 90045,
 *       community 11000, targeted group messages / group counters 10059, message
 *       extensions 10008, live-group member list / broadcast / bans 10007, user status
 *       72001, conversation marks / groups 7013; read receipts:
 *       plan_check_read_receipts(P, now, group_type, group_max_members, &v).
 *   Of these, the server has commands for community, targeted group messages, user
 *   status and conversation marks / groups only; the rows no request reaches (BChatRooms,
 *   all-member push, local search, read receipts, the live-group rows, message
 *   extensions, group counters) say why in the catalog's item table and docs/editions.md.
 * The reply carries ErrorCode imc_err_compat(rc) and ErrorInfo v.msg.
 * Before any of these, a suspended app is refused: tenant_app_refusal(app)
 * (60020 lapsed package, 60016 otherwise) at login and on every REST call.
 */
#ifndef IMC_PLAN_H
#define IMC_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "billing/billing_scheme.h"

/* A limit value: a count, or PLAN_UNLIMITED — a distinct value, never
 * compared as a number (plan_check treats it as "always allowed"). */
#define PLAN_UNLIMITED (-1)

/* What can be checked: limits (PLAN_L_*, a count) and features (PLAN_F_*,
 * on or off). Each row: book key, refusal (IMC_E_* → compatible ErrorCode),
 * where the caller enforces it. */
typedef enum {
  /* ---- limits ---- */
  PLAN_L_USERS,                /* "users": account_import, multiaccount_import (per item) → 70398 */
  PLAN_L_FRIENDS,              /* "friends": own list, friend add/import/accept → 30010 */
  PLAN_L_FRIENDS_PEER,         /* "friends": the peer's list is full → 30014 */
  PLAN_L_GROUPS_PER_USER,      /* "groups_per_user" (+ add-on): non-live groups joined; create with members,
                                  add/import member, join, accept → 10037 */
  PLAN_L_MEMBERS_INITIAL,      /* "members_per_group" (+ add-on): member list of create/import, and
                                  MaxMemberNum on create/modify (current 0, adding MaxMemberNum) → 10038 */
  PLAN_L_MEMBERS,              /* the same cap when adding to an existing non-live group (full) → 10014 */
  PLAN_L_GROUPS,               /* "groups": non-live groups of the app, dissolved not counted;
                                  create, import → 10058 */
  PLAN_L_AVCHATROOMS,          /* "avchatrooms" (+ avchatroom_unlimited): create AVChatRoom → 10036 */
  PLAN_L_DAILY_NEW_GROUPS,     /* "daily_new_groups": today's net new groups, all types (P-53);
                                  dissolving a group created the same day gives room back → 10006 */
  PLAN_L_DAILY_NEW_BCHATROOMS, /* "daily_new_bchatrooms": of those, BChatRooms (P-53: at most 5) → 10006 */
  PLAN_L_BIG_GROUPS,           /* P-17 万人大群 per customer: groups whose member cap is above
                                  plan_big_group_floor(); offer "per_customer" + ticket extra → 10038 */
  PLAN_L_FREE_DAU,             /* free peak DAU of an edition without overage (trial): today's distinct
                                  users, adding 1 for a user not yet counted today → 72000 */
  PLAN_L_FREE_MAU,             /* free MAU of an edition without overage (intl developer): this month's
                                  distinct users, adding 1 for a user not yet counted → 72000 */
  PLAN_L_HISTORY_DAYS,         /* retention of group (and, where no C2C extension exists, C2C) history
                                  in days: free + held tier; history, sync, purge job → (no reply code) */
  PLAN_L_C2C_HISTORY_DAYS,     /* retention of C2C history in days (S-2019 C2C roaming extends only
                                  this one, P-21) → (no reply code) */
  PLAN_L_RECENT_CONVERSATIONS, /* "recent_conversations": conversations kept per user → (no reply code) */
  /* ---- features ---- */
  PLAN_F_ALL_MEMBER_PUSH,      /* all_member_push → 90045; intl pro: 48 h after approval */
  PLAN_F_MULTI_DEVICE,         /* multi_device_per_platform: off = the newer login kicks the older */
  PLAN_F_LOCAL_SEARCH,         /* local_search (mobile SDK) → 7013 */
  PLAN_F_LIVE_GROUP_HISTORY,   /* live_group_history_for_newcomers: off = newcomers see nothing earlier */
  PLAN_F_COMMUNITY,            /* community → 11000; never in germany/korea (P-55) */
  PLAN_F_GROUP_READ_RECEIPTS,  /* group_read_receipts → 10059; see plan_check_read_receipts (P-56) */
  PLAN_F_GROUP_TARGETED_MSG,   /* group_targeted_messages (To_Account in send_group_msg) → 10059 */
  PLAN_F_LIVE_GROUP_MEMBERS,   /* live_group_online_members (AVChatRoom online list, marks) → 10007 */
  PLAN_F_LIVE_GROUP_BROADCAST, /* live_group_broadcast (send_broadcast_msg) → 10007 */
  PLAN_F_LIVE_GROUP_BANS,      /* live_group_bans (AVChatRoom member bans) → 10007 */
  PLAN_F_USER_STATUS,          /* user_status → 72001 */
  PLAN_F_CONVERSATION_MARKS,   /* conversation_marks → 7013 */
  PLAN_F_CONVERSATION_GROUPS,  /* conversation_groups → 7013 */
  PLAN_F_MESSAGE_EXTENSIONS,   /* message_extensions → 10008 */
  PLAN_F_GROUP_COUNTERS,       /* group_counters → 10059 */
  PLAN__COUNT
} plan_item_t;

#define PLAN_FIRST_FEATURE PLAN_F_ALL_MEMBER_PUSH

/* Book key ("friends", "community"), English label ("friends per user"). */
const char *plan_item_key(plan_item_t what);
const char *plan_item_label(plan_item_t what);
/* The refusal of an item (negative IMC_E_*), never 0. */
int plan_item_error(plan_item_t what);
/* Parse a book key or an enum-style name; IMC_E_INVAL if unknown. Keys shared
 * by two items ("friends", "members_per_group") give the first. */
int plan_item_parse(const char *key, plan_item_t *out);

/* ---- the app's facts ------------------------------------------------------ */

/* What an app holds that raises limits. Set through plan_app_hold, which
 * checks each value against the book's offers to the edition. */
typedef enum {
  PLAN_HOLD_AVCHATROOM_UNLIMITED, /* value 1 / 0 */
  PLAN_HOLD_MEMBER_CAP,           /* member_cap=N add-on; 0 = none */
  PLAN_HOLD_GROUPS_PER_USER,      /* groups_per_user=N add-on; 0 = none */
  PLAN_HOLD_HISTORY_DAYS,         /* retention tier held (days), s2022 history item; 0 = free retention */
  PLAN_HOLD_ROAMING_MONTHS,       /* s2019 C2C roaming / s2020 history extension, months; 0 = none */
  PLAN_HOLD_BIG_GROUPS_EXTRA,     /* P-17: 万人大群 quota raised by a ticket (operator setting) */
  PLAN_HOLD__COUNT
} plan_hold_t;

typedef struct plan_app {
  int ready;                      /* set by plan_app_init; a zeroed value is refused by every check */
  bill_scheme_t scheme;
  int edition;                    /* index into the scheme's editions (rank) */
  char region[24];                /* a known region (bill_region_known) */
  int64_t hold[PLAN_HOLD__COUNT];
  int64_t push_approved_at_s;     /* intl pro: when the operator approved all-member push; 0 = not */
} plan_app_t;

/* Start an app's facts: scheme name, edition code, region, nothing held.
 * Errors: IMC_E_BILL_SCHEME, IMC_E_BILL_EDITION (not an edition of that
 * scheme), IMC_E_INVAL (unknown region), IMC_E_BILL_BOOK (catalog broken). */
int plan_app_init(plan_app_t *app, const char *scheme, const char *edition, const char *region);

/* Record that the app holds `what` with `value` (0 removes it). Refused with
 * IMC_E_BILL_ADDON_FORBIDDEN, and the app unchanged, when the book does not
 * offer that value to the app's edition (trial buys no member cap; s2022 pro
 * cannot hold member_cap=6000); IMC_E_RANGE for a negative value. */
int plan_app_hold(plan_app_t *app, plan_hold_t what, int64_t value);

/* ---- the check ------------------------------------------------------------ */

typedef struct plan_verdict {
  int err;                 /* 0 allowed, else the negative IMC_E_* also returned */
  plan_item_t what;
  int64_t limit;           /* limits: the limit in force (PLAN_UNLIMITED), features: 1 on, 0 off */
  char msg[320];           /* refusal: names the limit or feature, the app's edition, the editions
                              (and add-ons) that allow more, and the rule id; "" when allowed */
} plan_verdict_t;

/* The one check. app: the app's facts; now_s: the time of the action (used
 * only by time-dependent gates: international Pro's all-member push is on
 * from approval + 48 h); what: a PLAN_L_* or PLAN_F_*; current/adding: see
 * the file comment (each must be >= 0). Returns 0 (allowed) or the item's
 * refusal with out->msg set:
 *   IMC_E_ACCOUNT_LIMIT 70398, IMC_E_PLAN_FRIENDS 30010, IMC_E_PLAN_FRIENDS_PEER 30014,
 *   IMC_E_PLAN_GROUPS_PER_USER 10037, IMC_E_PLAN_MEMBERS_CAP 10038, IMC_E_PLAN_GROUP_FULL 10014,
 *   IMC_E_PLAN_GROUPS 10058, IMC_E_PLAN_AVCHATROOMS 10036, IMC_E_PLAN_DAILY_GROUPS 10006,
 *   IMC_E_DAU_LIMIT / IMC_E_PLAN_MAU 72000, IMC_E_PLAN_RETENTION (no reply code),
 *   IMC_E_PLAN_PUSH 90045, IMC_E_PLAN_COMMUNITY 11000, IMC_E_PLAN_ULTIMATE 10059,
 *   IMC_E_PLAN_EXTENSIONS 10008, IMC_E_PLAN_LIVE_GROUP 10007, IMC_E_PLAN_USER_STATUS 72001,
 *   IMC_E_PLAN_SDK_FEATURE 7013, IMC_E_PLAN_FEATURE_OFF (behavioural gates, no reply code);
 * IMC_E_INVAL for a bad argument (unknown item, negative count, app not
 * initialised) — a caller bug, with msg saying which. */
int plan_check(const plan_app_t *app, int64_t now_s, plan_item_t what, int64_t current, int64_t adding,
               plan_verdict_t *out);

/* The limit in force for the app (after add-ons), or PLAN_UNLIMITED; for a
 * feature 1 (on now) or 0. IMC_E_INVAL-safe: a bad app or item gives 0. */
int64_t plan_limit(const plan_app_t *app, int64_t now_s, plan_item_t what);

/* P-17: a group counts against PLAN_L_BIG_GROUPS when its member cap is
 * above this many members (the next smaller member_cap offer); PLAN_UNLIMITED
 * when the app holds no add-on with a per-customer quota. */
int64_t plan_big_group_floor(const plan_app_t *app);

/* P-56: group read receipts — the feature gate, then the group: its type
 * must be one of the book's (Work, Public, Meeting) and its member cap at
 * most 200. 0, the gate's refusal, or IMC_E_PLAN_RECEIPT_GROUP (10007). */
int plan_check_read_receipts(const plan_app_t *app, int64_t now_s, const char *group_type, int64_t group_max_members,
                             plan_verdict_t *out);

/* P-54: a message element type that may be sent to a live group (AVChatRoom):
 * TIMTextElem, TIMImageElem, TIMSoundElem, TIMCustomElem. 0 or
 * IMC_E_PLAN_LIVE_ELEMENT (10007). */
int plan_check_live_element(const plan_app_t *app, const char *elem_type, plan_verdict_t *out);

/* ---- the catalog as data (for `imcloud editions` and the docs) ------------ */

typedef enum { PLAN_FEAT_OFF, PLAN_FEAT_ON, PLAN_FEAT_ON_APPLICATION } plan_feat_t;

/* Number of editions of a scheme (0 if the catalog failed to load), edition
 * code / Chinese / English name by index (NULL out of range). */
int plan_editions(bill_scheme_t s);
const char *plan_edition_code(bill_scheme_t s, int edition);
const char *plan_edition_name_zh(bill_scheme_t s, int edition);
const char *plan_edition_name_en(bill_scheme_t s, int edition);
/* The edition's own value, before add-ons: a limit, PLAN_UNLIMITED, or for a
 * feature a plan_feat_t. */
int64_t plan_edition_value(bill_scheme_t s, int edition, plan_item_t what);
/* Largest value add-ons can raise a limit to on that edition (PLAN_UNLIMITED,
 * or the edition's own value when nothing raises it). */
int64_t plan_edition_max(bill_scheme_t s, int edition, plan_item_t what);
/* Rule ids of the edition's limits / features ("§6, P-49"). */
const char *plan_edition_rule(bill_scheme_t s, int edition, int features);

/* 1 if an edition of the scheme has all-member push on application (the
 * intl book, §6: on 48 h after the operator's approval), so an approval can
 * be recorded for its apps; 0 for a book that does not sell it. */
int plan_push_on_application(bill_scheme_t s);

/* L-3, P-11: days an app has to renew after its edition package expired,
 * before the service stops (the book's "lifecycle"); -1 for a scheme without
 * packages (legacy). */
int64_t plan_grace_days(bill_scheme_t s);

/* The book's recorded decisions on open questions, by index (NULL past the
 * end): rule ids and text. */
const char *plan_decision(bill_scheme_t s, int i, const char **rule);

/* NULL when every built-in book's capability sections loaded; else why not
 * (a build bug; the unit tests prove it does not happen). */
const char *plan_catalog_error(void);

/* Render the whole matrix (every scheme, or only `only` when it is a valid
 * scheme and all_schemes is 0) as text, JSON or Markdown into buf; returns
 * the bytes needed (like snprintf). The Markdown is docs/editions.md. */
typedef enum { PLAN_FMT_TEXT, PLAN_FMT_JSON, PLAN_FMT_MARKDOWN } plan_format_t;
size_t plan_render(plan_format_t fmt, int all_schemes, bill_scheme_t only, char *buf, size_t cap);

#endif
