/* group_int.h — what the files of the group core share (group.c: registry,
 * membership sets, delivery; group_ops.c: changes; group_msg.c: messages;
 * group_rules.c: the type table and field rules;
 * group_quota.c: P-17 big groups; group_apply.c: the group events of the
 * users' inboxes; group_due.c: those appended after a large dissolution).
 * Loop thread unless noted. */
#ifndef IMC_IM_GROUP_INT_H
#define IMC_IM_GROUP_INT_H

#include "im/c2c.h"
#include "im/group.h"
#include "util/u64map.h"

/* An open-addressing set of 8-byte slots: key (user number, or session id
 * for live groups) in the high 32 bits, a payload in the low 32 (0 = empty
 * slot: keys are never 0). Capacity grows by 1.5x past a load of 3/4 and
 * shrinks below 1/4, so a set holds 8 / load ≤ 16 bytes per entry once it
 * has grown past its first 8 slots (both tables while a resize lasts: it is
 * spread over later puts and removals, group_set.c). Walk it with gset_next. */
typedef struct gset {
  uint64_t *tab; uint32_t cap, len; /* private but len (read-only): the table keys go to */
  struct gset_move *mv;             /* private: the resize under way, or NULL */
} gset_t;

/* Member payload bits (non-live). */
#define GM_ROLE(p) ((im_grole_t)((p) & 3u))
#define GM_MUTED 4u   /* a mute deadline is in the side map */
#define GM_PRESENT 8u /* always set, so a payload is never 0 */
#define GM_DISCARD 16u /* MsgFlag Discard: no message pushes (notices still go) */

struct im_group {
  uint32_t sdkappid, group_no;
  char *group_id;
  struct im_group *id_next;    /* next group with the same id hash */
  im_gtype_t type;
  uint32_t owner_no;
  char owner_id[33];           /* "" when ownerless */
  int64_t created_s, info_time_s, last_msg_s;
  int64_t counted_s;           /* when it began here (creation, or import: not the imported CreateTime): P-53, metering */
  uint32_t info_seq, last_seq;
  uint32_t last_chg;           /* the number of the last message change (recall, modify) committed, 0 none (§17) */
  uint32_t conv_seq;           /* the newest message that counts for the conversation lists (STORE_GMSG_COUNTS_RECENT), 0 none */
  int64_t conv_s;              /* its time */
  json_t *info;
  gset_t members;              /* non-live: user_no → role/muted */
  u64map_t muted;              /* user_no → mute deadline (uintptr) */
  u64map_t pending;            /* user_no → 1: applications waiting (Public) */
  gset_t live;                 /* live: sid → user_no */
  gset_t live_users;           /* live: user_no → how many of its sessions are in the room (never 0) */
  struct glive *lv;            /* live: the coalescing batch (group_live.c), NULL until a busy room needs one */
  int creating;                /* the create job is in flight: invisible to everything else */
  int dissolving;              /* the dissolve job is in flight: refuses everything */
};

typedef struct gapp {
  uint32_t *nos;               /* group numbers in creation order */
  size_t n, cap;
  int64_t nonlive, live;       /* counts for the limits */
  int64_t day, day_net;        /* P-53: today's net new groups (day index in the zone) */
} gapp_t;

