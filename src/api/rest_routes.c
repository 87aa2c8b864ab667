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
  { "openim",            "sendmsg",             rest_sendmsg,                API_AUTH_ADMIN, 0,   64 * KB, "send a one-to-one message (MsgKey, MsgTime)" },
  { "openim",            "batchsendmsg",        rest_batchsendmsg,           API_AUTH_ADMIN, 0,   64 * KB, "send one message to up to 500 users (ErrorList)" },
  { "openim",            "importmsg",           rest_importmsg,              API_AUTH_ADMIN, 0,   64 * KB, "import a historical one-to-one message (SyncFromOldSystem 2/5)" },
  { "openim",            "admin_getroammsg",    rest_admin_getroammsg,       API_AUTH_ADMIN, 0,   16 * KB, "one-to-one history of a user with a peer, newest first" },
  { "openim",            "admin_msgwithdraw",   rest_admin_msgwithdraw,      API_AUTH_ADMIN, 0,   16 * KB, "recall a one-to-one message by MsgKey" },
  { "openim",            "admin_set_msg_read",  rest_admin_set_msg_read,     API_AUTH_ADMIN, 0,   16 * KB, "mark a conversation read up to MsgReadTime" },
  { "openim",            "get_c2c_unread_msg_num", rest_get_c2c_unread_msg_num, API_AUTH_ADMIN, 0,   64 * KB, "unread one-to-one counts of a user" },
  { "openim",            "modify_c2c_msg",      rest_modify_c2c_msg,         API_AUTH_ADMIN, 0,   64 * KB, "replace the body of a one-to-one message" },
  { "recentcontact",     "get_list",            rest_recentcontact_get_list, API_AUTH_ADMIN, 0,   16 * KB, "a user's conversations, pinned first, paged" },
  { "recentcontact",     "delete",              rest_recentcontact_delete,   API_AUTH_ADMIN, 0,   16 * KB, "delete a conversation (ClearRamble: and its history)" },
  { "openconfigsvr",     "getappinfo",          rest_getappinfo,             API_AUTH_ADMIN, 0,   16 * KB, "the last 30 days of metered figures (docs/metering.md), one Result per day" },
  { 0, 0, 0, 0, 0, 0, 0 }
};

const char *api_auth_name(api_auth_t a)
{
  static const char *const names[] = { [API_AUTH_NONE] = "none", [API_AUTH_USER] = "user", [API_AUTH_ADMIN] = "admin" };
  return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
