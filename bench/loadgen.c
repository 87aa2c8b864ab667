/* loadgen.c — imcloud's login load generator (raw edge-triggered epoll, one
 * loop per process, Linux).
 *
 * Opens N WebSocket connections to the server, logs each in with its own
 * UserSig (docs/protocol.md), and reports logins per second. With --hold it
 * then keeps every connection open and idle, prints "ready", and waits for
 * SIGTERM/SIGINT, so a script can measure the server's memory per idle
 * authenticated connection. --procs P forks P workers (one process holds at
 * most ~19,990 sockets here: ulimit -n 20000); the parent merges their results.
 *
 * Connections come from --sources S source addresses, 127.0.0.2 … 127.0.0.(S+1)
 * (default 8: .2 … .9), bound before connect with IP_BIND_ADDRESS_NO_PORT, so
 * the kernel picks the local port per 4-tuple at connect time: from one
 * source address, tens of thousands of connections to one server port make
 * the kernel's local-port search the load generator's bottleneck.
 *
 * Cost per login is the point (a generator that costs as much as the server
 * measures itself). Everything a login sends is made before the storm (the
 * UserSigs, official format, and the masked login frames, in one block); in
 * the storm a login makes 9 system calls: socket, setsockopt
 * (IP_BIND_ADDRESS_NO_PORT), bind, connect, write (the upgrade request, at
 * once: on loopback the handshake has completed when connect returns; on
 * EAGAIN it waits for EPOLLOUT), one epoll_ctl (EPOLLIN | EPOLLOUT |
 * EPOLLET, never modified), read (the 101), write (the login frame), read
 * (the login reply), plus its share of epoll_wait (up to 1024 events per
 * call). Edge-triggered reads stop at a short read, so no read returns
 * EAGAIN: a later segment raises a new edge. No allocation and no printf
 * while the storm runs. The generator counts its own system calls in the
 * storm and prints them per login (syscalls_per_login), so the figure can
 * be checked against `strace -c -f` or perf's syscall tracepoints.
 *
 *   loadgen --port P --sdkappid N --key K --conns N [--procs P] [--hold]
 *           [--host 127.0.0.1] [--sources 8] [--concurrency 512]
 *           [--user-prefix lg] [--platform Web] [--first 0] [--notify PID]
 *           [--cpu-of PID] [--no-quickack]
 *
 * Output (parent, one line): conns=N ok=N failed=N elapsed_ms=X logins_per_s=Y
 * p50_ms=… p99_ms=… (login latency from the socket call to the login reply,
 * percentiles over every sample of every worker) loadgen_cpu_ms=… (user +
 * system CPU of all workers from the first connect to the last login reply;
 * near elapsed_ms × cores means the load generator is the bottleneck),
 * loadgen_sys_ms (its system part: on loopback it includes the kernel's work
 * for the segments the generator sends, the server's side of them too),
 * loadgen_us_per_login (loadgen_cpu_ms per successful login) and
 * syscalls_per_login (the storm's system calls, epoll_wait included, per
 * successful login).
 * Workers make their UserSigs and frames first and start together (a worker
 * still signing would take the core from the others' storms).
 * --notify PID: each worker sends PID SIGUSR1 right before its first connect
 * and SIGUSR2 after its last login reply (bench/rest_probe.c times only
 * what lies between).
 * --no-quickack sets TCP_QUICKACK to 0 on each socket before its upgrade
 * request (one more setsockopt per login): Linux then delays the ACK of the
 * server's 101, which rides on the login frame, instead of acknowledging it
 * at once; on loopback that immediate ACK is made and processed on the
 * server's core, inside the server's send of the 101. Off by default (a
 * client's stack acknowledges a connection's first data at once); it is for
 * telling that share of the server's CPU apart (docs/decisions/login-cost.md).
 * --cpu-of PID (the server): the line adds target_cpu_ms, the CPU time PID
 * used from the moment the workers start (after signing) until the last
 * worker's last login reply (/proc/PID/stat: 10 ms ticks).
 */
