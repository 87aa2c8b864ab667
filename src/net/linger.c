/* linger.c — the lingering close of an HTTP connection (net_int.h,
 * "lingering close"): once the reply that closes it is written, shut down
 * the sending side and read and drop what the client still sends, for at
 * most NET_LINGER_MS and NET_LINGER_BYTES, so that the kernel never resets
 * a connection whose reply the client has not read yet. A lingering
 * connection has no HTTP state (u.linger marks it) and no output; it ends
 * in net__really_close: at the client's EOF or a reset (conn.c read_once),
 * its byte budget spent (net__linger_discard), its deadline (conn.c fire,
 * net__linger_due: what waits is read first, and a client still sending
 * gets one more period, once),
 * the server closing (net_server_close), or out of descriptors
 * (net__linger_reap). Loop thread only. */
#include "net/net_int.h"

#include <sys/socket.h>

const char net__linger_mark;

int net__linger_start(struct net_conn *c)
{
  net_server_t *s = c->srv;
  if (c->fd < 0 || (c->flags & (CF_WS | CF_FAKE | CF_CLOSED)) || s->closing || net__lingering(c) ||
      !net__http_wants_linger(c))
    return 0;
  if (shutdown(c->fd, SHUT_WR)) return 0; /* the FIN follows the reply: the client reads it, then EOF */
  net__http_free(c);
  c->u.linger = &net__linger_mark;
  c->linger_left = NET_LINGER_BYTES;
  c->flags = (uint16_t)((c->flags & ~(CF_CLOSE_AFTER_WRITE | CF_READ_PAUSED | CF_WANT_OUT)) | CF_READING);
  s->lingering++;
  net__set_deadline(c, net__now(s) + NET_LINGER_MS);
  net__update_events(c);
  /* input that arrived while reading was stopped raised its edge then: read
   * it in the next turn rather than wait for more */
  net__read_later(c);
  return 1;
}

void net__linger_discard(struct net_conn *c, size_t n)
{
  if (n >= (c->linger_left & ~NET_LINGER_LATE)) { net__really_close(c); return; }
  c->linger_left -= (uint32_t)n; /* less than the budget: NET_LINGER_LATE stays */
}

void net__linger_due(struct net_conn *c)
{
  /* the byte budget bounds the reads: past it net__linger_discard closes c */
  int read = net__read_drain(c, NET_LINGER_BYTES / NET_READ_BUF + 1);
  if (c->flags & CF_CLOSED) return; /* the client's EOF, or the budget spent */
  if (read && !(c->linger_left & NET_LINGER_LATE)) {
    c->linger_left |= NET_LINGER_LATE;
    net__set_deadline(c, net__now(c->srv) + NET_LINGER_MS);
    return;
  }
  net__really_close(c);
}

size_t net__linger_reap(net_server_t *s)
{
  size_t closed = 0;
  for (size_t fd = 0; fd < s->by_fd_cap && s->lingering; fd++) {
    struct net_conn *c = s->by_fd[fd];
    if (c && net__lingering(c)) { net__really_close(c); closed++; }
  }
  return closed;
}
