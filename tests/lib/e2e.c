/* e2e.c — see e2e.h. */
#include "e2e.h"
#include "auth/usersig.h"
#include "store/store.h"
#include "store_tmpl.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <unistd.h>

static void die(const char *what)
{
  fprintf(stderr, "e2e setup failed: %s (%s)\n", what, strerror(errno));
  exit(1);
}

const char *e2e_bin(void)
{
  const char *b = getenv("IMCLOUD_BIN");
  return b && *b ? b : "build/imcloud";
}

void e2e_dir_init(e2e_server_t *srv)
{
  memset(srv, 0, sizeof *srv);
  snprintf(srv->dir, sizeof srv->dir, "/tmp/imcloud-e2e-XXXXXX");
  if (!mkdtemp(srv->dir)) die("mkdtemp");
  snprintf(srv->log_path, sizeof srv->log_path, "%s/server.log", srv->dir);
  snprintf(srv->bin, sizeof srv->bin, "%s", e2e_bin());
}

int e2e_server_start(e2e_server_t *srv, const char *const *extra)
{
  char port_file[300];
  snprintf(port_file, sizeof port_file, "%s/port", srv->dir);
  unlink(port_file);
  const char *argv[64];
  int n = 0;
  argv[n++] = srv->bin; argv[n++] = "serve";
  argv[n++] = "--listen"; argv[n++] = "127.0.0.1:0";
  argv[n++] = "--data"; argv[n++] = srv->dir;
  argv[n++] = "--port-file"; argv[n++] = port_file;
  for (int i = 0; extra && extra[i] && n < 62; i++) argv[n++] = extra[i];
  argv[n] = NULL;
  /* /healthz's disk_low check off unless the test set it (a flag of the test's wins anyway): a "status":"ok"
   * the test expects does not depend on the test machine's free disk. Set before the fork: the child only execs */
  setenv("IMCLOUD_DISK_LOW_MB", "0", 0);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    /* the server dies with the test: a test that exits early (a failed
     * setup, a crash, the runner's timeout) leaves no server behind */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(127);
    int fd = open(srv->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) { dup2(fd, 2); dup2(fd, 1); close(fd); }
    execv(srv->bin, (char *const *)argv);
    _exit(127);
  }
  srv->pid = pid;
  for (int i = 0; i < 1500; i++) { /* up to 15 s (sanitizer builds start slowly) */
    FILE *f = fopen(port_file, "r");
    if (f) {
      int port = 0;
      if (fscanf(f, "%d", &port) == 1 && port > 0) { fclose(f); srv->port = port; return 0; }
      fclose(f);
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) { srv->pid = 0; return -1; }
    e2e_sleep_ms(10);
  }
  e2e_server_kill(srv);
  return -1;
}

int e2e_server_stop(e2e_server_t *srv)
{
  if (!srv->pid) return -1;
  kill(srv->pid, SIGTERM);
  return e2e_server_wait_exit(srv);
}

int e2e_server_wait_exit(e2e_server_t *srv)
{
  if (!srv->pid) return -1;
  int st = 0;
  for (int i = 0; i < 3000; i++) {
    if (waitpid(srv->pid, &st, WNOHANG) == srv->pid) {
      srv->pid = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    e2e_sleep_ms(10);
  }
  e2e_server_kill(srv);
  return -1;
}

void e2e_server_kill(e2e_server_t *srv)
{
  if (!srv->pid) return;
  kill(srv->pid, SIGKILL);
  waitpid(srv->pid, NULL, 0);
  srv->pid = 0;
}

void e2e_dir_remove(e2e_server_t *srv)
{
  char cmd[400];
  if (!srv->dir[0] || getenv("E2E_KEEP")) return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", srv->dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", srv->dir);
}

