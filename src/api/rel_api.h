/* rel_api.h — what the relationship files of src/api share: the request
 * helper that applies a change set (im/rel.h), writes it on the writer
 * thread, pushes to online devices and replies only once it is durable; the
 * push helper; the compatible API's fixed relationship bounds; the handlers
 * the route and op tables name. Loop thread only. */
#ifndef IMC_API_REL_API_H
#define IMC_API_REL_API_H

#include "api/api_int.h"
#include "im/rel.h"
#include "plan/plan.h"

/* The compatible API's fixed bounds (rest-api-reference §2.6–§2.7): protocol
 * rules, the same for every edition, kept in this one table. Edition limits
 * (friends per user, feature gates) come from plan_check only. */
enum {
  REL_VALUE_MAX_BYTES = 500,     /* a profile value (40601) */
  REL_LOCATION_MAX_BYTES = 16,   /* Tag_Profile_IM_Location (40605) */
  REL_CUSTOM_NAME_MAX = 8,       /* Tag_Profile_Custom_<≤8 letters>, AddSource_Type_<≤8 letters> */
  REL_PROFILE_GET_MAX = 100,     /* To_Account of portrait_get, friend_get_list */
  REL_BATCH_MAX = 1000,          /* To_Account / AddFriendItem of the sns batch commands */
  REL_REMARK_MAX_BYTES = 96,     /* Tag_SNS_IM_Remark */
  REL_WORDING_MAX_BYTES = 256,   /* Tag_SNS_IM_AddWording */
  REL_FLISTS_MAX = 32,           /* friend lists per user (30011) */
  REL_FLIST_NAME_MAX_BYTES = 30, /* a friend list name */
  REL_FRIEND_PAGE = 100,         /* friends per friend_get page */
  REL_BLACK_PAGE_MAX = 1000,     /* MaxLimited of black_list_get */
  REL_CGROUPS_MAX = 20,          /* conversation groups per user (51010) */
  REL_CGROUP_NAME_MAX_BYTES = 32,/* a conversation group name (51011) */
  REL_CGROUP_CONVS_MAX = 1000,   /* conversations per group (51008) */
  REL_MARK_BATCH_MAX = 100,      /* conversations per mark_contact (51006) */
  REL_PINNED_MAX = 50,           /* pinned conversations (51012) */
  REL_BLACK_MAX = 1000,          /* blocklist entries per user (30013) */
  REL_PENDING_MAX = 100,         /* pending friend requests a user has sent, and has received (30012) */
  REL_STATUS_TEXT_MAX_BYTES = 100, /* a custom status text */
  REL_SUBSCRIBE_MAX = 100,       /* users per status_subscribe / status_get */
};

/* A change request of a REST handler (c->data). */
typedef struct relreq {
  store_job_t job;               /* WebSocket requests (relreq_submit) */
  api_srv_t *srv;
  uint32_t app;
  rel_txn_t txn;
  int committed;                 /* durable: the changes stay in memory */
  json_t *pushes;                /* [[user_no, frame], …] queued by relreq_push */
  int lost;                      /* a push or the reply could not be made (out of memory): the request fails;
                                  * api_list_add(list, item, &rr->lost) adds to a list one of them is made of */
  struct relreq_ev *evs;         /* the pushes as inbox events: written with the change, delivered once durable */
  size_t nev;
  struct rel_held *held;         /* an account purge's: rows of other users naming the account that earlier purges
                                  * of the call removed, whose holders' changes it may write (rel_account_held_write) */
  size_t nheld;
  json_t *out;                   /* reply fields */
  void (*done)(struct relreq *rr, int rc); /* relreq_submit: after the write (loop thread) */
  void *ud;
} relreq_t;

/* Attach a change request to c (c->data; freed with c, undoing the changes
 * in memory unless they were committed). NULL on OOM (c answered). */
