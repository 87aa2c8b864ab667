/* loadgen.c — imcloud's load generator (libuv, one loop per process).
 *
 * Opens N WebSocket connections to the server, logs each in with its own
 * UserSig (docs/protocol.md), and reports logins per second. With --hold it
 * then keeps every connection open and idle, prints "ready", and waits for
 * SIGTERM/SIGINT, so a script can measure the server's memory per idle
 * authenticated connection. --procs P forks P workers (one process holds at
 * most ~19,990 sockets here); the parent merges their results.
 *
 * Connections come from --sources S source addresses, 127.0.0.2 … 127.0.0.(S+1)
 * (default 8: .2 … .9), bound before connect with IP_BIND_ADDRESS_NO_PORT, so
 * the kernel picks the local port per 4-tuple at connect time: from one
 * source address, tens of thousands of connections to one server port make
 * the kernel's local-port search the load generator's bottleneck.
 *
 *   loadgen --port P --sdkappid N --key K --conns N [--procs P] [--hold]
 *           [--host 127.0.0.1] [--sources 8] [--concurrency 512]
 *           [--user-prefix lg] [--platform Web] [--first 0] [--notify PID]
 *
 * Output (parent, one line): conns=N ok=N failed=N elapsed_ms=X logins_per_s=Y
 * p50_ms=… p99_ms=… (login latency from TCP connect to the login reply,
 * percentiles over every sample of every worker) loadgen_cpu_ms=… (user +
 * system CPU of all workers from the first connect to the last login reply;
 * near elapsed_ms × cores means the load generator is the bottleneck),
 * loadgen_sys_ms (its system part: on loopback it includes the kernel's work
 * for the segments the generator sends, the server's side of them too).
 * Workers make their UserSigs and frames first and start together (a worker
 * still signing would take the core from the others' storms).
 * --notify PID: each worker sends PID SIGUSR1 right before its first connect
 * and SIGUSR2 after its last login reply (bench/rest_probe.c times only
 * what lies between).
 */
#include "auth/usersig.h"
#include "util/clock.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  int idx;
  int stage;            /* 0 connecting, 1 handshake, 2 login sent, 3 logged in, 4 failed */
  int no_handle;        /* uv_tcp_init_ex failed: nothing to close */
  size_t got;
  char *frame;          /* login frame (masked), freed after write */
  size_t frame_len;
  uint64_t t0_us;
  char buf[512];
} conn_t;

static struct {
  const char *host, *key, *prefix, *platform;
  int port, conns, procs, hold, concurrency, first, sources, notify;
  unsigned sdkappid;
} opt = { "127.0.0.1", NULL, "lg", "Web", 0, 1000, 1, 0, 512, 0, 8, 0, 0 };

static uv_loop_t *loop;
static conn_t *conns;
static int next_conn, in_flight, ok, failed;
static uint64_t t_start_us, t_end_us, cpu_start_us, cpu_end_us;
static uint32_t *lat_us;
static uv_signal_t sig_term, sig_int;

static uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void start_more(void);

static uint64_t sys_start_us, sys_end_us;

