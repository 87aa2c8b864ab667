/* c2c.h — one-to-one messaging semantics, independent of any wire format.
 *
 * The loop thread owns an im_c2c_t. Every state change is a store job on the
 * writer thread (store_writer.h): the caller's callback runs on the loop
 * thread only after the change is committed (durable), and the events it
 * produced are pushed to live devices in the same loop turn, before the
 * callback, in the order of each user's inbox sequence. Reads (sync pages,
 * history, lists, counts) run on the store's reader pool. A full writer or
 * reader queue fails the operation with IMC_E_OVERLOADED (callback called
 * before the call returns).
 *
 * Two sequences (docs/delivery.md):
 * - seq: per conversation (unordered pair of users), 1, 2, 3 … gap-free; the
 *   position of a message in its conversation (history, read positions).
 * - useq: per user, 1, 2, 3 … gap-free over every event the user's devices
 *   must learn (messages of all conversations, recalls, read positions,
 *   receipts, conversation changes, relationship changes). A device syncs with one cursor = the
 *   last useq it holds.
 * The REST MsgSeq (cseq) is the caller's number, part of MsgKey; when the
 * caller gave it (STORE_MSG_CALLER_SEQ) also of the send dedupe's identity.
 *
 * Devices: a session is quiet after login; im_c2c_sync pages through the
 * inbox after the device's cursor and, on the page that reaches the end,
 * makes the session live. A live session receives every later inbox event
 * exactly once, in useq order (the sending device gets its own message
 * through the send reply instead). Online-only messages (MsgLifeTime 0)
 * and typing notices reach live sessions only, without a useq.
 *
 * Sessions are identified across asynchronous steps by (sdkappid, user_no,
 * sid) and looked up again in the presence registry at completion; a
 * callback gets s == NULL when the session is gone.
 */
#ifndef IMC_IM_C2C_H
#define IMC_IM_C2C_H

#include <stddef.h>
#include <stdint.h>

#include "im/limits.h"
#include "im/presence.h"
#include "store/store_msg.h"
#include "store/store_reader.h"
#include "store/store_writer.h"

typedef enum {
  IM_EV_MSG = STORE_EV_MSG, IM_EV_RECALL = STORE_EV_RECALL, IM_EV_READ = STORE_EV_READ,
  IM_EV_RECEIPT = STORE_EV_RECEIPT, IM_EV_MODIFY = STORE_EV_MODIFY, IM_EV_CONV_DEL = STORE_EV_CONV_DEL,
  IM_EV_CONV_PIN = STORE_EV_CONV_PIN,
  IM_EV_REL = STORE_EV_REL, /* a relationship change: payload is its push frame (c2c_rel.c) */
  IM_EV_ONLINE_MSG = 100,   /* MsgLifeTime 0: not stored, no useq */
  IM_EV_TYPING = 101,       /* never stored, no useq */
} im_ev_kind_t;

/* One event for one user's devices. Strings and msg are valid during the
 * call that hands it out. */
typedef struct im_event {
  im_ev_kind_t kind;
  uint32_t sdkappid, user_no;  /* whose event */
  uint32_t useq;               /* 0 for online-only kinds */
  uint64_t conv;
  uint32_t seq;                /* the message (MSG, RECALL, MODIFY) or read position (READ, RECEIPT);
                                  CONV_DEL: STORE_CONV_DEL_* bits; CONV_PIN: 1 pinned, 0 unpinned */
  int64_t at_s;
  const char *peer_id;         /* the other user of the conversation */
  const store_msg_t *msg;      /* MSG, RECALL, MODIFY, ONLINE_MSG: the message (NULL if expired) */
  const char *payload;         /* REL: the push frame, a JSON object text without useq; else NULL */
} im_event_t;

/* How a front end delivers: encode once per user, send to each of its live
 * sessions, release. */