#include "auth/usersig.h"
#include "bench_clock.h"
#include "bench_proc.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { ST_CONNECTING, ST_UPGRADING, ST_LOGIN_SENT, ST_DONE, ST_FAILED };

/* The upgrade request, the same for every connection. */
static const char upgrade_req[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

typedef struct conn {
  int fd;               /* -1 before the socket and after a failure */
  uint8_t stage;        /* ST_* */
  uint16_t got;         /* bytes in buf */
  uint32_t frame_off;   /* the login frame's place in frames */
  uint16_t frame_len;
  uint64_t t0_us;
  char buf[512];
} conn_t;

static struct {
  const char *host, *key, *prefix, *platform;
  int port, conns, procs, hold, concurrency, first, sources, notify, cpu_of, no_quickack;
  unsigned sdkappid;
} opt = { "127.0.0.1", NULL, "lg", "Web", 0, 1000, 1, 0, 512, 0, 8, 0, 0, 0, 0 };

static int ep;
static conn_t *conns;
static char *frames;    /* every login frame, masked, back to back */
static int next_conn, in_flight, ok, failed;
static uint64_t t_start_us, t_end_us, cpu_start_us, cpu_end_us, sys_start_us, sys_end_us;
static uint64_t nsys;   /* system calls made in the storm (until the last reply) */
static int counting = 1;
static uint32_t *lat_us;
static struct sockaddr_in server_addr;
static volatile sig_atomic_t stop;

#define SYS(call) (nsys += (uint64_t)counting, (call))

/* User + system CPU of this process in µs; *sys_out its system part. */
static uint64_t cpu_us(uint64_t *sys_out)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t s = (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
  *sys_out = s;
  return s + (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec;
}

static void finish(conn_t *c, int good)
{
  if (c->stage >= ST_DONE) return;
  c->stage = good ? ST_DONE : ST_FAILED;
  if (good) lat_us[ok++] = (uint32_t)(now_us() - c->t0_us);
  else {
    failed++;
    if (c->fd >= 0) { SYS(close(c->fd)); c->fd = -1; }
  }
  in_flight--;
  t_end_us = now_us();
  if (ok + failed == opt.conns) {
    cpu_end_us = cpu_us(&sys_end_us);
    counting = 0;
    if (opt.notify) kill(opt.notify, SIGUSR2);
    if (opt.hold) { printf("ready\n"); fflush(stdout); }
  }
}

/* Write len bytes at once; 1 written, 0 would block (nothing written), -1 error.
 * A partial write of these few hundred bytes on a fresh socket does not
 * happen; it counts as an error. */
static int put(conn_t *c, const char *data, size_t len)
{
  ssize_t n = SYS(write(c->fd, data, len));
  if (n == (ssize_t)len) return 1;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)) return 0;
  return -1;
}

/* Start connection i: socket, source bind, connect, the upgrade request if
 * the handshake is done, one epoll_ctl. */
static void open_one(int i)
{
  conn_t *c = &conns[i];
  c->t0_us = now_us();
  in_flight++;
  c->fd = SYS(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (c->fd < 0) { finish(c, 0); return; }
  if (opt.sources > 0) {
    int one = 1;
    struct sockaddr_in src = { .sin_family = AF_INET };
    src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i % opt.sources));
    if (SYS(setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one)) ||
        SYS(bind(c->fd, (struct sockaddr *)&src, sizeof src))) { finish(c, 0); return; }
  }
  if (SYS(connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr)) && errno != EINPROGRESS) {
    finish(c, 0);
    return;
  }
  int zero = 0; /* --no-quickack: the ACK of the 101 rides on the login frame */
  if (opt.no_quickack && SYS(setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero))) { finish(c, 0); return; }
  int w = put(c, upgrade_req, sizeof upgrade_req - 1);
  if (w < 0) { finish(c, 0); return; }
  c->stage = w ? ST_UPGRADING : ST_CONNECTING;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
  if (SYS(epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))) finish(c, 0);
}

static void start_more(void)
{
  while (in_flight < opt.concurrency && next_conn < opt.conns) open_one(next_conn++);
}

/* Bytes arrived (edge): one read; a short read means the socket is empty,
 * a full one reads again. Parses the 101, sends the login frame, then the
 * login reply. */
