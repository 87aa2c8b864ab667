/* peer_bench — the same one-to-one pattern as msg_bench, against a peer
 * server that forwards without storing anything: NATS (--proto nats,
 * nats-server) or MQTT 3.1.1 at QoS 0 (--proto mqtt, mosquitto); both are
 * Debian packages. USERS connections each subscribe to their own subject
 * (NATS u.<i>, MQTT topic u/<i>); then they publish to random peers, every connection in
 * turn, at RATE messages/s in all (0: as fast as the window allows), BATCH
 * PUBs per write, at most WINDOW messages published and not yet delivered
 * per connection. Each payload carries its send time; the receiver's
 * connection times the delivery. Printed: messages published and delivered
 * per second, delivery latency p50/p99 (publish → delivery, no
 * acknowledgement exists in core NATS), the server's CPU share over the
 * sending period (--server-pid) and this generator's own. Timing points:
 * a payload carries the time of its write (not the time it was due), so
 * a generator running late shows as send_lag (p99 and max of each write's
 * time behind its due time, start + index / rate, under --rate), not as
 * latency; arrived_p50_ms/arrived_p99_ms are publish → the delivery's
 * arrival in the receiving socket (the kernel's receive stamp,
 * SO_TIMESTAMPNS), i.e. the latency less the time the delivery waited for
 * this process to read it; server_cpu_wait_ms is the server's main
 * thread's time runnable but not running over the sending period (other
 * tasks on its core held it); loadgen_cpu_wait_ms is this process's time
 * runnable but not running over the sending period (/proc/self/schedstat:
 * other tasks on the load core held it).
 *
 *   peer_bench --proto nats|mqtt --port PORT [--users 10000] [--seconds 8] [--rate 0]
 *             [--batch 1] [--window 4] [--size 120] [--server-pid PID]
 *             [--sources 8]
 *
 * One process, one epoll loop (pin it with taskset). A connection that
 * cannot take a write (EAGAIN) is counted and its publish dropped: the
 * figures hold only with eagain=0. */
#include "bench_clock.h"
#include "bench_net.h"
#include "bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static int port = 4222, users = 10000, seconds = 8, rate = 0, batch = 1, window = 4, size = 120;
static int server_pid = 0, sources = 8;
static const char *proto_name = "nats";

typedef struct {
  int fd;
  int inflight; /* published by this connection, not yet delivered anywhere: approximated per sender */
  size_t len;
  char buf[8192];
} conn_t;

static conn_t *cs;
static uint64_t delivered, published, eagain, *lat, *arr; /* per delivery: send → read, send → arrival in the socket */
static size_t nlat, caplat;
static uint64_t cur_late_us; /* how long the segments of the read being parsed waited in the socket */
static uint64_t *send_lag;   /* per publish at a --rate: its send time minus its due time */
static size_t nlag, caplag;

static void send_all(conn_t *c, const char *p, size_t n)
{
  ssize_t w = write(c->fd, p, n);
  if (w < 0 && errno == EAGAIN) eagain++;
  else if (w >= 0 && (size_t)w < n) eagain++; /* a partial write would corrupt the stream: count it as lost */
}

/* ---- the two protocols ---------------------------------------------------- */

typedef struct {
  const char *name;
  size_t (*hello)(char *out, size_t cap, int i);          /* connect + subscribe */
  size_t (*pub)(char *out, size_t cap, int peer, const char *payload, size_t n);
  void (*parse)(conn_t *c);                               /* deliveries and pings */
} proto_t;

static void on_msg(const char *payload, size_t n);
static void send_all(conn_t *c, const char *p, size_t n);

static size_t nats_hello(char *out, size_t cap, int i)
{
  return (size_t)snprintf(out, cap, "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false}\r\nSUB u.%d 1\r\nPING\r\n", i);
}

static size_t nats_pub(char *out, size_t cap, int peer, const char *payload, size_t n)
{
  size_t h = (size_t)snprintf(out, cap, "PUB u.%d %zu\r\n", peer, n);
  memcpy(out + h, payload, n);
  memcpy(out + h + n, "\r\n", 2);
  return h + n + 2;
}

/* MQTT's remaining length: 7 bits per byte, least significant first. */
static size_t mqtt_varint(char *out, size_t v)
{
  size_t n = 0;
  do {
    unsigned char b = (unsigned char)(v & 127u);
    v >>= 7;
    out[n++] = (char)(v ? b | 128u : b);
  } while (v);
  return n;
}