typedef struct im_c2c_hooks {
  void *ud;
  /* NULL on OOM: the event is then not pushed (a stored one's sessions are cut, below) */
  void *(*encode)(void *ud, const im_event_t *ev);
  /* queue frame on s's connection: 0, or IMC_E_NOMEM (it could not be queued: for a stored event the
   * session is then cut, below); any other error: the connection is closing already */
  int (*send)(void *ud, im_session_t *s, void *frame);
  void (*release)(void *ud, void *frame);
  /* yyyymmdd of t_s in the app's billing zone: a stored message adds 1 to
   * the day's c2c_msgs in its own writer job; NULL: not metered */
  int32_t (*day_of)(void *ud, uint32_t sdkappid, int64_t t_s);
  /* 1 if s's connection holds so much unsent output that a typing notice or
   * an online-only message to it is dropped instead of queued (both are
   * lossy, never stored: a flood of them must not cut the peer off as a slow
   * consumer); bytes: a bound on the push's frame; NULL: never */
  int (*backlogged)(void *ud, const im_session_t *s, size_t bytes);
  /* close s's connection because a stored event (one with a useq) could not
   * be pushed to it (its frame could not be made: out of memory): the device
   * reconnects and its sync from its own cursor hands over the event, as
   * after a slow consumer's close; NULL: never (the session only stops being
   * live) */
  void (*cut)(void *ud, im_session_t *s);
} im_c2c_hooks_t;

typedef struct im_c2c im_c2c_t;

/* Create the messaging core: writes go to writer, reads to reader. All
 * pointers must outlive it. IMC_E_NOMEM. */
int im_c2c_create(store_writer_t *writer, store_reader_t *reader, im_presence_t *presence, const im_limits_t *limits,
                  const im_c2c_hooks_t *hooks, im_c2c_t **out);
void im_c2c_free(im_c2c_t *c);
/* The server is stopping: a running retention pass ends after its current
 * step. Idempotent. */
void im_c2c_stop(im_c2c_t *c);
/* Jobs submitted and not completed (a graceful stop waits for 0). */
size_t im_c2c_in_flight(const im_c2c_t *c);
/* A session of the user was unlinked from presence: forget what the core
 * kept for its sync pages (c2c.c) unless another session still needs it. */
void im_c2c_session_gone(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no);
/* Users with a last-committed mark held (at most the sessions with a sync
 * page in flight; GET /healthz shows it). */
size_t im_c2c_committed_users(const im_c2c_t *c);

/* ---- send ------------------------------------------------------------------ */
typedef enum { IM_SYNC_DEFAULT = 0, IM_SYNC_YES = 1, IM_SYNC_NO = 2 } im_sync_other_t;

/* im_send_t.life_s of a message without a MsgLifeTime of its own (a WebSocket
 * send, importmsg): sync delivers it for as long as the app's retention keeps
 * it, a retention that grows later included (a number stored at the send
 * would hold it to the retention of that moment). */
#define IM_LIFE_RETENTION (-1)

typedef struct im_send {
  uint32_t sdkappid, from_no, to_no;
  char from_id[33], to_id[33]; /* from_id "" = look it up (a device knows its user by number) */
  uint32_t cseq, random;       /* MsgSeq (caller's, or random) and MsgRandom */
  uint32_t flags;              /* STORE_MSG_NO_UNREAD | STORE_MSG_NO_LAST | STORE_MSG_NEED_RECEIPT;
                                * STORE_MSG_CALLER_SEQ when cseq is the caller's (the send dedupe compares it) */
  int64_t life_s;              /* 0 = online only: pushed to live sessions, never stored; IM_LIFE_RETENTION:
                                  synced for as long as the app keeps it (its retention then, not now) */
  uint8_t sync_other;          /* YES: the sender's devices get it (inbox); DEFAULT: the sender's history only; NO: not the sender's at all */
  uint8_t import_mode;         /* 0 send; 2 import as read, no push; 5 import unread, pushed */
  int64_t time_s;              /* import: the caller's MsgTimeStamp; else ignored (server time) */
  uint32_t from_sid;           /* the sending session (0 = REST): it gets the reply, not a push */
  char *body;                  /* packed (im_msg_pack); im_c2c_send takes ownership */
  size_t body_len;
} im_send_t;

