/* msg_bench.c — one-to-one message load generator (libuv, one loop per
 * process, --procs workers).
 *
 * Opens N WebSocket connections (users mb0 … mbN-1; a login imports the
 * account), logs each in and syncs it (so it is live and receives pushes),
 * then every connection sends text messages to random peers for --seconds:
 * at most --window sends unanswered per connection, --batch send frames per
 * write (1 = one message per client write; 8 = eight pipelined frames in one
 * write). --rate R caps the total send rate (messages/s over all workers;
 * 0 = as fast as the window allows). Under a cap, --spread 1 (the default)
 * hands each tick's tokens out round robin, one batch per connection per
 * visit, from where the last tick stopped, and an answer frees window room
 * without sending at once: every one of the N users sends in turn, at
 * rate / N messages per second each. --spread 0 is the order of waves up to
 * 11: each tick walks the connections from the first, and an answer sends
 * again at once, so a capped rate is sent by the lowest-numbered few hundred
 * connections, each with its window full, whose answers then share writes. An answer counts only with code 0, i.e.
 * after the message is committed. Replies come back in order per connection,
 * so the latency of each send is measured from its write to its reply.
 *
 *   msg_bench --port P --sdkappid N --key K --conns N [--procs P] [--window W]
 *             [--batch B] [--seconds S] [--rate R] [--spread 0|1] [--sources 8] [--host H] [--server-pid PID]
 *             [--timeline 0|1] [--pad N] [--count N] [--cursors FILE] [--contacts K]
 *
 * --pad N appends N characters to every message's text (the default, 0,
 * sends ~25 characters).
 *
 * --contacts K: each user sends to one of K peers fixed for it (a pseudo-random
 * function of its number and 0..K-1; never itself), instead of to any of the
 * --conns users: a conversation is then mostly one already written, as with
 * real contacts, where random peers open a new one with nearly every message.
 *
 * --cursors FILE: the sync after each login starts from the cursor a
 * returning device holds, line 1 + i of FILE for user mb<i> (a user beyond
 * the file's lines: 0), instead of 0 (bench/bigstore_fill.c writes one).
 *
 * --count N sends N messages in all (each of the P workers N / P, rounded
 * down to whole batches) and stops sending once they are answered, or at
 * --seconds, whichever comes first: a fixed amount of work, so that two runs
 * of N and 3N messages under callgrind differ by 2N messages' instructions
 * (bench/msg_loop_count.sh).
 *
 * Output (parent, one line): conns ok_logins acked failed elapsed_ms msgs_per_s
 * p50_ms p99_ms (send → the reply read), arrived_p50_ms arrived_p99_ms
 * (send → the reply's arrival in this socket: the same less read_late),
 * read_late_p99_ms and _max_ms (how long a reply waited in the socket before
 * its worker read it, the worst worker: the kernel's receive stamp,
 * SO_TIMESTAMPNS, against the time of the read; reads go through a
 * uv_poll on a duplicate of the connection's descriptor, since libuv's own
 * reads return no stamp), loadgen_cpu_wait_ms (the workers' time runnable
 * but not running while sending, /proc/self/schedstat: the other worker or
 * other tasks on the load core held it), send_lag_p99_ms and _max_ms (under
 * --rate, per send, the worst worker: how long its token had waited, the
 * tokens left before it over the worker's rate; latency counts from the
 * send, not from the due time, and a late worker sends its backlog at
 * once, up to 100 ms of tokens), pushes (received by the recipients) batch window
 * loadgen_cpu_ms, loadgen_tick_p99_ms and _max_ms (the interval between the
 * load generator's 1 ms ticks while sending, the worst worker: how late it
 * may have read an answer, which counts in the latency), and from the server's /healthz counters over the sending
 * period (read by the first worker when it starts and stops sending):
 * writer jobs per batch (jobs_per_commit) and frames per write
 * (frames_per_write = WebSocket frames written / sendmsg calls), and with
 * --server-pid the server's CPU time over the same period per message
 * acknowledged to the first worker, times the number of workers
 * (server_cpu_us_per_msg: less disturbed by other load than msgs/s), and
 * the same for the event-loop thread alone (loop_cpu_us_per_msg; the rest
 * is the writer and reader threads), and the bytes written to the WAL per
 * message acknowledged, counted the same way (wal_bytes_per_msg, /healthz
 * "disk"; 0 from a server without it). The first refused send of each worker is printed to stderr.
 * Workers start sending together, once all of them have logged their users in.
 * Then the writer's stages over the sending period (GET /healthz/stages at
 * start and stop, subtracted; store_writer.h "Stages"): name_us=p50/p99/max
 * per stage, every writer job of the server (not only the first worker's),
 * commits and syncs (COMMITs and WAL fdatasyncs in the period), per
 * server thread name over the period thr_NAME=cpu_ms/slices/voluntary/
 * involuntary/cpu_wait_ms (CPU time, time slices and time runnable but not
 * running from /proc/PID/task/TID/schedstat, context switches from
 * .../status; the loop thread is "loop"), then the
 * WAL checkpointer's counters since the server started (ckpt_*: /healthz
 * "ckpt"; ckpt_ends=few:N/flat:N/wal_cap:N/rounds:N, why its cycles ended
 * with their blocking round), the writer's idle merge chunks since then
 * (merge_chunks, merge_total_ms, merge_p99_us, merge_max_us: /healthz
 * "merge") and the loop's naps since then (naps,
 * nap_slept_ms, naps_cut: /healthz "loop_nap", a server with loop_nap_us;
 * bench/bench_srv.h reads them). --timeline 1 also prints to stderr one line
 * "timeline_100ms_max_ms …": the highest ack latency in each 100 ms of
 * sending (by the ack's time, over all workers): steady queueing or
 * periodic stalls; before it, "timeline_start_monotonic_us T": when the
 * first worker started sending (CLOCK_MONOTONIC), to line the slots up with
 * samples taken on the server's side.
 */
