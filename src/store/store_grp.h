/* store_grp.h — durable groups: the group rows (profile), their members, and
 * each group's message log (per-group seq 1, 2, 3 … gap-free, system notices
 * included).
 *
 * Layout (docs/decisions/groups.md): a group is named inside its app by a
 * dense number group_no (assigned by the loop thread, never reused while the
 * process runs) and by its GroupId text; members and messages are keyed by
 * (app, group_no). The next seq of a group is max(seq)+1 read through the
 * unique index inside the appending transaction (only the writer appends),
 * so sequences stay gap-free across rollbacks and restarts.
 *
 * All functions run on the connection's thread (the writer for changes, a
 * reader for pages). Strings handed to callbacks are valid only during the
 * callback. Every function returns 0 or IMC_E_*. A backend exposes these
 * through store_vtab_t.grp (store_grp_vtab_t).
 */
#ifndef IMC_STORE_GRP_H
#define IMC_STORE_GRP_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Group message flags (bits of store_grp_msg_t.flags). */
enum {
  STORE_GMSG_RECALLED  = 1u << 0,
  STORE_GMSG_NO_UNREAD = 1u << 1,  /* SendMsgControl NoUnread (and targeted messages) */
  STORE_GMSG_NO_LAST   = 1u << 2,  /* SendMsgControl NoLastMsg */
  STORE_GMSG_MODIFIED  = 1u << 3,  /* openim/modify_group_msg */
  STORE_GMSG_IMPORTED  = 1u << 4,  /* import_group_msg */
  STORE_GMSG_SYSTEM    = 1u << 5,  /* a system notice (member joined/left/kicked, profile, owner, …) */
  STORE_GMSG_TARGETED  = 1u << 6,  /* To_Account: seen only by its recipients and its sender */
  STORE_GMSG_LISTED    = 1u << 7,  /* import_group_msg RecentContactFlag 1: an imported message that counts for
                                      the conversation lists (recentcontact) as a sent one does */
  STORE_GMSG_DELETED   = 1u << 8,  /* delete_group_msg_by_sender's placeholder of a deleted message (kept, empty, also
                                      RECALLED, with its change number: §19): no read of messages returns it, only
                                      the changes */
};
/* A message that makes a group's conversation (recentcontact/get_list) show and gives its MsgTime: not a
 * system notice, not NoLastMsg (targeted messages are NoLastMsg), not a deleted one's placeholder, not
 * imported unless LISTED. */
#define STORE_GMSG_COUNTS_RECENT(f) \
  (((f) & (STORE_GMSG_SYSTEM | STORE_GMSG_NO_LAST | STORE_GMSG_DELETED)) == 0 && \
   ((f) & (STORE_GMSG_IMPORTED | STORE_GMSG_LISTED)) != STORE_GMSG_IMPORTED)
/* A stored message that raises the group's LastMsgTime (the row's last_msg in its appending transaction,
 * g->last_msg_s once committed: one rule for both): not a system notice (the reference's LastMsgTime is the
 * last message sent; notices are not sent), not NoLastMsg. The group's first message sets it whatever it is
 * (a Work group's activation, groups.md §1). */
#define STORE_GMSG_MOVES_LAST_MSG(f) (((f) & (STORE_GMSG_SYSTEM | STORE_GMSG_NO_LAST)) == 0)
#define STORE_GMSG_TARGETS_MAX 50  /* recipients of a targeted message */

typedef struct store_grp {
  uint32_t sdkappid, group_no;
  const char *group_id;
  int type;                  /* im_gtype_t */
  uint32_t owner_no;         /* 0 = ownerless */
  int64_t created_s;
  const char *info;          /* profile JSON object text (Name, Introduction, …) */
  uint32_t info_seq;
  int64_t info_time_s;
  int64_t last_msg_s;
  const char *owner_id;      /* output only: the owner's UserID ("" if none) */
  int64_t counted_s;         /* output only (store_grp_each): when the group's metered life began, its open
                                usage_group row (store_usage_group): the creation, or for an imported group
                                the import, not its CreateTime; 0 if it has none */
} store_grp_t;

