/* group.h — groups of every type, independent of any wire format.
 *
 * The loop thread owns an im_groups_t: every group of every app with its
 * profile and its membership, rebuilt from storage at start
 * (im_groups_load) and changed only by the operations below. Every change is
 * one store job on the writer thread (store_grp.h); the in-memory state
 * changes and the pushes go out on the loop thread only after the job is
 * committed (durable), then the callback runs. A full writer queue fails
 * the operation with IMC_E_OVERLOADED (callback called before the call
 * returns). Reads (member details, history, joined lists, unread counts)
 * run on the store's reader pool.
 *
 * Types (rest-api-reference §2.4; the table im_gtype_info() rows): Private
 * (Work), Public, ChatRoom (Meeting), AVChatRoom (live) and Community. Join
 * rules, roles, history and unread follow the table; see
 * docs/decisions/groups.md for each choice the reference leaves open.
 *
 * Membership is compact: a non-live group keeps its members in an
 * open-addressing set of 8-byte slots (user number, role, muted bit) at a
 * load factor between 1/2 and 3/4 — at most 16 bytes per membership —
 * with O(1) join and leave; mute deadlines of the (few) muted members sit in
 * a side map. Member details (NameCard, JoinTime, AppMemberDefinedData, read
 * position) stay in storage. A live group (AVChatRoom) keeps no stored
 * members: a connection session joins it (even the owner's) and leaves it
 * when it quits or closes; its messages are online only, never stored.
 *
 * Limits come from the edition catalog (plan_check with the app's facts);
 * no limit literal appears here.
 */
#ifndef IMC_IM_GROUP_H
#define IMC_IM_GROUP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "im/c2c.h"
#include "im/limits.h"
#include "im/presence.h"
#include "plan/plan.h"
#include "store/store_grp.h"
#include "store/store_reader.h"
#include "store/store_writer.h"

typedef enum { IM_GT_PRIVATE, IM_GT_PUBLIC, IM_GT_CHATROOM, IM_GT_AVCHATROOM, IM_GT_COMMUNITY, IM_GT__COUNT } im_gtype_t;
typedef enum { IM_GR_MEMBER = 0, IM_GR_ADMIN = 1, IM_GR_OWNER = 2, IM_GR_NONE = 3 } im_grole_t;
typedef enum { IM_GJ_FREE, IM_GJ_NEED_PERMISSION, IM_GJ_DISABLE } im_gjoin_t;

/* One row of the type table (rest-api-reference §2.4). */
typedef struct im_gtype_info {
  const char *name;            /* REST Type: "Private" */
  const char *plain;           /* the newer name: "Work" */
  uint8_t self_join;           /* users may join/apply on their own */
  uint8_t join_default;        /* im_gjoin_t when ApplyJoinOption is absent */
  uint8_t member_invite;       /* ordinary members may invite */
  uint8_t admins;              /* the Admin role exists */
  uint8_t history;             /* messages are stored (history, sync) */
  uint8_t unread;              /* unread counts */
  uint8_t live;                /* members per session, online only, no stored member list */
  uint8_t member_edit;         /* ordinary members may edit the profile */
  uint8_t owner_may_quit;      /* the owner may quit (the group becomes ownerless) */
  uint8_t owner_dissolve;      /* the owner may dissolve (else only the App admin) */
  const char *id_prefix;       /* required prefix of a custom GroupId ("" none), e.g. "@TGS#_" */
} im_gtype_info_t;

const im_gtype_info_t *im_gtype_info(im_gtype_t t);
/* "Private" … → type; IMC_E_GROUP_PARAM for others (SupportTopic etc. are checked by the caller). */
int im_gtype_parse(const char *name, im_gtype_t *out);
const char *im_grole_name(im_grole_t r);           /* "Member", "Admin", "Owner", "NotMember" */
int im_grole_parse(const char *name, im_grole_t *out);
const char *im_gjoin_name(im_gjoin_t j);           /* "FreeAccess", "NeedPermission", "DisableApply" */
int im_gjoin_parse(const char *name, im_gjoin_t *out);
const char *im_gmsgflag_name(int f);               /* "AcceptAndNotify", "AcceptNotNotify", "Discard" */
int im_gmsgflag_parse(const char *name, int *out);

/* ---- field rules (group_rules.c; pure) ---------------------------------------- */
/* A custom GroupId for type t: printable ASCII, < 48 bytes, not starting
 * "@TGS#" — except Community, which must start "@TGS#_". 0 or IMC_E_GROUP_ID
 * with why. */
