/* sqlite_msg_list.c — a user's conversation rows as the lists read them
 * (store_msg_vtab_t.recent_list and recent_get): each row's last message is
 * derived from the message log when read (RECENT_LASTJOIN, never stored per
 * message: docs/decisions/messaging-c2c-storage.md §4), the newest by time
 * when the newest listed one by seq is imported (sq__last_by_time, §34).
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

/* A row read by RECENT_LIST or RECENT_GET whose newest listed message by
 * seq is imported (col 9: its flags) takes its last message by time. */
static int last_by_time(store_t *s, sqlite3_stmt *row, uint32_t sdkappid, uint32_t user_no, store_recent_t *r)
{
  if (!(sqlite3_column_int64(row, 9) & STORE_MSG_IMPORTED) || !r->last_seq) return 0;
  uint32_t was = r->last_seq;
  int64_t covered;
  int rc = sq__last_by_time(s, sdkappid, user_no, r->peer_no, &r->last_seq, &r->last_time_s);
  if (rc || r->last_seq == was) return rc;
  sqlite3_stmt *st = stmt(s, M_COVERED); /* another message: its own floor test */
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, (int64_t)store_c2c_conv(user_no, r->peer_no), r->last_seq);
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
    if ((rc = last_by_time(s, st, sdkappid, user_no, &r))) { sqlite3_reset(st); return rc; }
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
    int lrc = last_by_time(s, st, sdkappid, user_no, out);
    if (lrc) { sqlite3_reset(st); return lrc; }
  }
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? IMC_E_NOTFOUND : sq__map_rc(rc);
}
