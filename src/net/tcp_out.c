/* tcp_out.c — what the kernel says of a connection's output: the bytes it
 * holds that the peer has not acknowledged (SIOCOUTQ: unsent, or sent and
 * unacknowledged) and the bytes the peer has acknowledged since the
 * connection began (TCP_INFO tcpi_bytes_acked, Linux 4.1 on). A peer's
 * kernel acknowledges only what fits its receive buffer: what it
 * acknowledged grows while the client reads. Its own file: <linux/tcp.h>,
 * which has tcpi_bytes_acked, clashes with the <netinet/tcp.h> conn.c
 * uses. Loop thread only. */
#include <linux/sockios.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int net__tcp_out(int fd, uint32_t *unacked, uint64_t *acked);

int net__tcp_out(int fd, uint32_t *unacked, uint64_t *acked)
{
  int n = 0;
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (fd < 0 || ioctl(fd, SIOCOUTQ, &n) || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len)) return -1;
  if (len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked) return -1; /* before Linux 4.1 */
  *unacked = n > 0 ? (uint32_t)n : 0;
  *acked = ti.tcpi_bytes_acked;
  return 0;
}
