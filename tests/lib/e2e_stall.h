/* e2e_stall.h — a stalled server for deadline tests (header-only; include
 * after cmocka.h and e2e.h): the server process is stopped (SIGSTOP) while
 * the client acts, then continued (SIGCONT) after a deadline passed. Its
 * next loop turn runs the deadline wheel before it polls the sockets
 * (src/net/net_int.h): what the client did meanwhile waits in the kernel.
 * The stops create the conditions; nothing asserts how long anything took.
 * Test-only. */
#ifndef IMC_TESTS_E2E_STALL_H
#define IMC_TESTS_E2E_STALL_H

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

/* Stop (on = 1) or continue (on = 0) the server process. */
static inline void e2e_stall(const e2e_server_t *srv, int on)
{
  assert_int_equal(kill(srv->pid, on ? SIGSTOP : SIGCONT), 0);
}

/* Stop the server, send len bytes on fd (the kernel takes them), keep it
 * stopped for stall_ms, continue it. */
static inline void e2e_stall_sending(const e2e_server_t *srv, int fd, const void *bytes, size_t len, int stall_ms)
{
  e2e_stall(srv, 1);
  assert_int_equal(e2e_send(fd, bytes, len), 0);
  usleep((useconds_t)stall_ms * 1000u);
  e2e_stall(srv, 0);
}

/* A connection that sent the first bytes of a request (head), all of them
 * read by the server. */
static inline int e2e_begun(int port, const char *head)
{
  int fd = e2e_connect(port);
  assert_true(fd >= 0);
  assert_int_equal(e2e_send(fd, head, strlen(head)), 0);
  assert_int_equal(e2e_server_took_all(port, fd, 10000), 0);
  return fd;
}

#endif
