/* rest_probe.c — REST latency seen by keep-alive clients while something
 * else (a login storm) loads the server.
 *
 *   rest_probe --port P (--sdkappid N --key K | --app N:K ...) [--interval-us 12000]
 *              [--burst 1] [--host 127.0.0.1] [--samples FILE] [--timed FILE]
 *
 * Sends im_open_login_svc/account_check as the administrator (its own
 * UserSig) open loop: one request is due every --interval-us (--interval-ms
 * also accepted). Each app (--app, repeated, or --sdkappid/--key for one)
 * has its own keep-alive connection, and request k goes on connection
 * k % apps at its due time, or as soon as that connection's previous
 * request is answered. A request is timed from its due time to the last
 * byte of its reply, so a reply that is late makes the requests due behind
 * it late too, as it would for a real client (late= counts the requests sent
 * more than one interval after their due time). account_check allows 100
 * calls/s per app (its documented frequency), so A apps carry up to
 * A × 100/s: bench/login_storm_rest.sh makes 48 apps for one request every
 * 250 µs (4,000/s, 83/s per app). The default, one app and one request
 * every 12 ms, stays under that limit too. --burst B makes B consecutive
 * requests due at the same time, every B intervals (same rate, B times fewer
 * wake-ups of the probe: on this box a wake-up costs the probe ~150 µs of
 * CPU, which at 4,000 single requests per second took most of the core it
 * shares with the load generator); each is still timed from its due time.
 *
 * Prints "ready" once the first reply came. SIGUSR1 drops the samples so far
 * and SIGUSR2 stops keeping new ones (bench/loadgen.c --notify sends them
 * around its burst), so only requests due between the two count. On
 * SIGTERM/SIGINT prints one line:
 * requests=N errors=E late=L p50_ms=… p99_ms=… max_ms=… (every answer that
 * is not HTTP 200 with ErrorCode 0 counts as an error)
 * probe_cpu_us_per_request (the probe's own CPU over its whole run, per
 * request sent: it shares the load generator's core). --samples FILE also
 * appends every counted latency (µs, one per line) to FILE, so that a
 * script can take percentiles over the requests of several runs together.
 * --timed FILE appends, per counted request, its due time, latency, the
 * time it was written (CLOCK_MONOTONIC µs) and its connection's local port
 * ("due_us latency_us sent_us port"), and a line "window FROM TO"
 * with the counted window: a slow request can then be matched to a trace
 * taken with that clock (`perf record -k mono`), or to the server's turn log
 * (`imcloud serve --turn-log FILE`: the k-th request of a port in each;
 * bench/turn_split.sh).
 *
 * --watch PID (the server) adds what tells a slow storm caused by the
 * server from one caused by the machine (bench/proc_watch.h): snapshots of
 * /proc/stat's CPU columns and of PID's threads (run time, run delay,
 * involuntary switches, minor faults, bytes read and written; the
 * descriptor table's size) at the counted window's
 * start and end, printed after the requests line as "watch span_ms=…
 * cpu0_ms=user:…,steal:… … loop=run:…,delay:…,invol:… imc-writer=…".
 * --timeline FILE (with --watch) also takes lighter snapshots (CPU
 * columns, run times and delays, the loop's wchan: ~80 µs of the probe's
 * CPU each, against ~300 µs for a whole one) every --every-us (default
 * 2000) during the window, writes each step's difference to FILE
 * ("step at_ms=… span_ms=… …", at_ms from the window's start), and prints,
 * per stretch of slow requests (latency above --slow-ms, default 5, their
 * [due, reply] intervals merged when they overlap), "slow at_ms=… dur_ms=…
 * n=… max_ms=…", the same differences over the snapshots around it, and
 * where the loop thread was at those snapshots ("loop_at=WCHAN:COUNT,…",
 * /proc/PID/task/PID/wchan: do_epoll_wait = waiting for input, 0 = on a
 * CPU or runnable, anything else = blocked in the kernel); then one
 * "slow_sum" line over all those stretches: their span, the loop thread's
 * run time and run delay, the server's other threads' run time, cpu0's
 * busy, steal and idle time (USER_HZ ticks: coarse per stretch), and how
 * many snapshots found the loop on a CPU or runnable, waiting for input,
 * or blocked elsewhere.
 */
#include "auth/usersig.h"
#include "proc_watch.h"
#include "util/clock.h"

#include "bench_clock.h"
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
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 128

typedef struct {
  int fd;
  int rlen;         /* its app's request */
  char *req;
  int busy;         /* a request is outstanding */
  uint64_t due_us;  /* its due time */
  uint64_t sent_us; /* when its write began */
  int port;         /* the connection's local port (the server's turn log names requests by it) */
  size_t got;
  char buf[8192];
} probe_conn_t;

