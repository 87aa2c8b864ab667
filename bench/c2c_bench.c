/* c2c_bench.c — one-to-one messages between connected users (issue 13's
 * C2C benchmark), one libuv process.
 *
 *   c2c_bench --port P --sdkappid N --key K --users N [--seconds 10]
 *             [--pipeline 1] [--rate 0] [--sources 8] [--user-prefix c]
 *
 * Logs N users in (one WebSocket each, from 127.0.0.2 … .(sources+1)), then
 * for --seconds each connection sends `send` frames to random other users:
 * --pipeline K frames in one write, the next write only once all K were
 * acknowledged (the server answers a send only after the message is
 * committed to disk). --rate R (messages/s over all connections) paces the
 * writes from a 1 ms timer; 0 sends as fast as the acknowledgements come.
 * The sessions never sync, so they are not live and get no pushes: the
 * figures are the send path (validation, store, ack) only.
 *
 * Output, one line: users=N login_failed=… sent=… acked=… errors=…
 * (replies with a non-zero code) msgs_per_s=… (acknowledgements within the
 * --seconds, per second) p50_ms=…
 * p99_ms=… (write to acknowledgement) frames_per_write=K client_cpu_ms=…
 * (this process, during the sending phase) first_error=… (the first
 * non-zero reply, if any). Prints "sending" when the sending phase starts
 * (a script reads the server's CPU time then) and "done" at its end.
 */
#include "auth/usersig.h"
#include "util/clock.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <uv.h>

#define RBUF 8192
#define MAX_PIPE 64
#define MAX_SAMPLES (8u << 20)

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  int idx, stage;        /* 0 connecting, 1 handshake, 2 login sent, 3 online, 4 failed */
  int waiting;           /* acks outstanding for the last write */
  uint32_t next_id;
  uint64_t sent_us;      /* time of the last write */
  size_t got;
  char *login;
  size_t login_len;
  char rbuf[RBUF];
} conn_t;

static struct {
  const char *host, *key, *prefix;
  int port, users, seconds, pipeline, sources, concurrency;
  double rate;
  unsigned sdkappid;
} opt = { "127.0.0.1", NULL, "c", 0, 1000, 10, 1, 8, 512, 0, 0 };

static uv_loop_t *loop;
static conn_t *conns;
static int next_conn, in_flight, online, login_failed, sending, stopping, rr;
static uint64_t sent, acked, acked_in_time, errors, t_send0, cpu0, cpu1;
static double budget;
static uint32_t *lat;
static size_t nlat;
static uv_timer_t tick;
static char first_error[200];

static uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t cpu_us(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* A masked client text frame of text into out (cap ≥ len + 8): its length. */
static size_t frame(char *out, const char *text, size_t len)
{
  size_t h = len < 126 ? 6 : 8;
  unsigned char *f = (unsigned char *)out;
  f[0] = 0x81;
  if (len < 126) f[1] = (unsigned char)(0x80 | len);
  else { f[1] = 0x80 | 126; f[2] = (unsigned char)(len >> 8); f[3] = (unsigned char)len; }
  static const unsigned char mask[4] = { 1, 2, 3, 4 };
  memcpy(f + h - 4, mask, 4);
  for (size_t i = 0; i < len; i++) f[h + i] = (unsigned char)text[i] ^ mask[i & 3];
  return h + len;
}

static void write_cb(uv_write_t *w, int status)
{
  (void)status;
  free(w->data); /* the bytes */
  free(w);
}

static int send_bytes(conn_t *c, char *data, size_t len)
{
  uv_write_t *w = malloc(sizeof *w);
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  w->data = data;
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, write_cb)) { free(data); free(w); return -1; }
  return 0;
}

static void start_more(void);
static void login_finished(conn_t *c, int good)
{
  if (c->stage >= 3) return;
  c->stage = good ? 3 : 4;
  in_flight--;
  if (good) online++; else login_failed++;
  start_more();
  if (online + login_failed == opt.users) {
    printf("sending online=%d\n", online);
    fflush(stdout);
    sending = 1;
    t_send0 = now_us();
    cpu0 = cpu_us();
  }
}

