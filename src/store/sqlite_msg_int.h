/* sqlite_msg_int.h — what the files of the SQLite C2C backend share: the
 * statements and the connection's state (sqlite_msg.c), the rows of appends
 * held back and written together (sqlite_msg_pend.c), the send dedupe
 * window (sqlite_msg_win.c), the lookups of live messages without a
 * MsgRandom index (sqlite_msg_live.c), the inbox and conversation logs
 * and their merges (sqlite_msg_log.c) and a user's conversation rows as the
 * lists read them (sqlite_msg_list.c).
 *
 * Ownership: a struct sqmsg (with its sqpend_t and windows) belongs to one
 * connection and is used by the connection's thread only. */
#ifndef IMC_STORE_SQLITE_MSG_INT_H
#define IMC_STORE_SQLITE_MSG_INT_H

#include "store/sqlite_int.h"
#include "store/store_content.h"
#include "store/store_msg.h"
#include "util/err.h"
#include "util/u64map.h"

#ifndef PEND_MSGS                   /* overridable for measurements (-DPEND_MSGS=…) */
#define PEND_MSGS 8192                /* messages held before they are written (a cap, then a flush; messaging-c2c-commit.md §24) */
#endif
#define PEND_ROWS (2 * PEND_MSGS)     /* inbox events / conversation rows held */
#define PEND_BODY_BYTES (4u << 20)    /* held bodies' bytes: a message that would pass it is held after a flush */
#define PEND_HASH (2 * PEND_MSGS)     /* buckets of the held messages' conversation chains (a power of two) */

/* next: the index + 1 of the next held message of the same bucket, in
 * append order (0: the last); inext: for an imported one, the index + 1 of
 * the bucket's imported message held before it (0: the first); run_lo: an
 * imported one's c2c_msg.run_lo (the start of its run of imports), a SyncOtherMachine 2 one's (the start of
 * its sender's run of them, §51; 0 for a run of one), another NoLastMsg one's (the start of its run of
 * NoLastMsg messages, §57), 0 for another live one; max_t: an imported
 * one's c2c_msg.max_t (the newest time up to it, in the cache's range: it fits the struct's padding) */
typedef struct pend_msg { store_msg_t m; size_t body_off; int32_t next, inext; uint32_t run_lo, max_t; } pend_msg_t;
typedef struct pend_ev { uint32_t app, user, useq, seq; int kind; uint64_t conv; int64_t at; } pend_ev_t;
typedef struct pend_recent { uint32_t app, user, peer, read_seq; } pend_recent_t;
/* a relationship event's payload row (rel_event), the payload at body + off (shared with the one held before it
 * when the text is the same: a group change's members all get one) */
typedef struct pend_rel { uint32_t app, user, useq; int64_t at; size_t off, len; } pend_rel_t;

typedef struct sqpend {
  pend_msg_t msg[PEND_MSGS];
  pend_ev_t ev[PEND_ROWS];
  pend_recent_t recent[PEND_ROWS];
  pend_rel_t *rel;                   /* PEND_ROWS, allocated at the first held one */
  int nmsg, nev, nrecent, nrel;
  char *body;                        /* the held messages' bodies and relationship payloads, back to back */
  size_t body_len, body_cap;
  int32_t head[PEND_HASH], tail[PEND_HASH]; /* per bucket of (app, conv): its first and last held message's index + 1 */
  int32_t ihead[PEND_HASH];          /* per bucket: its last held imported message's index + 1 (run starts) */
  int64_t dup_visits;                /* held messages sq__pend_dup has visited (a measure for tests; never reset) */
  sqlite3_stmt *st[6];               /* per table: INSERT … SELECT FROM imc_pend(?1), prepared on first use */
  int feed_module;                   /* imc_pend registered on the connection (sqlite_msg_pend.c) */
  int64_t log_rows;                  /* rows in c2c_inbox_log, an estimate (sqlite_msg_log.c) */
  int64_t rlog_rows;                 /* rows in c2c_recent_log, an estimate (sqlite_msg_log.c) */
  int64_t log_cap, rlog_cap;         /* the logs' caps on this connection (0: off, every row direct) */
} sqpend_t;

/* Hold a c2c_msg row (the body is copied), an inbox event, a conversation
 * row (INSERT OR IGNORE, into c2c_recent_log up to its cap). A full buffer is written first. Returns 0,
 * IMC_E_NOMEM, or a flush error (the caller's job fails and rolls back). */
int sq__pend_msg(store_t *s, sqpend_t *p, const store_msg_t *m, uint32_t run_lo, uint32_t max_t);
int sq__pend_ev(store_t *s, sqpend_t *p, const pend_ev_t *e);
int sq__pend_recent(store_t *s, sqpend_t *p, uint32_t app, uint32_t user, uint32_t peer, uint32_t read_seq);
/* Hold a rel_event row (store_rel_event_put; the payload is copied). Same returns. */
int sq__pend_rel(store_t *s, sqpend_t *p, uint32_t app, uint32_t user, uint32_t useq, int64_t at, const char *payload);

/* Write every held row, in multi-row statements, into the innermost open
 * savepoint; the buffer is empty afterwards either way. On an error the
 * rows may be partly written: the caller must roll back (the writer does,
 * for a failing job, RELEASE or COMMIT). */
int sq__pend_flush(store_t *s, sqpend_t *p);

/* Forget every held row (ROLLBACK, ROLLBACK TO: they were all made after
 * the last savepoint statement, which flushed). */
void sq__pend_drop(sqpend_t *p);

static inline int sq__pend_any(const sqpend_t *p) { return p->nmsg || p->nev || p->nrecent || p->nrel; }
/* The body of held message i (p->msg[i].m.body_len bytes; valid until the next hold or flush). */
static inline const char *sq__pend_body(const sqpend_t *p, int i)
{
  return p->msg[i].m.body_len ? p->body + p->msg[i].body_off : "";
}

/* The held message of (app, conv) that matches a send's dedupe (a live
 * message of the same sender and random, time_s >= since_s,
 * store_msg_same_seq, the same content, store_content_same (§69): never an
 * imported one, §66) or importmsg's (same
 * cseq, random and time_s, live or imported), the lowest seq; NULL when
 * none. A send whose window answered needs none of it (the window holds
 * the held live rows). */
const store_msg_t *sq__pend_dup(sqpend_t *p, const store_msg_append_t *a);
/* The held messages of (app, conv) in append order (seq ascending):
 * for (int i = sq__pend_conv_next(p, -1, app, conv); i >= 0; i = sq__pend_conv_next(p, i, app, conv)) …p->msg[i]…
 * Each step skips the bucket's messages of other conversations. */
int sq__pend_conv_next(const sqpend_t *p, int i, uint32_t app, uint64_t conv);

/* The run_lo of the held imported message of (app, conv) with seq, when it is
 * the conversation's newest held import; 0 otherwise. Walks the bucket's
 * held imports from the newest to the conversation's first. */
uint32_t sq__pend_run_lo(const sqpend_t *p, uint32_t app, uint64_t conv, uint32_t seq);

/* The conversation's newest held message when it is its bucket's last held one (the usual case), else NULL
 * (none held, or another conversation of the bucket held one since: the caller reads the table, where a held
 * message is not, and so loses at most a run's continuation, §51). One look, no walk. */
const pend_msg_t *sq__pend_last(const sqpend_t *p, uint32_t app, uint64_t conv);

void sq__pend_free(sqpend_t *p);

/* ---- the send dedupe window of a conversation (sqlite_msg_win.c) ---- */
#define WIN_MAX 65536    /* entries per conversation (3 MiB with its hash); full, the oldest half goes (capped) */
#define WIN_HASH_MIN 64  /* a window of this capacity or more has a hash (sqlite_msg_win.c) */

