/* api_quota.h — edition limits, feature gates and metering at the api's
 * points of use (quota.c): part of api_int.h (which includes it after the
 * server state), kept apart for size. Loop thread. */
#ifndef IMC_API_QUOTA_H
#define IMC_API_QUOTA_H

#ifndef IMC_API_INT_H
#error "include api/api_int.h, not api/api_quota.h"
#endif

/* ---- edition limits and metering at the api's points of use (quota.c) ------ */
typedef struct api_admission {
  uint32_t sdkappid;
  int32_t day;                   /* yyyymmdd of the login in the app's billing zone */
  uint8_t pending;               /* API_ADM_* counts of quota_pending it holds until api_quota_login_done */
} api_admission_t;
#define API_ADM_ACCOUNT 1u           /* creates its account: a pending account (users limit) */
#define API_ADM_DAY 2u               /* a user not yet counted today (free DAU) */
#define API_ADM_MONTH 4u             /* a user not yet counted this month (free MAU) */
/* Admit a login of app (known = the account exists; meter_no = the number
 * it is metered under, tenant_registry_meter_no, 0 for a new UserID): the
 * users limit when it creates the account (70398), the free DAU / MAU of an
 * edition without overage (72000). 0 (adm filled; call api_quota_login_done
 * exactly once later) or the refusal with its message in why. */
int api_quota_login_admit(api_srv_t *srv, const tenant_app_t *app, int known, uint32_t meter_no, int64_t now_s,
                          api_admission_t *adm, char *why, size_t why_cap);
/* The login's job completed, whatever its outcome: release the pending
 * count (the login itself is metered from its op row, api_meter_count). */
void api_quota_login_done(api_srv_t *srv, api_admission_t *adm);
/* An online session opened (+1) or closed (-1): the connection counters. */
void api_quota_session(api_srv_t *srv, uint32_t sdkappid, int delta);
/* 1 if the app's edition keeps several devices of one platform online. */
int api_quota_multi_device(api_srv_t *srv, const tenant_app_t *app);
/* Count n accounts being created (imports) as pending for the app while
 * their write is in flight, so concurrent users-limit checks see them;
 * release the same n after. */
int api_quota_reserve(api_srv_t *srv, uint32_t sdkappid, int64_t n);
void api_quota_release(api_srv_t *srv, uint32_t sdkappid, int64_t n);
/* Adding `adding` accounts to the app (besides those pending): 0 or 70398 with why. */
int api_quota_accounts(api_srv_t *srv, const tenant_app_t *app, int64_t adding, char *why, size_t why_cap);
/* Install the per-app messaging limits (the edition's retention and recent
 * conversations) into lim. */
void api_quota_im_limits(api_srv_t *srv, im_limits_t *lim);
/* P-17: tell the group core each app's customer and every customer's
 * operator-added big-group quota (startup connection); and apply one
 * changed setting (a meta key of tenant_big_groups_extra_key_customer):
 * 1 applied, 0 not this setting's key. */
int api_quota_big_groups_init(api_srv_t *srv);
int api_quota_big_groups_meta(api_srv_t *srv, const char *key, const char *value);

/* Who may call a REST command or a WebSocket op (route/op table column). */
typedef enum {
  API_AUTH_NONE,                 /* WebSocket: before login (only `login`) */
  API_AUTH_USER,                 /* WebSocket: a logged-in user */
  API_AUTH_ADMIN,                /* REST v4: an App admin's UserSig */
} api_auth_t;
const char *api_auth_name(api_auth_t a); /* "none", "user", "admin" */

/* The edition gate of a route or op row: a PLAN_F_* feature the app's
 * edition must have (the dispatcher refuses with the feature's code, e.g.
 * 7013 or 72001, before the handler runs), or API_GATE_NONE. Gates that
 * depend on the request (a group type, an optional field) or need a count
 * stay in the handlers, through plan_check. */
#define API_GATE_NONE PLAN__COUNT
/* "-" for API_GATE_NONE, else the feature's book key ("user_status"). */
const char *api_gate_name(int gate);
/* 0, or the gate's refusal with its message in why (why may be NULL). */
int api_gate_check(api_srv_t *srv, uint32_t sdkappid, int gate, char *why, size_t why_cap);

/* The metered events of a route or op row (a bit set). Live counters are
 * counted from the row by api_meter_count; the others are written in the
 * operation's own writer job, atomically with what they count. */
enum {
  API_METER_REST_CALL = 1 << 0,  /* rest_calls: counted by the REST dispatcher once the call is authenticated */
  API_METER_LOGIN = 1 << 1,      /* DAU/MAU: usage row in the login's writer job; counted live once it is durable */
  API_METER_GROUP_MSG = 1 << 2,  /* group_msgs: added in the message's writer job (im/group_msg.c) */
  API_METER_C2C_MSG = 1 << 3,    /* c2c_msgs: added in the message's writer job (im/c2c.c) */
};
/* "rest call, login" or "-": the row's events for the generated docs. */
const char *api_meter_names(unsigned meter, char *buf, size_t cap);
/* Count a row's live events (API_METER_REST_CALL, API_METER_LOGIN; the
 * others are in their writer jobs) for (app, user_no) at now_s. */
void api_meter_count(api_srv_t *srv, unsigned meter, uint32_t sdkappid, uint32_t user_no, int64_t now_s);
/* The messaging cores' day hook (im_c2c_hooks_t, im_group_hooks_t): the
 * billing day of t_s for the app (meter_day_of); srv is the api_srv_t. */
int32_t api_meter_day_of(void *srv, uint32_t sdkappid, int64_t t_s);

#endif