static uint64_t sys_us(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

static uint64_t cpu_us(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
  (void)sz;
  conn_t *c = h->data;
  b->base = c->buf + c->got;
  b->len = sizeof c->buf - c->got - 1;
}

static void finish(conn_t *c, int good)
{
  if (c->stage >= 3) return;
  c->stage = good ? 3 : 4;
  if (good) { lat_us[ok] = (uint32_t)(now_us() - c->t0_us); ok++; }
  else failed++;
  in_flight--;
  t_end_us = now_us();
  if (!good && !c->no_handle) uv_close((uv_handle_t *)&c->tcp, NULL);
  start_more();
  if (ok + failed == opt.conns) {
    cpu_end_us = cpu_us();
    sys_end_us = sys_us();
    if (opt.notify) kill(opt.notify, SIGUSR2);
    if (!opt.hold) uv_stop(loop);
    else { printf("ready\n"); fflush(stdout); }
  }
}

static void write_cb(uv_write_t *w, int status)
{
  conn_t *c = w->data;
  free(w);
  if (status) finish(c, 0);
}

static void send_bytes(conn_t *c, char *data, size_t len)
{
  uv_write_t *w = malloc(sizeof *w);
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  w->data = c;
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, write_cb)) { free(w); finish(c, 0); }
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
  (void)b;
  conn_t *c = s->data;
  if (n < 0) { if (c->stage < 3) finish(c, 0); else uv_close((uv_handle_t *)s, NULL); return; }
  c->got += (size_t)n;
  c->buf[c->got] = 0;
  if (c->stage == 1) {
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end) return;
    if (strncmp(c->buf, "HTTP/1.1 101", 12)) { finish(c, 0); return; }
    size_t rest = c->got - (size_t)(end + 4 - c->buf);
    memmove(c->buf, end + 4, rest);
    c->got = rest;
    c->stage = 2;
    send_bytes(c, c->frame, c->frame_len);
  }
  if (c->stage == 2 && c->got >= 2) {
    size_t len = (unsigned char)c->buf[1] & 0x7f, h = 2;
    if (len == 126) { if (c->got < 4) return; len = (size_t)((unsigned char)c->buf[2] << 8 | (unsigned char)c->buf[3]); h = 4; }
    if (c->got < h + len) return;
    int good = strstr(c->buf + h, "\"code\":0,") != NULL;
    c->got = 0;
    finish(c, good);
  } else if (c->stage == 3) {
    c->got = 0; /* ignore pushes while idle */
  }
}

static void connect_cb(uv_connect_t *r, int status)
{
  conn_t *c = r->data;
  if (status) { finish(c, 0); return; }
  static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  c->stage = 1;
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
  send_bytes(c, (char *)hs, sizeof hs - 1);
}

static char *make_frame(int idx, size_t *len_out)
{
  char sig[1024], text[1600];
  char user[64];
  snprintf(user, sizeof user, "%s%d", opt.prefix, opt.first + idx);
  if (auth_usersig_gen(opt.sdkappid, opt.key, user, imc_clock_now_s(), 86400, sig, sizeof sig)) return NULL;
  int n = snprintf(text, sizeof text,
                   "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\",\"platform\":\"%s\",\"device_id\":\"%s\"}",
                   opt.sdkappid, user, sig, opt.platform, user);
  size_t len = (size_t)n, h = len < 126 ? 6 : 8;
  unsigned char *f = malloc(h + len);
  f[0] = 0x81;
  if (len < 126) f[1] = (unsigned char)(0x80 | len);
  else { f[1] = 0x80 | 126; f[2] = (unsigned char)(len >> 8); f[3] = (unsigned char)len; }
  unsigned char mask[4] = { 1, 2, 3, 4 };
  memcpy(f + h - 4, mask, 4);
  for (size_t i = 0; i < len; i++) f[h + i] = (unsigned char)text[i] ^ mask[i & 3];
  *len_out = h + len;
  return (char *)f;
}

/* A socket bound to source address 127.0.0.(2 + idx % sources), its port
 * left to connect(). 0 or a libuv error. */
static int open_from_source(conn_t *c)
{
  int rc = uv_tcp_init_ex(loop, &c->tcp, AF_INET);
  if (rc) { c->no_handle = 1; return rc; }
  if (opt.sources <= 0) return 0;
  uv_os_fd_t fd;
  if ((rc = uv_fileno((uv_handle_t *)&c->tcp, &fd))) return rc;
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in src = { 0 };
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(c->idx % opt.sources));
  return uv_tcp_bind(&c->tcp, (struct sockaddr *)&src, 0);
}

static void start_more(void)
{
  struct sockaddr_in addr;
  uv_ip4_addr(opt.host, opt.port, &addr);
  while (in_flight < opt.concurrency && next_conn < opt.conns) {
    conn_t *c = &conns[next_conn];
    c->idx = next_conn++;
    c->tcp.data = c;
    c->creq.data = c;
    c->t0_us = now_us();
    in_flight++;
    int rc = open_from_source(c);
    if (rc || uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&addr, connect_cb)) finish(c, 0);
  }
}

static void on_signal(uv_signal_t *h, int sig) { (void)h; (void)sig; uv_stop(loop); }

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* One worker: prints "L latency_us" per login, then
 * "W ok failed start_us end_us cpu_us" (CPU from the first connect to the
 * last login reply). */