int e2e_cli(const e2e_server_t *srv, char *out, size_t cap, const char *fmt, ...)
{
  char args[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "'%s' %s --data '%s' 2>>'%s'", srv->bin, args, srv->dir, srv->log_path);
  FILE *p = popen(cmd, "r");
  if (!p) die("popen");
  size_t n = out && cap ? fread(out, 1, cap - 1, p) : 0;
  if (out && cap) out[n] = 0;
  char sink[256];
  while (fread(sink, 1, sizeof sink, p) > 0) {}
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *json_field(const char *json, const char *name, char *out, size_t cap)
{
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", name);
  const char *p = strstr(json, pat);
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ') p++;
  size_t n = 0;
  if (*p == '"') { p++; while (*p && *p != '"' && n + 1 < cap) out[n++] = *p++; }
  else while (*p && *p != ',' && *p != '}' && n + 1 < cap) out[n++] = *p++;
  out[n] = 0;
  return out;
}

/* dir/imcloud.db from the template database (tests/lib/store_tmpl.h: made
 * once per test process by store_open, then copied), unless dir already
 * holds a database. A fresh database's migrations took most of every
 * setup's `customer create` and check nothing a first one did not (the CLI
 * tests still create theirs). E2E_NO_TEMPLATE=1 (environment) leaves it out:
 * every directory's database is then made by IMCLOUD_BIN's own `customer
 * create`, as a server binary of another schema (an older build, to see a
 * test fail before a change) needs. */
static void fresh_db(const char *dir)
{
  if (getenv("E2E_NO_TEMPLATE")) return;
  if (store_tmpl_copy(dir)) die("template database");
}

void e2e_make_app_at(const e2e_server_t *srv, const char *region, const char *created, uint32_t *sdkappid, char *key)
{
  char out[4096], v[128];
  fresh_db(srv->dir);
  if (e2e_cli(srv, out, sizeof out, "customer create --name e2e --json") != 0) die("customer create");
  if (!json_field(out, "id", v, sizeof v)) die("customer id");
  if (e2e_cli(srv, out, sizeof out, "app create --customer %s --name e2e --region %s%s%s --json", v, region,
              created ? " --created-at " : "", created ? created : "") != 0)
    die("app create");
  if (!json_field(out, "sdkappid", v, sizeof v)) die("sdkappid");
  *sdkappid = (uint32_t)strtoul(v, NULL, 10);
  if (!json_field(out, "key", v, sizeof v)) die("key");
  memcpy(key, v, 65);
  key[64] = 0;
}

void e2e_make_app(const e2e_server_t *srv, const char *region, uint32_t *sdkappid, char *key)
{
  e2e_make_app_at(srv, region, NULL, sdkappid, key);
}

int e2e_app_ultimate(const e2e_server_t *srv, int64_t customer, uint32_t sdkappid)
{
  char out[1024];
  int rc = e2e_cli(srv, out, sizeof out, "wallet topup --customer %lld --amount-fen 100000000 --reference ult%u",
                   (long long)customer, sdkappid);
  return rc ? rc : e2e_cli(srv, out, sizeof out, "app upgrade --sdkappid %u --edition ultimate", sdkappid);
}

char *e2e_slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
  if (s) s[n] = 0;
  fclose(f);
  return s;
}

char *e2e_server_log(const e2e_server_t *srv)
{
  FILE *f = fopen(srv->log_path, "r");
  if (!f) return strdup("");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t r = fread(buf, 1, (size_t)n, f);
  buf[r] = 0;
  fclose(f);
  return buf;
}

int e2e_job_runs(const e2e_server_t *srv, const char *job)
{
  char key[96];
  snprintf(key, sizeof key, "msg=\"job ran\" job=%s ", job);
  char *log = e2e_server_log(srv);
  int n = 0;
  for (const char *p = log; (p = strstr(p, key)); p++) n++;
  free(log);
  return n;
}

int e2e_wait_job_runs(const e2e_server_t *srv, const char *job, int k)
{
  int want = e2e_job_runs(srv, job) + k;
  for (int i = 0; i < 400; i++) {
    if (e2e_job_runs(srv, job) >= want) return 0;
    e2e_sleep_ms(25);
  }
  return e2e_job_runs(srv, job) >= want ? 0 : -1;
}

uint64_t e2e_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void e2e_sleep_ms(int ms)
{
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

int e2e_connect(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = { 0 };
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int e2e_connect_small(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  struct timeval to = { 2, 0 };
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &to, sizeof to);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return -1; }
  return fd;
}