relreq_t *relreq_new(rest_ctx_t *c);
/* Queue frame (stolen) for user_no's devices: written to the user's inbox
 * with the change (a REL event, so sync replays it in order), pushed to
 * its live sessions once durable. A frame that is NULL (it could not be
 * made) or cannot be queued (out of memory) fails the whole request with
 * IMC_E_NOMEM at its commit (relreq_commit, relreq_submit, relreq_prepare):
 * its changes are undone, never made without their event (§70). */
void relreq_push(relreq_t *rr, uint32_t user_no, json_t *frame);
/* Write the change set; once durable send the pushes and reply OK with out
 * (stolen): the reply's fields; NULL when they could not be made (out of
 * memory), which fails the request with 70500 and undoes it (§82). With no
 * change recorded the reply goes at once. A full writer queue answers 60018
 * and undoes the changes. relreq_commit_bare: the same, with a reply of the
 * envelope alone. */
void relreq_commit(rest_ctx_t *c, json_t *out);
void relreq_commit_bare(rest_ctx_t *c);

/* A change request carried by another module's writer job (account_import):
 * relreq_prepare on the loop thread before the job is submitted (0 or
 * IMC_E_NOMEM), relreq_write in the job on the writer thread (the change set
 * and the pushes' inbox events), relreq_written on the loop thread once the
 * job is durable (rc 0: the changes stay and the pushes go out; otherwise
 * nothing is sent and relreq_free undoes the set). */
int relreq_prepare(relreq_t *rr);
int relreq_write(store_t *s, relreq_t *rr);
void relreq_written(relreq_t *rr, int rc);

/* Without a REST request (WebSocket ops): a change request for app; free
 * with relreq_free (undoes unless committed). NULL on OOM. */
relreq_t *relreq_alloc(api_srv_t *srv, uint32_t app);
void relreq_free(relreq_t *rr);
/* Write rr's changes; done(rr, rc) runs on the loop thread once durable
 * (pushes already sent when rc is 0) and must free rr. A full writer queue
 * calls done with IMC_E_OVERLOADED before returning. */
void relreq_submit(relreq_t *rr, void (*done)(relreq_t *rr, int rc), void *ud);

/* The From_Account of a request: its record (created when create is set)
 * and user number. Errors (the caller replies): not_imported_err when the
 * account is unknown, param_err when the field is missing or not a UserID,
 * IMC_E_NOMEM. */
int rel_from(rest_ctx_t *c, const char *field, int create, int param_err, int not_imported_err, rel_user_t **u);
/* A peer UserID of this app: its number, or IMC_E_USER_ID (not a valid
 * UserID) / IMC_E_NOTFOUND (not imported). */
int rel_peer(api_srv_t *srv, uint32_t app, json_t *v, const char **id, uint32_t *no);
/* The reply of friend_check and black_list_check: for each To_Account, the
 * relation names[ab | ba << 1] where ab = a holds the peer in kind's rows and
 * ba = the peer holds a (only when both); unknown or malformed peers get
 * names[0] with their code and are listed in Fail_Account. a may be NULL. */
void rel_check_reply(rest_ctx_t *c, const rel_user_t *a, json_t *to, rel_kind_t kind, int both, const char *const names[4],
                     const char *items_key);
/* The record of a peer, created if missing. NULL on OOM. */
rel_user_t *rel_peer_rec(api_srv_t *srv, uint32_t app, uint32_t no, const char *id);
/* plan_check against the app's edition: 0 or the refusal (msg filled). */
int rel_plan(api_srv_t *srv, uint32_t app, plan_item_t what, int64_t current, int64_t adding, char *msg, size_t cap);
/* The relationship rows of an account being deleted: its rows and every
 * row of another user of the app that names it (friend, pending request,
 * blocklist entry; those users' sequences grow and they get friend_deleted
 * / friend_request_ended / black_changed), as one change set applied in
 * memory at once and prepared for its write, so the deleting transaction
 * writes it (relreq_write) and the deletion and its relationships commit
 * together (decisions §96). The caller owns the result (NULL on OOM,
 * nothing changed) and ends it with rel_account_purged: rc 0, the
 * transaction committed and is durable (the pushes go out, the emptied
 * record is dropped); else the set is undone. NULL is ignored. Loop
 * thread. Cost: one pass over all records.
 * earlier: the purges of the same call made before this one, not yet
 * durable (n_earlier of them, NULL entries skipped; NULL, 0: none): the
 * rows of user_no they removed from memory, and those of other users naming
 * user_id, are deleted by this set's write too, so that they go with this
 * account even if an earlier item rolls back (§116, §117). Each such row of
 * another user is also kept with the index in earlier of the purge that
 * removed it, for rel_account_held_write, and its holder's friend or
 * blocklist sequence is reserved for it now (memory's value plus one, in
 * memory at once; for the holder's own purge, the value it recorded plus
 * one, put in memory by rel_account_held_apply): the one value the holder's
 * change can take, whichever item commits (§119). A reservation neither
 * written nor used is given back by rel_account_purged (rc not 0) where
 * memory still holds it. */