int im_group_id_check(im_gtype_t t, const char *id, char *why, size_t cap);
/* Check and normalise profile fields of a create / import / modify request
 * into out (a new object with only known keys): Name ≤ 30 B (required when
 * creating), Introduction ≤ 240 B, Notification ≤ 300 B, FaceUrl ≤ 100 B,
 * ApplyJoinOption, MuteAllMember (modify only), AppDefinedData (≤ 10 keys,
 * key ≤ 16 B [A-Za-z0-9_], value ≤ 512 B). max_key: the member-count field
 * name ("MaxMemberCount" on create/import, "MaxMemberNum" on modify) read
 * into *max_members (0 absent). 0 or IMC_E_GROUP_PARAM with why. */
int im_group_fields(json_t *req, int creating, const char *max_key, json_t *out, int64_t *max_members, char *why,
                    size_t cap);
/* Validate and pack a group message (im_msg_pack: MsgBody, CloudCustomData,
 * OfflinePushInfo into *out, malloc'd, caller frees). A packed message over
 * max_bytes is the group code of rest-api-reference §2.4 instead of C2C's
 * 93000: IMC_E_GROUP_MSG_TOO_LONG (80002) for a sent or modified message,
 * IMC_E_GROUP_IMPORT_TOO_BIG (10020) when import is set. 93000 stays for a
 * whole request over its cap (the HTTP body, the WebSocket frame).
 * Other errors: im_msg_pack's. */
int im_group_msg_pack(const json_t *body, const json_t *cloud, const json_t *push, size_t max_bytes, int import,
                      char **out, size_t *len, char *why, size_t cap);
/* AppMemberDefinedData (≤ 5 keys, value ≤ 64 B) and NameCard (≤ 50 B). */
int im_group_member_data_check(json_t *data, char *why, size_t cap);
/* Apply a checked AppDefinedData (member 0) or AppMemberDefinedData (member
 * 1) change to the stored set old (an array, or NULL for none) key by key: a
 * key with an empty Value is deleted, another replaces or adds its key; the
 * others stay. *out: the new set (new reference, caller owns). 0,
 * IMC_E_GROUP_PARAM with why when the result holds more keys than the
 * field allows (10 / 5), IMC_E_NOMEM. */
int im_group_kv_merge(const json_t *old, const json_t *changes, int member, json_t **out, char *why, size_t cap);
int im_group_name_card_check(json_t *card, char *why, size_t cap);

/* ---- the registry --------------------------------------------------------------- */
typedef struct im_groups im_groups_t;
typedef struct im_group im_group_t;

/* A group event for the members' devices. Pointers valid during the call. */
typedef enum {
  IM_GEV_MSG,          /* a stored message or notice (msg->seq ≥ 1), or an online-only one (seq 0) */
  IM_GEV_RECALL,       /* msg: the recalled message (body may be empty) */
  IM_GEV_MODIFY,       /* msg: the message with its new body */
  IM_GEV_SYSTEM,       /* send_group_system_notification: content, online only */
  IM_GEV_DISSOLVED,    /* a live room is gone (other groups: an inbox event, group_apply.c) */
  IM_GEV_DELETE,       /* delete_group_msg_by_sender: seqs[0..n_seqs) deleted, their changes change-n_seqs+1 ..
                          change; msg: the first of them (seq, flags) */
} im_gev_kind_t;

typedef struct im_gevent {
  im_gev_kind_t kind;
  uint32_t sdkappid;
  const char *group_id;
  im_gtype_t type;
  const store_grp_msg_t *msg;  /* MSG, RECALL, MODIFY */
  const char *content;         /* SYSTEM: the notification text */
  int64_t created_s, time_s;   /* DISSOLVED (a live room's, pushed live only): the group's creation time and the
                                  dissolution's, as the inbox events carry them; 0 for the other kinds */
  uint32_t change;             /* RECALL, MODIFY: the change's number in the group (store_grp_msg_change); DELETE:
                                  the last seq's */
  const uint32_t *seqs;        /* DELETE: the messages deleted, in change order (consecutive numbers) */
  size_t n_seqs;
} im_gevent_t;

