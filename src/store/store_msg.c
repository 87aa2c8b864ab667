/* store_msg.c — dispatch of the store_msg_* API through the backend's
 * message vtable (store_vtab_t.msg). */
#include "store/store_msg.h"
#include "util/err.h"

#define M(s) ((s)->vt->msg)

int store_msg_append(store_t *s, store_msg_append_t *a) { return M(s)->append(s, a); }
int store_msg_inbox_add(store_t *s, uint32_t app, uint32_t user, store_ev_kind_t k, uint64_t conv, uint32_t seq,
                        int64_t at, uint32_t *useq)
{
  return M(s)->inbox_add(s, app, user, k, conv, seq, at, useq);
}
int store_msg_inbox_page(store_t *s, uint32_t app, uint32_t user, uint32_t after, int limit, int64_t since,
                         store_inbox_cb cb, void *ud, uint32_t *max_useq)
{
  return M(s)->inbox_page(s, app, user, after, limit, since, cb, ud, max_useq);
}
int store_msg_get(store_t *s, uint32_t app, uint64_t conv, uint32_t seq, store_msg_cb cb, void *ud)
{
  return M(s)->get(s, app, conv, seq, cb, ud);
}
int store_msg_find_key(store_t *s, uint32_t app, uint64_t conv, uint32_t cseq, uint32_t random, int64_t t,
                       store_msg_cb cb, void *ud)
{
  return M(s)->find_key(s, app, conv, 0, cseq, random, t, cb, ud);
}
int store_msg_find_key_from(store_t *s, uint32_t app, uint64_t conv, uint32_t from_no, uint32_t cseq, uint32_t random,
                            int64_t t, store_msg_cb cb, void *ud)
{
  return M(s)->find_key(s, app, conv, from_no, cseq, random, t, cb, ud);
}
int store_msg_history(store_t *s, uint32_t app, uint64_t conv, uint32_t before, uint32_t after, int64_t min_t,
                      int64_t max_t, int limit, store_msg_cb cb, void *ud)
{
  return M(s)->history(s, app, conv, 0, before, after, min_t, max_t, limit, cb, ud);
}
int store_msg_roam(store_t *s, uint32_t app, uint64_t conv, uint32_t viewer, uint32_t after, int64_t min_t, int64_t max_t,
                   int64_t below_t, uint32_t below_seq, int limit, store_msg_cb cb, void *ud)
{
  if (M(s)->version < 6 || !M(s)->roam) return IMC_E_INVAL;
  return M(s)->roam(s, app, conv, viewer, after, min_t, max_t, below_t, below_seq, limit, cb, ud);
}
int store_msg_read_mark(store_t *s, uint32_t app, uint64_t conv, uint32_t after, uint32_t upto, int64_t upto_t,
                        uint32_t *mark)
{
  if (M(s)->version < 8 || !M(s)->read_mark) return IMC_E_INVAL;
  return M(s)->read_mark(s, app, conv, after, upto, upto_t, mark);
}
int store_msg_newest_at(store_t *s, uint32_t app, uint64_t conv, uint32_t before, int64_t min_t, int64_t max_t,
                        uint32_t *seq)
{
  if (M(s)->version < 9 || !M(s)->newest_at) return IMC_E_INVAL;
  return M(s)->newest_at(s, app, conv, before, min_t, max_t, seq);
}
int store_msg_gone_peers(store_t *s, uint32_t app, uint32_t user, void (*cb)(void *, uint32_t), void *ud)
{
  if (M(s)->version < 10 || !M(s)->gone_peers) return IMC_E_INVAL;
  return M(s)->gone_peers(s, app, user, cb, ud);
}
int store_msg_history_seen(store_t *s, uint32_t app, uint64_t conv, uint32_t viewer, uint32_t before, uint32_t after,
                           int64_t min_t, int64_t max_t, int limit, store_msg_cb cb, void *ud)
{
  return M(s)->history(s, app, conv, viewer, before, after, min_t, max_t, limit, cb, ud);
}
int store_msg_set_flags(store_t *s, uint32_t app, uint64_t conv, uint32_t seq, uint32_t bits)
{
  return M(s)->set_flags(s, app, conv, seq, bits);
}
int store_msg_set_body(store_t *s, uint32_t app, uint64_t conv, uint32_t seq, const char *body, size_t len)
{
  return M(s)->set_body(s, app, conv, seq, body, len);
}
int store_msg_recent_list(store_t *s, uint32_t app, uint32_t user, store_recent_cb cb, void *ud)
{
  return M(s)->recent_list(s, app, user, cb, ud);
}
int store_msg_recent_get(store_t *s, uint32_t app, uint32_t user, uint32_t peer, store_recent_t *out)
{
  return M(s)->recent_get(s, app, user, peer, out);
}
int store_msg_recent_set(store_t *s, uint32_t app, uint32_t user, uint32_t peer, const char *field, int64_t v)
{
  return M(s)->recent_set(s, app, user, peer, field, v);
}
int store_msg_recent_pinned(store_t *s, uint32_t app, uint32_t user, uint32_t except_peer, int64_t *n)
{
  if (M(s)->version < 7 || !M(s)->recent_pinned) return IMC_E_INVAL;
  return M(s)->recent_pinned(s, app, user, except_peer, n);
}
int store_msg_unread(store_t *s, uint32_t app, uint64_t conv, uint32_t from, uint32_t after, uint32_t upto,
                     int64_t since, int64_t *n)
{
  return M(s)->unread(s, app, conv, from, after, upto, since, n);
}
int store_msg_receipt_wanted(store_t *s, uint32_t app, uint64_t conv, uint32_t from, uint32_t after, uint32_t upto,
                             int64_t since, int *yes)
{
  return M(s)->receipt_wanted(s, app, conv, from, after, upto, since, yes);
}
int store_msg_purge_msgs(store_t *s, const store_msg_cut_t *cuts, size_t n, int limit, int64_t *cursor,
                         int64_t *deleted, int *more)
{
  return M(s)->purge_msgs(s, cuts, n, limit, cursor, deleted, more);
}
int store_msg_floors(store_t *s, void (*cb)(void *ud, const store_msg_cut_t *floor), void *ud)
{
  return M(s)->floors(s, cb, ud);
}
int store_msg_purge_inbox(store_t *s, uint32_t app, int64_t before, int limit, uint32_t *cursor, int64_t *deleted,
                          int *more)
{
  return M(s)->purge_inbox(s, app, before, limit, cursor, deleted, more);
}
int store_msg_recent_trim(store_t *s, uint32_t app, uint32_t user, int keep, int64_t before_s, int max_rows,
                          int64_t *deleted, int *more)
{
  return M(s)->recent_trim(s, app, user, keep, before_s, max_rows, deleted, more);
}
int store_msg_account_id(store_t *s, uint32_t app, uint32_t user, char *buf, size_t cap)
{
  return M(s)->account_id(s, app, user, buf, cap);
}
int store_msg_merge(store_t *s, int mode, int *more)
{
  *more = 0;
  return M(s)->version >= 2 && M(s)->merge ? M(s)->merge(s, mode, more) : 0;
}
int store_msg_recent_users(store_t *s, uint32_t app, int more_than, uint32_t after_user, int max_users,
                           store_account_cb cb, void *ud, uint32_t *next_user)
{
  return M(s)->recent_users(s, app, more_than, after_user, max_users, cb, ud, next_user);
}