int e2e_send(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len) {
    ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    p += w; len -= (size_t)w;
  }
  return 0;
}

static int wait_readable(int fd, int timeout_ms)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  int r;
  do r = poll(&pfd, 1, timeout_ms); while (r < 0 && errno == EINTR);
  return r;
}

size_t e2e_recv_all(int fd, char *buf, size_t cap, int timeout_ms)
{
  size_t n = 0;
  while (n + 1 < cap && wait_readable(fd, timeout_ms) > 0) {
    ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
    if (r <= 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  return n;
}

/* read exactly len bytes */
static int read_n(int fd, char *buf, size_t len, int timeout_ms)
{
  size_t n = 0;
  while (n < len) {
    if (wait_readable(fd, timeout_ms) <= 0) return -1;
    ssize_t r = recv(fd, buf + n, len - n, 0);
    if (r <= 0) return -1;
    n += (size_t)r;
  }
  return 0;
}

int e2e_http_read(int fd, char *body, size_t cap, int timeout_ms)
{
  char head[16384];
  size_t n = 0;
  /* read byte-wise until the blank line so the next response stays in the socket */
  while (n + 1 < sizeof head) {
    if (read_n(fd, head + n, 1, timeout_ms)) return -1;
    n++;
    if (n >= 4 && !memcmp(head + n - 4, "\r\n\r\n", 4)) break;
  }
  head[n] = 0;
  int status = 0;
  if (sscanf(head, "HTTP/1.%*d %d", &status) != 1) return -1;
  long clen = 0;
  for (char *p = head; (p = strchr(p, '\n')); ) {
    p++;
    if (!strncasecmp(p, "content-length:", 15)) clen = strtol(p + 15, NULL, 10);
  }
  if (clen < 0 || (size_t)clen + 1 > cap) return -1;
  if (read_n(fd, body, (size_t)clen, timeout_ms)) return -1;
  body[clen] = 0;
  return status;
}

int e2e_http(int port, const char *method, const char *target, const char *headers, const char *req_body,
             char *body, size_t cap)
{
  return e2e_http_timeout(port, method, target, headers, req_body, body, cap, 5000);
}

int e2e_http_timeout(int port, const char *method, const char *target, const char *headers, const char *req_body,
                     char *body, size_t cap, int timeout_ms)
{
  int fd = e2e_connect(port);
  if (fd < 0) return -1;
  size_t blen = req_body ? strlen(req_body) : 0;
  size_t rlen = strlen(method) + strlen(target) + (headers ? strlen(headers) : 0) + blen + 200;
  char *req = malloc(rlen);
  int n = snprintf(req, rlen, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                   method, target, headers ? headers : "", blen);
  memcpy(req + n, req_body ? req_body : "", blen);
  int st = e2e_send(fd, req, (size_t)n + blen) ? -1 : e2e_http_read(fd, body, cap, timeout_ms);
  free(req);
  close(fd);
  return st;
}

void e2e_usersig(uint32_t sdkappid, const char *key, const char *user, int64_t expire_s, char *out, size_t cap)
{
  if (auth_usersig_gen(sdkappid, key, user, imc_clock_now_s(), expire_s, out, cap) != 0) die("usersig");
}

int e2e_v4(int port, uint32_t sdkappid, const char *key, const char *identifier, const char *svc_cmd,
           const char *json_body, char *body, size_t cap)
{
  char sig[1024], target[1400];
  e2e_usersig(sdkappid, key, identifier, 86400, sig, sizeof sig);
  snprintf(target, sizeof target, "/v4/%s?sdkappid=%u&identifier=%s&usersig=%s&random=%u&contenttype=json",
           svc_cmd, sdkappid, identifier, sig, (unsigned)rand());
  return e2e_http(port, "POST", target, "Content-Type: application/json\r\n", json_body, body, cap);
}

int e2e_ws_upgrade_send(int fd, const char *path)
{
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path);
  return e2e_send(fd, req, (size_t)n);
}

int e2e_ws_upgrade_finish(int fd)
{
  char head[2048];
  size_t h = 0;
  while (h + 1 < sizeof head) {
    if (read_n(fd, head + h, 1, 5000)) return -1;
    h++;
    if (h >= 4 && !memcmp(head + h - 4, "\r\n\r\n", 4)) break;
  }
  head[h] = 0;
  /* RFC 6455 §1.3 sample key → fixed accept value */
  return strstr(head, " 101 ") && strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") ? 0 : -1;
}

int e2e_ws_connect(int port, const char *path)
{
  int fd = e2e_connect(port);
  if (fd < 0) return -1;
  if (e2e_ws_upgrade_send(fd, path) || e2e_ws_upgrade_finish(fd)) { close(fd); return -1; }
  return fd;
}

size_t e2e_ws_frame_put(unsigned char *dst, int opcode, int fin, const void *payload, size_t len, int masked)
{
  size_t h = 0;
  dst[h++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
  unsigned char mbit = masked ? 0x80 : 0;
  if (len < 126) dst[h++] = (unsigned char)(mbit | len);
  else if (len < 65536) { dst[h++] = mbit | 126; dst[h++] = (unsigned char)(len >> 8); dst[h++] = (unsigned char)len; }
  else { dst[h++] = mbit | 127; for (int i = 7; i >= 0; i--) dst[h++] = (unsigned char)((uint64_t)len >> (8 * i)); }
  unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  if (masked) { memcpy(dst + h, mask, 4); h += 4; }
  for (size_t i = 0; i < len; i++)
    dst[h + i] = masked ? (unsigned char)(((const unsigned char *)payload)[i] ^ mask[i & 3]) : ((const unsigned char *)payload)[i];
  return h + len;
}

int e2e_ws_send_frame(int fd, int opcode, int fin, const void *payload, size_t len, int masked)
{
  unsigned char *buf = malloc(E2E_WS_HEAD_MAX + len + 1);
  size_t n = e2e_ws_frame_put(buf, opcode, fin, payload, len, masked);
  int rc = e2e_send(fd, buf, n);
  free(buf);
  return rc;
}

int e2e_ws_send_text(int fd, const char *text) { return e2e_ws_send_frame(fd, 1, 1, text, strlen(text), 1); }

int e2e_ws_recv(int fd, int *opcode, char *buf, size_t cap, int timeout_ms, int *close_code)
{
  unsigned char h[2];
  if (read_n(fd, (char *)h, 2, timeout_ms)) return -1;
  *opcode = h[0] & 0x0f;
  uint64_t len = h[1] & 0x7f;
  if (len == 126) { unsigned char e[2]; if (read_n(fd, (char *)e, 2, timeout_ms)) return -1; len = (uint64_t)e[0] << 8 | e[1]; }
  else if (len == 127) {
    unsigned char e[8];
    if (read_n(fd, (char *)e, 8, timeout_ms)) return -1;
    len = 0;
    for (int i = 0; i < 8; i++) len = len << 8 | e[i];
  }
  if (len + 1 > cap) return -1;
  if (read_n(fd, buf, (size_t)len, timeout_ms)) return -1;
  buf[len] = 0;
  if (*opcode == 8 && close_code) *close_code = len >= 2 ? ((unsigned char)buf[0] << 8 | (unsigned char)buf[1]) : 1005;
  return (int)len;
}

int e2e_ws_recv_text(int fd, char *buf, size_t cap, int timeout_ms)
{
  for (;;) {
    int op, cc, n = e2e_ws_recv(fd, &op, buf, cap, timeout_ms, &cc);
    if (n < 0) return -1;
    if (op == 1) return n;
    if (op == 8) return -1;
  }
}

int e2e_ws_login(int port, uint32_t sdkappid, const char *key, const char *user, const char *platform,
                 char *reply, size_t cap)
{
  char dev[64];
  snprintf(dev, sizeof dev, "dev-%s", user);
  return e2e_ws_login_dev(port, sdkappid, key, user, platform, dev, reply, cap);
}

void e2e_ws_login_frame_sig(uint32_t sdkappid, const char *user, const char *sig, const char *platform,
                            const char *device, char *out, size_t cap)
{
  snprintf(out, cap,
           "{\"id\":1,\"op\":\"login\",\"sdkappid\":%u,\"user_id\":\"%s\",\"usersig\":\"%s\",\"platform\":\"%s\",\"device_id\":\"%s\"}",
           sdkappid, user, sig, platform, device);
}

void e2e_ws_login_frame(uint32_t sdkappid, const char *key, const char *user, const char *platform,
                        const char *device, char *out, size_t cap)
{
  char sig[1024];
  e2e_usersig(sdkappid, key, user, 365 * 86400, sig, sizeof sig); /* a year: see e2e.h */
  e2e_ws_login_frame_sig(sdkappid, user, sig, platform, device, out, cap);
}

/* Connect and send the login frame msg; the reply into reply. fd or -1 (a reply other than code 0 too). */
static int ws_login_with(int port, const char *msg, char *reply, size_t cap)
{
  char tmp[4096];
  int fd = e2e_ws_connect(port, "/ws");
  if (fd < 0) return -1;
  if (!reply) { reply = tmp; cap = sizeof tmp; }
  if (e2e_ws_send_text(fd, msg) || e2e_ws_recv_text(fd, reply, cap, 5000) < 0) { close(fd); return -1; }
  if (!strstr(reply, "\"code\":0")) { close(fd); return -1; }
  return fd;
}

int e2e_ws_login_sig(int port, uint32_t sdkappid, const char *user, const char *sig, const char *platform,
                     char *reply, size_t cap)
{
  char msg[2048], dev[64];
  snprintf(dev, sizeof dev, "dev-%s", user);
  e2e_ws_login_frame_sig(sdkappid, user, sig, platform, dev, msg, sizeof msg);
  return ws_login_with(port, msg, reply, cap);
}

int e2e_ws_login_dev(int port, uint32_t sdkappid, const char *key, const char *user, const char *platform,
                     const char *device, char *reply, size_t cap)
{
  char msg[2048];
  e2e_ws_login_frame(sdkappid, key, user, platform, device, msg, sizeof msg);
  return ws_login_with(port, msg, reply, cap);
}

int e2e_start(e2e_server_t *srv, const char *region, uint32_t *sdkappid, char *key, const char *const *extra_args)
{
  e2e_dir_init(srv);
  if (sdkappid) e2e_make_app(srv, region, sdkappid, key);
  if (!e2e_server_start(srv, extra_args)) return 0;
  char *log = e2e_server_log(srv);
  fprintf(stderr, "server did not start\n%s", log);
  free(log);
  return -1;
}

int e2e_finish(e2e_server_t *srv)
{
  int rc = e2e_server_stop(srv);
  if (rc != 0) fprintf(stderr, "server exit status %d\n", rc);
  e2e_dir_remove(srv);
  return rc == 0 ? 0 : -1;
}

void e2e_sync_hold_env(char *hold, size_t cap, const char *tag)
{
  snprintf(hold, cap, "/tmp/imcloud-%s-hold-%d", tag, (int)getpid());
  unlink(hold);
  setenv("IMCLOUD_TEST_SYNC_HOLD", hold, 1); /* the server inherits it */
}

int e2e_start_sync_held(e2e_server_t *srv, char *hold, size_t cap, const char *tag, const char *region,
                        uint32_t *sdkappid, char *key, const char *const *extra_args)
{
  e2e_sync_hold_env(hold, cap, tag);
  int rc = e2e_start(srv, region, sdkappid, key, extra_args);
  unsetenv("IMCLOUD_TEST_SYNC_HOLD");
  return rc;
}

int e2e_start_reader_held(e2e_server_t *srv, char *hold, size_t cap, const char *tag, const char *region,
                          uint32_t *sdkappid, char *key, const char *const *extra_args)
{
  snprintf(hold, cap, "/tmp/imcloud-%s-rhold-%d", tag, (int)getpid());
  unlink(hold);
  setenv("IMCLOUD_TEST_READER_HOLD", hold, 1); /* the server inherits it */
  int rc = e2e_start(srv, region, sdkappid, key, extra_args);
  unsetenv("IMCLOUD_TEST_READER_HOLD");
  return rc;
}

void e2e_sync_hold(const char *hold, int on)
{
  if (!on) { unlink(hold); return; }
  FILE *f = fopen(hold, "w");
  if (!f) die(hold);
  fclose(f);
}

long e2e_fd_limit_leaving(pid_t pid, int free_left)
{
  static unsigned char held[65536];
  char path[64];
  memset(held, 0, sizeof held);
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (!d) die(path);
  for (struct dirent *e; (e = readdir(d));) {
    int v = atoi(e->d_name);
    if (e->d_name[0] != '.' && v >= 0 && (size_t)v < sizeof held) held[v] = 1;
  }
  closedir(d);
  long fd = 0;
  for (int freed = 0; fd < (long)sizeof held; fd++) {
    if (held[fd]) continue;
    if (freed == free_left) break;
    freed++;
  }
  return fd;
}

void e2e_reader_steps(const char *path, long long n)
{
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) die(tmp);
  fprintf(f, "%lld\n", n);
  if (fclose(f) || rename(tmp, path)) die(path);
}

int e2e_stamp_on(int fd)
{
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) ? -1 : 0;
}

