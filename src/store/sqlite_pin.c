/* sqlite_pin.c — what pins of both kinds share in storage (migrations 38,
 * 41, 42; docs/decisions/messaging-c2c-conversations.md §33, §35, §38): a user's
 * pin orders and the count of its pinned C2C conversations.
 *
 * A pin order is taken from the user's counter (pin_order: the last order
 * given), never from the pinned rows: an unpin takes nothing back, so an
 * order names one pin for ever, which the REST TopStartIndex cursor relies
 * on (rest_recentcontact.c pin_place). The 50-pin count reads the pinned
 * rows only, through a partial index (c2c_recent_pinned; the group side is
 * sqlite_grp.c m_pinned_count, grp_member_pinned).
 *
 * State: the connection's prepared statements (sqlite_msg.c); the writer
 * thread, inside the job of a pin. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

#define stmt sq__msg_stmt

int sq__pin_take(store_t *s, uint32_t sdkappid, uint32_t user_no, int64_t *order)
{
  sqlite3_stmt *st = stmt(s, M_PIN_TAKE);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, user_no);
  int rc = sqlite3_step(st);
  *order = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? IMC_E_IO : sq__map_rc(rc);
  return 0;
}

int sq__pin_count_c2c(store_t *s, uint32_t sdkappid, uint32_t user_no, uint32_t except_peer, int64_t *n)
{
  sqlite3_stmt *st = stmt(s, M_PIN_COUNT_C2C);
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, user_no, except_peer);
  return scalar(st, n);
}
