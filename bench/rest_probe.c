/* rest_probe.c — REST latency seen by one keep-alive client while something
 * else (a login storm) loads the server.
 *
 *   rest_probe --port P --sdkappid N --key K [--interval-ms 12] [--host 127.0.0.1] [--samples FILE]
 *
 * Sends im_open_login_svc/account_check as the administrator (its own
 * UserSig) on one keep-alive connection, one request every interval (the
 * route's rate limit is 100/s per app, hence 12 ms), waits for each answer
 * and times it from the write to the last byte of the reply. Prints "ready"
 * once the first reply came. SIGUSR1 drops the samples so far and SIGUSR2
 * stops keeping new ones (bench/loadgen.c --notify sends them around its
 * burst), so only requests that started during the burst count. On
 * SIGTERM/SIGINT prints one line:
 * requests=N errors=E p50_ms=… p99_ms=… max_ms=… (every answer that is not
 * HTTP 200 with ErrorCode 0 counts as an error). --samples FILE also
 * appends every counted latency (µs, one per line) to FILE, so that a
 * script can take percentiles over the requests of several runs together.
 */
#include "auth/usersig.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop, reset, frozen;
static void on_sig(int s) { (void)s; stop = 1; }
static void on_usr1(int s) { (void)s; reset = 1; frozen = 0; }
static void on_usr2(int s) { (void)s; frozen = 1; }

static uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Read one HTTP response (Content-Length framed) into buf; 1 if it is 200
 * with "ErrorCode":0, 0 if another answer, -1 on a socket error. */
static int read_reply(int fd, char *buf, size_t cap)
{
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, cap - 1 - got);
    if (n <= 0) return -1;
    got += (size_t)n;
    buf[got] = 0;
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) { if (got >= cap - 1) return -1; continue; }
    char *cl = strcasestr(buf, "content-length:");
    size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
    if (got < (size_t)(end + 4 - buf) + body) { if (got >= cap - 1) return -1; continue; }
    return strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(end, "\"ErrorCode\":0") != NULL;
  }
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *key = NULL, *samples = NULL;
  int port = 0, interval_ms = 12;
  unsigned long sdkappid = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--sdkappid")) sdkappid = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--key")) key = argv[i + 1];
    else if (!strcmp(argv[i], "--interval-ms")) interval_ms = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!strcmp(argv[i], "--samples")) samples = argv[i + 1];
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (!port || !sdkappid || !key || interval_ms <= 0) {
    fprintf(stderr, "usage: rest_probe --port P --sdkappid N --key K [--interval-ms 12]\n");
    return 2;
  }
  char sig[1024];
  if (auth_usersig_gen(sdkappid, key, "administrator", imc_clock_now_s(), 86400, sig, sizeof sig)) {
    fprintf(stderr, "cannot make the administrator's UserSig\n");
    return 1;
  }
  static const char body[] = "{\"CheckItem\":[{\"UserID\":\"probe_a\"},{\"UserID\":\"probe_b\"}]}";
  char req[2048];
  int rlen = snprintf(req, sizeof req,
                      "POST /v4/im_open_login_svc/account_check?sdkappid=%lu&identifier=administrator&usersig=%s"
                      "&random=1&contenttype=json HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n%s",
                      sdkappid, sig, host, sizeof body - 1, body);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, host, &sa.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) { perror("connect"); return 1; }
  signal(SIGTERM, on_sig);
  signal(SIGINT, on_sig);
  struct sigaction sa1 = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
  struct sigaction sa2 = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
  sigaction(SIGUSR1, &sa1, NULL);
  sigaction(SIGUSR2, &sa2, NULL);
  size_t cap = 1 << 16, n = 0, errors = 0;
  uint64_t *lat = malloc(cap * sizeof *lat);
  char buf[8192];
  uint64_t next = now_us();
  int announced = 0;
  while (!stop) {
    uint64_t t = now_us();
    if (t < next) { usleep((useconds_t)(next - t)); continue; }
    next += (uint64_t)interval_ms * 1000u;
    if (next < t) next = t + (uint64_t)interval_ms * 1000u; /* fell behind: do not burst to catch up */
    if (write(fd, req, (size_t)rlen) != rlen) { perror("write"); break; }
    int ok = read_reply(fd, buf, sizeof buf);
    if (ok < 0) { if (!stop) fprintf(stderr, "connection lost\n"); break; }
    uint64_t d = now_us() - t;
    if (!announced) { printf("ready\n"); fflush(stdout); announced = 1; continue; } /* the first one warms up */
    if (reset) { reset = 0; n = 0; errors = 0; continue; } /* this one began before the burst */
    if (frozen) continue;
    if (!ok) errors++;
    if (n == cap) { cap *= 2; lat = realloc(lat, cap * sizeof *lat); }
    lat[n++] = d;
  }
  if (samples) {
    FILE *f = fopen(samples, "a");
    if (!f) { perror(samples); return 1; }
    for (size_t i = 0; i < n; i++) fprintf(f, "%llu\n", (unsigned long long)lat[i]);
    fclose(f);
  }
  if (!n) { printf("requests=0 errors=%zu\n", errors); return 1; }
  qsort(lat, n, sizeof *lat, cmp_u64);
  printf("requests=%zu errors=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", n, errors, lat[n / 2] / 1e3,
         lat[(size_t)((double)n * 0.99)] / 1e3, lat[n - 1] / 1e3);
  free(lat);
  close(fd);
  return 0;
}