/* caller: the message's STORE_MSG_CALLER_SEQ bit (its cseq tells sends apart, store_msg_same_seq); chash: its
 * content's hash (store_content_hash: a resend has the same content, messaging-c2c-checks2.md §69); link: the
 * window's own (the next entry of its (random, sender, chash) list, sqlite_msg_win.c), 0 elsewhere; 40 bytes */
typedef struct sqwin_ent {
  uint32_t seq, random, from_no, cseq;
  int64_t time_s;
  uint64_t chash;
  uint32_t caller, link;
} sqwin_ent_t;
/* Every live message of the conversation with time_s >= lo, ascending seq;
 * capped: the window dropped entries within the dedupe window to stay at
 * WIN_MAX (sqlite_msg_win.c): it answers for sends whose since is below lo
 * too. The hash slots (cap >= WIN_HASH_MIN) follow e[cap]. probes: the
 * entries the last sq__win_find compared (a statistic for the tests). */
typedef struct sqwin { int64_t lo; uint32_t n, cap, capped, probes; sqwin_ent_t e[]; } sqwin_t;

/* An empty window complete from lo (INT64_MIN: the conversation has no
 * message). NULL: out of memory. Free with free(). */
sqwin_t *sq__win_new(int64_t lo);
/* The first (lowest seq) entry of sender from_no with random, content hash
 * chash and time_s >= since_s whose cseq agrees with a send of flags (its
 * STORE_MSG_CALLER_SEQ bit) and cseq (store_msg_same_seq), NULL when none.
 * Exact only for since_s >= w->lo (a capped window: among the entries it
 * kept). A send without a caller MsgSeq may raise w->lo to since_s and
 * clear capped (entries older than since_s it passed are forgotten). */
const sqwin_ent_t *sq__win_find(sqwin_t *w, uint32_t random, uint32_t from_no, uint64_t chash, uint32_t flags,
                                uint32_t cseq, int64_t since_s);
/* Add a live message (its seq above every entry's; one older than lo is
 * not kept). since_s: the current send's since, used to prune when full;
 * full at WIN_MAX within since, the oldest half is dropped (capped). *w
 * may move (realloc). -1: out of memory (*w unchanged); the caller frees
 * it and answers from the table. */
int sq__win_push(sqwin_t **w, const sqwin_ent_t *e, int64_t since_s);

/* ---- the statements and the connection's state (sqlite_msg.c) ---- */
#define MSGCOLS "m.sdkappid,m.conv,m.seq,m.from_no,m.to_no,m.time_s,m.cseq,m.random,m.flags,m.life_s,m.body," \
                "coalesce(fa.user_id," SQ_GONE_ID("m.sdkappid", "m.from_no") ",'')," \
                "coalesce(ta.user_id," SQ_GONE_ID("m.sdkappid", "m.to_no") ",'')"
#define MSGJOIN " LEFT JOIN accounts fa ON fa.sdkappid=m.sdkappid AND fa.user_no=m.from_no" \
                " LEFT JOIN accounts ta ON ta.sdkappid=m.sdkappid AND ta.user_no=m.to_no"

/* The last message of a conversation row r that counts for the list (not
 * NoLastMsg, not a SyncOtherMachine 2 message of the row's user). The
 * list's last seq and time are derived from the message log, never stored
 * per message (docs/decisions/messaging-c2c-storage.md §4). That is the
 * newest by seq; when it is imported, its readers take the newest by time
 * instead (sq__last_by_time, §34), seeing l.flags. The lists (RECENT_TOPJOIN)
 * join the conversation's newest message, one step down the (sdkappid, conv,
 * seq) index from the end, and when the user's list does not show it walk in
 * C to the one it shows, a run of the user's own SyncOtherMachine 2 messages
 * in one seek (sq__msg_listed, §54); so does the trim (TRIM_ROWS). */
#define RECENT_CONV "(CASE WHEN r.user_no<r.peer_no THEN (r.user_no<<32)|r.peer_no ELSE (r.peer_no<<32)|r.user_no END)"
#define RECENT_TOPJOIN " LEFT JOIN c2c_msg l ON l.id=(SELECT m.id FROM c2c_msg m WHERE m.sdkappid=r.sdkappid" \
                       " AND m.conv=" RECENT_CONV " ORDER BY m.seq DESC LIMIT 1)"

/* MsgRandom lookups (dedupe, MsgKey) of imported messages go through the
 * partial index on imported rows, (conv, sdkappid, time_s, seq) since
 * migration 48 (importmsg's dedupe and a MsgKey read the imports of the
 * key's second, a send's dedupe those since its window's start), named:
 * left to itself the planner takes the unique (conv, sdkappid, seq) index,
 * which also has the two equality columns, and reads every message of the
 * conversation. The
 * queries repeat the index's condition, (flags&32)!=0, so that it applies
 * (a missing or inapplicable index fails the preparation). They take the
 * first match with min(seq) (SQLite fills the other columns from that row;
 * one row, NULL when none) rather than ORDER BY, which opens a sorter.
 * Live messages have no MsgRandom index: the send dedupe reads the
 * conversation's window (sqlite_msg_win.c), MsgKey and import lookups
 * binary-search seq for the key's second (walk_second, over WALK_UP). */
/* A user's inbox events after useq ?3 from at ?4 on, the first ?5 in useq order: the merged ones
 * (c2c_inbox) and the log's (c2c_inbox_log, the same key since migration 32), each read from a seek in
 * key order, merged by the compound's ORDER BY. An event is in exactly one of them (the merge moves it
 * in one transaction). */
#define LOG_COLS "sdkappid,user_no,useq,kind,conv,seq,at"
/* The app's purge floor (c2c_purge_floor, migrations 33 and 42): no read shows a message it covers, one
 * older than its horizon (before_s) that was stored when the pass that recorded it began (id <= upto_id).
 * A message stored later (an import of an old time) is judged by the retention alone, which the caller
 * gives as the reads' since (docs/decisions/messaging-c2c-retention.md §27, §40). app: the app's parameter;
 * without a floor nothing is covered. */
#define FLOOR_S(app) "coalesce((SELECT before_s FROM c2c_purge_floor WHERE sdkappid=" app "),-9223372036854775807-1)"
#define FLOOR_ID(app) "coalesce((SELECT upto_id FROM c2c_purge_floor WHERE sdkappid=" app "),0)"
/* 1 when the message with these time and id columns is not covered by the floor */
#define FLOOR_SHOWS(t, id, app) " (" t ">=" FLOOR_S(app) " OR " id ">" FLOOR_ID(app) ")"
/* the same for an inbox event of table tbl: one at or above the floor, or a message event whose message is
 * not covered (an event's at is its message's time) */
#define EV_FLOOR_SHOWS(tbl) " (" tbl ".at>=" FLOOR_S("?1") " OR (" tbl ".kind=1 AND EXISTS (SELECT 1 FROM c2c_msg x" \
  " WHERE x.conv=" tbl ".conv AND x.sdkappid=?1 AND x.seq=" tbl ".seq AND x.id>" FLOOR_ID("?1") ")))"
/* the other user of an inbox event i's conversation */
#define INBOX_PEER "(CASE WHEN (i.conv>>32)=i.user_no THEN i.conv&4294967295 ELSE i.conv>>32 END)"
#define INBOX_EVS "SELECT " LOG_COLS " FROM c2c_inbox WHERE sdkappid=?1 AND user_no=?2 AND useq>?3 AND at>=?4" \
                  " AND" EV_FLOOR_SHOWS("c2c_inbox") " UNION ALL SELECT " LOG_COLS " FROM c2c_inbox_log WHERE sdkappid=?1" \
                  " AND user_no=?2 AND useq>?3 AND at>=?4 AND" EV_FLOOR_SHOWS("c2c_inbox_log") " ORDER BY useq LIMIT ?5"

