/* err.h — the one error table of imcloud.
 *
 * Every function that can fail returns int: 0 on success, a negative IMC_E_*
 * on failure. Each error has a symbolic name, the compatible numeric ErrorCode
 * the commercial service's v4 API uses for that condition
 * (shared/spec/rest-api-reference.md §3; 0 where the error never reaches a
 * v4 reply, e.g. CLI-only billing input errors) and a human message.
 * imc_strerror() and imc_err_compat() are total: unknown values map to
 * "unknown error" / 70500. The table is the single place a code is chosen;
 * no caller writes a numeric ErrorCode.
 *
 * Rows are grouped by area; add a row to the group it belongs to. The enum
 * value is derived from the row position, so never compare against literals.
 */
#ifndef IMC_UTIL_ERR_H
#define IMC_UTIL_ERR_H

#include <stddef.h>

/*  name                  compat  message */
#define IMC_ERR_TABLE(X)                                                        \
  /* generic */                                                                 \
  X(NOMEM,                70500, "out of memory")                               \
  X(INTERNAL,             70500, "internal server error")                       \
  X(IO,                   70500, "storage I/O error")                           \
  X(INVAL,                70402, "invalid parameter")                           \
  X(RANGE,                70402, "value out of range")                          \
  X(NOTFOUND,             70107, "not found")                                   \
  X(EXISTS,               70402, "already exists")                              \
  X(BUSY,                 70500, "resource busy, try again")                    \
  X(OVERLOADED,           60018, "server busy (storage queue full), retry later") \
  X(SHUTDOWN,             70500, "server is shutting down")                     \
  X(CANCELED,             70500, "cancelled: the connection or login that asked ended") \
  X(TOOBIG,               93000, "request too large")                           \
  X(TIMEOUT,              60008, "request timed out")                           \
  X(CONFIG,               0,     "invalid configuration")                       \
  X(USAGE,                0,     "invalid command line")                        \
  X(ADDR_IN_USE,          0,     "address already in use")                      \
  /* HTTP / REST envelope (rest-api-reference §1, §3.2) */                      \
  X(HTTP_PARSE,           60002, "HTTP parse error")                            \
  X(WS_FULL,              60018, "the server holds its maximum of WebSocket connections (max_websockets); retry later") \
  X(NO_FDS,               60018, "the server is out of file descriptors (its open-files limit); retry later") \
  X(JSON_PARSE,           60003, "JSON parse error")                            \
  X(REQ_IDENTIFIER,       60004, "identifier in the URL is missing or invalid")  \
  X(REQ_USERSIG,          60005, "usersig in the URL is missing or invalid")    \
  X(APP_INVALID,          60006, "SDKAppID is invalid or unknown")              \
  X(API_RATE,             60007, "REST API call frequency exceeded")            \
  X(BAD_URL,              60009, "unknown service or command")                  \
  X(NOT_ADMIN,            60010, "identifier is not an App admin")              \
  X(APP_RATE,             60011, "SDKAppID call frequency exceeded")            \
  X(SDKAPPID_MISSING,     60012, "sdkappid is missing from the URL")            \
  X(JSON_TYPE,            60015, "JSON field has the wrong type")               \
  X(APP_DISABLED,         60016, "SDKAppID is suspended")                       \
  X(PLAN_EXPIRED,         60020, "the app's package has expired")              \
  X(METHOD,               60002, "only POST is supported")                      \
  /* UserSig (rest-api-reference §4) */                                         \
  X(SIG_EXPIRED,          70001, "UserSig expired")                             \
  X(SIG_EMPTY,            70002, "UserSig is empty")                            \
  X(SIG_DECODE,           70003, "UserSig cannot be decoded")                   \
  X(SIG_MALFORMED,        70005, "UserSig content is malformed")                \
  X(SIG_MISMATCH,         70009, "UserSig verification failed")                 \
  X(SIG_IDENTIFIER,       70013, "UserSig identifier does not match")           \
  X(SIG_SDKAPPID,         70014, "UserSig SDKAppID does not match")             \
  X(SIG_NO_KEY,           70016, "no secret key for this SDKAppID")             \
  X(SIG_APP_UNKNOWN,      70020, "SDKAppID not found")                          \
  /* accounts (rest-api-reference §2.1) */                                      \
  X(USER_NOT_FOUND,       70107, "account not imported")                       \
  X(BATCH_SIZE,           70206, "too many items in one request")              \
  X(USER_ID,              70402, "UserID is invalid (1-32 printable bytes)")    \
  X(ACCOUNT_LIMIT,        70398, "account limit of the edition reached")       \
  X(DELETE_FORBIDDEN,     71000, "accounts can only be deleted on a free edition") \
  X(DAU_LIMIT,            72000, "free DAU of the edition exceeded")            \
  X(TOO_MANY_ACCOUNTS,    90011, "too many accounts in one request")           \
  /* profiles (rest-api-reference §2.6) */                                      \
  X(PROFILE_TOOLONG,      40601, "profile value longer than 500 bytes")         \
  X(PROFILE_PARAM,        40001, "invalid profile request")                     \
  X(PROFILE_USER,         40003, "account not imported")                        \
  X(PROFILE_TAG,          40009, "unknown profile tag (custom tags are declared per app)") \
  X(PROFILE_VALUE,        40605, "invalid value for a standard profile tag")    \
  X(PROFILE_TYPE,         40610, "profile value has the wrong type")            \
  /* relationships (rest-api-reference §2.6, §3.2) */                          \
  X(REL_PARAM,            30001, "invalid relationship request")                \
  X(REL_USER,             30003, "account not imported")                        \
  X(REL_FLISTS_FULL,      30011, "too many friend lists")                       \
  X(REL_PENDING_FULL,     30012, "too many pending friend requests (100 sent or received per user)") \
  X(REL_BLACK_FULL,       30013, "the blocklist is full (1,000 users)")         \
  X(REL_IN_OWN_BLACK,     30515, "the peer is in your blocklist")               \
  X(REL_DENY_ANY,         30516, "the peer accepts no friend requests")         \
  X(REL_ADD_FORBIDDEN,    30009, "the user may not send friend requests (Tag_Profile_IM_AdminForbidType SendOut)") \
  X(REL_IN_PEER_BLACK,    30525, "you are in the peer's blocklist")             \
  X(REL_PENDING,          30539, "friend request sent; waiting for the peer to accept") \
  X(REL_NO_PENDING,       30614, "no pending friend request from that user")    \
  X(REL_NOT_FRIEND,       31704, "not friends")                                 \
  /* global mute (openconfigsvr/setnospeaking, getnospeaking) */                \
  X(MUTE_PARAM,           130001, "invalid global mute request")                \
  X(MUTE_GET_ACCOUNT,     130002, "Get_Account is missing or not a UserID")     \
  X(MUTE_GET_USER,        130003, "Get_Account is not imported")                \
  X(MUTE_SET_ACCOUNT,     130004, "Set_Account is missing or not a UserID")     \
  X(MUTE_SET_USER,        130005, "Set_Account is not imported")                \
  X(MUTE_NO_TIME,         130008, "give C2CmsgNospeakingTime or GroupmsgNospeakingTime") \
  /* client WebSocket protocol (docs/protocol.md) */                            \
  X(WS_NOT_LOGGED_IN,     70003, "log in first")                                \
  X(WS_UNKNOWN_OP,        60009, "unknown op")                                  \
  X(WS_ALREADY_LOGGED_IN, 70402, "already logged in")                           \
  X(WS_PLATFORM,          70402, "unknown platform")                            \
  X(STATUS_SUBS_USER,     70402, "too many status subscriptions for this user (status_subs_per_user)") \
  X(STATUS_SUBS_FULL,     60018, "the server holds its maximum of status subscriptions (status_subs_max); retry later") \
  X(WS_APP_FULL,          60018, "the app holds its maximum of logged-in WebSockets on this server (max_websockets_per_app); retry later") \
  /* one-to-one messages (rest-api-reference §2.2, §2.3, §3.2) */              \
  X(MSG_JSON,             90001, "message request JSON is invalid")             \
  X(MSG_BODY,             90002, "MsgBody is invalid")                          \
  X(MSG_TO,               90003, "To_Account is missing or invalid")            \
  X(MSG_SEQ,              90004, "MsgSeq must be an integer 0..4294967295")     \
  X(MSG_RANDOM,           90005, "MsgRandom must be an integer 0..4294967295")  \
  X(MSG_TIMESTAMP,        90006, "MsgTimeStamp is missing or invalid")          \
  X(MSG_BODY_NOT_ARRAY,   90007, "MsgBody must be a non-empty array")           \
  X(MSG_FROM,             90008, "From_Account is invalid or not imported")     \
  X(MSG_TO_UNKNOWN,       90012, "To_Account is not imported")                  \
  X(MSG_LIFETIME,         90026, "MsgLifeTime must be 0..604800 seconds")       \
  X(MSG_SYNC_FROM_OLD,    90030, "SyncFromOldSystem must be 1, 2 or 5")         \
  X(MSG_SYNC_OTHER,       90031, "SyncOtherMachine must be 1 or 2 (0: not given)")\
  X(MSG_PUSH_INFO,        90043, "OfflinePushInfo is invalid")                  \
  X(MSG_LIFETIME_TYPE,    90044, "MsgLifeTime must be an integer")              \
  X(MSG_KEY,              90054, "MsgKey is invalid")                           \
  X(MSG_DAMAGED,          90007, "the stored message body is damaged (does not parse): give MsgBody to replace it; CloudCustomData alone cannot be merged into it") \
  X(MSG_TOO_BIG,          93000, "message is larger than the size limit")       \
  X(MSG_BATCH_TOO_BIG,    90055, "batchsendmsg: the message packet is larger than 8 KB") \
  X(MSG_NOT_FOUND,        20022, "message not found")                           \
  X(MSG_RECALLED,         20023, "message was already recalled")                \
  X(MSG_RECALL_LATE,      20016, "the recall window has passed")                \
  X(MSG_NOT_SENDER,       20001, "only the sender may do that to a message")    \
  X(CONV_USER,            50001, "From_Account is not imported")                \
  X(CONV_PARAM,           50002, "invalid conversation parameter")              \
  /* groups (rest-api-reference §2.4, §3.2) */                                  \
  X(GROUP_INTERNAL,       10002, "group service internal error")                \
  X(GROUP_PARAM,          10004, "invalid group parameter")                     \
  X(GROUP_TOO_MANY,       10005, "too many accounts in one request")            \
  X(GROUP_PERM,           10007, "no permission for this operation on this group") \
  X(GROUP_TYPE_OP,        10007, "this group type does not allow the operation") \
  X(GROUP_NOT_MEMBER,     10007, "not a member of the group")                   \
  X(GROUP_OWNER_QUIT,     10009, "the owner cannot quit this group (transfer it first)") \
  X(GROUP_GONE,           10010, "group does not exist or was dissolved")       \
  X(GROUP_JSON,           10011, "group request JSON is invalid")               \
  X(GROUP_ALREADY_MEMBER, 10013, "already a member of the group")               \
  X(GROUP_ID,             10015, "invalid group id")                            \
  X(GROUP_MUTED,          10017, "muted in this group")                         \
  X(GROUP_USER,           10019, "account is not imported")                     \
  X(GROUP_ID_TAKEN,       10021, "group id is used by another group")           \
  X(GROUP_PROCESSED,      10024, "the request was already processed")           \
  X(GROUP_ID_YOURS,       10025, "you already own a group with this id")        \
  X(GROUP_MSG_NOT_FOUND,  10030, "the message does not exist")                  \
  X(GROUP_RECALL_LATE,    10031, "the recall window has passed")                \
  X(GROUP_MSG_RECALLED,   10032, "the message was already recalled")            \
  X(GROUP_RECALL_TYPE,    10033, "this group type does not support recall")     \
  X(GROUP_NO_HISTORY,     10044, "this group type keeps no history")            \
  X(GROUP_APPLY_FULL,     10014, "too many join applications are waiting for this group") \
  X(GROUP_MSG_TOO_LONG,   80002, "group message body is longer than the size limit") \
  X(GROUP_IMPORT_TOO_BIG, 10020, "imported group message is larger than the size limit") \
  X(CONV_MARK_BATCH,      51006, "too many conversations in one mark operation") \
  X(CONV_GROUP_CONVS,     51008, "too many conversations in a conversation group") \
  X(CONV_GROUPS,          51010, "too many conversation groups")                \
  X(CONV_GROUP_NAME,      51011, "conversation group name is empty or too long") \
  X(CONV_PINNED,          51012, "too many pinned conversations")               \
  X(MSG_BLOCKED,          20007, "the recipient has blocked the sender")        \
  X(MSG_NOT_FRIENDS,      20009, "C2C needs friendship: the users are not friends") \
  X(MSG_NOT_PEER_FRIEND,  20010, "C2C needs friendship: the sender is not in the recipient's friend list") \
  X(MSG_NOT_OWN_FRIEND,   20011, "C2C needs friendship: the recipient is not in the sender's friend list") \
  X(MSG_FORBIDDEN,        20012, "the sender is muted (openconfigsvr/setnospeaking)") \
  /* billing and quotes (pure library; CLI and operator API only) */           \
  X(BILL_SCHEME,          0,     "unknown price-book scheme")                   \
  X(BILL_EDITION,         0,     "unknown edition for this scheme")             \
  X(BILL_ADDON,           0,     "unknown add-on")                              \
  X(BILL_ADDON_FORBIDDEN, 0,     "this edition cannot buy that add-on")         \
  X(BILL_MONTH,           0,     "invalid month (YYYY-MM)")                     \
  X(BILL_NUMBER,          0,     "invalid number")                              \
  X(BILL_BOOK,            0,     "price book data is invalid")                  \
  X(BILL_NO_BOOK,         0,     "no price book in force for that date")        \
  X(BILL_MONTH_ISSUED,    0,     "that month's bill is already issued")        \
  X(ORDER_BEFORE_APP,     0,     "the order is dated before the app was created") \
  X(APP_IN_ARREARS,       0,     "suspended for arrears: a top-up that pays the overdue bills resumes it") \
  X(APP_BACKDATED,        0,     "created_at is before the customer's first app, across a P-01 / P-50 cutoff: the existing apps' scheme would change; create a customer's apps oldest first") \
  X(BILL_USAGE,           0,     "invalid usage for this bill")                 \
  X(WALLET_FUNDS,         0,     "insufficient wallet balance")                 \
  /* edition limits and feature gates (src/plan; pricing.md §6, rest-api §3.1) */ \
  X(PLAN_FRIENDS,         30010, "friend list is full (edition limit)")         \
  X(PLAN_FRIENDS_PEER,    30014, "the peer's friend list is full (edition limit)") \
  X(PLAN_GROUPS_PER_USER, 10037, "groups joined per user limit of the edition reached") \
  X(PLAN_MEMBERS_CAP,     10038, "member count above the edition's members per group") \
  X(PLAN_GROUP_FULL,      10014, "group is full")                               \
  X(PLAN_GROUPS,          10058, "group count limit of the edition reached")    \
  X(PLAN_AVCHATROOMS,     10036, "AVChatRoom count limit of the edition reached") \
  X(PLAN_DAILY_GROUPS,    10006, "too many net new groups today")               \
  X(PLAN_MAU,             72000, "free MAU of the edition exceeded")            \
  X(PLAN_RETENTION,       0,     "beyond the edition's retention")              \
  X(PLAN_PUSH,            90045, "all-member push is not enabled")              \
  X(PLAN_COMMUNITY,       11000, "community is not enabled")                    \
  X(PLAN_ULTIMATE,        10059, "feature requires a higher edition")           \
  X(PLAN_EXTENSIONS,      10008, "message extensions require a higher edition") \
  X(PLAN_LIVE_GROUP,      10007, "live-group feature not in the edition")       \
  X(PLAN_USER_STATUS,     72001, "user status is not enabled")                  \
  X(PLAN_SDK_FEATURE,     7013,  "the edition does not support this feature")   \
  X(PLAN_FEATURE_OFF,     0,     "feature not in the edition")                  \
  X(PLAN_RECEIPT_GROUP,   10007, "read receipts are not available for this group's type or size") \
  X(PLAN_LIVE_ELEMENT,    10007, "message type not allowed in live groups")     \
  X(PLAN_EDITION_CHANGE,  0,     "that edition change is not allowed")          \
  /* operator API */                                                            \
  X(OP_AUTH,              0,     "operator token missing or wrong")             \
  X(TEST_CLOCK_OFF,       0,     "the test clock is off (imcloud serve --test-clock)") \
  X(CLOCK_BACKWARDS,      0,     "the clock never moves backwards")             \
  /* metering (docs/metering.md) */                                             \
  X(METER_LATE,           0,     "usage event older than the 35-day late window") \
  X(METER_NO_CALL_PACKAGE, 0,    "call minutes need an av_call package in force (P-46)") \
  /* end */

typedef enum {
  IMC_OK = 0,
  IMC__ERR_BASE = -1000,
#define IMC_ERR_ENUM(name, compat, msg) IMC_E_##name,
  IMC_ERR_TABLE(IMC_ERR_ENUM)
#undef IMC_ERR_ENUM
  IMC__ERR_END
} imc_err_t;

/* Human message for err (0 → "ok"); never NULL; static storage. */
const char *imc_strerror(int err);
/* Symbolic name without prefix ("SIG_EXPIRED"); never NULL; static storage. */
const char *imc_err_name(int err);
/* Compatible v4 ErrorCode for err (0 for IMC_OK); 70500 for unknown values. */
int imc_err_compat(int err);
/* Format a one-line reason into buf (when cap > 0) and return code: the
 * pattern every "fail with a message" path uses. */
int imc_errf(char *buf, size_t cap, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