typedef struct im_group_hooks {
  void *ud;
  /* NULL on OOM: not pushed (a stored group's members due it are then cut, lost below; a live room's count it
   * as dropped) */
  void *(*encode)(void *ud, const im_gevent_t *ev);
  /* 0 queued; IMC_E_BUSY: the connection passed its queue cap and was cut
   * off now (slow consumer); IMC_E_NOMEM: it could not be queued (a stored
   * group's event: the session is cut, lost below; a live room's: counted as
   * dropped); another error: it was already closing */
  int (*send)(void *ud, im_session_t *s, void *frame);
  size_t (*frame_bytes)(void *ud, void *frame);
  void (*release)(void *ud, void *frame);
  /* close s with 1011 because a stored group's event (a message or notice
   * with a seq, or a recall or change of one) could not be pushed to it (out
   * of memory): the device reconnects and group_sync from its seq hands the
   * messages over (the c2c core's cut, im_c2c_hooks_t); NULL: never */
  void (*lost)(void *ud, im_session_t *s);
  /* metering: bytes queued to a live room's members by one fan-out (M-5),
   * and the billing day (yyyymmdd) of an app at t_s for the message count */
  void (*live_bytes)(void *ud, uint32_t sdkappid, uint64_t bytes);
  int32_t (*day_of)(void *ud, uint32_t sdkappid, int64_t t_s);
  /* live rooms (group_live.c); each may be NULL: no coalescing without
   * concat, now_ms and arm, no dropping without queued */
  void *(*concat)(void *ud, void *const *frames, size_t n); /* one frame of n messages (refcount 1), NULL on OOM */
  size_t (*queued)(void *ud, im_session_t *s);              /* bytes queued to the session's connection */
  void *(*encode_dropped)(void *ud, uint64_t dropped);      /* the live_dropped notice, NULL on OOM */
  int (*cut)(void *ud, im_session_t *s, const char *reason); /* close with 1008: 0, or it was already closing */
  uint64_t (*now_ms)(void *ud);                             /* monotonic loop time */
  void (*arm)(void *ud, uint32_t ms);                       /* call im_groups_live_flush in ms (or sooner) */
} im_group_hooks_t;

/* Live-room fan-out (docs/decisions/groups-live.md §8). A fan-out reaches at
 * most fanout_slice of a room's sessions per loop turn; what arrives
 * meanwhile waits for it and goes out in the next one, as one shared batch.
 * A room with at least coalesce_min_members sessions fans out at most once
 * per coalesce_ms: a message arriving sooner after the last fan-out began
 * waits (with any others) for the window's end (0 = never wait).
 * A member whose connection already holds queue_bytes (or would pass them
 * with this fan-out) loses it, counted; the next message it gets is preceded
 * by a live_dropped notice with the count. A member still losing messages
 * max_lag_ms after its first loss, its queue not drained to half of
 * queue_bytes since, is cut off (1008). */
typedef struct im_live_cfg {
  uint32_t coalesce_ms, coalesce_min_members;
  uint32_t queue_bytes, max_lag_ms;
  uint32_t fanout_slice;       /* members a room's fan-out reaches per loop turn, the rest in the next turns (0 = all) */
} im_live_cfg_t;

/* Counters for the operator and the benchmarks. */
typedef struct im_groups_stats {
  uint64_t groups, memberships, live_sessions;
  uint64_t member_bytes;       /* bytes of the membership sets (slots + side maps) */
  uint64_t live_frames, live_bytes, live_cutoffs; /* live-room deliveries, bytes queued, members cut off */
  uint64_t live_dropped;       /* live-room deliveries lost by members that could not keep up (or out of memory) */
  uint64_t live_fanouts;       /* passes over a room's members (one per message, or per batch) */
  uint64_t live_batched;       /* live-room messages that waited for a coalescing window or a fan-out under way */
  uint64_t live_lagging;       /* sessions now losing live-room messages */
  uint64_t deliveries;         /* frames queued to sessions for stored groups */
  uint64_t live_slices;        /* loop turns' shares of live-room walks (fanouts when every walk fits one slice) */
  uint64_t event_chunks;       /* chunks of a large dissolution's group_dissolved events appended (group_due.c) */
} im_groups_stats_t;

/* Start again the appending of a large dissolution's group_dissolved events (group_due.c) if it stopped
 * with some still due (a full writer queue, a failed job); nothing otherwise. The server's tick. */
