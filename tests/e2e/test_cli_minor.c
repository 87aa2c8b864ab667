/* End-to-end: small defects of the command line and the operator surface —
 * a single-valued option given twice is refused (it took the last value),
 * each subcommand's --help lists the options it takes, a bad value in the
 * --config file names the file and the line, the first operator token is
 * shown at any log level, serve on a taken port creates nothing, HEAD is
 * answered like GET without a body. Runs the real binary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_cli.h"

static e2e_server_t box; /* only its data directory: no server needed */
static char out[1 << 16], err[8192];

/* Run `imcloud ARGS` (a shell fragment, no --data added) with TZ=CST-8;
 * capture stdout and stderr; return the exit status. */
#define run(...) e2e_cli_run(box.dir, "TZ=CST-8 ", out, sizeof out, err, sizeof err, __VA_ARGS__)

static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

static int setup(void **st)
{
  (void)st;
  e2e_dir_init(&box);
  return 0;
}

static int teardown(void **st)
{
  (void)st;
  e2e_dir_remove(&box);
  return 0;
}

/* A fresh data directory with one customer (1) holding 1,000 元; returns its path (static). */
static const char *fresh_data(const char *name)
{
  static char dir[400];
  snprintf(dir, sizeof dir, "%s/%s", box.dir, name);
  if (run("customer create --name acme --data '%s'", dir)) fail_msg("customer create: %s", err);
  if (run("wallet topup --customer 1 --amount-fen 100000 --reference seed --data '%s'", dir)) fail_msg("topup: %s", err);
  return dir;
}

/* A repeated single-valued option is refused (exit 2, the option named) and
 * changes nothing; before, the last value silently won: `--edition pro
 * --edition trial` bought trial, `--amount-fen 100 --amount-fen 200` topped
 * up 200. */