static void on_readable(conn_t *c)
{
  for (;;) {
    size_t room = sizeof c->buf - 1 - c->got;
    if (c->stage == ST_DONE) { /* idle: pushes are dropped */
      char sink[512];
      ssize_t n = SYS(read(c->fd, sink, sizeof sink));
      if (n == (ssize_t)sizeof sink) continue;
      if (n == 0) { SYS(close(c->fd)); c->fd = -1; }
      return;
    }
    if (!room) { finish(c, 0); return; }
    ssize_t n = SYS(read(c->fd, c->buf + c->got, room));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) { finish(c, 0); return; }
    c->got = (uint16_t)(c->got + n);
    c->buf[c->got] = 0;
    if (c->stage == ST_UPGRADING) {
      char *end = strstr(c->buf, "\r\n\r\n");
      if (end) {
        if (strncmp(c->buf, "HTTP/1.1 101", 12)) { finish(c, 0); return; }
        size_t rest = c->got - (size_t)(end + 4 - c->buf);
        memmove(c->buf, end + 4, rest + 1);
        c->got = (uint16_t)rest;
        c->stage = ST_LOGIN_SENT;
        if (put(c, frames + c->frame_off, c->frame_len) != 1) { finish(c, 0); return; }
      }
    }
    if (c->stage == ST_LOGIN_SENT && c->got >= 2) {
      size_t len = (unsigned char)c->buf[1] & 0x7f, h = 2;
      if (len == 126 && c->got >= 4) { len = (size_t)((unsigned char)c->buf[2] << 8 | (unsigned char)c->buf[3]); h = 4; }
      if ((len != 126 || h == 4) && c->got >= h + len) {
        int good = strstr(c->buf + h, "\"code\":0,") != NULL;
        c->got = 0;
        finish(c, good);
        if (!good) return;
      }
    }
    if ((size_t)n < room) return;
  }
}

