/* live_bench.c — group fan-out load generator: one live room (AVChatRoom)
 * with --members online sessions and a publisher ladder, or a stored-history
 * Work group with --members online members and a publisher at full speed.
 *
 *   live_bench --port P --sdkappid N --key K --members M [--procs P] [--sources 8]
 *              [--mode live|work] [--rates 50,100,200,400,800] [--max-rate R]
 *              [--step-seconds S] [--window W] [--server-pid PID] [--keep-going 1] [--sample N]
 *
 * Members (users lb0 … lbM-1, accounts created by their login) are spread over
 * --procs worker processes (libuv, one loop each) and over the source
 * addresses 127.0.0.2 … 127.0.0.(1+sources). A worker reads every member
 * into one shared 256 KiB buffer and only walks frame headers: a delivery is
 * counted by the step digits of the publisher's text ("s<step>t<16-digit
 * µs>", CLOCK_MONOTONIC, the same clock in every process), found at a fixed
 * offset from the frame's end, so it costs no JSON parsing and no clock
 * read. One member in --sample (default 64) also gives latencies: it reads
 * with recvmsg, parses the send time of each delivery and has two: to the
 * kernel's receive timestamp of the read that brought it (SO_TIMESTAMPNS,
 * converted to CLOCK_MONOTONIC; on loopback the segment is stamped inside
 * the server's sendmsg, so this is the server's latency and leaves out the
 * generator's own backlog, except when the generator lets a socket's receive
 * buffer fill up and the server has to wait), and to the moment the worker
 * read it. Counts and latency histograms live in shared memory the parent
 * reads.
 *
 * live: the parent creates the room (REST create_group), the members join
 * (group_join), then the publisher (user lbpub, a member too: it does not get
 * its own messages) sends at each rate of the ladder for --step-seconds, then
 * waits 2 s for the last deliveries. After the given rates the rate doubles
 * until --max-rate (0: stop after the list), and the ladder stops after the
 * first step that loses deliveries or whose p99 exceeds 1 s (unless
 * --keep-going 1: every rate of the list runs).
 * work: the parent creates a Work group owned by lbpub and adds the members
 * (add_group_member, 300 per call, Silence); the publisher sends with at most
 * --window unanswered sends (each answered after its commit) for
 * --step-seconds.
 *
 * One line per step: rate, messages published and acknowledged, deliveries
 * received and expected (acknowledged × members), deliveries/s over the
 * publishing time, delivery latency p50/p99/max of the sampled members to
 * the kernel's receive timestamp (p50_ms …; the ladder's 1 s rule uses
 * these) and to the worker's read (read_p50_ms …), how many deliveries the
 * latencies come from, the server's counters over the step from /healthz
 * (frames per write, writes/s, bytes per write, walk slices (loop turns
 * with a share of a walk) per second and writes per slice, live
 * deliveries dropped,
 * cut-offs), the server's CPU share, the share of the step its loop
 * thread spent runnable but waiting for a CPU (/proc schedstat: high on a
 * box shared with other work, and then the latencies are the box's), CPU
 * per delivery and RSS (with --server-pid), the high-water mark of what the
 * send queues held since the server started (server_queued_max_bytes,
 * /healthz ws_out.queued_bytes_max: a frame queued to many members counts
 * once), the load generator's CPU share and CPU per delivery
 * (workers + publisher; on a box shared with other work both processes only
 * get their share of their core, so compare CPU per delivery, not rates)
 * and the load average.
 *
 * What the workers and the parent share (the shared memory, the options,
 * the histogram buckets and the text formats) is in live_bench.h; the frame encoder in bench_net.h.
 */