relreq_t *rel_account_purge(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *user_id,
                            relreq_t *const *earlier, size_t n_earlier);
void rel_account_purged(relreq_t *rr, int rc);
/* keep's answers for rel_account_held_write: the holder is an account the call deleted (nothing of it is written);
 * the purge that removed the row committed (its write made the change: the reservation is only written, a gap);
 * that purge rolled back (the row was stored until the committing item's write deleted it: the change). */
enum { REL_HELD_NONE = 0, REL_HELD_SEQ = 1, REL_HELD_CHANGE = 2 };
/* The holders' changes of the rows of other users naming rr's account that earlier purges of the call removed
 * (§119). Writer thread, in the deleting transaction once every item's savepoint is done, for every item's purge
 * (committed: rr's item committed). For each such row, keep(ud, earlier, holder_no) (earlier: the index in
 * rel_account_purge's list of the purge that removed it): REL_HELD_CHANGE and committed, the holder's reserved
 * sequence is written and its event (friend_deleted, friend_request_ended, black_changed with that sequence) is
 * appended to its inbox — the change that removed the row commits with it; otherwise, unless REL_HELD_NONE, a
 * reservation already in memory is written alone, so memory and storage hold the same value (a gap in the
 * holder's sequence; no event). A sequence is never written below the stored one. 0 or storage errors (the
 * caller fails the job). rr may be NULL. */
int rel_account_held_write(store_t *s, relreq_t *rr, int committed,
                           int (*keep)(void *ud, size_t earlier, uint32_t holder_no), void *ud);
/* Loop thread, once that transaction is durable, for every item's purge before any is undone or ended: the
 * sequences rel_account_held_write wrote stay (rel_account_purged gives back only the others). rr may be NULL. */
void rel_account_held_durable(relreq_t *rr);
/* Loop thread, once that transaction is durable, after the rolled-back purges are undone: for each change it
 * wrote, the row the undo gave back removed from memory (the sequence is there already, but for a holder whose
 * own purge was undone: then it is set), so that rel_account_deleted finds nothing of theirs to remove again. rr
 * may be NULL. */
void rel_account_held_apply(relreq_t *rr);
/* Then, after the call's other events are delivered (their useqs are lower): the holders' events to their live
 * sessions. rr may be NULL. */
void rel_account_held_deliver(relreq_t *rr);
/* After the deletion is durable: the same purge in a write of its own, for
 * rows made between rel_account_purge and the deletion's commit (a
 * relationship op that passed its account check before the account left
 * the registry); usually none, and then no write. */
void rel_account_deleted(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *user_id);
/* Parse a JSON value text of a row (NULL on bad text). */
json_t *rel_json(const char *text);
/* Compact JSON text of o (malloc'd; NULL on OOM). */
char *rel_text(json_t *o);

/* Profiles (rel_profile.c) */
void rest_portrait_set(rest_ctx_t *c);
void rest_portrait_get(rest_ctx_t *c);
/* The profile value of a tag as the API shows it (default when unset: "", 0, the first value of an
 * enumerated tag; a custom tag's by the type app_rec, the app's settings record, declares); new reference.
 * app_rec and u may be NULL. */