size_t e2e_recv_stamped(int fd, char *buf, size_t cap, struct timespec *at)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  memset(at, 0, sizeof *at);
  if (poll(&p, 1, 30000) != 1) return 0;
  char ctl[256];
  struct iovec iov = { buf, cap };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  ssize_t n = recvmsg(fd, &mh, 0);
  if (n <= 0) return 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) memcpy(at, CMSG_DATA(c), sizeof *at);
  return (size_t)n;
}

int e2e_before(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

#define E2E_TWO_READ_BYTES 70000 /* more than the server's read buffer (NET_READ_BUF, 64 KiB) */

int e2e_send_two_read_request(int fd)
{
  static char body[E2E_TWO_READ_BYTES];
  char head[256];
  memset(body, 'x', sizeof body);
  int hn = snprintf(head, sizeof head, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", E2E_TWO_READ_BYTES);
  return e2e_send(fd, head, (size_t)hn) || e2e_send(fd, body, sizeof body) ? -1 : 0;
}

int e2e_read_stamped_reply(int fd, struct timespec *at)
{
  char buf[16384];
  size_t n = e2e_recv_stamped(fd, buf, sizeof buf - 1, at);
  if (!n) return -1;
  buf[n] = 0;
  if (!strstr(buf, "HTTP/1.1 200")) return -1;
  const char *end = strstr(buf, "\r\n\r\n");
  if (!end || !strchr(end, '}')) /* the rest of the reply */
    (void)e2e_recv_all(fd, buf, sizeof buf, 200);
  return 0;
}

int e2e_ws_opened(int port, int *fds, int n)
{
  char buf[8192];
  struct timespec at;
  for (int i = 0; i < n; i++) {
    if ((fds[i] = e2e_ws_connect(port, "/ws")) < 0) return -1;
    if (e2e_ws_send_text(fds[i], "{\"id\":1,\"op\":\"heartbeat\"}")) return -1; /* its first message: opened */
    if (e2e_recv_stamped(fds[i], buf, sizeof buf, &at) <= 2) return -1;
    if (e2e_stamp_on(fds[i])) return -1;
  }
  return 0;
}

unsigned long long e2e_healthz_counter(int fd, const char *name)
{
  static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  char buf[16384], key[80];
  if (e2e_send(fd, get, sizeof get - 1) || e2e_http_read(fd, buf, sizeof buf, 30000) != 200) die("GET /healthz");
  snprintf(key, sizeof key, "\"%s\":", name);
  const char *p = strstr(buf, key);
  char *end = NULL;
  unsigned long long v = p ? strtoull(p + strlen(key), &end, 10) : 0;
  if (!p || end == p + strlen(key)) { errno = 0; die(key); }
  return v;
}

int e2e_server_fds(const e2e_server_t *srv)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)srv->pid);
  DIR *d = opendir(path);
  if (!d) die(path);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* e2e_server_sock, and the socket's TCP state (*state, /proc/net/tcp's st). */