#include "bench_clock.h"
#include "bench_net.h"
#include "bench_proc.h"
#include "bench_srv.h"
#include "auth/usersig.h"
#include "util/clock.h"
#include "util/hist.h"
#include "store/store_writer.h"

#include <jansson.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define RING 256

typedef struct conn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_poll_t rpoll;              /* reads, on a duplicate of tcp's descriptor (recv_cb) */
  int idx, stage;               /* 0 connecting, 1 handshake, 2 login, 3 sync, 4 sending, 5 failed */
  char *rbuf;
  size_t got, cap;
  uint64_t sent_us[RING];       /* FIFO of send times of unanswered sends */
  int head, tail, outstanding;
  uint32_t next_id;
} conn_t;

static struct {
  const char *host, *key;
  int port, conns, procs, window, batch, seconds, sources, first, server_pid;
  double rate;
  unsigned sdkappid;
  int spread, timeline, pad;
  long count;
} opt = { "127.0.0.1", NULL, 0, 1000, 1, 16, 1, 10, 8, 0, 0, 0, 0, 1, 0, 0, 0 };
static long long quota = -1, inflight; /* --count: this worker's sends left (-1: no count); sends unanswered */
static char *pad_text;          /* opt.pad 'x's, appended to every message's text */
static const char *cursors_path; /* --cursors */
static int opt_contacts;          /* --contacts: 0 = random peers among all */
static unsigned *cursors;       /* its lines: the sync's cursor of user mb<i> */
static size_t ncursors;

static uv_loop_t *loop;
static conn_t *conns;
static int nconns, logged, ready_n, failed, sending, stopping;
static uint64_t acked, nfail, pushes, t_start_us, t_end_us, cpu0, cpu1;
static unsigned long long hz0[5], hz1[5], scpu0, scpu1, lcpu0, lcpu1;
static int hz_ok;
static imc_hist_t stg0[STORE_STAGES], stg1[STORE_STAGES];
static int stg_ok;
static unsigned long long server_cpu_ms(void), loop_cpu_ms(void);
static uint32_t *lat, *arr;   /* per ack: send → read, and send → arrival in the socket */
static size_t nlat, cap_lat;
static uint64_t cur_late_us;  /* how long the segments of the read being parsed waited in the socket */
static imc_hist_t read_late;  /* that wait per acknowledged send while sending */
static imc_hist_t send_lag;   /* under --rate: per send, how long its token had waited (tokens left / rate) */
static long long wait0_ns, wait1_ns; /* this worker's wait for a CPU (runnable, not running) at the start and end of sending */
static double tokens;
static uv_timer_t tick, stop_timer;
/* per-thread figures of --server-pid at the start and end of sending (thr_sample) */
#define THR_MAX 16
typedef struct thr { char name[20]; unsigned long long run_ns, wait_ns, slices, vcsw, nvcsw; } thr_t;
static thr_t thr0[THR_MAX], thr1[THR_MAX];
static int nthr0, nthr1;
static int thr_sample(thr_t *out);
/* --timeline 1: the highest ack latency per 100 ms of sending (by the ack's
 * time), each worker's, merged by the parent into the maximum over workers. */
#define TL_SLOTS 1200
static uint32_t tl_max_us[TL_SLOTS];

static uint64_t cpu_us(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}


static void write_cb(uv_write_t *w, int status) { (void)status; free(w); }

static void send_buf(conn_t *c, void *data, size_t len)
{
  uv_write_t *w = malloc(sizeof *w + len);
  memcpy(w + 1, data, len);
  uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)len);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, write_cb)) free(w);
}

static void send_text(conn_t *c, const char *text)
{
  unsigned char buf[4096];
  send_buf(c, buf, bench_ws_frame(text, strlen(text), buf));
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint32_t rnd(uint32_t n) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng % n); }