struct im_groups {
  store_writer_t *w;
  store_reader_t *r;
  im_c2c_t *c2c;               /* the users' inboxes: the group events of group_apply.c */
  im_presence_t *p;
  const im_limits_t *lim;
  im_group_hooks_t h;
  const plan_app_t *(*plan_of)(void *ud, uint32_t sdkappid);
  void *plan_ud;
  int tz_offset_s;
  u64map_t by_no;              /* sdkappid << 32 | group_no → im_group_t */
  u64map_t by_id;              /* hash(sdkappid, group_id) → chain of im_group_t */
  u64map_t apps;               /* sdkappid → gapp_t */
  u64map_t user_groups;        /* sdkappid << 32 | user_no → non-live groups joined (uintptr) */
  u64map_t sess;               /* sid → gsess_t (live groups a session is in) */
  uint32_t next_no;
  uint64_t rng;
  size_t in_flight;
  im_groups_stats_t st;
  im_live_cfg_t live;          /* live-room fan-out settings */
  uint64_t *lv_rooms;          /* sdkappid << 32 | group_no of rooms holding a batch */
  size_t lv_n, lv_cap;
  int64_t (*customer_of)(void *ud, uint32_t sdkappid); /* P-17 (group_quota.c); plan_ud */
  u64map_t big_extra;          /* customer id → big groups an operator added (uintptr) */
  int due_running;             /* a job of the chain appending due group events is in flight (group_due.c) */
  int due_found;               /* group events may be due (found by im_groups_load, recorded, or a job stopped) */
  int due_flushing;            /* the server is stopping: im_groups_due_flush drives the chain to the end */
  int due_err;                 /* while flushing, a job of the chain failed: the rest waits for the next start */
  int due_tries;               /* while flushing: starts of the chain since the last chunk appended (group_due.c) */
  int due_last_rc;             /* while flushing: why the chain's last job failed or was refused, 0 none */
  int64_t due_chunks;          /* chunks due: found at start, recorded by dissolutions, less those appended */
  uint64_t jobs_done;          /* group jobs completed (job_done), for the stop's wait on the jobs in flight */
  uint64_t due_done_seen;      /* while flushing: jobs_done at the last completion seen (group_due.c) */
  int due_waits;               /* while flushing: calls that found jobs in flight since a job last completed */
};

/* A session in live rooms: the rooms, and while it loses live-room
 * messages, how many and since when (loop ms, low 32 bits | 1; 0 = not). */
typedef struct gsess { uint32_t sdkappid, n, cap, dropped; uint32_t *group_nos; uint32_t lag_ms; } gsess_t;

/* ---- sets (group_set.c) ---- */
int gset_put(gset_t *s, uint32_t key, uint32_t payload);   /* insert or replace; 0 or IMC_E_NOMEM (unchanged) */
uint32_t gset_get(const gset_t *s, uint32_t key);          /* payload, 0 if absent */
int gset_del(gset_t *s, uint32_t key);                     /* 1 removed, 0 absent */
void gset_free(gset_t *s);
size_t gset_bytes(const gset_t *s);                        /* both tables while a resize lasts */
uint32_t gset_moves_left(const gset_t *s);                 /* old slots of a resize still to move (tests) */
/* Next entry of a walk (key << 32 | payload in *v): 1, or 0 at the end.
 * Start with *pos = 0; visits every entry once, in both tables while a
 * resize lasts; the set must not change during the walk. */
int gset_next(const gset_t *s, uint64_t *pos, uint64_t *v);

/* ---- registry (group.c) ---- */
im_group_t *grp__by_no(const im_groups_t *G, uint32_t sdkappid, uint32_t group_no);
/* A new group in memory (info stolen). NULL on OOM. */
im_group_t *grp__add(im_groups_t *G, uint32_t sdkappid, uint32_t group_no, const char *group_id, im_gtype_t type,
                     json_t *info);
void grp__remove(im_groups_t *G, im_group_t *g);
int grp__member_put(im_groups_t *G, im_group_t *g, uint32_t user_no, im_grole_t role);
void grp__member_del(im_groups_t *G, im_group_t *g, uint32_t user_no);
void grp__set_muted(im_group_t *g, uint32_t user_no, int64_t until);
void grp__set_discard(im_group_t *g, uint32_t user_no, int on); /* MsgFlag Discard in the member's slot */
const plan_app_t *grp__plan(const im_groups_t *G, uint32_t sdkappid);
/* A Community group of an app whose edition lost communities (P-57: intl Pro -> Standard): joining,
 * adding and sending are refused with the feature's code (11000) and why; 0 otherwise. */
int grp__community_gate(const plan_app_t *plan, const im_group_t *g, int64_t now_s, char *why, size_t cap);
gapp_t *grp__app(im_groups_t *G, uint32_t sdkappid);
/* P-53: today's net new groups of the app at now_s; delta ±1 records a
 * creation / a dissolution, counted when the group's counted_s (its creation
 * or import) is today. */
