/* rest_routes.c — the v4 route table: one row per command with its handler,
 * documented per-command frequency (rest-api-reference §1.4) and body cap.
 * docs/rest-api.md's endpoint index is generated from these rows
 * (`imcloud doc rest-routes`; tests/e2e/test_docs.c fails when it drifts). */
#include "api/api_int.h"

#define KB 1024
const rest_route_t rest_routes[] = {
  { "im_open_login_svc", "account_import",      rest_account_import,      API_AUTH_ADMIN, 0,   16 * KB, "import one account (UserID or legacy Identifier, Nick, FaceUrl)" },
  { "im_open_login_svc", "multiaccount_import", rest_multiaccount_import, API_AUTH_ADMIN, 100, 64 * KB, "import up to 100 accounts" },
  { "im_open_login_svc", "account_delete",      rest_account_delete,      API_AUTH_ADMIN, 100, 64 * KB, "delete up to 100 accounts (free editions only)" },
  { "im_open_login_svc", "account_check",       rest_account_check,       API_AUTH_ADMIN, 100, 64 * KB, "check up to 100 accounts" },
  { "im_open_login_svc", "kick",                rest_kick,                API_AUTH_ADMIN, 0,   16 * KB, "end a user's sessions and invalidate earlier UserSigs" },
  { "openim",            "query_online_status", rest_query_online_status, API_AUTH_ADMIN, 0,   64 * KB, "online status of up to 500 users (Status)" },
  { "openim",            "querystate",          rest_querystate,          API_AUTH_ADMIN, 0,   64 * KB, "older name of query_online_status (State)" },
  { "openconfigsvr",     "getappinfo",          rest_getappinfo,          API_AUTH_ADMIN, 0,   16 * KB, "the last 30 days of metered figures (docs/metering.md), one Result per day" },
  { 0, 0, 0, 0, 0, 0, 0 }
};

const char *api_auth_name(api_auth_t a)
{
  static const char *const names[] = { [API_AUTH_NONE] = "none", [API_AUTH_USER] = "user", [API_AUTH_ADMIN] = "admin" };
  return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
