/* store_msg.h — durable one-to-one messages: the per-conversation message log,
 * the per-user sync log (inbox) and the per-user conversation rows.
 *
 * Layout (docs/decisions/messaging-c2c-storage.md): a C2C conversation is the
 * unordered pair of dense user numbers, conv = min << 32 | max. Messages are
 * appended to (app, conv) with seq = 1, 2, 3 … gap-free; every event a user
 * must see on all devices (a message, a recall, a read position, a receipt)
 * is appended to that user's inbox with useq = 1, 2, 3 … gap-free. The next
 * seq and useq are kept in memory by the backend's connection (read once with
 * max() per conversation/user, forgotten on any rollback), so an append never
 * reads-modifies-writes a counter row. A backend may append inbox events
 * and new conversation rows to logs first and merge them later
 * (store_msg_merge); every read sees each event and row once either way.
 *
 * All functions run on the connection's thread (the writer thread for
 * appends, a reader for pages). Strings in records handed to callbacks are
 * valid only during the callback. Every function returns 0 or IMC_E_*.
 * A backend exposes these through store_vtab_t.msg (store_msg_vtab_t).
 */
#ifndef IMC_STORE_MSG_H
#define IMC_STORE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Message flags (bits of store_msg_t.flags). */
enum {
  STORE_MSG_RECALLED     = 1u << 0,  /* MsgFlagBits 8 on the REST side */
  STORE_MSG_NO_UNREAD    = 1u << 1,  /* SendMsgControl NoUnread */
  STORE_MSG_NO_LAST      = 1u << 2,  /* SendMsgControl NoLastMsg */
  STORE_MSG_NEED_RECEIPT = 1u << 3,  /* IsNeedReadReceipt */
  STORE_MSG_MODIFIED     = 1u << 4,  /* body replaced by modify_c2c_msg */
  STORE_MSG_IMPORTED     = 1u << 5,  /* importmsg */
  STORE_MSG_NOT_FROM     = 1u << 6,  /* SyncOtherMachine 2: not in the sender's history nor lists */
  STORE_MSG_READ_IMPORT  = 1u << 7,  /* importmsg SyncFromOldSystem 2: the recipient has read it (never unread,
                                      * IsPeerRead); the read position does not move past earlier messages */
  STORE_MSG_CALLER_SEQ   = 1u << 8,  /* cseq is the caller's MsgSeq (REST MsgSeq given, importmsg), not one the
                                      * server drew: the send dedupe then tells messages apart by it */
};

/* Inbox event kinds. */
typedef enum {
  STORE_EV_MSG = 1,      /* a message of conv at seq */
  STORE_EV_RECALL = 2,   /* the message at (conv, seq) was recalled */
  STORE_EV_READ = 3,     /* this user read conv up to seq (own devices) */
  STORE_EV_RECEIPT = 4,  /* the peer read conv up to seq (read receipt) */
  STORE_EV_MODIFY = 5,   /* the message at (conv, seq) got a new body */
  STORE_EV_CONV_DEL = 6, /* this user deleted the conversation (seq: STORE_CONV_DEL_* bits) */
  STORE_EV_CONV_PIN = 7, /* this user pinned (seq = 1) or unpinned (seq = 0) the conversation */
  STORE_EV_REL = 8,      /* a relationship change this user must learn (conv 0, seq 0); its push
                            frame is kept by store_rel_event_put under the same useq (store_rel.h) */
} store_ev_kind_t;

/* The seq of a STORE_EV_CONV_DEL event: bits. */
enum {
  STORE_CONV_DEL_CLEARED = 1u << 0, /* the user's history of it was cleared too */
  STORE_CONV_DEL_GONE    = 1u << 1, /* not the user's doing: the peer's account was deleted, which removed the
                                     * user's conversation row (messaging-c2c-checks3.md §79) */
};

/* The send dedupe's MsgSeq rule (issue 13): two messages of one sender with
 * the same MsgRandom (and content, §69) are the same message unless both carry the caller's
 * MsgSeq (STORE_MSG_CALLER_SEQ) and the two differ. A MsgSeq the server drew
 * for a caller that gave none tells nothing apart: such a send matches by
 * MsgRandom alone, whatever the other one carried. */
static inline int store_msg_same_seq(uint32_t flags_a, uint32_t cseq_a, uint32_t flags_b, uint32_t cseq_b)
{
  return !(flags_a & flags_b & STORE_MSG_CALLER_SEQ) || cseq_a == cseq_b;
}