static size_t mqtt_str(char *out, const char *s, size_t n)
{
  out[0] = (char)(n >> 8);
  out[1] = (char)(n & 255u);
  memcpy(out + 2, s, n);
  return n + 2;
}

static size_t mqtt_hello(char *out, size_t cap, int i)
{
  char id[32], topic[32], body[128];
  size_t idn = (size_t)snprintf(id, sizeof id, "pb%d", i), tn = (size_t)snprintf(topic, sizeof topic, "u/%d", i);
  size_t n = 0, b = 0;
  /* CONNECT: "MQTT", level 4, clean session, keep-alive 0 (off), client id */
  b += mqtt_str(body + b, "MQTT", 4);
  body[b++] = 4;
  body[b++] = 2;
  body[b++] = 0;
  body[b++] = 0;
  b += mqtt_str(body + b, id, idn);
  out[n++] = 0x10;
  n += mqtt_varint(out + n, b);
  memcpy(out + n, body, b);
  n += b;
  /* SUBSCRIBE packet id 1, the topic at QoS 0 */
  b = 0;
  body[b++] = 0;
  body[b++] = 1;
  b += mqtt_str(body + b, topic, tn);
  body[b++] = 0;
  out[n++] = (char)0x82;
  n += mqtt_varint(out + n, b);
  memcpy(out + n, body, b);
  (void)cap;
  return n + b;
}

static size_t mqtt_pub(char *out, size_t cap, int peer, const char *payload, size_t pn)
{
  char topic[32];
  size_t tn = (size_t)snprintf(topic, sizeof topic, "u/%d", peer), n = 0;
  out[n++] = 0x30;
  n += mqtt_varint(out + n, 2 + tn + pn);
  n += mqtt_str(out + n, topic, tn);
  memcpy(out + n, payload, pn);
  (void)cap;
  return n + pn;
}

/* Parse what the connection holds: MSG lines with their payloads, PING
 * (answered), +OK/INFO/PONG/-ERR lines (an -ERR is printed). */
static void nats_parse(conn_t *c)
{
  size_t off = 0;
  for (;;) {
    char *s = c->buf + off, *eol = memmem(s, c->len - off, "\r\n", 2);
    if (!eol) break;
    size_t line = (size_t)(eol - s);
    if (line >= 4 && !memcmp(s, "MSG ", 4)) {
      /* MSG <subject> <sid> <bytes> */
      char *sp = eol;
      while (sp > s && sp[-1] != ' ') sp--;
      size_t bytes = strtoul(sp, NULL, 10);
      if (c->len - off < line + 2 + bytes + 2) break;
      on_msg(eol + 2, bytes);
      off += line + 2 + bytes + 2;
      continue;
    }
    if (line == 4 && !memcmp(s, "PING", 4)) send_all(c, "PONG\r\n", 6);
    else if (line >= 4 && !memcmp(s, "-ERR", 4)) fprintf(stderr, "peer_bench: %.*s\n", (int)line, s);
    off += line + 2;
  }
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
}

/* MQTT packets: PUBLISH (QoS 0: topic, then the payload) is a delivery;
 * CONNACK, SUBACK and the rest are skipped. */
static void mqtt_parse(conn_t *c)
{
  size_t off = 0;
  for (;;) {
    const unsigned char *p = (const unsigned char *)c->buf + off;
    size_t have = c->len - off, rl = 0, hl = 1;
    int shift = 0;
    for (;;) {
      if (hl >= have) goto out;
      rl |= (size_t)(p[hl] & 127u) << shift;
      shift += 7;
      if (!(p[hl++] & 128u)) break;
    }
    if (have < hl + rl) break;
    if ((p[0] >> 4) == 3 && rl >= 2) {
      size_t tn = ((size_t)p[hl] << 8) | p[hl + 1];
      if (2 + tn <= rl) on_msg((const char *)p + hl + 2 + tn, rl - 2 - tn);
    }
    off += hl + rl;
  }
out:
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
}

static const proto_t protos[] = {
  { "nats", nats_hello, nats_pub, nats_parse },
  { "mqtt", mqtt_hello, mqtt_pub, mqtt_parse },
};
static const proto_t *proto;