static void test_repeated_option_refused(void **st)
{
  (void)st;
  const char *d = fresh_data("twice");
  assert_int_equal(run("app create --customer 1 --name a --region china --data '%s'", d), 0);
  static const struct { const char *args, *opt; } cases[] = {
    { "app create --customer 1 --name b --name c --region china", "--name" },
    { "app upgrade --sdkappid 1400000001 --edition pro --edition ultimate", "--edition" },
    { "app renew --sdkappid 1400000001 --reference r1 --reference=r2", "--reference" },
    { "addon buy --sdkappid 1400000001 local_audit --at 2026-12-01 --at 2026-12-02", "--at" },
    { "addon buy --sdkappid 1400000001 --sdkappid 1400000001 local_audit", "--sdkappid" },
    { "wallet topup --customer 1 --amount-fen 100 --amount-fen 200", "--amount-fen" },
    { "usage record-minutes --sdkappid 1400000001 --kind audio --minutes 5 --minutes 50 --event-id e1", "--minutes" },
    { "bill settle --customer 1 --customer 2", "--customer" },
    { "customer create --name x --name y", "--name" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int rc = run("%s --data '%s'", cases[i].args, d);
    char want[64];
    snprintf(want, sizeof want, "%s given twice", cases[i].opt);
    if (rc != 2 || !strstr(err, want) || out[0]) fail_msg("%s: exit %d, stderr %s, stdout %s", cases[i].args, rc, err, out);
  }
  /* nothing happened: one app, trial; the wallet untouched; no order, no minutes, one customer */
  assert_int_equal(run("app list --json --data '%s'", d), 0);
  assert_null(strstr(out, "\"name\":\"b\""));
  assert_null(strstr(out, "\"name\":\"c\""));
  assert_non_null(strstr(out, "\"edition\":\"trial\""));
  assert_int_equal(run("wallet show --customer 1 --json --data '%s'", d), 0);
  assert_non_null(strstr(out, "\"balance_fen\":100000"));
  assert_int_equal(run("addon list --sdkappid 1400000001 --json --data '%s'", d), 0);
  assert_non_null(strstr(out, "\"addons\":[]"));
  assert_int_equal(run("customer list --json --data '%s'", d), 0);
  assert_null(strstr(out, "\"id\":2"));
  /* a flag repeated is the same flag; a multi-valued option repeats */
  assert_int_equal(run("app list --json --json --data '%s'", d), 0);
  assert_int_equal(run("quote --scheme s2022 --edition pro --bill-month 2026-11 --addon local_audit --addon member_cap=2000"), 0);
  /* serve: a flag and --config given twice (nothing created) */
  char dir[420];
  snprintf(dir, sizeof dir, "%s/serve-twice", box.dir);
  assert_int_equal(run("serve --log-level off --listen 127.0.0.1:0 --listen 127.0.0.1:1 --data '%s'", dir), 2);
  assert_non_null(strstr(err, "--listen given twice"));
  assert_int_equal(run("serve --log-level off --config /dev/null --config=/dev/null --data '%s'", dir), 2);
  assert_non_null(strstr(err, "--config given twice"));
  assert_int_equal(run("serve --log-level off --data '%s' --config", dir), 2);
  assert_non_null(strstr(err, "--config needs a value"));
  assert_false(exists(dir));
  /* documented with the exit statuses */
  assert_int_equal(run("wallet --help"), 0);
  assert_non_null(strstr(out, "an option given twice"));
}

/* A bad value in the --config file is reported as FILE:LINE: name: reason
 * (log_level, ws_path, listen, test_clock_start, pricebooks_dir were checked
 * after every source was read and named neither), before anything is
 * created; a variable names itself. */
static void test_config_file_line(void **st)
{
  (void)st;
  static const struct { const char *line, *want; } cases[] = {
    { "log_level loud", "log_level: \"loud\" is not one of debug, info, warn, error, off" },
    { "ws_path = chat", "ws_path: \"chat\" must be a URL path starting with /" },
    { "listen localhost", "listen: \"localhost\" is not HOST:PORT" },
    { "test_clock_start 2026-13-01", "test_clock_start: \"2026-13-01\" is not a date YYYY-MM-DD" },
    { "pricebooks_dir /nonexistent/books", "pricebooks_dir: \"/nonexistent/books\" is not a directory" },
    { "rest_rate_limit 1e9x", "rest_rate_limit: \"1e9x\" is not an integer" },
  };
  char conf[400], dir[400], want[512];
  snprintf(conf, sizeof conf, "%s/serve.conf", box.dir);
  snprintf(dir, sizeof dir, "%s/config-data", box.dir);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "# settings\nlisten 127.0.0.1:0\n\n%s\n", cases[i].line);
    fclose(f);
    int rc = run("serve --config '%s' --data '%s'", conf, dir);
    snprintf(want, sizeof want, "imcloud serve: %s:4: %s", conf, cases[i].want);
    if (rc != 1 || strncmp(err, want, strlen(want))) fail_msg("%s: exit %d, stderr %s", cases[i].line, rc, err);
    assert_false(exists(dir));
  }
  /* the environment and a flag name themselves */
  assert_int_equal(run("serve --data '%s' --listen 127.0.0.1:0 --ws-path chat", dir), 1);
  assert_string_equal(err, "imcloud serve: ws_path: \"chat\" must be a URL path starting with /\n");
  setenv("IMCLOUD_LOG_LEVEL", "loud", 1);
  assert_int_equal(run("serve --data '%s' --listen 127.0.0.1:0", dir), 1);
  unsetenv("IMCLOUD_LOG_LEVEL");
  assert_string_equal(err, "imcloud serve: IMCLOUD_LOG_LEVEL: log_level: \"loud\" is not one of debug, info, warn, error, off\n");
  assert_false(exists(dir));
}

/* Each command's --help lists exactly the options its parser takes: every
 * listed option is accepted, every option some other command lists is
 * refused as unknown (addon --help listed --edition and --approved, which
 * only app upgrade takes; app suspend took --at and --reference and ignored
 * them). */
