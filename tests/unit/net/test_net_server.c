/* net on a real loop with a test application: peer names for IPv4 and IPv6
 * (net_req_remote / net_ws_remote), TCP_NODELAY on accepted sockets, and
 * the WebSocket idle timeout that pings and pongs refresh like a text
 * message (net_ws_set_idle) while an absolute deadline
 * (net_ws_set_deadline) is not extended by them. The server runs on this
 * thread's loop; a client thread drives it over real sockets (the write-out
 * and the loop's turns: test_net_turns.c; the shared test application and
 * client: net_server_test.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "net_server_test.h"

/* ---- clients ------------------------------------------------------------------ */
static int client_family;

static void *remote_client(void *arg)
{
  (void)arg;
  char want[64], buf[1024];
  const char *err = NULL;
  for (int pass = client_family == AF_INET6; pass == (client_family == AF_INET6) && !err; pass += 2) {
    int family = client_family, lp = 0;
    int fd = dial(family, &lp);
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    if (fd < 0 || write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1) || read_head(fd, buf, sizeof buf) < 0) {
      err = "http request failed";
      break;
    }
    close(fd);
    snprintf(want, sizeof want, pass ? "[::1]:%d" : "127.0.0.1:%d", lp);
    if (strcmp(http_remote, want)) { err = pass ? "net_req_remote for IPv6" : "net_req_remote for IPv4"; break; }
    fd = ws_open(family, &lp);
    if (fd < 0) { err = "handshake failed"; break; }
    close(fd);
    snprintf(want, sizeof want, pass ? "[::1]:%d" : "127.0.0.1:%d", lp);
    if (strcmp(ws_remote, want)) err = pass ? "net_ws_remote for IPv6" : "net_ws_remote for IPv4";
  }
  stop();
  return (void *)err;
}

/* Defect 8: an IPv6 peer printed as "?" */
static void test_remote_names_v6(void **st)
{
  (void)st;
  ws_mode = 0;
  client_family = AF_INET6;
  http_remote[0] = ws_remote[0] = 0;
  run_with_client("::1", remote_client);
}

static void test_remote_names_v4(void **st)
{
  (void)st;
  ws_mode = 0;
  client_family = AF_INET;
  http_remote[0] = ws_remote[0] = 0;
  run_with_client("127.0.0.1", remote_client);
}

/* The server's end of an accepted connection (same process: found by its
 * peer port): TCP_NODELAY is on, so small replies are not held back by
 * Nagle. It comes from the listening socket (one setsockopt per server,
 * none per connection); a WebSocket and a plain HTTP connection are checked. */
static int server_end_nodelay(int client_port)
{
  for (int fd = 3; fd < 1024; fd++) {
    struct sockaddr_in peer, me;
    socklen_t pl = sizeof peer, ml = sizeof me;
    if (getpeername(fd, (struct sockaddr *)&peer, &pl) || getsockname(fd, (struct sockaddr *)&me, &ml)) continue;
    if (peer.sin_family != AF_INET || ntohs(peer.sin_port) != client_port || ntohs(me.sin_port) != net_server_port(srv))
      continue;
    int on = 0;
    socklen_t ol = sizeof on;
    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &ol)) return -1;
    return on;
  }
  return -1; /* not found */
}

static void *nodelay_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  int lp = 0, lp2 = 0;
  int fd = ws_open(AF_INET, &lp);
  int fd2 = dial(AF_INET, &lp2);
  char buf[512];
  const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  if (fd < 0 || fd2 < 0) err = "connect failed";
  else if (write(fd2, req, sizeof req - 1) != (ssize_t)(sizeof req - 1) || read_head(fd2, buf, sizeof buf) < 0)
    err = "http request failed";
  else if (server_end_nodelay(lp) != 1) err = "the WebSocket's server end has no TCP_NODELAY";
  else if (server_end_nodelay(lp2) != 1) err = "the HTTP connection's server end has no TCP_NODELAY";
  if (fd >= 0) close(fd);
  if (fd2 >= 0) close(fd2);
  stop();
  return (void *)err;
}

static void test_accepted_sockets_nodelay(void **st)
{
  (void)st;
  ws_mode = 0;
  run_with_client("127.0.0.1", nodelay_client);
}

/* Every 250 ms for 3.5 s (over two idle periods): a ping (answered by a pong)
 * or an unsolicited pong. With an idle timeout the connection stays open;
 * then, silent, it is closed with 4004. */
static void *idle_client(void *arg)
{
  (void)arg;
  const char *err = NULL;
  int lp, code = 0, fd = ws_open(AF_INET, &lp);
  if (fd < 0) { stop(); return (void *)"handshake failed"; }
  for (int i = 0; i < 14 && !err; i++) {
    usleep(250 * 1000);
    if (i % 2 == 0) {
      if (ws_send(fd, 9, "hb") || ws_recv(fd, 1000, &code) != 0xA) err = "no pong: the connection was closed while pinging";
    } else if (ws_send(fd, 0xA, "hb")) {
      err = "send pong failed";
    }
  }
  if (!err && (ws_recv(fd, 4000, &code) != 8 || code != 4004)) err = "not closed with 4004 after the idle period";
  close(fd);
  stop();
  return (void *)err;
}

static void test_ping_refreshes_idle_timeout(void **st)
{
  (void)st;
  ws_mode = 1;
  run_with_client("127.0.0.1", idle_client);
}

/* An absolute deadline (the login timeout) is not extended by pings. */
static void *deadline_client(void *arg)
{
  (void)arg;
  const char *err = "still open after pinging past the deadline";
  int lp, code = 0, fd = ws_open(AF_INET, &lp);
  if (fd < 0) { stop(); return (void *)"handshake failed"; }
  for (int i = 0; i < 14; i++) {
    usleep(250 * 1000);
    if (ws_send(fd, 9, "hb")) break;
    int op = ws_recv(fd, 1000, &code);
    if (op == 8) { err = code == 4004 ? NULL : "closed with another code"; break; }
  }
  close(fd);
  stop();
  return (void *)err;
}

static void test_ping_does_not_extend_deadline(void **st)
{
  (void)st;
  ws_mode = 2;
  run_with_client("127.0.0.1", deadline_client);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_remote_names_v4), cmocka_unit_test(test_remote_names_v6),
    cmocka_unit_test(test_ping_refreshes_idle_timeout), cmocka_unit_test(test_ping_does_not_extend_deadline),
    cmocka_unit_test(test_accepted_sockets_nodelay),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