static void on_event(conn_t *c, uint32_t events)
{
  if (c->stage >= ST_FAILED || c->fd < 0) return;
  if (c->stage == ST_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int w = (events & EPOLLERR) ? -1 : put(c, upgrade_req, sizeof upgrade_req - 1);
    if (w < 0) { finish(c, 0); return; }
    if (!w) return;
    c->stage = ST_UPGRADING;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
}

/* Append connection idx's masked login frame to frames at *off. 0 or -1. */
static int make_frame(int idx, size_t *off)
{
  char sig[1024], text[1600], user[64];
  snprintf(user, sizeof user, "%s%d", opt.prefix, opt.first + idx);
  if (auth_usersig_gen(opt.sdkappid, opt.key, user, imc_clock_now_s(), 86400, sig, sizeof sig)) return -1;
  int n = snprintf(text, sizeof text,
                   "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\",\"platform\":\"%s\",\"device_id\":\"%s\"}",
                   opt.sdkappid, user, sig, opt.platform, user);
  if (n <= 0 || (size_t)n >= sizeof text) return -1;
  size_t len = (size_t)n, h = len < 126 ? 6 : 8;
  unsigned char *f = (unsigned char *)frames + *off;
  f[0] = 0x81;
  if (len < 126) f[1] = (unsigned char)(0x80 | len);
  else { f[1] = 0x80 | 126; f[2] = (unsigned char)(len >> 8); f[3] = (unsigned char)len; }
  static const unsigned char mask[4] = { 1, 2, 3, 4 };
  memcpy(f + h - 4, mask, 4);
  for (size_t i = 0; i < len; i++) f[h + i] = (unsigned char)text[i] ^ mask[i & 3];
  conns[idx].frame_off = (uint32_t)*off;
  conns[idx].frame_len = (uint16_t)(h + len);
  *off += h + len;
  return 0;
}

static void on_signal(int sig) { (void)sig; stop = 1; }

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* One worker: prints "L latency_us" per login, then
 * "W ok failed start_us end_us cpu_us sys_us syscalls" (CPU and system calls
 * from the first connect to the last login reply). */
static int worker(int go_fd)
{
  conns = calloc((size_t)opt.conns, sizeof *conns);
  lat_us = calloc((size_t)opt.conns + 1, sizeof *lat_us);
  frames = malloc((size_t)opt.conns * 1608);
  if (!conns || !lat_us || !frames) { fprintf(stderr, "loadgen: out of memory\n"); return 1; }
  size_t off = 0;
  for (int i = 0; i < opt.conns; i++) {
    conns[i].fd = -1;
    if (make_frame(i, &off)) { fprintf(stderr, "usersig failed\n"); return 1; }
  }
  server_addr.sin_family = AF_INET;
  server_addr.sin_port = htons((uint16_t)opt.port);
  if (inet_pton(AF_INET, opt.host, &server_addr.sin_addr) != 1) { fprintf(stderr, "bad --host\n"); return 1; }
  if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) { perror("epoll_create1"); return 1; }
  struct sigaction sa = { .sa_handler = on_signal };
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  /* every worker starts when all have made their frames: one still signing
   * would share the core with the others' storms */
  printf("G\n");
  fflush(stdout);
  char go;
  if (go_fd >= 0 && read(go_fd, &go, 1) != 1) return 1;
  if (opt.notify) kill(opt.notify, SIGUSR1);
  t_start_us = now_us();
  cpu_start_us = cpu_end_us = cpu_us(&sys_start_us);
  sys_end_us = sys_start_us;
  static struct epoll_event evs[1024];
  start_more();
  while (!stop && (opt.hold || ok + failed < opt.conns)) {
    int n = SYS(epoll_wait(ep, evs, 1024, -1));
    if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); break; }
    for (int i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events);
    start_more();
  }
  if (cpu_end_us == cpu_start_us) cpu_end_us = cpu_us(&sys_end_us); /* stopped before the last reply */
  for (int i = 0; i < ok; i++) printf("L %u\n", lat_us[i]);
  printf("W %d %d %llu %llu %llu %llu %llu\n", ok, failed, (unsigned long long)t_start_us, (unsigned long long)t_end_us,
         (unsigned long long)(cpu_end_us - cpu_start_us), (unsigned long long)(sys_end_us - sys_start_us),
         (unsigned long long)nsys);
  fflush(stdout);
  return 0;
}

