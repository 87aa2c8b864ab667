/* fdlimit.c — what the server does at its limits of connections: the
 * WebSocket cap (cfg.max_websockets) and the open-files limit
 * (docs/decisions/connection-limits.md).
 *
 * A WebSocket upgrade past the cap is answered 503 (http.c ws_upgrade asks
 * net__ws_full): the descriptors the cap leaves serve HTTP, so REST and
 * /healthz stay reachable however many clients hold WebSockets.
 *
 * Out of descriptors (accept4 fails with EMFILE or ENFILE, no lingering
 * connection to give up: conn.c accept_some) the waiting client is not left
 * in the kernel's accept queue until it gives up: the server closes its
 * spare descriptor (a /dev/null it opened when it started listening),
 * accepts the client on that slot, reads what it sent (TCP_DEFER_ACCEPT: the
 * request is there), answers 503 with Retry-After: 1 and the error NO_FDS
 * (the operator API's shape for a request under cfg.plain_error_prefix, the
 * v4 envelope otherwise), closes it and opens the spare again. Only when the
 * spare cannot be had again (another thread took the slot meanwhile) does
 * accepting pause as before, until the next wheel tick, which opens the
 * spare again first (conn.c accept_resume).
 *
 * The cap counts the WebSockets not closing (websockets - ws_closing): one
 * whose close began holds its socket only until its close notice and its
 * output are out (ws_close_grace_ms at most), and its client is gone.
 *
 * Thread: the loop thread, but net_fd_limit_raise (once, at start). */
#include "net/net_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"

/* A refusal (and an accept pause) is logged at most once per NET_REFUSE_LOG_MS per kind, with
 * the refusals since the kind's last line (this one included) and in all:
 * a storm past the limit is one line a second, not one per client; the
 * refusals after a storm's last line are in /healthz's counters. */
#define NET_REFUSE_LOG_MS 1000
/* Reads of a refused client's input before its close (each up to
 * NET_READ_BUF): what it sent is taken so that the close sends a FIN after
 * the 503, not a reset that could discard it at the client. */
#define NET_REFUSE_READS 4

unsigned net_fd_limit_raise(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl)) return 0;
  if (rl.rlim_cur != rl.rlim_max) {
    rlim_t want = rl.rlim_max;
    FILE *f = fopen("/proc/sys/fs/nr_open", "re"); /* setrlimit refuses more than this (EPERM) */
    unsigned long nr_open = 0;
    if (f) {
      if (fscanf(f, "%lu", &nr_open) != 1) nr_open = 0;
      fclose(f);
    }
    if (nr_open && (want == RLIM_INFINITY || want > nr_open)) want = nr_open;
    if (want > rl.rlim_cur && !setrlimit(RLIMIT_NOFILE, &(struct rlimit){ want, rl.rlim_max })) rl.rlim_cur = want;
  }
  return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > UINT32_MAX ? UINT32_MAX : (unsigned)rl.rlim_cur;
}

size_t net_ws_cap_default(unsigned limit)
{
  unsigned reserve = limit / 4 < NET_FD_RESERVE ? limit / 4 : NET_FD_RESERVE;
  return (size_t)(limit - reserve);
}

void net__fd_spare_open(net_server_t *s)
{
  assert(s->spare_fd < 0);
  s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void net__fd_spare_close(net_server_t *s)
{
  if (s->spare_fd >= 0) close(s->spare_fd);
  s->spare_fd = -1;
}

/* The kinds' lines: what happened, and the name of its count (NET_LOG_*). */
static const struct { const char *msg, *count; } log_kinds[NET_LOG_KINDS] = {
  [NET_LOG_WS_FULL] = { "websocket refused: the server holds max_websockets", "refused" },
  [NET_LOG_NO_FD] = { "connection refused: out of file descriptors (the open-files limit)", "refused" },
  [NET_LOG_PAUSE] = { "accept paused: out of descriptors with no spare to answer on; retried each wheel tick", "pauses" },
};

/* One line per kind per NET_REFUSE_LOG_MS: the events since the kind's last line (this one included) and in all,
 * after ctx (the kind's own field, "key=value"). */
static void limit_log(net_server_t *s, int kind, uint64_t total, const char *ctx)
{
  uint64_t now = net__now(s);
  uint64_t *at = &s->limit_log_ms[kind], *logged = &s->limit_logged[kind];
  if (*at && now - *at < NET_REFUSE_LOG_MS) return;
  IMC_WARN("net", "msg=\"%s\" %s %s=%llu %s_total=%llu", log_kinds[kind].msg, ctx, log_kinds[kind].count,
           (unsigned long long)(total - *logged), log_kinds[kind].count, (unsigned long long)total);
  *at = now ? now : 1;
  *logged = total;
}

void net__pause_log(net_server_t *s, int err)
{
  char ctx[96];
  snprintf(ctx, sizeof ctx, "err=%s", strerror(err));
  limit_log(s, NET_LOG_PAUSE, s->accept_pauses, ctx);
}

int net__ws_full(net_server_t *s)
{
  assert(s->ws_closing <= s->websockets);
  /* a closing WebSocket is gone for its client: its socket lasts only
   * until its notice and its output are out (its grace at most), and the
   * reserve covers it meanwhile */
  if (!s->cfg.max_websockets || s->websockets - s->ws_closing < s->cfg.max_websockets) return 0;
  s->ws_refused_full++;
  char ctx[48];
  snprintf(ctx, sizeof ctx, "max_websockets=%zu", s->cfg.max_websockets);
  limit_log(s, NET_LOG_WS_FULL, s->ws_refused_full, ctx);
  return 1;
}

/* Whether the request line at the start of buf names a path under the
 * operator API's prefix (its errors have the operator API's shape). */
static int plain_path(const net_server_t *s, const char *buf, size_t n)
{
  const char *pre = s->cfg.plain_error_prefix;
  if (!pre) return 0;
  const char *sp = memchr(buf, ' ', n);
  if (!sp) return 0;
  size_t at = (size_t)(sp - buf) + 1, pl = strlen(pre);
  return n - at >= pl && !memcmp(buf + at, pre, pl);
}

/* Answer fd, accepted on the spare's slot, 503 NO_FDS and close it. */
static void refuse(net_server_t *s, int fd)
{
  ssize_t got = recv(fd, s->rbuf, NET_READ_BUF, MSG_DONTWAIT);
  int plain = got > 0 && plain_path(s, s->rbuf, (size_t)got);
  char body[256], resp[512];
  int bl = net__error_body(body, sizeof body, IMC_E_NO_FDS, NULL, plain); /* the shape of net's own errors (http.c) */
  int rl = snprintf(resp, sizeof resp, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%.*s", bl, bl, body);
  if (rl > 0 && (size_t)rl < sizeof resp) {
    ssize_t w = send(fd, resp, (size_t)rl, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0) s->bytes_out += (uint64_t)w;
  }
  for (int i = 0; i < NET_REFUSE_READS && got > 0; i++) got = recv(fd, s->rbuf, NET_READ_BUF, MSG_DONTWAIT);
  close(fd);
  s->refused_no_fd++;
  char ctx[48];
  snprintf(ctx, sizeof ctx, "connections=%zu", s->nconns);
  limit_log(s, NET_LOG_NO_FD, s->refused_no_fd, ctx);
}

int net__refuse_no_fd(net_server_t *s)
{
  if (s->spare_fd < 0) return 0;
  net__fd_spare_close(s);
  int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  int err = errno;
  if (fd >= 0) refuse(s, fd);
  net__fd_spare_open(s);
  if (fd >= 0) return 1;
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED ? -1 : 0;
}