typedef struct im_sent {
  uint8_t dup;                 /* a resend inside the dedupe window: the original's values */
  uint32_t seq;                /* 0 for online-only messages */
  uint32_t useq;               /* the sender's inbox event (0 if none) */
  int64_t time_s;
  uint32_t cseq, random;
} im_sent_t;

typedef void (*im_sent_cb)(void *ud, int rc, const im_sent_t *r);
/* Store (unless online-only), then push, then cb. rc: 0, IMC_E_IO,
 * IMC_E_RANGE, IMC_E_SHUTDOWN, IMC_E_OVERLOADED (writer queue full). */
void im_c2c_send(im_c2c_t *c, im_send_t *in, im_sent_cb cb, void *ud);

/* A random MsgSeq for a sender that gave none. */
uint32_t im_c2c_random32(im_c2c_t *c);
/* Format a MsgKey "{cseq}_{random}_{time}" into buf (≥ 40 bytes). */
void im_msg_key(uint32_t cseq, uint32_t random, int64_t time_s, char *buf, size_t cap);
/* Parse a MsgKey. 0 or IMC_E_MSG_KEY. */
int im_msg_key_parse(const char *key, uint32_t *cseq, uint32_t *random, int64_t *time_s);

/* ---- sync -------------------------------------------------------------------- */
typedef struct im_sync_page {
  const im_event_t *evs;
  size_t n;
  uint32_t cursor;             /* the device's cursor after this page */
  uint8_t complete;            /* the device has everything: the session is now live */
} im_sync_page_t;

/* s: NULL if the session closed meanwhile (page is then NULL). */
typedef void (*im_sync_cb)(void *ud, int rc, im_session_t *s, const im_sync_page_t *page);
/* Read the next page of s's inbox after cursor (at most the app's sync page
 * limit, or limit if smaller and > 0). The session is quiet until a page
 * completes. Immediate errors (cb not called): IMC_E_BUSY (a page of this
 * session is being read). cb errors: IMC_E_INVAL (cursor beyond the user's
 * last event), storage errors. */
int im_c2c_sync(im_c2c_t *c, im_session_t *s, uint32_t cursor, int limit, im_sync_cb cb, void *ud);

/* ---- history and lookups -------------------------------------------------------- */
typedef struct im_msg_list {
  store_msg_t *msgs;           /* newest first */
  size_t n;
  uint8_t complete;            /* nothing older within the bounds */
  uint32_t peer_read_seq;      /* the peer has read the conversation up to here */
} im_msg_list_t;
typedef void (*im_msgs_cb)(void *ud, int rc, const im_msg_list_t *l);

/* Messages of the conversation (user, peer) as the user sees them: within
 * retention, after the user's ClearRamble point, with seq < before_seq
 * (0 = newest), min_time_s <= time <= max_time_s (0 = unbounded), newest
 * first, at most limit. last_key (may be NULL): continue below that MsgKey
 * (IMC_E_MSG_KEY if it names no message of the conversation). keyed: the
 * caller continues by the last message's MsgKey (REST): the page ends at a
 * message that is the oldest of its key (more than limit when it must). */
void im_c2c_history(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, uint32_t before_seq,
                    int64_t min_time_s, int64_t max_time_s, const char *last_key, int keyed, int limit, im_msgs_cb cb,
                    void *ud);

/* ---- changes to existing messages and conversations ---------------------------- */
typedef void (*im_done_cb)(void *ud, int rc);

/* Recall the message `key` of conversation (from, to). actor_no = 0 is the
 * app admin (no time limit); otherwise only the sender may recall, within
 * the recall window. Both users get a RECALL event (each only while the
 * message is in its history: not one it cleared, not the sender of a
 * SyncOtherMachine 2 message; so for MODIFY). Errors: IMC_E_MSG_KEY,
 * IMC_E_MSG_NOT_FOUND (20022), IMC_E_MSG_RECALLED (20023),
 * IMC_E_MSG_NOT_SENDER, IMC_E_MSG_RECALL_LATE. */