/* The conversation key of two users (order-free). */
static inline uint64_t store_c2c_conv(uint32_t a, uint32_t b)
{
  return a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
}

typedef struct store_msg {
  uint32_t sdkappid;
  uint64_t conv;
  uint32_t seq;              /* server sequence in the conversation (1, 2, …) */
  uint32_t from_no, to_no;
  int64_t time_s;            /* server time (importmsg: the caller's MsgTimeStamp) */
  uint32_t cseq, random;     /* the caller's MsgSeq and MsgRandom (MsgKey parts) */
  uint32_t flags;            /* STORE_MSG_* */
  int64_t life_s;            /* MsgLifeTime (offline delivery window); <= 0: none (the retention) */
  const char *body;          /* JSON object text {"MsgBody":…, …}; not NUL-terminated on output */
  size_t body_len;
  const char *from_id, *to_id; /* output only: the accounts' UserIDs (a deleted account's too, migration 37;
                                * "" for one deleted before it) */
} store_msg_t;

/* One append. The backend assigns seq (and useqs) unless it finds a
 * duplicate: a live (not imported) message of the same conversation, sender,
 * random and content (store_content.h: MsgBody and CloudCustomData, as the
 * original was sent, whatever set_body wrote since: messaging-c2c-checks2.md
 * §69, messaging-c2c-checks3.md §78) with time_s >= dedupe_since_s whose cseq is the append's
 * unless one of the two lacks STORE_MSG_CALLER_SEQ (store_msg_same_seq;
 * dedupe_since_s = 0: no check; an imported message is never a send's
 * original: messaging-c2c-checks.md §66); import_dedupe: the importmsg rule
 * instead — a message, live or imported, with the same cseq, random and
 * time_s in either direction.
 * A duplicate writes nothing and fills m.seq, m.time_s, m.cseq of the original. */
typedef struct store_msg_append {
  store_msg_t m;             /* in (seq ignored); out: seq */
  int64_t dedupe_since_s;
  uint8_t import_dedupe;
  uint8_t inbox_from, inbox_to;   /* append an inbox event to sender / recipient */
  uint8_t recent_from, recent_to; /* make sure sender / recipient have a conversation row (an existing row is not
                                   * rewritten: its last seq and time are derived from the log) */
  /* out */
  uint8_t dup;
  uint32_t useq_from, useq_to;    /* 0 when no event was appended */
} store_msg_append_t;

typedef struct store_inbox_ev {
  uint32_t useq;
  store_ev_kind_t kind;
  uint64_t conv;
  uint32_t seq;
  int64_t at_s;
  const char *peer_id;       /* the other user of conv (deleted: as from_id) */
  const store_msg_t *msg;    /* the message at (conv, seq) if it still exists, else NULL */
} store_inbox_ev_t;

/* A user's row for one conversation. */
typedef struct store_recent {
  uint32_t peer_no;
  const char *peer_id;
  uint32_t last_seq;          /* newest message of the conversation without STORE_MSG_NO_LAST, by time (the higher
                               * seq within a second; an imported message older than a later one is not it, §34) (0: none) */
  int64_t last_time_s;        /* its time (0: none); both derived from the message log when read */
  uint32_t read_seq;          /* this user has read up to here */
  int64_t pinned_at_s;        /* 0 = not pinned */
  int64_t pin_seq;            /* pinned: the user's pin order, higher = pinned later (0: pinned before migration 38) */
  uint32_t hidden_seq;        /* deleted at this last_seq: hidden until a newer message */
  uint32_t cleared_seq;       /* history up to here deleted for this user (ClearRamble) */
  int last_covered;           /* the app's purge floor covers the last message: no read shows it (store_msg_floors) */
} store_recent_t;

typedef void (*store_msg_cb)(void *ud, const store_msg_t *m);
typedef void (*store_inbox_cb)(void *ud, const store_inbox_ev_t *e);
/* One app's retention horizon in a purge pass (store_msg_purge_msgs). */
typedef struct store_msg_cut {
  uint32_t sdkappid;
  int64_t before_s;
  int64_t now_s;             /* store_msg_purge_msgs: the pass's clock; a floor above it (a pass ran while the clock
                                was ahead by more than the retention) is set to before_s instead of kept. 0: never
                                lowered. store_msg_floors: 0 */
} store_msg_cut_t;
typedef void (*store_recent_cb)(void *ud, const store_recent_t *r);

