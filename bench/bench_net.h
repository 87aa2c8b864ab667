/* bench_net.h — what the libuv load generators (msg_bench, live_bench) share.
 * Header only: each bench program is built from one .c file. */
#ifndef IMC_BENCH_NET_H
#define IMC_BENCH_NET_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <uv.h>

/* Bind a plain AF_INET socket, not yet connected, to the source address
 * 127.0.0.(2 + slot % sources), with SO_REUSEADDR and
 * IP_BIND_ADDRESS_NO_PORT so the port is picked at connect time: spreading
 * connections over several source addresses keeps the kernel's local-port
 * search from dominating the generator past ~10,000 connections.
 * sources <= 0: leave it unbound (127.0.0.1). 0 or -1 (errno). */
static inline int bench_bind_source_fd(int fd, int sources, int slot)
{
  if (sources <= 0) return 0;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in src = { 0 };
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(slot % sources));
  return bind(fd, (struct sockaddr *)&src, sizeof src);
}

/* The same for an initialised (uv_tcp_init_ex AF_INET) handle. */
static inline void bench_bind_source(uv_tcp_t *tcp, int sources, int slot)
{
  uv_os_fd_t fd;
  if (sources > 0 && !uv_fileno((uv_handle_t *)tcp, &fd)) (void)bench_bind_source_fd(fd, sources, slot);
}

/* Ask the kernel to stamp what fd receives (SO_TIMESTAMPNS: CLOCK_REALTIME
 * when the segment entered the receive path; on loopback, when the peer's
 * send handed it over). 0 or -1. */
static inline int bench_rx_stamp_on(int fd)
{
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
}

/* recv into buf with the kernel's receive stamp (bench_rx_stamp_on): returns
 * what recvmsg returns; *late_us is how long the last segment read waited
 * in the socket before this call took it (now minus its stamp, both
 * CLOCK_REALTIME), or UINT64_MAX without a stamp. What a reply's measured
 * latency holds of this process's own lateness: the rest is the peer's. */
static inline ssize_t bench_recv_stamped(int fd, void *buf, size_t cap, uint64_t *late_us)
{
  union { char b[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } ctl;
  struct iovec iov = { buf, cap };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b };
  ssize_t n = recvmsg(fd, &m, 0);
  *late_us = UINT64_MAX;
  if (n <= 0) return n;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    struct timespec ts, now;
    memcpy(&ts, CMSG_DATA(c), sizeof ts);
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t d = ((int64_t)now.tv_sec - ts.tv_sec) * 1000000 + (now.tv_nsec - ts.tv_nsec) / 1000;
    *late_us = d > 0 ? (uint64_t)d : 0;
  }
  return n;
}

/* One command-line option of a load generator: "--name VALUE", stored at dst
 * as kind 'i' int, 'u' unsigned, 'l' long, 'd' double or 's' the string. */
typedef struct {
  const char *name;
  char kind;
  void *dst;
} bench_opt_t;

/* Parse argv's "--name VALUE" pairs against opts (ended by a NULL name); a
 * trailing name without a value is ignored. -1 after printing an unknown
 * option to stderr. */
static inline int bench_parse_opts(int argc, char **argv, const bench_opt_t *opts)
{
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *a = argv[i], *v = argv[i + 1];
    const bench_opt_t *o = opts;
    while (o->name && strcmp(o->name, a)) o++;
    if (!o->name) { fprintf(stderr, "unknown option %s\n", a); return -1; }
    switch (o->kind) {
    case 'i': *(int *)o->dst = atoi(v); break;
    case 'u': *(unsigned *)o->dst = (unsigned)strtoul(v, NULL, 10); break;
    case 'l': *(long *)o->dst = atol(v); break;
    case 'd': *(double *)o->dst = atof(v); break;
    default: *(const char **)o->dst = v; break;
    }
  }
  return 0;
}

/* A masked client text frame of text into out (room for len + 8 bytes, len < 65,536); returns its length. */
static inline size_t bench_ws_frame(const char *text, size_t len, unsigned char *out)
{
  size_t h;
  out[0] = 0x81;
  if (len < 126) { out[1] = (unsigned char)(0x80 | len); h = 2; }
  else { out[1] = 0x80 | 126; out[2] = (unsigned char)(len >> 8); out[3] = (unsigned char)len; h = 4; }
  static const unsigned char mask[4] = { 7, 3, 5, 1 };
  memcpy(out + h, mask, 4);
  for (size_t i = 0; i < len; i++) out[h + 4 + i] = (unsigned char)text[i] ^ mask[i & 3];
  return h + 4 + len;
}

#endif
