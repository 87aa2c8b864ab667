/* rest_routes.c — the v4 route table: one row per command with its handler,
 * documented per-command frequency (rest-api-reference §1.4) and body cap.
 * docs/rest-api.md's endpoint index is generated from these rows
 * (`imcloud doc rest-routes`; tests/e2e/test_docs.c fails when it drifts). */
#include "api/rel_api.h"

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
  { "profile",           "portrait_set",        rest_portrait_set,           API_AUTH_ADMIN, 0,   64 * KB, "set profile tags of a user (standard and declared custom tags); pushed to its friends" },
  { "profile",           "portrait_get",        rest_portrait_get,           API_AUTH_ADMIN, 0,   64 * KB, "profile tags of up to 100 users" },
  { "sns",               "friend_add",          rest_friend_add,             API_AUTH_ADMIN, 0,   64 * KB, "add friends (single/both, AllowType, pending requests 30539)" },
  { "sns",               "friend_import",       rest_friend_import,          API_AUTH_ADMIN, 0,   64 * KB, "import up to 1,000 friends one-way, no confirmation" },
  { "sns",               "friend_update",       rest_friend_update,          API_AUTH_ADMIN, 0,   64 * KB, "change friends' remark, lists and custom fields" },
  { "sns",               "friend_delete",       rest_friend_delete,          API_AUTH_ADMIN, 0,   64 * KB, "delete friends (Delete_Type_Both default, _Single)" },
  { "sns",               "friend_delete_all",   rest_friend_delete_all,      API_AUTH_ADMIN, 0,   16 * KB, "empty a user's friend list (_Both: also from each peer's)" },
  { "sns",               "friend_check",        rest_friend_check,           API_AUTH_ADMIN, 0,   64 * KB, "relation with up to 1,000 users (the four relations)" },
  { "sns",               "friend_get",          rest_friend_get,             API_AUTH_ADMIN, 0,   16 * KB, "a page of a user's friends (StartIndex, StandardSequence)" },
  { "sns",               "friend_get_list",     rest_friend_get_list,        API_AUTH_ADMIN, 0,   64 * KB, "chosen fields of up to 100 friends" },
  { "sns",               "group_add",           rest_flist_add,              API_AUTH_ADMIN, 0,   64 * KB, "create friend lists, optionally putting friends in them" },
  { "sns",               "group_delete",        rest_flist_delete,           API_AUTH_ADMIN, 0,   16 * KB, "delete friend lists" },
  { "sns",               "group_get",           rest_flist_get,              API_AUTH_ADMIN, 0,   16 * KB, "a user's friend lists (NeedFriend: with members)" },
  { "sns",               "black_list_add",      rest_black_list_add,         API_AUTH_ADMIN, 0,   64 * KB, "block up to 1,000 users (ends friendships both ways)" },
  { "sns",               "black_list_delete",   rest_black_list_delete,      API_AUTH_ADMIN, 0,   64 * KB, "unblock up to 1,000 users" },
  { "sns",               "black_list_get",      rest_black_list_get,         API_AUTH_ADMIN, 0,   16 * KB, "a page of a user's blocklist (CurruentSequence)" },
  { "sns",               "black_list_check",    rest_black_list_check,       API_AUTH_ADMIN, 0,   64 * KB, "blocklist relation with up to 1,000 users" },
  { "recentcontact",     "create_contact_group", rest_create_contact_group,  API_AUTH_ADMIN, 0,   64 * KB, "create conversation groups (at most 20, names ≤ 32 bytes)" },
  { "recentcontact",     "update_contact_group", rest_update_contact_group,  API_AUTH_ADMIN, 0,   64 * KB, "rename a conversation group or add/remove its conversations" },
  { "recentcontact",     "del_contact_group",    rest_del_contact_group,     API_AUTH_ADMIN, 0,   16 * KB, "delete conversation groups" },
  { "recentcontact",     "get_contact_group",    rest_get_contact_group,     API_AUTH_ADMIN, 0,   16 * KB, "a page of grouped or marked conversations and the groups" },
  { "recentcontact",     "search_contact_group", rest_search_contact_group,  API_AUTH_ADMIN, 0,   16 * KB, "the groups and marks of up to 100 conversations" },
  { "recentcontact",     "mark_contact",         rest_mark_contact,          API_AUTH_ADMIN, 0,   64 * KB, "set or clear marks of up to 100 conversations" },
  { "openconfigsvr",     "getappinfo",          rest_getappinfo,             API_AUTH_ADMIN, 0,   16 * KB, "the last 30 days of metered figures (docs/metering.md), one Result per day" },
  { 0, 0, 0, 0, 0, 0, 0 }
};

const char *api_auth_name(api_auth_t a)
{
  static const char *const names[] = { [API_AUTH_NONE] = "none", [API_AUTH_USER] = "user", [API_AUTH_ADMIN] = "admin" };
  return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