json_t *rel_profile_value(const rel_user_t *app_rec, const rel_user_t *u, const char *tag);
/* 1 if the user's AdminForbidType is SendOut: its friend_add items are refused (30009). */
int rel_profile_add_forbidden(const rel_user_t *u);
/* The AllowType of a user ("AllowType_Type_NeedConfirm" when unset). */
const char *rel_profile_allow_type(const rel_user_t *u);
/* account_import's Nick / FaceUrl of an existing account: the `profile`
 * event of the tags whose value changes, for the user and every user holding
 * it as a friend, as portrait_set queues it (the caller writes it with
 * relreq_prepare / relreq_write / relreq_written and frees it). NULL with 0
 * when nothing changes; IMC_E_NOMEM. Loop thread. */
int rel_profile_import_events(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *nick, const char *face,
                              relreq_t **out);
/* account_import's Nick / FaceUrl: writer-thread part and loop part. */
int rel_profile_import_write(store_t *s, uint32_t app, uint32_t user_no, const char *nick, const char *face);
void rel_profile_import_apply(api_srv_t *srv, uint32_t app, uint32_t user_no, const char *user_id, const char *nick,
                              const char *face);

/* Friends (rel_friend.c, rel_friend_get.c), friend lists (rel_flist.c) */
void rest_friend_add(rest_ctx_t *c);
void rest_friend_import(rest_ctx_t *c);
void rest_friend_update(rest_ctx_t *c);
void rest_friend_delete(rest_ctx_t *c);
void rest_friend_delete_all(rest_ctx_t *c);
void rest_friend_check(rest_ctx_t *c);
void rest_friend_get(rest_ctx_t *c);
void rest_friend_get_list(rest_ctx_t *c);
void rest_flist_add(rest_ctx_t *c);
void rest_flist_delete(rest_ctx_t *c);
void rest_flist_get(rest_ctx_t *c);
/* Make `from` a friend of `to` (from's list gets to) with the row value
 * val (a JSON object, borrowed); bumps from's friend sequence (and the custom
 * one when custom fields come or go) and queues a friend_added push
 * (friend_updated when the row existed: an overwrite). 0 or IMC_E_NOMEM. */
int rel_friend_link(relreq_t *rr, rel_user_t *from, rel_user_t *to, json_t *val);
/* The friend lists named by groups (an array of names, edited in place) for
 * u when a request is accepted: the missing ones are made (flists_changed
 * pushed), a name that is no longer valid or no longer fits under the 32
 * lists is dropped from groups. 0 or IMC_E_NOMEM. */
int rel_groups_keep(relreq_t *rr, rel_user_t *u, json_t *groups);
/* 1 if arr[i] is a string an earlier element of arr already is (a name given twice counts once). */
int rel_str_repeated(json_t *arr, size_t i);
/* Remove `to` from from's list (no-op when absent), bump, push friend_deleted. */
int rel_friend_unlink(relreq_t *rr, rel_user_t *from, rel_user_t *to);
/* Drop the pending requests between a and b, both directions. With a reason
 * ("blocked", "added"), each request dropped is announced to both users'
 * devices as friend_request_ended {from, to, reason}; NULL when the caller
 * announces it otherwise (friend_response). 0 or IMC_E_NOMEM. */
int rel_pending_drop(relreq_t *rr, rel_user_t *a, rel_user_t *b, const char *reason);

/* Conversation groups and marks (rel_contact.c) */
void rest_create_contact_group(rest_ctx_t *c);
void rest_update_contact_group(rest_ctx_t *c);
void rest_del_contact_group(rest_ctx_t *c);
void rest_get_contact_group(rest_ctx_t *c);
void rest_search_contact_group(rest_ctx_t *c);
void rest_mark_contact(rest_ctx_t *c);

/* Blocklist (rel_black.c) */
void rest_black_list_add(rest_ctx_t *c);
void rest_black_list_delete(rest_ctx_t *c);
void rest_black_list_get(rest_ctx_t *c);
void rest_black_list_check(rest_ctx_t *c);

/* Global mute (rel_mute.c): the user's META rows holding the end of its mute
 * (seconds; REL_MUTE_EVER: forever). rel_mute_left: seconds left (4294967295
 * for forever, 0 when not muted); u may be NULL. */