typedef struct store_grp_member {
  uint32_t user_no;
  int role;                  /* im_grole_t; 3 = an application waiting for approval (not a member) */
  int msg_flag;              /* 0 AcceptAndNotify, 1 AcceptNotNotify, 2 Discard */
  int64_t join_s;
  int64_t mute_until_s;      /* 0 = not muted */
  uint32_t read_seq;         /* unread = messages after this one */
  int64_t last_send_s;
  const char *name_card;     /* "" if none */
  const char *data;          /* AppMemberDefinedData JSON array text, "" if none */
  const char *user_id;       /* output only ("" if the account is gone) */
  uint32_t conv_hidden_seq;  /* output only: the group's last seq when the member deleted its conversation
                                (recentcontact/delete Type 2), 0 never; set with store_grp_member_set "conv_hidden" */
  int64_t pinned_at_s;       /* output only: when the member pinned its conversation of the group, 0 not pinned */
  int64_t pin_seq;           /* output only: the pin's place in the user's pin order (store_grp_member_pin) */
  uint32_t apply_seq;        /* an application (role 3): the group's last seq when it was written (its place
                                among the group's notices); a member: the seq of the notice that last made it
                                an ordinary member from admin or owner, 0 never (migration 50; the replay of
                                waiting applications to a member made admin again skips those below it) */
} store_grp_member_t;

typedef struct store_grp_msg {
  uint32_t sdkappid, group_no;
  uint32_t seq;              /* assigned by append */
  uint32_t from_no;          /* 0 = the system (notices) */
  int64_t time_s;
  uint32_t random;
  uint32_t flags;            /* STORE_GMSG_* */
  int priority;              /* 0 Normal, 1 High, 2 Low, 3 Lowest */
  const char *body;          /* JSON object text; not NUL-terminated on output */
  size_t body_len;
  const char *from_id;       /* output: the sender's UserID ("" for notices); append: kept only when from_no
                                is 0 (a sender that is no account: the App admin's identifier) */
  const uint32_t *to;        /* append, TARGETED: the recipients' user numbers (n_to ≤ STORE_GMSG_TARGETS_MAX) */
  size_t n_to;
  const char *to_json;       /* output: a TARGETED message's recipients as a JSON array of UserIDs, else NULL */
  uint32_t change;           /* output: the number of the message's last change (recall, modify) in its group
                                (store_grp_msg_change), 0 never changed */
} store_grp_msg_t;

/* A member row as the conversation lists see it (store_grp_convs). */
typedef struct store_grp_conv {
  uint32_t group_no;
  uint32_t hidden_seq;       /* conv_hidden (store_grp_member_t.conv_hidden_seq) */
  int64_t pinned_at_s, pin_seq;
} store_grp_conv_t;

/* Inbox events of a group change still to append (store_grp_due_*): one payload for users[0..n). */
typedef struct store_grp_due {
  int64_t id;
  uint32_t sdkappid;
  int64_t at_s;
  char *payload;             /* owned by the row (malloc'd; store_grp_due_free) */
  uint32_t *users;           /* likewise */
  size_t n;
} store_grp_due_t;

typedef void (*store_grp_cb)(void *ud, const store_grp_t *g);
typedef void (*store_grp_member_cb)(void *ud, uint32_t sdkappid, uint32_t group_no, const store_grp_member_t *m);
typedef void (*store_grp_msg_cb)(void *ud, const store_grp_msg_t *m);