static volatile sig_atomic_t stop, reset, frozen;
static void on_sig(int s) { (void)s; stop = 1; }
static void on_usr1(int s) { (void)s; reset = 1; }
static void on_usr2(int s) { (void)s; frozen = 1; }

/* The reply in c->buf: 0 incomplete, 1 complete and 200 with "ErrorCode":0,
 * 2 complete and another answer, -1 does not fit. *used its length. */
static int reply_state(probe_conn_t *c, size_t *used)
{
  c->buf[c->got] = 0;
  char *end = strstr(c->buf, "\r\n\r\n");
  if (!end) return c->got >= sizeof c->buf - 1 ? -1 : 0;
  char *cl = strcasestr(c->buf, "content-length:");
  size_t body = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
  size_t len = (size_t)(end + 4 - c->buf) + body;
  if (len >= sizeof c->buf) return -1;
  if (c->got < len) return 0;
  *used = len;
  char save = c->buf[len];
  c->buf[len] = 0;
  int good = strncmp(c->buf, "HTTP/1.1 200", 12) == 0 && strstr(end, "\"ErrorCode\":0") != NULL;
  c->buf[len] = save;
  return good ? 1 : 2;
}

/* --timeline: each step's difference to path, then one "slow" line per
 * stretch of requests slower than slow_ms (stdout). due[] is in order. */
static void write_timeline(const char *path, const pw_snap_t *tl, size_t tl_n, int pid, const uint64_t *due,
                           const uint64_t *lat, size_t n, double slow_ms)
{
  FILE *f = fopen(path, "a");
  if (!f) { perror(path); return; }
  for (size_t i = 1; i < tl_n; i++) {
    fprintf(f, "step at_ms=%.1f ", (double)(tl[i - 1].t_us - tl[0].t_us) / 1e3);
    pw_print_diff(f, &tl[i - 1], &tl[i], pid);
    pw_print_wchans(f, &tl[i], 1, pid);
    fprintf(f, "\n");
  }
  fclose(f);
  uint64_t slow_us = (uint64_t)(slow_ms * 1000);
  pw_sum_t sum = { 0 };
  size_t stretches = 0, slow_n = 0;
  double span_ms = 0;
  for (size_t i = 0; i < n;) {
    if (lat[i] <= slow_us) { i++; continue; }
    uint64_t from = due[i], to = due[i] + lat[i], max = lat[i];
    size_t k = 0;
    for (; i < n && due[i] <= to; i++) {
      if (lat[i] <= slow_us) continue;
      k++;
      if (due[i] + lat[i] > to) to = due[i] + lat[i];
      if (lat[i] > max) max = lat[i];
    }
    size_t a = 0, b = tl_n - 1;
    for (size_t j = 0; j < tl_n; j++) if (tl[j].t_us <= from) a = j;
    for (size_t j = tl_n; j-- > 0;) if (tl[j].t_us >= to) b = j;
    if (b <= a) b = a + 1 < tl_n ? a + 1 : a;
    printf("slow at_ms=%.1f dur_ms=%.1f n=%zu max_ms=%.2f ", (double)(from - tl[0].t_us) / 1e3, (double)(to - from) / 1e3, k,
           max / 1e3);
    if (b > a) {
      pw_print_diff(stdout, &tl[a], &tl[b], pid);
      pw_print_wchans(stdout, &tl[a + 1], b - a, pid);
      pw_add(&sum, tl, a, b, pid, 0);
      span_ms += (double)(tl[b].t_us - tl[a].t_us) / 1e3;
    }
    printf("\n");
    stretches++;
    slow_n += k;
  }
  printf("slow_sum stretches=%zu requests=%zu span_ms=%.1f loop_run_ms=%.1f loop_delay_ms=%.1f threads_run_ms=%.1f "
         "cpu0_busy_ms=%.0f cpu0_steal_ms=%.0f cpu0_idle_ms=%.0f loop_at_cpu=%d loop_at_epoll=%d loop_at_blocked=%d\n",
         stretches, slow_n, span_ms, sum.loop_run_ms, sum.loop_delay_ms, sum.threads_run_ms, sum.busy_ms, sum.steal_ms,
         sum.idle_ms, sum.at_cpu, sum.at_epoll, sum.at_blocked);
}

