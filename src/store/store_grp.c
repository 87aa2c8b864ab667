/* store_grp.c — dispatch of the store_grp_* API through the backend's group
 * vtable (store_vtab_t.grp). */
#include "store/store_grp.h"

#include <stdlib.h>
#include <string.h>

#define G(s) ((s)->vt->grp)

int store_grp_put(store_t *s, const store_grp_t *g) { return G(s)->put(s, g); }
int store_grp_del(store_t *s, uint32_t app, uint32_t g) { return G(s)->del(s, app, g); }
int store_grp_each(store_t *s, store_grp_cb cb, void *ud) { return G(s)->each(s, cb, ud); }
int store_grp_member_put(store_t *s, uint32_t app, uint32_t g, const store_grp_member_t *m)
{
  return G(s)->member_put(s, app, g, m);
}
int store_grp_member_del(store_t *s, uint32_t app, uint32_t g, uint32_t u) { return G(s)->member_del(s, app, g, u); }
int store_grp_member_set(store_t *s, uint32_t app, uint32_t g, uint32_t u, const char *field, int64_t v,
                         const char *text)
{
  return G(s)->member_set(s, app, g, u, field, v, text);
}
int store_grp_member_each(store_t *s, uint32_t app, uint32_t g, int64_t off, int limit, store_grp_member_cb cb,
                          void *ud)
{
  return G(s)->member_each(s, app, g, off, limit, cb, ud);
}
int store_grp_applications(store_t *s, uint32_t app, uint32_t g, int64_t off, int limit, store_grp_member_cb cb,
                           void *ud)
{
  return G(s)->applications(s, app, g, off, limit, cb, ud);
}
int store_grp_member_get(store_t *s, uint32_t app, uint32_t g, uint32_t u, store_grp_member_cb cb, void *ud)
{
  return G(s)->member_get(s, app, g, u, cb, ud);
}
int store_grp_user_gone(store_t *s, uint32_t app, uint32_t u) { return G(s)->user_gone(s, app, u); }
int store_grp_joined(store_t *s, uint32_t app, uint32_t u, store_grp_member_cb cb, void *ud)
{
  return G(s)->joined(s, app, u, cb, ud);
}
int store_grp_msg_append(store_t *s, store_grp_msg_t *m, int64_t since, int *dup)
{
  return G(s)->msg_append(s, m, since, dup);
}
int store_grp_msg_history(store_t *s, uint32_t app, uint32_t g, uint32_t after, uint32_t upto, int64_t since,
                          int newest, int limit, store_grp_msg_cb cb, void *ud)
{
  return G(s)->msg_history(s, app, g, after, upto, since, newest, limit, cb, ud);
}
int store_grp_msg_purge(store_t *s, uint32_t app, int64_t before, int limit, int64_t *deleted)
{
  return G(s)->msg_purge(s, app, before, limit, deleted);
}
int store_grp_msg_history_as(store_t *s, uint32_t app, uint32_t g, uint32_t after, uint32_t upto, int64_t since,
                             int newest, int limit, uint32_t viewer, store_grp_msg_cb cb, void *ud)
{
  return G(s)->msg_history_as(s, app, g, after, upto, since, newest, limit, viewer, cb, ud);
}
int store_grp_msg_targets(store_t *s, uint32_t app, uint32_t g, uint32_t seq, uint32_t *to, size_t *n)
{
  return G(s)->msg_targets(s, app, g, seq, to, n);
}
int store_grp_msg_expired(store_t *s, uint32_t app, uint32_t g, uint32_t seq, int64_t since, int *expired)
{
  return G(s)->msg_expired(s, app, g, seq, since, expired);
}
int store_grp_msg_set_flags(store_t *s, uint32_t app, uint32_t g, uint32_t seq, uint32_t bits)
{
  return G(s)->msg_set_flags(s, app, g, seq, bits);
}
int store_grp_msg_set_body(store_t *s, uint32_t app, uint32_t g, uint32_t seq, const char *body, size_t len)
{
  return G(s)->msg_set_body(s, app, g, seq, body, len);
}
int store_grp_msg_del_sender(store_t *s, uint32_t app, uint32_t g, uint32_t from, uint32_t after, uint32_t upto,
                             int limit, store_grp_msg_cb cb, void *ud)
{
  return G(s)->msg_del_sender(s, app, g, from, after, upto, limit, cb, ud);
}
int store_grp_msg_unread(store_t *s, uint32_t app, uint32_t g, uint32_t u, uint32_t after, uint32_t upto,
                         int64_t since, int64_t *n)
{
  return G(s)->msg_unread(s, app, g, u, after, upto, since, n);
}
int store_grp_msg_last_seq(store_t *s, uint32_t app, uint32_t g, uint32_t *seq) { return G(s)->msg_last_seq(s, app, g, seq); }
int store_grp_msg_last_listed(store_t *s, uint32_t app, uint32_t g, uint32_t *seq, int64_t *time_s)
{
  return G(s)->msg_last_listed(s, app, g, seq, time_s);
}
int store_grp_member_pin(store_t *s, uint32_t app, uint32_t g, uint32_t u, int64_t at)
{
  return G(s)->member_pin(s, app, g, u, at);
}
int store_grp_convs(store_t *s, uint32_t app, uint32_t u, store_grp_conv_t **out, size_t *n)
{
  return G(s)->convs(s, app, u, out, n);
}
int store_grp_pinned_count(store_t *s, uint32_t app, uint32_t u, uint32_t except, int64_t *n)
{
  return G(s)->pinned_count(s, app, u, except, n);
}
int store_grp_due_put(store_t *s, uint32_t app, int64_t at_s, const char *payload, const uint32_t *users, size_t n)
{
  return G(s)->due_put(s, app, at_s, payload, users, n);
}
int store_grp_due_first(store_t *s, store_grp_due_t *out) { return G(s)->due_first(s, out); }
int store_grp_due_del(store_t *s, int64_t id) { return G(s)->due_del(s, id); }
int store_grp_due_count(store_t *s, int64_t *n) { return G(s)->due_count(s, n); }
int store_grp_mark_get(store_t *s, uint32_t app, uint32_t g, uint32_t u, uint32_t *mark)
{
  return G(s)->mark_get(s, app, g, u, mark);
}
int store_grp_mark_put(store_t *s, uint32_t app, uint32_t g, uint32_t u, uint32_t mark, int64_t kept)
{
  return G(s)->mark_put(s, app, g, u, mark, kept);
}
int store_grp_msg_change(store_t *s, uint32_t app, uint32_t g, uint32_t seq, uint32_t *change)
{
  return G(s)->msg_change(s, app, g, seq, change);
}
int store_grp_msg_changes(store_t *s, uint32_t app, uint32_t g, uint32_t after, uint32_t upto, int64_t since, int limit,
                          uint32_t viewer, store_grp_msg_cb cb, void *ud)
{
  return G(s)->msg_changes(s, app, g, after, upto, since, limit, viewer, cb, ud);
}
int store_grp_msg_last_change(store_t *s, uint32_t app, uint32_t g, uint32_t *change)
{
  return G(s)->msg_last_change(s, app, g, change);
}
void store_grp_due_free(store_grp_due_t *d)
{
  free(d->payload);
  free(d->users);
  memset(d, 0, sizeof *d);
}