typedef struct store_grp_vtab {
  int version; /* 1 */
  int (*put)(store_t *, const store_grp_t *g);
  int (*del)(store_t *, uint32_t sdkappid, uint32_t group_no);
  int (*each)(store_t *, store_grp_cb cb, void *ud);
  int (*member_put)(store_t *, uint32_t sdkappid, uint32_t group_no, const store_grp_member_t *m);
  int (*member_del)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t user_no);
  int (*member_set)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, const char *field,
                    int64_t value, const char *text);
  int (*member_each)(store_t *, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                     store_grp_member_cb cb, void *ud);
  int (*member_get)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, store_grp_member_cb cb,
                    void *ud);
  int (*joined)(store_t *, uint32_t sdkappid, uint32_t user_no, store_grp_member_cb cb, void *ud);
  int (*msg_append)(store_t *, store_grp_msg_t *m, int64_t dedupe_since_s, int *dup);
  int (*msg_history)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t after_seq, uint32_t upto_seq,
                     int64_t since_s, int newest_first, int limit, store_grp_msg_cb cb, void *ud);
  int (*msg_set_flags)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t seq, uint32_t bits);
  int (*msg_set_body)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t seq, const char *body, size_t len);
  int (*msg_del_sender)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t from_no, uint32_t after_seq,
                        uint32_t upto_seq, int limit, store_grp_msg_cb cb, void *ud);
  int (*msg_unread)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, uint32_t after_seq,
                    uint32_t upto_seq, int64_t since_s, int64_t *n);
  int (*msg_last_seq)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t *seq);
  int (*msg_purge)(store_t *, uint32_t sdkappid, int64_t before_s, int limit, int64_t *deleted);
  int (*msg_expired)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t seq, int64_t since_s, int *expired);
  int (*msg_history_as)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t after_seq, uint32_t upto_seq,
                        int64_t since_s, int newest_first, int limit, uint32_t viewer, store_grp_msg_cb cb, void *ud);
  int (*msg_targets)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t seq, uint32_t *to, size_t *n);
  int (*user_gone)(store_t *, uint32_t sdkappid, uint32_t user_no);
  int (*applications)(store_t *, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                      store_grp_member_cb cb, void *ud);
  int (*msg_last_listed)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t *seq, int64_t *time_s);
  int (*member_pin)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, int64_t pinned_at_s);
  int (*pinned_count)(store_t *, uint32_t sdkappid, uint32_t user_no, uint32_t except_group_no, int64_t *n);
  int (*convs)(store_t *, uint32_t sdkappid, uint32_t user_no, store_grp_conv_t **out, size_t *n);
  int (*due_put)(store_t *, uint32_t sdkappid, int64_t at_s, const char *payload, const uint32_t *users, size_t n);
  int (*due_first)(store_t *, store_grp_due_t *out);
  int (*due_del)(store_t *, int64_t id);
  int (*due_count)(store_t *, int64_t *n);
  int (*mark_get)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, uint32_t *mark);
  int (*mark_put)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, uint32_t mark, int64_t kept);
  int (*msg_change)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t seq, uint32_t *change);
  int (*msg_changes)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t after_change, uint32_t upto_seq,
                     int64_t since_s, int limit, uint32_t viewer, store_grp_msg_cb cb, void *ud);
  int (*msg_last_change)(store_t *, uint32_t sdkappid, uint32_t group_no, uint32_t *change);
} store_grp_vtab_t;

/* Insert or replace a group row (members and messages untouched). */
int store_grp_put(store_t *s, const store_grp_t *g);
/* Delete a group with its members, messages, change counter and application marks (dissolve). */
int store_grp_del(store_t *s, uint32_t sdkappid, uint32_t group_no);
/* Every group of every app (startup rebuild), with its owner's UserID and
 * its metered life's start (counted_s). */
int store_grp_each(store_t *s, store_grp_cb cb, void *ud);
/* Insert or replace one member row. */
int store_grp_member_put(store_t *s, uint32_t sdkappid, uint32_t group_no, const store_grp_member_t *m);
/* Remove one member; IMC_E_NOTFOUND if not a member. */
int store_grp_member_del(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no);
/* Set one member column: "role", "msg_flag", "mute_until", "read_seq",
 * "last_send", "conv_hidden", "apply_seq" (value) or "name_card", "data" (text). IMC_E_INVAL (field),
 * IMC_E_NOTFOUND (not a member). */
int store_grp_member_set(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, const char *field,
                         int64_t value, const char *text);
/* Pin (pinned_at_s > 0: its time) or unpin (0) user_no's conversation of the group: a pin takes the
 * next of the user's pin orders, shared with its C2C pins (never given twice: migration 42), an unpin
 * clears it. IMC_E_NOTFOUND (not a member: no row, or an application). */
int store_grp_member_pin(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, int64_t pinned_at_s);
/* *n = how many group conversations user_no has pinned (member rows, applications excluded), group
 * except_group_no left out (0: none). Reads the pinned rows only. */
int store_grp_pinned_count(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t except_group_no, int64_t *n);
/* Members of a group (applications excluded) ordered by join time then user number, skipping
 * offset, at most limit (limit < 0: all); sdkappid 0: every member of every
 * group of every app (startup rebuild; offset/limit ignored). */
int store_grp_member_each(store_t *s, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                          store_grp_member_cb cb, void *ud);
/* The applications waiting in a group (member rows with role 3; join_s: when
 * the user applied), oldest first then by user number, skipping offset, at
 * most limit. */
int store_grp_applications(store_t *s, uint32_t sdkappid, uint32_t group_no, int64_t offset, int limit,
                           store_grp_member_cb cb, void *ud);
/* One member (not an application); IMC_E_NOTFOUND. */
int store_grp_member_get(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, store_grp_member_cb cb,
                         void *ud);