/* A user's conversation rows (cond: "" or " AND peer_no=?3"): c2c_recent's, and c2c_recent_log's not
 * merged yet, with the fields a new row has (0). A pair can be in both (an upsert of read_seq, pin, hide or
 * clear made the row while its log row waited): the log's is then left out, so each pair comes once. */
#define RECENT_ROWS(cond) "(SELECT sdkappid,user_no,peer_no,read_seq,pinned_at,hidden_seq,cleared_seq,pin_seq FROM c2c_recent" \
  " WHERE sdkappid=?1 AND user_no=?2" cond " UNION ALL SELECT sdkappid,user_no,peer_no,read_seq,0,0,0,0 FROM c2c_recent_log g_log" \
  " WHERE sdkappid=?1 AND user_no=?2" cond " AND NOT EXISTS (SELECT 1 FROM c2c_recent x WHERE x.user_no=g_log.user_no" \
  " AND x.sdkappid=g_log.sdkappid AND x.peer_no=g_log.peer_no))"

/* A conversation row's read_seq while it waits in the log (0: none there):
 * an upsert that makes the c2c_recent row first takes it along, since the
 * merge's INSERT OR IGNORE then leaves that row as it is. Only then: a row
 * already in c2c_recent is the row (a log row of the same key, written when
 * the writer's cache had forgotten the row, is a stale copy the merge drops). */
#define RECENT_LOG_READ "coalesce((SELECT g.read_seq FROM c2c_recent_log g WHERE g.user_no=?2 AND g.sdkappid=?1" \
  " AND g.peer_no=?3),0)"

/* The conversation of user ?2 and peer ?3 (store_c2c_conv) */
#define PIN_CONV "(CASE WHEN ?2<?3 THEN (?2<<32)|?3 ELSE (?3<<32)|?2 END)"

/* 1 when the purge floor covers a conversation row's last message l (none: 0): no read shows it, the row is
 * empty (messaging-c2c-imports.md §47) */
/* GONE_PEERS: the row's user is an account (not one deleted before) */
#define GONE_LIVE " AND EXISTS (SELECT 1 FROM accounts a WHERE a.sdkappid=?1 AND a.user_no=r.user_no)"
#define LAST_COVERED "coalesce(NOT" FLOOR_SHOWS("l.time_s", "l.id", "?1") ",0)"

#define IMP_IDX " INDEXED BY c2c_msg_imported"
#define IMP_ROW " AND (flags&32)!=0"