typedef struct store_msg_vtab {
  int version;  /* 2: merge added; 3: recent_trim in bounded steps (max_rows, more); 4: purge split into
                 * purge_msgs (every app in one pass) and purge_inbox (one app's users); 5: purge floors;
                 * 6: roam; 7: recent_pinned; 8: read_mark; 9: newest_at; 10: gone_peers */
  int (*append)(store_t *, store_msg_append_t *a);
  int (*inbox_add)(store_t *, uint32_t sdkappid, uint32_t user_no, store_ev_kind_t kind, uint64_t conv, uint32_t seq,
                   int64_t at_s, uint32_t *useq);
  int (*inbox_page)(store_t *, uint32_t sdkappid, uint32_t user_no, uint32_t after_useq, int limit, int64_t since_s,
                    store_inbox_cb cb, void *ud, uint32_t *max_useq);
  int (*get)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t seq, store_msg_cb cb, void *ud);
  int (*find_key)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t cseq, uint32_t random,
                  int64_t time_s, store_msg_cb cb, void *ud);
  int (*history)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t viewer_no, uint32_t before_seq,
                 uint32_t after_seq, int64_t min_time_s, int64_t max_time_s, int limit, store_msg_cb cb, void *ud);
  int (*set_flags)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t seq, uint32_t set_bits);
  int (*set_body)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t seq, const char *body, size_t len);
  int (*recent_list)(store_t *, uint32_t sdkappid, uint32_t user_no, store_recent_cb cb, void *ud);
  int (*recent_get)(store_t *, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, store_recent_t *out);
  int (*recent_set)(store_t *, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, const char *field, int64_t value);
  int (*unread)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq, uint32_t upto_seq,
                int64_t since_s, int64_t *n);
  int (*receipt_wanted)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq,
                        uint32_t upto_seq, int64_t since_s, int *yes);
  int (*purge_msgs)(store_t *, const store_msg_cut_t *cuts, size_t n, int limit, int64_t *cursor, int64_t *deleted,
                    int *more);
  int (*purge_inbox)(store_t *, uint32_t sdkappid, int64_t before_s, int limit, uint32_t *cursor, int64_t *deleted,
                     int *more);
  int (*recent_trim)(store_t *, uint32_t sdkappid, uint32_t user_no, int keep, int64_t before_s, int max_rows, int64_t *deleted,
                     int *more);
  int (*account_id)(store_t *, uint32_t sdkappid, uint32_t user_no, char *buf, size_t cap);
  int (*recent_users)(store_t *, uint32_t sdkappid, int more_than, uint32_t after_user, int max_users,
                      store_account_cb cb, void *ud, uint32_t *next_user);
  int (*merge)(store_t *, int mode, int *more);
  int (*floors)(store_t *, void (*cb)(void *, const store_msg_cut_t *), void *ud);
  int (*roam)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t viewer_no, uint32_t after_seq, int64_t min_time_s,
              int64_t max_time_s, int64_t below_time_s, uint32_t below_seq, int limit, store_msg_cb cb, void *ud);
  int (*recent_pinned)(store_t *, uint32_t sdkappid, uint32_t user_no, uint32_t except_peer, int64_t *n);
  int (*read_mark)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t after_seq, uint32_t upto_seq,
                   int64_t upto_time_s, uint32_t *mark);
  int (*newest_at)(store_t *, uint32_t sdkappid, uint64_t conv, uint32_t before_seq, int64_t min_time_s,
                   int64_t max_time_s, uint32_t *seq);
  int (*gone_peers)(store_t *, uint32_t sdkappid, uint32_t user_no, void (*cb)(void *ud, uint32_t peer_no), void *ud);
} store_msg_vtab_t;

/* Append a message (see store_msg_append_t). IMC_E_RANGE when a sequence
 * would pass 2^32-1. */
int store_msg_append(store_t *s, store_msg_append_t *a);
/* Append one event to a user's inbox; *useq = its sequence. */
int store_msg_inbox_add(store_t *s, uint32_t sdkappid, uint32_t user_no, store_ev_kind_t kind, uint64_t conv,
                        uint32_t seq, int64_t at_s, uint32_t *useq);