int64_t grp__day_net(im_groups_t *G, uint32_t sdkappid, int64_t now_s, int delta, int64_t counted_s);
/* A group operations may touch: found, not being created or dissolved. */
im_group_t *grp__find(const im_groups_t *G, uint32_t sdkappid, const char *group_id); /* any state */
im_group_t *grp__usable(const im_groups_t *G, uint32_t sdkappid, const char *group_id);
uint32_t grp__member_count(const im_group_t *g);
/* The profile as stored (JSON text, malloc'd) and the store row of g. */
char *grp__info_text(const im_group_t *g);
void grp__row(const im_group_t *g, const char *info_text, store_grp_t *out);
/* Push ev to the group's online members (to: NULL = all; except_sid skipped). */
void grp__deliver(im_groups_t *G, im_group_t *g, const im_gevent_t *ev, const uint32_t *to, size_t n_to,
                  uint32_t except_sid);
/* group_live.c: push ev to a live room's sessions (except_sid skipped),
 * now or with the room's next batch; free the room's batch. */
void grp__live_deliver(im_groups_t *G, im_group_t *g, const im_gevent_t *ev, uint32_t except_sid);
void grp__live_free(im_groups_t *G, im_group_t *g);
/* Session sid is about to join live room g: messages waiting in the room's
 * batch are not for it (it gets the ones that arrive after). */
void grp__live_joining(im_groups_t *G, im_group_t *g, uint32_t sid);
/* Push ev to one user's sessions. */
void grp__deliver_user(im_groups_t *G, uint32_t sdkappid, uint32_t user_no, const im_gevent_t *ev);
/* G's encode and send hooks, failing as out of memory where a test asks (util/faultsim.h: group_push_* for a stored
 * group, live_push_* for a live room): the frame of ev (NULL on OOM), and 0 or the send hook's error. */
void *grp__encode(im_groups_t *G, const im_gevent_t *ev);
int grp__send(im_groups_t *G, im_session_t *s, void *frame, int live);

/* ---- P-17 big groups (group_quota.c) ---- */
int64_t grp__own_max(const im_group_t *g);                       /* the group's own MaxMemberNum, 0 if none */
int grp__is_big(const im_groups_t *G, const im_group_t *g);      /* own MaxMemberNum above its app's floor */
/* May a group of the app get its own max_members (0: none) with members
 * members? 0, or IMC_E_PLAN_MEMBERS_CAP with why: above the floor without
 * its own MaxMemberNum, or a new big group past the customer's quota. */
int grp__big_check(const im_groups_t *G, uint32_t sdkappid, int64_t max_members, int64_t members, int64_t now_s,
                   char *why, size_t cap);