#define MSTMTS(X) \
  X(MAX_SEQ, "SELECT max(seq) FROM c2c_msg WHERE sdkappid=?1 AND conv=?2") \
  X(NF_NEXT, "SELECT conv,sdkappid FROM c2c_msg WHERE (conv,sdkappid)>(?1,?2) ORDER BY conv,sdkappid") \
  /* the messages below seq ?3 down the seqs (sq__live_down): col 6 an imported row's run start (run_lo, \
   * migration 48); WALK_SHOWN's col 7 whether the purge floor shows it (a read's; the writer's walks need none) */ \
  X(WALK, "SELECT seq,random,from_no,cseq,time_s,flags,coalesce(run_lo,seq) FROM c2c_msg WHERE sdkappid=?1" \
          " AND conv=?2 AND seq<?3 ORDER BY seq DESC") \
  X(WALK_SHOWN, "SELECT seq,random,from_no,cseq,time_s,flags,coalesce(run_lo,seq)," FLOOR_SHOWS("time_s", "id", "?1") \
                " FROM c2c_msg WHERE sdkappid=?1 AND conv=?2 AND seq<?3 ORDER BY seq DESC") \
  /* WALK with col 7 the body and col 8 its original content's hash (a modified row's, else NULL): a dedupe \
   * window's load hashes each row's content (§69), the content it was sent with (§78); no other walk reads it */ \
  X(WALK_BODY, "SELECT seq,random,from_no,cseq,time_s,flags,coalesce(run_lo,seq),body,orig_hash FROM c2c_msg" \
               " WHERE sdkappid=?1" \
               " AND conv=?2 AND seq<?3 ORDER BY seq DESC") \
  /* a written message's flags, run start and sender (an import, or a SyncOtherMachine 2 message of the same \
   * sender, appended after it continues its run) */ \
  X(RUN_OF, "SELECT flags,coalesce(run_lo,seq),from_no FROM c2c_msg WHERE sdkappid=?1 AND conv=?2 AND seq=?3") \
  /* the conversation's newest imported time: one seek at the end of its entries in the partial index */ \
  X(IMP_MAX_TIME, "SELECT max(time_s) FROM c2c_msg" IMP_IDX " WHERE conv=?2 AND sdkappid=?1" IMP_ROW) \
  X(ANY_IMP, "SELECT 1 FROM c2c_msg" IMP_IDX " WHERE 1" IMP_ROW " LIMIT 1") \
  X(MAX_USEQ, "SELECT max(coalesce((SELECT max(useq) FROM c2c_inbox WHERE sdkappid=?1 AND user_no=?2),0)," \
              "coalesce((SELECT max(useq) FROM c2c_inbox_log WHERE sdkappid=?1 AND user_no=?2),0))") \
  X(LOG_COUNT, "SELECT count(*) FROM c2c_inbox_log") \
  X(LOG_NTH, "SELECT user_no,sdkappid,useq FROM c2c_inbox_log WHERE (user_no,sdkappid,useq)>(?1,?2,?3)" \
             " ORDER BY user_no,sdkappid,useq LIMIT 1 OFFSET ?4") \
  X(LOG_MERGE, "INSERT OR FAIL INTO c2c_inbox(sdkappid,user_no,useq,kind,conv,seq,at) SELECT " LOG_COLS " FROM c2c_inbox_log" \
               " WHERE (user_no,sdkappid,useq)>(?4,?5,?6) AND (user_no,sdkappid,useq)<=(?1,?2,?3)") \
  X(LOG_DELETE, "DELETE FROM c2c_inbox_log WHERE (user_no,sdkappid,useq)>(?4,?5,?6) AND (user_no,sdkappid,useq)<=(?1,?2,?3)") \
  X(RLOG_COUNT, "SELECT count(*) FROM c2c_recent_log") \
  X(RLOG_NTH, "SELECT user_no,sdkappid,peer_no FROM c2c_recent_log WHERE (user_no,sdkappid,peer_no)>(?1,?2,?3)" \
              " ORDER BY user_no,sdkappid,peer_no LIMIT 1 OFFSET ?4") \
  X(RLOG_MERGE, "INSERT OR IGNORE INTO c2c_recent(sdkappid,user_no,peer_no,read_seq) SELECT sdkappid,user_no,peer_no,read_seq" \
                " FROM c2c_recent_log WHERE (user_no,sdkappid,peer_no)>(?4,?5,?6) AND (user_no,sdkappid,peer_no)<=(?1,?2,?3)") \
  X(RLOG_DELETE, "DELETE FROM c2c_recent_log WHERE (user_no,sdkappid,peer_no)>(?4,?5,?6)" \
                 " AND (user_no,sdkappid,peer_no)<=(?1,?2,?3)") \
  X(DEDUPE_IMPORT, "SELECT min(seq),time_s,cseq FROM c2c_msg" IMP_IDX " WHERE sdkappid=?1 AND conv=?2" \
                   " AND random=?3 AND cseq=?4 AND time_s=?5 AND (?6=0 OR from_no=?6)" IMP_ROW) \
  X(INBOX_INS, "INSERT INTO c2c_inbox_log(sdkappid,user_no,useq,kind,conv,seq,at) VALUES(?1,?2,?3,?4,?5,?6,?7)") \
  X(INBOX_INS_DIRECT, "INSERT INTO c2c_inbox(sdkappid,user_no,useq,kind,conv,seq,at) VALUES(?1,?2,?3,?4,?5,?6,?7)") \
  X(RECENT_READ, "INSERT INTO c2c_recent(sdkappid,user_no,peer_no,read_seq) VALUES(?1,?2,?3,max(?4," RECENT_LOG_READ "))" \
                 " ON CONFLICT DO UPDATE SET read_seq=max(read_seq, ?4)") \
  /* a pin (?4 > 0) with its pin order ?5 (sq__pin_take: pins within one second list latest first); an \
   * unpin (?4 = 0, ?5 = 0) clears both. A row the pin makes starts read as a message's does (§28): the \
   * waiting log row's read position, else the conversation's last seq (a conversation the trim forgot \
   * comes back with nothing unread; a new one has no message: 0) (§41) */ \
  X(RECENT_PIN, "INSERT INTO c2c_recent(sdkappid,user_no,peer_no,pinned_at,pin_seq,read_seq) VALUES(?1,?2,?3,?4,?5," \
                "coalesce((SELECT g.read_seq FROM c2c_recent_log g WHERE g.user_no=?2 AND g.sdkappid=?1" \
                " AND g.peer_no=?3),(SELECT max(seq) FROM c2c_msg WHERE sdkappid=?1 AND conv=" PIN_CONV "),0))" \
                " ON CONFLICT DO UPDATE SET pinned_at=excluded.pinned_at, pin_seq=excluded.pin_seq") \
  /* the user's next pin order (migration 42; sqlite_pin.c) */ \
  X(PIN_TAKE, "INSERT INTO pin_order(sdkappid,user_no,last) VALUES(?1,?2,1) ON CONFLICT DO UPDATE SET last=last+1" \
              " RETURNING last") \
  /* the user's pinned C2C conversations but the one with ?3, whose peer is an account (a deleted peer's row \
   * is listed nowhere): the pinned rows only, through their partial index (named: a missing or inapplicable \
   * index fails the preparation rather than reading the user's every row) */ \
  X(PIN_COUNT_C2C, "SELECT count(*) FROM c2c_recent r INDEXED BY c2c_recent_pinned WHERE r.user_no=?2" \
                   " AND r.sdkappid=?1 AND r.pinned_at>0 AND r.peer_no!=?3 AND EXISTS (SELECT 1 FROM accounts a" \
                   " WHERE a.sdkappid=r.sdkappid AND a.user_no=r.peer_no)") \
  /* the users whose conversation row with ?2 (an account being deleted) the deletion removes, that are \
   * accounts themselves (ascending: UNION sorts) */ \
  X(GONE_PEERS, "SELECT r.user_no FROM c2c_recent r WHERE r.sdkappid=?1 AND r.peer_no=?2 AND r.user_no!=?2" \
                " AND r.user_no IN " SQ_ACC_PEERS_OF GONE_LIVE \
                " UNION SELECT r.user_no FROM c2c_recent_log r WHERE r.sdkappid=?1 AND r.peer_no=?2 AND r.user_no!=?2" \
                " AND r.user_no IN " SQ_ACC_PEERS_OF GONE_LIVE) \
  X(RECENT_HIDE, "INSERT INTO c2c_recent(sdkappid,user_no,peer_no,hidden_seq,read_seq) VALUES(?1,?2,?3,?4," RECENT_LOG_READ ")" \
                 " ON CONFLICT DO UPDATE SET hidden_seq=excluded.hidden_seq") \
  X(RECENT_CLEAR, "INSERT INTO c2c_recent(sdkappid,user_no,peer_no,cleared_seq,read_seq) VALUES(?1,?2,?3,?4," RECENT_LOG_READ ")" \
                  " ON CONFLICT DO UPDATE SET cleared_seq=max(cleared_seq, excluded.cleared_seq)") \
  /* a user's conversation rows with the conversation's newest message l (col 11 its sender): the caller \
   * replaces one the user's list does not show (sqlite_msg_list.c) */ \
  X(RECENT_LIST, "SELECT r.peer_no,coalesce(a.user_id,''),coalesce(l.seq,0),coalesce(l.time_s,0),r.read_seq,r.pinned_at," \
                 "r.hidden_seq,r.cleared_seq,r.pin_seq,coalesce(l.flags,0)," LAST_COVERED ",coalesce(l.from_no,0) FROM " \
                 RECENT_ROWS("") " r" RECENT_TOPJOIN \
                 " LEFT JOIN accounts a ON a.sdkappid=r.sdkappid AND a.user_no=r.peer_no") \
  X(RECENT_GET, "SELECT r.peer_no,'',coalesce(l.seq,0),coalesce(l.time_s,0),r.read_seq,r.pinned_at,r.hidden_seq," \
                "r.cleared_seq,r.pin_seq,coalesce(l.flags,0)," LAST_COVERED ",coalesce(l.from_no,0) FROM " \
                RECENT_ROWS(" AND peer_no=?3") " r" RECENT_TOPJOIN) \
  /* whether the floor covers a conversation's message (a row's last message by time, sqlite_msg.c) */ \
  X(COVERED, "SELECT NOT" FLOOR_SHOWS("time_s", "id", "?1") " FROM c2c_msg WHERE sdkappid=?1 AND conv=?2 AND seq=?3") \
  /* a user's rows from peer ?3 on with the conversation's newest message l (as RECENT_LIST's; the caller \
   * takes the last listed one, sqlite_msg_trim.c row_key) */ \
  X(TRIM_ROWS, "SELECT r.peer_no,r.pinned_at,coalesce(l.time_s,0),coalesce(l.seq,0),coalesce(l.from_no,0)," \
               "coalesce(l.flags,0),r.hidden_seq FROM c2c_recent r" RECENT_TOPJOIN \
               " WHERE r.sdkappid=?1 AND r.user_no=?2 AND r.peer_no>?3 ORDER BY r.peer_no LIMIT ?4") \
  X(TRIM_DEL, "DELETE FROM c2c_recent WHERE sdkappid=?1 AND user_no=?2 AND peer_no=?3 AND pinned_at=0 AND cleared_seq=0") \
  /* a cleared row whose cleared messages are all older than the horizon (?4) and were stored when the pass \
   * that recorded the app's floor began (its upto_id; without a floor row, by time alone): its clear hides \
   * nothing a read shows */ \
  X(TRIM_GONE, "DELETE FROM c2c_recent WHERE sdkappid=?1 AND user_no=?2 AND peer_no=?3 AND pinned_at=0 AND cleared_seq>0" \
               " AND NOT EXISTS (SELECT 1 FROM c2c_msg m WHERE m.sdkappid=?1 AND m.conv=?5" \
               " AND m.seq<=c2c_recent.cleared_seq AND (m.time_s>=?4 OR m.id>coalesce((SELECT upto_id FROM c2c_purge_floor" \
               " WHERE sdkappid=?1),9223372036854775807)))") \
  /* a row ?2->?3 the trim removed: noted while the peer's row with the user (?3->?2) is there, written or \
   * in the log (its deletion then reaches it: SQ_ACC_PEERS_OF); the peer's own note of a row ?3->?2 named \
   * a row that is gone (messaging-c2c-checks3.md §87) */ \
  X(TRIM_NOTE, "INSERT OR IGNORE INTO c2c_trimmed(sdkappid,user_no,peer_no) SELECT ?1,?2,?3 WHERE ?3!=?2 AND" \
               " (EXISTS (SELECT 1 FROM c2c_recent WHERE sdkappid=?1 AND user_no=?3 AND peer_no=?2) OR" \
               " EXISTS (SELECT 1 FROM c2c_recent_log WHERE user_no=?3 AND sdkappid=?1 AND peer_no=?2))") \
  X(TRIM_PRUNE, "DELETE FROM c2c_trimmed WHERE user_no=?3 AND sdkappid=?1 AND peer_no=?2") \
  X(TRIM_HIDE, "UPDATE c2c_recent SET hidden_seq=max(hidden_seq,?4) WHERE sdkappid=?1 AND user_no=?2 AND peer_no=?3" \
               " AND pinned_at=0 AND cleared_seq>0") \
  X(INBOX_PAGE, "SELECT i.useq,i.kind,i.conv,i.seq,i.at," MSGCOLS ",coalesce(pa.user_id," \
                SQ_GONE_ID("i.sdkappid", INBOX_PEER) ",'') FROM (" INBOX_EVS ") i" \
                " LEFT JOIN c2c_msg m ON m.sdkappid=i.sdkappid AND m.conv=i.conv AND m.seq=i.seq AND m.time_s>=?4 AND" \
                FLOOR_SHOWS("m.time_s", "m.id", "?1") \
                MSGJOIN " LEFT JOIN accounts pa ON pa.sdkappid=i.sdkappid AND pa.user_no=" INBOX_PEER " ORDER BY i.useq") \
  X(GET, "SELECT " MSGCOLS " FROM c2c_msg m" MSGJOIN " WHERE m.sdkappid=?1 AND m.conv=?2 AND m.seq=?3 AND" \
         FLOOR_SHOWS("m.time_s", "m.id", "?1")) \
  /* a page by seq for viewer ?8: its own SyncOtherMachine 2 messages are left out, but one whose run of them \
   * goes on below (run_lo, §51) is returned with its run start (col 13): the caller seeks below it */ \
  X(HISTORY, "SELECT " MSGCOLS ",coalesce(m.run_lo,m.seq) FROM c2c_msg m" MSGJOIN " WHERE m.sdkappid=?1 AND m.conv=?2" \
             " AND m.seq<?3 AND m.seq>?4 AND m.time_s>=?5 AND m.time_s<=?6" \
             " AND NOT ((m.flags&64)!=0 AND m.from_no=?8 AND coalesce(m.run_lo,m.seq)>=m.seq) AND" \
             FLOOR_SHOWS("m.time_s", "m.id", "?1") " ORDER BY m.seq DESC LIMIT ?7") \
  /* a REST roaming page's imported messages: by (time, seq) newest first below (?6, ?7), down to ?4, after the \
   * clear ?3, seen by ?8, at most ?9: a range of the partial index read from the cursor (sqlite_msg_imp.c) */ \
  X(IMP_PAGE, "SELECT seq,time_s FROM c2c_msg" IMP_IDX " WHERE conv=?2 AND sdkappid=?1" IMP_ROW \
              " AND (time_s,seq)<(?6,?7) AND time_s>=?4 AND seq>?3 AND NOT ((flags&64)!=0 AND from_no=?8) AND" \
              FLOOR_SHOWS("time_s", "id", "?1") " ORDER BY time_s DESC,seq DESC LIMIT ?9") \
  /* the newest imported message by (time, seq) that user ?3's list shows (sq__msg_lists) */ \
  X(IMP_LAST, "SELECT seq,time_s FROM c2c_msg" IMP_IDX " WHERE conv=?2 AND sdkappid=?1" IMP_ROW " AND (flags&4)=0" \
              " AND NOT ((flags&64)!=0 AND from_no=?3) ORDER BY time_s DESC,seq DESC LIMIT 1") \
  /* a time read mark's imports (sqlite_msg_imp.c): the lowest seq in (?4, ?5) of an import newer than ?3 \
   * that the floor shows, 0 when none: the entries of the partial index newer than ?3 (no row is read) */ \
  X(IMP_NEWER, "SELECT coalesce(min(seq),0) FROM c2c_msg" IMP_IDX " WHERE conv=?2 AND sdkappid=?1" IMP_ROW \
               " AND time_s>?3 AND seq>?4 AND seq<?5 AND" FLOOR_SHOWS("time_s", "id", "?1")) \
  /* the highest message at or below seq ?3: its seq, the newest time up to it (an import's max_t, a live \
   * row's own time: migration 51) and its time; one seek (a time read mark's binary search, sqlite_msg_imp.c) */ \
  X(NEWEST_UPTO, "SELECT seq,coalesce(max_t,time_s),time_s FROM c2c_msg WHERE sdkappid=?1 AND conv=?2 AND seq<=?3" \
                 " ORDER BY seq DESC LIMIT 1") \
  /* the newest message at or before a time (sqlite_msg_imp.c): every message in [?4, ?3) from the top down, \
   * and the imports of times [?3, ?4] through the partial index (entries only), each a row a step \
   * (the caller tests the floor, FLOOR_OF: a test in the statement would run its lookups a row) */ \
  X(DOWN_FROM, "SELECT seq,time_s,id FROM c2c_msg WHERE sdkappid=?1 AND conv=?2 AND seq<?3 AND seq>=?4" \
               " ORDER BY seq DESC") \
  X(IMP_UPTO, "SELECT seq,time_s,id FROM c2c_msg" IMP_IDX " WHERE conv=?2 AND sdkappid=?1" IMP_ROW \
              " AND time_s>=?3 AND time_s<=?4") \
  X(FLOOR_OF, "SELECT " FLOOR_S("?1") "," FLOOR_ID("?1")) \
  /* a roaming page's imports older than the floor's before_s (§53): by (time, seq) newest first below (?3, ?4), \
   * down to ?5, each either covered (col 2: stored when the pass began, id <= ?6; the caller seeks below its \
   * second) or one the page lists (after the clear ?7, seen by ?8); entries only for a covered one */ \
  X(IMP_BELOW, "SELECT seq,time_s,id<=?6 FROM c2c_msg" IMP_IDX " WHERE conv=?2 AND sdkappid=?1" IMP_ROW \
               " AND (time_s,seq)<(?3,?4) AND time_s>=?5" \
               " AND (id<=?6 OR (seq>?7 AND NOT ((flags&64)!=0 AND from_no=?8)))" \
               " ORDER BY time_s DESC,seq DESC") \
  /* the conversation's messages from the newest down (a roaming page reads those stored since the pass, §53) */ \
  X(SINCE_DOWN, "SELECT seq,time_s,id,flags,from_no FROM c2c_msg WHERE sdkappid=?1 AND conv=?2 ORDER BY seq DESC") \
  X(SET_FLAGS, "UPDATE c2c_msg SET flags=flags|?4 WHERE sdkappid=?1 AND conv=?2 AND seq=?3") \
  /* a modification keeps the hash of the content the message was sent with, written by its first one (the \
   * right-hand sides read the row before the update; migration 54, messaging-c2c-checks3.md §78) */ \
  X(SET_BODY, "UPDATE c2c_msg SET orig_hash=coalesce(orig_hash,imc_content_hash(body)), body=?4, flags=flags|16" \
              " WHERE sdkappid=?1 AND conv=?2 AND seq=?3") \
  X(UNREAD, "SELECT count(*) FROM c2c_msg WHERE sdkappid=?1 AND conv=?2 AND seq>?3 AND seq<=?6 AND from_no=?4" \
            " AND time_s>=?5" \
            " AND (flags&131)=0 AND" FLOOR_SHOWS("time_s", "id", "?1")) /* not recalled, NoUnread or read when imported */ \
  X(RECEIPT, "SELECT 1 FROM c2c_msg WHERE sdkappid=?1 AND conv=?2 AND seq>?3 AND seq<=?4 AND from_no=?5" \
             " AND time_s>=?6 AND (flags&8)!=0 AND" FLOOR_SHOWS("time_s", "id", "?1") " LIMIT 1") \
  X(ACCOUNT_ID, "SELECT user_id FROM accounts WHERE sdkappid=?1 AND user_no=?2") \
  X(RECENT_USERS, "WITH RECURSIVE u(n,k) AS (SELECT (SELECT user_no FROM c2c_recent WHERE user_no>?2 AND user_no<?5" \
                  " ORDER BY user_no LIMIT 1),1 UNION ALL SELECT (SELECT user_no FROM c2c_recent WHERE user_no>u.n" \
                  " AND user_no<?5 ORDER BY user_no LIMIT 1)," \
                  "k+1 FROM u WHERE u.n IS NOT NULL AND k<?4) SELECT n,(SELECT 1 FROM c2c_recent r WHERE r.user_no=u.n" \
                  " AND r.sdkappid=?1 LIMIT 1 OFFSET ?3) IS NOT NULL FROM u WHERE n IS NOT NULL") \
  /* never lowered, except a floor above the pass's clock ?3 (> 0): the clock stepped back past it */ \
  /* the floor covers the messages stored now (upto_id); a floor kept because the pass's horizon is below \
   * it (a longer retention) keeps its own bound, so what was stored since is judged by the retention */ \
  X(FLOOR_RAISE, "INSERT INTO c2c_purge_floor(sdkappid,before_s,upto_id) VALUES(?1,?2,(SELECT coalesce(max(id),0)" \
                 " FROM c2c_msg)) ON CONFLICT DO UPDATE SET before_s=CASE WHEN ?3>0 AND before_s>?3 THEN" \
                 " excluded.before_s ELSE max(before_s,excluded.before_s) END, upto_id=CASE WHEN (?3>0 AND" \
                 " before_s>?3) OR excluded.before_s>=before_s THEN excluded.upto_id ELSE upto_id END") \
  X(FLOOR_LIST, "SELECT sdkappid,before_s FROM c2c_purge_floor ORDER BY sdkappid") \
  X(PURGE_WINDOW, "SELECT max(id),count(*) FROM (SELECT id FROM c2c_msg WHERE id>?1 ORDER BY id LIMIT ?2)") \
  X(PURGE_SCAN, "SELECT id,sdkappid,time_s FROM c2c_msg WHERE id>?1 AND id<=?2 AND time_s<?3 ORDER BY id") \
  /* an expired message and its conversation's newest seq: the purge keeps it when it is that one, or the \
   * last message either user's list shows (sq__msg_listed; sqlite_msg.c purge_keeps) */ \
  X(PURGE_ROW, "SELECT sdkappid,conv,seq,from_no,to_no,flags,(SELECT max(seq) FROM c2c_msg m2" \
               " WHERE m2.sdkappid=c2c_msg.sdkappid AND m2.conv=c2c_msg.conv) FROM c2c_msg WHERE id=?1") \
  X(PURGE_MSG, "DELETE FROM c2c_msg WHERE id=?1") \
  X(INBOX_NEXT_USER, "SELECT min(u) FROM (SELECT (SELECT user_no FROM c2c_inbox WHERE user_no>?1 AND user_no<?2" \
                     " ORDER BY user_no LIMIT 1) u UNION ALL SELECT (SELECT user_no FROM c2c_inbox_log" \
                     " WHERE user_no>?1 AND user_no<?2 ORDER BY user_no LIMIT 1))") \
  X(PURGE_INBOX, "DELETE FROM c2c_inbox WHERE sdkappid=?1 AND user_no=?2 AND useq IN (SELECT useq FROM c2c_inbox" \
                 " WHERE sdkappid=?1 AND user_no=?2 AND at<?3 AND useq<(SELECT max(useq) FROM c2c_inbox" \
                 " WHERE sdkappid=?1 AND user_no=?2) ORDER BY useq LIMIT ?4)")