/* One write of opt.batch send frames. */
static void send_batch(conn_t *c)
{
  static unsigned char *buf;
  static char *text;
  const size_t text_cap = 256 + (size_t)opt.pad;
  if (!buf && (!(buf = malloc((size_t)opt.batch * (text_cap + 16))) || !(text = malloc(text_cap)))) abort();
  size_t off = 0;
  uint64_t t = now_us();
  for (int i = 0; i < opt.batch; i++) {
    int me = opt.first + c->idx, to;
    if (opt_contacts > 0) { /* one of me's opt_contacts fixed peers (never me) */
      uint64_t z = ((uint64_t)(uint32_t)me << 32 | rnd((uint32_t)opt_contacts)) + 0x9E3779B97F4A7C15ULL;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      z ^= z >> 31;
      to = (int)((uint32_t)(me + 1 + (int)(z % (uint64_t)(opt.conns - 1))) % (uint32_t)opt.conns);
    } else {
      to = (int)rnd((uint32_t)opt.conns - 1);
      if (to >= me) to++;
    }
    uint32_t id = ++c->next_id;
    int n = snprintf(text, text_cap, "{\"id\":%u,\"op\":\"send\",\"to\":\"mb%d\",\"body\":[{\"MsgType\":\"TIMTextElem\","
                     "\"MsgContent\":{\"Text\":\"benchmark message %u%s\"}}]}", id, to, id, pad_text);
    off += bench_ws_frame(text, (size_t)n, buf + off);
    c->sent_us[c->tail] = t;
    c->tail = (c->tail + 1) % RING;
    c->outstanding++;
  }
  if (quota > 0) quota -= opt.batch;
  inflight += opt.batch;
  send_buf(c, buf, off);
}

/* Send from c what its window and the tokens allow. */
static void pump_one(conn_t *c)
{
  if (!sending || stopping || c->stage != 4) return;
  while (c->outstanding + opt.batch <= opt.window && (opt.rate <= 0 || tokens >= opt.batch) && quota != 0) {
    if (opt.rate > 0) tokens -= opt.batch;
    send_batch(c);
  }
}

static int can_send(const conn_t *c)
{
  return sending && !stopping && c->stage == 4 && c->outstanding + opt.batch <= opt.window && quota != 0;
}

/* The tick's new tokens, round robin (--spread 1 under a cap): one batch per
 * connection per visit from where the last tick stopped, until the tokens
 * run out or a whole lap finds no connection with window room. */
static void pump_spread(void)
{
  static int cursor;
  for (int idle = 0; tokens >= opt.batch && idle < nconns;) {
    conn_t *c = &conns[cursor];
    cursor = (cursor + 1) % nconns;
    if (!can_send(c)) { idle++; continue; }
    imc_hist_add(&send_lag, (uint64_t)(tokens * 1e9 / (opt.rate / opt.procs)));
    tokens -= opt.batch;
    send_batch(c);
    idle = 0;
  }
}

/* Every connection (the tick: new tokens). After an answer only its own
 * connection is pumped (--spread 0 or no cap): walking all of them per
 * answer cost the load generator O(conns) per message. */
static void pump(void)
{
  if (opt.rate > 0 && opt.spread) { pump_spread(); return; }
  for (int k = 0; k < nconns; k++) pump_one(&conns[k]);
}

static imc_hist_t tick_gap; /* time between ticks (due every 1 ms): how late this process runs its loop */

static void on_tick(uv_timer_t *t)
{
  (void)t;
  static uint64_t last;
  uint64_t now = now_us();
  if (last && sending && !stopping) imc_hist_add(&tick_gap, (now - last) * 1000);
  if (opt.rate > 0 && last) {
    tokens += opt.rate / opt.procs * (double)(now - last) / 1e6;
    if (tokens > opt.rate / opt.procs / 10) tokens = opt.rate / opt.procs / 10; /* at most 100 ms of burst */
  }
  last = now;
  pump();
}

static void finish_all(uv_timer_t *t)
{
  (void)t;
  stopping = 1;
  t_end_us = now_us();
  cpu1 = cpu_us();
  wait1_ns = bench_proc_wait_ns(getpid());
  if (hz_ok && bench_srv_healthz(opt.host, opt.port, hz1)) hz_ok = 0;
  if (stg_ok && bench_srv_stages(opt.host, opt.port, stg1)) stg_ok = 0;
  scpu1 = server_cpu_ms();
  lcpu1 = loop_cpu_ms();
  if (opt.first == 0) nthr1 = thr_sample(thr1);
  uv_stop(loop);
}