/* ---- jobs (group_ops.c) ---- */
typedef struct gjob gjob_t;
typedef struct gapply gapply_t;
struct gjob {
  store_job_t job;
  im_groups_t *G;
  int (*run)(store_t *s, gjob_t *j);       /* store thread */
  void (*done)(gjob_t *j, int rc);         /* loop thread */
  im_gdone_cb cb;
  void *ud;
  uint32_t sdkappid, group_no, actor_no;
  im_gres_t res;
  /* the group's row to write (put_row), its info text */
  int put_row;
  store_grp_t row;
  char *info_text;
  char group_id[64];
  char prev_owner_id[33];      /* undo of an owner change */
  char from_id[33];            /* send: the sender's UserID */
  char *name_card, *data;      /* member_modify: owned copies of the new texts */
  /* members written / removed */
  store_grp_member_t *mem;
  size_t n_mem;
  uint32_t *users;
  size_t n_users;
  int mode;
  int64_t value, now_s;
  int64_t since_s;             /* recall, modify: messages before it are past retention, as if gone */
  int keep_created;            /* create: import_group's CreateTime, kept as given (else the life's start) */
  json_t *changes;
  /* an optional system notice appended in the same transaction */
  int notice;
  store_grp_msg_t nmsg;
  char *nbody;
  /* a message */
  store_grp_msg_t msg;
  char *body;
  int64_t dedupe_since_s;
  int dup;
  uint32_t from_sid;
  int online_only;
  int32_t day;                 /* send: the billing day of the message (metering) */
  /* a targeted message (send) or the changed ones (recall, modify): who gets the pushes */
  uint32_t *to;                /* send/modify: recipients then the sender; recall: STORE_GMSG_TARGETS_MAX + 1 per seq */
  size_t *n_to;                /* per pushed message: how many of to (0 = every member) */
  uint32_t *chg;               /* recall: per seq, modify: [0]: the change's number (store_grp_msg_change);
                                  delete_by_sender: per message deleted (users: their seqs) */
  char *to_json;
  /* writer: gone[i] = 1 when mem[i]'s account was deleted before the job ran (grp__mem_gone); an undo
   * gives such an account nothing back (NULL: none found, or not checked) */
  uint8_t *gone;
  /* the inbox events of the job (group_apply.c): applications ended (approve, reject, dissolve) or made
   * (apply), the group dissolved, members kicked or quitting */
  gapply_t *apply;
  uint32_t useq;               /* conv_pin: the member's inbox event (group_conv.c) */
  int due;                     /* writer: how many chunks of due inbox events the job recorded (grp__apply_run) */
  int64_t marks_kept;          /* remove: the application marks a group keeps (grp__left_prepare) */
  uint32_t del_after, del_upto; /* delete_by_sender: the seqs done, the last seq to delete (0: not read yet) */
};
gjob_t *grp__job(im_groups_t *G, uint32_t sdkappid, im_gdone_cb cb, void *ud);
/* Submit j (writer, or reader when readonly). A full queue: j->done(j,
 * IMC_E_OVERLOADED) before this returns. */
void grp__submit(gjob_t *j, int readonly);
/* Finish: call the callback with j->res (rc set) and free j. */
void grp__finish(gjob_t *j, int rc);
/* Prepare a system notice of g (kind: "MemberJoined", …) into j: appended by
 * grp__run_notice in the job, delivered by grp__deliver_notice after it. */
void grp__notice(gjob_t *j, im_group_t *g, const char *kind, uint32_t actor_no, const uint32_t *users, size_t n,
                 json_t *extra);
int grp__run_notice(store_t *s, gjob_t *j);
/* Store thread: mark in j->gone the members of j->mem whose account was deleted before the job ran (an
 * account_delete submitted earlier; user number 0 is skipped), their number into *n_gone. 0, IMC_E_NOMEM
 * or a storage error. grp__members_live: the same, and any such account refuses the change:
 * IMC_E_GROUP_USER (10019) with j->res.why, as the request would be answered after the deletion. */
int grp__mem_gone(store_t *s, gjob_t *j, size_t *n_gone);
int grp__members_live(store_t *s, gjob_t *j);
void grp__deliver_notice(gjob_t *j, im_group_t *g);
/* group_admin.c, store thread: the read position of user_no that leaves exactly want messages unread (the
 * newest that are not its own, recalled, NoUnread or notices), as set_unread_msg_num. Only messages with
 * time_s >= since_s (im_group_since: those a read can return) count: when fewer of them count than asked,
 * all of them are unread and the position is just below the oldest of them (none: the group's last seq). */
int grp__unread_position(store_t *s, uint32_t sdkappid, uint32_t group_no, uint32_t user_no, int64_t want,
                         int64_t since_s, uint32_t *at);
/* group_apply.c: the group events of users' inboxes the job appends, as sets of one payload and its users.
 * Loop, before the submit (each 0 or IMC_E_NOMEM, every set freed): grp__apply_prepare, the
 * group_apply_result of applications the job ends (result "approved", "rejected", "dissolved") for
 * users[0..n), or every pending applicant of g when users is NULL; grp__dissolved_prepare, group_dissolved
 * for every member of g (not a live room); grp__left_prepare, group_kicked (quit: group_quit) for users[0..n)
 * who left g; grp__applied_prepare, group_apply for g's owner and admins, its
 * applicant named in the writer by grp__apply_user (0 or IMC_E_NOMEM). grp__apply_run (store thread, in the
 * job's transaction): one inbox event per user of each set whose account still exists; 0 or a storage
 * error. grp__apply_deliver (loop, once the job is committed): each event to its user's live sessions.
 * grp__apply_free: by grp__finish. */