static void test_help_lists_accepted_options(void **st)
{
  (void)st;
  static const char *const cmds[] = {
    "customer", "app", "app upgrade", "app renew", "app suspend", "app resume", "app auto-renew", "app state",
    "app push-approve", "addon", "addon buy", "addon list", "usersig", "wallet", "operator", "usage", "bill", "editions",
  };
  enum { NC = sizeof cmds / sizeof *cmds, MAXO = 24 };
  static char listed[NC][MAXO][40], all[NC * MAXO][40];
  int nl[NC] = { 0 }, na = 0;
  for (int c = 0; c < NC; c++) {
    assert_int_equal(run("%s --help", cmds[c]), 0);
    for (char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
      char name[32];
      if (sscanf(line, "  --%30[a-z-] ", name) != 1) continue;
      assert_true(nl[c] < MAXO);
      snprintf(listed[c][nl[c]++], 40, "--%s", name);
      int seen = 0;
      for (int i = 0; i < na; i++) seen |= !strcmp(all[i], listed[c][nl[c] - 1]);
      if (!seen) snprintf(all[na++], 40, "--%s", name);
    }
    assert_true(nl[c] > 0);
  }
  /* every listed option of each command is known: all in a run or a few (e2e_cli_listed_known) */
  for (int c = 0; c < NC; c++) e2e_cli_listed_known(box.dir, out, sizeof out, err, sizeof err, cmds[c], listed[c], nl[c]);
  /* and a quarter of the options others list (a different quarter per command, so each option is tried on
   * several commands that do not list it), one run each (the first unknown option ends a run): the whole
   * matrix is ~1,000 runs of the CLI, over 300 s under ASan on a loaded box */
  for (int c = 0; c < NC; c++)
    for (int i = 0; i < na; i++) {
      int is_listed = 0;
      for (int k = 0; k < nl[c]; k++) is_listed |= !strcmp(listed[c][k], all[i]);
      if (is_listed || (i + c) % 4) continue;
      run("%s %s 1 --help", cmds[c], all[i]);
      if (!strstr(err, "unknown option")) fail_msg("imcloud %s: %s is not listed in --help but accepted", cmds[c], all[i]);
    }
  /* addon's help no longer offers app's options; each form lists its own */
  assert_int_equal(run("addon --help"), 0);
  assert_null(strstr(out, "--edition"));
  assert_null(strstr(out, "--approved"));
  assert_int_equal(run("addon list --help"), 0);
  assert_null(strstr(out, "--reference"));
  assert_non_null(strstr(out, "usage: imcloud addon list"));
  assert_null(strstr(out, "addon buy"));
  /* doc: the names before the exit statuses (they came after) */
  assert_int_equal(run("doc --help"), 0);
  char *names = strstr(out, "rest-routes"), *exits = strstr(out, "exit status");
  assert_non_null(names);
  assert_non_null(exits);
  assert_true(names < exits);
}

/* `serve ARGS` in the background, stdout and stderr to DIR/serve.out and
 * DIR/serve.err (box.dir), the port file DIR/port; waits until it listens.
 * Returns the pid (the port in *port), or 0 if it exited first. */
