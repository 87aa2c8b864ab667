/* rest_routes.c — the v4 route table: one row per command with its handler,
 * documented per-command frequency (rest-api-reference §1.4) and body cap
 * (a fixed size, or derived from msg_max_bytes for the rows that carry
 * messages: rest_route_body_bytes), and whether it waits for the reader
 * queue's room when that is full (REST_READ_WAITS: the reads whose first
 * store call is a reader job, decisions §125) or runs at once (REST_RUNS).
 * docs/rest-api.md's endpoint index is generated from these rows
 * (`imcloud doc rest-routes`; tests/e2e/test_docs.c fails when it drifts). */
#include "api/rel_api.h"
#include "api/rest_group.h"

#include <assert.h>

#define KB 1024
const rest_route_t rest_routes[] = {
  { "im_open_login_svc", "account_import",      rest_account_import,      API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "import one account (UserID or legacy Identifier, Nick, FaceUrl)", REST_RUNS },
  { "im_open_login_svc", "multiaccount_import", rest_multiaccount_import, API_AUTH_ADMIN, 100, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "import up to 100 accounts", REST_RUNS },
  { "im_open_login_svc", "account_delete",      rest_account_delete,      API_AUTH_ADMIN, 100, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "delete up to 100 accounts (free editions only)", REST_RUNS },
  { "im_open_login_svc", "account_check",       rest_account_check,       API_AUTH_ADMIN, 100, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "check up to 100 accounts", REST_RUNS },
  { "im_open_login_svc", "kick",                rest_kick,                API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "end a user's sessions and invalidate earlier UserSigs", REST_RUNS },
  { "openim",            "query_online_status", rest_query_online_status, API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "online status of up to 500 users (Status)", REST_RUNS },
  { "openim",            "querystate",          rest_querystate,          API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "older name of query_online_status (State)", REST_RUNS },
  { "openim",            "sendmsg",             rest_sendmsg,                API_AUTH_ADMIN, 0,   REST_BODY_MSGS(1), API_GATE_NONE, API_METER_REST_CALL | API_METER_C2C_MSG, "send a one-to-one message (MsgKey, MsgTime)", REST_RUNS },
  { "openim",            "batchsendmsg",        rest_batchsendmsg,           API_AUTH_ADMIN, 0,   REST_BODY_MSGS(1), API_GATE_NONE, API_METER_REST_CALL | API_METER_C2C_MSG, "send one message to up to 500 users (ErrorList)", REST_RUNS },
  { "openim",            "importmsg",           rest_importmsg,              API_AUTH_ADMIN, 0,   REST_BODY_MSGS(1), API_GATE_NONE, API_METER_REST_CALL, "import a historical one-to-one message (SyncFromOldSystem 1/2/5)", REST_RUNS },
  { "openim",            "admin_getroammsg",    rest_admin_getroammsg,       API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "one-to-one history of a user with a peer, newest first", REST_READ_WAITS },
  { "openim",            "admin_msgwithdraw",   rest_admin_msgwithdraw,      API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "recall a one-to-one message by MsgKey", REST_RUNS },
  { "openim",            "admin_set_msg_read",  rest_admin_set_msg_read,     API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "mark a conversation read up to MsgReadTime", REST_RUNS },
  { "openim",            "get_c2c_unread_msg_num", rest_get_c2c_unread_msg_num, API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "unread one-to-one counts of a user", REST_READ_WAITS },
  { "openim",            "modify_c2c_msg",      rest_modify_c2c_msg,         API_AUTH_ADMIN, 0,   REST_BODY_MSGS(1), API_GATE_NONE, API_METER_REST_CALL, "replace the body of a one-to-one message", REST_RUNS },
  { "recentcontact",     "get_list",            rest_recentcontact_get_list, API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "a user's conversations, pinned first, paged", REST_READ_WAITS },
  { "recentcontact",     "delete",              rest_recentcontact_delete,   API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "delete a conversation (ClearRamble: and its history)", REST_RUNS },
  { "profile",           "portrait_set",        rest_portrait_set,           API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "set profile tags of a user (standard and declared custom tags); pushed to those who list it as a friend", REST_RUNS },
  { "profile",           "portrait_get",        rest_portrait_get,           API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "profile tags of up to 100 users", REST_RUNS },
  { "sns",               "friend_add",          rest_friend_add,             API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "add friends (single/both, AllowType, pending requests 30539)", REST_RUNS },
  { "sns",               "friend_import",       rest_friend_import,          API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "import up to 1,000 friends one-way, no confirmation", REST_RUNS },
  { "sns",               "friend_update",       rest_friend_update,          API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "change friends' remark, lists and custom fields", REST_RUNS },
  { "sns",               "friend_delete",       rest_friend_delete,          API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "delete friends (Delete_Type_Both default, _Single)", REST_RUNS },
  { "sns",               "friend_delete_all",   rest_friend_delete_all,      API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "empty a user's friend list (_Both: also from each peer's)", REST_RUNS },
  { "sns",               "friend_check",        rest_friend_check,           API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "relation with up to 1,000 users (the four relations)", REST_RUNS },
  { "sns",               "friend_get",          rest_friend_get,             API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "a page of a user's friends (StartIndex, StandardSequence)", REST_RUNS },
  { "sns",               "friend_get_list",     rest_friend_get_list,        API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "chosen fields of up to 100 friends", REST_RUNS },
  { "sns",               "group_add",           rest_flist_add,              API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "create friend lists, optionally putting friends in them", REST_RUNS },
  { "sns",               "group_delete",        rest_flist_delete,           API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "delete friend lists", REST_RUNS },
  { "sns",               "group_get",           rest_flist_get,              API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "a user's friend lists (NeedFriend: with members)", REST_RUNS },
  { "sns",               "black_list_add",      rest_black_list_add,         API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "block up to 1,000 users (ends friendships both ways)", REST_RUNS },
  { "sns",               "black_list_delete",   rest_black_list_delete,      API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "unblock up to 1,000 users", REST_RUNS },
  { "sns",               "black_list_get",      rest_black_list_get,         API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "a page of a user's blocklist (CurruentSequence)", REST_RUNS },
  { "sns",               "black_list_check",    rest_black_list_check,       API_AUTH_ADMIN, 0,   64 * KB, API_GATE_NONE, API_METER_REST_CALL, "blocklist relation with up to 1,000 users", REST_RUNS },
  { "recentcontact",     "create_contact_group", rest_create_contact_group,  API_AUTH_ADMIN, 0,   64 * KB, PLAN_F_CONVERSATION_GROUPS, API_METER_REST_CALL, "create conversation groups (at most 20, names ≤ 32 bytes)", REST_RUNS },
  { "recentcontact",     "update_contact_group", rest_update_contact_group,  API_AUTH_ADMIN, 0,   64 * KB, PLAN_F_CONVERSATION_GROUPS, API_METER_REST_CALL, "rename a conversation group or add/remove its conversations", REST_RUNS },
  { "recentcontact",     "del_contact_group",    rest_del_contact_group,     API_AUTH_ADMIN, 0,   16 * KB, PLAN_F_CONVERSATION_GROUPS, API_METER_REST_CALL, "delete conversation groups", REST_RUNS },
  { "recentcontact",     "get_contact_group",    rest_get_contact_group,     API_AUTH_ADMIN, 0,   16 * KB, PLAN_F_CONVERSATION_GROUPS, API_METER_REST_CALL, "a page of grouped or marked conversations and the groups", REST_RUNS },
  { "recentcontact",     "search_contact_group", rest_search_contact_group,  API_AUTH_ADMIN, 0,   16 * KB, PLAN_F_CONVERSATION_GROUPS, API_METER_REST_CALL, "the groups and marks of up to 100 conversations", REST_RUNS },
  { "recentcontact",     "mark_contact",         rest_mark_contact,          API_AUTH_ADMIN, 0,   64 * KB, PLAN_F_CONVERSATION_MARKS, API_METER_REST_CALL, "set or clear marks of up to 100 conversations", REST_RUNS },
  { "openconfigsvr",     "setnospeaking",       rest_setnospeaking,          API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "mute a user's one-to-one and/or group messages for N seconds (0 ends, 4294967295 forever)", REST_RUNS },
  { "openconfigsvr",     "getnospeaking",       rest_getnospeaking,          API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "seconds left of a user's global mute", REST_RUNS },
  { "openconfigsvr",     "getappinfo",          rest_getappinfo,             API_AUTH_ADMIN, 0,   16 * KB, API_GATE_NONE, API_METER_REST_CALL, "the last 30 days of metered figures (docs/metering.md), one Result per day", REST_RUNS },
  { "group_open_http_svc", "create_group", rest_create_group, API_AUTH_ADMIN, 0, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "create a group of any type (custom GroupId, owner, initial members)", REST_RUNS },
  { "group_open_http_svc", "destroy_group", rest_destroy_group, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "dissolve a group: members notified, history and members deleted", REST_RUNS },
  { "group_open_http_svc", "get_appid_group_list", rest_get_appid_group_list, API_AUTH_ADMIN, 1, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "the app's groups, paged with Next", REST_RUNS },
  { "group_open_http_svc", "get_joined_group_list", rest_get_joined_group_list, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "the groups a user belongs to (filters, WithHugeGroups)", REST_READ_WAITS },
  { "group_open_http_svc", "get_group_info", rest_get_group_info, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "profiles (and members) of up to 50 groups, per-group ErrorCode", REST_RUNS },
  { "group_open_http_svc", "modify_group_base_info", rest_modify_group_base_info, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "change profile fields, MaxMemberNum, MuteAllMember", REST_RUNS },
  { "group_open_http_svc", "import_group", rest_import_group, API_AUTH_ADMIN, 0, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "import a group with its CreateTime (not AVChatRoom)", REST_RUNS },
  { "group_open_http_svc", "add_group_member", rest_add_group_member, API_AUTH_ADMIN, 0, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "add up to 300 members (Result 0/1/2)", REST_RUNS },
  { "group_open_http_svc", "delete_group_member", rest_delete_group_member, API_AUTH_ADMIN, 0, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "remove up to 500 members", REST_RUNS },
  { "group_open_http_svc", "import_group_member", rest_import_group_member, API_AUTH_ADMIN, 0, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "import up to 300 members with roles, join times, unread counts", REST_RUNS },
  { "group_open_http_svc", "get_group_member_info", rest_get_group_member_info, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "members with details, Offset or Next paging", REST_READ_WAITS },
  { "group_open_http_svc", "modify_group_member_info", rest_modify_group_member_info, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "change a member's role, MsgFlag, NameCard, data, mute", REST_RUNS },
  { "group_open_http_svc", "forbid_send_msg", rest_forbid_send_msg, API_AUTH_ADMIN, 0, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "mute (MuteTime s) or unmute (0) up to 500 members", REST_RUNS },
  { "group_open_http_svc", "get_group_muted_account", rest_get_group_muted_account, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "the muted members and their deadlines", REST_RUNS },
  { "group_open_http_svc", "get_group_shutted_uin", rest_get_group_muted_account, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "older name of get_group_muted_account", REST_RUNS },
  { "group_open_http_svc", "get_role_in_group", rest_get_role_in_group, API_AUTH_ADMIN, 0, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "roles of up to 500 accounts (NotMember)", REST_RUNS },
  { "group_open_http_svc", "change_group_owner", rest_change_group_owner, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "transfer ownership to a member", REST_RUNS },
  { "group_open_http_svc", "send_group_msg", rest_send_group_msg, API_AUTH_ADMIN, 0, REST_BODY_MSGS(1), API_GATE_NONE, API_METER_REST_CALL | API_METER_GROUP_MSG, "send a group message (MsgSeq, MsgTime); stored ones dedupe by sender + Random", REST_RUNS },
  { "group_open_http_svc", "send_group_system_notification", rest_send_group_system_notification, API_AUTH_ADMIN, 0, 64 * KB, API_GATE_NONE, API_METER_REST_CALL, "an online-only notice to members", REST_RUNS },
  { "group_open_http_svc", "import_group_msg", rest_import_group_msg, API_AUTH_ADMIN, 0, REST_BODY_MSGS(GRP_IMPORT_MSGS_MAX), API_GATE_NONE, API_METER_REST_CALL, "import up to 20 historical messages in time order", REST_RUNS },
  { "group_open_http_svc", "group_msg_get_simple", rest_group_msg_get_simple, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "group history, newest first (IsFinished)", REST_READ_WAITS },
  { "group_open_http_svc", "group_msg_recall", rest_group_msg_recall, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "recall up to 10 messages by MsgSeq (RecallRetList)", REST_RUNS },
  { "group_open_http_svc", "delete_group_msg_by_sender", rest_delete_group_msg_by_sender, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "delete every message of one sender", REST_RUNS },
  { "group_open_http_svc", "set_unread_msg_num", rest_set_unread_msg_num, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "set a member's unread count", REST_RUNS },
  { "group_open_http_svc", "get_online_member_num", rest_get_online_member_num, API_AUTH_ADMIN, 0, 16 * KB, API_GATE_NONE, API_METER_REST_CALL, "online sessions of an AVChatRoom", REST_RUNS },
  { "openim", "modify_group_msg", rest_modify_group_msg, API_AUTH_ADMIN, 0, REST_BODY_MSGS(1), API_GATE_NONE, API_METER_REST_CALL, "replace the body of a group message", REST_RUNS },
  { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
};

size_t rest_route_body_bytes(const rest_route_t *r, int64_t msg_max_bytes)
{
  if (r->max_body_bytes > REST_BODY_MSGS_MAX) return r->max_body_bytes;
  assert(r->max_body_bytes > 0);
  uint64_t n = (uint64_t)(msg_max_bytes > 0 ? msg_max_bytes : 0) * 6 * r->max_body_bytes + REST_MSG_BODY_ENVELOPE_BYTES;
  return n > REST_BODY_CEILING_BYTES ? REST_BODY_CEILING_BYTES : (size_t)n;
}

size_t rest_routes_body_bytes_max(int64_t msg_max_bytes)
{
  size_t max = 0;
  for (const rest_route_t *r = rest_routes; r->service; r++) {
    size_t n = rest_route_body_bytes(r, msg_max_bytes);
    if (n > max) max = n;
  }
  return max;
}

const char *api_auth_name(api_auth_t a)
{
  static const char *const names[] = { [API_AUTH_NONE] = "none", [API_AUTH_USER] = "user", [API_AUTH_ADMIN] = "admin" };
  return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