static int server_sock(int port, int fd, unsigned long *inode, unsigned long *unread, unsigned *state)
{
  struct sockaddr_in me;
  socklen_t ml = sizeof me;
  if (getsockname(fd, (struct sockaddr *)&me, &ml)) return -1;
  unsigned want_local = (unsigned)port, want_remote = ntohs(me.sin_port);
  FILE *f = fopen("/proc/net/tcp", "r");
  if (!f) die("/proc/net/tcp");
  char line[512];
  int found = -1;
  while (found && fgets(line, sizeof line, f)) {
    unsigned lport, rport, st;
    unsigned long rx, ino;
    if (sscanf(line, " %*d: %*x:%x %*x:%x %x %*x:%lx %*x:%*x %*x %*u %*u %lu", &lport, &rport, &st, &rx, &ino) == 5 &&
        lport == want_local && rport == want_remote) {
      if (inode) *inode = ino;
      if (unread) *unread = rx;
      if (state) *state = st;
      found = 0;
    }
  }
  fclose(f);
  return found;
}

int e2e_server_sock(int port, int fd, unsigned long *inode, unsigned long *unread)
{
  return server_sock(port, fd, inode, unread, NULL);
}

int e2e_server_sock_state(int port, int fd)
{
  unsigned st = 0;
  return server_sock(port, fd, NULL, NULL, &st) ? -1 : (int)st;
}