enum {
#define X(name, sql) M_##name,
  MSTMTS(X)
#undef X
  M__COUNT
};

/* conv: the next seq (low 32 bits, never 0) and the conversation's newest
 * time, live or imported (high 32 bits, 0: none); user: the next useq (never 0);
 * recent: conv → the conversation rows known to exist (bit 1: the lower-numbered
 * user's, bit 2: the other's; sqlite_msg.c recent_add);
 * win: conv → its send dedupe window (sqwin_t *, sqlite_msg_win.c) */
typedef struct app_cache { u64map_t conv, user, recent, win; } app_cache_t;

/* Which conversations have no message (sqlite_msg_nf.c): a blocked Bloom
 * filter of every (app, conv) with a message, filled by a scan of c2c_msg's
 * unique key and by the connection's own appends. */
#define NF_K 7                   /* bits per key, in one 512-bit block */
#define NF_LOAD 40               /* keys per block before the filter is replaced by a bigger one */
#define NF_MIN_BLOCKS 4096u      /* 256 KiB: ~160,000 conversations */
#define NF_MAX_BLOCKS 262144u    /* 16 MiB: ~10 M conversations; past it "maybe" comes more often */
#define NF_STEP_IDLE 16384       /* index entries read per merge call of an idle writer (~3 M instructions) */
#define NF_STEP_BUSY 2048        /* per batch of a writer with jobs waiting */
#define NF_SKIP_READS 16         /* a conversation's entries read before a seek passes the rest */
#define NF_SEEK_COST 32          /* a seek, in entries read, against the call's budget */
typedef struct sqnf {
  uint64_t *bits;                /* nblocks * 8 words; NULL until the first scan step */
  uint32_t nblocks, min_blocks;  /* min_blocks: the first size (0: NF_MIN_BLOCKS; tests set it) */
  uint64_t added;                /* keys that set a bit that was clear */
  int ready;                     /* the scan reached the end: a key not in the filter has no message */
  int64_t cur_conv, cur_app;     /* the scan's position in (conv, sdkappid) order */
} sqnf_t;

