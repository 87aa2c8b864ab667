/* sqlite_msg_gone.c — the conversation rows an account deletion removes
 * (messaging-c2c-checks3.md §79): which users hold one, so that each is told
 * (im/c2c_gone.c) in the transaction that removes them (sqlite.c
 * sq_account_delete: ACC_DEL_PEER_ROWS, ACC_DEL_PEER_LOG, the same users).
 *
 * State: the connection's prepared statements (sqlite_msg.c); the writer
 * thread, inside the job that deletes the account. */
#include "store/sqlite_msg_int.h"
#include "util/err.h"

int sq__gone_peers(store_t *s, uint32_t sdkappid, uint32_t user_no, void (*cb)(void *ud, uint32_t peer_no), void *ud)
{
  sqlite3_stmt *st = sq__msg_stmt(s, M_GONE_PEERS); /* the held rows are written first: they may be among them */
  int rc;
  if (!st) return IMC_E_IO;
  BIND(st, sdkappid, user_no);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) cb(ud, (uint32_t)sqlite3_column_int64(st, 0));
  sqlite3_reset(st);
  return sq__map_rc(rc);
}