/* Events of a user with useq > after_useq, oldest first, at most limit.
 * Events at_s < since_s are skipped (retention). *max_useq = the user's
 * highest useq at the time of the read (0 if none). */
int store_msg_inbox_page(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t after_useq, int limit,
                         int64_t since_s, store_inbox_cb cb, void *ud, uint32_t *max_useq);
/* One message; IMC_E_NOTFOUND. */
int store_msg_get(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t seq, store_msg_cb cb, void *ud);
/* The message of a MsgKey (cseq, random, time_s) in conv; IMC_E_NOTFOUND.
 * Both sides of a conversation may send the same key (MsgSeq and MsgRandom
 * are the callers'): then the lowest seq. store_msg_find_key_from takes
 * only from_no's messages (0: any sender). */
int store_msg_find_key(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t cseq, uint32_t random, int64_t time_s,
                       store_msg_cb cb, void *ud);
int store_msg_find_key_from(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t cseq,
                            uint32_t random, int64_t time_s, store_msg_cb cb, void *ud);
/* Messages of conv with after_seq < seq < before_seq (before_seq 0 = no
 * bound) and min_time_s <= time_s <= max_time_s, newest first, at most limit.
 * store_msg_history_seen: those viewer_no sees, without its own messages
 * flagged STORE_MSG_NOT_FROM (viewer_no 0: every message). */
int store_msg_history(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t before_seq, uint32_t after_seq,
                      int64_t min_time_s, int64_t max_time_s, int limit, store_msg_cb cb, void *ud);
int store_msg_history_seen(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t viewer_no, uint32_t before_seq,
                           uint32_t after_seq, int64_t min_time_s, int64_t max_time_s, int limit, store_msg_cb cb,
                           void *ud);
/* The messages of conv viewer_no sees (as store_msg_history_seen) with
 * seq > after_seq and min_time_s <= time_s <= max_time_s, by time: newest
 * first, the higher seq first within a second; those after the cursor
 * (below_time_s, below_seq) in that order (below_time_s INT64_MAX: from the
 * newest), at most limit. The REST roaming order: an imported message takes
 * its place by its time, whatever seq it got (messaging-c2c-imports.md §34).
 * Reads the imported messages from the cursor down their index by time and
 * the live ones from the cursor's place down by seq (their times never
 * decrease along seq), at most limit of each (§45). */
int store_msg_roam(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t viewer_no, uint32_t after_seq,
                   int64_t min_time_s, int64_t max_time_s, int64_t below_time_s, uint32_t below_seq, int limit,
                   store_msg_cb cb, void *ud);
/* The read position of "read up to time upto_time_s" in conv above after_seq (the reader's read_seq),
 * given upto_seq, the newest message at or before that time: *mark = the largest s <= upto_seq such that
 * no message with seq in (after_seq, s] is newer than upto_time_s (those the purge floor covers left out).
 * An import older than live messages stored before it took a higher seq: the mark stays below those
 * live messages (messaging-c2c-imports.md §34). *mark <= after_seq: nothing to mark. Cost (§48): when
 * no message at or below after_seq is newer than upto_time_s, a binary search over seq on the newest time
 * up to each message (log2(seqs) seeks). Else (a read position above a newer message) the §47 search: a
 * binary search over the live seqs (one more seek per run of imports crossed), then the index entries of
 * the conversation's imports newer than upto_time_s (no row read). IMC_E_INVAL from a backend without
 * it, IMC_E_IO. */
int store_msg_read_mark(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t after_seq, uint32_t upto_seq,
                        int64_t upto_time_s, uint32_t *mark);
/* *seq = the highest seq below before_seq (0: no bound) of a message of conv with min_time_s <= time_s <=
 * max_time_s that the purge floor shows, 0 when none: store_msg_history's first message with limit 1 and
 * no after_seq. Cost (messaging-c2c-imports.md §48): a binary search over seq for the first message newer
 * than max_time_s (log2(seqs) seeks) and the first shown one below it; the imports above it at or before
 * the time cost the fewer of the messages above the answer and the imports of times in [min_time_s,
 * max_time_s] (twice that: both are read in turn). IMC_E_INVAL from a backend without it, IMC_E_IO. */
int store_msg_newest_at(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t before_seq, int64_t min_time_s,
                        int64_t max_time_s, uint32_t *seq);
