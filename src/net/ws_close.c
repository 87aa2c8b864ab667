/* ws_close.c — the grace of a closing WebSocket (net.h ws_close_grace_ms;
 * docs/protocol.md "Close codes"; decision 83 in
 * docs/decisions/messaging-c2c-checks3.md). Loop thread only.
 *
 * A WebSocket whose close began (its close frame queued or its peer's
 * received: net__notify_ws_close) has ws_close_grace_ms to take the output
 * queued for it, the close frame last. The grace is about progress, as the
 * keep-alive deadline's (decision 71): when it passes with output still
 * queued here and the peer's kernel has acknowledged more of the stream
 * since the close began or since the grace was last re-armed (TCP_INFO
 * tcpi_bytes_acked, tcp_out.c; it grows while the client reads, and while
 * the server's loop is stopped too), the grace starts over, at most
 * NET_WS_CLOSE_REARMS times: a peer that reads steadily gets its output and
 * the close frame however long a stall of the server took, one that reads
 * nothing is torn down at the first grace as before, and none holds its
 * queue past (1 + NET_WS_CLOSE_REARMS) × ws_close_grace_ms. Before either,
 * the input that waits in the kernel is read (and dropped: the connection
 * is closing): a socket closed with unread input sends a reset, which
 * destroys what the peer has not read yet. While the server stops
 * (net_server_close) the grace is total time: the stop's bound.
 *
 * State: close_acked, in the union that holds an open WebSocket's idle_ms
 * (a closing one has no idle timeout): the low NET_WS_CLOSE_ACKED_BITS of
 * what the peer had acknowledged, the re-arms so far above them. */
#include "net/net_int.h"

#define NET_WS_CLOSE_REARMS 3u      /* re-arms of the grace: 4 × ws_close_grace_ms at most in all */
#define NET_WS_CLOSE_ACKED_BITS 30u /* acknowledged bytes compared modulo 1 GiB: a period's progress */
#define NET_WS_CLOSE_ACKED_MASK ((1u << NET_WS_CLOSE_ACKED_BITS) - 1u)
#define NET_WS_CLOSE_DRAIN_READS 16u /* input read at the deadline: at most 16 × NET_READ_BUF (1 MiB) */

_Static_assert(NET_WS_CLOSE_REARMS < (1u << (32u - NET_WS_CLOSE_ACKED_BITS)), "the re-arms fit above the acked bits");

/* The low bits of what c's peer has acknowledged, or -1 when the kernel cannot say. */
static int64_t acked_bits(const struct net_conn *c)
{
  uint32_t unacked = 0;
  uint64_t acked = 0;
  if (net__tcp_out(c->fd, &unacked, &acked)) return -1;
  return (int64_t)(acked & NET_WS_CLOSE_ACKED_MASK);
}

void net__ws_close_start(struct net_conn *c)
{
  int64_t a = c->fd >= 0 && !c->srv->closing ? acked_bits(c) : -1;
  c->close_acked = a < 0 ? 0 : (uint32_t)a;
}

int net__ws_close_due(struct net_conn *c)
{
  net_server_t *s = c->srv;
  if (s->closing || c->fd < 0) return 0;
  (void)net__read_drain(c, NET_WS_CLOSE_DRAIN_READS);
  if ((c->flags & CF_CLOSED) || !net__queued(c)) return 0; /* the kernel delivers what it holds after the close */
  uint32_t rearms = c->close_acked >> NET_WS_CLOSE_ACKED_BITS;
  int64_t a = acked_bits(c);
  if (a < 0 || (uint32_t)a == (c->close_acked & NET_WS_CLOSE_ACKED_MASK) || rearms >= NET_WS_CLOSE_REARMS) return 0;
  c->close_acked = (rearms + 1u) << NET_WS_CLOSE_ACKED_BITS | (uint32_t)a;
  net__set_deadline(c, net__now(s) + net__ws_grace_ms(s));
  return 1;
}
