/* sqlite_msg_list.c — a user's conversation rows as the lists read them
 * (store_msg_vtab_t.recent_list and recent_get): each row's last message is
 * derived from the message log when read (never stored per message:
 * docs/decisions/messaging-c2c-storage.md §4): the conversation's newest
 * message, or when the user's list does not show it the newest one it
 * shows, found by a walk down the seqs that passes a run of the user's own
 * SyncOtherMachine 2 messages or of NoLastMsg messages in one seek
 * (sq__msg_listed, §54, §57; the purge
 * keeps that message by the same walk); the newest by time when that one is
 * imported (sq__last_by_time, §34).
 *
 * State: none of its own; the connection's statements (sqlite_msg.c), one thread. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#define stmt sq__msg_stmt

static void row_recent(sqlite3_stmt *st, store_recent_t *r)
{
  r->peer_no = (uint32_t)sqlite3_column_int64(st, 0);
  r->peer_id = (const char *)sqlite3_column_text(st, 1);
  r->last_seq = (uint32_t)sqlite3_column_int64(st, 2);
  r->last_time_s = sqlite3_column_int64(st, 3);
  r->read_seq = (uint32_t)sqlite3_column_int64(st, 4);
  r->pinned_at_s = sqlite3_column_int64(st, 5);
  r->hidden_seq = (uint32_t)sqlite3_column_int64(st, 6);
  r->cleared_seq = (uint32_t)sqlite3_column_int64(st, 7);
  r->pin_seq = sqlite3_column_int64(st, 8);
  r->last_covered = sqlite3_column_int(st, 10);
}

int sq__msg_listed(store_t *s, uint32_t sdkappid, uint64_t conv, uint32_t user_no, int64_t below, int shown,
                   sqlisted_t *out)
{
  sqlite3_stmt *st = stmt(s, shown ? M_WALK_SHOWN : M_WALK);
  int rc;
  *out = (sqlisted_t){ 0, 0, 0, 0 };
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, below);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t seq = sqlite3_column_int64(st, 0), flags = sqlite3_column_int64(st, 5), lo = sqlite3_column_int64(st, 6);
    uint32_t from_no = (uint32_t)sqlite3_column_int64(st, 2);
    if (sq__msg_lists(flags, from_no, user_no)) {
      *out = (sqlisted_t){ (uint32_t)seq, shown && !sqlite3_column_int64(st, 7), sqlite3_column_int64(st, 4), flags };
      break;
    }
    /* the user's own live SyncOtherMachine 2 run, or a run of NoLastMsg messages (a live NoLastMsg row's that is
     * not SyncOtherMachine 2: §57; the other user's such row's run is its sender's, an import's is of imports):
     * past it at once */
    int own_run = flags & STORE_MSG_NOT_FROM ? !(flags & STORE_MSG_IMPORTED) && from_no == user_no
                                             : (flags & (STORE_MSG_NO_LAST | STORE_MSG_IMPORTED)) == STORE_MSG_NO_LAST;
    if (own_run && lo < seq) {
      sqlite3_reset(st);
      BIND(st, sdkappid, (int64_t)conv, lo);
    }
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq__map_rc(rc);
}

/* A row of RECENT_LIST or RECENT_GET: its l is the conversation's newest message (cols 2, 3, 9, 10, 11: seq,
 * time, flags, covered, sender). One the user's list does not show is replaced by the newest one it shows
 * (sq__msg_listed); that one, when imported, by the newest listed message by time. */
static int last_msg(store_t *s, sqlite3_stmt *row, uint32_t sdkappid, uint32_t user_no, store_recent_t *r)
{
  int64_t flags = sqlite3_column_int64(row, 9), covered;
  uint64_t conv = store_c2c_conv(user_no, r->peer_no);
  int rc;
  if (r->last_seq && !sq__msg_lists(flags, (uint32_t)sqlite3_column_int64(row, 11), user_no)) {
    sqlisted_t l;
    if ((rc = sq__msg_listed(s, sdkappid, conv, user_no, r->last_seq, 1, &l))) return rc;
    r->last_seq = l.seq;
    r->last_time_s = l.time_s;
    r->last_covered = l.covered;
    flags = l.flags;
  }
  if (!(flags & STORE_MSG_IMPORTED) || !r->last_seq) return 0;
  uint32_t was = r->last_seq;
  rc = sq__last_by_time(s, sdkappid, user_no, r->peer_no, &r->last_seq, &r->last_time_s);
  if (rc || r->last_seq == was) return rc;
  sqlite3_stmt *st = stmt(s, M_COVERED); /* another message: its own floor test */
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)conv, r->last_seq);
  if ((rc = scalar(st, &covered))) return rc;
  r->last_covered = covered != 0;
  return 0;
}

int sq__msg_recent_list(store_t *s, uint32_t sdkappid, uint32_t user_no, store_recent_cb cb, void *ud)
{
  sqlite3_stmt *st = stmt(s, M_RECENT_LIST);
  int rc;
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, user_no);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_recent_t r;
    row_recent(st, &r);
    if ((rc = last_msg(s, st, sdkappid, user_no, &r))) { sqlite3_reset(st); return rc; }
    cb(ud, &r);
  }
  sqlite3_reset(st);
  return sq__map_rc(rc);
}

int sq__msg_recent_get(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t peer_no, store_recent_t *out)
{
  sqlite3_stmt *st = stmt(s, M_RECENT_GET);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, user_no, peer_no);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    row_recent(st, out);
    out->peer_id = NULL;
    int lrc = last_msg(s, st, sdkappid, user_no, out);
    if (lrc) { sqlite3_reset(st); return lrc; }
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? IMC_E_NOTFOUND : sq__map_rc(rc);
}