void im_groups_due_retry(im_groups_t *G);
/* A stop's last step before the writer stops (the loop still runs; the connections are closed): append
 * every group event still due, so a clean stop leaves no work for the next start. Call it again until it
 * returns 0: 1 while something is appended or group jobs are in flight (a dissolution may still record
 * events due; a stopped chain is started again, also after a full writer queue refused it); 0 when none
 * is due, when a job of the chain failed otherwise since the first call, or when the chain was started
 * again IM_GROUPS_DUE_FLUSH_TRIES times in a row without a chunk appended (refused, failed with
 * IMC_E_OVERLOADED, or no memory for its job), or when group jobs were in flight at
 * IM_GROUPS_DUE_FLUSH_WAITS calls in a row without any completing (a job that never completes): logged
 * with the chunks left, which wait for the next start. The server calls it every 10 ms, so a persistent
 * refusal ends the wait after about a second, a stuck job after about 10 s (the default
 * shutdown_timeout_ms). */
#define IM_GROUPS_DUE_FLUSH_TRIES 100
#define IM_GROUPS_DUE_FLUSH_WAITS 1000
int im_groups_due_flush(im_groups_t *G);

/* Create the core (startup: before the loop runs, so it can be loaded from
 * the startup connection), then start it with the writer, the readers and
 * the messaging core whose per-user inboxes take the group_apply_result,
 * group_apply and group_dissolved events (c2c.h; its writer must be w, so that events reach sessions in
 * commit order). All pointers must outlive it. IMC_E_NOMEM. */
int im_groups_create(im_presence_t *p, const im_limits_t *lim, const im_group_hooks_t *hooks, im_groups_t **out);
void im_groups_start(im_groups_t *G, store_writer_t *w, store_reader_t *r, im_c2c_t *c2c);
void im_groups_free(im_groups_t *G);
/* Rebuild every group and membership from storage (startup, before the
 * loop runs, on the startup connection; after im_groups_set_plan, whose
 * zone counts today's new groups). 0 or a storage error / IMC_E_NOMEM. */
int im_groups_load(im_groups_t *G, store_t *s, int64_t now_s);
/* The app's facts for limit checks; set before operations (the registry's
 * lookup is passed in so this module does not depend on tenant/), and the
 * zone whose days the daily net new group limit counts (P-53). */
void im_groups_set_plan(im_groups_t *G, const plan_app_t *(*plan_of)(void *ud, uint32_t sdkappid), void *ud,
                        int tz_offset_s);
size_t im_groups_in_flight(const im_groups_t *G);
/* P-17 (group_quota.c, docs/decisions/groups-big.md): the customer of an
 * app (called with im_groups_set_plan's ud), and what an operator added to
 * a customer's quota of 10,000-member groups (extra ≥ 0; 0 removes;
 * IMC_E_INVAL, IMC_E_NOMEM). The count: the customer's groups whose own
 * MaxMemberNum is above their app's plan_big_group_floor. */
void im_groups_set_customers(im_groups_t *G, int64_t (*customer_of)(void *ud, uint32_t sdkappid));
int im_groups_set_big_extra(im_groups_t *G, int64_t customer_id, int64_t extra);
int64_t im_groups_big_extra(const im_groups_t *G, int64_t customer_id);
int64_t im_groups_big_count(const im_groups_t *G, int64_t customer_id);
/* Live-room fan-out settings (default: no coalescing, no dropping). */
void im_groups_set_live(im_groups_t *G, const im_live_cfg_t *cfg);
/* The time the arm hook asked for came: fan out every batch whose window
 * ended (and arm again for the next). */
void im_groups_live_flush(im_groups_t *G);
void im_groups_stats(const im_groups_t *G, im_groups_stats_t *out);

/* Lookups (loop thread; the pointer is valid until the next operation
 * completes). Groups being created or dissolved are not found. */
im_group_t *im_group_find(const im_groups_t *G, uint32_t sdkappid, const char *group_id);
im_group_t *im_group_by_no(const im_groups_t *G, uint32_t sdkappid, uint32_t group_no);
typedef struct im_group_view {
  uint32_t sdkappid, group_no;
  const char *group_id;
  im_gtype_t type;
  uint32_t owner_no;
  const char *owner_id;          /* "" when ownerless */
  int64_t created_s, info_time_s, last_msg_s;
  uint32_t info_seq, last_seq;   /* last_seq: the last stored message (NextMsgSeq - 1) */
  uint32_t member_num;           /* live: sessions online */
  uint32_t last_change;          /* the number of the group's last message change (recall, modify), 0 none:
                                    committed, its pushes made (docs/decisions/groups-messages.md §17) */
  const json_t *info;            /* profile: Name, Introduction, Notification, FaceUrl, ApplyJoinOption,
                                    MuteAllMember, MaxMemberNum, AppDefinedData */
} im_group_view_t;
void im_group_view(const im_group_t *g, im_group_view_t *out);
/* Applications waiting in the group (Public), and whether user_no's is one. */
size_t im_group_applications(const im_group_t *g);
int im_group_applied(const im_group_t *g, uint32_t user_no);
/* Role of a user (IM_GR_NONE if not a member); for live groups: IM_GR_OWNER
 * for the owner, IM_GR_MEMBER while one of the user's sessions is in. */