#include "bench_clock.h"
#include "bench_net.h"
#include "bench_proc.h"
#include "live_bench.h"
#include "auth/usersig.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* ---- workers: members ---------------------------------------------------------------------- */
/* Members are plain non-blocking sockets watched by uv_poll. A worker reads
 * every socket into one shared 256 KiB buffer (what the last read left of a
 * frame is copied to the member's own small remainder and put in front of
 * the next read), walks the WebSocket frame headers and counts a delivery by
 * the step digits at a fixed distance from the frame's end: no JSON, no
 * clock. One member in --sample (default 64) is sampled: it reads with
 * recvmsg and the kernel's receive timestamp (SO_TIMESTAMPNS: when the last
 * segment of the read reached the socket, which on loopback is within the
 * server's own sendmsg), reads the clock, and parses the send time of each
 * delivery; the latency figures come from these members. */
typedef struct conn {
  uv_poll_t poll;
  int fd, idx, stage;           /* 0 connecting, 1 handshake, 2 login, 3 join, 4 member, 5 failed */
  int sampled;                  /* latencies from this member's deliveries */
  unsigned char *rest;          /* a frame's start the last read left (malloc'd), NULL = none */
  size_t nrest;
} conn_t;

#define RBUF_BYTES (256 * 1024)
static unsigned char *rbuf;     /* the worker's one read buffer: RBUF_BYTES + 1 */

static uv_loop_t *loop;
static conn_t *conns;
static int nconns, joined, failed;
static uv_timer_t poll_timer;
static int64_t rt_minus_mono_us; /* CLOCK_REALTIME − CLOCK_MONOTONIC, refreshed every 100 ms */

static void clock_offset(void)
{
  struct timespec r, m;
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_REALTIME, &r);
  rt_minus_mono_us = ((int64_t)r.tv_sec - m.tv_sec) * 1000000 + ((int64_t)r.tv_nsec - m.tv_nsec) / 1000;
}

static void setup_done(void)
{
  if (joined + failed == nconns) sh->ready[me] = 1 + joined;
}

static void conn_fail(conn_t *c)
{
  int was = c->stage;
  if (was == 5) return;
  c->stage = 5;
  uv_poll_stop(&c->poll);
  if (was < 4) { failed++; setup_done(); }
}

/* Small setup frames only (handshake, login, join): all of it or the member fails. */
static void send_buf(conn_t *c, const void *data, size_t len)
{
  if (write(c->fd, data, len) != (ssize_t)len) conn_fail(c);
}

static void send_text(conn_t *c, const char *text)
{
  unsigned char buf[4096];
  send_buf(c, buf, bench_ws_frame(text, strlen(text), buf));
}

static void got_frame(conn_t *c, const unsigned char *p)
{
  const char *s = (const char *)p;
  if (c->stage == 2) {
    if (!strstr(s, "\"code\":0,")) { conn_fail(c); return; }
    if (strcmp(opt.mode, "live")) { c->stage = 4; joined++; setup_done(); return; } /* work: added by REST */
    c->stage = 3;
    char text[128];
    snprintf(text, sizeof text, "{\"id\":2,\"op\":\"group_join\",\"group_id\":\"%s\"}", group_id());
    send_text(c, text);
    return;
  }
  if (c->stage == 3 && strstr(s, "\"op\":\"group_join\"")) {
    if (!strstr(s, "\"code\":0,")) { conn_fail(c); return; }
    c->stage = 4;
    joined++;
    setup_done();
  }
}

/* The frames of c's bytes p[0 … got) (the remainder of the last read, then
 * this read); now: when it was read, kt: the kernel's receive time (both 0
 * for a member that is not sampled). What is left of a frame goes back to
 * c->rest. */