int grp__apply_prepare(gjob_t *j, const im_group_t *g, const uint32_t *users, size_t n, const char *result);
/* The time of an event of g made at now_s: now_s, or g's creation time when that is later (a life of a reused
 * id created in the same second as an earlier one starts a second ahead of the clock, run_create), so no event
 * of a life is older than the life. Group events, the application's join time, a group's conv_pin. */
int64_t grp__event_s(const im_group_t *g, int64_t now_s);
int grp__dissolved_prepare(gjob_t *j, const im_group_t *g);
int grp__left_prepare(gjob_t *j, const im_group_t *g, const uint32_t *users, size_t n, int quit);
int grp__applied_prepare(gjob_t *j, const im_group_t *g);
int grp__apply_user(gjob_t *j, const char *user_id);
/* group_apply.c: a user made admin or owner (from an ordinary member) gets group_apply for each application
 * waiting, as its predecessors got them when the users applied (docs/decisions/groups.md §14).
 * grp__replay_prepare (loop, before the submit; 0 or IMC_E_NOMEM, every set freed): a set for user_no;
 * grp__replay_run (store thread, in the job's transaction, before grp__apply_run): reads the group's
 * applications (oldest first, at most group_max_applications) and makes one event each, its applicant
 * and its time the application's, but for those below user_no's apply_seq (told before its last
 * demotion or removal: grp__mark_now, written by the role change or transfer that made it an ordinary
 * member, or kept by its removal and taken by its join; an application's is its place, grp__apply_place);
 * 0, IMC_E_NOMEM or a storage error. */
int grp__replay_prepare(gjob_t *j, const im_group_t *g, uint32_t user_no);
/* group_apply.c, store thread, in the job's transaction (docs/decisions/groups-events.md, "A member that
 * leaves keeps its mark"); each 0 or a storage error. An application's place and the marks are compared:
 * an application below a member's mark was told to it. grp__apply_place: *place for an application written
 * now, the later of the group's last seq and its floor. grp__mark_now: *mark for a member that stops being
 * told in this job (demoted, giving the group away, removed as admin or owner): j's notice seq when written
 * (grp__run_notice first) and above the floor, else one above every place so far, which becomes the floor.
 * grp__marks_read (before the removed members' rows are deleted): j->mem[i].apply_seq = an ordinary
 * member's own mark (0 for the others); grp__marks_keep (after the notice): each removed member's mark
 * (grp__mark_now for an admin's or the owner's) kept for its next join, at most j->marks_kept per group;
 * grp__marks_take (a join, before the member rows are written): j->mem[i].apply_seq = the mark kept for
 * the user (0: none), the kept row deleted. */
int grp__apply_place(store_t *s, gjob_t *j, uint32_t *place);
int grp__mark_now(store_t *s, gjob_t *j, uint32_t *mark);
int grp__marks_read(store_t *s, gjob_t *j);
int grp__marks_keep(store_t *s, gjob_t *j);
int grp__marks_take(store_t *s, gjob_t *j);
int grp__replay_run(store_t *s, gjob_t *j);
int grp__apply_run(store_t *s, gjob_t *j);
void grp__apply_deliver(gjob_t *j);
void grp__apply_free(gjob_t *j);
/* A group_dissolved set of more users than group_event_chunk is not appended by grp__apply_run: it
 * records the users as due (store_grp_due_put, chunks of group_event_chunk) and sets j->due; the job's
 * completion then calls grp__due_start (group_due.c: loop; starts the chain of jobs appending them unless
 * it runs). grp__due_set (store thread): a set of j for the due row d, taking its payload and users; 0 or
 * IMC_E_NOMEM. */
int grp__due_set(gjob_t *j, store_grp_due_t *d);
void grp__due_start(im_groups_t *G);
/* A job reply for an immediate refusal. */
void grp__fail(im_gdone_cb cb, void *ud, int rc, const char *why);

#endif