/* 0: (app, conv) has no message (exact only when f->ready); 1: it may have. */
int sq__nf_maybe(const sqnf_t *f, uint32_t app, uint64_t conv);
/* The conversation has a message now (an append of seq 1). */
void sq__nf_add(sqnf_t *f, uint32_t app, uint64_t conv);
struct sqmsg;
/* At most max_rows index entries of the scan (a seek counts NF_SEEK_COST); outside a transaction only
 * (inside one it does nothing). *more: 1 when the scan is not finished, or when it ended past the
 * filter's load (the next call grows the filter and scans again).
 * Returns 0, IMC_E_NOMEM, IMC_E_IO. */
int sq__nf_step(store_t *s, struct sqmsg *m, int max_seeks, int *more);
void sq__nf_free(sqnf_t *f);

/* One user's conversation trim in bounded steps (sqlite_msg_trim.c). A row's
 * recency key: its last message's time and seq, then the peer number (a
 * total order, so "the keep most recent" is one set). */
typedef struct sqtrim_key { int64_t time_s; uint32_t seq, peer; } sqtrim_key_t;
typedef struct sqtrim {
  uint32_t app, user;
  int keep;
  int phase;             /* 0 none in progress, 1 ranking the rows, 2 deleting those below the keep-th */
  uint32_t after;        /* the phase's walk has done the peers up to this one */
  int64_t unpinned;      /* phase 1: unpinned rows seen (hidden ones too) */
  uint32_t n;            /* phase 1: entries in heap */
  sqtrim_key_t *heap;    /* the keep most recent unpinned listed rows seen so far, a min-heap (keep entries) */
  sqtrim_key_t bar;      /* phase 2: rows below it are deleted (the keep-th most recent listed row) */
} sqtrim_t;