static void got_bytes(conn_t *c, unsigned char *p, size_t got, uint64_t now, uint64_t kt)
{
  size_t off = 0;
  if (c->stage == 1) {
    p[got] = 0;
    char *end = strstr((char *)p, "\r\n\r\n");
    if (!end) goto keep;
    off = (size_t)(end + 4 - (char *)p);
    c->stage = 2;
    char user[32], text[2048];
    snprintf(user, sizeof user, "lb%d", opt.first + c->idx);
    login_text(text, sizeof text, user);
    send_text(c, text);
  }
  uint64_t counted = 0;
  int counted_step = -1;
  for (;;) { /* whole server frames (unmasked) */
    size_t avail = got - off;
    if (avail < 2) break;
    unsigned char *h = p + off;
    size_t len = h[1] & 0x7f, hl = 2;
    if (len == 126) { if (avail < 4) break; len = (size_t)h[2] << 8 | h[3]; hl = 4; }
    else if (len == 127) { if (avail < 10) break; len = 0; for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i]; hl = 10; }
    if (avail < hl + len) break;
    if ((h[0] & 0x0f) == 1) {
      if (c->stage == 4) {
        int step = delivery_step(h + hl, len);
        if (step >= 0) {
          if (step != counted_step) { /* a read's frames are nearly always of one step */
            if (counted) sh->recv[me][counted_step] += counted;
            counted_step = step;
            counted = 0;
          }
          counted++;
          if (c->sampled) delivery_sample(h + hl, len, step, now, kt);
        }
      } else {
        unsigned char save = h[hl + len];
        h[hl + len] = 0;
        got_frame(c, h + hl);
        h[hl + len] = save;
      }
    }
    off += hl + len;
  }
  if (counted) sh->recv[me][counted_step] += counted;
keep:
  if (off == got) { free(c->rest); c->rest = NULL; c->nrest = 0; return; }
  unsigned char *r = realloc(c->rest, got - off);
  if (!r) { conn_fail(c); return; }
  memcpy(r, p + off, got - off);
  c->rest = r;
  c->nrest = got - off;
}

/* Read until the socket is empty (level-triggered: what is left comes back). */
static void on_readable(conn_t *c)
{
  for (int rounds = 0; rounds < 32 && c->stage != 5; rounds++) {
    size_t have = c->nrest;
    if (have >= RBUF_BYTES / 2) { conn_fail(c); return; } /* no frame of this bench is that big */
    if (have) memcpy(rbuf, c->rest, have);
    struct iovec iov = { rbuf + have, RBUF_BYTES - have };
    ssize_t n;
    uint64_t now = 0, kt = 0;
    if (c->sampled) {
      union { char buf[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } cm;
      struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
      n = recvmsg(c->fd, &mh, MSG_DONTWAIT);
      if (n > 0) {
        now = now_us(); /* one clock read per read, not per frame */
        for (struct cmsghdr *x = CMSG_FIRSTHDR(&mh); x; x = CMSG_NXTHDR(&mh, x))
          if (x->cmsg_level == SOL_SOCKET && x->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(x), sizeof ts);
            kt = (uint64_t)((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - rt_minus_mono_us);
          }
        if (!kt || kt > now) { sh->nostamp[me]++; kt = now; }
      }
    } else {
      n = recv(c->fd, iov.iov_base, iov.iov_len, MSG_DONTWAIT);
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) { conn_fail(c); return; }
    sh->bytes[me] += (uint64_t)n;
    got_bytes(c, rbuf, have + (size_t)n, now, kt);
    if ((size_t)n < iov.iov_len) return;
  }
}

static void on_io(uv_poll_t *p, int status, int events)
{
  conn_t *c = p->data;
  if (status < 0) { conn_fail(c); return; }
  if (c->stage == 0 && (events & UV_WRITABLE)) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) { conn_fail(c); return; }
    static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    c->stage = 1;
    uv_poll_start(&c->poll, UV_READABLE, on_io);
    send_buf(c, hs, sizeof hs - 1);
    return;
  }
  if (events & UV_READABLE) on_readable(c);
}

static void on_poll(uv_timer_t *t)
{
  (void)t;
  clock_offset();
  if (sh->stop) uv_stop(loop);
}

static void conn_open(conn_t *c, const struct sockaddr_in *addr)
{
  int one = 1;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0 || bench_bind_source_fd(c->fd, opt.sources, opt.first + c->idx) ||
      (c->sampled && setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one)) ||
      (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) && errno != EINPROGRESS) ||
      uv_poll_init_socket(loop, &c->poll, c->fd)) {
    c->stage = 5;
    failed++;
    return;
  }
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_WRITABLE, on_io);
}