static void start_sending(void)
{
  sending = 1;
  hz_ok = opt.first == 0 && !bench_srv_healthz(opt.host, opt.port, hz0);
  stg_ok = opt.first == 0 && !bench_srv_stages(opt.host, opt.port, stg0);
  scpu0 = server_cpu_ms();
  lcpu0 = loop_cpu_ms();
  if (opt.first == 0) nthr0 = thr_sample(thr0);
  t_start_us = now_us();
  cpu0 = cpu_us();
  wait0_ns = bench_proc_wait_ns(getpid());
  uv_timer_start(&tick, on_tick, 1, 1);
  uv_timer_start(&stop_timer, finish_all, (uint64_t)opt.seconds * 1000, 0);
  pump();
}

/* Barrier between the workers (pipes made by the parent): each says it is
 * ready, and all start sending once every worker's users are logged in
 * (and so imported): a worker sending earlier met "To_Account is not
 * imported" (90012) for peers of a worker still logging in. Blocks the
 * worker's loop meanwhile; nothing is in flight then. */
static int ready_fd = -1, go_fd = -1;

static void all_ready(void)
{
  char b = 1;
  if (ready_fd >= 0 && write(ready_fd, &b, 1) == 1 && read(go_fd, &b, 1) != 1) { /* parent gone: send anyway */ }
  start_sending();
}

static void got_frame(conn_t *c, const char *p, size_t len)
{
  (void)len;
  if (c->stage == 2) { /* login reply */
    if (!strstr(p, "\"code\":0,")) { c->stage = 5; failed++; return; }
    logged++;
    c->stage = 3;
    size_t u = (size_t)(opt.first + c->idx);
    char sync[64];
    snprintf(sync, sizeof sync, "{\"id\":0,\"op\":\"sync\",\"cursor\":%u}", u < ncursors ? cursors[u] : 0);
    send_text(c, sync);
    return;
  }
  if (c->stage == 3) {
    if (strstr(p, "\"op\":\"sync\"")) {
      if (!strstr(p, "\"complete\":true")) { c->stage = 5; failed++; return; }
      c->stage = 4;
      if (++ready_n + failed == nconns) all_ready();
    }
    return;
  }
  if (!strncmp(p, "{\"type\":\"msg\"", 13)) { pushes++; return; }
  if (strstr(p, "\"op\":\"send\"") && c->outstanding > 0) {
    uint64_t t = c->sent_us[c->head];
    c->head = (c->head + 1) % RING;
    c->outstanding--;
    inflight--;
    if (stopping) return;
    if (strstr(p, "\"code\":0,")) {
      acked++;
      if (nlat == cap_lat) {
        cap_lat = cap_lat ? cap_lat * 2 : 1 << 16;
        lat = realloc(lat, cap_lat * sizeof *lat);
        arr = realloc(arr, cap_lat * sizeof *arr);
        if (!lat || !arr) { fprintf(stderr, "msg_bench: out of memory\n"); exit(1); }
      }
      uint64_t now = now_us(), late = cur_late_us == UINT64_MAX ? 0 : cur_late_us;
      if (late > now - t) late = now - t;
      imc_hist_add(&read_late, late * 1000);
      arr[nlat] = (uint32_t)(now - t - late);
      lat[nlat++] = (uint32_t)(now - t);
      size_t slot = (size_t)((now - t_start_us) / 100000);
      if (opt.timeline && slot < TL_SLOTS && now - t > tl_max_us[slot]) tl_max_us[slot] = (uint32_t)(now - t);
    } else {
      if (!nfail++) { /* the first refusal of this worker, for the record */
        const char *code = strstr(p, "\"code\":");
        fprintf(stderr, "msg_bench: first send error: %.80s\n", code ? code : p);
      }
    }
    if (opt.rate <= 0 || !opt.spread) pump_one(c);
    if (quota == 0 && inflight == 0) finish_all(NULL);
  }
}

/* n more bytes in c->rbuf: the upgrade's reply, then whole frames. */
static void on_data(conn_t *c, size_t n)
{
  c->got += n;
  size_t off = 0;
  if (c->stage == 1) {
    c->rbuf[c->got] = 0;
    char *end = strstr(c->rbuf, "\r\n\r\n");
    if (!end) return;
    off = (size_t)(end + 4 - c->rbuf);
    c->stage = 2;
    char sig[1024], text[2048], user[32];
    snprintf(user, sizeof user, "mb%d", opt.first + c->idx);
    auth_usersig_gen(opt.sdkappid, opt.key, user, imc_clock_now_s(), 86400, sig, sizeof sig);
    snprintf(text, sizeof text, "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\","
             "\"platform\":\"Web\",\"device_id\":\"%s\"}", opt.sdkappid, user, sig, user);
    send_text(c, text);
  }
  for (;;) { /* whole server frames (unmasked) */
    size_t avail = c->got - off;
    if (avail < 2) break;
    unsigned char *h = (unsigned char *)c->rbuf + off;
    size_t len = h[1] & 0x7f, hl = 2;
    if (len == 126) { if (avail < 4) break; len = (size_t)h[2] << 8 | h[3]; hl = 4; }
    else if (len == 127) { if (avail < 10) break; len = 0; for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i]; hl = 10; }
    if (avail < hl + len) break;
    char save = c->rbuf[off + hl + len];
    c->rbuf[off + hl + len] = 0;
    if ((h[0] & 0x0f) == 1) got_frame(c, c->rbuf + off + hl, len);
    c->rbuf[off + hl + len] = save;
    off += hl + len;
  }
  memmove(c->rbuf, c->rbuf + off, c->got - off);
  c->got -= off;
}