void im_c2c_recall(im_c2c_t *c, uint32_t sdkappid, uint32_t actor_no, uint32_t from_no, uint32_t to_no,
                   const char *key, im_done_cb cb, void *ud);
/* Replace members of message `key` (from_no's): body is a packed object
 * (ownership taken) of the members to replace (MsgBody, CloudCustomData);
 * the stored message's other members stay, and the result is at most
 * max_bytes. Both users get a MODIFY event. IMC_E_MSG_KEY,
 * IMC_E_MSG_NOT_FOUND, IMC_E_MSG_RECALLED (a recalled message is not
 * changed), IMC_E_MSG_TOO_BIG. */
void im_c2c_modify(im_c2c_t *c, uint32_t sdkappid, uint32_t from_no, uint32_t to_no, const char *key, char *body,
                   size_t len, size_t max_bytes, im_done_cb cb, void *ud);
/* user_no has read its conversation with peer_no up to upto_seq (0 = the
 * newest message), or — when upto_seq is 0 and upto_time_s > 0 — up to the
 * newest message at or before upto_time_s; upto_time_s IM_READ_NOTHING: read
 * nothing (the job changes nothing, and its cb comes in the order of the
 * writes, §80). Read positions never move back, and a read at or below the
 * point the lists count as read (the later of the read position, the clear
 * and the delete) changes nothing and makes no event (§80).
 * The user's devices get a READ event; the peer gets a RECEIPT event when a
 * newly read message of theirs asked for one. */
#define IM_READ_NOTHING (-1)
void im_c2c_read(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, uint32_t upto_seq,
                 int64_t upto_time_s, im_done_cb cb, void *ud);

typedef struct im_conv {
  uint32_t peer_no;
  const char *peer_id;
  uint32_t last_seq;
  int64_t last_time_s;
  uint32_t read_seq;
  int64_t unread;
  int64_t pinned_at_s;
  int64_t pin_seq;            /* among pins of one second: higher = pinned later */
  uint32_t top_seq;           /* the newest message stored at the read, NoLastMsg ones included (read only for a
                               * conversation page's unread counts, conv_list.c; else 0) */
} im_conv_t;
typedef struct im_conv_list { im_conv_t *convs; size_t n; } im_conv_list_t;
typedef void (*im_convs_cb)(void *ud, int rc, const im_conv_list_t *l);

/* The user's conversations: pinned first (latest pin first), then by last
 * message time (newest first); deleted ones hidden until a newer message;
 * at most the app's recent-conversation limit of unpinned ones; with unread
 * counts. peer_no != 0: only that conversation (if it exists). unlisted:
 * also the conversations no list shows (only NoLastMsg messages, last_seq
 * 0), after the others: their unread counts. */
void im_c2c_conversations(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, int unlisted,
                          im_convs_cb cb, void *ud);
/* Pin (1) or unpin (0) a conversation; the user's devices get CONV_PIN. An
 * unpin of a conversation that is not pinned changes nothing (no row, no
 * event).
 * Pinning fails with IMC_E_CONV_PINNED (51012) when the user already has
 * max_pinned other pinned conversations of both kinds (C2C and group:
 * im_c2c_pinned_count; 0 = no bound); the count is taken
 * on the writer thread in the job that pins, so it is exact under
 * concurrent pins. */
void im_c2c_pin(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, int pin, uint32_t max_pinned,
                const char *peer_id, im_done_cb cb, void *ud);
/* Delete a conversation from the user's list (clear = also hide its history
 * up to now from this user); the user's devices get CONV_DEL. */
void im_c2c_conv_delete(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, int clear,
                        const char *peer_id, im_done_cb cb, void *ud);
/* Tell peer_no's live sessions that user_id is typing (never stored), except
 * session from_sid (0: none): typing to oneself reaches only the user's other
 * devices, as an online-only message to oneself does. user_id NULL or "":
 * looked up first by a job on the reader pool (dropped if its queue is
 * full); given, the notice goes out before this returns. */
void im_c2c_typing(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no, const char *user_id, uint32_t peer_no,
                   uint32_t from_sid);