static int worker(int go_fd)
{
  loop = uv_default_loop();
  conns = calloc((size_t)opt.conns, sizeof *conns);
  lat_us = calloc((size_t)opt.conns + 1, sizeof *lat_us);
  for (int i = 0; i < opt.conns; i++)
    if (!(conns[i].frame = make_frame(i, &conns[i].frame_len))) { fprintf(stderr, "usersig failed\n"); return 1; }
  /* every worker starts when all have made their frames: one still signing
   * would share the core with the others' storms */
  printf("G\n");
  fflush(stdout);
  char go;
  if (go_fd >= 0 && read(go_fd, &go, 1) != 1) return 1;
  uv_signal_init(loop, &sig_term);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_unref((uv_handle_t *)&sig_term);
  uv_unref((uv_handle_t *)&sig_int);
  if (opt.notify) kill(opt.notify, SIGUSR1);
  t_start_us = now_us();
  cpu_start_us = cpu_end_us = cpu_us();
  sys_start_us = sys_end_us = sys_us();
  start_more();
  uv_run(loop, UV_RUN_DEFAULT);
  if (cpu_end_us == cpu_start_us) { cpu_end_us = cpu_us(); sys_end_us = sys_us(); } /* stopped before the last reply */
  for (int i = 0; i < ok; i++) printf("L %u\n", lat_us[i]);
  printf("W %d %d %llu %llu %llu %llu\n", ok, failed, (unsigned long long)t_start_us, (unsigned long long)t_end_us,
         (unsigned long long)(cpu_end_us - cpu_start_us), (unsigned long long)(sys_end_us - sys_start_us));
  fflush(stdout);
  return 0;
}

static void usage(void)
{
  fprintf(stderr, "usage: loadgen --port P --sdkappid N --key K --conns N [--procs P] [--hold] [--host H]\n"
                  "               [--sources S] [--concurrency C] [--user-prefix S] [--platform Web] [--first I]\n"
                  "               [--notify PID]\n");
  exit(2);
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--hold")) { opt.hold = 1; continue; }
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
    else usage();
    i++;
  }
  if (!opt.port || !opt.sdkappid || !opt.key || opt.conns <= 0 || opt.procs <= 0 || opt.sources < 0 || opt.sources > 250) usage();
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
  for (int p = 0; p < procs; p++) if (write(go[1], "g", 1) != 1) return 1;
  close(go[1]);
  /* Relay "ready" once every worker is ready; then wait for a signal. */
  long long okc = 0, failc = 0;
  unsigned long long t0 = ~0ull, t1 = 0, cpu = 0, sys = 0;
  uint32_t *all = malloc(((size_t)total + 1) * sizeof *all);
  size_t nall = 0;
  int ready = 0;
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  if (opt.hold) {
    char line[256];
    for (int p = 0; p < procs; p++)
      if (fgets(line, sizeof line, in[p]) && !strncmp(line, "ready", 5)) ready++;
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
    unsigned long long a, b, u, k;
    unsigned l;
    while (fgets(line, sizeof line, in[p])) {
      if (sscanf(line, "L %u", &l) == 1) { if (nall < (size_t)total) all[nall++] = l; }
      else if (sscanf(line, "W %d %d %llu %llu %llu %llu", &o, &f, &a, &b, &u, &k) == 6) {
        okc += o; failc += f; cpu += u; sys += k;
        if (a < t0) t0 = a;
        if (b > t1) t1 = b;
      }
    }
    waitpid(pids[p], NULL, 0);
  }
  /* percentiles over all samples (nearest rank) */
  qsort(all, nall, sizeof *all, cmp_u32);
  double p50 = nall ? all[(nall - 1) / 2] / 1000.0 : 0, p99 = nall ? all[(nall * 99 + 99) / 100 - 1] / 1000.0 : 0;
  double ms = t1 > t0 ? (double)(t1 - t0) / 1000.0 : 0;
  printf("conns=%d ok=%lld failed=%lld elapsed_ms=%.1f logins_per_s=%.0f p50_ms=%.2f p99_ms=%.2f procs=%d sources=%d "
         "loadgen_cpu_ms=%.1f loadgen_sys_ms=%.1f\n", total, okc, failc, ms, ms > 0 ? (double)okc * 1000.0 / ms : 0, p50, p99, procs,
         opt.sources, cpu / 1000.0, sys / 1000.0);
  free(all);
  return failc ? 1 : 0;
}