static int worker(void)
{
  loop = uv_default_loop();
  conns = calloc((size_t)nconns, sizeof *conns);
  rbuf = malloc(RBUF_BYTES + 1);
  if (!conns || !rbuf) return 1;
  clock_offset();
  uv_timer_init(loop, &poll_timer);
  uv_timer_start(&poll_timer, on_poll, 100, 100);
  struct sockaddr_in addr;
  uv_ip4_addr(opt.host, opt.port, &addr);
  for (int i = 0; i < nconns; i++) {
    conns[i].idx = i;
    conns[i].sampled = (opt.first + i) % opt.sample == 0;
    conn_open(&conns[i], &addr);
    if (i % 256 == 255) uv_run(loop, UV_RUN_NOWAIT); /* let handshakes progress */
  }
  setup_done();
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

/* ---- the parent: REST, the publisher, the report ---------------------------------------------- */
static int tcp_connect(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)opt.port);
  inet_pton(AF_INET, opt.host, &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return -1; }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Read until the peer closes (HTTP with Connection: close); NUL-terminated. */
static size_t read_all(int fd, char *buf, size_t cap)
{
  size_t got = 0;
  ssize_t n;
  while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0) got += (size_t)n;
  buf[got] = 0;
  return got;
}

static char *http(const char *method, const char *target, const char *body)
{
  static char resp[1 << 20];
  static char req[1 << 17];
  int fd = tcp_connect();
  if (fd < 0) return NULL;
  int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s", method, target, body ? strlen(body) : 0, body ? body : "");
  if (write(fd, req, (size_t)n) != n) { close(fd); return NULL; }
  read_all(fd, resp, sizeof resp);
  close(fd);
  char *b = strstr(resp, "\r\n\r\n");
  return b ? b + 4 : NULL;
}

static int v4(const char *cmd, const char *body)
{
  static unsigned rnd = 1;
  char sig[1024], target[1400];
  auth_usersig_gen(opt.sdkappid, opt.key, "administrator", imc_clock_now_s(), 86400, sig, sizeof sig);
  snprintf(target, sizeof target, "/v4/%s?sdkappid=%u&identifier=administrator&usersig=%s&random=%u&contenttype=json",
           cmd, opt.sdkappid, sig, rnd++);
  char *r = http("POST", target, body);
  if (!r || !strstr(r, "\"ErrorCode\":0")) { fprintf(stderr, "%s failed: %.300s\n", cmd, r ? r : "(no answer)"); return -1; }
  return 0;
}

typedef struct health { long long deliveries, dropped, cutoffs, slices, writes, frames, bytes, queued_max; } health_t;

static long long jnum(const char *s, const char *obj, const char *key)
{
  const char *o = strstr(s, obj);
  if (!o) return -1;
  char k[64];
  snprintf(k, sizeof k, "\"%s\":", key);
  const char *v = strstr(o, k);
  return v ? atoll(v + strlen(k)) : -1;
}

static void health(health_t *h)
{
  const char *s = http("GET", "/healthz", NULL);
  if (!s) s = "";
  h->deliveries = jnum(s, "\"live\"", "deliveries");
  h->dropped = jnum(s, "\"live\"", "dropped");
  h->cutoffs = jnum(s, "\"live\"", "cutoffs");
  h->slices = jnum(s, "\"live\"", "slices");
  h->writes = jnum(s, "\"ws_out\"", "writes");
  h->frames = jnum(s, "\"ws_out\"", "frames");
  h->bytes = jnum(s, "\"ws_out\"", "bytes");
  h->queued_max = jnum(s, "\"ws_out\"", "queued_bytes_max"); /* since the start (-1 before wave 19) */
}

/* The publisher's blocking WebSocket. */
static int pub_fd = -1;
static char pub_buf[1 << 20];
static size_t pub_got;
static long long pub_acked, pub_failed;