im_grole_t im_group_role(const im_group_t *g, uint32_t user_no);
/* Mute deadline of a member (0 if not muted or expired at now_s). */
int64_t im_group_muted_until(const im_group_t *g, uint32_t user_no, int64_t now_s);
/* Visit the muted members (until > now_s). */
void im_group_muted_each(const im_group_t *g, int64_t now_s, void (*cb)(void *ud, uint32_t user_no, int64_t until),
                         void *ud);
/* Visit every group of an app (type filter: -1 all), in group number order
 * starting after after_no; stops when cb returns non-zero. */
void im_groups_each(const im_groups_t *G, uint32_t sdkappid, int type, uint32_t after_no,
                    int (*cb)(void *ud, const im_group_t *g), void *ud);
/* Non-live groups of the app, live groups of the app, and the non-live
 * groups a user belongs to (for the limits and TotalCount). */
int64_t im_groups_count(const im_groups_t *G, uint32_t sdkappid, int live);
int64_t im_groups_of_user(const im_groups_t *G, uint32_t sdkappid, uint32_t user_no);

/* A deleted account (after store_grp_user_gone committed): it leaves every
 * group of the app in memory — memberships, mutes, applications — and the
 * groups it owned become ownerless. No notices, no pushes. */
void im_groups_user_gone(im_groups_t *G, uint32_t sdkappid, uint32_t user_no);

/* ---- operations -------------------------------------------------------------------- */
/* Who acts: the App admin (REST, actor_no 0) or a user (actor_no). */
typedef struct im_gres {
  int rc;
  char why[320];               /* a one-line reason when rc != 0 ("" = the code's message) */
  char group_id[64];           /* create / import */
  uint8_t *results;            /* add: per user 0 fail, 1 ok, 2 already member, 3 pending approval */
  int *codes;                  /* recall: per seq 0 or IMC_E_* */
  size_t n;
  uint32_t seq;                /* send */
  int64_t time_s;
  uint8_t dup;                 /* send: a resend inside the dedupe window (the original's seq/time) */
  int64_t count;               /* delete_by_sender: messages deleted */
} im_gres_t;
typedef void (*im_gdone_cb)(void *ud, const im_gres_t *r);

typedef struct im_gmember_in {
  uint32_t user_no;
  im_grole_t role;
  int64_t join_s;              /* import: JoinTime (0 = now) */
  uint32_t unread;             /* import: UnreadMsgNum */
  char *data;                  /* AppMemberDefinedData JSON array text (owned by the request; may be NULL) */
} im_gmember_in_t;

typedef struct im_gcreate {
  uint32_t sdkappid;
  uint32_t actor_no;           /* 0 = App admin */
  im_gtype_t type;
  char group_id[64];           /* "" = assign one */
  uint32_t owner_no;           /* 0 = ownerless */
  char owner_id[33];
  json_t *info;                /* normalised profile (stolen) */
  int64_t max_members;         /* 0 = the edition's cap */
  im_gmember_in_t *members;    /* initial members besides the owner (owned by the caller until cb) */
  size_t n_members;
  int import;                  /* import_group: created_s is the caller's */
  int64_t created_s;
} im_gcreate_t;
void im_group_create(im_groups_t *G, im_gcreate_t *in, int64_t now_s, im_gdone_cb cb, void *ud);

/* Dissolve: history and members are deleted; each member gets a group_dissolved event in its inbox
 * (group_apply.c: durable with the dissolution, pushed to its live sessions, replayed by sync), a live
 * room's sessions IM_GEV_DISSOLVED (live only). */
void im_group_dissolve(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, int64_t now_s,
                       im_gdone_cb cb, void *ud);