static void usage(void)
{
  fprintf(stderr, "usage: loadgen --port P --sdkappid N --key K --conns N [--procs P] [--hold] [--host H]\n"
                  "               [--sources S] [--concurrency C] [--user-prefix S] [--platform Web] [--first I]\n"
                  "               [--notify PID] [--cpu-of PID] [--no-quickack]\n");
  exit(2);
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--hold")) { opt.hold = 1; continue; }
    if (!strcmp(a, "--no-quickack")) { opt.no_quickack = 1; continue; }
    if (!v) usage();
    if (!strcmp(a, "--host")) opt.host = v;
    else if (!strcmp(a, "--port")) opt.port = atoi(v);
    else if (!strcmp(a, "--sdkappid")) opt.sdkappid = (unsigned)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--key")) opt.key = v;
    else if (!strcmp(a, "--conns")) opt.conns = atoi(v);
    else if (!strcmp(a, "--procs")) opt.procs = atoi(v);
    else if (!strcmp(a, "--concurrency")) opt.concurrency = atoi(v);
    else if (!strcmp(a, "--sources")) opt.sources = atoi(v);
    else if (!strcmp(a, "--user-prefix")) opt.prefix = v;
    else if (!strcmp(a, "--platform")) opt.platform = v;
    else if (!strcmp(a, "--first")) opt.first = atoi(v);
    else if (!strcmp(a, "--notify")) opt.notify = atoi(v);
    else if (!strcmp(a, "--cpu-of")) opt.cpu_of = atoi(v);
    else usage();
    i++;
  }
  if (!opt.port || !opt.sdkappid || !opt.key || opt.conns <= 0 || opt.procs <= 0 || opt.concurrency <= 0 ||
      opt.sources < 0 || opt.sources > 250)
    usage();
  int total = opt.conns, procs = opt.procs;
  int fds[64][2], go[2];
  pid_t pids[64];
  if (procs > 64) procs = 64;
  if (pipe(go)) return 1;
  for (int p = 0; p < procs; p++) {
    if (pipe(fds[p])) return 1;
    int share = total / procs + (p < total % procs);
    int first = opt.first + p * (total / procs) + (p < total % procs ? p : total % procs);
    pids[p] = fork();
    if (pids[p] == 0) {
      dup2(fds[p][1], 1);
      close(fds[p][0]);
      close(go[1]);
      opt.conns = share;
      opt.first = first;
      _exit(worker(go[0]));
    }
    close(fds[p][1]);
  }
  close(go[0]);
  FILE *in[64];
  for (int p = 0; p < procs; p++) in[p] = fdopen(fds[p][0], "r");
  for (int p = 0; p < procs; p++) { /* "G": its frames are made */
    char line[64];
    if (!fgets(line, sizeof line, in[p]) || line[0] != 'G') { fprintf(stderr, "loadgen: a worker failed\n"); return 1; }
  }
  long long target0 = opt.cpu_of ? bench_proc_cpu_ms(opt.cpu_of) : 0, target1 = target0;
  for (int p = 0; p < procs; p++) if (write(go[1], "g", 1) != 1) return 1;
  close(go[1]);
  /* Relay "ready" once every worker is ready; then wait for a signal. */
  long long okc = 0, failc = 0;
  unsigned long long t0 = ~0ull, t1 = 0, cpu = 0, sys = 0, calls = 0;
  uint32_t *all = malloc(((size_t)total + 1) * sizeof *all);
  size_t nall = 0;
  int ready = 0;
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  if (opt.hold) {
    char line[256];
    for (int p = 0; p < procs; p++)
      if (fgets(line, sizeof line, in[p]) && !strncmp(line, "ready", 5)) ready++;
    if (opt.cpu_of) target1 = bench_proc_cpu_ms(opt.cpu_of);
    printf("ready workers=%d\n", ready);
    fflush(stdout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sig;
    sigwait(&set, &sig);
    for (int p = 0; p < procs; p++) kill(pids[p], SIGTERM);
  }
  for (int p = 0; p < procs; p++) {
    char line[256];
    int o, f;
    unsigned long long a, b, u, k, s;
    unsigned l;
    while (fgets(line, sizeof line, in[p])) {
      if (sscanf(line, "L %u", &l) == 1) { if (nall < (size_t)total) all[nall++] = l; }
      else if (sscanf(line, "W %d %d %llu %llu %llu %llu %llu", &o, &f, &a, &b, &u, &k, &s) == 7) {
        okc += o; failc += f; cpu += u; sys += k; calls += s;
        if (a < t0) t0 = a;
        if (b > t1) t1 = b;
      }
    }
    waitpid(pids[p], NULL, 0);
  }
  if (opt.cpu_of && !opt.hold) target1 = bench_proc_cpu_ms(opt.cpu_of);
  /* percentiles over all samples (nearest rank) */
  qsort(all, nall, sizeof *all, cmp_u32);
  double p50 = nall ? all[(nall - 1) / 2] / 1000.0 : 0, p99 = nall ? all[(nall * 99 + 99) / 100 - 1] / 1000.0 : 0;
  double ms = t1 > t0 ? (double)(t1 - t0) / 1000.0 : 0;
  printf("conns=%d ok=%lld failed=%lld elapsed_ms=%.1f logins_per_s=%.0f p50_ms=%.2f p99_ms=%.2f procs=%d sources=%d "
         "loadgen_cpu_ms=%.1f loadgen_sys_ms=%.1f loadgen_us_per_login=%.1f syscalls_per_login=%.2f",
         total, okc, failc, ms, ms > 0 ? (double)okc * 1000.0 / ms : 0, p50, p99, procs, opt.sources, cpu / 1000.0,
         sys / 1000.0, okc ? (double)cpu / (double)okc : 0, okc ? (double)calls / (double)okc : 0);
  if (opt.cpu_of) printf(" target_cpu_ms=%lld", target1 - target0);
  printf("\n");
  free(all);
  return failc ? 1 : 0;
}