/* Read what is there (wait up to ms for the first byte); count send replies. */
static void pub_read(int ms)
{
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  setsockopt(pub_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ssize_t n = recv(pub_fd, pub_buf + pub_got, sizeof pub_buf - 1 - pub_got, ms ? 0 : MSG_DONTWAIT);
  if (n <= 0) return;
  pub_got += (size_t)n;
  size_t off = 0;
  for (;;) {
    size_t avail = pub_got - off;
    if (avail < 2) break;
    unsigned char *h = (unsigned char *)pub_buf + off;
    size_t len = h[1] & 0x7f, hl = 2;
    if (len == 126) { if (avail < 4) break; len = (size_t)h[2] << 8 | h[3]; hl = 4; }
    else if (len == 127) { if (avail < 10) break; len = 0; for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i]; hl = 10; }
    if (avail < hl + len) break;
    char save = (char)h[hl + len];
    h[hl + len] = 0;
    const char *s = (const char *)h + hl;
    if (strstr(s, "\"op\":\"group_send\"")) { if (strstr(s, "\"code\":0,")) pub_acked++; else pub_failed++; }
    h[hl + len] = (unsigned char)save;
    off += hl + len;
  }
  memmove(pub_buf, pub_buf + off, pub_got - off);
  pub_got -= off;
}

/* Wait for a reply containing needle (setup steps). */
static int pub_expect(const char *needle)
{
  uint64_t until = now_us() + 10000000;
  while (now_us() < until) {
    ssize_t n = recv(pub_fd, pub_buf + pub_got, sizeof pub_buf - 1 - pub_got, 0);
    if (n <= 0) continue;
    pub_got += (size_t)n;
    pub_buf[pub_got] = 0;
    char *hit = strstr(pub_buf, needle);
    if (hit) { pub_got = 0; return strstr(pub_buf, "\"code\":0,") ? 0 : -1; }
  }
  return -1;
}

static int pub_send_text(const char *text)
{
  unsigned char buf[4096];
  size_t n = bench_ws_frame(text, strlen(text), buf);
  return write(pub_fd, buf, n) == (ssize_t)n ? 0 : -1;
}