/* OR bits into a message's flags; IMC_E_NOTFOUND. */
int store_msg_set_flags(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t seq, uint32_t set_bits);
/* Replace a message's body (and set STORE_MSG_MODIFIED); IMC_E_NOTFOUND. */
int store_msg_set_body(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t seq, const char *body, size_t len);
/* A user's conversation rows, any order. */
int store_msg_recent_list(store_t *s, uint32_t sdkappid, uint32_t user_no, store_recent_cb cb, void *ud);
/* One row (peer_id is NULL); IMC_E_NOTFOUND. */
int store_msg_recent_get(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, store_recent_t *out);
/* Set "read_seq" (never lowered), "pinned_at_s", "hidden_seq" or
 * "cleared_seq" of a row, creating the row if needed (a row a pin makes
 * starts read up to the conversation's last seq, or its waiting log row's
 * read position: messaging-c2c-conversations.md §41). IMC_E_INVAL (field). */
int store_msg_recent_set(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, const char *field,
                         int64_t value);
/* *n = how many C2C conversations user_no has pinned, other than the one
 * with except_peer (0: none) and those whose peer's account is deleted (no
 * list shows them). Reads the pinned rows only (a pin's cost does not grow
 * with the user's conversations). IMC_E_INVAL from a backend without it. */
int store_msg_recent_pinned(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t except_peer, int64_t *n);
/* cb(peer_no) for each account (ascending, other than user_no) whose conversation row with user_no the
 * deletion of account user_no removes (store_account_delete: the peers of user_no's own rows, written or
 * held). Writer thread, inside the job that deletes it, before it. IMC_E_INVAL from a backend without it. */
int store_msg_gone_peers(store_t *s, uint32_t sdkappid, uint32_t user_no, void (*cb)(void *ud, uint32_t peer_no),
                         void *ud);
/* Messages of conv from from_no with seq in (after_seq, upto_seq] (UINT32_MAX: no bound), time_s >= since_s,
 * not recalled, not NoUnread. */
int store_msg_unread(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq,
                     uint32_t upto_seq, int64_t since_s, int64_t *n);
/* *yes = 1 if a message from from_no in (after_seq, upto_seq] with time_s >= since_s (within retention)
 * asked for a read receipt. */
int store_msg_receipt_wanted(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t after_seq,
                             uint32_t upto_seq, int64_t since_s, int *yes);
/* The retention purge, in bounded steps (the caller keeps the cursor; a
 * step never reads a whole table or a whole app):
 *
 * store_msg_purge_msgs: a pass deleting the expired messages of every app in
 * cuts[0..n) (n >= 1, sorted by sdkappid, each once): a message of such an
 * app with time_s < its before_s goes unless it is its conversation's newest
 * or the last message one of its two users' conversation lists shows (not
 * NoLastMsg, not the user's own SyncOtherMachine 2 message); other apps'
 * messages stay. One pass reads the table once for all the apps
 * (rowid order), at most STORE_PURGE_SCAN_ROWS rows per call, and deletes at
 * most limit rows per call. *cursor = 0 starts a pass; each call stores where
 * the next one goes on. *more = 1: call again with it; 0: the pass has read
 * the last row. IMC_E_INVAL (n < 1, limit < 1, cuts not ascending). A
 * call with *cursor = 0 first raises each app's floor to its before_s
 * (store_msg_floors; a floor is never lowered, except one above the cut's
 * now_s: it becomes before_s), in the same transaction, and a floor it
 * raises (or replaces) then covers the messages stored at that moment; a
 * floor it leaves (before_s below it: a longer retention) keeps the
 * messages it covered.
 *
 * store_msg_purge_inbox: deleting the app's inbox events with at < before_s
 * (each user's newest stays): visits the app's user numbers above *cursor
 * (0: from the first) and below the app's next user number (numbers are
 * never reused; an app without a row is not bounded), at most
 * STORE_PURGE_WALK_USERS per call (a seek each, whatever it deletes), and
 * deletes at most limit events per call. *cursor: where the next call goes
 * on; *more = 1: call again with it; 0: the walk is done. */
#define STORE_PURGE_SCAN_ROWS 4096
#define STORE_PURGE_WALK_USERS 256
int store_msg_purge_msgs(store_t *s, const store_msg_cut_t *cuts, size_t n, int limit, int64_t *cursor,
                         int64_t *deleted, int *more);