/* One delivery: the payload starts with the sender's index and send time. */
static void on_msg(const char *payload, size_t n)
{
  unsigned sender = 0;
  unsigned long long t = 0;
  if (n < 8 || sscanf(payload, "%u:%llu", &sender, &t) != 2) return;
  delivered++;
  if (sender < (unsigned)users && cs[sender].inflight > 0) cs[sender].inflight--;
  if (nlat == caplat) {
    size_t ncap = caplat ? caplat * 2 : 1u << 20;
    uint64_t *n = realloc(lat, ncap * sizeof *n), *a = n ? realloc(arr, ncap * sizeof *a) : NULL;
    if (n) lat = n;
    if (!a) return; /* counted as delivered, not timed */
    arr = a;
    caplat = ncap;
  }
  uint64_t d = now_us() - t, late = cur_late_us == UINT64_MAX ? 0 : cur_late_us;
  arr[nlat] = d - (late < d ? late : d);
  lat[nlat++] = d;
}

static void drain(conn_t *c)
{
  for (;;) {
    if (c->len == sizeof c->buf) { fprintf(stderr, "peer_bench: a frame over %zu bytes\n", sizeof c->buf); exit(1); }
    ssize_t r = bench_recv_stamped(c->fd, c->buf + c->len, sizeof c->buf - c->len, &cur_late_us);
    if (r <= 0) {
      if (r == 0 || (errno != EAGAIN && errno != EINTR)) { fprintf(stderr, "peer_bench: connection lost\n"); exit(1); }
      return;
    }
    c->len += (size_t)r;
    proto->parse(c);
  }
}

static int poll_once(int ep, int timeout_ms)
{
  struct epoll_event evs[1024];
  int n = epoll_wait(ep, evs, 1024, timeout_ms);
  for (int i = 0; i < n; i++) drain(&cs[evs[i].data.u32]);
  return n;
}