struct sqmsg {
  sqlite3_stmt *st[M__COUNT];
  u64map_t apps;         /* sdkappid → app_cache_t */
  size_t entries;
  int64_t *purge_ids;    /* store_msg_purge_msgs: a window's expired rowids (STORE_PURGE_SCAN_ROWS each, made on */
  uint32_t *purge_apps;  /* first use) and their apps (0 once a row was kept as its conversation's newest) */
  int appending;         /* inside sqm_append: statements run without writing the held rows first */
  int imported;          /* imported messages exist: 0 not known yet, 1 none, 2 some (never lowered) */
  int appends;           /* this connection has appended (the writer's): its "none" stays true */
  sqpend_t pend;         /* the appends' rows not yet written (sqlite_msg_pend.c) */
  sqtrim_t trim;         /* the conversation trim in progress (sqlite_msg_trim.c) */
  sqnf_t nf;             /* conversations without a message (sqlite_msg_nf.c) */
  int64_t sweep[2][3];   /* per log (SQ_LOG_*): the key the last idle chunk ended at; the next
                          * chunk starts past it ({-1, 0, 0}: at the log's first key) */
};

/* The connection's state, made on first use; NULL: out of memory. */
struct sqmsg *sq__msg_state(store_t *s);

/* The prepared statement id, reset, after writing the held rows (except
 * inside an append); NULL on failure. */
sqlite3_stmt *sq__msg_stmt(store_t *s, int id);

static inline void bind_ints(sqlite3_stmt *st, int n, const int64_t *v)
{
  for (int i = 0; i < n; i++) sqlite3_bind_int64(st, i + 1, v[i]);
}
#define BIND(st, ...) bind_ints(st, (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]){ __VA_ARGS__ })

