/* push_floor — what one small write to one of many loopback TCP connections
 * costs the writing core, with no server around it: the floor under a
 * one-to-one push (each message to a random recipient is one write to that
 * recipient's socket, since two messages rarely go to the same recipient in
 * one loop turn).
 *
 *   push_floor [--conns 10000] [--seconds 3] [--size 120] [--per-write 1]
 *              [--rate 0] [--writer-cpu 0] [--reader-cpu 1] [--sources 8]
 *
 * The parent (the "server": pinned to --writer-cpu) listens on an ephemeral
 * loopback port and accepts --conns connections that a forked child (the
 * "clients": pinned to --reader-cpu) opens from 127.0.0.2… (--sources
 * addresses, as the load generators do) and drains with epoll. Then the
 * parent writes for --seconds: each write goes to a connection picked at
 * random (xorshift) and carries --per-write frames of --size bytes (one
 * write per delivery with 1; --per-write K shows K deliveries coalesced into
 * one write), non-blocking, at most --rate writes/s (0: as fast as it can;
 * with a rate the writer sleeps until each write is due, and its CPU per
 * write then includes those sleeps and wake-ups).
 * Printed: writes/s, deliveries/s, the writer's CPU (user and system,
 * getrusage) per write and per delivery, the reader's CPU share, and the
 * writes that found a full socket buffer (eagain; the reader fell behind, so
 * the figures then undercount what a write costs). On loopback the sender's
 * write also runs the receiver's TCP receive path (softirq on the sender's
 * core) and wakes the reader: both are in the writer's system time here,
 * as they are in the server's when a load generator on the same box reads
 * its pushes. */
#include "bench_clock.h"
#include "bench_net.h"
#include "bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int conns = 10000, seconds = 3, size = 120, per_write = 1, rate = 0;
static int writer_cpu = 0, reader_cpu = 1, sources = 8;

static void pin(int cpu)
{
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set)) perror("sched_setaffinity");
}

static uint64_t cpu_us(struct rusage *ru, uint64_t *user, uint64_t *sys)
{
  *user = (uint64_t)ru->ru_utime.tv_sec * 1000000u + (uint64_t)ru->ru_utime.tv_usec;
  *sys = (uint64_t)ru->ru_stime.tv_sec * 1000000u + (uint64_t)ru->ru_stime.tv_usec;
  return *user + *sys;
}

/* The child: open conns connections, then read and drop everything until
 * the parent closes them; exits 0 once every connection saw EOF. */
static int reader_main(uint16_t port)
{
  pin(reader_cpu);
  int ep = epoll_create1(0);
  struct sockaddr_in dst = { 0 };
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(0x7f000001u);
  for (int i = 0; i < conns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bench_bind_source_fd(fd, sources, i) || connect(fd, (struct sockaddr *)&dst, sizeof dst)) {
      perror("reader connect");
      return 1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  static char buf[65536];
  struct epoll_event evs[512];
  int open_conns = conns;
  while (open_conns > 0) {
    int n = epoll_wait(ep, evs, 512, -1);
    for (int i = 0; i < n; i++) {
      for (;;) {
        ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
        if (r > 0) continue;
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          close(evs[i].data.fd);
          open_conns--;
        }
        break;
      }
    }
  }
  return 0;
}

int main(int argc, char **argv)
{
  static const bench_opt_t opts[] = {
    { "--conns", 'i', &conns },
    { "--seconds", 'i', &seconds },
    { "--size", 'i', &size },
    { "--per-write", 'i', &per_write },
    { "--rate", 'i', &rate },
    { "--writer-cpu", 'i', &writer_cpu },
    { "--reader-cpu", 'i', &reader_cpu },
    { "--sources", 'i', &sources },
    { NULL, 0, NULL },
  };
  if (bench_parse_opts(argc, argv, opts) || conns < 1 || size < 1 || per_write < 1 || seconds < 1) return 2;
  signal(SIGPIPE, SIG_IGN);
  pin(writer_cpu);

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = { 0 };
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t sl = sizeof sa;
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 4096) || getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
    perror("listen");
    return 1;
  }
  pid_t child = fork();
  if (child == 0) _exit(reader_main(ntohs(sa.sin_port)));

  int *fds = calloc((size_t)conns, sizeof *fds);
  for (int i = 0; i < conns; i++) {
    fds[i] = accept(lfd, NULL, NULL);
    if (fds[i] < 0) { perror("accept"); return 1; }
    int one = 1;
    setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fds[i], F_SETFL, O_NONBLOCK);
  }
  usleep(200000); /* the reader's last connects settle into its epoll set */

  size_t len = (size_t)size * (size_t)per_write;
  char *buf = malloc(len);
  memset(buf, 'x', len);
  uint64_t x = 88172645463325252ull, writes = 0, eagain = 0;
  struct rusage r0, r1;
  long long child_cpu0 = bench_proc_cpu_ms((int)child);
  getrusage(RUSAGE_SELF, &r0);
  uint64_t t0 = now_us(), end = t0 + (uint64_t)seconds * 1000000u;
  for (uint64_t t = t0; t < end; t = (writes & 63) ? t : now_us()) {
    if (rate > 0 && writes >= (t - t0) * (uint64_t)rate / 1000000u) { /* ahead: sleep until the next write is due */
      uint64_t due = t0 + (writes + 1) * 1000000u / (uint64_t)rate;
      if (due > t) usleep((useconds_t)(due - t));
      t = now_us();
      continue;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int fd = fds[x % (uint64_t)conns];
    if (write(fd, buf, len) < 0 && errno == EAGAIN) eagain++;
    writes++;
  }
  uint64_t t1 = now_us();
  getrusage(RUSAGE_SELF, &r1);
  long long child_cpu1 = bench_proc_cpu_ms((int)child);
  for (int i = 0; i < conns; i++) close(fds[i]);
  int st = 0;
  waitpid(child, &st, 0);

  uint64_t u0, s0, u1, s1;
  uint64_t c0 = cpu_us(&r0, &u0, &s0), c1 = cpu_us(&r1, &u1, &s1);
  double el = (double)(t1 - t0);
  printf("push_floor conns=%d size=%d per_write=%d rate=%d writes=%llu writes_per_s=%.0f deliveries_per_s=%.0f "
         "writer_cpu_pct=%.1f writer_us_per_write=%.2f writer_user_us_per_write=%.2f writer_sys_us_per_write=%.2f "
         "writer_us_per_delivery=%.2f reader_cpu_pct=%.1f eagain=%llu reader_exit=%d\n",
         conns, size, per_write, rate, (unsigned long long)writes, (double)writes * 1e6 / el,
         (double)writes * per_write * 1e6 / el, (double)(c1 - c0) * 100.0 / el,
         (double)(c1 - c0) / (double)writes, (double)(u1 - u0) / (double)writes, (double)(s1 - s0) / (double)writes,
         (double)(c1 - c0) / (double)writes / per_write, (double)(child_cpu1 - child_cpu0) * 1000.0 * 100.0 / el,
         (unsigned long long)eagain, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  free(buf);
  free(fds);
  return 0;
}