int main(int argc, char **argv)
{
  static const bench_opt_t opts[] = {
    { "--port", 'i', &port },         { "--users", 'i', &users },   { "--seconds", 'i', &seconds },
    { "--rate", 'i', &rate },         { "--batch", 'i', &batch },   { "--window", 'i', &window },
    { "--size", 'i', &size },         { "--server-pid", 'i', &server_pid }, { "--sources", 'i', &sources },
    { "--proto", 's', &proto_name },
    { NULL, 0, NULL },
  };
  if (bench_parse_opts(argc, argv, opts) || users < 2 || batch < 1 || window < 1 || size < 40) return 2;
  for (size_t i = 0; i < sizeof protos / sizeof *protos; i++)
    if (!strcmp(protos[i].name, proto_name)) proto = &protos[i];
  if (!proto) { fprintf(stderr, "peer_bench: --proto nats or mqtt\n"); return 2; }
  signal(SIGPIPE, SIG_IGN);
  cs = calloc((size_t)users, sizeof *cs);
  int ep = epoll_create1(0);
  struct sockaddr_in dst = { 0 };
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)port);
  dst.sin_addr.s_addr = htonl(0x7f000001u);
  char line[256];
  for (int i = 0; i < users; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bench_bind_source_fd(fd, sources, i) || connect(fd, (struct sockaddr *)&dst, sizeof dst)) {
      perror("peer_bench connect");
      return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    cs[i].fd = fd;
    bench_rx_stamp_on(fd);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = (uint32_t)i };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    send_all(&cs[i], line, proto->hello(line, sizeof line, i));
    if (i % 256 == 255) while (poll_once(ep, 0) > 0) {}
  }
  /* give the server a second to register every subscription */
  for (uint64_t until = now_us() + 1000000u; now_us() < until;) poll_once(ep, 10);

  size_t pub_cap = (size_t)batch * ((size_t)size + 64);
  char *pub = malloc(pub_cap), payload[512];
  uint64_t x = 88172645463325252ull;
  long long srv0 = server_pid ? bench_proc_cpu_ms(server_pid) : 0, me0 = bench_proc_cpu_ms(getpid());
  long long wait0 = bench_proc_wait_ns(getpid()), swait0 = server_pid ? bench_proc_wait_ns(server_pid) : 0;
  uint64_t t0 = now_us(), end = t0 + (uint64_t)seconds * 1000000u, sent = 0;
  int next = 0;
  while (now_us() < end) {
    uint64_t due = rate > 0 ? (now_us() - t0) * (uint64_t)rate / 1000000u : UINT64_MAX;
    int budget = 4096; /* publishes per round before the next poll */
    while (sent < due && budget > 0) {
      int tried = 0;
      while (cs[next].inflight + batch > window && tried < users) { next = (next + 1) % users; tried++; }
      if (tried == users) break; /* every window is full */
      conn_t *c = &cs[next];
      size_t n = 0;
      for (int k = 0; k < batch; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int peer = (int)(x % (uint64_t)(users - 1));
        if (peer >= next) peer++;
        int pl = snprintf(payload, sizeof payload, "%d:%llu:", next, (unsigned long long)now_us());
        memset(payload + pl, 'x', (size_t)size - (size_t)pl);
        n += proto->pub(pub + n, pub_cap - n, peer, payload, (size_t)size);
      }
      send_all(c, pub, n);
      if (rate > 0) { /* the lag of this write's first publish behind its due time */
        if (nlag == caplag) {
          size_t ncap = caplag ? caplag * 2 : 1u << 16;
          uint64_t *g = realloc(send_lag, ncap * sizeof *g);
          if (g) { send_lag = g; caplag = ncap; }
        }
        uint64_t due_us = t0 + sent * 1000000u / (uint64_t)rate, now = now_us();
        if (nlag < caplag) send_lag[nlag++] = now > due_us ? now - due_us : 0;
      }
      c->inflight += batch;
      sent += (uint64_t)batch;
      budget -= batch;
      next = (next + 1) % users;
    }
    poll_once(ep, rate > 0 ? 1 : 0);
  }
  uint64_t t1 = now_us();
  long long srv1 = server_pid ? bench_proc_cpu_ms(server_pid) : 0, me1 = bench_proc_cpu_ms(getpid());
  long long wait1 = bench_proc_wait_ns(getpid()), swait1 = server_pid ? bench_proc_wait_ns(server_pid) : 0;
  published = sent;
  uint64_t delivered_in = delivered;
  for (uint64_t until = now_us() + 2000000u; delivered < published && now_us() < until;) poll_once(ep, 10);
  qsort(lat, nlat, sizeof *lat, cmp_u64);
  qsort(arr, nlat, sizeof *arr, cmp_u64);
  qsort(send_lag, nlag, sizeof *send_lag, cmp_u64);
  double el = (double)(t1 - t0);
  printf("peer_bench proto=%s users=%d batch=%d window=%d size=%d rate=%d published=%llu published_per_s=%.0f "
         "delivered_per_s=%.0f delivered_total=%llu lost=%llu eagain=%llu p50_ms=%.2f p99_ms=%.2f arrived_p50_ms=%.2f "
         "arrived_p99_ms=%.2f send_lag_p99_ms=%.2f send_lag_max_ms=%.2f "
         "server_cpu_pct=%.1f server_us_per_msg=%.2f server_cpu_wait_ms=%.0f loadgen_cpu_pct=%.1f loadgen_cpu_wait_ms=%.0f\n",
         proto->name, users, batch, window, size, rate, (unsigned long long)published, (double)published * 1e6 / el,
         (double)delivered_in * 1e6 / el, (unsigned long long)delivered,
         (unsigned long long)(published > delivered ? published - delivered : 0), (unsigned long long)eagain,
         nlat ? (double)lat[nlat / 2] / 1000.0 : 0.0, nlat ? (double)lat[nlat * 99 / 100] / 1000.0 : 0.0,
         nlat ? (double)arr[nlat / 2] / 1000.0 : 0.0, nlat ? (double)arr[nlat * 99 / 100] / 1000.0 : 0.0,
         nlag ? (double)send_lag[nlag * 99 / 100] / 1000.0 : 0.0, nlag ? (double)send_lag[nlag - 1] / 1000.0 : 0.0,
         (double)(srv1 - srv0) * 1000.0 * 100.0 / el,
         delivered_in ? (double)(srv1 - srv0) * 1000.0 / (double)delivered_in : 0.0, (double)(swait1 - swait0) / 1e6,
         (double)(me1 - me0) * 1000.0 * 100.0 / el, (double)(wait1 - wait0) / 1e6);
  return 0;
}