/* A deleted account leaves every group of the app: its member rows (mutes
 * in live rooms and applications included) are deleted and the groups it
 * owned become ownerless (owner_no 0). Messages it sent stay. */
int store_grp_user_gone(store_t *s, uint32_t sdkappid, uint32_t user_no);
/* The user's member rows for the conversation lists, by group number: *out (malloc'd, the caller frees it;
 * NULL when *n is 0) holds one entry per group number of the user's rows — applications and live-room
 * mutes too: the caller checks the membership — with the conversation's state (hidden_seq, pinned_at_s,
 * pin_seq; 0 for an application) read from the rows that have one. Reads the group numbers from the
 * (sdkappid, user_no) index alone (no row) and the state from the partial index grp_member_conv (pinned or
 * deleted conversations only, migration 42), so no member row's name card or custom data is read.
 * IMC_E_NOMEM, a storage error. */
int store_grp_convs(store_t *s, uint32_t sdkappid, uint32_t user_no, store_grp_conv_t **out, size_t *n);
/* The member rows (not applications) of one user in every group of the app. */
int store_grp_joined(store_t *s, uint32_t sdkappid, uint32_t user_no, store_grp_member_cb cb, void *ud);
/* Append a message (a TARGETED one with its recipients m->to): seq = the group's last (store_grp_msg_last_seq) + 1 unless a duplicate exists
 * (same sender and random with time_s >= dedupe_since_s and the same
 * content, MsgBody and CloudCustomData, as the original was sent: its
 * store_content_hash, kept by a modification, messaging-c2c-checks2.md §69,
 * groups-messages.md §18; a deleted message's placeholder is none; 0 = no check; a
 * sender that is no account, from_no 0, is told by its from_id, and one
 * without a from_id — a system notice — is never a duplicate): then
 * *dup = 1, nothing is written and m gets the original's (lowest) seq and time.
 * A message of a member (from_no, not SYSTEM) raises its member row's
 * last_send (LastSendMsgTime) to time_s; the row is written only when
 * time_s is the later second. IMC_E_RANGE past 2^32-1. */
int store_grp_msg_append(store_t *s, store_grp_msg_t *m, int64_t dedupe_since_s, int *dup);
/* Messages with after_seq < seq <= upto_seq (upto 0 = no bound) and
 * time_s >= since_s (0 = any time: the retention horizon of the reads),
 * oldest or newest first, at most limit. */
int store_grp_msg_history(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t after_seq, uint32_t upto_seq,
                          int64_t since_s, int newest_first, int limit, store_grp_msg_cb cb, void *ud);
/* The same, as member viewer sees the group: TARGETED messages of which
 * viewer is neither a recipient nor the sender are left out (they do not
 * count against limit). viewer 0: every message. */
int store_grp_msg_history_as(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t after_seq, uint32_t upto_seq,
                             int64_t since_s, int newest_first, int limit, uint32_t viewer, store_grp_msg_cb cb,
                             void *ud);
/* The recipients of a TARGETED message into to (cap STORE_GMSG_TARGETS_MAX),
 * *n how many (0: not targeted, or no such message). */
int store_grp_msg_targets(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t seq, uint32_t *to, size_t *n);
/* OR bits into a message's flags; IMC_E_NOTFOUND. */
int store_grp_msg_set_flags(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t seq, uint32_t bits);
/* Replace a message's body (sets STORE_GMSG_MODIFIED); IMC_E_NOTFOUND. */
int store_grp_msg_set_body(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t seq, const char *body,
                           size_t len);
/* Changes of stored messages (docs/decisions/groups-messages.md §17). A group counts the changes of its
 * messages (a recall, a modify) 1, 2, 3 … from its creation; the counter is deleted with the group (a new
 * group of the id starts over), never by the retention purge, and a message row keeps the number of its
 * last change (a message changed again takes the new number; the purge deletes it with the row). A send
 * writes nothing of it.
 * store_grp_msg_change (writer, in the change's transaction, after it): *change = the group's next number,
 * stamped on message seq; IMC_E_NOTFOUND (no such message: nothing counted once the transaction rolls
 * back), IMC_E_RANGE past 2^32-1.
 * store_grp_msg_changes: the messages (and placeholders of deleted ones, store_grp_msg_del_sender) with
 * change > after_change and seq <= upto_seq and time_s >= since_s
 * (the retention horizon, 0 any), as member viewer sees the group (store_grp_msg_history_as: viewer 0
 * every message), in change order (so each changed message once, at its last change), at most limit;
 * each row's change is set.
 * store_grp_msg_last_change: the group's last change number (0 none). */