/* The connection is readable (level-triggered poll on the duplicate
 * descriptor): one stamped read (bench_recv_stamped), so each ack's latency
 * splits into the server's side (until the reply entered this socket) and
 * this process's lateness in reading it. libuv's own reads cannot return
 * the stamp. */
static void recv_cb(uv_poll_t *h, int status, int events)
{
  (void)events;
  conn_t *c = h->data;
  if (c->cap - c->got < 65536) { c->cap = c->cap ? c->cap * 2 : 131072; c->rbuf = realloc(c->rbuf, c->cap); }
  ssize_t n = status ? -1 : bench_recv_stamped(h->io_watcher.fd, c->rbuf + c->got, c->cap - c->got - 1, &cur_late_us);
  if (n < 0 && status == 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    if (c->stage != 5) { c->stage = 5; failed++; }
    uv_poll_stop(h);
    return;
  }
  on_data(c, (size_t)n);
}

static void connect_cb(uv_connect_t *r, int status)
{
  conn_t *c = r->data;
  if (status) { c->stage = 5; failed++; return; }
  static const char hs[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  c->stage = 1;
  uv_os_fd_t fd;
  int rfd = uv_fileno((uv_handle_t *)&c->tcp, &fd) ? -1 : dup(fd);
  if (rfd < 0 || bench_rx_stamp_on(rfd) || uv_poll_init_socket(loop, &c->rpoll, rfd)) { c->stage = 5; failed++; return; }
  c->rpoll.data = c;
  uv_poll_start(&c->rpoll, UV_READABLE, recv_cb);
  send_buf(c, (void *)hs, sizeof hs - 1);
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* User + system CPU in ms of --server-pid (whole process) or, with
 * loop_only, of its main thread alone (the event loop: its thread id is the
 * process id); 0 without --server-pid. */
static unsigned long long cpu_of(int loop_only)
{
  char path[64], buf[1024];
  unsigned long long ut = 0, st = 0;
  if (!opt.server_pid) return 0;
  if (loop_only) snprintf(path, sizeof path, "/proc/%d/task/%d/stat", opt.server_pid, opt.server_pid);
  else snprintf(path, sizeof path, "/proc/%d/stat", opt.server_pid);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  const char *p = strrchr(buf, ')'); /* fields 14 and 15 after the command name */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return 0;
  return (ut + st) * 1000ULL / (unsigned long long)sysconf(_SC_CLK_TCK);
}

static unsigned long long server_cpu_ms(void) { return cpu_of(0); }
static unsigned long long loop_cpu_ms(void) { return cpu_of(1); }

/* Per-thread figures of --server-pid, summed by thread name (the loop
 * thread, whose id is the process id, is "loop"): CPU time and time slices
 * from /proc/PID/task/TID/schedstat (ns on the CPU, slices run), voluntary
 * and involuntary context switches from .../status. */

static int thr_sample(thr_t *out)
{
  char path[96], buf[512], name[20];
  int n = 0;
  if (!opt.server_pid) return 0;
  snprintf(path, sizeof path, "/proc/%d/task", opt.server_pid);
  DIR *d = opendir(path);
  for (struct dirent *e; d && (e = readdir(d));) {
    int tid = atoi(e->d_name);
    if (tid <= 0) continue;
    unsigned long long run = 0, wait = 0, sl = 0, v = 0, nv = 0;
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", opt.server_pid, tid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(name, sizeof name, f)) { if (f) fclose(f); continue; }
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    if (tid == opt.server_pid) snprintf(name, sizeof name, "loop");
    snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", opt.server_pid, tid);
    if ((f = fopen(path, "r"))) { if (fscanf(f, "%llu %llu %llu", &run, &wait, &sl) != 3) run = sl = 0; fclose(f); }
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", opt.server_pid, tid);
    if ((f = fopen(path, "r"))) {
      while (fgets(buf, sizeof buf, f)) {
        sscanf(buf, "voluntary_ctxt_switches: %llu", &v);
        sscanf(buf, "nonvoluntary_ctxt_switches: %llu", &nv);
      }
      fclose(f);
    }
    int k = 0;
    while (k < n && strcmp(out[k].name, name)) k++;
    if (k == n) {
      if (n == THR_MAX) continue;
      memset(&out[n], 0, sizeof out[n]);
      snprintf(out[n++].name, sizeof out[0].name, "%s", name);
    }
    out[k].run_ns += run; out[k].wait_ns += wait; out[k].slices += sl; out[k].vcsw += v; out[k].nvcsw += nv;
  }
  if (d) closedir(d);
  return n;
}

/* " thr_NAME=cpu_ms/slices/voluntary/involuntary/cpu_wait_ms" per thread name over the
 * sending period (end minus start; a thread absent at the start counts from 0). */
static void print_threads(void)
{
  for (int i = 0; i < nthr1; i++) {
    thr_t b = { "", 0, 0, 0, 0, 0 };
    for (int k = 0; k < nthr0; k++) if (!strcmp(thr0[k].name, thr1[i].name)) b = thr0[k];
    printf(" thr_%s=%.1f/%llu/%llu/%llu/%.1f", thr1[i].name, (double)(thr1[i].run_ns - b.run_ns) / 1e6, thr1[i].slices - b.slices,
           thr1[i].vcsw - b.vcsw, thr1[i].nvcsw - b.nvcsw, (double)(thr1[i].wait_ns - b.wait_ns) / 1e6);
  }
}


/* The stages over the sending period (the end's histograms minus the
 * start's) as one line, "S name=p50/p99/max …" in µs; the maximum is the
 * whole run's (a histogram keeps no per-period maximum). */
static void print_stages(void)
{
  printf("S");
  for (int i = 0; i < STORE_STAGES; i++) {
    imc_hist_t d = stg1[i];
    d.n = 0;
    for (int k = 0; k < IMC_HIST_BUCKETS; k++) { d.b[k] -= stg0[i].b[k]; d.n += d.b[k]; }
    printf(" %s_us=%llu/%llu/%llu", store_stage_names[i], (unsigned long long)imc_hist_pct_us(&d, 50),
           (unsigned long long)imc_hist_pct_us(&d, 99), (unsigned long long)(d.max_ns / 1000));
  }
  printf(" commits=%llu", (unsigned long long)(stg1[STORE_STAGE_COMMITS].n - stg0[STORE_STAGE_COMMITS].n));
  printf(" syncs=%llu", (unsigned long long)(stg1[STORE_STAGE_SYNCS].n - stg0[STORE_STAGE_SYNCS].n));
  print_threads();
  bench_srv_print_counters(opt.host, opt.port);
  printf("\n");
}

static int worker(void)
{
  loop = uv_default_loop();
  conns = calloc((size_t)nconns, sizeof *conns);
  rng ^= (uint64_t)(opt.first + 1) * 0x9E3779B97F4A7C15ULL;
  if (opt.count > 0) quota = opt.count / opt.procs / opt.batch * opt.batch;
  uv_timer_init(loop, &tick);
  uv_timer_init(loop, &stop_timer);
  struct sockaddr_in addr;
  uv_ip4_addr(opt.host, opt.port, &addr);
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    c->idx = i;
    c->tcp.data = c->creq.data = c;
    uv_tcp_init_ex(loop, &c->tcp, AF_INET);
    bench_bind_source(&c->tcp, opt.sources, opt.first + i);
    if (uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&addr, connect_cb)) { c->stage = 5; failed++; }
    if (i % 256 == 255) uv_run(loop, UV_RUN_NOWAIT); /* let handshakes progress */
  }
  uv_run(loop, UV_RUN_DEFAULT);
  qsort(lat, nlat, sizeof *lat, cmp_u32);
  qsort(arr, nlat, sizeof *arr, cmp_u32);
  /* samples are sent up for global percentiles: every 16th keeps the pipe small */
  for (size_t i = 0; i < nlat; i += 16) printf("L %u\nR %u\n", lat[i], arr[i]);
  printf("D %llu %llu %lld %llu %llu\n", (unsigned long long)imc_hist_pct_us(&read_late, 99), (unsigned long long)(read_late.max_ns / 1000),
         (wait1_ns - wait0_ns) / 1000, (unsigned long long)imc_hist_pct_us(&send_lag, 99), (unsigned long long)(send_lag.max_ns / 1000));
  for (size_t i = 0; opt.timeline && i < TL_SLOTS; i++) if (tl_max_us[i]) printf("P %zu %u\n", i, tl_max_us[i]);
  if (!hz_ok) memset(hz1, 0, sizeof hz1), memset(hz0, 0, sizeof hz0);
  if (stg_ok) print_stages();
  if (opt.first == 0) printf("H %llu %llu %llu %llu %llu %llu %llu %llu\n", hz1[0] - hz0[0], hz1[1] - hz0[1], hz1[2] - hz0[2],
                              hz1[3] - hz0[3], scpu1 - scpu0, (unsigned long long)acked, lcpu1 - lcpu0, hz1[4] - hz0[4]);
  printf("T %llu %llu\n", (unsigned long long)imc_hist_pct_us(&tick_gap, 99), (unsigned long long)(tick_gap.max_ns / 1000));
  printf("W %d %d %llu %llu %llu %llu %llu %llu\n", logged, failed, (unsigned long long)acked, (unsigned long long)nfail,
         (unsigned long long)(t_end_us - t_start_us), (unsigned long long)pushes, (unsigned long long)(cpu1 - cpu0),
         (unsigned long long)t_start_us);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv)
{
  static const bench_opt_t opts[] = {
    { "--host", 's', &opt.host },
    { "--port", 'i', &opt.port },
    { "--sdkappid", 'u', &opt.sdkappid },
    { "--key", 's', &opt.key },
    { "--conns", 'i', &opt.conns },
    { "--procs", 'i', &opt.procs },
    { "--window", 'i', &opt.window },
    { "--batch", 'i', &opt.batch },
    { "--seconds", 'i', &opt.seconds },
    { "--rate", 'd', &opt.rate },
    { "--spread", 'i', &opt.spread },
    { "--timeline", 'i', &opt.timeline },
    { "--sources", 'i', &opt.sources },
    { "--server-pid", 'i', &opt.server_pid },
    { "--pad", 'i', &opt.pad },
    { "--count", 'l', &opt.count },
    { "--cursors", 's', &cursors_path },
    { "--contacts", 'i', &opt_contacts },
    { NULL, 0, NULL },
  };
  if (bench_parse_opts(argc, argv, opts)) return 2;
  if (!opt.port || !opt.sdkappid || !opt.key || opt.conns < 2 || opt.procs < 1 || opt.procs > 64 || opt.batch < 1 ||
      opt.batch > 16 || opt.window < opt.batch || opt.window > RING || opt.pad < 0 || opt.pad > 60000 || opt_contacts < 0) {
    fprintf(stderr, "usage: msg_bench --port P --sdkappid N --key K --conns N [--procs P] [--window W] [--batch B]\n"
                    "                 [--seconds S] [--rate R] [--spread 0|1] [--sources S] [--host H] [--pad 0..60000]\n"
                    "                 [--count N] [--cursors FILE] [--contacts K]\n");
    return 2;
  }
  FILE *cf = cursors_path ? fopen(cursors_path, "r") : NULL;
  if (cursors_path && !cf) { perror(cursors_path); return 2; }
  for (unsigned v; cf && fscanf(cf, "%u", &v) == 1; cursors[ncursors++] = v)
    if (ncursors % 4096 == 0 && !(cursors = realloc(cursors, (ncursors + 4096) * sizeof *cursors))) return 1;
  if (cf) fclose(cf);
  if (!(pad_text = malloc((size_t)opt.pad + 1))) return 1;
  memset(pad_text, 'x', (size_t)opt.pad);
  pad_text[opt.pad] = 0;
  int fds[64][2], ready[2], go[2];
  pid_t pids[64];
  if (pipe(ready) || pipe(go)) return 1;
  for (int p = 0; p < opt.procs; p++) {
    if (pipe(fds[p])) return 1;
    int share = opt.conns / opt.procs + (p < opt.conns % opt.procs);
    int first = p * (opt.conns / opt.procs) + (p < opt.conns % opt.procs ? p : opt.conns % opt.procs);
    if ((pids[p] = fork()) == 0) {
      dup2(fds[p][1], 1);
      close(fds[p][0]);
      nconns = share;
      opt.first = first;
      ready_fd = ready[1];
      go_fd = go[0];
      close(ready[0]);
      close(go[1]);
      _exit(worker());
    }
    close(fds[p][1]);
  }
  close(ready[1]);
  close(go[0]);
  char b;
  int nready = 0;
  while (nready < opt.procs && read(ready[0], &b, 1) == 1) nready++; /* a worker that died closes its end */
  for (int p = 0; p < opt.procs; p++) if (write(go[1], &b, 1) != 1) break;
  close(ready[0]);
  close(go[1]);
  unsigned long long ok = 0, fl = 0, ack = 0, nf = 0, ms_us = 0, push = 0, cpu = 0, t, h[8] = { 0 };
  uint32_t *all = NULL, *all_arr = NULL;
  size_t n = 0, cap = 0, n_arr = 0, cap_arr = 0;
  unsigned long long late_p99 = 0, late_max = 0, run_wait_us = 0, lag_p99 = 0, lag_max = 0;
  char stage_line[1024] = "";
  unsigned long long tick_p99 = 0, tick_max = 0, t_first = 0;
  for (int p = 0; p < opt.procs; p++) {
    FILE *in = fdopen(fds[p][0], "r");
    char line[1024];
    unsigned l;
    unsigned long long a, b, c, d, e, f, g;
    while (fgets(line, sizeof line, in)) {
      if (sscanf(line, "H %llu %llu %llu %llu %llu %llu %llu %llu", &h[0], &h[1], &h[2], &h[3], &h[4], &h[5], &h[6], &h[7]) == 8)
        continue;
      unsigned long long tp, tm;
      unsigned long long rw, lp, lm;
      if (sscanf(line, "D %llu %llu %llu %llu %llu", &tp, &tm, &rw, &lp, &lm) == 5) {
        run_wait_us += rw;
        if (lp > lag_p99) lag_p99 = lp;
        if (lm > lag_max) lag_max = lm;
        if (tp > late_p99) late_p99 = tp;
        if (tm > late_max) late_max = tm;
        continue;
      }
      if (sscanf(line, "R %u", &l) == 1) {
        if (n_arr == cap_arr) { cap_arr = cap_arr ? cap_arr * 2 : 65536; all_arr = realloc(all_arr, cap_arr * sizeof *all_arr); }
        all_arr[n_arr++] = l;
        continue;
      }
      if (sscanf(line, "T %llu %llu", &tp, &tm) == 2) {
        if (tp > tick_p99) tick_p99 = tp;
        if (tm > tick_max) tick_max = tm;
        continue;
      }
      if (!strncmp(line, "S ", 2)) {
        snprintf(stage_line, sizeof stage_line, "%s", line + 2);
        stage_line[strcspn(stage_line, "\n")] = 0;
        continue;
      }
      size_t slot;
      if (sscanf(line, "P %zu %u", &slot, &l) == 2) {
        if (slot < TL_SLOTS && l > tl_max_us[slot]) tl_max_us[slot] = l;
        continue;
      }
      if (sscanf(line, "L %u", &l) == 1) {
        if (n == cap) { cap = cap ? cap * 2 : 65536; all = realloc(all, cap * sizeof *all); }
        all[n++] = l;
      } else if (sscanf(line, "W %llu %llu %llu %llu %llu %llu %llu %llu", &a, &b, &c, &d, &e, &f, &g, &t) == 8) {
        ok += a; fl += b; ack += c; nf += d; push += f; cpu += g;
        if (e > ms_us) ms_us = e;
        if (!t_first || t < t_first) t_first = t;
      }
    }
    fclose(in);
    waitpid(pids[p], NULL, 0);
  }
  qsort(all, n, sizeof *all, cmp_u32);
  double p50 = n ? all[(n - 1) / 2] / 1000.0 : 0, p99 = n ? all[(n * 99 + 99) / 100 - 1] / 1000.0 : 0;
  qsort(all_arr, n_arr, sizeof *all_arr, cmp_u32);
  double a50 = n_arr ? all_arr[(n_arr - 1) / 2] / 1000.0 : 0, a99 = n_arr ? all_arr[(n_arr * 99 + 99) / 100 - 1] / 1000.0 : 0;
  printf("conns=%d logins=%llu failed=%llu acked=%llu send_errors=%llu elapsed_ms=%.0f msgs_per_s=%.0f p50_ms=%.2f "
         "p99_ms=%.2f arrived_p50_ms=%.2f arrived_p99_ms=%.2f read_late_p99_ms=%.2f read_late_max_ms=%.1f loadgen_cpu_wait_ms=%.0f send_lag_p99_ms=%.2f send_lag_max_ms=%.1f pushes=%llu batch=%d window=%d rate=%.0f spread=%d loadgen_cpu_ms=%.0f loadgen_tick_p99_ms=%.1f loadgen_tick_max_ms=%.1f jobs_per_commit=%.1f "
         "frames_per_write=%.2f server_cpu_us_per_msg=%.1f loop_cpu_us_per_msg=%.1f wal_bytes_per_msg=%.0f%s%s\n", opt.conns, ok, fl, ack, nf,
         ms_us / 1000.0, ms_us ? ack * 1e6 / (double)ms_us : 0, p50, p99, a50, a99,
         late_p99 / 1000.0, late_max / 1000.0, run_wait_us / 1000.0, lag_p99 / 1000.0,
         lag_max / 1000.0, push, opt.batch, opt.window, opt.rate, opt.spread,
         cpu / 1000.0, tick_p99 / 1000.0, tick_max / 1000.0, h[1] ? (double)h[0] / (double)h[1] : 0, h[2] ? (double)h[3] / (double)h[2] : 0,
         h[5] && h[4] ? (double)h[4] * 1000.0 / ((double)h[5] * opt.procs) : 0,
         h[5] && h[6] ? (double)h[6] * 1000.0 / ((double)h[5] * opt.procs) : 0,
         h[5] ? (double)h[7] / ((double)h[5] * opt.procs) : 0, *stage_line ? " " : "", stage_line);
  if (opt.timeline) { /* one line: the highest latency per 100 ms of sending, in ms */
    int last = -1;
    for (int i = 0; i < TL_SLOTS; i++) if (tl_max_us[i]) last = i;
    fprintf(stderr, "timeline_start_monotonic_us %llu\n", t_first);
    fprintf(stderr, "timeline_100ms_max_ms");
    for (int i = 0; i <= last; i++) fprintf(stderr, " %.1f", tl_max_us[i] / 1000.0);
    fprintf(stderr, "\n");
  }
  free(all);
  free(all_arr);
  return 0;
}