static int holds_once(const e2e_server_t *srv, int fd)
{
  unsigned long inode = 0;
  if (e2e_server_sock(srv->port, fd, &inode, NULL)) return 0; /* no socket left at all */
  char path[64], want[64], link[64];
  snprintf(want, sizeof want, "socket:[%lu]", inode);
  snprintf(path, sizeof path, "/proc/%d/fd", (int)srv->pid);
  DIR *d = opendir(path);
  if (!d) die(path);
  int held = 0;
  for (struct dirent *e; !held && (e = readdir(d));) {
    char p2[400];
    if (e->d_name[0] == '.') continue;
    snprintf(p2, sizeof p2, "%s/%s", path, e->d_name);
    ssize_t n = readlink(p2, link, sizeof link - 1);
    if (n > 0) { link[n] = 0; held = !strcmp(link, want); }
  }
  closedir(d);
  return held;
}

/* "Not held" only when three looks 20 ms apart agree: a read of /proc/net/tcp
 * can miss an entry while other sockets come and go (the kernel walks its
 * hash in chunks between read calls), and a test that waited for the close
 * then failed its check of it (test_keepalive_slow_reader under load). A
 * socket found among the server's descriptors is held: that cannot be
 * seen wrongly. */
int e2e_server_holds(const e2e_server_t *srv, int fd)
{
  for (int look = 0; look < 3; look++) {
    if (look) usleep(20000);
    if (holds_once(srv, fd)) return 1;
  }
  return 0;
}