static inline int scalar(sqlite3_stmt *st, int64_t *out)
{
  if (!st) return IMC_E_IO;
  int rc = sqlite3_step(st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* ---- the inbox and conversation logs and their merges (sqlite_msg_log.c) ---- */
/* Both logs are on (cap LOG_CAP_ROWS): the idle-box A/B of wave 12
 * (docs/decisions/messaging-c2c-commit.md §19, "The integrator's A/B")
 * kept them, against the writer-alone count that favoured writing the
 * tables directly. A log that is off (cap 0) is still read and drained to
 * its last row; a connection sets its caps with sq__msg_log_caps (the
 * tests of both paths); -DLOG_ON_CAP_INBOX=0 -DLOG_ON_CAP_RECENT=0 builds
 * a server with both off, for an A/B. */
/* 65,536 and 16,384 since wave 16 (docs/decisions/messaging-c2c-storage.md
 * §23): an idle writer keeps a log near LOG_MIN_ROWS, and a chunk, taken
 * where the last one ended, holds rows a user gathered over a whole sweep,
 * which share that user's table pages. */
#define LOG_CAP_ROWS 65536  /* the cap of a log that is on: past it rows go straight to the table */
#ifndef LOG_ON_CAP_INBOX
#define LOG_ON_CAP_INBOX LOG_CAP_ROWS  /* a new connection's inbox log cap (0: off) */
#endif
#ifndef LOG_ON_CAP_RECENT
#define LOG_ON_CAP_RECENT LOG_CAP_ROWS /* a new connection's conversation log cap (0: off) */
#endif
/* A chunk of 2,048 since wave 15 (docs/decisions/messaging-c2c-commit.md §22), 1,024 since wave 48 (§133): a
 * chunk is a stop an acknowledgement may wait behind, and since the sweep (§23) its size sets little of how many
 * rows share a table page (half the size: +5 % WAL bytes per message at half rate) */
#define LOG_MIN_ROWS 16384  /* an idle writer merges once the log holds this many */
#define LOG_CHUNK_ROWS 1024 /* rows per merge transaction: bounds the stop an acknowledgement waits behind */

enum { SQ_LOG_INBOX, SQ_LOG_RECENT }; /* c2c_inbox_log → c2c_inbox, c2c_recent_log → c2c_recent */

/* Set this connection's log caps (0: the log is off; at most LOG_CAP_ROWS).
 * A new connection has LOG_ON_CAP_INBOX and LOG_ON_CAP_RECENT. IMC_E_NOMEM. */
int sq__msg_log_caps(store_t *s, int64_t inbox, int64_t recent);

/* Move the rows of log (SQ_LOG_…) whose key (user_no, sdkappid, useq or
 * peer_no) is > lo and <= hi into its table, atomically: inside the
 * caller's transaction, or in a savepoint of its own outside one. Returns
 * 0, IMC_E_IO, IMC_E_BUSY (the caller's transaction is then to be rolled
 * back). {-1, 0, 0} is below every key, {INT64_MAX, 0, 0} above. */
int sq__log_merge_keys(store_t *s, int log, const int64_t lo[3], const int64_t hi[3]);
/* The same for one user's rows in one app. */
int sq__log_merge_user(store_t *s, int log, uint32_t app, uint32_t user);
/* store_msg_vtab_t.merge (store_msg.h): a chunk of the inbox log, else one of the conversation log. */
int sq__log_merge_step(store_t *s, int mode, int *more);

/* ---- one user's conversation trim in bounded steps (sqlite_msg_trim.c) ---- */
/* store_msg_vtab_t.recent_trim (store_msg.h). */
int sq__trim_step(store_t *s, uint32_t sdkappid, uint32_t user_no, int keep, int64_t before_s, int max_rows,
                  int64_t *deleted, int *more);
/* Forget the trim in progress (it starts over at its next call): a rollback
 * (its deletes may be undone), a pin change of its user, a purge of its app
 * (a row's last message may be gone). app 0: whichever app. */
void sq__trim_reset(struct sqmsg *m, uint32_t app, uint32_t user);
/* A TRIM_ROWS row's recency key and whether the user deleted the row (hidden: its last listed message is at
 * or below hidden_seq): the last message as the lists show it (sq__msg_listed below the newest when the list
 * does not show that one, then sq__last_by_time for an import); a row with no listed message, or a hidden
 * one, ranks by its conversation's newest message of any kind. Returns 0, IMC_E_IO. */
int sq__trim_row_key(store_t *s, uint32_t app, uint32_t user, sqlite3_stmt *row, sqtrim_key_t *k, int *hidden);
void sq__trim_free(struct sqmsg *m);

/* ---- messages imported out of time order (sqlite_msg_imp.c) ---- */
/* A conversation row's last message when its newest listed one by seq (*seq, *time_s, in and out) is
 * imported: the newer by (time, seq) of the newest listed live message (by seq, sq__live_down below *seq,
 * §54) and the newest listed import (by time, IMP_LAST). Below a live message nothing is newer (live times never
 * decrease along seq and are never older than an import before them; messaging-c2c-imports.md §34, §45).
 * Cost: two seeks, plus the listed-out live rows passed (NoLastMsg, hidden from the user). IMC_E_IO. */
int sq__last_by_time(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, uint32_t *seq, int64_t *time_s);
/* store_msg_vtab_t.roam (store_msg.h): a page costs its size (the imports from the cursor down the partial
 * index, the live messages from the cursor's place down the seqs, merged), plus log2(seqs) seeks to find
 * that place when the cursor is not a live message. */
int sq__msg_roam(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t viewer_no, uint32_t after_seq, int64_t min_t,
                 int64_t max_t, int64_t below_t, uint32_t below_seq, int limit, store_msg_cb cb, void *ud);
/* store_msg_vtab_t.read_mark (store_msg.h): the live messages on either side of the mark by
 * sq__live_split, the imports between them through the partial index (IMP_NEWER). */
int sq__msg_read_mark(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t after_seq, uint32_t upto_seq,
                      int64_t upto_t, uint32_t *mark);
/* store_msg_vtab_t.newest_at (store_msg.h): a binary search over max_t for the first message newer than
 * the time (below it, the first one shown is the answer), and above it the imports at or before the time:
 * the walk down from the top and the partial index's entries of those times, stepped in turn until one
 * of them has the answer. */
int sq__msg_newest_at(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t before_seq, int64_t min_t, int64_t max_t,
                      uint32_t *seq);
/* store_msg_vtab_t.get (sqlite_msg.c): one message by seq, IMC_E_NOTFOUND. */
int sq__msg_get(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t seq, store_msg_cb cb, void *ud);

/* ---- a user's conversation rows (sqlite_msg_list.c) ---- */
/* A message a user's list may show: not NoLastMsg, not its own SyncOtherMachine 2. */
static inline int sq__msg_lists(int64_t flags, uint32_t from_no, uint32_t user_no)
{
  return !(flags & STORE_MSG_NO_LAST) && !((flags & STORE_MSG_NOT_FROM) && from_no == user_no);
}
/* The newest message of a conversation below seq below that user_no's list shows (sq__msg_lists), live or
 * imported; seq 0 (and the rest 0) when none. covered: the purge floor covers it (read only when shown; 0
 * otherwise). A walk down the seqs (WALK, WALK_SHOWN when shown) that passes a run of the user's own live
 * SyncOtherMachine 2 messages (run_lo, §51) or of NoLastMsg messages (from a live NoLastMsg row that is not
 * SyncOtherMachine 2, §57) in one seek and steps over any other row it does not show (the other user's
 * SyncOtherMachine 2 and NoLastMsg messages, an import it does not show): the seeks are the runs, not their
 * rows (§54, §57).
 * Only written rows are read. Returns 0, IMC_E_IO. */
typedef struct sqlisted { uint32_t seq; int covered; int64_t time_s, flags; } sqlisted_t;
int sq__msg_listed(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t user_no, int64_t below, int shown,
                   sqlisted_t *out);
/* store_msg_vtab_t.recent_list and recent_get (store_msg.h). */
int sq__msg_recent_list(store_t *s, uint32_t sdkappid, uint32_t user_no, store_recent_cb cb, void *ud);
int sq__msg_recent_get(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, store_recent_t *out);

/* ---- live messages without a MsgRandom index (sqlite_msg_live.c) ---- */
/* Call each(ud, row) for the live messages of the conversation below seq below (int64: 2^32 is above
 * every seq), newest first; row is the WALK statement's (seq, random, from_no, cseq, time_s, flags,
 * run start) for shown SQ_WALK_PLAIN (0), WALK_SHOWN's for SQ_WALK_SHOWN (1: and whether the purge floor
 * shows it), WALK_BODY's for SQ_WALK_BODY (and the body: a window's load, §69). An imported row is passed
 * with the rest of its run of imports (run_lo): one seek per run, not a step per import. each returns
 * nonzero to stop, or < 0 for a SyncOtherMachine 2 row the reader does not see (its sender's): the walk
 * passes the rest of that sender's run of them in one seek (run_lo, §51), or for a NoLastMsg row that is not
 * SyncOtherMachine 2 the reader does not see: the rest of its run of NoLastMsg rows (§57); it must not use the same
 * statement. Only written rows are read. Returns 0, IMC_E_IO. */
enum { SQ_WALK_PLAIN, SQ_WALK_SHOWN, SQ_WALK_BODY };
int sq__live_down(store_t *s, uint32_t sdkappid, uint64_t conv, int64_t below, int shown,
                  int (*each)(void *, sqlite3_stmt *), void *ud);
/* A binary search over the live seqs below hi for where is_low(ud, row) (a WALK row, WALK_SHOWN's when
 * shown) stops holding; it must hold on a prefix of the live seqs (times never decrease along them, nor do
 * rowids). *below = the highest live seq below hi it holds for, *above = the lowest one above it it does
 * not (0: none). log2(seqs) probes, each one sq__live_down step (a seek, one more per run of imports
 * crossed). Returns 0, IMC_E_IO. */
int sq__live_split(store_t *s, uint32_t sdkappid, uint64_t conv, int64_t hi, int shown,
                   int (*is_low)(void *, sqlite3_stmt *), void *ud, uint32_t *below, uint32_t *above);
/* *seq = the highest live seq below hi whose (time_s, seq) is below (ct, cs), 0 when none: sq__live_split
 * (live times never decrease along seq). Returns 0, IMC_E_IO. */
int sq__live_before(store_t *s, uint32_t sdkappid, uint64_t conv, int64_t hi, int64_t ct, int64_t cs, uint32_t *seq);
/* *run_lo for an import appended as seq: the run_lo of seq - 1 when that message is imported (held or
 * written), else seq. Inside an append. Returns 0, IMC_E_IO. */
int sq__live_run_lo(store_t *s, struct sqmsg *m, uint32_t sdkappid, uint64_t conv, uint32_t seq, uint32_t *run_lo);
/* *run_lo for a live message in appended as in->seq with STORE_MSG_NOT_FROM or STORE_MSG_NO_LAST set: a
 * SyncOtherMachine 2 one's, the start of the run of such messages of its sender that seq - 1 ends (§51); a
 * NoLastMsg one's that is not SyncOtherMachine 2, the lowest seq of the run of NoLastMsg messages it ends
 * (every message from it to seq is NoLastMsg, §57). seq - 1 is the conversation's newest held one
 * (sq__pend_last) or written (one seek); 0 when it does not continue (a run of one). Only these sends pay it.
 * Inside an append. Returns 0, IMC_E_IO. */
int sq__live_hidden_lo(store_t *s, struct sqmsg *m, const store_msg_t *in, uint32_t *run_lo);
/* The conversation's next seq and its newest time, live or imported (0: none;
 * a live append is clamped to it, §45): cached, else read. Returns 0,
 * IMC_E_IO, IMC_E_RANGE. */
int sq__live_conv_next(store_t *s, app_cache_t *ac, uint32_t sdkappid, uint64_t conv, uint32_t *next, int64_t *newest_s);
/* Cache seq `used` as the conversation's newest and newest_s as its newest time (live or imported). */
int sq__live_conv_set(struct sqmsg *m, app_cache_t *ac, uint64_t conv, uint32_t used, int64_t newest_s);
/* The send's (or importmsg's) first duplicate: fills a->dup, m.seq, m.time_s, m.cseq. chash: a send's
 * content hash (store_content_hash of a->m.body; importmsg's rule ignores it). Inside an append. */
int sq__live_find_dup(store_t *s, struct sqmsg *m, app_cache_t *ac, store_msg_append_t *a, int64_t newest_s,
                      uint64_t chash);
/* The seq of the first message with MsgKey (cseq, random, time_s) (from from_no only, unless 0), 0 when none; the
 * held rows must be written. */
int sq__live_find_key(store_t *s, struct sqmsg *m, uint32_t sdkappid, uint64_t conv, uint32_t from_no, uint32_t cseq,
                      uint32_t random, int64_t time_s, uint32_t *seq);
/* A live append, whose content hashes to chash, joins its conversation's window (if loaded). */
void sq__live_win_add(struct sqmsg *m, app_cache_t *ac, const store_msg_t *in, uint64_t chash, int64_t since_s);
/* Forget every window of an app. */
void sq__live_win_clear(struct sqmsg *m, uint32_t sdkappid);

#endif