/* Writer thread, inside the job of a pin: *n = the user's pinned conversations of both kinds — C2C ones
 * (store_msg_recent_pinned: the peer's account not deleted) other than with except_peer, group ones
 * (store_grp_pinned_count) other than group except_group (0: none) — the count the pin limit
 * (REL_PINNED_MAX, 51012) bounds. Counted in the writer job that pins, so two pins cannot pass the limit
 * together; reads the pinned rows only. 0 or storage errors. */
int im_c2c_pinned_count(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t except_peer, uint32_t except_group,
                        uint32_t *n);

/* ---- relationship events (c2c_rel.c) --------------------------------------------------- */
/* Writer thread, inside the job that writes a relationship change: append
 * a REL event with payload (a JSON object text, the push frame without
 * useq) to the user's inbox; *useq = its sequence. 0 or storage errors. */
int im_c2c_rel_append(store_t *s, uint32_t sdkappid, uint32_t user_no, int64_t at_s, const char *payload,
                      uint32_t *useq);
/* Loop thread, once that job is durable (in commit order, like every
 * done()): hand the event to the user's live sessions in useq order. */
void im_c2c_rel_deliver(im_c2c_t *c, uint32_t sdkappid, uint32_t user_no, uint32_t useq, int64_t at_s,
                        const char *payload);

/* ---- an account deleted (c2c_gone.c) -------------------------------------------------------- */
/* The peers told that an account was deleted: each whose conversation row with it the deletion removed
 * got a CONV_DEL event with seq STORE_CONV_DEL_GONE (messaging-c2c-checks3.md §79). Owned by the caller
 * until im_c2c_gone_deliver (or im_c2c_gone_free). */
typedef struct im_c2c_gone im_c2c_gone_t;
/* Writer thread, inside the job that deletes account user_no (user_id: its UserID), before
 * store_account_delete removes the peers' rows: append the peers' events (at at_s); *out = them (never
 * NULL on 0). The peers among going[0..ngoing) — accounts the same call deletes — get none (§87): each is
 * kept, untold, for im_c2c_gone_tell. 0, IMC_E_NOMEM or storage errors: the job (or the account's
 * savepoint) must roll back, or the events would stay without the deletion. */
int im_c2c_gone_append(store_t *s, uint32_t sdkappid, uint32_t user_no, const char *user_id, int64_t at_s,
                       const uint32_t *going, size_t ngoing, im_c2c_gone_t **out);
/* Writer thread, same job: peer, left untold by im_c2c_gone_append because it was to go too, stays (its
 * own deletion failed and rolled back): append its event now. 0 (also when g left no such peer untold),
 * IMC_E_NOMEM or storage errors: the job must fail. */
int im_c2c_gone_tell(store_t *s, im_c2c_gone_t *g, uint32_t peer);
/* Loop thread, once that job is durable (in commit order, like every done()): hand the events to the
 * peers' live sessions in useq order; frees g (NULL: nothing). */
void im_c2c_gone_deliver(im_c2c_t *c, im_c2c_gone_t *g);
/* The deletion did not commit: nothing is delivered. NULL: nothing. */
void im_c2c_gone_free(im_c2c_gone_t *g);

/* ---- maintenance ------------------------------------------------------------------- */
/* Start a retention pass: for every app whose edition is known
 * (im_limit_known; another is left alone and logged), delete messages and
 * inbox events older than its retention, group messages older than its
 * group retention (IM_LIMIT_GROUP_RETENTION_S), and trim conversation rows
 * beyond its kept limit, in bounded jobs on the writer (never on the loop).
 * Each app's C2C horizon becomes its floor (store_msg_floors): reads show
 * nothing older from then on, whatever its retention later becomes. No-op
 * while a pass runs. done (may be NULL) gets the number of rows deleted. */
void im_c2c_purge(im_c2c_t *c, void (*done)(void *ud, int rc, int64_t deleted), void *ud);
/* At startup: the app's purge floor as stored (store_msg_floors). IMC_E_NOMEM. */
int im_c2c_floor_set(im_c2c_t *c, uint32_t sdkappid, int64_t before_s);

#endif