typedef enum {
  IM_GADD_ADMIN,               /* add_group_member: the App admin adds (not live groups) */
  IM_GADD_IMPORT,              /* import_group_member: roles, join times, unread counts */
  IM_GADD_INVITE,              /* a member invites (the type's invite rule) */
  IM_GADD_JOIN,                /* actor joins on its own (free join types; Public: applies) */
  IM_GADD_APPROVE,             /* owner/admin approves users' applications */
} im_gadd_mode_t;
/* Add users. Per user result (im_gres_t.results). The whole call fails
 * only for a group-level refusal (gone, permission, limits of the group). */
void im_group_add(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, im_gadd_mode_t mode,
                  im_gmember_in_t *users, size_t n, int silence, int64_t now_s, im_gdone_cb cb, void *ud);
/* Applications to a Public group that needs approval (group_join by a
 * non-member; the owner and admins each get a group_apply event in their
 * inboxes, as below): at most IM_LIMIT_GROUP_APPLICATIONS wait per group (a new one
 * beyond: IMC_E_GROUP_APPLY_FULL); each ends when approved (IM_GADD_APPROVE),
 * refused (im_group_reject), the group dissolved — for these three the
 * applicant gets a group_apply_result event in its inbox (group_apply.c:
 * durable with the change, pushed to its live sessions, replayed by sync) —
 * or when the user becomes a member another way or its account is deleted
 * (no event). */
/* Refuse applications (Public). */
void im_group_reject(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no,
                     const uint32_t *users, size_t n, im_gdone_cb cb, void *ud);

/* Live groups: a session joins / leaves (quit, or its connection closed).
 * *already: the session was in the room (nothing changed). */
int im_group_live_join(im_groups_t *G, uint32_t sdkappid, const char *group_id, im_session_t *s, int *already,
                       char *why, size_t cap);
int im_group_live_quit(im_groups_t *G, uint32_t sdkappid, const char *group_id, im_session_t *s);
void im_group_session_gone(im_groups_t *G, im_session_t *s);

typedef enum { IM_GDEL_KICK, IM_GDEL_QUIT } im_gdel_mode_t;
/* Remove members (kick by owner/admin/App admin, or the actor quits: users = {actor}). Each removed user
 * gets group_kicked (quit: group_quit) in its inbox (group_apply.c), silence or not. */
void im_group_remove(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, im_gdel_mode_t mode,
                     const uint32_t *users, size_t n, int silence, int64_t now_s, im_gdone_cb cb, void *ud);

/* Modify profile fields (changes: a normalised object from im_group_fields
 * with creating = 0, stolen; max_members > 0 to change MaxMemberNum). */
void im_group_modify(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, json_t *changes,
                     int64_t max_members, int64_t now_s, im_gdone_cb cb, void *ud);

typedef struct im_gmember_mod {
  uint32_t user_no;
  int role;                    /* -1 unchanged, else IM_GR_ADMIN / IM_GR_MEMBER */
  int msg_flag;                /* -1 unchanged */
  char *name_card;             /* NULL unchanged */
  char *data;                  /* NULL unchanged: AppMemberDefinedData JSON text */
  int64_t mute_s;              /* -1 unchanged, 0 unmute, else seconds */
} im_gmember_mod_t;
void im_group_member_modify(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no,
                            const im_gmember_mod_t *mod, int64_t now_s, im_gdone_cb cb, void *ud);
/* Mute (seconds > 0; 4294967295 = permanent) or unmute (0) members. */
void im_group_mute(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, const uint32_t *users,
                   size_t n, int64_t seconds, int64_t now_s, im_gdone_cb cb, void *ud);
void im_group_transfer(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, uint32_t new_owner,
                       const char *new_owner_id, int64_t now_s, im_gdone_cb cb, void *ud);