static int pub_open(void)
{
  pub_fd = tcp_connect();
  if (pub_fd < 0) return -1;
  static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (write(pub_fd, hs, sizeof hs - 1) != (ssize_t)sizeof hs - 1) return -1;
  struct timeval tv = { 1, 0 };
  setsockopt(pub_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  uint64_t until = now_us() + 10000000;
  while (now_us() < until) { /* the 101 response */
    ssize_t n = recv(pub_fd, pub_buf + pub_got, sizeof pub_buf - 1 - pub_got, 0);
    if (n > 0) pub_got += (size_t)n;
    pub_buf[pub_got] = 0;
    char *e = strstr(pub_buf, "\r\n\r\n");
    if (e) { size_t off = (size_t)(e + 4 - pub_buf); memmove(pub_buf, e + 4, pub_got - off); pub_got -= off; break; }
  }
  char text[2048];
  login_text(text, sizeof text, "lbpub");
  if (pub_send_text(text) || pub_expect("\"op\":\"login\"")) return -1;
  return 0;
}

/* One group_send frame with the step and time in the text, appended to out. */
static size_t pub_frame(unsigned char *out, int step, uint32_t random)
{
  char text[512];
  int n = snprintf(text, sizeof text, "{\"id\":%u,\"op\":\"group_send\",\"group_id\":\"%s\",\"random\":%u,\"body\":"
                   "[{\"MsgType\":\"TIMTextElem\",\"MsgContent\":{\"Text\":\"s%02dt%016llu\"}}]}", random, group_id(),
                   random, step, (unsigned long long)now_us());
  return bench_ws_frame(text, (size_t)n, out);
}

static pid_t pids[MAXP];

/* p50, p99 and max (ms) of one step's histogram, summed over the workers. */
static uint64_t percentiles(volatile uint32_t (*h)[MAXSTEP][NB], int step, double *p50, double *p99, double *pmax)
{
  static uint64_t hist[NB];
  uint64_t n = 0, acc = 0;
  memset(hist, 0, sizeof hist);
  for (int p = 0; p < opt.procs; p++)
    for (int b = 0; b < NB; b++) { hist[b] += h[p][step][b]; n += h[p][step][b]; }
  *p50 = *p99 = *pmax = 0;
  for (int b = 0; b < NB; b++) {
    if (!hist[b]) continue;
    if (!*p50 && acc + hist[b] >= (n + 1) / 2) *p50 = bucket_ms(b);
    if (!*p99 && acc + hist[b] >= (n * 99 + 99) / 100) *p99 = bucket_ms(b);
    acc += hist[b];
    *pmax = bucket_ms(b);
  }
  return n;
}

static void report(int step, const char *label, long rate, long long published, uint64_t t_pub_us, const health_t *h0, const health_t *h1,
                   long long scpu0, long long scpu1, uint64_t wall_us, long long lcpu0, long long lcpu1, int members,
                   double swait_pct)
{
  double p50, p99, pmax, r50, r99, rmax;
  uint64_t sampled = percentiles(sh->hist, step, &p50, &p99, &pmax), nostamp = 0, recv = 0;
  percentiles(sh->hist_read, step, &r50, &r99, &rmax);
  for (int p = 0; p < opt.procs; p++) { nostamp += sh->nostamp[p]; recv += sh->recv[p][step]; }
  long long expected = pub_acked * members, writes = h1->writes - h0->writes;
  double loadavg[3] = { 0 }, per = recv ? 1e6 / (double)recv : 0; /* ms of CPU → ns per delivery */
  getloadavg(loadavg, 3);
  printf("%s step=%d rate=%ld published=%lld acked=%lld send_errors=%lld deliveries=%llu expected=%lld "
         "deliveries_per_s=%.0f msgs_per_s=%.0f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f read_p50_ms=%.1f read_p99_ms=%.1f "
         "read_max_ms=%.1f latency_sampled=%llu frames_per_write=%.1f writes_per_s=%.0f bytes_per_write=%.0f "
         "slices_per_s=%.0f writes_per_slice=%.0f "
         "server_dropped=%lld server_cutoffs=%lld server_cpu_pct=%.0f server_runq_wait_pct=%.0f server_ns_per_delivery=%.0f "
         "server_rss_kb=%ld server_queued_max_bytes=%lld loadgen_cpu_pct=%.0f loadgen_ns_per_delivery=%.0f reads_without_stamp=%llu loadavg=%.2f\n",
         label, step, rate, published, pub_acked, pub_failed, (unsigned long long)recv, expected,
         recv * 1e6 / (double)t_pub_us, pub_acked * 1e6 / (double)t_pub_us, p50, p99, pmax, r50, r99, rmax,
         (unsigned long long)sampled, writes > 0 ? (double)(h1->frames - h0->frames) / (double)writes : 0,
         writes * 1e6 / (double)wall_us, writes > 0 ? (double)(h1->bytes - h0->bytes) / (double)writes : 0,
         (h1->slices - h0->slices) * 1e6 / (double)wall_us,
         h1->slices > h0->slices ? (double)writes / (double)(h1->slices - h0->slices) : 0,
         h1->dropped - h0->dropped, h1->cutoffs - h0->cutoffs, (scpu1 - scpu0) * 100000.0 / (double)wall_us,
         swait_pct, (double)(scpu1 - scpu0) * per, opt.server_pid ? bench_proc_rss_kb(opt.server_pid) : -1L,
         h1->queued_max, (lcpu1 - lcpu0) * 100000.0 / (double)wall_us, (double)(lcpu1 - lcpu0) * per, (unsigned long long)nostamp,
         loadavg[0]);
  fflush(stdout);
}

static long long loadgen_cpu_ms(void)
{
  long long t = bench_self_cpu_ms();
  for (int p = 0; p < opt.procs; p++) t += bench_proc_cpu_ms(pids[p]);
  return t;
}

/* A measured step: server counters, CPU times and the start time. */
typedef struct span { health_t h; long long scpu, lcpu, swait; uint64_t t0; } span_t;

static void span_begin(span_t *sp)
{
  health(&sp->h);
  sp->scpu = opt.server_pid ? bench_proc_cpu_ms(opt.server_pid) : 0;
  sp->swait = opt.server_pid ? bench_proc_wait_ns(opt.server_pid) : 0;
  sp->lcpu = loadgen_cpu_ms();
  pub_acked = pub_failed = 0;
  sp->t0 = now_us();
}

static void span_end(const span_t *sp, int step, const char *label, long rate, long long published, uint64_t t_pub,
                     int members)
{
  span_t e;
  uint64_t wall = now_us() - sp->t0;
  health(&e.h);
  e.scpu = opt.server_pid ? bench_proc_cpu_ms(opt.server_pid) : 0;
  e.swait = opt.server_pid ? bench_proc_wait_ns(opt.server_pid) : 0;
  e.lcpu = loadgen_cpu_ms();
  report(step, label, rate, published, t_pub, &sp->h, &e.h, sp->scpu, e.scpu, wall, sp->lcpu, e.lcpu, members,
         (double)(e.swait - sp->swait) / 10.0 / (double)wall);
}

/* live: publish at rate for the step's time, then wait for the last deliveries. */
static void live_step(int step, long rate, int members, uint64_t *ok)
{
  span_t sp;
  span_begin(&sp);
  long long published = 0;
  static unsigned char out[1 << 20];
  static uint32_t random = 1;
  uint64_t t0 = sp.t0, dur = (uint64_t)opt.step_s * 1000000u;
  for (;;) {
    uint64_t t = now_us() - t0;
    if (t >= dur) break;
    long long due = (long long)((double)rate * (double)t / 1e6) + 1;
    size_t off = 0;
    while (published < due && off + 600 < sizeof out) { off += pub_frame(out + off, step, random++); published++; }
    if (off && write(pub_fd, out, off) != (ssize_t)off) break;
    pub_read(0);
    usleep(1000);
  }
  uint64_t t_pub = now_us() - t0;
  uint64_t until = now_us() + 2000000; /* the last deliveries and replies */
  while (now_us() < until) pub_read(50);
  span_end(&sp, step, "live", rate, published, t_pub, members);
  uint64_t recv = 0;
  for (int p = 0; p < opt.procs; p++) recv += sh->recv[p][step];
  /* the step held: nothing lost and the sampled p99 within 1 s */
  uint64_t late = 0, sampled = 0;
  for (int p = 0; p < opt.procs; p++) {
    sampled += sh->sampled[p][step];
    for (int b = bucket(1000000); b < NB; b++) late += sh->hist[p][step][b];
  }
  *ok = recv >= (uint64_t)pub_acked * (uint64_t)members && late * 100 <= sampled;
}

/* work: as many stored messages as --window unanswered sends allow. */
static void work_run(int members)
{
  span_t sp;
  span_begin(&sp);
  long long published = 0;
  static unsigned char out[1 << 16];
  uint32_t random = 1;
  uint64_t t0 = sp.t0, dur = (uint64_t)opt.step_s * 1000000u;
  while (now_us() - t0 < dur) {
    size_t off = 0;
    while (published - pub_acked - pub_failed < opt.window && off + 600 < sizeof out) {
      off += pub_frame(out + off, 0, random++);
      published++;
    }
    if (off && write(pub_fd, out, off) != (ssize_t)off) break;
    pub_read(5);
  }
  uint64_t t_pub = now_us() - t0;
  uint64_t until = now_us() + 3000000;
  while (now_us() < until && published > pub_acked + pub_failed) pub_read(50);
  uint64_t rest = now_us() + 1000000;
  while (now_us() < rest) pub_read(50);
  span_end(&sp, 0, "work", 0, published, t_pub, members);
}

static int add_members(void)
{
  static char body[1 << 16];
  for (int i = 0; i < opt.members; i += 300) {
    size_t off = (size_t)snprintf(body, sizeof body, "{\"GroupId\":\"bench-work\",\"Silence\":1,\"MemberList\":[");
    for (int k = i; k < i + 300 && k < opt.members; k++)
      off += (size_t)snprintf(body + off, sizeof body - off, "%s{\"Member_Account\":\"lb%d\"}", k > i ? "," : "", k);
    snprintf(body + off, sizeof body - off, "]}");
    if (v4("group_open_http_svc/add_group_member", body)) return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  static const bench_opt_t opts[] = {
    { "--host", 's', &opt.host },
    { "--port", 'i', &opt.port },
    { "--sdkappid", 'u', &opt.sdkappid },
    { "--key", 's', &opt.key },
    { "--members", 'i', &opt.members },
    { "--procs", 'i', &opt.procs },
    { "--sources", 'i', &opt.sources },
    { "--mode", 's', &opt.mode },
    { "--rates", 's', &opt.rates },
    { "--max-rate", 'l', &opt.max_rate },
    { "--step-seconds", 'i', &opt.step_s },
    { "--window", 'i', &opt.window },
    { "--server-pid", 'i', &opt.server_pid },
    { "--keep-going", 'i', &opt.keep_going },
    { "--sample", 'i', &opt.sample },
    { NULL, 0, NULL },
  };
  if (bench_parse_opts(argc, argv, opts)) return 2;
  if (!opt.port || !opt.sdkappid || !opt.key || opt.members < 1 || opt.procs < 1 || opt.procs > MAXP || opt.step_s < 1 || opt.sample < 1 ||
      (strcmp(opt.mode, "live") && strcmp(opt.mode, "work")) || opt.window < 1) {
    fprintf(stderr, "usage: live_bench --port P --sdkappid N --key K --members M [--procs P] [--sources S]\n"
                    "                  [--mode live|work] [--rates 50,100,…] [--max-rate R] [--step-seconds S]\n"
                    "                  [--window W] [--server-pid PID] [--keep-going 1] [--sample N] [--host H]\n");
    return 2;
  }
  int live = !strcmp(opt.mode, "live");
  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) { perror("mmap"); return 1; }
  if (live && v4("group_open_http_svc/create_group", "{\"Type\":\"AVChatRoom\",\"GroupId\":\"bench-room\",\"Name\":\"bench\"}"))
    return 1;
  for (int p = 0; p < opt.procs; p++) {
    int share = opt.members / opt.procs + (p < opt.members % opt.procs);
    int first = p * (opt.members / opt.procs) + (p < opt.members % opt.procs ? p : opt.members % opt.procs);
    if ((pids[p] = fork()) == 0) {
      me = p;
      nconns = share;
      opt.first = first;
      _exit(worker());
    }
  }
  /* every member joined (or failed) */
  int members = 0;
  uint64_t t_setup = now_us();
  for (int p = 0; p < opt.procs; p++) {
    while (!sh->ready[p]) usleep(10000);
    members += sh->ready[p] - 1;
  }
  fprintf(stderr, "live_bench: %d of %d members ready in %.1f s\n", members, opt.members, (now_us() - t_setup) / 1e6);
  int rc = 0;
  if (pub_open()) { fprintf(stderr, "publisher login failed\n"); rc = 1; goto out; }
  char text[256];
  if (live) {
    snprintf(text, sizeof text, "{\"id\":2,\"op\":\"group_join\",\"group_id\":\"bench-room\"}");
    if (pub_send_text(text) || pub_expect("\"op\":\"group_join\"")) { fprintf(stderr, "publisher join failed\n"); rc = 1; goto out; }
    const char *r = opt.rates;
    long rate = 0;
    int step = 0;
    uint64_t ok = 1;
    while ((ok || opt.keep_going) && step < MAXSTEP) {
      if (*r) { rate = strtol(r, (char **)&r, 10); if (*r == ',') r++; }
      else if (opt.max_rate && rate * 2 <= opt.max_rate) rate *= 2;
      else break;
      live_step(step++, rate, members, &ok);
    }
  } else {
    if (v4("group_open_http_svc/create_group", "{\"Type\":\"Private\",\"GroupId\":\"bench-work\",\"Name\":\"bench\","
                                               "\"Owner_Account\":\"lbpub\"}") || add_members()) { rc = 1; goto out; }
    work_run(members);
  }
out:
  sh->stop = 1;
  for (int p = 0; p < opt.procs; p++) waitpid(pids[p], NULL, 0);
  return rc;
}
