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
  { "group_open_http_svc", "create_group", rest_create_group, API_AUTH_ADMIN, 0, 64 * KB, "create a group of any type (custom GroupId, owner, initial members)" },
  { "group_open_http_svc", "destroy_group", rest_destroy_group, API_AUTH_ADMIN, 0, 16 * KB, "dissolve a group: members notified, history and members deleted" },
  { "group_open_http_svc", "get_appid_group_list", rest_get_appid_group_list, API_AUTH_ADMIN, 1, 16 * KB, "the app's groups, paged with Next" },
  { "group_open_http_svc", "get_joined_group_list", rest_get_joined_group_list, API_AUTH_ADMIN, 0, 16 * KB, "the groups a user belongs to (filters, WithHugeGroups)" },
  { "group_open_http_svc", "get_group_info", rest_get_group_info, API_AUTH_ADMIN, 0, 16 * KB, "profiles (and members) of up to 50 groups, per-group ErrorCode" },
  { "group_open_http_svc", "modify_group_base_info", rest_modify_group_base_info, API_AUTH_ADMIN, 0, 16 * KB, "change profile fields, MaxMemberNum, MuteAllMember" },
  { "group_open_http_svc", "import_group", rest_import_group, API_AUTH_ADMIN, 0, 64 * KB, "import a group with its CreateTime (not AVChatRoom)" },
  { "group_open_http_svc", "add_group_member", rest_add_group_member, API_AUTH_ADMIN, 0, 64 * KB, "add up to 300 members (Result 0/1/2)" },
  { "group_open_http_svc", "delete_group_member", rest_delete_group_member, API_AUTH_ADMIN, 0, 64 * KB, "remove up to 500 members" },
  { "group_open_http_svc", "import_group_member", rest_import_group_member, API_AUTH_ADMIN, 0, 64 * KB, "import up to 300 members with roles, join times, unread counts" },
  { "group_open_http_svc", "get_group_member_info", rest_get_group_member_info, API_AUTH_ADMIN, 0, 16 * KB, "members with details, Offset or Next paging" },
  { "group_open_http_svc", "modify_group_member_info", rest_modify_group_member_info, API_AUTH_ADMIN, 0, 16 * KB, "change a member's role, MsgFlag, NameCard, data, mute" },
  { "group_open_http_svc", "forbid_send_msg", rest_forbid_send_msg, API_AUTH_ADMIN, 0, 64 * KB, "mute (MuteTime s) or unmute (0) up to 500 members" },
  { "group_open_http_svc", "get_group_muted_account", rest_get_group_muted_account, API_AUTH_ADMIN, 0, 16 * KB, "the muted members and their deadlines" },
  { "group_open_http_svc", "get_group_shutted_uin", rest_get_group_muted_account, API_AUTH_ADMIN, 0, 16 * KB, "older name of get_group_muted_account" },
  { "group_open_http_svc", "get_role_in_group", rest_get_role_in_group, API_AUTH_ADMIN, 0, 64 * KB, "roles of up to 500 accounts (NotMember)" },
  { "group_open_http_svc", "change_group_owner", rest_change_group_owner, API_AUTH_ADMIN, 0, 16 * KB, "transfer ownership to a member" },
  { "group_open_http_svc", "send_group_msg", rest_send_group_msg, API_AUTH_ADMIN, 0, 64 * KB, "send a group message (MsgSeq, MsgTime); dedupe by sender + Random" },
  { "group_open_http_svc", "send_group_system_notification", rest_send_group_system_notification, API_AUTH_ADMIN, 0, 64 * KB, "an online-only notice to members" },
  { "group_open_http_svc", "import_group_msg", rest_import_group_msg, API_AUTH_ADMIN, 0, 64 * KB, "import up to 20 historical messages in time order" },
  { "group_open_http_svc", "group_msg_get_simple", rest_group_msg_get_simple, API_AUTH_ADMIN, 0, 16 * KB, "group history, newest first (IsFinished)" },
  { "group_open_http_svc", "group_msg_recall", rest_group_msg_recall, API_AUTH_ADMIN, 0, 16 * KB, "recall up to 10 messages by MsgSeq (RecallRetList)" },
  { "group_open_http_svc", "delete_group_msg_by_sender", rest_delete_group_msg_by_sender, API_AUTH_ADMIN, 0, 16 * KB, "delete every message of one sender" },
  { "group_open_http_svc", "set_unread_msg_num", rest_set_unread_msg_num, API_AUTH_ADMIN, 0, 16 * KB, "set a member's unread count" },
  { "group_open_http_svc", "get_online_member_num", rest_get_online_member_num, API_AUTH_ADMIN, 0, 16 * KB, "online sessions of an AVChatRoom" },
  { "openim", "modify_group_msg", rest_modify_group_msg, API_AUTH_ADMIN, 0, 64 * KB, "replace the body of a group message" },
  { 0, 0, 0, 0, 0, 0, 0 }
};

const char *api_auth_name(api_auth_t a)
{
  static const char *const names[] = { [API_AUTH_NONE] = "none", [API_AUTH_USER] = "user", [API_AUTH_ADMIN] = "admin" };
  return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
