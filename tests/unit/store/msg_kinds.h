/* msg_kinds.h — one C2C message of a given kind appended straight to a
 * store (no writer thread; the caller's transaction or autocommit), as the
 * store's step tests build their conversations. Both users' inbox events
 * and conversation rows are written, except the sender's for a
 * SyncOtherMachine 2 message (the sender's devices do not get it). Each
 * append must be new (not a dedupe hit). Test-only. */
#ifndef IMC_TESTS_STORE_MSG_KINDS_H
#define IMC_TESTS_STORE_MSG_KINDS_H

#include <string.h>

#include "store/store.h"
#include "store/store_msg.h"

/* kind: 0 live, 1 SyncOtherMachine 2, 2 NoLastMsg, 3 imported, 4 imported NoLastMsg, 5 SyncOtherMachine 2 and
 * NoLastMsg. Returns the message's seq. */
static inline uint32_t msg_append_kind(store_t *s, uint32_t app, uint32_t from, uint32_t to, int64_t t, uint32_t key,
                                       int kind)
{
  store_msg_append_t a;
  int imported = kind == 3 || kind == 4;
  uint32_t flags = kind == 1 ? STORE_MSG_NOT_FROM : kind == 2 ? STORE_MSG_NO_LAST : 0;
  if (kind == 5) flags = STORE_MSG_NOT_FROM | STORE_MSG_NO_LAST;
  if (imported) flags = STORE_MSG_IMPORTED | STORE_MSG_CALLER_SEQ | (kind == 4 ? STORE_MSG_NO_LAST : 0);
  memset(&a, 0, sizeof a);
  a.m = (store_msg_t){ app, store_c2c_conv(from, to), 0, from, to, t, key, key, flags, 604800, "{}", 2, NULL, NULL };
  if (imported) a.import_dedupe = 1;
  else a.dedupe_since_s = t - 300;
  a.inbox_to = a.recent_to = 1;
  a.inbox_from = a.recent_from = kind != 1 && kind != 5;
  assert_int_equal(store_msg_append(s, &a), 0);
  assert_int_equal(a.dup, 0);
  return a.m.seq;
}

#endif