typedef struct im_gsend {
  uint32_t sdkappid;
  char group_id[64];
  uint32_t from_no;            /* 0: the App admin as the system (From_Account absent and no admin account) */
  char from_id[33];            /* the sender's UserID ("" for the system) */
  int admin;                   /* sent through REST by the App admin (bypasses mute and membership) */
  int from_named;              /* admin: From_Account was given, and must be a member (else the App admin
                                * sends, as its imported account if it is one, member or not) */
  uint32_t random;
  int priority;                /* 0 Normal, 1 High, 2 Low, 3 Lowest */
  uint32_t flags;              /* STORE_GMSG_NO_UNREAD | STORE_GMSG_NO_LAST */
  int online_only;             /* OnlineOnlyFlag: pushed to online members, not stored */
  int import;                  /* import_group_msg: time_s is the caller's, no push */
  int64_t time_s;
  uint32_t from_sid;           /* the sending session (0 = REST): it gets the reply, not a push */
  char *body;                  /* packed message (im_msg_pack); taken */
  size_t body_len;
  json_t *body_json;           /* MsgBody array, for the live element filter (borrowed during the call) */
  /* To_Account (docs/decisions/groups-messages.md §12): 1..STORE_GMSG_TARGETS_MAX distinct members, borrowed during
   * the call; the message is TARGETED (and NoUnread, NoLastMsg): stored with the group's next seq, pushed
   * to and read by them and the sender only. to_json: their UserIDs as a JSON array (for the pushes). */
  const uint32_t *to;
  size_t n_to;
  const char *to_json;
} im_gsend_t;
void im_group_send(im_groups_t *G, im_gsend_t *in, int64_t now_s, im_gdone_cb cb, void *ud);
/* Online-only notification to members (to: NULL/0 = all; live groups: all only). 0, IMC_E_GROUP_GONE,
 * IMC_E_GROUP_TYPE_OP (a list for a live group), or a Community group the edition no longer has at now_s
 * (P-57: the code of PLAN_F_COMMUNITY, 11000, as for a send) with why. */
int im_group_notify(im_groups_t *G, uint32_t sdkappid, const char *group_id, const uint32_t *to, size_t n,
                    const char *content, int64_t now_s, char *why, size_t cap);

/* Recall messages (App admin: any; a user: own, or owner/admin any);
 * per-seq codes in r->codes. */
void im_group_recall(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t actor_no, const uint32_t *seqs,
                     size_t n, int64_t now_s, im_gdone_cb cb, void *ud);
void im_group_msg_modify(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t seq, char *body,
                         size_t len, im_gdone_cb cb, void *ud);
/* Delete every message of from_no stored before the call runs (docs/decisions/groups-messages.md §19): in
 * writer jobs of at most IM_GROUP_DEL_BATCH messages each, one after the other, each deletion taking the
 * group's next change number, pushed (group_msgs_deleted) once its job is committed; r->count the messages
 * deleted. An error after some jobs leaves their deletions done (a second call deletes the rest). */
void im_group_delete_by_sender(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t from_no,
                               im_gdone_cb cb, void *ud);
enum { IM_GROUP_DEL_BATCH = 256,   /* messages deleted per writer job */
       IM_GROUP_DEL_SPAN = 8192 }; /* seqs read per writer job (the sender's messages among them) */
/* Set a member's read position so that exactly `unread` messages count as
 * unread — the newest ones that are not the member's own, recalled,
 * NoUnread or system notices (set_unread_msg_num) — or read up to seq
 * (unread < 0). */
void im_group_set_read(im_groups_t *G, uint32_t sdkappid, const char *group_id, uint32_t user_no, int64_t unread,
                       uint32_t seq, im_gdone_cb cb, void *ud);

/* ---- reads (reader pool) -------------------------------------------------------------- */
/* row(ud, …) runs on a reader thread for each row (it may touch only what
 * ud owns); then done(ud, rc) on the loop thread. group_no from the view.
 * A full reader queue: done(ud, IMC_E_OVERLOADED) before the call returns. */
void im_group_members_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                           store_grp_member_cb row, void (*done)(void *ud, int rc), void *ud);
/* The applications waiting in the group, oldest first (store_grp_applications):
 * rows with role 3 and join_s the time the user applied. */
void im_group_applications_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                                store_grp_member_cb row, void (*done)(void *ud, int rc), void *ud);
void im_group_member_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t user_no,
                          store_grp_member_cb row, void (*done)(void *ud, int rc), void *ud);
/* The user's stored member rows: its non-live groups, and a row per live
 * room where it is muted (a mute, not a membership: callers skip live groups). */
void im_group_joined_read(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, store_grp_member_cb row,
                          void (*done)(void *ud, int rc), void *ud);
/* The user's group conversations (the conversation lists, conv_list.c; group_conv.c), loop thread: from
 * its member rows (store_grp_convs, read by a reader job) the non-live groups it is still a member of — a
 * group dissolved, left, or being created or dissolved is left out, so is an application's row — with the
 * group's last message that counts for the lists (STORE_GMSG_COUNTS_RECENT) — last_seq 0 and last_time_s
 * 0 when it has none within retention (an empty conversation) — and the member's pin
 * (im_group_conv_pin); a deleted conversation (im_group_conv_delete) is left out until a message that
 * counts comes after the delete or it is pinned again. out has room for n; returns how many it holds, in
 * the order of rows. The group ids are valid until the loop thread next changes groups. */