int store_grp_msg_change(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t seq, uint32_t *change);
int store_grp_msg_changes(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t after_change, uint32_t upto_seq,
                          int64_t since_s, int limit, uint32_t viewer, store_grp_msg_cb cb, void *ud);
int store_grp_msg_last_change(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t *change);
/* delete_group_msg_by_sender, one bounded step (writer; docs/decisions/groups-messages.md §19): at most limit
 * messages of from_no with seq in (after_seq, upto_seq], oldest first, not deleted already, are deleted: each
 * stays as a placeholder (STORE_GMSG_DELETED and RECALLED, its body emptied, its recipients kept; no read of
 * messages returns it, nor recall or modify; the retention purge deletes it as any row) and takes the group's
 * next change number, in seq order, so store_grp_msg_changes hands the deletion to a device that holds the
 * message (as viewer sees it). cb gets each message deleted, in change order, as the changes read gives it
 * (flags with DELETED, change its number); none: nothing written. IMC_E_RANGE past 2^32-1 changes. */
int store_grp_msg_del_sender(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t from_no, uint32_t after_seq,
                             uint32_t upto_seq, int limit, store_grp_msg_cb cb, void *ud);
/* Messages in (after_seq, upto_seq] (UINT32_MAX: no bound) that count as unread for user_no (not its own,
 * not recalled, not NoUnread, not system notices), with time_s >= since_s (the retention horizon of the
 * reads; 0 = any time). */
int store_grp_msg_unread(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, uint32_t after_seq,
                         uint32_t upto_seq, int64_t since_s, int64_t *n);
/* The group's newest stored message that counts for the conversation lists (STORE_GMSG_COUNTS_RECENT):
 * its seq and time (0 and 0 if none). */
int store_grp_msg_last_listed(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t *seq, int64_t *time_s);
/* The group's last seq (0 if none): the highest stored, or the purge mark. */
int store_grp_msg_last_seq(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t *seq);
/* Retention: delete at most limit messages of the app (every group) with
 * time_s < before_s, in one statement; *deleted = how many. Each group's
 * purge mark is raised to the highest seq deleted (same transaction): the
 * group's last seq never falls below it (append, last_seq). A caller
 * repeats until *deleted < limit, one short transaction per call. */
int store_grp_msg_purge(store_t *s, uint32_t sdkappid, int64_t before_s, int limit, int64_t *deleted);
/* *expired = 1 if message seq of the group is gone or going by retention:
 * at or below the group's purge mark, or stored with time_s < since_s;
 * 0 otherwise (within retention, never stored, or deleted otherwise, e.g.
 * delete_group_msg_by_sender above the mark). */
int store_grp_msg_expired(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t seq, int64_t since_s,
                          int *expired);

/* Inbox events due (writer thread): store_grp_due_put records that each of users[0..n) (n >= 1) is to get
 * an inbox event with payload, as one row after every row recorded before; store_grp_due_first reads the
 * oldest row into *out (free it with store_grp_due_free), IMC_E_NOTFOUND when none is left, IMC_E_NOMEM;
 * store_grp_due_del deletes row id (none: 0); store_grp_due_count: how many rows are left into *n (any
 * thread with its own connection: the startup's). Each 0 or a storage error. */
int store_grp_due_put(store_t *s, uint32_t sdkappid, int64_t at_s, const char *payload, const uint32_t *users,
                      size_t n);
int store_grp_due_first(store_t *s, store_grp_due_t *out);
int store_grp_due_del(store_t *s, int64_t id);
int store_grp_due_count(store_t *s, int64_t *n);
void store_grp_due_free(store_grp_due_t *d);

/* Application marks kept outside the member rows (migration 52; docs/decisions/groups-events.md, "A member
 * that leaves keeps its mark"), deleted with the group (store_grp_del). user_no > 0: the apply_seq of a user
 * that left the group (the applications with a place below it were told to it), taken back by its next join;
 * user_no 0: the group's floor, the least place of an application written from now on (a removal without a
 * notice took a mark above every place so far). store_grp_mark_get: *mark (0 when no row). store_grp_mark_put:
 * sets the row (mark 0: deletes it); with user_no > 0 the group keeps at most kept (>= 1) user rows: the lowest
 * marks beyond are deleted. Each 0 or a storage error. */
int store_grp_mark_get(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, uint32_t *mark);
int store_grp_mark_put(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, uint32_t mark,
                       int64_t kept);

#endif
