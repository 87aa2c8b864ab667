/* faultsim.h — failures injected for tests at named places (SQLite's
 * faultsim, curl's torture tests): the way a test makes an allocation that
 * the code must survive fail exactly where and when it wants.
 *
 * A site is one place that can fail for want of memory (or, for the two
 * sync sites, with an I/O error) and answers it; the code asks
 * imc_fault(site) there and, on 1, fails as if the allocation (the sync)
 * had failed. Nothing fails unless the process was started with
 * IMCLOUD_TEST_FAIL="SITE:N[,SITE:N…]" in its environment (read once, at the
 * first call): the Nth call of SITE (1-based, counted from the start of the
 * process) fails, once per entry. A malformed entry is named on stderr and
 * ignored. Without the variable a call costs pthread_once's check and one
 * load and branch.
 * Thread-safe: any thread may call it. */
#ifndef IMC_UTIL_FAULTSIM_H
#define IMC_UTIL_FAULTSIM_H

/* The sites; their names (faultsim.c) are what IMCLOUD_TEST_FAIL says. */
typedef enum {
  IMC_FAULT_PUSH_ENCODE, /* "push_encode": a C2C push's frame (src/api/ws_msg.c hook_encode) */
  IMC_FAULT_PUSH_SEND,   /* "push_send": queueing that frame on one connection (ws_msg.c hook_send) */
  IMC_FAULT_GROUP_PUSH_ENCODE, /* "group_push_encode": a stored group's push frame (src/im/group.c grp__encode) */
  IMC_FAULT_GROUP_PUSH_SEND,   /* "group_push_send": queueing it on one connection (group.c grp__send) */
  IMC_FAULT_LIVE_PUSH_ENCODE,  /* "live_push_encode": a live room's push frame (grp__encode) */
  IMC_FAULT_LIVE_PUSH_SEND,    /* "live_push_send": queueing a live room's frame, or its live_dropped notice, on one
                                * connection (grp__send) */
  IMC_FAULT_PUSH_JSON,         /* "push_json": a C2C message's JSON object (src/api/ws_msg_json.c wsm_msg_json: a
                                * push, sync or history entry that is not written as packed text) fails as if its
                                * body could not be set */
  IMC_FAULT_GROUP_PUSH_JSON,   /* "group_push_json": a group message's JSON object (src/api/ws_group_push.c
                                * cws_group_msg_json: a push, group_sync or group_history entry) fails as if its
                                * body could not be set */
  IMC_FAULT_REPLY_JSON,        /* "reply_json": a WebSocket reply's JSON object (src/api/ws_reply.c cws_reply) fails
                                * as if a member could not be set */
  IMC_FAULT_STATUS_PUSH_SEND,  /* "status_push_send": queueing a user-status push on one connection, a subscriber's or
                                * the user's own (src/api/ws_status.c status_send) */
  IMC_FAULT_STATUS_LIST_JSON,  /* "status_list_json": one entry of a status_get / status_subscribe /
                                * status_unsubscribe list (ws_status.c statuses) fails as if it could not be made */
  IMC_FAULT_REST_REPLY_JSON,   /* "rest_reply_json": a REST reply's JSON object (src/api/rest_v4.c reply) fails as if a
                                * member could not be set */
  IMC_FAULT_LIST_JSON,         /* "list_json": one entry of a list a REST or operator reply or a relationship push
                                * is made of (src/util/json_whole.c jwhole_add: api_list_add, the tenant and meter
                                * builders) fails as if it could not be made */
  IMC_FAULT_FIELD_JSON,        /* "field_json": one member set into an object a REST or operator reply, or one of
                                * its list entries, is made of (src/util/json_whole.c jwhole_put: api_field_put,
                                * the tenant and meter builders) fails as if it could not be set */
  IMC_FAULT_BODY_ALLOC,        /* "body_alloc": an allocation inside the parse of a stored message body
                                * (src/util/jsonload.c jsonload_b) fails as malloc would */
  IMC_FAULT_GROUP_DEL_STEP,    /* "group_del_step": submitting the next writer step of a delete_group_msg_by_sender
                                * (src/im/group_msg.c done_del_sender) is refused as a full writer queue refuses it
                                * (IMC_E_OVERLOADED, 60018): not an allocation, a queue's room */
  IMC_FAULT_ACCOUNT_GROUPS,    /* "account_groups": an account_delete item's group rows (src/api/rest_account.c
                                * delete_one, store_grp_user_gone) fail as a storage error (IMC_E_IO) would: the
                                * account's deletion rolls back alone */
  IMC_FAULT_GROUP_MEMBERS_READ, /* "group_members_read": a page of a group's member rows (src/im/group_msg.c rjob_run
                                * R_MEMBERS: get_group_info, get_group_member_info, get_group_muted_account) fails
                                * as a storage error (IMC_E_IO) would, before any row is read */
  IMC_FAULT_WS_READ_LATE,      /* "ws_read_late": a logged-in or opening WebSocket's input reported to a turn's input
                                * pass (src/net/conn.c take_reported, not the check phase's) is not read there: the
                                * socket is polled again (EPOLL_CTL_MOD), as if its frame arrived after that pass, so
                                * the check phase's REST-only pass (net__take_http) meets it and defers it to
                                * srv->again, read by the next turn's idle phase (on_again). Not a failure: the
                                * order the race between a frame and the check phase gives, made certain */
  IMC_FAULT_ACCOUNT_DELETE_JOB, /* "account_delete_job": an account_delete job (src/api/rest_account.c delete_run),
                                 * after every item's savepoint, the `gone` events and the holders' sequences
                                 * reserved for them (§119) were written, fails as a storage error (IMC_E_IO)
                                 * would: the whole transaction of the job rolls back, nothing of it commits */
  IMC_FAULT_REL_UNRECORDED,     /* "rel_unrecorded": a relationship value put into memory without a record
                                 * (src/im/rel.c rel_set_unrecorded, a set, not a delete: an account deletion's
                                 * holder sequence reserved, given back or applied, §119) fails as its allocation
                                 * would (IMC_E_NOMEM), nothing changed */
  IMC_FAULT_WAL_SYNC,           /* "wal_sync": an fdatasync of the WAL (src/store/sqlite_ckpt.c store_wal_sync: the
                                 * writer's sync thread, and once when the writer starts) fails as EIO would: the
                                 * batch's jobs are answered IMC_E_IO and every later sync fails too (store_writer.h,
                                 * "Sync"); /healthz says "failing" */
  IMC_FAULT_DB_SYNC,            /* "db_sync": the fdatasync of the database file after a checkpoint's copy (a
                                 * pinned round's or a split blocking round's, src/store/sqlite_ckpt.c) fails as EIO
                                 * would: no more checkpoints, the WAL grows (store_ckpt.h); /healthz says
                                 * "degraded" */
  IMC_FAULT__COUNT
} imc_fault_site_t;

/* 1 if this call of site must fail (IMCLOUD_TEST_FAIL named it), else 0. */
int imc_fault(imc_fault_site_t site);

/* The name IMCLOUD_TEST_FAIL gives site (static storage), NULL for a value
 * that is no site. A new site appends its enum value before IMC_FAULT__COUNT
 * and its name to faultsim.c's table (at most 64 sites: a build-time check). */
const char *imc_fault_site_name(imc_fault_site_t site);

#endif