typedef struct im_gconv {
  uint32_t group_no;
  const char *group_id;
  uint32_t last_seq;
  int64_t last_time_s;
  int64_t pinned_at_s;         /* 0: not pinned (im_group_conv_pin) */
  int64_t pin_seq;             /* the pin's place in the user's pin order, shared with its C2C pins */
  int counts_unread;           /* the group's type keeps unread counts */
  uint32_t top_seq;            /* the group's last stored message, of any kind (NoLastMsg too): an unread count
                                * made later stops there */
} im_gconv_t;
size_t im_group_conv_rows(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const store_grp_conv_t *rows, size_t n,
                          im_gconv_t *out);
/* user_no deletes its conversation of the group (recentcontact/delete Type 2): im_group_conv_rows leaves
 * it out until a message that counts comes after the group's last message now, or it is pinned again; the
 * delete unpins it, as a C2C delete does, and appends a conv_delete event to the user's inbox
 * ({"type":"conv_delete","group_id":…,"cleared":false,"time":…}), pushed to its devices once durable.
 * Nothing else changes (its history, unread count and pushes stay). IMC_E_CONV_PARAM with why (no such group, a live room,
 * not a member), IMC_E_NOMEM, IMC_E_OVERLOADED, a storage error (IMC_E_NOTFOUND: the membership ended
 * while the job waited). */
void im_group_conv_delete(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const char *group_id, im_gdone_cb cb,
                          void *ud);
/* user_no pins (pin 1) or unpins (0) its conversation of the group (the WebSocket op pin with group_id;
 * groups-conversations.md §13): the member row keeps the pin's time and the next of the user's pin orders, shared with
 * its C2C pins, so both kinds list in one order. Pinning fails with IMC_E_CONV_PINNED (51012) when the user
 * already has max_pinned other pinned conversations of both kinds (im_c2c_pinned_count, counted in the
 * writer job; 0 = no bound). The user's devices get a conv_pin event of its inbox ({"type":"conv_pin",
 * "useq","group_id","pinned"}: replayed by sync, as a C2C pin's); an unpin of a conversation that is not pinned
 * changes nothing and pushes nothing. IMC_E_GROUP_GONE (no such group),
 * IMC_E_GROUP_TYPE_OP with why (a live room), IMC_E_GROUP_NOT_MEMBER (also when the membership ended while
 * the job waited), IMC_E_NOMEM, IMC_E_OVERLOADED, a storage error. */
void im_group_conv_pin(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const char *group_id, int pin,
                       uint32_t max_pinned, im_gdone_cb cb, void *ud);
/* History pages: messages older than im_group_since are left out, and
 * targeted messages viewer may not see (viewer 0: the App admin sees all). */
void im_group_history_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t viewer, uint32_t after_seq,
                           uint32_t upto_seq, int newest_first, int limit, store_grp_msg_cb row,
                           void (*done)(void *ud, int rc), void *ud);
/* A group_sync page, in one read transaction: the messages after after_seq, oldest first, at most limit, to
 * row (as im_group_history_read), then, when change_row is not NULL, the changes the reader missed
 * (docs/decisions/groups-messages.md §17): the messages of seq at most after_seq (those it holds) whose last
 * change is after after_change, within retention, as viewer sees the group, in change order, at most limit
 * (store_grp_msg_changes; each row's change set), to change_row. Rows come on the reader's thread. */
void im_group_sync_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t viewer, uint32_t after_seq,
                        int limit, store_grp_msg_cb row, uint32_t after_change, store_grp_msg_cb change_row,
                        void (*done)(void *ud, int rc), void *ud);
/* The app's group retention horizon now: messages with time_s below it are
 * expired (IM_LIMIT_GROUP_RETENTION_S: the edition's PLAN_L_HISTORY_DAYS
 * through the limit path C2C retention uses). */
int64_t im_group_since(const im_groups_t *G, uint32_t sdkappid);
void im_group_unread_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, uint32_t after_seq,
                          void (*done)(void *ud, int rc, int64_t n), void *ud);
/* Whether message seq of the group is left out because of retention (n = 1:
 * at or below the retention purge's mark, or older than im_group_since) or
 * not (n = 0: within retention, or deleted by delete_group_msg_by_sender). */
void im_group_expired_read(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, uint32_t seq,
                           void (*done)(void *ud, int rc, int64_t n), void *ud);

#endif