int main(int argc, char **argv)
{
  const char *host = "127.0.0.1", *key = NULL, *samples = NULL, *timed = NULL, *timeline = NULL;
  int watch = 0;
  long every_us = 2000;
  double slow_ms = 5;
  const char *apps[MAX_CONNS];
  int port = 0, nconns = 0, burst = 1;
  long interval_us = 12000;
  unsigned long sdkappid = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--app")) { if (nconns < MAX_CONNS) apps[nconns] = argv[i + 1]; nconns++; }
    else if (!strcmp(argv[i], "--sdkappid")) sdkappid = strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--key")) key = argv[i + 1];
    else if (!strcmp(argv[i], "--interval-ms")) interval_us = atol(argv[i + 1]) * 1000;
    else if (!strcmp(argv[i], "--interval-us")) interval_us = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--burst")) burst = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!strcmp(argv[i], "--samples")) samples = argv[i + 1];
    else if (!strcmp(argv[i], "--timed")) timed = argv[i + 1];
    else if (!strcmp(argv[i], "--watch")) watch = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--timeline")) timeline = argv[i + 1];
    else if (!strcmp(argv[i], "--every-us")) every_us = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--slow-ms")) slow_ms = atof(argv[i + 1]);
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (sdkappid && key && nconns < MAX_CONNS) { apps[nconns++] = NULL; }
  if (!port || interval_us <= 0 || nconns <= 0 || nconns > MAX_CONNS || burst <= 0 || burst > nconns) {
    fprintf(stderr, "usage: rest_probe --port P (--sdkappid N --key K | --app N:K ... up to %d) [--interval-us 12000]\n",
            MAX_CONNS);
    return 2;
  }
  static probe_conn_t conns[MAX_CONNS];
  static const char body[] = "{\"CheckItem\":[{\"UserID\":\"probe_a\"},{\"UserID\":\"probe_b\"}]}";
  for (int i = 0; i < nconns; i++) {
    unsigned long id = sdkappid;
    const char *k = key;
    if (apps[i]) {
      char *colon = strchr(apps[i], ':');
      if (!colon) { fprintf(stderr, "--app wants SDKAPPID:KEY\n"); return 2; }
      id = strtoul(apps[i], NULL, 10);
      k = colon + 1;
    }
    char sig[1024];
    if (auth_usersig_gen(id, k, "administrator", imc_clock_now_s(), 86400, sig, sizeof sig)) {
      fprintf(stderr, "cannot make the administrator's UserSig\n");
      return 1;
    }
    conns[i].req = malloc(2048);
    conns[i].rlen = snprintf(conns[i].req, 2048,
                             "POST /v4/im_open_login_svc/account_check?sdkappid=%lu&identifier=administrator&usersig=%s"
                             "&random=1&contenttype=json HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             id, sig, host, sizeof body - 1, body);
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event evs[MAX_CONNS];
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad --host\n"); return 2; }
  for (int i = 0; i < nconns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) { perror("connect"); return 1; }
    conns[i].fd = fd;
    struct sockaddr_in local;
    socklen_t llen = sizeof local;
    conns[i].port = getsockname(fd, (struct sockaddr *)&local, &llen) ? 0 : ntohs(local.sin_port);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) { perror("epoll_ctl"); return 1; }
  }
  signal(SIGTERM, on_sig);
  signal(SIGINT, on_sig);
  struct sigaction sa1 = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
  struct sigaction sa2 = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
  sigaction(SIGUSR1, &sa1, NULL);
  sigaction(SIGUSR2, &sa2, NULL);
  size_t cap = 1 << 16, n = 0, errors = 0, late = 0, sent = 0;
  uint64_t *lat = malloc(cap * sizeof *lat), *due = malloc(cap * sizeof *due), *sent_at = malloc(cap * sizeof *sent_at);
  int *ports = malloc(cap * sizeof *ports);
  /* requests due in [t_from, t_to) count; the first one warms up */
  uint64_t next = now_us(), t_from = UINT64_MAX, t_to = UINT64_MAX; /* t_from: set at "ready" */
  int announced = 0, waiting_free = 0;
  /* --watch: the window's first and last snapshots; --timeline: every every_us within it */
  static pw_snap_t w_from, w_to;
  int w_have = 0; /* 1: w_from taken, 2: w_to too */
  size_t tl_cap = timeline && watch ? 8192 : 0, tl_n = 0;
  pw_snap_t *tl = tl_cap ? malloc(tl_cap * sizeof *tl) : NULL;
  uint64_t k = 0; /* the next request's number: it goes on connection k % nconns */
  while (!stop) {
    uint64_t t = now_us();
    if (reset) {
      reset = 0; n = 0; errors = 0; late = 0; t_from = t; t_to = UINT64_MAX;
      if (watch) { pw_snap(&w_from, watch); w_have = 1; tl_n = 0; if (tl) tl[tl_n++] = w_from; }
    }
    if (frozen) {
      frozen = 0;
      if (t_to == UINT64_MAX) {
        t_to = t;
        if (w_have == 1) { pw_snap(&w_to, watch); w_have = 2; if (tl && tl_n < tl_cap) tl[tl_n++] = w_to; }
      }
    }
    if (tl && w_have == 1 && tl_n < tl_cap && t >= tl[tl_n - 1].t_us + (uint64_t)every_us) {
      pw_snap_light(&tl[tl_n], watch, &w_from);
      tl_n++;
    }
    /* send what is due, each on a free connection */
    while (next <= t && announced >= 0) {
      probe_conn_t *c = &conns[k % (uint64_t)nconns];
      if (c->busy) { waiting_free = 1; break; }
      waiting_free = 0;
      if (t - next > (uint64_t)interval_us && next >= t_from && next < t_to) late++;
      uint64_t sent_us = now_us();
      if (write(c->fd, c->req, (size_t)c->rlen) != c->rlen) { perror("write"); stop = 2; break; }
      c->busy = 1;
      c->due_us = next;
      c->sent_us = sent_us;
      k++;
      if (k % (uint64_t)burst == 0) next += (uint64_t)interval_us * (uint64_t)burst;
      sent++;
      if (!announced) { announced = -1; break; } /* one request until the first reply */
    }
    if (stop) break;
    struct timespec ts, *tsp = NULL;
    if (announced >= 0 && !waiting_free) {
      uint64_t wait = next > t ? next - t : 0;
      if (tl && w_have == 1 && wait > (uint64_t)every_us) wait = (uint64_t)every_us;
      ts.tv_sec = (time_t)(wait / 1000000u);
      ts.tv_nsec = (long)(wait % 1000000u) * 1000;
      tsp = &ts;
    }
    int r = epoll_pwait2(ep, evs, MAX_CONNS, tsp, NULL);
    if (r < 0) { if (errno == EINTR) continue; perror("epoll_pwait2"); break; }
    for (int i = 0; i < r; i++) {
      probe_conn_t *c = evs[i].data.ptr;
      ssize_t got = read(c->fd, c->buf + c->got, sizeof c->buf - 1 - c->got);
      if (got <= 0) { if (!stop) fprintf(stderr, "connection lost\n"); stop = 2; break; }
      c->got += (size_t)got;
      size_t used = 0;
      int st = reply_state(c, &used);
      if (st < 0) { fprintf(stderr, "reply too long\n"); stop = 2; break; }
      if (!st) continue;
      uint64_t d = now_us() - c->due_us;
      memmove(c->buf, c->buf + used, c->got - used);
      c->got -= used;
      c->busy = 0;
      waiting_free = 0;
      if (announced < 0) { /* the first one warms up */
        announced = 1;
        next = now_us();
        if (t_from == UINT64_MAX) t_from = next;
        printf("ready\n");
        fflush(stdout);
        continue;
      }
      if (c->due_us < t_from || c->due_us >= t_to) continue;
      if (st != 1) errors++;
      if (n == cap) {
        cap *= 2;
        lat = realloc(lat, cap * sizeof *lat);
        due = realloc(due, cap * sizeof *due);
        sent_at = realloc(sent_at, cap * sizeof *sent_at);
        ports = realloc(ports, cap * sizeof *ports);
        if (!lat || !due || !sent_at || !ports) { fprintf(stderr, "out of memory\n"); return 1; }
      }
      sent_at[n] = c->sent_us;
      ports[n] = c->port;
      due[n] = c->due_us;
      lat[n++] = d;
    }
  }
  if (samples) {
    FILE *f = fopen(samples, "a");
    if (!f) { perror(samples); return 1; }
    for (size_t i = 0; i < n; i++) fprintf(f, "%llu\n", (unsigned long long)lat[i]);
    fclose(f);
  }
  if (timed) {
    FILE *f = fopen(timed, "a");
    if (!f) { perror(timed); return 1; }
    fprintf(f, "window %llu %llu\n", (unsigned long long)t_from, (unsigned long long)t_to);
    for (size_t i = 0; i < n; i++)
      fprintf(f, "%llu %llu %llu %d\n", (unsigned long long)due[i], (unsigned long long)lat[i],
              (unsigned long long)sent_at[i], ports[i]);
    fclose(f);
  }
  if (tl && w_have == 2) write_timeline(timeline, tl, tl_n, watch, due, lat, n, slow_ms);
  free(tl);
  free(due);
  free(sent_at);
  free(ports);
  if (!n) { printf("requests=0 errors=%zu\n", errors); return 1; }
  qsort(lat, n, sizeof *lat, cmp_u64);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  printf("requests=%zu errors=%zu late=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f probe_cpu_us_per_request=%.0f\n", n, errors,
         late, lat[(n - 1) / 2] / 1e3, lat[(n * 99 + 99) / 100 - 1] / 1e3, lat[n - 1] / 1e3, sent ? cpu_us / (double)sent : 0);
  free(lat);
  if (w_have == 2) { printf("watch "); pw_print_diff(stdout, &w_from, &w_to, watch); printf("\n"); }
  for (int i = 0; i < nconns; i++) close(conns[i].fd);
  return 0;
}
