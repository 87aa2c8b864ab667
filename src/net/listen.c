/* listen.c — the listening socket (net_listen, net.h): its options are the
 * ones every accepted connection inherits or depends on (TCP_NODELAY copied
 * into each accepted socket, TCP_DEFER_ACCEPT: a connection is accepted with
 * its first bytes, conn.c accept_some).
 * Any thread (the server opens it before its loop starts). */
#include "net/net_int.h"
#include "util/err.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int net_listen(const net_cfg_t *cfg, int *fd_out)
{
  struct sockaddr_storage addr;
  socklen_t alen = sizeof(struct sockaddr_in);
  memset(&addr, 0, sizeof addr);
  if (uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&addr)) {
    if (uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&addr)) return IMC_E_CONFIG;
    alen = sizeof(struct sockaddr_in6);
  }
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return IMC_E_IO;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* Linux copies the listener's TCP_NODELAY into every accepted socket:
   * one setsockopt here instead of one per connection */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* A connection is accepted when its first bytes arrive (or, silent, when
   * the kernel gives up waiting after about this many seconds; it is then
   * accepted and closed when keepalive_idle_ms passes without a request):
   * accept_some reads it at once, and a connection that never sends costs no
   * descriptor or struct here meanwhile. */
  int defer_s = (int)((cfg->request_timeout_ms + 999) / 1000);
  setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s);
  if (bind(fd, (struct sockaddr *)&addr, alen) || listen(fd, 4096)) {
    int in_use = errno == EADDRINUSE;
    close(fd);
    return in_use ? IMC_E_ADDR_IN_USE : IMC_E_IO;
  }
  *fd_out = fd;
  return 0;
}