/* One write of opt.pipeline send frames to random other online users. */
static void send_batch(conn_t *c)
{
  char text[256];
  char *buf = malloc((size_t)opt.pipeline * (sizeof text + 8));
  size_t off = 0;
  for (int k = 0; k < opt.pipeline; k++) {
    int peer = rand() % opt.users;
    if (peer == c->idx) peer = (peer + 1) % opt.users;
    uint32_t id = ++c->next_id;
    int n = snprintf(text, sizeof text,
                     "{\"id\":%u,\"op\":\"send\",\"to\":\"%s%d\",\"body\":[{\"MsgType\":\"TIMTextElem\","
                     "\"MsgContent\":{\"Text\":\"hello %u\"}}]}",
                     id, opt.prefix, peer, id);
    off += frame(buf + off, text, (size_t)n);
  }
  c->waiting = opt.pipeline;
  c->sent_us = now_us();
  if (send_bytes(c, buf, off)) { c->stage = 4; return; }
  sent += (uint64_t)opt.pipeline;
}

static void on_message(conn_t *c, const char *p, size_t len)
{
  if (c->stage == 2) {
    login_finished(c, memmem(p, len, "\"code\":0,", 9) != NULL);
    return;
  }
  if (!memmem(p, len, "\"op\":\"send\"", 11)) return; /* not an acknowledgement */
  if (memmem(p, len, "\"code\":0,", 9)) {
    acked++;
    if (!stopping) acked_in_time++;
    if (nlat < MAX_SAMPLES) lat[nlat++] = (uint32_t)(now_us() - c->sent_us);
  } else {
    errors++;
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "%.*s", (int)(len < 150 ? len : 150), p);
  }
  if (c->waiting > 0 && --c->waiting == 0 && sending && !stopping && opt.rate <= 0) send_batch(c);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
  (void)sz;
  conn_t *c = h->data;
  b->base = c->rbuf + c->got;
  b->len = RBUF - c->got - 1;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
  (void)b;
  conn_t *c = s->data;
  if (n < 0) { if (c->stage < 3) login_finished(c, 0); c->stage = 4; uv_read_stop(s); return; }
  c->got += (size_t)n;
  c->rbuf[c->got] = 0;
  if (c->stage == 1) {
    char *end = strstr(c->rbuf, "\r\n\r\n");
    if (!end) return;
    if (strncmp(c->rbuf, "HTTP/1.1 101", 12)) { login_finished(c, 0); return; }
    size_t rest = c->got - (size_t)(end + 4 - c->rbuf);
    memmove(c->rbuf, end + 4, rest);
    c->got = rest;
    c->stage = 2;
    char *f = malloc(c->login_len);
    memcpy(f, c->login, c->login_len);
    send_bytes(c, f, c->login_len);
  }
  size_t off = 0;
  while (c->got - off >= 2) {
    unsigned char *f = (unsigned char *)c->rbuf + off;
    size_t len = f[1] & 0x7f, h = 2;
    if (len == 126) { if (c->got - off < 4) break; len = (size_t)f[2] << 8 | f[3]; h = 4; }
    else if (len == 127) { c->stage = 4; uv_read_stop(s); return; } /* never this big here */
    if (c->got - off < h + len) break;
    if ((f[0] & 0x0f) == 1) on_message(c, (char *)f + h, len);
    off += h + len;
  }
  memmove(c->rbuf, c->rbuf + off, c->got - off);
  c->got -= off;
  if (c->got >= RBUF - 1) { c->stage = 4; uv_read_stop(s); } /* a frame bigger than the buffer */
}

static void connect_cb(uv_connect_t *r, int status)
{
  conn_t *c = r->data;
  if (status) { login_finished(c, 0); return; }
  static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  c->stage = 1;
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
  char *h = malloc(sizeof hs - 1);
  memcpy(h, hs, sizeof hs - 1);
  send_bytes(c, h, sizeof hs - 1);
}

static void start_more(void)
{
  struct sockaddr_in addr;
  uv_ip4_addr(opt.host, opt.port, &addr);
  while (in_flight < opt.concurrency && next_conn < opt.users) {
    conn_t *c = &conns[next_conn];
    c->idx = next_conn++;
    c->tcp.data = c;
    c->creq.data = c;
    in_flight++;
    int rc = uv_tcp_init_ex(loop, &c->tcp, AF_INET);
    if (!rc && opt.sources > 0) {
      uv_os_fd_t fd;
      int one = 1;
      uv_fileno((uv_handle_t *)&c->tcp, &fd);
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      struct sockaddr_in src = { .sin_family = AF_INET };
      src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(c->idx % opt.sources));
      rc = uv_tcp_bind(&c->tcp, (struct sockaddr *)&src, 0);
    }
    if (rc || uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&addr, connect_cb)) login_finished(c, 0);
  }
}