int store_msg_purge_inbox(store_t *s, uint32_t sdkappid, int64_t before_s, int limit, uint32_t *cursor,
                          int64_t *deleted, int *more);
/* Every app's purge floor (sdkappid order): the highest before_s a purge
 * pass started with. The purge keeps each conversation's newest message
 * however old it is, so a message older than its app's floor that was
 * stored when the pass that set the floor began is shown by no read,
 * whatever the app's retention is now: every read above (inbox_page, get
 * and find_key, history, roam, unread, receipt_wanted) leaves it out, on
 * top of its since_s. A message stored later (importmsg of an old time) is
 * judged by since_s alone (messaging-c2c-retention.md §40). */
int store_msg_floors(store_t *s, void (*cb)(void *ud, const store_msg_cut_t *floor), void *ud);
/* One bounded step of keeping the user's `keep` most recent unpinned
 * conversation rows (pinned ones always stay; most recent: the newest
 * message without STORE_MSG_NO_LAST, then the higher seq, then the higher
 * peer number): reads at most max_rows (>= 1) of the user's rows, a seek
 * each for its last message, and deletes at most as many. *deleted = rows
 * removed by this step; *more = 1: call again with the same arguments (the
 * trim resumes where this step stopped; a call for another user, app or
 * keep starts over, as a pin change of the user, a purge of the app or a
 * rollback does). A row that gains a message between steps is judged by
 * its newest one. A whole trim reads each row twice. A trimmed row whose
 * history the user cleared (cleared_seq) is hidden, not deleted (a row made
 * again by a later message would show that history), unless every message
 * it cleared is older than before_s, the app's purge floor, and was
 * stored when the pass that set the floor began (shown by no read any
 * more; without a stored floor, older is enough): then it is deleted too
 * (INT64_MIN: never). IMC_E_INVAL (keep < 0, max_rows < 1), IMC_E_NOMEM,
 * IMC_E_IO, IMC_E_BUSY. */
int store_msg_recent_trim(store_t *s, uint32_t sdkappid, uint32_t user_no, int keep, int64_t before_s, int max_rows,
                          int64_t *deleted, int *more);
/* The UserID of a user number; IMC_E_NOTFOUND, IMC_E_TOOBIG (cap). */
int store_msg_account_id(store_t *s, uint32_t sdkappid, uint32_t user_no, char *buf, size_t cap);
/* One bounded step of a walk over user numbers for the users of the app
 * with more than more_than conversation rows (cb gets user_id NULL and the
 * user number): the next max_users (>= 1) numbers above after_user and
 * below the app's next user number that have a conversation row in any app
 * (apps share numbers), each checked
 * with one seek and at most more_than + 1 rows. *next_user: the last number
 * visited, the after_user of the next step; 0 when the walk has reached
 * the end. A whole walk starts at after_user 0. */
int store_msg_recent_users(store_t *s, uint32_t sdkappid, int more_than, uint32_t after_user, int max_users,
                           store_account_cb cb, void *ud, uint32_t *next_user);

/* The writer thread's housekeeping after a batch: move a bounded chunk of
 * a log into its table (the SQLite backend can append inbox events and new
 * conversation rows to two small keyed logs first, up to a cap; off since
 * wave 12, so only an older server's logged rows are left to merge;
 * sqlite_msg_log.c), in a transaction of its own; call it outside a
 * transaction. It also runs a bounded step of the SQLite backend's scan
 * of the conversations that have a message (sqlite_msg_nf.c: NF_STEP_BUSY
 * index entries while jobs wait, NF_STEP_IDLE while idle, until it is done;
 * with it, a new conversation's first append reads no max(seq)).
 * mode: STORE_MERGE_BUSY (jobs wait: merge
 * nothing), STORE_MERGE_IDLE (a chunk, if the log is big enough to be
 * worth one), STORE_MERGE_ALL (a chunk of whatever the log holds: tests,
 * tools). *more: 1 when more is worth merging now (call again, with the
 * mode rechecked). Every read sees each event and row exactly once whether
 * merged or not. Returns 0, IMC_E_IO, IMC_E_BUSY (another process holds the
 * write lock: try after the next batch). A backend without a log: 0. */
enum { STORE_MERGE_IDLE, STORE_MERGE_BUSY, STORE_MERGE_ALL };
int store_msg_merge(store_t *s, int mode, int *more);

#endif