#define REL_MUTE_C2C "mute_c2c_until"
#define REL_MUTE_GROUP "mute_group_until"
#define REL_MUTE_EVER INT64_MAX
int64_t rel_mute_left(const rel_user_t *u, const char *key, int64_t now_s);
void rest_setnospeaking(rest_ctx_t *c);
void rest_getnospeaking(rest_ctx_t *c);

/* The relationship checks of a C2C send or typing over WebSocket: 0,
 * IMC_E_MSG_FORBIDDEN (20012, the sender is muted: setnospeaking),
 * IMC_E_MSG_BLOCKED (20007), IMC_E_MSG_NOT_FRIENDS / _NOT_PEER_FRIEND /
 * _NOT_OWN_FRIEND (20009–20011, when the app requires friendship). */
int rel_c2c_check(api_srv_t *srv, uint32_t app, uint32_t from_no, const char *from_id, uint32_t to_no, const char *to_id);

/* App settings (rel_settings.c): operator API rows */
struct op_req;
/* Validate settings (writer or reader thread: pure). The JSON object to
 * store under each key, or an error with msg. */
const char *rel_settings_custom_type(const rel_user_t *app_rec, const char *tag);
int rel_settings_c2c_friendship(const rel_user_t *app_rec);

/* WebSocket ops (ws_rel.c) */
void cws_op_friend_response(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_pending(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);

/* User status (ws_status.c) */
int ws_status_init(api_srv_t *srv);          /* 0 or IMC_E_NOMEM */
void ws_status_free(api_srv_t *srv);
/* Restore the stored PushOnline windows into presence (startup, after rel_load). */
int ws_status_restore(api_srv_t *srv);
/* A session of the user came online: its subscribers get `status`. */
void ws_status_changed(api_srv_t *srv, uint32_t app, uint32_t user_no);
/* A session ended (after presence removal): store or clear its PushOnline
 * window (until_s) and push the new status to subscribers. */
void ws_status_session_end(api_srv_t *srv, const im_session_t *s, const char *user_id, int logout, int64_t until_s);
void cws_op_status_set(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_status_get(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_status_subscribe(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);
void cws_op_status_unsubscribe(api_srv_t *srv, net_ws_t *ws, cws_conn_t *c, json_t *id, json_t *req);

/* The subscription registry (ws_status_subs.c): per watched user, the
 * (subscriber user, session id) pairs to push to. */
int ws_status_subs_init(api_srv_t *srv);     /* 0 or IMC_E_NOMEM */
void ws_status_subs_free(api_srv_t *srv);
/* Subscribe session s to targets (user numbers; repeats and ones it already
 * has are fine). All or nothing: IMC_E_STATUS_SUBS_USER when the user's
 * sessions would hold more than status_subs_per_user, IMC_E_STATUS_SUBS_FULL
 * when the process would hold more than status_subs_max, IMC_E_NOMEM. */
int ws_status_subs_add(api_srv_t *srv, const im_session_t *s, const uint32_t *targets, size_t n);
/* End s's subscription to target (no-op if none). */
void ws_status_subs_del(api_srv_t *srv, const im_session_t *s, uint32_t target);
/* Free every subscription of the session (app, user, sid): it ended. */
void ws_status_subs_session_gone(api_srv_t *srv, uint32_t app, uint32_t user_no, uint32_t sid);
/* Call fn(ud, user_no, sid) for each subscriber of target, walking the
 * registry itself (no copy, nothing to fail): fn must not add or remove a
 * subscription (closing a connection does not: its session ends in a later
 * phase of the loop, net_ws_close). */
void ws_status_subs_each(api_srv_t *srv, uint32_t app, uint32_t target, void (*fn)(void *ud, uint32_t user_no, uint32_t sid),
                         void *ud);
/* Subscriptions held, watched users, subscribing users (GET /healthz). */
void ws_status_subs_stats(const api_srv_t *srv, size_t *total, size_t *targets, size_t *users);

#endif