int e2e_server_took_all(int port, int fd, int timeout_ms)
{
  for (int waited = 0;; waited += 5) {
    unsigned long unread;
    if (e2e_server_sock(port, fd, NULL, &unread)) return -1;
    if (!unread) return 0;
    if (waited >= timeout_ms) return -1;
    usleep(5000);
  }
}

long long e2e_healthz_stat(int port, const char *section, const char *field)
{
  char body[16384];
  /* 30 s: a server encoding megabytes of history under ASan on a loaded box
   * answered later than e2e_http's 5 s (test_stop_h4's setup failed so) */
  if (e2e_http_timeout(port, "GET", "/healthz", NULL, NULL, body, sizeof body, 30000) != 200) die("GET /healthz");
  json_t *o = json_loads(body, 0, NULL);
  json_t *v = json_object_get(json_object_get(o, section), field);
  if (!json_is_integer(v)) { json_decref(o); errno = 0; die(field); }
  long long n = json_integer_value(v);
  json_decref(o);
  return n;
}

long long e2e_healthz_wait(int port, const char *section, const char *field, long long want, int timeout_ms)
{
  uint64_t t0 = e2e_now_ms();
  long long n;
  while ((n = e2e_healthz_stat(port, section, field)) != want && e2e_now_ms() - t0 < (uint64_t)timeout_ms) e2e_sleep_ms(10);
  return n;
}