static pid_t serve_bg(const char *data, const char *const *extra, int *port)
{
  char pf[400], so[400], se[400];
  snprintf(pf, sizeof pf, "%s/port", box.dir);
  snprintf(so, sizeof so, "%s/serve.out", box.dir);
  snprintf(se, sizeof se, "%s/serve.err", box.dir);
  unlink(pf);
  const char *argv[32] = { e2e_bin(), "serve", "--listen", "127.0.0.1:0", "--data", data, "--port-file", pf };
  int n = 8;
  for (int i = 0; extra && extra[i] && n < 31; i++) argv[n++] = extra[i];
  argv[n] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test leaves no server behind */
    if (getppid() == 1) _exit(127);
    int o = open(so, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(se, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  for (int i = 0; i < 1500; i++) {
    FILE *f = fopen(pf, "r");
    if (f) {
      int ok = fscanf(f, "%d", port) == 1 && *port > 0;
      fclose(f);
      if (ok) return pid;
    }
    if (waitpid(pid, NULL, WNOHANG) == pid) return 0;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 0;
}

static int serve_stop(pid_t pid)
{
  int st = 0;
  kill(pid, SIGTERM);
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void slurp(const char *name, char *buf, size_t cap)
{
  char path[400];
  snprintf(path, sizeof path, "%s/%s", box.dir, name);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
}

/* The operator token made at the first start is printed on stdout at
 * --log-level off too (it was only a warn log line: at off the operator
 * could never learn it), and it works; a second start prints none. */
static void test_first_token_shown_at_log_level_off(void **st)
{
  (void)st;
  char dir[400];
  int port = 0;
  snprintf(dir, sizeof dir, "%s/token-data", box.dir);
  static const char *const off[] = { "--log-level", "off", NULL };
  pid_t pid = serve_bg(dir, off, &port);
  assert_true(pid > 0);
  slurp("serve.out", out, sizeof out);
  slurp("serve.err", err, sizeof err);
  assert_string_equal(err, "");
  char token[128] = "";
  const char *p = strstr(out, "new operator API token: imc_op_");
  if (!p || sscanf(p, "new operator API token: %127s", token) != 1) fail_msg("no token on stdout: %s", out);
  char hdr[256], body[4096];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
  assert_int_equal(e2e_http(port, "GET", "/operator/v1/customers", hdr, NULL, body, sizeof body), 200);
  assert_int_equal(e2e_http(port, "GET", "/operator/v1/customers", "Authorization: Bearer imc_op_00\r\n", NULL, body, sizeof body), 401);
  assert_int_equal(serve_stop(pid), 0);
  /* at the default level the log says it was printed, without the secret */
  char dir2[400];
  snprintf(dir2, sizeof dir2, "%s/token-data2", box.dir);
  pid = serve_bg(dir2, NULL, &port);
  assert_true(pid > 0);
  slurp("serve.out", out, sizeof out);
  slurp("serve.err", err, sizeof err);
  assert_non_null(strstr(out, "new operator API token: imc_op_"));
  assert_non_null(strstr(err, "new operator API token printed on stdout"));
  assert_null(strstr(err, "imc_op_"));
  assert_int_equal(serve_stop(pid), 0);
  /* the token exists now: nothing printed */
  pid = serve_bg(dir, off, &port);
  assert_true(pid > 0);
  slurp("serve.out", out, sizeof out);
  assert_null(strstr(out, "imc_op_"));
  assert_int_equal(serve_stop(pid), 0);
}

/* serve on an address in use fails before it creates anything: no data
 * directory, database, operator token or access log file (it created the
 * directory, the database and the token, then failed to listen). */
static void test_port_in_use_creates_nothing(void **st)
{
  (void)st;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(lfd, 8), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
  char dir[400], acc[400];
  snprintf(dir, sizeof dir, "%s/in-use", box.dir);
  snprintf(acc, sizeof acc, "%s/access.log", box.dir);
  int rc = run("serve --log-level off --listen 127.0.0.1:%d --data '%s' --access-log '%s'", ntohs(a.sin_port), dir, acc);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "address already in use"));
  assert_string_equal(out, "");
  assert_false(exists(dir));
  assert_false(exists(acc));
  close(lfd);
}

/* The Content-Length of the first reply in buf (-1 if none). */
static long content_length(const char *reply)
{
  const char *p = strstr(reply, "Content-Length: ");
  return p ? strtol(p + 16, NULL, 10) : -1;
}

/* HEAD on a path served by GET answers what GET answers, without the body
 * (the operator API's GET routes answered 405); pipelined HEAD then GET on
 * one connection: the HEAD reply carries no body byte, so the GET reply
 * follows it at once and is whole. */
static void test_head_like_get(void **st)
{
  (void)st;
  e2e_server_t srv;
  uint32_t app;
  char key[80];
  assert_int_equal(e2e_start(&srv, "china", &app, key, NULL), 0);
  char *log = e2e_server_log(&srv), token[128] = "";
  const char *t = strstr(log, "new operator API token: ");
  assert_non_null(t);
  assert_int_equal(sscanf(t, "new operator API token: %127s", token), 1);
  free(log);
  char auth[200], req[2048];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
  static const char *const paths[] = { "/operator/v1/customers", "/operator/v1/apps/1400000001", "/healthz/stages" };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    int fd = e2e_connect(srv.port);
    assert_true(fd >= 0);
    /* the GET asks the server to close after its reply: the read ends there, not after an idle wait */
    int n = snprintf(req, sizeof req, "HEAD %s HTTP/1.1\r\nHost: x\r\n%s\r\nGET %s HTTP/1.1\r\nHost: x\r\n%s"
                     "Connection: close\r\n\r\n", paths[i], auth, paths[i], auth);
    assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
    size_t got = e2e_recv_all(fd, out, sizeof out, 5000);
    close(fd);
    out[got] = 0;
    if (strncmp(out, "HTTP/1.1 200 OK\r\n", 17)) fail_msg("HEAD %s: %s", paths[i], out);
    char *end = strstr(out, "\r\n\r\n");
    assert_non_null(end);
    long head_len = content_length(out);
    /* the next bytes are the GET reply's status line, not a body */
    if (strncmp(end + 4, "HTTP/1.1 200 OK\r\n", 17)) fail_msg("HEAD %s sent a body: %s", paths[i], end + 4);
    char *get = end + 4, *gend = strstr(get, "\r\n\r\n");
    assert_non_null(gend);
    long get_len = content_length(get);
    assert_true(get_len > 2);
    assert_int_equal((long)strlen(gend + 4), get_len); /* the whole GET body, nothing after it */
    assert_true(gend[4] == '{');
    if (strncmp(paths[i], "/healthz", 8)) assert_int_equal(head_len, get_len); /* healthz's counters move between the two */
    else assert_true(head_len > 0);
  }
  /* a path only POST serves: 405, and Allow names GET with HEAD where GET is allowed */
  int fd = e2e_connect(srv.port);
  int n = snprintf(req, sizeof req, "HEAD /operator/v1/apps/1400000001/upgrade HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n",
                   auth);
  assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
  size_t got = e2e_recv_all(fd, out, sizeof out, 5000);
  close(fd);
  out[got] = 0;
  assert_true(!strncmp(out, "HTTP/1.1 405 ", 13));
  assert_non_null(strstr(out, "Allow: POST\r\n"));
  assert_true(strstr(out, "\r\n\r\n")[4] == 0);
  fd = e2e_connect(srv.port);
  n = snprintf(req, sizeof req, "DELETE /operator/v1/customers HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", auth);
  assert_int_equal(e2e_send(fd, req, (size_t)n), 0);
  got = e2e_recv_all(fd, out, sizeof out, 5000);
  close(fd);
  out[got] = 0;
  assert_non_null(strstr(out, "Allow: GET, HEAD, POST\r\n"));
  assert_int_equal(e2e_finish(&srv), 0);
}

/* app push-approve records an approval only where the price book sells
 * all-member push on application (intl Pro, §6); on an s2022 app it was
 * accepted and recorded (push_approved_at set) though the book does not sell
 * it: now refused as an add-on the book does not sell (exit 1, nothing recorded). */
static void test_push_approve_only_where_sold(void **st)
{
  (void)st;
  const char *d = fresh_data("push");
  assert_int_equal(run("app create --customer 1 --name cn --region china --data '%s'", d), 0);     /* 1400000001, s2022 */
  assert_int_equal(run("app create --customer 1 --name sg --region singapore --data '%s'", d), 0); /* 1400000002, intl */
  assert_int_equal(run("app upgrade --sdkappid 1400000001 --edition pro --data '%s'", d), 0);
  assert_int_equal(run("app push-approve --sdkappid 1400000001 --data '%s'", d), 1);
  assert_string_equal(err, "imcloud app: the s2022 price book sells no all-member push on application (intl Pro, §6): "
                           "its editions with all-member push: ultimate\n");
  assert_string_equal(out, "");
  /* the same shape as a retention add-on the book does not sell */
  assert_int_equal(run("addon buy --sdkappid 1400000001 c2c_roaming_months=1 --data '%s'", d), 1);
  assert_non_null(strstr(err, "the s2022 price book sells no c2c_roaming_months"));
  assert_int_equal(run("app state --sdkappid 1400000001 --json --data '%s'", d), 0);
  assert_non_null(strstr(out, "\"push_approved_at\":null"));
  assert_int_equal(run("app push-approve --sdkappid 1400000001 off --data '%s'", d), 1);
  /* intl: recorded */
  assert_int_equal(run("app push-approve --sdkappid 1400000002 --json --data '%s'", d), 0);
  assert_null(strstr(out, "\"push_approved_at\":null"));
  assert_int_equal(run("app push-approve --sdkappid 1400000009 --data '%s'", d), 1);
  assert_string_equal(err, "imcloud app: no such app\n");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_repeated_option_refused),
    cmocka_unit_test(test_config_file_line),
    cmocka_unit_test(test_help_lists_accepted_options),
    cmocka_unit_test(test_first_token_shown_at_log_level_off),
    cmocka_unit_test(test_port_in_use_creates_nothing),
    cmocka_unit_test(test_head_like_get),
    cmocka_unit_test(test_push_approve_only_where_sold),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