/* Every ms: start the sending phase, pace it (--rate), end it. */
static void on_tick(uv_timer_t *t)
{
  (void)t;
  if (!sending) return;
  uint64_t now = now_us();
  if (!stopping && now - t_send0 >= (uint64_t)opt.seconds * 1000000u) { stopping = 1; cpu1 = cpu_us(); }
  if (stopping) {
    int waiting = 0;
    for (int i = 0; i < opt.users; i++) waiting += conns[i].stage == 3 && conns[i].waiting > 0;
    if (!waiting || now - t_send0 >= (uint64_t)(opt.seconds + 5) * 1000000u) uv_stop(loop);
    return;
  }
  if (opt.rate <= 0) { /* closed loop: start every idle connection once */
    for (int i = 0; i < opt.users; i++)
      if (conns[i].stage == 3 && !conns[i].waiting && conns[i].next_id == 0) send_batch(&conns[i]);
    return;
  }
  budget += opt.rate / 1000.0;
  for (int tries = 0; budget >= opt.pipeline && tries < opt.users; tries++) {
    conn_t *c = &conns[rr];
    rr = (rr + 1) % opt.users;
    if (c->stage != 3 || c->waiting) continue;
    send_batch(c);
    budget -= opt.pipeline;
  }
  if (budget > opt.rate) budget = opt.rate; /* behind: do not burst more than a second's worth */
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *a = argv[i], *v = argv[i + 1];
    if (!strcmp(a, "--host")) opt.host = v;
    else if (!strcmp(a, "--port")) opt.port = atoi(v);
    else if (!strcmp(a, "--sdkappid")) opt.sdkappid = (unsigned)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--key")) opt.key = v;
    else if (!strcmp(a, "--users")) opt.users = atoi(v);
    else if (!strcmp(a, "--seconds")) opt.seconds = atoi(v);
    else if (!strcmp(a, "--pipeline")) opt.pipeline = atoi(v);
    else if (!strcmp(a, "--rate")) opt.rate = atof(v);
    else if (!strcmp(a, "--sources")) opt.sources = atoi(v);
    else if (!strcmp(a, "--user-prefix")) opt.prefix = v;
    else { fprintf(stderr, "unknown option %s\n", a); return 2; }
  }
  if (!opt.port || !opt.sdkappid || !opt.key || opt.users < 2 || opt.seconds <= 0 || opt.pipeline < 1 ||
      opt.pipeline > MAX_PIPE || opt.sources < 0 || opt.sources > 250) {
    fprintf(stderr, "usage: c2c_bench --port P --sdkappid N --key K --users N [--seconds 10] [--pipeline 1..64]\n"
                    "                 [--rate MSGS_PER_S] [--sources 8] [--user-prefix c]\n");
    return 2;
  }
  srand(12345);
  loop = uv_default_loop();
  conns = calloc((size_t)opt.users, sizeof *conns);
  lat = malloc(MAX_SAMPLES * sizeof *lat);
  if (!conns || !lat) return 1;
  for (int i = 0; i < opt.users; i++) {
    char sig[1024], text[1600], user[64];
    snprintf(user, sizeof user, "%s%d", opt.prefix, i);
    if (auth_usersig_gen(opt.sdkappid, opt.key, user, imc_clock_now_s(), 86400, sig, sizeof sig)) return 1;
    int n = snprintf(text, sizeof text,
                     "{\"id\":0,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\",\"platform\":\"Web\","
                     "\"device_id\":\"%s\"}",
                     opt.sdkappid, user, sig, user);
    conns[i].login = malloc((size_t)n + 8);
    conns[i].login_len = frame(conns[i].login, text, (size_t)n);
  }
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, on_tick, 1, 1);
  start_more();
  uv_run(loop, UV_RUN_DEFAULT);
  uint64_t cpu = (cpu1 ? cpu1 : cpu_us()) - cpu0;
  printf("done\n");
  qsort(lat, nlat, sizeof *lat, cmp_u32);
  double s = (double)opt.seconds;
  printf("users=%d login_failed=%d sent=%llu acked=%llu errors=%llu msgs_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
         "frames_per_write=%d client_cpu_ms=%llu first_error=%s\n",
         opt.users, login_failed, (unsigned long long)sent, (unsigned long long)acked, (unsigned long long)errors,
         (double)acked_in_time / s, nlat ? lat[nlat / 2] / 1e3 : 0, nlat ? lat[(size_t)((double)nlat * 0.99)] / 1e3 : 0,
         opt.pipeline, (unsigned long long)(cpu / 1000),
         first_error[0] ? first_error : "-");
  return 0;
}
