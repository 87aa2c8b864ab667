/* sync_bench.c — offline sync of one conversation's backlog.
 *
 *   sync_bench fill --port P --sdkappid N --key K --count 1000
 *       user sb_sender sends COUNT messages to sb_reader (pipelined, each
 *       acknowledged after commit);
 *   sync_bench read --port P --sdkappid N --key K --count 1000 [--runs 5]
 *       sb_reader logs in and syncs from cursor 0, page after page until
 *       the reply says complete (pages are bounded by --msg-sync-page events
 *       and by bytes); prints the time from writing the first sync request
 *       to reading the last reply, per run, and the number of pages.
 * Run `read` right after a server restart for a cold server cache (the first
 * run), the following runs are warm. Blocking sockets; loopback adds tens of
 * microseconds. */
#include "auth/usersig.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, count = 1000, runs = 5;
static unsigned app;
static const char *key;

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *m) { fprintf(stderr, "sync_bench: %s\n", m); exit(1); }

static void send_all(int fd, const void *p, size_t n)
{
  while (n) { ssize_t w = write(fd, p, n); if (w <= 0) die("write"); p = (const char *)p + w; n -= (size_t)w; }
}

static void read_n(int fd, void *p, size_t n)
{
  while (n) { ssize_t r = read(fd, p, n); if (r <= 0) die("read"); p = (char *)p + r; n -= (size_t)r; }
}

static void send_text(int fd, const char *t)
{
  size_t len = strlen(t), h;
  unsigned char *f = malloc(len + 14);
  f[0] = 0x81;
  if (len < 126) { f[1] = (unsigned char)(0x80 | len); h = 2; }
  else if (len < 65536) { f[1] = 0x80 | 126; f[2] = (unsigned char)(len >> 8); f[3] = (unsigned char)len; h = 4; }
  else die("frame too long");
  memset(f + h, 0, 4); /* zero mask: payload as is */
  memcpy(f + h + 4, t, len);
  send_all(fd, f, h + 4 + len);
  free(f);
}

/* One server text frame (malloc'd, NUL-terminated). */
static char *recv_text(int fd, size_t *out_len)
{
  unsigned char h[10];
  read_n(fd, h, 2);
  uint64_t len = h[1] & 0x7f;
  if (len == 126) { read_n(fd, h + 2, 2); len = (uint64_t)h[2] << 8 | h[3]; }
  else if (len == 127) { read_n(fd, h + 2, 8); len = 0; for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i]; }
  char *p = malloc(len + 1);
  read_n(fd, p, len);
  p[len] = 0;
  if (out_len) *out_len = len;
  return p;
}

static int connect_login(const char *user)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(0x7f000001);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) die("connect");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  send_all(fd, hs, sizeof hs - 1);
  char buf[1024] = "";
  size_t got = 0;
  while (!strstr(buf, "\r\n\r\n")) { read_n(fd, buf + got, 1); buf[++got] = 0; if (got > 1000) die("handshake"); }
  char sig[1024], text[2048];
  auth_usersig_gen(app, key, user, imc_clock_now_s(), 86400, sig, sizeof sig);
  snprintf(text, sizeof text, "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\","
           "\"platform\":\"PC\",\"device_id\":\"%s\"}", app, user, sig, user);
  send_text(fd, text);
  char *r = recv_text(fd, NULL);
  if (!strstr(r, "\"code\":0,")) die(r);
  free(r);
  return fd;
}

int main(int argc, char **argv)
{
  if (argc < 2) die("usage: sync_bench fill|read --port P --sdkappid N --key K [--count N] [--runs R]");
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--sdkappid")) app = (unsigned)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--key")) key = argv[i + 1];
    else if (!strcmp(argv[i], "--count")) count = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
    else die("unknown option");
  }
  if (!port || !app || !key) die("--port, --sdkappid and --key are required");
  if (!strcmp(argv[1], "fill")) {
    close(connect_login("sb_reader")); /* imports the reader */
    int fd = connect_login("sb_sender");
    char text[512];
    for (int i = 0; i < count; i++) {
      snprintf(text, sizeof text, "{\"id\":%d,\"op\":\"send\",\"to\":\"sb_reader\",\"body\":[{\"MsgType\":\"TIMTextElem\","
               "\"MsgContent\":{\"Text\":\"backlog message %d of the sync benchmark, about eighty bytes\"}}]}", i + 2, i);
      send_text(fd, text);
    }
    for (int i = 0; i < count; i++) {
      char *r = recv_text(fd, NULL);
      if (!strstr(r, "\"code\":0,")) die(r);
      free(r);
    }
    close(fd);
    printf("filled %d\n", count);
    return 0;
  }
  for (int run = 0; run < runs; run++) {
    int fd = connect_login("sb_reader");
    char req[128];
    long long cursor = 0;
    int n = 0, pages = 0, complete = 0;
    size_t bytes = 0;
    double t0 = now_ms();
    while (!complete) { /* pages until complete: the server bounds a page by events and by bytes */
      snprintf(req, sizeof req, "{\"id\":%d,\"op\":\"sync\",\"cursor\":%lld,\"limit\":%d}", pages + 2, cursor, count);
      send_text(fd, req);
      size_t len;
      char *r = recv_text(fd, &len);
      const char *cur = strstr(r, "\"cursor\":");
      if (!strstr(r, "\"code\":0,") || !cur) die(r);
      for (const char *p = r; (p = strstr(p, "\"type\":\"msg\"")); p++) n++;
      cursor = strtoll(cur + 9, NULL, 10);
      complete = strstr(r, "\"complete\":true") != NULL;
      bytes += len;
      pages++;
      free(r);
    }
    double ms = now_ms() - t0;
    printf("run=%d events=%d pages=%d reply_bytes=%zu ms=%.2f%s\n", run, n, pages, bytes, ms, run ? "" : " (first after start: cold)");
    if (n != count) die("events missing");
    close(fd);
  }
  return 0;
}
